//! Plain OAuth 2.0 providers (GitHub, Facebook, generic): who the access token belongs to,
//! read from the userinfo URL through the connector's claim mapping. An address counts as
//! verified only where the provider says so: GitHub's verified primary address, a generic
//! provider's flag named in the mapping. Facebook's Graph API has no such flag, so its
//! address is never verified merely because it is present.

use super::connectors::Connector;
use super::id_token::Claims;
use super::kind::ConnectorKind;
use super::outbound::USERINFO_LIMIT;
use super::presets;
use crate::state::AppState;

fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The verification flag `claim` of `info`; none named, none given or not true: unverified.
pub fn verified_flag(info: &serde_json::Value, claim: &str) -> bool {
    if claim.is_empty() {
        return false;
    }
    match &info[claim] {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::String(s) => s == "true",
        _ => false,
    }
}

pub async fn user(state: &AppState, c: &Connector, access_token: &str) -> Result<Claims, String> {
    let get = |url: String| async move {
        let res = state.outbound.get(&url, Some(access_token), USERINFO_LIMIT).await?;
        if !res.status.is_success() {
            return Err(format!("{url} answered {}", res.status));
        }
        res.json()
    };
    let info = get(c.view.userinfo_endpoint.clone()).await?;
    let m = &c.view.claim_mapping;
    let subject_claim =
        if matches!(c.view.kind, ConnectorKind::Github | ConnectorKind::Facebook) { "id" } else { m.subject.as_str() };
    let subject = text(&info[subject_claim]).unwrap_or_default();
    let name = text(&info[m.name.as_str()]);
    let (email, verified) = match c.view.kind {
        // GitHub: the primary address, and only if GitHub verified it (from /user/emails).
        ConnectorKind::Github => {
            let emails = get("https://api.github.com/user/emails".into()).await?;
            let primary = presets::github_primary_verified(&emails);
            (primary.clone(), primary.is_some())
        }
        // Facebook: present is not verified (there is no flag to read).
        ConnectorKind::Facebook => (text(&info["email"]), false),
        _ => (text(&info[m.email.as_str()]), verified_flag(&info, &m.email_verified)),
    };
    Ok(Claims { subject, email, email_verified: Some(verified), name, amr: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_named_flag_that_is_true_verifies_an_address() {
        let info = serde_json::json!({"email": "a@example.com", "email_verified": true, "ok": "true", "no": "false"});
        assert!(!verified_flag(&info, ""), "a mapping that names no flag");
        assert!(verified_flag(&info, "email_verified"));
        assert!(verified_flag(&info, "ok"));
        assert!(!verified_flag(&info, "no"));
        assert!(!verified_flag(&info, "missing"));
    }
}
