//! The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.5, OIDC Core §3.1.3).
//! Codes are single-use: a second use fails and revokes what the first issued (§4.1.2).

use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::oidc::clients::Client;
use crate::oidc::params::Params;
use crate::oidc::pkce;
use crate::oidc::scopes::Scopes;
use crate::oidc::tokens::{self, Authentication, TokenResponse};
use crate::state::AppState;
use crate::store::GrantRecord;

pub async fn exchange(state: &AppState, client: &Client, params: &Params, now: i64) -> Result<TokenResponse> {
    let code = params.require("code")?;
    let code_hash = secrets::hash(code);
    let record = state.store.code(&code_hash).await?.ok_or(Error::InvalidGrant("the code is not valid"))?;
    if record.consumed_at.is_some() {
        tracing::warn!(client = %client.id, "authorization code reused; revoking its tokens");
        state.store.revoke_grant_of_code(&code_hash, now).await?;
        return Err(Error::InvalidGrant("the code was already used"));
    }
    if let Err(e) = check(client, params, &record, now) {
        state.store.burn_code(&code_hash, now).await?;
        return Err(e);
    }
    let scope = Scopes::parse(&record.scope)?;
    let customer =
        state.store.customer(&record.customer_id).await?.ok_or(Error::InvalidGrant("the account no longer exists"))?;
    let grant = GrantRecord {
        id: secrets::random_id(),
        client_id: client.id.clone(),
        customer_id: record.customer_id.clone(),
        session_id: Some(record.session_id.clone()),
        scope: record.scope.clone(),
        auth_time: record.auth_time,
        acr: record.acr.clone(),
        amr: record.amr.clone(),
        created_at: now,
        revoked_at: None,
    };
    let refresh = secrets::random_token();
    let refresh_expires = now + state.config.refresh_token_ttl_secs * 1000;
    if !state.store.redeem_code(&code_hash, &grant, &secrets::hash(&refresh), refresh_expires).await? {
        // Lost a race with another use of the same code.
        state.store.revoke_grant_of_code(&code_hash, now).await?;
        return Err(Error::InvalidGrant("the code was already used"));
    }
    let authn = Authentication {
        auth_time_ms: record.auth_time,
        acr: &record.acr,
        amr: &record.amr,
        session_id: Some(&record.session_id),
    };
    let access = tokens::access_token(state, &client.id, &customer.id, &record.scope, &grant.id, Some(&authn), now);
    let id_token = scope
        .contains("openid")
        .then(|| tokens::id_token(state, client, &customer, &scope, &authn, record.nonce.as_deref(), now));
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token: Some(refresh),
        id_token,
        scope: record.scope,
    })
}

fn check(client: &Client, params: &Params, record: &crate::store::CodeRecord, now: i64) -> Result<()> {
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
        (None, None) if client.is_public() => Err(Error::InvalidGrant("public clients must use PKCE")),
        (None, None) => Ok(()),
    }
}
