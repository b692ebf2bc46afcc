//! Minting and checking tokens: ID tokens (OpenID Connect Core §2), JWT access tokens
//! (RFC 9068), and the claims each scope releases (OIDC Core §5.4).

use super::clients::Client;
use super::scopes::Scopes;
use crate::consent::ConsentClaim;
use crate::crypto::jwt::{self, TYP_ACCESS_TOKEN, TYP_JWT};
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{CustomerRecord, TokenStanding};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// How the person authenticated, carried from session to code to token family.
pub struct Authentication<'a> {
    pub auth_time_ms: i64,
    pub acr: &'a str,
    pub amr: &'a str,
    pub session_id: Option<&'a str>,
    /// The purposes granted to the client (the `consents` claim).
    pub consents: &'a [ConsentClaim],
}

/// RFC 9068 §2.2 claims, plus `gid`: the token family, so revoking it reaches this token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gid: String,
    /// The purposes granted to the client when the token was issued (`consents`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consents: Vec<ConsentClaim>,
}

/// Whom an access token is for: the client, the subject (the client itself for
/// client_credentials, RFC 9068 §2.2), the token family (empty when there is none), and the
/// RFC 8707 resource it may be used at (`None`: the issuer's own endpoints).
pub struct TokenHolder<'a> {
    pub client_id: &'a str,
    pub sub: &'a str,
    pub grant_id: &'a str,
    pub resource: Option<&'a str>,
}

pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: i64,
}

fn amr_list(amr: &str) -> Vec<String> {
    amr.split(' ').filter(|s| !s.is_empty()).map(String::from).collect()
}

pub fn access_token(
    state: &AppState,
    holder: &TokenHolder<'_>,
    scope: &str,
    authn: Option<&Authentication<'_>>,
    now: i64,
) -> IssuedAccessToken {
    let ttl = state.config.access_token_ttl_secs;
    let claims = AccessTokenClaims {
        iss: state.config.issuer.clone(),
        sub: holder.sub.to_string(),
        // RFC 8707 §2: the resource the client asked for; otherwise Tessera's own (UserInfo).
        aud: holder.resource.unwrap_or(&state.config.issuer).to_string(),
        exp: now / 1000 + ttl,
        iat: now / 1000,
        jti: secrets::random_id(),
        client_id: holder.client_id.to_string(),
        scope: scope.to_string(),
        auth_time: authn.map(|a| a.auth_time_ms / 1000),
        acr: authn.map(|a| a.acr.to_string()),
        amr: authn.map(|a| amr_list(a.amr)),
        sid: authn.and_then(|a| a.session_id.map(String::from)),
        gid: holder.grant_id.to_string(),
        consents: authn.map(|a| a.consents.to_vec()).unwrap_or_default(),
    };
    let ring = state.keys.at(now);
    let key = ring.current(ring.default_alg);
    let token = jwt::encode(key, TYP_ACCESS_TOKEN, &claims);
    // Valid by construction: the app's first resource call with it (UserInfo, right after the
    // code exchange) then costs this node no signature verification.
    state.verified_tokens.put(&token, &claims, &key.kid, now / 1000);
    IssuedAccessToken { token, expires_in: ttl }
}

/// Claims about the customer that `scope` releases (OIDC Core §5.4), under the `sub` the
/// client knows them by (§8).
pub fn customer_claims(customer: &CustomerRecord, sub: &str, scope: &Scopes) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("sub".into(), json!(sub));
    if scope.contains("email") {
        c.insert("email".into(), json!(customer.email));
        c.insert("email_verified".into(), json!(customer.email_verified != 0));
    }
    if scope.contains("profile") {
        for (k, v) in
            [("name", &customer.name), ("given_name", &customer.given_name), ("family_name", &customer.family_name)]
        {
            if let Some(v) = v {
                c.insert(k.into(), json!(v));
            }
        }
        if let Some(b) = &customer.birthdate {
            c.insert("birthdate".into(), json!(b));
        }
        c.insert("updated_at".into(), json!(customer.updated_at / 1000));
    }
    // Core §5.4: phone and address. A number given on the consent screen is not verified.
    if scope.contains("phone")
        && let Some(p) = &customer.phone_number
    {
        c.insert("phone_number".into(), json!(p));
        c.insert("phone_number_verified".into(), json!(false));
    }
    if scope.contains("address")
        && let Some(a) = customer.address.as_deref().and_then(|a| serde_json::from_str::<Value>(a).ok())
    {
        c.insert("address".into(), a);
    }
    c
}

