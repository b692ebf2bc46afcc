//! The authorization endpoint: checks, error routing, SSO, prompt, max_age, consent.

use crate::support::{TestServer, authorize_url, query_param, signed_in_code};
use reqwest::StatusCode;

fn raw_authorize(server: &TestServer, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(&server.url("/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

#[tokio::test]
async fn untrusted_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let unknown = browser
        .get(&raw_authorize(
            &server,
            &[
                ("client_id", "nope"),
                ("redirect_uri", "https://evil.example/cb"),
                ("response_type", "code"),
                ("scope", "openid"),
            ],
        ))
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.location.is_none());
    assert!(unknown.body.contains("not registered"));
    for uri in
        ["https://evil.example/cb", "https://app.example/cb/", "https://app.example/cb?x=1", "https://APP.example/cb"]
    {
        let page = browser
            .get(&raw_authorize(
                &server,
                &[("client_id", &client.id), ("redirect_uri", uri), ("response_type", "code"), ("scope", "openid")],
            ))
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(page.location.is_none(), "{uri}");
    }
    let missing = browser.get(&raw_authorize(&server, &[("client_id", &client.id), ("response_type", "code")])).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.location.is_none());
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_trusted_go_back_to_the_client() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let public = server.public_client().await;
    let browser = server.browser();
    let base = |id: &str| {
        vec![
            ("client_id", id.to_string()),
            ("redirect_uri", "https://app.example/cb".to_string()),
            ("state", "s1".to_string()),
        ]
    };
    // (extra parameters, expected error, client_id)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (vec![("response_type", "token"), ("scope", "openid")], "unsupported_response_type", &client.id),
        (vec![("scope", "openid")], "invalid_request", &client.id),
        (
            vec![
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", "abc"),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
            &client.id,
        ),
        (vec![("response_type", "code"), ("scope", "openid")], "invalid_request", &public.id),
        (vec![("response_type", "code"), ("scope", "openid"), ("prompt", "none login")], "invalid_request", &client.id),
        (vec![("response_type", "code"), ("scope", "openid"), ("max_age", "-1")], "invalid_request", &client.id),
        (vec![("response_type", "code"), ("scope", "postal")], "invalid_scope", &client.id),
        (
            vec![("response_type", "code"), ("scope", "openid"), ("request", "eyJ.x.y")],
            "request_not_supported",
            &client.id,
        ),
        (vec![("response_type", "code"), ("scope", "openid"), ("prompt", "none")], "login_required", &client.id),
    ];
    let (_, challenge) = crate::support::pkce_pair();
    for (extra, expected, id) in cases {
        let mut params: Vec<(&str, String)> = base(id);
        // PKCE is required of every client: each case but the PKCE ones carries a valid pair.
        if id != public.id && !extra.iter().any(|(k, _)| *k == "code_challenge") {
            params.extend([("code_challenge", challenge.clone()), ("code_challenge_method", "S256".into())]);
        }
        params.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let refs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = browser.get(&raw_authorize(&server, &refs)).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{expected}: {}", page.body);
        let loc = page.location.unwrap();
        assert!(loc.starts_with("https://app.example/cb?"), "{loc}");
        assert_eq!(query_param(&loc, "error").as_deref(), Some(expected), "{extra:?}");
        assert_eq!(query_param(&loc, "state").as_deref(), Some("s1"));
        assert_eq!(query_param(&loc, "iss").as_deref(), Some(server.base.as_str()));
    }
    // A repeated parameter (other than client_id and redirect_uri) is reported to the client
    // once it is trusted (RFC 6749 §4.1.2.1), with the first state.
    let dup = format!(
        "{}&state=again",
        raw_authorize(
            &server,
            &[
                ("client_id", &client.id),
                ("redirect_uri", "https://app.example/cb"),
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", "s1")
            ]
        )
    );
    let page = browser.get(&dup).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(query_param(&page.location.unwrap(), "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn one_sign_in_serves_every_client_until_logout_and_prompt_login_forces_a_new_one() {
    let server = TestServer::start().await;
    let shop = server.confidential_client().await;
    let blog = server.public_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &shop, "sso@example.com").await;
    // Another client: straight back with a code, no login page.
    let (url, _) = authorize_url(&server, &blog, &[]);
    let page = browser.get(&url).await;
    assert!(page.location.as_deref().unwrap().starts_with("https://app.example/cb?code="), "{:?}", page.location);
    // prompt=none works too.
    let (url, _) = authorize_url(&server, &blog, &[("prompt", "none")]);
    assert!(query_param(&browser.get(&url).await.location.unwrap(), "code").is_some());
    // prompt=login shows the login page again.
    let (url, _) = authorize_url(&server, &blog, &[("prompt", "login")]);
    let page = browser.follow(browser.get(&url).await).await;
    assert!(page.body.contains("autocomplete=\"username webauthn\""));
    // max_age: a sign-in older than max_age forces a new one.
    server.clock.advance_secs(120);
    let (url, _) = authorize_url(&server, &blog, &[("max_age", "60")]);
    let page = browser.follow(browser.get(&url).await).await;
    assert!(page.body.contains("Sign in"), "{}", page.body);
    let (url, _) = authorize_url(&server, &blog, &[("max_age", "600")]);
    assert!(query_param(&browser.get(&url).await.location.unwrap(), "code").is_some());
    // Session expiry ends SSO.
    server.clock.advance_secs(server.state.config.session_ttl_secs);
    let (url, _) = authorize_url(&server, &blog, &[("prompt", "none")]);
    assert_eq!(query_param(&browser.get(&url).await.location.unwrap(), "error").as_deref(), Some("login_required"));
}

#[tokio::test]
async fn form_post_response_mode_posts_the_code_to_the_client() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    signed_in_code(&server, &browser, &client, "fp@example.com").await;
    let (url, _) = authorize_url(&server, &client, &[("response_mode", "form_post")]);
    let page = browser.get(&url).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("action=\"https://app.example/cb\""), "{}", page.body);
    assert!(page.body.contains("name=\"code\""));
    assert!(page.body.contains("name=\"iss\""));
    assert!(page.body.contains("name=\"state\" value=\"st-123\""));
}

