//! Cookies: `__Host-` prefixed and `Secure` when the issuer is https; plain names for
//! http://localhost development. Always HttpOnly and Path=/; SameSite=Lax, except the session
//! cookie on https (None: an app's form_post and cross-site sign-in keep the session) and the
//! cookies of `set_cross_site`.

use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "tessera_session";
pub const CSRF: &str = "tessera_csrf";
pub const SIGN_IN: &str = "tessera_signin";
/// The id of a passkey ceremony in progress (WebAuthn state stays on the server).
pub const WEBAUTHN: &str = "tessera_webauthn";
/// A sign-in or step-up waiting for its second factor.
pub const SECOND_STEP: &str = "tessera_2fa";
/// Binds an upstream provider's answer to the browser that went there.
pub const FEDERATION: &str = "tessera_fed";
/// An upstream identity waiting for the customer to prove the account it will be linked to.
pub const FEDERATION_LINK: &str = "tessera_fedlink";

/// The page of the account area a step-up returns to (`/account…` only).
pub const NEXT: &str = "tessera_next";

/// The cookie name as sent to browsers for this deployment.
pub fn name(base: &str, secure: bool) -> String {
    if secure { format!("__Host-{base}") } else { base.to_string() }
}

/// The value of cookie `base` in the request, if present.
pub fn get<'a>(headers: &'a HeaderMap, base: &str, secure: bool) -> Option<&'a str> {
    let wanted = name(base, secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == wanted)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value. `max_age_secs = None` makes a browser-session cookie; `Some(0)` deletes.
///
/// On https the session cookie is `SameSite=None`: an app may send the authorization request
/// as a cross-site POST (OpenID Connect Core §3.1.2.1), and `prompt=none` must then see the
/// session. Every form that changes something checks a CSRF token, and the token endpoints
/// do not read cookies, so a cross-site request carrying the session can only ask for a code
/// delivered to a registered redirect URI.
pub fn set(base: &str, value: &str, max_age_secs: Option<i64>, secure: bool) -> HeaderValue {
    let same_site = if secure && base == SESSION { "None" } else { "Lax" };
    let mut c = format!("{}={value}; Path=/; HttpOnly; SameSite={same_site}", name(base, secure));
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age_secs {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).expect("cookie values are base64url")
}

/// A cookie that must come back on a cross-site POST (an upstream provider answering with
/// response_mode=form_post): SameSite=None, which browsers accept only with Secure, so on
/// plain-http development it falls back to Lax.
pub fn set_cross_site(base: &str, value: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    if !secure {
        return set(base, value, Some(max_age_secs), false);
    }
    let c = format!("{}={value}; Path=/; HttpOnly; SameSite=None; Secure; Max-Age={max_age_secs}", name(base, true));
    HeaderValue::from_str(&c).expect("cookie values are base64url")
}

pub fn delete(base: &str, secure: bool) -> HeaderValue {
    set(base, "", Some(0), secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_prefix_on_https_only() {
        assert_eq!(name(SESSION, true), "__Host-tessera_session");
        let v = set(SESSION, "abc", None, true);
        assert_eq!(v, "__Host-tessera_session=abc; Path=/; HttpOnly; SameSite=None; Secure", "cross-site POSTs");
        assert_eq!(set(SESSION, "abc", None, false), "tessera_session=abc; Path=/; HttpOnly; SameSite=Lax");
        assert_eq!(set(CSRF, "abc", None, true), "__Host-tessera_csrf=abc; Path=/; HttpOnly; SameSite=Lax; Secure");
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; tessera_session=xyz"));
        assert_eq!(get(&h, SESSION, false), Some("xyz"));
        assert_eq!(get(&h, SESSION, true), None);
        let cross = set_cross_site(FEDERATION, "b", 600, true);
        assert_eq!(cross, "__Host-tessera_fed=b; Path=/; HttpOnly; SameSite=None; Secure; Max-Age=600");
        assert!(set_cross_site(FEDERATION, "b", 600, false).to_str().unwrap().contains("SameSite=Lax"));
    }
}
