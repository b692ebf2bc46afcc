//! OpenID Connect Back-Channel Logout 1.0: when a session ends, every client that took part
//! in it and registered a `backchannel_logout_uri` receives a signed logout token.
//!
//! Deliveries go through the store, not through a spawned task: `enqueue_in` writes one row
//! per client in the transaction that ends the session (a crash cannot lose them, and a
//! rolled-back logout sends nothing), and the worker's `deliver_due` POSTs them, retrying with
//! exponential backoff until the client answers 2xx or `GIVE_UP_AFTER_MS` has passed. They
//! are rows of their own table rather than outbox events: they carry a schedule (next
//! attempt, attempts), and nothing but this provider consumes them.

use crate::crypto::keys::Alg;
use crate::crypto::{jwt, secrets};
use crate::state::AppState;
use crate::store::{BackchannelDeliveryRecord, SessionRecord, Store, Tx};
use serde_json::json;

/// §2.4: the `events` member that makes a JWT a logout token.
pub const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// §2.4: logout tokens are explicitly typed (RFC 8725 §3.11).
pub const TYP_LOGOUT: &str = "logout+jwt";
/// The first retry waits this long; each next one twice as long, up to `MAX_BACKOFF_MS`.
pub const FIRST_BACKOFF_MS: i64 = 30_000;
pub const MAX_BACKOFF_MS: i64 = 3_600_000;
/// A client that has not answered 2xx for a day is given up on (logged).
pub const GIVE_UP_AFTER_MS: i64 = 24 * 3_600_000;
/// Deliveries attempted per tick.
const BATCH: i64 = 50;
/// A claimed delivery is reserved this long (HTTP timeouts are 5 s).
const LEASE_MS: i64 = 60_000;

/// A signed logout token for `client_id` about session `sid` of customer `sub`, signed with
/// the client's ID token algorithm.
pub fn logout_token(state: &AppState, client_id: &str, alg: Alg, sub: &str, sid: &str, jti: &str, now: i64) -> String {
    let claims = json!({
        "iss": state.config.issuer,
        "aud": client_id,
        "iat": now / 1000,
        // §2.4 recommends a short lifetime: two minutes.
        "exp": now / 1000 + 120,
        "jti": jti,
        "sub": sub,
        "sid": sid,
        "events": { LOGOUT_EVENT: {} },
    });
    jwt::encode(state.keys.at(now).current(alg), TYP_LOGOUT, &claims)
}

/// Inside the unit of work that ends `session`: one pending delivery per client of the
/// session that wants back-channel logout. Returns how many.
pub async fn enqueue_in(state: &AppState, tx: &mut Tx, session: &SessionRecord, now: i64) -> anyhow::Result<usize> {
    // Read in the transaction, not through the pool or the client cache: a pool read while
    // this transaction holds a connection could wait for one that never comes.
    let clients = Store::backchannel_clients_in(tx, &session.id).await?;
    let count = clients.len();
    for record in clients {
        let uri = record.backchannel_logout_uri.clone();
        let c = super::clients::Client::from_record(record)?;
        // Core §8: the `sub` this client knows the customer by.
        let (sub, sid) =
            (super::subject::of(state, &c, &session.customer_id), super::subject::sid(state, &c, &session.id));
        let d = BackchannelDeliveryRecord {
            id: secrets::random_id(),
            client_id: c.id.clone(),
            uri,
            sub,
            sid,
            // §2.4: a unique identifier for the token; it names the logout, so every attempt
            // carries the same one (an RP may use it to recognise a repeat).
            jti: secrets::random_id(),
            created_at: now,
            next_attempt_at: now,
            attempts: 0,
        };
        Store::insert_backchannel_delivery_in(tx, &d).await?;
    }
    Ok(count)
}

/// The wait before attempt `failed + 1`, after `failed` failed attempts (≥ 1).
pub fn backoff_ms(failed: i64) -> i64 {
    let doublings = u32::try_from((failed - 1).clamp(0, 20)).unwrap_or(20);
    FIRST_BACKOFF_MS.saturating_mul(1_i64 << doublings).min(MAX_BACKOFF_MS)
}

/// The worker's job: attempt the deliveries that are due. Returns how many were attempted.
pub async fn deliver_due(state: &AppState, owner: &str, now: i64) -> anyhow::Result<usize> {
    let due = state.store.claim_backchannel_deliveries(owner, now, now + LEASE_MS, BATCH).await?;
    for d in &due {
        match attempt(state, d, now).await {
            Ok(()) => {
                state.store.backchannel_delivered(&d.id, owner, now).await?;
                tracing::info!(client = %d.client_id, attempts = d.attempts + 1, "back-channel logout delivered");
            }
            Err(why) if now - d.created_at >= GIVE_UP_AFTER_MS => {
                state.store.backchannel_gave_up(&d.id, owner, now, &why).await?;
                tracing::warn!(client = %d.client_id, uri = %d.uri, attempts = d.attempts + 1, error = %why,
                    "back-channel logout given up after a day of failures");
            }
            Err(why) => {
                let next = now + backoff_ms(d.attempts + 1);
                state.store.backchannel_retry_at(&d.id, owner, next, &why).await?;
                tracing::info!(client = %d.client_id, attempts = d.attempts + 1, error = %why,
                    "back-channel logout not delivered; retried later");
            }
        }
    }
    Ok(due.len())
}

/// One POST (§2.5: form-encoded `logout_token`); `Err` says why it failed, without the token.
async fn attempt(state: &AppState, d: &BackchannelDeliveryRecord, now: i64) -> Result<(), String> {
    let client = state.clients.get(&state.store, &d.client_id, now).await.map_err(|e| format!("{e:?}"))?;
    let Some(client) = client else { return Err("the client no longer exists".into()) };
    let alg = client.id_token_alg.unwrap_or(state.keys.default_alg);
    // Logout tokens live two minutes (§2.4), and a retry may come hours later: sign afresh at
    // each attempt (new iat/exp) with the same jti.
    let token = logout_token(state, &d.client_id, alg, &d.sub, &d.sid, &d.jti, now);
    match state.http.post(&d.uri).form(&[("logout_token", token.as_str())]).send().await {
        Ok(res) if res.status().is_success() => Ok(()),
        Ok(res) => Err(format!("HTTP {}", res.status().as_u16())),
        Err(e) => Err(format!("request failed: {}", e.without_url())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_ms(1), 30_000);
        assert_eq!(backoff_ms(2), 60_000);
        assert_eq!(backoff_ms(3), 120_000);
        assert_eq!(backoff_ms(10), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(1000), MAX_BACKOFF_MS);
    }
}
