//! Secrets stay secret (issue #10): no sign-in link in the logs outside development, no
//! outbox in production by accident, a private data folder, keyed recovery-code hashes,
//! redacted `Debug`, and secrets given to the CLI through a file or stdin.

use crate::support::{TestServer, authorize_url, signed_in_code};
use reqwest::StatusCode;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tessera::Config;
use tessera::mail::OutgoingMail;

/// Log lines written while a guard from `capture()` is alive on this thread. The test server
/// runs on the test's current-thread runtime, so its tasks log here too.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn outbox_mail(to: &str, link: &str) -> OutgoingMail {
    OutgoingMail {
        to: to.into(),
        subject: "Sign in".into(),
        text: format!("Sign in: {link}"),
        html: format!("<a href=\"{link}\">Sign in</a>"),
        outbox_note: Some(format!("sign-in link: {link}")),
    }
}

#[tokio::test]
async fn the_sign_in_link_is_logged_only_for_a_loopback_issuer() {
    for (issuer, logged) in [(None, true), (Some("https://id.example"), false)] {
        let server = TestServer::start_with(|c| {
            c.smtp_url = String::new();
            if let Some(i) = issuer {
                c.issuer = i.into();
                c.mail_outbox_in_production = true;
            }
        })
        .await;
        let token = tessera::crypto::secrets::random_token();
        let link = format!("{}/login/link?token={token}", server.state.config.issuer);
        let logs = Logs::default();
        let guard = logs.capture();
        server.state.mailer.send(&server.state.mail_from, outbox_mail("log@example.com", &link)).await.unwrap();
        drop(guard);
        let text = logs.text();
        assert!(text.contains("outbox"), "the mail is logged as written: {text}");
        assert_eq!(text.contains(&token), logged, "issuer {issuer:?}: {text}");
    }
}

#[test]
fn the_outbox_is_refused_for_a_public_issuer_unless_set_deliberately() {
    let config = Config { issuer: "https://id.example".into(), smtp_url: String::new(), ..Config::default() };
    let e = config.validate().unwrap_err();
    assert_eq!(e.key, "smtp_url", "{e}");
    assert!(e.to_string().contains("mail_outbox_in_production"), "{e}");
    assert!(Config { mail_outbox_in_production: true, ..config.clone() }.validate().is_ok());
    assert!(Config { smtp_url: "smtps://mail.example".into(), ..config.clone() }.validate().is_ok());
    // Development on loopback keeps the outbox.
    assert!(Config { smtp_url: String::new(), ..Config::default() }.validate().is_ok());

    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve"])
        .env_clear()
        .env("TESSERA_DATA_DIR", dir.path())
        .env("TESSERA_ISSUER", "https://id.example")
        .env("TESSERA_LISTEN", "127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("TESSERA_SMTP_URL") && err.contains("mail_outbox_in_production"), "{err}");
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_and_its_files_are_private() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let server = TestServer::start_with(|c| {
        c.data_dir = data.clone();
        c.master_key = String::new();
        c.smtp_url = String::new();
    })
    .await;
    let link = format!("{}/login/link?token=x", server.base);
    server.state.mailer.send(&server.state.mail_from, outbox_mail("files@example.com", &link)).await.unwrap();

    assert_eq!(mode(&data), 0o700, "the data folder");
    assert_eq!(mode(&data.join("master.key")), 0o600, "the generated master key");
    if server.state.config.database_url().starts_with("sqlite:") {
        for name in ["tessera.db", "tessera.db-wal", "tessera.db-shm"] {
            let file = data.join(name);
            assert!(name != "tessera.db" || file.exists());
            if file.exists() {
                assert_eq!(mode(&file), 0o600, "{name}");
            }
        }
    }
    let outbox = server.state.config.outbox_dir();
    assert_eq!(mode(&outbox), 0o700, "the outbox folder");
    let mails: Vec<_> = std::fs::read_dir(&outbox).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(mails.len(), 1);
    assert_eq!(mode(&mails[0]), 0o600, "an outbox mail holds a sign-in link");
}

async fn recovery_rows(server: &TestServer) -> Vec<(String, String)> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::AnyConnection::connect(&server.state.config.database_url()).await.unwrap();
    let rows = sqlx::query("SELECT customer_id, code_hash FROM recovery_codes").fetch_all(&mut conn).await.unwrap();
    rows.iter().map(|r| (r.get::<String, _>(0), r.get::<String, _>(1))).collect()
}

