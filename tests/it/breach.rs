//! Breach readiness (issue #15): revoking every session and token (all, per client, per
//! customer) with back-channel logout and immediate effect on userinfo, introspection and
//! refresh; withdrawing every signing key; forcing re-verification; mailing customers; each
//! with a dry run that counts and changes nothing, each audited.

use crate::admin::{admin_token, call};
use crate::sessions::logout_receiver;
use crate::support::browser::{Browser, hidden};
use crate::support::passkey::{Passkey, account_csrf};
use crate::support::{TestClient, TestServer, authorize_url, cli, query_param, signed_in_code};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::breach::notify::Notice;
use tessera::breach::{Report, Scope, notify, revoke};
use tessera::events::audit::Caller;

async fn tokens_for(server: &TestServer, browser: &Browser, client: &TestClient, email: &str) -> Value {
    let (code, verifier) = signed_in_code(server, browser, client, email).await;
    server.exchange(client, &code, &verifier).await
}

fn at(tokens: &Value) -> &str {
    tokens["access_token"].as_str().unwrap()
}

async fn userinfo_status(server: &TestServer, token: &str) -> StatusCode {
    reqwest::Client::new().get(server.url("/userinfo")).bearer_auth(token).send().await.unwrap().status()
}

async fn refresh_status(server: &TestServer, client: &TestClient, tokens: &Value) -> StatusCode {
    let refresh = tokens["refresh_token"].as_str().unwrap();
    server.token(client, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await.0
}

async fn customer_id(server: &TestServer, email: &str) -> String {
    server.state.store.customer_by_email(email).await.unwrap().unwrap().id
}

async fn audit_actions(server: &TestServer, action: &str) -> Vec<Value> {
    let q = serde_json::from_value(json!({ "action": action })).unwrap();
    tessera::events::audit_query::search(&server.state, &q).await.unwrap().entries
}

#[tokio::test]
async fn revoking_everything_ends_sessions_with_backchannel_logout_and_kills_tokens_at_once() {
    let server = TestServer::start().await;
    let (uri, mut logouts) = logout_receiver().await;
    let client = server.backchannel_client(&uri).await;
    let service = server.confidential_client().await;
    let resource = server.resource_server().await;
    let (alice, bob) = (server.browser(), server.browser());
    let a = tokens_for(&server, &alice, &client, "alice@example.com").await;
    let b = tokens_for(&server, &bob, &client, "bob@example.com").await;
    let (_, own) = server.token(&service, &[("grant_type", "client_credentials"), ("scope", "orders:read")]).await;
    // Seen once: the verified-token memory holds them.
    assert_eq!(server.userinfo(at(&a)).await["email"], "alice@example.com");
    assert_eq!(server.introspect(&resource, at(&own)).await["active"], true);

    let now = server.state.now();
    let dry = revoke::revoke(&server.state, Caller::operator(), &Scope::All, true, now).await.unwrap();
    assert_eq!(
        dry,
        Report { action: "revoke", dry_run: true, customers: 2, sessions: 2, token_families: 2, ..Report::default() }
    );
    // Nothing changed.
    assert_eq!(userinfo_status(&server, at(&a)).await, StatusCode::OK);
    assert_eq!(server.introspect(&resource, at(&own)).await["active"], true);

    let done = revoke::revoke(&server.state, Caller::operator(), &Scope::All, false, now).await.unwrap();
    assert_eq!((done.customers, done.sessions, done.token_families, done.dry_run), (2, 2, 2, false));
    for tokens in [&a, &b] {
        assert_eq!(userinfo_status(&server, at(tokens)).await, StatusCode::UNAUTHORIZED);
        assert_eq!(server.introspect(&resource, at(tokens)).await["active"], false);
        assert_eq!(refresh_status(&server, &client, tokens).await, StatusCode::BAD_REQUEST);
    }
    // Tokens of no family (client_credentials) fall under the cutoff.
    assert_eq!(server.introspect(&resource, at(&own)).await["active"], false);
    // Both sessions ended, and their client hears it (OIDC Back-Channel Logout).
    let mut sids = Vec::new();
    for _ in 0..2 {
        let token = tokio::time::timeout(std::time::Duration::from_secs(10), logouts.recv()).await.unwrap().unwrap();
        sids.push(crate::support::jwt_claims(&token)["sid"].clone());
    }
    assert_ne!(sids[0], sids[1]);
    let (url, _) = authorize_url(&server, &client, &[("prompt", "none")]);
    let location = alice.get(&url).await.location.unwrap();
    assert_eq!(query_param(&location, "error").as_deref(), Some("login_required"));
    // Audited, the dry run too, with the counts.
    let entries = audit_actions(&server, "breach.revoked").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["detail"]["sessions"], 2);
    assert_eq!(entries[0]["detail"]["scope"]["all"], true);
    assert_eq!(entries[1]["detail"]["dry_run"], true);
    assert_eq!(audit_actions(&server, "session.ended").await.len(), 2);

    // What is issued after the breach works.
    server.clock.advance_secs(2);
    let (_, fresh) = server.token(&service, &[("grant_type", "client_credentials"), ("scope", "orders:read")]).await;
    assert_eq!(server.introspect(&resource, at(&fresh)).await["active"], true);
    let again = tokens_for(&server, &alice, &client, "alice@example.com").await;
    assert_eq!(userinfo_status(&server, at(&again)).await, StatusCode::OK);
}

