//! What strict relying parties notice (issue #11): request bodies on the OAuth endpoints, the
//! UserInfo request forms, the bearer challenge, and snapshots of the discovery document, the
//! OAuth error bodies and every claim set, so that a change to any of them is a reviewed diff.

use crate::support::{TestServer, jwt_claims, signed_in_code};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The document with this server's issuer replaced by a fixed one, for snapshots.
fn with_fixed_issuer(server: &TestServer, v: &Value) -> Value {
    serde_json::from_str(&v.to_string().replace(&server.base, "https://issuer.example")).unwrap()
}

#[tokio::test]
async fn bad_request_bodies_get_the_json_invalid_request_of_rfc_6749_section_5_2() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let http = reqwest::Client::new();
    let secret = client.secret.clone().unwrap();
    let mut cases = Vec::new();
    for path in ["/token", "/introspect", "/revoke"] {
        let sends = [
            ("json", http.post(server.url(path)).json(&json!({ "grant_type": "client_credentials" }))),
            ("no content type", http.post(server.url(path)).body("grant_type=client_credentials")),
            (
                "not UTF-8",
                http.post(server.url(path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(vec![0xff, 0xfe, 0x3d]),
            ),
        ];
        for (what, req) in sends {
            let res = req.basic_auth(&client.id, Some(&secret)).send().await.unwrap();
            let status = res.status();
            assert_eq!(res.headers()["content-type"], "application/json", "{path} {what}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {what}: {body}");
            assert_eq!(body["error"], "invalid_request", "{path} {what}: {body}");
            cases.push(json!({ "endpoint": path, "sent": what, "status": status.as_u16(), "body": body }));
        }
    }
    // A charset parameter and an upper-case media type are fine (RFC 9110 §8.3.1).
    let res = http
        .post(server.url("/token"))
        .header("content-type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8")
        .body("grant_type=client_credentials")
        .basic_auth(&client.id, Some(&secret))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), StatusCode::BAD_REQUEST, "{}", res.text().await.unwrap());
    insta::assert_json_snapshot!("oauth_body_errors", cases);
}

