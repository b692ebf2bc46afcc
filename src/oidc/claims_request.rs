//! The `claims` request parameter (OpenID Connect Core §5.5): individual claims an app asks
//! for, for the ID token or UserInfo, voluntarily or as essential. A requested claim that
//! Tessera releases is granted through the scope that carries it (Core §5.4), so it is
//! consented to like that scope, travels with refreshes, and is returned in the ID token and
//! from UserInfo; a claim the account does not have is omitted, never null. `value`/`values`
//! are acted on where they make sense: an `acr` (see `acr`) and the ID token's `sub`, which
//! names the only account that may answer (Core §3.1.2.2: like an `id_token_hint`).

use super::params::Params;
use super::scopes::{ADDRESS_CLAIMS, EMAIL_CLAIMS, PHONE_CLAIMS, PROFILE_CLAIMS};
use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// What the `claims` parameter asks for, beyond the scopes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ClaimsRequest {
    /// Scopes that carry the claims requested individually (`email`, `profile`).
    pub implied_scopes: Vec<&'static str>,
    /// `{"id_token": {"sub": {"value": …}}}`: the account the answer must be for.
    pub sub: Option<String>,
}

fn members(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flat_map(Map::iter)
}

pub fn parse(params: &Params) -> Result<ClaimsRequest> {
    let Some(text) = params.get("claims") else { return Ok(ClaimsRequest::default()) };
    let v: Value = serde_json::from_str(text).map_err(|_| Error::invalid_request("claims is not valid JSON"))?;
    if !v.is_object() {
        return Err(Error::invalid_request("claims must be a JSON object"));
    }
    let mut out = ClaimsRequest::default();
    for target in ["id_token", "userinfo"] {
        for (name, spec) in members(&v[target]) {
            if !spec.is_null() && !spec.is_object() {
                return Err(Error::invalid_request("each requested claim must be null or a JSON object"));
            }
            let scope = if EMAIL_CLAIMS.contains(&name.as_str()) {
                Some("email")
            } else if PROFILE_CLAIMS.contains(&name.as_str()) {
                Some("profile")
            } else if PHONE_CLAIMS.contains(&name.as_str()) {
                Some("phone")
            } else if ADDRESS_CLAIMS.contains(&name.as_str()) {
                Some("address")
            } else {
                None
            };
            if let Some(s) = scope.filter(|s| !out.implied_scopes.contains(s)) {
                out.implied_scopes.push(s);
            }
            if target == "id_token" && name == "sub" {
                out.sub = spec["value"].as_str().map(String::from);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(claims: &str) -> Params {
        Params::from_pairs(vec![("claims".into(), claims.into())]).unwrap()
    }

    #[test]
    fn individual_claims_imply_their_scopes_and_sub_values_are_kept() {
        let c = r#"{"userinfo":{"email":{"essential":true},"nickname":null},"id_token":{"name":null,"sub":{"value":"abc"}}}"#;
        let r = parse(&params(c)).unwrap();
        assert_eq!(r.implied_scopes, vec!["profile", "email"]);
        assert_eq!(r.sub.as_deref(), Some("abc"));
        assert_eq!(parse(&Params::default()).unwrap(), ClaimsRequest::default());
        assert!(parse(&params("nope")).is_err());
        assert!(parse(&params(r#"{"userinfo":{"email":true}}"#)).is_err());
    }
}
