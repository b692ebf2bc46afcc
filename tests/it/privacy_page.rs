//! The privacy page: what each app may know and do, and withdrawing it after a fresh proof.

use crate::consent_purposes::{ALL, setup, tokens_with};
use crate::support::TestServer;
use tessera::consent::ledger;

#[tokio::test]
async fn customers_see_what_each_app_may_do_and_withdraw_it_after_a_fresh_proof() {
    let server = TestServer::start().await;
    let client = setup(&server).await;
    let browser = server.browser();
    tokens_with(&server, &browser, &client, ALL, &["marketing.email"]).await;
    let page = browser.get("/account/privacy").await;
    for shown in ["News by email", "Your feed", "See your email address"] {
        assert!(page.body.contains(shown), "{shown}: {}", page.body);
    }
    let customer = server.state.store.customer_by_email("opt@example.com").await.unwrap().unwrap().id;
    let granted = || async {
        let c = tessera::consent::in_force(&server.state.store, &customer, &client.id).await.unwrap();
        c.into_iter().map(|c| c.purpose).collect::<Vec<_>>()
    };
    // An old session is not enough: a fresh proof first, then back to this page.
    server.clock.advance_secs(11 * 60);
    let withdraw = |csrf: String| {
        let (browser, id) = (&browser, client.id.clone());
        async move {
            let form = [("csrf", csrf.as_str()), ("client_id", id.as_str()), ("purpose", "marketing.email")];
            browser.post("/account/privacy/withdraw", &form).await
        }
    };
    let stale = withdraw(page.csrf()).await;
    assert_eq!(stale.location.as_deref(), Some("/login/step-up?next=%2Faccount%2Fprivacy"));
    assert_eq!(granted().await.len(), 2, "nothing withdrawn yet");
    // Signed in again just now: the withdrawal goes through.
    let login = browser.get("/login").await;
    browser.sign_in_from(&server, login, "opt@example.com").await;
    let page = browser.get("/account/privacy").await;
    let done = withdraw(page.csrf()).await;
    assert_eq!(done.location.as_deref(), Some("/account/privacy?withdrawn=1"));
    assert_eq!(granted().await, ["personalisation"]);
    let last = ledger::export(&server.state, &customer).await.unwrap().pop().unwrap();
    assert_eq!((last.item.as_str(), last.channel.as_str()), ("purpose:marketing.email", "privacy_centre"));
    let page = browser.get("/account/privacy?withdrawn=1").await;
    // Still listed, now as not granted, one click to grant again.
    assert!(
        page.body.contains("took effect") && page.body.contains("Not granted (withdrawn or refused"),
        "{}",
        page.body
    );
    assert!(page.body.contains("action=\"/account/privacy/grant\""), "{}", page.body);
}
