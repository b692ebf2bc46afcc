//! The CORS layer around the provider's API (Fetch Standard, "CORS protocol"): preflights are
//! answered here; answers to allowed origins name that origin (never `*` with credentials, and
//! credentials are never allowed). The rule for who is allowed lives in `cors`.

use super::cors;
use crate::state::SharedState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn layer(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(String::from) else {
        return next.run(req).await;
    };
    let public = cors::is_public_document(req.uri().path());
    let allowed = public
        || match cors::allowed(&state, &origin, state.now()).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "checking a CORS origin failed");
                false
            }
        };
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = if preflight { StatusCode::NO_CONTENT.into_response() } else { next.run(req).await };
    let h = res.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if !allowed {
        return res;
    }
    let value = if public {
        HeaderValue::from_static("*")
    } else {
        HeaderValue::from_str(&origin).unwrap_or(HeaderValue::from_static("null"))
    };
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    if preflight {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    } else {
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("www-authenticate"));
    }
    res
}
