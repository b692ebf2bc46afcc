//! Resource indicators (RFC 8707): a client names the protected resource it wants an access
//! token for, and the token's `aud` is that resource instead of the issuer. Only resources
//! registered for the client can be named (`tessera client create --resource URI`); anything
//! else is `invalid_target` (§2). One resource per request: OAuth parameters appear at most
//! once here (RFC 6749 §3.1), and a token has one audience.

use crate::error::{Error, Result};
use crate::oidc::clients::Client;
use crate::oidc::params::Params;

/// RFC 8707 §2: an absolute URI without a fragment. (Checked at registration; a request must
/// then name one of the registered values exactly.)
pub fn check_registrable(uri: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::bad_input(format!("resource {uri:?} {why}")));
    match url::Url::parse(uri) {
        Err(_) => bad("is not an absolute URI"),
        Ok(u) if u.fragment().is_some() => bad("must not contain a fragment (RFC 8707 §2)"),
        Ok(_) => Ok(()),
    }
}

/// The authorization request's `resource` (RFC 8707 §2.1), if any, registered for the client.
pub fn requested(client: &Client, params: &Params) -> Result<Option<String>> {
    match params.get("resource") {
        None => Ok(None),
        Some(r) if client.resources.iter().any(|c| c == r) => Ok(Some(r.to_string())),
        Some(_) => Err(Error::InvalidTarget("the resource is not registered for this client")),
    }
}

/// The audience of an access token from the token endpoint (RFC 8707 §2.2). `granted` is the
/// resource the authorization (or token family) was for: the token request may name it again
/// or leave it out, but not name another. `None` as granted means the issuer's own resources,
/// unless `any_registered` (client_credentials: there is no earlier authorization).
pub fn audience(
    client: &Client,
    params: &Params,
    granted: Option<&str>,
    any_registered: bool,
) -> Result<Option<String>> {
    let Some(asked) = params.get("resource") else {
        return Ok(granted.map(String::from));
    };
    let allowed = if any_registered { client.resources.iter().any(|r| r == asked) } else { granted == Some(asked) };
    if allowed {
        Ok(Some(asked.to_string()))
    } else {
        Err(Error::InvalidTarget("the resource was not granted to this client"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_resources_are_absolute_uris_without_fragment_rfc8707_s2() {
        assert!(check_registrable("https://api.example/orders").is_ok());
        assert!(check_registrable("urn:example:orders").is_ok());
        assert!(check_registrable("/orders").is_err());
        assert!(check_registrable("https://api.example/#x").is_err());
    }
}
