//! The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.5, OIDC Core §3.1.3).
//! Codes are single-use: a second use fails and revokes what the first issued (§4.1.2).

use crate::crypto::secrets;
use crate::ephemeral::{Key, Space};
use crate::error::{Error, Result};
use crate::oidc::clients::Client;
use crate::oidc::grants::{GrantType, resource};
use crate::oidc::params::Params;
use crate::oidc::pkce;
use crate::oidc::scopes::Scopes;
use crate::oidc::tokens::{self, Authentication, TokenHolder, TokenResponse};
use crate::state::AppState;
use crate::store::GrantRecord;
use serde::{Deserialize, Serialize};

/// An issued authorization code, kept in the ephemeral store under the hash of the code for
/// its short life (`code_ttl_secs`, 60 s by default): it costs the database nothing, and
/// taking it from the store is what makes it single-use.
#[derive(Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub customer_id: String,
    pub session_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub acr: String,
    pub amr: String,
    pub expires_at: i64,
    /// RFC 8707 §2.1: the resource the authorization request named, if any.
    #[serde(default)]
    pub resource: Option<String>,
    /// The purposes granted to the client when the code was issued.
    #[serde(default)]
    pub consents: Vec<crate::consent::ConsentClaim>,
}

fn code_key(code_hash: &str) -> Key {
    Space::AuthorizationCode.key(code_hash)
}

/// Remembers a redeemed code (and the family it opened) long enough to catch a second use.
fn used_key(code_hash: &str) -> Key {
    Space::RedeemedCode.key(code_hash)
}

/// Store a new code; returns the code for the redirect.
pub async fn issue(state: &AppState, code: &AuthorizationCode) -> Result<String> {
    let value = secrets::random_token();
    let ttl = state.config.code_ttl_secs;
    state.ephemeral.put_json(&code_key(&secrets::hash(&value)), code, ttl).await?;
    Ok(value)
}

pub async fn exchange(state: &AppState, client: &Client, params: &Params, now: i64) -> Result<TokenResponse> {
    let code = params.require("code")?;
    let code_hash = secrets::hash(code);
    let Some(record) = state.ephemeral.take_json::<AuthorizationCode>(&code_key(&code_hash)).await? else {
        if let Some(grant_id) = state.ephemeral.get(&used_key(&code_hash)).await? {
            tracing::warn!(client = %client.id, "authorization code reused; revoking its tokens");
            state.store.revoke_grant(&grant_id, now).await?;
            return Err(Error::InvalidGrant("the code was already used"));
        }
        return Err(Error::InvalidGrant("the code is not valid"));
    };
    // Taken: from here on the code is spent, whether the checks pass or not.
    check(client, params, &record, now)?;
    // RFC 8707 §2.2: the token request may repeat the authorized resource, not name another.
    let audience = resource::audience(client, params, record.resource.as_deref(), false)?;
    let grant_id = secrets::random_id();
    // Remembered for 10 times the code's life: a replay within it revokes the family.
    let remember = state.config.code_ttl_secs * 10;
    state.ephemeral.put(&used_key(&code_hash), grant_id.clone(), remember).await?;
    let scope = Scopes::parse(&record.scope)?;
    let customer =
        state.store.customer(&record.customer_id).await?.ok_or(Error::InvalidGrant("the account no longer exists"))?;
    let grant = GrantRecord {
        id: grant_id,
        client_id: client.id.clone(),
        customer_id: record.customer_id.clone(),
        session_id: Some(record.session_id.clone()),
        scope: record.scope.clone(),
        auth_time: record.auth_time,
        acr: record.acr.clone(),
        amr: record.amr.clone(),
        created_at: now,
        revoked_at: None,
        resource: record.resource.clone().unwrap_or_default(),
    };
    let refresh = secrets::random_token();
    let refresh_expires = now + state.config.refresh_token_ttl_secs * 1000;
    state.store.open_grant(&grant, &secrets::hash(&refresh), refresh_expires).await?;
    // A client not registered for refresh_token gets none (RFC 6749 §5.1: it is optional); the
    // family still exists, so revoking it reaches the access token.
    let refresh = client.may_use(GrantType::RefreshToken).is_ok().then_some(refresh);
    let sid = crate::oidc::subject::sid(state, client, &record.session_id);
    let authn = Authentication {
        auth_time_ms: record.auth_time,
        acr: &record.acr,
        amr: &record.amr,
        session_id: Some(&sid),
        consents: &record.consents,
    };
    let sub = crate::oidc::subject::of(state, client, &customer.id);
    let holder = TokenHolder { client_id: &client.id, sub: &sub, grant_id: &grant.id, resource: audience.as_deref() };
    let access = tokens::access_token(state, &holder, &record.scope, Some(&authn), now);
    let id_token = scope
        .contains("openid")
        .then(|| tokens::id_token(state, client, &customer, &scope, &authn, record.nonce.as_deref(), now));
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: refresh,
        id_token,
        scope: record.scope,
    })
}

fn check(client: &Client, params: &Params, record: &AuthorizationCode, now: i64) -> Result<()> {
    if record.client_id != client.id {
        return Err(Error::InvalidGrant("the code was issued to another client"));
    }
    if record.expires_at <= now {
        return Err(Error::InvalidGrant("the code has expired"));
    }
    // RFC 6749 §4.1.3: redirect_uri must be identical to the one in the authorization request.
    if params.get("redirect_uri") != Some(record.redirect_uri.as_str()) {
        return Err(Error::InvalidGrant("redirect_uri does not match the authorization request"));
    }
    match (&record.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => Ok(()),
        (Some(_), Some(_)) => Err(Error::InvalidGrant("the code_verifier does not match the code_challenge")),
        (Some(_), None) => Err(Error::InvalidGrant("the code_verifier is missing")),
        // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(Error::InvalidGrant("a code_verifier was sent but no code_challenge was used")),
        (None, None) if client.is_public() || !client.pkce_optional => Err(Error::InvalidGrant("PKCE is required")),
        (None, None) => Ok(()),
    }
}
