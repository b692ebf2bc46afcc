//! The logs of a real run (the binary, `log_format = json`, everything at debug level): each
//! line is one JSON object, a request's lines carry its request id, and no line holds any
//! secret the run used: the address, the mail's link and code, the authorization code, the
//! PKCE verifier, the tokens, the client secret (right or wrong), the session cookie.

use crate::support::smtp::SmtpSink;
use base64::Engine;
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use std::process::{Command, Stdio};
use tessera::crypto::secrets;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn hidden(html: &str, name: &str) -> String {
    crate::support::browser::hidden(html, name).expect("a hidden field")
}

#[tokio::test]
async fn json_logs_carry_request_ids_and_no_secret() {
    let smtp = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://localhost:{port}");
    let env = [
        ("TESSERA_ISSUER", base.clone()),
        ("TESSERA_LISTEN", format!("127.0.0.1:{port}")),
        ("TESSERA_DATA_DIR", dir.path().display().to_string()),
        ("TESSERA_SMTP_URL", format!("smtp://127.0.0.1:{}", smtp.port)),
        ("TESSERA_LOG", "debug".to_string()),
        ("TESSERA_LOG_FORMAT", "json".to_string()),
        ("TESSERA_WORKER_INTERVAL_MS", "50".to_string()),
    ];
    let bin = env!("CARGO_BIN_EXE_tessera");
    let redirect_uri = "http://127.0.0.1:9/cb";
    let created = Command::new(bin)
        .args(["client", "create", "--name", "Logs", "--redirect-uri", redirect_uri, "--json"])
        .args(["--grant-type", "authorization_code refresh_token"])
        .env_clear()
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let client: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let (client_id, client_secret) =
        (client["client_id"].as_str().unwrap().to_string(), client["client_secret"].as_str().unwrap().to_string());

    let log_path = dir.path().join("server.log");
    let mut child = Command::new(bin)
        .arg("serve")
        .env_clear()
        .envs(env.iter().cloned())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let http =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut ready = false;
    for _ in 0..300 {
        if http
            .get(format!("{base}/.well-known/openid-configuration"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "the server did not start: {}", std::fs::read_to_string(&log_path).unwrap_or_default());

    // Sign in by mail: a wrong code first (a failure is logged too), then the right one.
    let email = "log-watcher@example.com";
    let login = http.get(format!("{base}/login")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden(&login, "csrf");
    let sent = http
        .post(format!("{base}/login/email"))
        .form(&[("csrf", csrf.as_str()), ("email", email)])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let mail = smtp.last_mail_to(email).await;
    let (code, link) = (mail.code(), mail.link_token());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    http.post(format!("{base}/login/email/code"))
        .form(&[("csrf", csrf.as_str()), ("code", wrong)])
        .send()
        .await
        .unwrap();
    let done = http
        .post(format!("{base}/login/email/code"))
        .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    let session_cookie = done
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("tessera_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
        .expect("a session cookie");

    // The code flow, a refresh, UserInfo, and a token request with a wrong secret.
    let verifier = secrets::random_token();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secrets::sha256(verifier.as_bytes()));
    let authorized = http
        .get(format!("{base}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", redirect_uri),
            ("scope", "openid email"),
            ("state", "st"),
            ("nonce", "nn"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    let location = authorized.headers().get(LOCATION).unwrap().to_str().unwrap().to_string();
    let auth_code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("a code in {location}"));
    let token = |form: Vec<(&'static str, String)>, secret: String| {
        let http = http.clone();
        let (url, id) = (format!("{base}/token"), client_id.clone());
        async move {
            let res = http.post(url).basic_auth(id, Some(secret)).form(&form).send().await.unwrap();
            (res.status(), res.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, tokens) = token(
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", auth_code.clone()),
            ("redirect_uri", redirect_uri.into()),
            ("code_verifier", verifier.clone()),
        ],
        client_secret.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    let info = http.get(format!("{base}/userinfo")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    let (status, refreshed) =
        token(vec![("grant_type", "refresh_token".into()), ("refresh_token", refresh.clone())], client_secret.clone())
            .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let second_refresh = refreshed["refresh_token"].as_str().unwrap().to_string();
    let wrong_secret = format!("wrong-{}", secrets::random_token());
    let (status, _) = token(
        vec![("grant_type", "refresh_token".into()), ("refresh_token", second_refresh.clone())],
        wrong_secret.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    child.kill().unwrap();
    child.wait().unwrap();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 10, "a debug run logs something: {logs}");
    let mut with_request_id = 0;
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if v["span"]["request_id"].as_str().is_some_and(|id| !id.is_empty()) {
            with_request_id += 1;
        }
    }
    assert!(with_request_id > 0, "lines inside a request carry its id: {logs}");
    let secrets_used = [
        ("the email address", email.to_string()),
        ("the mail code", format!("\"{code}\"")),
        ("the link token", link),
        ("the authorization code", auth_code),
        ("the PKCE verifier", verifier),
        ("the client secret", client_secret),
        ("a wrong client secret", wrong_secret),
        ("the access token", access),
        ("the refresh token", refresh),
        ("the rotated refresh token", second_refresh),
        ("the ID token", id_token),
        ("the session cookie", session_cookie),
    ];
    for (what, secret) in secrets_used {
        assert!(!logs.contains(&secret), "{what} is in the logs");
    }
}
