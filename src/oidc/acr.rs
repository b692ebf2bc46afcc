//! The authentication level a client asks for: `acr_values` (OpenID Connect Core
//! §3.1.2.1) and an essential `acr` claim in the `claims` parameter (§5.5.1.1). Both are
//! honoured as requirements: the weakest known value asked for is the minimum.

use crate::error::{Error, Result};
use crate::oidc::params::Params;
use crate::session::{ACR_VALUES_SUPPORTED, acr_level};
use serde_json::Value;

/// What a request asks about the authentication level.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AcrRequest {
    /// The minimum acr the session must reach, if the request names one Tessera knows.
    pub minimum: Option<String>,
    /// An essential `acr` claim with `value`/`values`: the acr released must be one of these.
    pub essential_values: Option<Vec<String>>,
}

/// The acr an authorization releases: the session's, or, when an essential `acr` claim named
/// values (Core §5.5.1.1), the strongest of those the session reaches. None reached is
/// `unmet_authentication_requirements`; an acr the client did not ask for is never released.
pub fn released(session_acr: &str, essential_values: Option<&[String]>) -> Result<String> {
    let Some(values) = essential_values else { return Ok(session_acr.to_string()) };
    let reached = acr_level(session_acr);
    values
        .iter()
        .filter(|v| acr_level(v).is_some() && acr_level(v) <= reached)
        .max_by_key(|v| acr_level(v))
        .cloned()
        .ok_or(Error::UnmetAuthenticationRequirements("the session does not reach a requested acr value"))
}

/// Unknown values are ignored; a request that names only unknown values (essentially)
/// cannot be satisfied and is reported as such.
pub fn required(params: &Params) -> Result<AcrRequest> {
    let mut asked: Vec<String> = Vec::new();
    let mut essential = false;
    let mut essential_values: Option<Vec<String>> = None;
    if let Some(values) = params.get("acr_values") {
        asked.extend(values.split(' ').filter(|v| !v.is_empty()).map(String::from));
    }
    if let Some(claims) = params.get("claims") {
        let v: Value = serde_json::from_str(claims).map_err(|_| Error::invalid_request("claims is not valid JSON"))?;
        if !v.is_object() {
            return Err(Error::invalid_request("claims must be a JSON object"));
        }
        let acr = &v["id_token"]["acr"];
        if acr.is_object() {
            essential = acr["essential"] == Value::Bool(true);
            let mut named: Vec<String> = Vec::new();
            if let Some(one) = acr["value"].as_str() {
                named.push(one.to_string());
            }
            if let Some(many) = acr["values"].as_array() {
                named.extend(many.iter().filter_map(|x| x.as_str().map(String::from)));
            }
            if essential && !named.is_empty() {
                essential_values = Some(named.clone());
            }
            asked.extend(named);
        }
    }
    if asked.is_empty() {
        return Ok(AcrRequest::default());
    }
    let weakest = asked.iter().filter_map(|a| acr_level(a)).min();
    match weakest {
        Some(level) => Ok(AcrRequest { minimum: Some(ACR_VALUES_SUPPORTED[level].to_string()), essential_values }),
        None if essential => Err(Error::UnmetAuthenticationRequirements("no requested acr value is supported")),
        None => Ok(AcrRequest::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()).unwrap()
    }

    #[test]
    fn the_weakest_known_value_is_the_minimum() {
        let p = params(&[("acr_values", "urn:other urn:tessera:acr:passkey urn:tessera:acr:mfa")]);
        assert_eq!(required(&p).unwrap().minimum.as_deref(), Some("urn:tessera:acr:mfa"));
        assert_eq!(required(&p).unwrap().essential_values, None, "acr_values are voluntary");
        assert_eq!(required(&params(&[])).unwrap(), AcrRequest::default());
        assert_eq!(required(&params(&[("acr_values", "urn:other")])).unwrap(), AcrRequest::default());
    }

    #[test]
    fn essential_claims_are_honoured() {
        let c = r#"{"id_token":{"acr":{"essential":true,"values":["urn:tessera:acr:passkey"]}}}"#;
        assert_eq!(required(&params(&[("claims", c)])).unwrap().minimum.as_deref(), Some("urn:tessera:acr:passkey"));
        let unknown = r#"{"id_token":{"acr":{"essential":true,"value":"urn:nobody"}}}"#;
        assert!(matches!(required(&params(&[("claims", unknown)])), Err(Error::UnmetAuthenticationRequirements(_))));
        assert!(matches!(required(&params(&[("claims", "[1]")])), Err(Error::InvalidRequest(_))));
    }

    #[test]
    fn the_released_acr_is_a_requested_value_the_session_reaches() {
        let (email, mfa, passkey) = ("urn:tessera:acr:email", "urn:tessera:acr:mfa", "urn:tessera:acr:passkey");
        assert_eq!(released(passkey, None).unwrap(), passkey);
        let asked = vec![email.to_string(), mfa.to_string(), "urn:other".to_string()];
        assert_eq!(released(passkey, Some(&asked)).unwrap(), mfa, "the strongest requested, not the session's");
        assert_eq!(released(email, Some(&asked)).unwrap(), email);
        let only_mfa = vec![mfa.to_string()];
        assert!(matches!(released(email, Some(&only_mfa)), Err(Error::UnmetAuthenticationRequirements(_))));
    }
}
