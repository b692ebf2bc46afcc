//! Extractors for the OAuth endpoints, so that a bad request gets the JSON error of RFC 6749
//! §5.2 and never the framework's plain-text rejection.

use super::responses;
use crate::error::Error;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use axum::response::Response;

type Pairs = Vec<(String, String)>;

/// Whether the request says its body is `application/x-www-form-urlencoded` (media types
/// are case-insensitive, RFC 9110 §8.3.1; a charset parameter may follow).
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

fn parse(body: &[u8]) -> Result<Pairs, Error> {
    if std::str::from_utf8(body).is_err() {
        return Err(Error::invalid_request("the request body is not valid UTF-8"));
    }
    Ok(url::form_urlencoded::parse(body).into_owned().collect())
}

/// The form body of `/token`, `/introspect` and `/revoke` (RFC 6749 §3.2, RFC 7662 §2.1,
/// RFC 7009 §2.1): `application/x-www-form-urlencoded`, or the JSON `invalid_request`.
pub struct OAuthForm(pub Pairs);

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_form(req.headers()) {
            let e = Error::invalid_request("the body must be application/x-www-form-urlencoded");
            return Err(responses::oauth_json(e));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| responses::oauth_json(Error::invalid_request("the request body could not be read")))?;
        parse(&body).map(OAuthForm).map_err(responses::oauth_json)
    }
}

/// A UserInfo request (OpenID Connect Core §5.3.1): the access token in the `Authorization`
/// header (any body, or none, with any content type or none), or as `access_token` in a form
/// body (RFC 6750 §2.2). `Err` holds an error for the bearer challenge.
pub struct UserInfoRequest(pub Result<Option<String>, Error>);

impl<S: Send + Sync> FromRequest<S> for UserInfoRequest {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let in_header = bearer_token(req.headers()).map(String::from);
        let form = is_form(req.headers());
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| responses::bearer(Error::invalid_request("the request body could not be read")))?;
        let in_body = if form {
            match parse(&body) {
                Ok(pairs) => pairs.into_iter().find(|(k, _)| k == "access_token").map(|(_, v)| v),
                Err(e) => return Ok(UserInfoRequest(Err(e))),
            }
        } else {
            None
        };
        Ok(UserInfoRequest(match (in_header, in_body) {
            (Some(_), Some(_)) => Err(Error::invalid_request("send the access token one way, not two")),
            (h, b) => Ok(h.or(b)),
        }))
    }
}

/// The token of an `Authorization: Bearer …` header; the scheme is case-insensitive
/// (RFC 7235 §2.1, RFC 6750 §2.1).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        for (value, want) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
        ] {
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(bearer_token(&h), want, "{value}");
        }
    }

    #[test]
    fn form_media_types_are_case_insensitive_with_parameters() {
        let mut h = HeaderMap::new();
        assert!(!is_form(&h));
        h.insert(header::CONTENT_TYPE, "Application/X-WWW-Form-Urlencoded; charset=UTF-8".parse().unwrap());
        assert!(is_form(&h));
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(!is_form(&h));
    }
}
