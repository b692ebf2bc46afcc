//! The privacy centre (issue #14): channel preferences, the consents page, connected apps,
//! the profile with sources, and what we hold and why. SQLite by default, PostgreSQL with
//! TESSERA_TEST_POSTGRES_URL.

mod apps;
mod channels;
mod consents;
mod holdings;
mod profile;

use crate::support::{TestClient, TestServer};
use tessera::consent::purposes::{self, PurposeInput};
use tessera::events::audit::Caller;

pub(crate) const EMAIL: &str = "opt@example.com";

/// `marketing.email` reaches customers by email and SMS (the rest of the purposes as in
/// `consent_purposes::setup`).
pub(crate) async fn with_channels(server: &TestServer, client: TestClient) -> TestClient {
    let client = crate::consent_purposes::setup_for(server, client).await;
    let input = PurposeInput {
        channels: Some(vec!["email".into(), "sms".into()]),
        data_categories: Some(vec!["contact".into()]),
        ..PurposeInput::default()
    };
    purposes::update(&server.state, "marketing.email", input, Caller::operator(), server.state.now()).await.unwrap();
    client
}

pub(crate) async fn customer_id(server: &TestServer) -> String {
    server.state.store.customer_by_email(EMAIL).await.unwrap().unwrap().id
}

/// The `consents` entry of `purpose` in a claim set, if any.
pub(crate) fn consent_of<'a>(claims: &'a serde_json::Value, purpose: &str) -> Option<&'a serde_json::Value> {
    claims["consents"].as_array()?.iter().find(|c| c["purpose"] == purpose)
}
