//! Extractors for the pages of a signed-in person, so that handlers start from what they need
//! instead of a hand-written prologue: the live session (`SignedIn`, or a trip to the sign-in
//! page), and a form whose CSRF token this server issued for this browser (`CsrfForm`).
//!
//! Order matters in a handler's arguments: `SignedIn` reads only headers, `CsrfForm` takes the
//! body and so comes last.

use super::cookies;
use super::csrf::CsrfToken;
use super::request::Browser;
use super::responses;
use crate::error::Error;
use crate::session;
use crate::state::SharedState;
use crate::store::SessionRecord;
use axum::body::Body;
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::de::DeserializeOwned;

/// The browser's live session, if any (an idle one ends on the way, see `session::current`).
pub struct MaybeSignedIn(pub Option<SessionRecord>);

impl FromRequestParts<SharedState> for MaybeSignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        let browser = Browser::from_request_parts(parts, state).await.unwrap_or_else(|e| match e {});
        session::current(state, browser.cookie(cookies::SESSION), state.now())
            .await
            .map(MaybeSignedIn)
            .map_err(responses::page)
    }
}

/// A signed-in customer's session. Without one, the person is sent to sign in (a form post
/// without a session changes nothing).
pub struct SignedIn(pub SessionRecord);

impl FromRequestParts<SharedState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Self::Rejection> {
        match MaybeSignedIn::from_request_parts(parts, state).await?.0 {
            Some(s) => Ok(SignedIn(s)),
            None => Err(Redirect::to("/login").into_response()),
        }
    }
}

/// Form bodies of Tessera's pages are small; the app refuses larger ones anyway.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A URL-encoded form whose `csrf` field matches the token this server issued to this browser
/// (the signed double-submit cookie of `csrf::layer`); anything else is refused before the
/// handler runs. `T` may name the `csrf` field or ignore it.
pub struct CsrfForm<T>(pub T);

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let incomplete = || responses::page(Error::bad_input("The form was incomplete. Go back and try again."));
        let token = req.extensions().get::<CsrfToken>().cloned();
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| incomplete())?;
        let submitted = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
        let token = token.ok_or_else(|| responses::page(Error::bad_input("This form has expired.")))?;
        token.verify(submitted.as_deref().unwrap_or("")).map_err(responses::page)?;
        let Form(form) = Form::<T>::from_request(Request::from_parts(parts, Body::from(bytes)), state)
            .await
            .map_err(|_| incomplete())?;
        Ok(CsrfForm(form))
    }
}

/// The fields of a form that holds nothing but its CSRF token (a button).
#[derive(serde::Deserialize)]
pub struct JustCsrf {}
