//! Authorization responses back to the client: query string (RFC 6749 §4.1.2) or form post
//! (OAuth 2.0 Form Post Response Mode), always with `iss` (RFC 9207 §2).

use crate::error::Error;
use crate::state::AppState;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    FormPost,
}

impl ResponseMode {
    pub fn parse(s: Option<&str>) -> Option<ResponseMode> {
        match s {
            None | Some("query") => Some(ResponseMode::Query),
            Some("form_post") => Some(ResponseMode::FormPost),
            _ => None,
        }
    }
}

/// A response for a client whose redirect URI has been checked against its registration.
/// (`Debug` below leaves out the authorization code.)
pub struct AuthorizationResponse {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub params: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for AuthorizationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let params: Vec<(&str, &str)> =
            self.params.iter().map(|(k, v)| (*k, if *k == "code" { "[redacted]" } else { v.as_str() })).collect();
        f.debug_struct("AuthorizationResponse")
            .field("redirect_uri", &self.redirect_uri)
            .field("mode", &self.mode)
            .field("params", &params)
            .finish()
    }
}

impl AuthorizationResponse {
    /// The redirect URI with the parameters appended to any query it already has.
    pub fn location(&self) -> String {
        let mut url = match url::Url::parse(&self.redirect_uri) {
            Ok(u) => u,
            Err(_) => return self.redirect_uri.clone(),
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in &self.params {
                q.append_pair(k, v);
            }
        }
        url.to_string()
    }
}

/// RFC 6749 §4.1.2.1 error response, with `iss` (RFC 9207 §2).
pub fn error_response(
    state: &AppState,
    redirect_uri: &str,
    mode: ResponseMode,
    st: Option<&str>,
    e: &Error,
) -> AuthorizationResponse {
    match e {
        Error::Internal(cause) => tracing::error!(error = %format!("{cause:#}"), "authorization failed"),
        Error::Unavailable(cause) => {
            tracing::warn!(error = %format!("{cause:#}"), "authorization failed: a service is down")
        }
        _ => {}
    }
    let mut params = vec![("error", e.oauth_code().to_string()), ("error_description", e.description().into_owned())];
    if let Some(s) = st {
        params.push(("state", s.to_string()));
    }
    params.push(("iss", state.config.issuer.clone()));
    AuthorizationResponse { redirect_uri: redirect_uri.to_string(), mode, params }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_keeps_existing_query() {
        let r = AuthorizationResponse {
            redirect_uri: "https://app.example/cb?x=1".into(),
            mode: ResponseMode::Query,
            params: vec![("code", "a b".into()), ("state", "s".into())],
        };
        assert_eq!(r.location(), "https://app.example/cb?x=1&code=a+b&state=s");
        let shown = format!("{r:?}");
        assert!(shown.contains("\"s\"") && !shown.contains("a b"), "{shown}");
        assert_eq!(ResponseMode::parse(Some("fragment")), None);
    }
}
