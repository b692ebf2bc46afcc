//! A real relying party (the openidconnect crate) against Tessera: discovery, code + PKCE,
//! ID token validation with nonce, userinfo, refresh, introspection, revocation, logout.

use crate::support::{LOGOUT_URI, TestServer, query_param};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RevocationUrl, Scope, TokenIntrospectionResponse,
    TokenResponse,
};
use reqwest::StatusCode;

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn a_certified_style_client_completes_the_whole_flow() {
    let server = TestServer::start().await;
    let registered = server.confidential_client().await;
    let http = http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http).await.unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.id.clone()),
        Some(ClientSecret::new(registered.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(registered.redirect_uri.clone()).unwrap())
    .set_revocation_url(RevocationUrl::new(server.url("/revoke")).unwrap())
    .set_introspection_url(IntrospectionUrl::new(server.url("/introspect")).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = server.browser();
    let done = browser.sign_in_with_link(&server, auth_url.as_str(), "rp@example.com").await;
    let location = done.location.unwrap();
    assert_eq!(query_param(&location, "state").as_deref(), Some(csrf.secret().as_str()));
    let code = query_param(&location, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().expect("an ID token");
    let id_verifier = client.id_token_verifier().set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = id_token.claims(&id_verifier, &nonce).unwrap();
    assert_eq!(claims.email().map(|e| e.as_str()), Some("rp@example.com"));
    assert_eq!(claims.email_verified(), Some(true));
    assert!(claims.auth_time().is_some());
    assert_eq!(claims.auth_context_ref(), Some(&AuthenticationContextClass::new("urn:tessera:acr:email".into())));
    assert_eq!(claims.auth_method_refs().map(|a| a.len()), Some(1));
    // A wrong nonce is detected by the relying party.
    assert!(id_token.claims(&id_verifier, &Nonce::new("other".into())).is_err());
    let sub = claims.subject().clone();

    let info: CoreUserInfoClaims =
        client.user_info(tokens.access_token().clone(), None).unwrap().request_async(&http).await.unwrap();
    assert_eq!(info.subject(), &sub);
    assert_eq!(info.email().map(|e| e.as_str()), Some("rp@example.com"));

    let refreshed =
        client.exchange_refresh_token(tokens.refresh_token().unwrap()).unwrap().request_async(&http).await.unwrap();
    assert_ne!(refreshed.refresh_token().unwrap().secret(), tokens.refresh_token().unwrap().secret());
    let refreshed_id = refreshed.id_token().unwrap().claims(&id_verifier, |_: Option<&Nonce>| Ok(())).unwrap();
    assert_eq!(refreshed_id.subject(), &sub);

    let intro = client.introspect(refreshed.access_token()).request_async(&http).await.unwrap();
    assert!(intro.active());
    assert_eq!(intro.sub(), Some(sub.as_str()));

    // The oauth2 crate refuses to send a revocation request to a non-https URL, and the test
    // server is plain http on loopback; so this one request is made by hand, as RFC 7009 §2.1
    // describes it (the token, a type hint, and client_secret_basic).
    let refresh = CoreRevocableToken::from(refreshed.refresh_token().unwrap().clone());
    assert!(client.revoke_token(refresh).is_err(), "oauth2 insists on https for revocation");
    let res = http
        .post(server.url("/revoke"))
        .basic_auth(&registered.id, registered.secret.as_deref())
        .form(&[("token", refreshed.refresh_token().unwrap().secret().as_str()), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let intro = client.introspect(refreshed.access_token()).request_async(&http).await.unwrap();
    assert!(!intro.active(), "revoking the refresh token revokes its family's access tokens");
    assert!(
        client.exchange_refresh_token(refreshed.refresh_token().unwrap()).unwrap().request_async(&http).await.is_err()
    );

    // RP-initiated logout with id_token_hint: back to the registered URI with state; SSO ends.
    let mut logout = url::Url::parse(&server.url("/logout")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", &id_token.to_string())
        .append_pair("post_logout_redirect_uri", LOGOUT_URI)
        .append_pair("state", "bye-1");
    let page = browser.get(logout.as_str()).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some(format!("{LOGOUT_URI}?state=bye-1").as_str()));
    let (again, _, _) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_prompt(openidconnect::core::CoreAuthPrompt::None)
        .set_pkce_challenge(PkceCodeChallenge::new_random_sha256().0)
        .url();
    let page = browser.get(again.as_str()).await;
    assert_eq!(query_param(&page.location.unwrap(), "error").as_deref(), Some("login_required"));
}

#[tokio::test]
async fn logout_checks_its_parameters_and_asks_when_unsure() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    crate::support::signed_in_code(&server, &browser, &client, "lo@example.com").await;
    // An unregistered post_logout_redirect_uri is refused with a page.
    let page =
        browser.get(&format!("/logout?client_id={}&post_logout_redirect_uri=https://evil.example/", client.id)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location.is_none());
    // A forged hint is refused.
    let page = browser.get("/logout?id_token_hint=eyJhbGciOiJub25lIn0.e30.").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // Without a hint, the person confirms first.
    let ask = browser.get(&format!("/logout?client_id={}&post_logout_redirect_uri={LOGOUT_URI}", client.id)).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(ask.body.contains("Sign out?"));
    let done = browser
        .post(
            "/logout",
            &[
                ("csrf", &ask.csrf()),
                ("client_id", &client.id),
                ("post_logout_redirect_uri", LOGOUT_URI),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(done.location.as_deref(), Some(LOGOUT_URI));
    let (url, _) = crate::support::authorize_url(&server, &client, &[("prompt", "none")]);
    assert_eq!(query_param(&browser.get(&url).await.location.unwrap(), "error").as_deref(), Some("login_required"));
}

/// A public client (no secret, PKCE) for each signing algorithm: the relying party verifies
/// the ID token against the published JWKS, and the header names the algorithm and the kid.
#[tokio::test]
async fn every_signing_algorithm_verifies_against_the_published_keys() {
    use tessera::crypto::keys::Alg;
    let server = TestServer::start().await;
    let http = http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http).await.unwrap();
    let browser = server.browser();
    for (alg, core_alg, name) in [
        (Alg::Es256, CoreJwsSigningAlgorithm::EcdsaP256Sha256, "ES256"),
        (Alg::Rs256, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, "RS256"),
        (Alg::EdDsa, CoreJwsSigningAlgorithm::EdDsa, "EdDSA"),
    ] {
        let registered = server.register_with_alg(true, &[], false, Some(alg)).await;
        let client = CoreClient::from_provider_metadata(metadata.clone(), ClientId::new(registered.id.clone()), None)
            .set_redirect_uri(RedirectUrl::new(registered.redirect_uri.clone()).unwrap());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (auth_url, _, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .set_pkce_challenge(challenge)
            .url();
        let first = browser.follow(browser.get(auth_url.as_str()).await).await;
        let done = match first.location {
            Some(_) => first,
            None => browser.sign_in_from(&server, first, "algs@example.com").await,
        };
        let code = query_param(&done.location.unwrap(), "code").unwrap();
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .unwrap();
        let id_token = tokens.id_token().unwrap();
        let header = id_token.to_string().split('.').next().map(str::to_string).unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], name);
        assert!(header["kid"].as_str().is_some_and(|k| !k.is_empty()));
        let id_verifier = client.id_token_verifier().set_allowed_algs(vec![core_alg]);
        let claims = id_token.claims(&id_verifier, &nonce).unwrap();
        assert_eq!(claims.audiences()[0].as_str(), registered.id);
    }
}

/// RP-Initiated Logout 1.0 §2: `id_token_hint` is "the ID Token previously issued by the OP".
/// The session's access token (RFC 9068, `typ` at+jwt), a back-channel logout token (BCL 1.0
/// §2.4, `typ` logout+jwt) and a JWT for an audience that is no registered client all carry
/// this OP's signature and the session's `sid`, yet none of them is an ID token: each is
/// refused with an error page, and the session lives on. The real ID token still works.
#[tokio::test]
async fn logout_accepts_only_this_ops_id_tokens_as_hint() {
    use tessera::clock::Clock;
    use tessera::crypto::keys::Alg;
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let browser = server.browser();
    let (code, verifier) = crate::support::signed_in_code(&server, &browser, &client, "hint@example.com").await;
    let tokens = server.exchange(&client, &code, &verifier).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let id = crate::support::jwt_claims(id_token);
    let (sub, sid) = (id["sub"].as_str().unwrap(), id["sid"].as_str().unwrap());
    let now = server.clock.now_ms();
    let logout_token =
        tessera::oidc::backchannel::logout_token(&server.state, &client.id, Alg::Es256, sub, sid, "jti-1", now);
    let mut stranger = id.clone();
    stranger["aud"] = "no-such-client".into();
    stranger["azp"] = "no-such-client".into();
    let stranger = tessera::crypto::jwt::encode(
        server.state.keys.at(server.state.now()).current(Alg::Es256),
        tessera::crypto::jwt::TYP_JWT,
        &stranger,
    );
    let mut outcomes = Vec::new();
    for (what, hint) in [
        ("access token", tokens["access_token"].as_str().unwrap()),
        ("logout token", &logout_token),
        ("stranger", &stranger),
    ] {
        // The hint alone (it would log out at once, matching the session), and with a
        // return address (it would name the client).
        for extra in ["", &format!("&post_logout_redirect_uri={LOGOUT_URI}")] {
            let page = browser.get(&format!("/logout?id_token_hint={hint}{extra}")).await;
            let refused =
                page.status == StatusCode::BAD_REQUEST && page.location.is_none() && page.body.contains("ID token");
            outcomes.push((what, extra.is_empty(), refused));
        }
    }
    assert!(outcomes.iter().all(|(_, _, refused)| *refused), "(hint, without return address, refused): {outcomes:?}");
    let (url, _) = crate::support::authorize_url(&server, &client, &[("prompt", "none")]);
    let location = browser.get(&url).await.location.unwrap();
    assert!(query_param(&location, "code").is_some(), "still signed in: {location}");
    let page = browser.get(&format!("/logout?id_token_hint={id_token}&post_logout_redirect_uri={LOGOUT_URI}")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some(LOGOUT_URI));
}