/// OIDC Core §2 and §3.1.3.6.
pub fn id_token(
    state: &AppState,
    client: &Client,
    customer: &CustomerRecord,
    scope: &Scopes,
    authn: &Authentication<'_>,
    nonce: Option<&str>,
    now: i64,
) -> String {
    let mut c = customer_claims(customer, &super::subject::of(state, client, &customer.id), scope);
    c.insert("iss".into(), json!(state.config.issuer));
    c.insert("aud".into(), json!(client.id));
    c.insert("azp".into(), json!(client.id));
    c.insert("iat".into(), json!(now / 1000));
    c.insert("exp".into(), json!(now / 1000 + state.config.id_token_ttl_secs));
    c.insert("auth_time".into(), json!(authn.auth_time_ms / 1000));
    c.insert("acr".into(), json!(authn.acr));
    c.insert("amr".into(), json!(amr_list(authn.amr)));
    if let Some(sid) = authn.session_id {
        c.insert("sid".into(), json!(sid));
    }
    if !authn.consents.is_empty() {
        c.insert("consents".into(), json!(authn.consents));
    }
    if let Some(n) = nonce {
        c.insert("nonce".into(), json!(n));
    }
    let ring = state.keys.at(now);
    jwt::encode(ring.current(client.id_token_alg.unwrap_or(ring.default_alg)), TYP_JWT, &Value::Object(c))
}

/// A token is only as good as its client (issue: deleting a client must end its tokens at
/// once): a deleted client's tokens are inactive, and a client's own token (client_credentials,
/// RFC 9068 §2.2: `sub` is the client, no token family) keeps only scopes the client still holds.
pub fn check_token_client(claims: &AccessTokenClaims, standing: &TokenStanding) -> Result<()> {
    let Some(allowed) = standing.client_scopes.as_deref() else {
        return Err(Error::InvalidToken("the client of this token no longer exists"));
    };
    let own_token = claims.gid.is_empty() && claims.sub == claims.client_id;
    if own_token && !claims.scope.split(' ').filter(|s| !s.is_empty()).all(|s| allowed.split(' ').any(|a| a == s)) {
        return Err(Error::InvalidToken("the client no longer holds this token's scope"));
    }
    Ok(())
}

/// Check an access token's signature, type, issuer, audience and expiry, that neither it
/// nor its family was revoked, and that its client still exists and holds its scope.
pub async fn verify_access_token(state: &AppState, token: &str, now: i64) -> Result<AccessTokenClaims> {
    let claims = check_access_token(state, token, now)?;
    check_standing(state, claims).await
}

/// Like `verify_access_token`, for any audience: introspection and revocation speak about
/// tokens for other resources too (RFC 7662 §2.2, RFC 7009 §2.1).
pub async fn verify_access_token_any_audience(state: &AppState, token: &str, now: i64) -> Result<AccessTokenClaims> {
    let claims = check_signed_access_token(state, token, now)?;
    check_standing(state, claims).await
}

async fn check_standing(state: &AppState, claims: AccessTokenClaims) -> Result<AccessTokenClaims> {
    let standing =
        state.store.access_token_standing(&claims.jti, &claims.gid, &claims.client_id, claims.iat * 1000).await?;
    if standing.revoked {
        return Err(Error::InvalidToken("the access token was revoked"));
    }
    check_token_client(&claims, &standing)?;
    Ok(claims)
}

/// Signature, type, issuer, audience and expiry (RFC 9068 §4), without the revocation check
/// (the caller makes it, possibly in the same query as other reads).
pub fn check_access_token(state: &AppState, token: &str, now: i64) -> Result<AccessTokenClaims> {
    let claims = check_signed_access_token(state, token, now)?;
    // RFC 9068 §4 / RFC 8707 §2: a token for another resource is not accepted here.
    if claims.aud != state.config.issuer {
        return Err(Error::InvalidToken("the access token is for another resource"));
    }
    Ok(claims)
}

/// Signature, type, issuer and expiry; the audience is the caller's to check.
fn check_signed_access_token(state: &AppState, token: &str, now: i64) -> Result<AccessTokenClaims> {
    let ring = state.keys.at(now);
    // A remembered token counts only while the key that signed it is still published: a
    // revoked key's tokens are refused at once (issue #15).
    if let Some((claims, kid)) = state.verified_tokens.get(token, now / 1000) {
        if ring.find(&kid).is_some() {
            return Ok(claims);
        }
        return Err(Error::InvalidToken("the access token is not valid"));
    }
    let (header, claims): (_, AccessTokenClaims) =
        jwt::decode(&ring, token).map_err(|_| Error::InvalidToken("the access token is not valid"))?;
    if header.typ != TYP_ACCESS_TOKEN || claims.iss != state.config.issuer {
        return Err(Error::InvalidToken("the access token is not valid"));
    }
    if claims.exp <= now / 1000 {
        return Err(Error::InvalidToken("the access token has expired"));
    }
    state.verified_tokens.put(token, &claims, &header.kid, now / 1000);
    Ok(claims)
}

/// RFC 6749 §5.1 successful response. (`Debug` below never prints the tokens.)
#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |t: &Option<String>| t.as_ref().map(|_| "[redacted]");
        f.debug_struct("TokenResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &shown(&self.refresh_token))
            .field("id_token", &shown(&self.id_token))
            .field("scope", &self.scope)
            .finish()
    }
}
