//! The profile: every attribute with its source and when it last changed; editing with the
//! checks of progressive profiling; a new email address proven by a single-use link (POST
//! only) before it replaces the old one, which is told.

use super::{EMAIL, customer_id};
use crate::support::TestServer;
use crate::support::browser::hidden;
use reqwest::StatusCode;
use tessera::crypto::secrets;
use tessera::ephemeral::keys::Space;

#[tokio::test]
async fn attributes_show_their_source_and_edits_are_checked_and_recorded() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let login = browser.get("/login").await;
    browser.sign_in_from(&server, login, EMAIL).await;
    let page = browser.get("/account/profile").await;
    assert!(page.body.contains(EMAIL) && page.body.contains("typed by you"), "{}", page.body);

    // A bad phone number is refused with the same words as on the consent screen; nothing changes.
    let bad = [("csrf", page.csrf()), ("name", "Ada Lovelace".into()), ("claim.phone_number", "044 668".into())];
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = browser.post("/account/profile", &bad).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("international form"), "{}", refused.body);
    let customer = server.state.store.customer_by_email(EMAIL).await.unwrap().unwrap();
    assert_eq!(customer.name, None);

    server.clock.advance_secs(60);
    let good = [
        ("csrf", page.csrf()),
        ("name", " Ada Lovelace ".into()),
        ("claim.phone_number", "+41 44 668 18 00".into()),
        ("claim.birthdate", "1990-04-21".into()),
        ("claim.address.locality", "Zürich".into()),
        ("claim.address.country", "CH".into()),
    ];
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = browser.post("/account/profile", &good).await;
    assert_eq!(saved.location.as_deref(), Some("/account/profile?saved=1"));
    let customer = server.state.store.customer_by_email(EMAIL).await.unwrap().unwrap();
    assert_eq!(customer.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(customer.phone_number.as_deref(), Some("+41446681800"));
    let sources = server.state.store.profile_sources(&customer.id).await.unwrap();
    for attribute in ["name", "phone_number", "birthdate", "address"] {
        let s = sources.iter().find(|s| s.attribute == attribute).expect(attribute);
        assert_eq!((s.source.as_str(), s.changed_at), ("typed", server.state.now()), "{attribute}");
    }
    let page = browser.get("/account/profile?saved=1").await;
    assert!(page.body.contains("Ada Lovelace") && page.body.contains("Zürich"), "{}", page.body);
    // The userinfo-visible profile changed: an event names what changed.
    let events = crate::outbox::stored(&server.state.config.database_url()).await;
    let updated = events.iter().rev().find(|e| e.kind == "customer.updated").unwrap();
    assert!(updated.payload.to_string().contains("phone_number"), "{}", updated.payload);

    // An empty field erases it.
    let clear = [("csrf", page.csrf()), ("name", "Ada Lovelace".into())];
    let clear: Vec<(&str, &str)> = clear.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post("/account/profile", &clear).await;
    let customer = server.state.store.customer_by_email(EMAIL).await.unwrap().unwrap();
    assert_eq!((customer.phone_number, customer.address), (None, None));
}

#[tokio::test]
async fn a_new_address_is_proven_by_a_link_before_it_replaces_the_old_one_which_is_told() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let login = browser.get("/login").await;
    browser.sign_in_from(&server, login, EMAIL).await;
    let id = customer_id(&server).await;
    let new = "ada.new@example.com";

    let page = browser.get("/account/profile").await;
    let asked = browser.post("/account/email", &[("csrf", &page.csrf()), ("email", " Ada.New@Example.com ")]).await;
    assert_eq!(asked.location.as_deref(), Some("/account/profile?sent=1"));
    let mail = server.smtp.last_mail_to(new).await.decoded();
    let at = mail.find("/account/email/confirm?token=").unwrap() + "/account/email/confirm?token=".len();
    let token = mail[at..at + 43].to_string();
    // Nothing changed yet; opening the link (as a mail scanner would) changes nothing either.
    let shown = browser.get(&format!("/account/email/confirm?token={token}")).await;
    assert!(shown.body.contains(new), "{}", shown.body);
    assert_eq!(server.state.store.customer(&id).await.unwrap().unwrap().email, EMAIL);
    assert_eq!(hidden(&shown.body, "token").as_deref(), Some(token.as_str()));
    // Kept only under the token's hash.
    let ephemeral = &server.state.ephemeral;
    assert!(ephemeral.get(&Space::EmailChange.key(&token)).await.unwrap().is_none());
    assert!(ephemeral.get(&Space::EmailChange.key(&secrets::hash(&token))).await.unwrap().is_some());

    let done = browser.post("/account/email/confirm", &[("csrf", &shown.csrf()), ("token", &token)]).await;
    assert_eq!(done.location.as_deref(), Some("/account/profile?changed=1"));
    let customer = server.state.store.customer(&id).await.unwrap().unwrap();
    assert_eq!((customer.email.as_str(), customer.email_verified), (new, 1));
    let told = server.smtp.last_mail_to(EMAIL).await;
    assert!(told.subject().contains("email address was changed") && told.decoded().contains(new), "{}", told.decoded());
    // Single use.
    let again = browser.post("/account/email/confirm", &[("csrf", &shown.csrf()), ("token", &token)]).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.body.contains("expired or was used"), "{}", again.body);

    // An address another account holds gets no link, and the answer is the same (no enumeration).
    let other = server.browser();
    other.sign_in_from(&server, other.get("/login").await, "taken@example.com").await;
    let before = server.smtp.count_to("taken@example.com");
    let page = browser.get("/account/profile").await;
    let asked = browser.post("/account/email", &[("csrf", &page.csrf()), ("email", "taken@example.com")]).await;
    assert_eq!(asked.location.as_deref(), Some("/account/profile?sent=1"));
    assert_eq!(server.smtp.count_to("taken@example.com"), before);

    // An old session cannot ask.
    server.clock.advance_secs(11 * 60);
    let page = browser.get("/account/profile").await;
    let stale = browser.post("/account/email", &[("csrf", &page.csrf()), ("email", "third@example.com")]).await;
    assert_eq!(stale.location.as_deref(), Some("/login/step-up?next=%2Faccount%2Fprofile"));
    assert_eq!(server.smtp.count_to("third@example.com"), 0);
}
