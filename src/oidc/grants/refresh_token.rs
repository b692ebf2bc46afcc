//! The refresh_token grant (RFC 6749 §6, OIDC Core §12). Refresh tokens rotate on every use;
//! presenting a retired one revokes the whole family (RFC 9700 §4.14.2).

use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::oidc::clients::Client;
use crate::oidc::grants::resource;
use crate::oidc::params::Params;
use crate::oidc::purposes::PREFIX;
use crate::oidc::scopes::Scopes;
use crate::oidc::tokens::{self, Authentication, TokenHolder, TokenResponse};
use crate::state::AppState;
use crate::store::RefreshTokenRecord;

pub async fn exchange(state: &AppState, client: &Client, params: &Params, now: i64) -> Result<TokenResponse> {
    let presented = params.require("refresh_token")?;
    let hash = secrets::hash(presented);
    let record =
        state.store.refresh_token(&hash).await?.ok_or(Error::InvalidGrant("the refresh token is not valid"))?;
    let grant = &record.grant;
    if grant.client_id != client.id {
        return Err(Error::InvalidGrant("the refresh token was issued to another client"));
    }
    if grant.revoked_at.is_some() {
        return Err(Error::InvalidGrant("the refresh token was revoked"));
    }
    if record.rotated_at.is_some() {
        tracing::warn!(client = %client.id, grant = %grant.id, "refresh token reused; revoking its family");
        state.store.revoke_grant(&grant.id, now).await?;
        return Err(Error::InvalidGrant("the refresh token was already used"));
    }
    if record.expires_at <= now {
        return Err(Error::InvalidGrant("the refresh token has expired"));
    }
    let granted = Scopes::parse(&grant.scope)?;
    let family_purposes: Vec<String> =
        granted.iter().filter_map(|s| s.strip_prefix(PREFIX)).map(String::from).collect();
    let offline = granted.contains("offline_access");
    check_lifetime(state, &record, offline, now)?;
    // RFC 6749 §6: a narrower scope may be asked for, never a wider one.
    let scope = match params.get("scope") {
        Some(s) => {
            let asked = Scopes::parse(s)?;
            if !asked.is_subset_of(&granted) {
                return Err(Error::InvalidScope("the scope exceeds what was granted"));
            }
            asked
        }
        None => granted,
    };
    // RFC 8707 §2.2: a refresh may name the family's resource again, never another one.
    let audience = resource::audience(client, params, Some(grant.resource.as_str()).filter(|r| !r.is_empty()), false)?;
    let customer =
        state.store.customer(&grant.customer_id).await?.ok_or(Error::InvalidGrant("the account no longer exists"))?;
    // The consents as they stand now (a withdrawal shows in the next token); a client
    // without purposes costs no read.
    let consents = if client.purposes.is_empty() {
        Vec::new()
    } else {
        crate::consent::in_force(&state.store, &customer.id, &client.id).await?
    };
    // A purpose this family was granted and the customer has since withdrawn: no more tokens
    // from it, whatever narrower scope is asked (the app asks the customer again).
    let withdrawn = family_purposes.iter().any(|p| !consents.iter().any(|c| c.purpose == *p));
    if withdrawn {
        return Err(Error::InvalidGrant("a consent this token relied on was withdrawn"));
    }
    let next = secrets::random_token();
    let mut expires = now + state.config.refresh_token_ttl_secs * 1000;
    if offline {
        expires = expires.min(grant.created_at.saturating_add(state.config.offline_access_max_lifetime_secs * 1000));
    }
    if !state.store.rotate_refresh_token(&hash, &secrets::hash(&next), &grant.id, now, expires).await? {
        state.store.revoke_grant(&grant.id, now).await?;
        return Err(Error::InvalidGrant("the refresh token was already used"));
    }
    let sid = grant.session_id.as_deref().map(|s| crate::oidc::subject::sid(state, client, s));
    let authn = Authentication {
        auth_time_ms: grant.auth_time,
        acr: &grant.acr,
        amr: &grant.amr,
        session_id: sid.as_deref(),
        consents: &consents,
    };
    let scope_text = scope.to_string();
    let sub = crate::oidc::subject::of(state, client, &customer.id);
    let holder = TokenHolder { client_id: &client.id, sub: &sub, grant_id: &grant.id, resource: audience.as_deref() };
    let access = tokens::access_token(state, &holder, &scope_text, Some(&authn), now);
    // OIDC Core §12.2: a new ID token, without nonce, with the original auth_time.
    let id_token =
        scope.contains("openid").then(|| tokens::id_token(state, client, &customer, &scope, &authn, None, now));
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: Some(next),
        id_token,
        scope: scope_text,
    })
}

/// OpenID Connect Core §11: without `offline_access` a refresh token lives no longer than the
/// browser session it came from (ended, expired or idle past `session_idle_timeout_secs`);
/// with it, the family still ends `offline_access_max_lifetime_secs` after it was granted,
/// however often it is refreshed.
fn check_lifetime(state: &AppState, record: &RefreshTokenRecord, offline: bool, now: i64) -> Result<()> {
    if offline {
        let max = state.config.offline_access_max_lifetime_secs.saturating_mul(1000);
        if now >= record.grant.created_at.saturating_add(max) {
            return Err(Error::InvalidGrant("the offline access granted has reached its maximum lifetime"));
        }
        return Ok(());
    }
    let idle = state.config.session_idle_timeout_secs.saturating_mul(1000);
    let session_live = match (record.session_expires_at, record.session_last_seen_at) {
        (Some(expires), Some(seen)) => expires > now && now.saturating_sub(seen) <= idle,
        _ => false,
    };
    if !session_live {
        return Err(Error::InvalidGrant(
            "the sign-in this token came from has ended (ask for offline_access to outlive it)",
        ));
    }
    Ok(())
}