#[tokio::test]
async fn recovery_codes_are_stored_under_a_key_and_old_rows_keep_working() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let first = server.browser();
    signed_in_code(&server, &first, &client, "rec@example.com").await;
    let (_, codes) = crate::factors::enrol(&server, &first).await;

    // A database dump alone must not let anyone test guesses offline: no unkeyed SHA-256.
    let rows = recovery_rows(&server).await;
    assert_eq!(rows.len(), 10);
    for code in &codes {
        let plain = tessera::crypto::secrets::hash(code);
        assert!(rows.iter().all(|(_, h)| *h != plain), "{code} is stored as its plain SHA-256");
    }

    // A code stored by an earlier release (plain SHA-256) stays valid until regenerated.
    let customer = rows[0].0.clone();
    {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(&server.state.config.database_url()).await.unwrap();
        sqlx::query("INSERT INTO recovery_codes (customer_id, code_hash, used_at) VALUES ($1, $2, NULL)")
            .bind(&customer)
            .bind(tessera::crypto::secrets::hash("abcd-efgh"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    for code in ["abcd-efgh", codes[0].as_str()] {
        let (url, _) = authorize_url(&server, &client, &[]);
        let browser = server.browser();
        let page = browser.sign_in_with_link(&server, &url, "rec@example.com").await;
        assert!(page.body.contains("authenticator app"), "{}", page.body);
        let done = browser.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", code)]).await;
        let done = browser.follow(done).await;
        assert!(done.location.as_deref().unwrap_or("").starts_with(&client.redirect_uri), "{code}: {}", done.body);
        // Single use, whatever the format.
        let (url, _) = authorize_url(&server, &client, &[]);
        let again = server.browser();
        let page = again.sign_in_with_link(&server, &url, "rec@example.com").await;
        let refused = again.post("/login/second-factor", &[("csrf", &page.csrf()), ("code", code)]).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{code}");
    }
}

#[test]
fn debug_output_redacts_secrets() {
    let config = Config {
        master_key: "bWFzdGVyLWtleS1tYXN0ZXIta2V5LW1hc3Rlci1rZXk=".into(),
        smtp_url: "smtps://mailer:hunter2-smtp-pass@mail.example:465".into(),
        ..Config::default()
    };
    let text = format!("{config:?}");
    assert!(text.contains("http://localhost:8080") && text.contains("mail.example"), "{text}");
    assert!(!text.contains("bWFzdGVyLWtleS1tYXN0ZXIta2V5LW1hc3Rlci1rZXk"), "{text}");
    assert!(!text.contains("hunter2-smtp-pass"), "{text}");
    let pretty = format!("{config:#?}");
    assert!(!pretty.contains("hunter2-smtp-pass") && !pretty.contains("bWFzdGVy"), "{pretty}");

    let input = tessera::login::federation::connectors::ConnectorInput {
        client_id: Some("cid".into()),
        client_secret: Some("connector-secret-99".into()),
        ..Default::default()
    };
    let text = format!("{input:?}");
    assert!(text.contains("cid") && !text.contains("connector-secret-99"), "{text}");

    let totp = tessera::store::TotpRecord {
        customer_id: "c1".into(),
        sealed_secret: vec![0xfe; 40],
        created_at: 0,
        last_used_step: 0,
        failed_attempts: 0,
        locked_until: 0,
    };
    assert!(!format!("{totp:?}").contains("254"), "{totp:?}");

    let tokens = tessera::oidc::tokens::TokenResponse {
        access_token: "at-secret-1".into(),
        token_type: "Bearer",
        expires_in: 60,
        refresh_token: Some("rt-secret-2".into()),
        id_token: Some("idt-secret-3".into()),
        scope: "openid".into(),
    };
    let text = format!("{tokens:?}");
    assert!(text.contains("Bearer") && !text.contains("-secret-"), "{text}");
}

#[tokio::test]
async fn an_opened_connector_does_not_debug_print_its_secret() {
    let server = TestServer::start().await;
    let input = tessera::login::federation::connectors::ConnectorInput {
        id: Some("gh".into()),
        kind: Some("github".into()),
        display_name: Some("GitHub".into()),
        client_id: Some("cid".into()),
        client_secret: Some("opened-secret-42".into()),
        ..Default::default()
    };
    tessera::login::federation::connectors::create(&server.state, input, server.state.now()).await.unwrap();
    let connector = tessera::login::federation::connectors::usable(&server.state, "gh").await.unwrap();
    assert_eq!(connector.secret.as_deref(), Some("opened-secret-42"));
    let text = format!("{connector:?}");
    assert!(text.contains("cid") && !text.contains("opened-secret-42"), "{text}");
}

/// Run the CLI with `stdin` on its standard input.
fn tessera_with_stdin(dir: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env_clear()
        .env("TESSERA_DATA_DIR", dir)
        .env("TESSERA_LOG", "error")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses its arguments may exit before it reads its input.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

#[test]
fn cli_secrets_come_from_a_file_or_stdin_not_only_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret.txt");
    std::fs::write(&file, "from-a-file\n").unwrap();
    let base = ["connector", "create", "--kind", "github", "--name", "GH", "--client-id", "cid", "--id"];
    let cases: [(&str, Vec<&str>, &str, &str); 3] = [
        ("file", vec!["--client-secret-file", file.to_str().unwrap()], "", "from-a-file"),
        ("dash", vec!["--client-secret-file", "-"], "from-stdin-dash\n", "from-stdin-dash"),
        ("stdin", vec!["--client-secret-stdin"], "from-stdin-flag\r\n", "from-stdin-flag"),
    ];
    for (id, flags, stdin, _) in &cases {
        let mut args: Vec<&str> = base.to_vec();
        args.push(id);
        args.extend(flags);
        let out = tessera_with_stdin(dir.path(), &args, stdin);
        assert!(out.status.success(), "{id}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!String::from_utf8_lossy(&out.stdout).contains("from-"), "the secret is never echoed");
    }
    // An update takes the secret the same ways.
    let out = tessera_with_stdin(dir.path(), &["connector", "update", "file", "--client-secret-stdin"], "rotated\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Two sources at once are refused.
    let out = tessera_with_stdin(
        dir.path(),
        &["connector", "update", "file", "--client-secret", "x", "--client-secret-stdin"],
        "y",
    );
    assert!(!out.status.success());

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let config = Config { data_dir: dir.path().to_path_buf(), ..Config::default() };
        let clock = std::sync::Arc::new(tessera::clock::SystemClock);
        let state = tessera::AppState::build(config, clock).await.unwrap();
        for (id, _, _, want) in &cases {
            let want = if *id == "file" { "rotated" } else { want };
            let c = tessera::login::federation::connectors::usable(&state, id).await.unwrap();
            assert_eq!(c.secret.as_deref(), Some(want), "{id}");
        }
    });
}