#[tokio::test]
async fn userinfo_takes_the_header_with_any_body_or_none_and_challenges_without_an_error_code() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "ui@example.com").await;
    let tokens = server.exchange(&client, &code, &verifier).await;
    let at = tokens["access_token"].as_str().unwrap();
    let http = reqwest::Client::new();

    // OIDC Core §5.3.1: POST with the token in the header, no body and no content type.
    let res = http.post(server.url("/userinfo")).header("authorization", format!("Bearer {at}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let claims: Value = res.json().await.unwrap();
    assert_eq!(claims["email"], "ui@example.com");
    // RFC 7235 §2.1: the scheme is case-insensitive.
    let res = http.get(server.url("/userinfo")).header("authorization", format!("bearer {at}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // RFC 6750 §2.2: the form body.
    let res = http.post(server.url("/userinfo")).form(&[("access_token", at)]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // RFC 6750 §3.1: no credentials at all — a bare challenge with the realm and no error code.
    for res in [
        http.get(server.url("/userinfo")).send().await.unwrap(),
        http.post(server.url("/userinfo")).send().await.unwrap(),
    ] {
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"tessera\"");
    }
    // A bad token names the error (RFC 6750 §3.1 invalid_token).
    let res = http.get(server.url("/userinfo")).bearer_auth("nope").send().await.unwrap();
    let challenge = res.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert!(challenge.starts_with("Bearer realm=\"tessera\", error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn the_discovery_document_publishes_only_what_is_implemented() {
    let server = TestServer::start().await;
    let m: Value = reqwest::get(server.url("/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    // Discovery §3: nothing that is not implemented (UserInfo is never signed, so no "none").
    assert!(m.get("userinfo_signing_alg_values_supported").is_none(), "{m}");
    for key in ["prompt_values_supported", "grant_types_supported", "code_challenge_methods_supported"] {
        assert!(m[key].is_array(), "{key}");
    }
    assert_eq!(m["request_parameter_supported"], false);
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    insta::assert_json_snapshot!("discovery", with_fixed_issuer(&server, &m));
}

#[tokio::test]
async fn claim_sets_of_every_token_and_response() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (code, verifier) = signed_in_code(&server, &browser, &client, "claims@example.com").await;
    let tokens = server.exchange(&client, &code, &verifier).await;
    let id_token = with_fixed_issuer(&server, &jwt_claims(tokens["id_token"].as_str().unwrap()));
    let access = with_fixed_issuer(&server, &jwt_claims(tokens["access_token"].as_str().unwrap()));
    let http = reqwest::Client::new();
    let at = tokens["access_token"].as_str().unwrap();
    let userinfo: Value = http.get(server.url("/userinfo")).bearer_auth(at).send().await.unwrap().json().await.unwrap();
    let secret = client.secret.clone().unwrap();
    let introspect = |token: String| {
        let req = http.post(server.url("/introspect")).basic_auth(&client.id, Some(&secret)).form(&[("token", token)]);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let of_access = with_fixed_issuer(&server, &introspect(at.to_string()).await);
    let of_refresh = with_fixed_issuer(&server, &introspect(tokens["refresh_token"].as_str().unwrap().into()).await);
    let dynamic = |v: Value| -> Value {
        let mut v = v;
        for k in [
            "sub",
            "aud",
            "client_id",
            "azp",
            "exp",
            "iat",
            "nbf",
            "auth_time",
            "jti",
            "sid",
            "gid",
            "at_hash",
            "updated_at",
        ] {
            if v.get(k).is_some() {
                v[k] = json!(format!("[{k}]"));
            }
        }
        v
    };
    insta::assert_json_snapshot!("claims_id_token", dynamic(id_token));
    insta::assert_json_snapshot!("claims_access_token", dynamic(access));
    insta::assert_json_snapshot!("claims_userinfo", dynamic(userinfo));
    insta::assert_json_snapshot!("claims_introspection_access_token", dynamic(of_access));
    insta::assert_json_snapshot!("claims_introspection_refresh_token", dynamic(of_refresh));
    // RFC 7662 §2.2: a client_credentials token has no person, so no auth_time, acr, amr, sid.
    let (_, own) = server.token(&client, &[("grant_type", "client_credentials")]).await;
    let of_own = with_fixed_issuer(&server, &introspect(own["access_token"].as_str().unwrap().into()).await);
    insta::assert_json_snapshot!("claims_introspection_client_credentials", dynamic(of_own));
}

#[tokio::test]
async fn every_oauth_error_body_rfc_6749_5_2_and_4_1_2_1() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let secret = client.secret.clone().unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut cases = Vec::new();
    type Form<'a> = &'a [(&'a str, &'a str)];
    let token_cases: [(&str, &str, Form); 6] = [
        ("invalid_client: wrong secret", "wrong", &[("grant_type", "client_credentials")]),
        (
            "invalid_grant: unknown code",
            &secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", "nope"),
                ("redirect_uri", "https://app.example/cb"),
                ("code_verifier", "v"),
            ],
        ),
        ("unsupported_grant_type", &secret, &[("grant_type", "password")]),
        ("invalid_request: no code", &secret, &[("grant_type", "authorization_code")]),
        ("invalid_scope", &secret, &[("grant_type", "client_credentials"), ("scope", "not-allowed")]),
        (
            "invalid_request: repeated parameter",
            &secret,
            &[("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
        ),
    ];
    for (what, secret, form) in token_cases {
        let res = http.post(server.url("/token")).basic_auth(&client.id, Some(secret)).form(form).send().await.unwrap();
        let status = res.status().as_u16();
        let challenge = res.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string());
        let body: Value = res.json().await.unwrap();
        cases.push(json!({ "case": what, "status": status, "www-authenticate": challenge, "body": body }));
    }
    // The authorization endpoint redirects its errors once client and redirect URI are trusted.
    let (url, _) = crate::support::authorize_url(&server, &client, &[]);
    let url = url.replace("response_type=code", "response_type=token");
    let res = http.get(&url).send().await.unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let params: Vec<(String, String)> =
        url::Url::parse(&location).unwrap().query_pairs().into_owned().filter(|(k, _)| k != "iss").collect();
    cases.push(json!({ "case": "authorization endpoint: unsupported_response_type", "redirect_params": params }));
    insta::assert_json_snapshot!("oauth_error_bodies", cases);
}
