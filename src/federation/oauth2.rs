//! Plain OAuth 2.0 providers (GitHub, Facebook, generic): who the access token belongs to,
//! read from the userinfo URL through the connector's claim mapping.

use super::connectors::Connector;
use super::presets;
use super::upstream::Claims;
use crate::state::AppState;

fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub async fn user(state: &AppState, c: &Connector, access_token: &str) -> anyhow::Result<Claims> {
    let get = |url: String| {
        state
            .http
            .get(url)
            .bearer_auth(access_token)
            .header("accept", "application/json")
            .header("user-agent", "Tessera")
            .send()
    };
    let info: serde_json::Value = get(c.view.userinfo_endpoint.clone()).await?.error_for_status()?.json().await?;
    let m = &c.view.claim_mapping;
    let subject_claim = if c.view.kind == "github" || c.view.kind == "facebook" { "id" } else { m.subject.as_str() };
    let subject = text(&info[subject_claim]).unwrap_or_default();
    let name = text(&info[m.name.as_str()]);
    let (email, verified) = match c.view.kind.as_str() {
        // GitHub: the primary address, and only if GitHub verified it (from /user/emails).
        "github" => {
            let emails: serde_json::Value =
                get("https://api.github.com/user/emails".into()).await?.error_for_status()?.json().await?;
            let primary = presets::github_primary_verified(&emails);
            (primary.clone(), primary.is_some())
        }
        // Facebook returns only a confirmed primary address in `email`.
        "facebook" => (text(&info["email"]), info["email"].is_string()),
        _ => {
            let verified = match &info[m.email_verified.as_str()] {
                serde_json::Value::Bool(b) => *b,
                serde_json::Value::String(s) => s == "true",
                _ => false,
            };
            (text(&info[m.email.as_str()]), verified)
        }
    };
    Ok((subject, email, verified, name))
}
