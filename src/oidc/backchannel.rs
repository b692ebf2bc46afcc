//! OpenID Connect Back-Channel Logout 1.0: when a session ends, every client that took part
//! in it and registered a `backchannel_logout_uri` receives a signed logout token.

use crate::crypto::keys::Alg;
use crate::crypto::{jwt, secrets};
use crate::state::AppState;
use serde_json::json;

/// §2.4: the `events` member that makes a JWT a logout token.
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// §2.4: logout tokens are explicitly typed (RFC 8725 §3.11).
pub const TYP_LOGOUT: &str = "logout+jwt";

/// A signed logout token for `client_id` about session `sid` of customer `sub`, signed with
/// the client's ID token algorithm.
pub fn logout_token(state: &AppState, client_id: &str, alg: Alg, sub: &str, sid: &str, now: i64) -> String {
    let claims = json!({
        "iss": state.config.issuer,
        "aud": client_id,
        "iat": now / 1000,
        // §2.4 recommends a short lifetime: two minutes.
        "exp": now / 1000 + 120,
        "jti": secrets::random_id(),
        "sub": sub,
        "sid": sid,
        "events": { LOGOUT_EVENT: {} },
    });
    jwt::encode(state.keys.current(alg), TYP_LOGOUT, &claims)
}

/// Send the logout tokens (§2.5: POST, form-encoded `logout_token`) without holding up the
/// person's request; failures are logged, never retried forever.
pub fn deliver(state: &AppState, deliveries: Vec<(String, String)>) {
    if deliveries.is_empty() {
        return;
    }
    let http = state.http.clone();
    tokio::spawn(async move {
        for (uri, token) in deliveries {
            match http.post(&uri).form(&[("logout_token", token.as_str())]).send().await {
                Ok(res) if res.status().is_success() => tracing::info!(uri = %uri, "back-channel logout delivered"),
                Ok(res) => tracing::warn!(uri = %uri, status = %res.status(), "back-channel logout refused"),
                Err(e) => tracing::warn!(uri = %uri, error = %e, "back-channel logout failed"),
            }
        }
    });
}
