//! The authentication level a client asks for: `acr_values` (OpenID Connect Core
//! §3.1.2.1) and an essential `acr` claim in the `claims` parameter (§5.5.1.1). Both are
//! honoured as requirements: the weakest known value asked for is the minimum.

use crate::error::{Error, Result};
use crate::login::session::{ACR_VALUES_SUPPORTED, acr_level};
use crate::oidc::params::Params;
use serde_json::Value;

/// The minimum acr the session must reach, if the request names one Tessera knows.
/// Unknown values are ignored; a request that names only unknown values (essentially)
/// cannot be satisfied and is reported as such.
pub fn required(params: &Params) -> Result<Option<String>> {
    let mut asked: Vec<String> = Vec::new();
    let mut essential = false;
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
            if let Some(one) = acr["value"].as_str() {
                asked.push(one.to_string());
            }
            if let Some(many) = acr["values"].as_array() {
                asked.extend(many.iter().filter_map(|x| x.as_str().map(String::from)));
            }
        }
    }
    if asked.is_empty() {
        return Ok(None);
    }
    let weakest = asked.iter().filter_map(|a| acr_level(a)).min();
    match weakest {
        Some(level) => Ok(Some(ACR_VALUES_SUPPORTED[level].to_string())),
        None if essential => Err(Error::UnmetAuthenticationRequirements("no requested acr value is supported")),
        None => Ok(None),
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
        assert_eq!(required(&p).unwrap().as_deref(), Some("urn:tessera:acr:mfa"));
        assert_eq!(required(&params(&[])).unwrap(), None);
        assert_eq!(required(&params(&[("acr_values", "urn:other")])).unwrap(), None);
    }

    #[test]
    fn essential_claims_are_honoured() {
        let c = r#"{"id_token":{"acr":{"essential":true,"values":["urn:tessera:acr:passkey"]}}}"#;
        assert_eq!(required(&params(&[("claims", c)])).unwrap().as_deref(), Some("urn:tessera:acr:passkey"));
        let unknown = r#"{"id_token":{"acr":{"essential":true,"value":"urn:nobody"}}}"#;
        assert!(matches!(required(&params(&[("claims", unknown)])), Err(Error::UnmetAuthenticationRequirements(_))));
        assert!(matches!(required(&params(&[("claims", "[1]")])), Err(Error::InvalidRequest(_))));
    }
}
