//! Token introspection (RFC 7662) for authenticated clients. A client may introspect the
//! tokens issued to it; only a resource server (registered with `--introspect`) may introspect
//! access tokens issued to other clients, as §2.2 leaves that to the server: for anyone else
//! such a token is just `{"active": false}`. Refresh tokens only by the client that holds them.
//! Members that do not apply to a token are omitted, never null (§2.2: they are OPTIONAL).

use super::client_auth;
use super::params::Params;
use super::tokens;
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::state::AppState;
use serde_json::{Map, Value, json};

pub async fn introspect(
    state: &AppState,
    authorization: Option<&str>,
    pairs: Vec<(String, String)>,
    now: i64,
) -> Result<Value> {
    let params = Params::from_pairs(pairs)?;
    let client = client_auth::authenticate(state, &client_auth::presented(authorization, &params)?, now).await?;
    if client.is_public() {
        return Err(Error::InvalidClient("introspection requires client authentication"));
    }
    let token = params.require("token")?;
    let inactive = json!({ "active": false });
    // RFC 7662 §2.1: the hint only speeds up the lookup; try both kinds.
    if token.matches('.').count() == 2 {
        return Ok(match tokens::verify_access_token_any_audience(state, token, now).await {
            Ok(c) if c.client_id == client.id || client.introspect => {
                let mut m = members(&[
                    ("token_type", json!("Bearer")),
                    ("scope", json!(c.scope)),
                    ("client_id", json!(c.client_id)),
                    ("sub", json!(c.sub)),
                    ("aud", json!(c.aud)),
                    ("iss", json!(c.iss)),
                    ("exp", json!(c.exp)),
                    ("iat", json!(c.iat)),
                    ("jti", json!(c.jti)),
                ]);
                // A client_credentials token has no person behind it: no auth_time, acr, amr, sid.
                let personal = [
                    ("auth_time", c.auth_time.map(Value::from)),
                    ("acr", c.acr.map(Value::from)),
                    ("amr", c.amr.map(Value::from)),
                    ("sid", c.sid.map(Value::from)),
                ];
                m.extend(personal.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))));
                let holder = state.clients.get(&state.store, &c.client_id, now).await?;
                let customer = holder.and_then(|h| super::subject::customer(state, &h, &c.sub));
                if let Some(customer) = customer
                    && let Some(v) = super::purposes::consents_claim(state, &c.scope, &customer, &c.client_id).await?
                {
                    m.insert("consents".into(), v);
                }
                Value::Object(m)
            }
            Ok(_) | Err(Error::InvalidToken(_)) => inactive,
            Err(e) => return Err(e),
        });
    }
    let Some(r) = state.store.refresh_token(&secrets::hash(token)).await? else {
        return Ok(inactive);
    };
    let live = r.rotated_at.is_none() && r.grant.revoked_at.is_none() && r.expires_at > now;
    if !live || r.grant.client_id != client.id {
        return Ok(inactive);
    }
    // No `token_type`: §2.2 defines it as the access-token type of RFC 6749 §7.1, which a
    // refresh token does not have.
    let mut m = members(&[
        ("scope", json!(r.grant.scope)),
        ("client_id", json!(r.grant.client_id)),
        ("sub", json!(super::subject::of(state, &client, &r.grant.customer_id))),
        ("iss", json!(state.config.issuer)),
        ("exp", json!(r.expires_at / 1000)),
        ("iat", json!(r.grant.created_at / 1000)),
        ("auth_time", json!(r.grant.auth_time / 1000)),
    ]);
    let g = &r.grant;
    if let Some(v) = super::purposes::consents_claim(state, &g.scope, &g.customer_id, &g.client_id).await? {
        m.insert("consents".into(), v);
    }
    Ok(Value::Object(m))
}

/// An active token's members (RFC 7662 §2.2).
fn members(pairs: &[(&str, Value)]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("active".into(), json!(true));
    m.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())));
    m
}
