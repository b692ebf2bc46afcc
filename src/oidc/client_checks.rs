//! What a client registration must satisfy: redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7),
//! back-channel logout URIs, CORS origins, and the grants it asks for.

use super::clients::NewClient;
use super::grants::GrantType;
use crate::error::{Error, Result};

/// A redirect URI must be absolute without a fragment (RFC 6749 §3.1.2); plain http only
/// for loopback; private-use schemes (RFC 8252 §7.1) are allowed for native apps.
pub fn check_redirect_uri(uri: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::bad_input(format!("redirect URI {uri:?} {why}")));
    let Ok(u) = url::Url::parse(uri) else {
        return bad("is not an absolute URL");
    };
    if u.fragment().is_some() {
        return bad("must not contain a fragment");
    }
    match u.scheme() {
        "https" => Ok(()),
        "http" if matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")) => Ok(()),
        "http" => bad("must use https (http only for localhost)"),
        s if s.contains('.') => Ok(()),
        _ => bad("must use https or a private-use scheme like com.example.app"),
    }
}

/// Back-Channel Logout 1.0 §2.2: an absolute URL without a fragment; https except on loopback.
pub fn check_backchannel_uri(uri: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::bad_input(format!("back-channel logout URI {uri:?} {why}")));
    let Ok(u) = url::Url::parse(uri) else {
        return bad("is not an absolute URL");
    };
    if u.fragment().is_some() {
        return bad("must not have a fragment");
    }
    let loopback = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => bad("must use https (http only on loopback)"),
    }
}

/// What each grant needs (RFC 6749 §4.1, §4.4, §6): a redirect URI for the code flow, a
/// secret for client_credentials, and refresh tokens only come from a code exchange.
pub fn check_grant_types(new: &NewClient) -> Result<()> {
    let has = |g| new.grant_types.contains(&g);
    if new.grant_types.is_empty() {
        return Err(Error::bad_input("give at least one grant type"));
    }
    if !new.allowed_scopes.is_empty() && !has(GrantType::ClientCredentials) {
        return Err(Error::bad_input(
            "scopes are for the client_credentials grant: add --grant-type client_credentials",
        ));
    }
    if has(GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
        return Err(Error::bad_input("the authorization_code grant needs at least one redirect URI"));
    }
    if has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode) {
        return Err(Error::bad_input("refresh_token comes with authorization_code (refresh tokens come from it)"));
    }
    if has(GrantType::ClientCredentials) && new.public {
        return Err(Error::bad_input("a public client cannot use client_credentials (it has no secret)"));
    }
    Ok(())
}

/// A CORS origin (RFC 6454 §6.2): scheme, host and port only; https except on loopback.
pub fn check_origin(origin: &str) -> Result<String> {
    let bad = || Error::bad_input(format!("allowed origin {origin:?} must be like https://app.example (no path)"));
    let u = url::Url::parse(origin).map_err(|_| bad())?;
    let serialized = super::cors::origin_of(origin).ok_or_else(bad)?;
    if u.path() != "/" || u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() {
        return Err(bad());
    }
    check_redirect_uri(&serialized).map_err(|_| bad())?;
    Ok(serialized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        assert!(check_redirect_uri("https://shop.example/cb").is_ok());
        assert!(check_redirect_uri("http://localhost:3000/cb").is_ok());
        assert!(check_redirect_uri("com.example.app:/cb").is_ok());
        assert!(check_redirect_uri("http://shop.example/cb").is_err());
        assert!(check_redirect_uri("https://shop.example/cb#x").is_err());
        assert!(check_redirect_uri("/cb").is_err());
        assert!(check_redirect_uri("javascript:alert(1)").is_err());
    }

    /// Fetch Standard §3.2.1 / RFC 6454 §6.2: an origin is scheme, host and port.
    #[test]
    fn allowed_origins_are_origins_rfc6454_s6_2() {
        assert_eq!(check_origin("https://spa.example").unwrap(), "https://spa.example");
        assert_eq!(check_origin("https://spa.example:443/").unwrap(), "https://spa.example");
        assert_eq!(check_origin("http://localhost:5173").unwrap(), "http://localhost:5173");
        assert!(check_origin("https://spa.example/app").is_err());
        assert!(check_origin("http://spa.example").is_err());
        assert!(check_origin("*").is_err());
    }
}