#[tokio::test]
async fn the_admin_api_revokes_per_customer_and_per_client_with_dry_runs() {
    let server = TestServer::start().await;
    let (shop, blog) = (server.confidential_client().await, server.confidential_client().await);
    let (alice, bob) = (server.browser(), server.browser());
    let alice_shop = tokens_for(&server, &alice, &shop, "alice@example.com").await;
    let alice_blog = tokens_for(&server, &alice, &blog, "alice@example.com").await;
    let bob_shop = tokens_for(&server, &bob, &shop, "bob@example.com").await;
    let bob_blog = tokens_for(&server, &bob, &blog, "bob@example.com").await;
    let admin = admin_token(&server).await;
    let alice_id = customer_id(&server, "alice@example.com").await;

    let body = json!({ "customer": alice_id, "dry_run": true });
    let (status, _, report) = call(&server, "POST", "/admin/api/v1/breach/revoke", Some(&admin), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["customers"].as_i64(), report["sessions"].as_i64()), (Some(1), Some(1)));
    assert_eq!(report["token_families"], 2);
    assert_eq!(userinfo_status(&server, at(&alice_shop)).await, StatusCode::OK);
    let (_, _, report) =
        call(&server, "POST", "/admin/api/v1/breach/revoke", Some(&admin), Some(json!({ "customer": alice_id }))).await;
    assert_eq!(report["dry_run"], false);
    assert_eq!(userinfo_status(&server, at(&alice_shop)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(userinfo_status(&server, at(&alice_blog)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(userinfo_status(&server, at(&bob_shop)).await, StatusCode::OK, "another customer is untouched");

    // Per client: that client's token families (no sessions: they belong to no client).
    let body = json!({ "client": shop.id, "dry_run": true });
    let (_, _, report) = call(&server, "POST", "/admin/api/v1/breach/revoke", Some(&admin), Some(body)).await;
    assert_eq!((report["customers"].as_i64(), report["sessions"].as_i64()), (Some(1), Some(0)), "{report}");
    assert_eq!(report["token_families"], 1);
    let (status, _, _) =
        call(&server, "POST", "/admin/api/v1/breach/revoke", Some(&admin), Some(json!({ "client": shop.id }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(userinfo_status(&server, at(&bob_shop)).await, StatusCode::UNAUTHORIZED);
    assert_eq!(refresh_status(&server, &shop, &bob_shop).await, StatusCode::BAD_REQUEST);
    assert_eq!(userinfo_status(&server, at(&bob_blog)).await, StatusCode::OK, "another client is untouched");
    assert_eq!(refresh_status(&server, &blog, &bob_blog).await, StatusCode::OK);
    // The admin client's own token was not in scope.
    let (status, _, _) = call(&server, "GET", "/admin/api/v1/keys", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);

    // Bad scopes are refused; every call is audited with the calling client.
    let both = json!({ "client": shop.id, "customer": alice_id });
    let (status, _, _) = call(&server, "POST", "/admin/api/v1/breach/revoke", Some(&admin), Some(both)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let entries = audit_actions(&server, "breach.revoked").await;
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0]["actor"]["kind"], "client");
    assert_eq!(entries[0]["target"], shop.id.as_str());
}

#[tokio::test]
async fn rotating_keys_in_a_breach_withdraws_every_old_key_at_once() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let tokens = tokens_for(&server, &server.browser(), &client, "keys@example.com").await;
    let now = server.state.now();
    tessera::keys::rotation::rotate(&server.state, Caller::operator(), None, Some(3_600_000), now).await.unwrap();
    let dry = revoke::rotate_keys(&server.state, Caller::operator(), true, now).await.unwrap();
    assert_eq!(dry.keys, 6, "three current and three waiting keys");
    assert_eq!(server.state.keys.at(now).jwks_json().matches("\"kid\"").count(), 6);
    let before: Value = serde_json::from_str(server.state.keys.at(now).jwks_json()).unwrap();

    let done = revoke::rotate_keys(&server.state, Caller::operator(), false, now).await.unwrap();
    assert_eq!(done.keys, 6);
    let after: Value = reqwest::get(server.url("/jwks.json")).await.unwrap().json().await.unwrap();
    let kids = |v: &Value| v["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect::<Vec<_>>();
    assert_eq!(kids(&after).len(), 3, "one new key per algorithm, signing now");
    assert!(kids(&after).iter().all(|k| !kids(&before).contains(k)));
    assert_eq!(userinfo_status(&server, at(&tokens)).await, StatusCode::UNAUTHORIZED);
    // Fresh tokens (the refresh token is opaque) are signed by a new key and verify.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, fresh) = server.token(&client, &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(userinfo_status(&server, at(&fresh)).await, StatusCode::OK);
    assert_eq!(audit_actions(&server, "breach.keys_rotated").await.len(), 2);
    assert_eq!(audit_actions(&server, "keys.revoked").await.len(), 6);
}

/// The login page of a new authorization request: (authz id, csrf).
async fn login_page(server: &TestServer, browser: &Browser, client: &TestClient) -> (String, String) {
    let (url, _) = authorize_url(server, client, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    let at = login.body.find("data-csrf=\"").unwrap() + 11;
    (hidden(&login.body, "authz").unwrap(), login.body[at..].split('"').next().unwrap().to_string())
}

#[tokio::test]
async fn forced_reverification_refuses_a_passkey_until_a_fresh_mail_proof() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let first = server.browser();
    tokens_for(&server, &first, &client, "pk@example.com").await;
    let csrf = account_csrf(&first).await;
    let mut passkey = Passkey::register(&first, &csrf, &server.base).await.unwrap();
    tokens_for(&server, &server.browser(), &client, "other@example.com").await;
    let id = customer_id(&server, "pk@example.com").await;
    let now = server.state.now();

    let scope = Scope::Customer(id.clone());
    let dry = revoke::require_reverification(&server.state, Caller::operator(), &scope, true, now).await.unwrap();
    assert_eq!(dry.customers, 1);
    assert!(!server.state.store.reverification_required(&id).await.unwrap());
    let by_client = Scope::Client(client.id.clone());
    let all = revoke::require_reverification(&server.state, Caller::operator(), &by_client, true, now).await.unwrap();
    assert_eq!(all.customers, 2, "both were granted something by the client");
    revoke::require_reverification(&server.state, Caller::operator(), &scope, false, now).await.unwrap();
    assert!(server.state.store.reverification_required(&id).await.unwrap());

    // The passkey alone does not open a session now…
    let other = server.browser();
    let (authz, csrf) = login_page(&server, &other, &client).await;
    let (status, body) = passkey.sign_in(&other, &csrf, &server.base, &authz).await;
    assert_ne!(status, StatusCode::OK, "{body}");
    assert!(body.to_string().contains("email address"), "{body}");
    // …a mail proof does, and clears the flag…
    signed_in_code(&server, &server.browser(), &client, "pk@example.com").await;
    assert!(!server.state.store.reverification_required(&id).await.unwrap());
    // …after which the passkey works again.
    let third = server.browser();
    let (authz, csrf) = login_page(&server, &third, &client).await;
    let (status, body) = passkey.sign_in(&third, &csrf, &server.base, &authz).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(audit_actions(&server, "breach.reverification_required").await.len(), 3);
}

#[tokio::test]
async fn affected_customers_are_mailed_from_a_template() {
    let server = TestServer::start().await;
    let (shop, blog) = (server.confidential_client().await, server.confidential_client().await);
    tokens_for(&server, &server.browser(), &shop, "a@example.com").await;
    tokens_for(&server, &server.browser(), &blog, "b@example.com").await;
    let notice =
        Notice::parse("Subject: About your Shop account\n\nWe signed you out everywhere.\nSign in again.\n").unwrap();
    let now = server.state.now();
    let shop_scope = Scope::Client(shop.id.clone());
    let dry = notify::notify(&server.state, Caller::operator(), &shop_scope, &notice, true, now).await.unwrap();
    assert_eq!((dry.customers, dry.mails), (1, 0));
    let sign_in_mails = server.smtp.count_to("a@example.com");
    let done = notify::notify(&server.state, Caller::operator(), &shop_scope, &notice, false, now).await.unwrap();
    assert_eq!((done.customers, done.mails), (1, 1));
    let mail = server.smtp.last_mail_to("a@example.com").await;
    assert_eq!(mail.subject(), "About your Shop account");
    assert!(mail.decoded().contains("We signed you out everywhere."), "{}", mail.decoded());
    assert_eq!(server.smtp.count_to("a@example.com"), sign_in_mails + 1);
    assert_eq!(server.smtp.count_to("b@example.com"), 1, "only the sign-in mail: not in scope");
    // Through the admin API, everyone.
    let admin = admin_token(&server).await;
    let body = json!({ "template": "Subject: Hello\n\nBody.", "dry_run": true });
    let (status, _, report) = call(&server, "POST", "/admin/api/v1/breach/notify", Some(&admin), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!((report["customers"].as_i64(), report["mails"].as_i64()), (Some(2), Some(0)));
    let (status, _, _) =
        call(&server, "POST", "/admin/api/v1/breach/notify", Some(&admin), Some(json!({ "template": "Hello" }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(audit_actions(&server, "breach.notified").await.len(), 3);
}

#[test]
fn the_cli_runs_every_breach_command_with_a_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let json = |args: &[&str]| -> Value {
        let out = cli(dir.path(), args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let r = json(&["breach", "revoke", "--dry-run", "--json"]);
    assert_eq!(
        (r["action"].as_str(), r["dry_run"].as_bool(), r["sessions"].as_i64()),
        (Some("revoke"), Some(true), Some(0))
    );
    let r = json(&["breach", "rotate-keys", "--dry-run", "--json"]);
    assert_eq!(r["keys"], 3);
    let r = json(&["breach", "reverify", "--customer", "nobody", "--dry-run", "--json"]);
    assert_eq!(r["customers"], 0);
    let template = dir.path().join("notice.txt");
    std::fs::write(&template, "Subject: Incident\n\nDetails.\n").unwrap();
    let r = json(&["breach", "notify", "--template", template.to_str().unwrap(), "--dry-run", "--json"]);
    assert_eq!(r["mails"], 0);
    let r = json(&["breach", "rotate-keys", "--json"]);
    assert_eq!((r["keys"].as_i64(), r["dry_run"].as_bool()), (Some(3), Some(false)));
    let out = cli(dir.path(), &["keys", "list", "--json"]);
    let keys: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys.iter().filter(|k| k["state"] == "revoked").count(), 3);
    assert_eq!(keys.iter().filter(|k| k["state"] == "current").count(), 3);
    let out = cli(dir.path(), &["breach", "revoke", "--client", "a", "--customer", "b"]);
    assert!(!out.status.success());
}