#[tokio::test]
async fn consent_is_asked_remembered_and_can_be_refused() {
    let server = TestServer::start().await;
    let client = server.consent_client().await;
    let browser = server.browser();
    let (url, _) = authorize_url(&server, &client, &[]);
    let page = browser.sign_in_with_link(&server, &url, "con@example.com").await;
    assert!(page.body.contains("Shop would like to"), "{}", page.body);
    assert!(page.body.contains("See your email address"));
    let authz = crate::support::browser::hidden(&page.body, "authz").unwrap();
    // prompt=none while consent is pending: consent_required.
    let (none, _) = authorize_url(&server, &client, &[("prompt", "none")]);
    assert_eq!(query_param(&browser.get(&none).await.location.unwrap(), "error").as_deref(), Some("consent_required"));
    let allowed = browser.post("/consent", &[("csrf", &page.csrf()), ("authz", &authz), ("decision", "allow")]).await;
    assert!(query_param(&allowed.location.unwrap(), "code").is_some());
    // Remembered: no consent page the second time.
    let (url, _) = authorize_url(&server, &client, &[]);
    assert!(query_param(&browser.get(&url).await.location.unwrap(), "code").is_some());
    // prompt=consent asks again; refusing sends access_denied.
    let (url, _) = authorize_url(&server, &client, &[("prompt", "consent")]);
    let page = browser.follow(browser.get(&url).await).await;
    let authz = crate::support::browser::hidden(&page.body, "authz").unwrap();
    let denied = browser.post("/consent", &[("csrf", &page.csrf()), ("authz", &authz), ("decision", "deny")]).await;
    let loc = denied.location.unwrap();
    assert_eq!(query_param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("st-123"));
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let server = TestServer::start().await;
    let res = reqwest::get(server.url("/login")).await.unwrap();
    let h = res.headers();
    assert!(h["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
}

#[tokio::test]
async fn https_issuers_get_host_prefixed_secure_cookies() {
    // The server itself listens on plain loopback; only the cookie policy is under test.
    let server = TestServer::start_with(|c| c.issuer = "https://id.example".into()).await;
    let res = reqwest::get(format!("http://{}/login", server.state.config.listen)).await.unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("__Host-tessera_csrf="), "{cookie}");
    assert!(cookie.contains("; Secure"), "{cookie}");
}
