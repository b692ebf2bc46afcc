//! What went wrong, in the words of the specs. `web/responses.rs` renders an `Error` once per
//! audience: RFC 6749 §5.2 JSON for clients, an authorization-response redirect
//! (RFC 6749 §4.1.2.1) once client and redirect URI are trusted, or a human page.

use std::borrow::Cow;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid_request: {0}")]
    InvalidRequest(Cow<'static, str>),
    #[error("invalid_client: {0}")]
    InvalidClient(&'static str),
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(&'static str),
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error("unsupported_response_type")]
    UnsupportedResponseType,
    #[error("invalid_scope: {0}")]
    InvalidScope(&'static str),
    /// RFC 8707 §2: the requested resource is not registered for the client.
    #[error("invalid_target: {0}")]
    InvalidTarget(&'static str),
    #[error("access_denied: {0}")]
    AccessDenied(&'static str),
    /// OpenID Connect Core 1.0 §3.1.2.6
    #[error("login_required")]
    LoginRequired,
    #[error("consent_required")]
    ConsentRequired,
    /// The requested authentication level cannot be reached (OpenID Connect Core 1.0
    /// errata set 2 §3.1.2.6 `unmet_authentication_requirements`).
    #[error("unmet_authentication_requirements: {0}")]
    UnmetAuthenticationRequirements(&'static str),
    #[error("request_not_supported")]
    RequestNotSupported,
    #[error("request_uri_not_supported")]
    RequestUriNotSupported,
    /// RFC 6750 §3.1: the request carries no access token at all; the challenge then names
    /// no error code.
    #[error("no access token")]
    MissingToken,
    /// RFC 6750 §3.1: a missing, expired, revoked or malformed access token.
    #[error("invalid_token: {0}")]
    InvalidToken(&'static str),
    /// RFC 6750 §3.1: the token is valid but lacks the scope the resource needs.
    #[error("insufficient_scope: {0}")]
    InsufficientScope(&'static str),
    /// A person typed something we cannot use; the message is shown to them as is.
    #[error("bad input: {0}")]
    BadInput(Cow<'static, str>),
    /// Too many attempts; the message is shown to the person.
    #[error("rate limited")]
    RateLimited { message: &'static str, retry_after_secs: u64 },
    /// Changing how the account signs in needs a recent proof at its strongest level first.
    #[error("step-up required")]
    StepUpRequired,
    #[error("not found")]
    NotFound,
    /// A shared service the request needs (the Redis ephemeral store) cannot be reached:
    /// 503 with `temporarily_unavailable` (RFC 6749 §4.1.2.1, used for §5.2 responses too).
    /// The cause is logged, never shown. Nothing was half-written: it fails before the change.
    #[error("unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

/// Marks an `anyhow::Error` as "a shared service is down", so that it becomes
/// [`Error::Unavailable`] (503) rather than [`Error::Internal`] (500) wherever it meets `?`.
#[derive(Debug, thiserror::Error)]
#[error("{what} is unreachable: {cause}")]
pub struct ServiceDown {
    pub what: &'static str,
    pub cause: String,
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        let down = e.downcast_ref::<ServiceDown>().is_some() || e.chain().any(|c| c.is::<ServiceDown>());
        if down { Error::Unavailable(e) } else { Error::Internal(e) }
    }
}

impl Error {
    pub fn invalid_request(msg: impl Into<Cow<'static, str>>) -> Self {
        Error::InvalidRequest(msg.into())
    }

    pub fn bad_input(msg: impl Into<Cow<'static, str>>) -> Self {
        Error::BadInput(msg.into())
    }

    /// The `error` value of RFC 6749 §4.1.2.1 / §5.2 and OIDC Core §3.1.2.6.
    pub fn oauth_code(&self) -> &'static str {
        match self {
            Error::InvalidRequest(_) | Error::BadInput(_) => "invalid_request",
            Error::InvalidClient(_) => "invalid_client",
            Error::InvalidGrant(_) => "invalid_grant",
            Error::UnauthorizedClient(_) => "unauthorized_client",
            Error::UnsupportedGrantType => "unsupported_grant_type",
            Error::UnsupportedResponseType => "unsupported_response_type",
            Error::InvalidScope(_) => "invalid_scope",
            Error::InvalidTarget(_) => "invalid_target",
            Error::AccessDenied(_) => "access_denied",
            Error::LoginRequired => "login_required",
            Error::ConsentRequired => "consent_required",
            Error::UnmetAuthenticationRequirements(_) => "unmet_authentication_requirements",
            Error::RequestNotSupported => "request_not_supported",
            Error::RequestUriNotSupported => "request_uri_not_supported",
            Error::InvalidToken(_) | Error::MissingToken => "invalid_token",
            Error::InsufficientScope(_) => "insufficient_scope",
            Error::RateLimited { .. } => "temporarily_unavailable",
            Error::NotFound => "invalid_request",
            Error::StepUpRequired => "interaction_required",
            Error::Unavailable(_) => "temporarily_unavailable",
            Error::Internal(_) => "server_error",
        }
    }

    /// The safe, human-readable `error_description`; internal causes are never shown.
    pub fn description(&self) -> Cow<'static, str> {
        match self {
            Error::InvalidRequest(m) | Error::BadInput(m) => m.clone(),
            Error::InvalidClient(m)
            | Error::InvalidGrant(m)
            | Error::UnauthorizedClient(m)
            | Error::InvalidScope(m)
            | Error::InvalidTarget(m)
            | Error::AccessDenied(m)
            | Error::InvalidToken(m)
            | Error::InsufficientScope(m) => Cow::Borrowed(m),
            Error::UnsupportedGrantType => "this grant_type is not supported".into(),
            Error::UnsupportedResponseType => "only response_type=code is supported".into(),
            Error::LoginRequired => "the end-user is not signed in".into(),
            Error::ConsentRequired => "the end-user has not consented".into(),
            Error::UnmetAuthenticationRequirements(m) => (*m).into(),
            Error::RequestNotSupported => "the request parameter is not supported".into(),
            Error::RequestUriNotSupported => "the request_uri parameter is not supported".into(),
            Error::RateLimited { message, .. } => Cow::Borrowed(message),
            Error::NotFound => "not found".into(),
            Error::MissingToken => "an access token is required".into(),
            Error::StepUpRequired => "confirm it is you before changing how you sign in".into(),
            Error::Unavailable(_) => "the service is briefly unavailable; try again in a moment".into(),
            Error::Internal(_) => "the server could not complete the request".into(),
        }
    }
}
