//! Static assets, compiled into the binary (no front-end build step).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const CSS: &str = include_str!("../../static/tessera.css");
const LOGIN_JS: &str = include_str!("../../static/login.js");
const FORM_POST_JS: &str = include_str!("../../static/form_post.js");
const WEBAUTHN_JS: &str = include_str!("../../static/webauthn.js");

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut res = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    res
}

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/static/tessera.css", get(|| async { asset("text/css; charset=utf-8", CSS) }))
        .route("/static/login.js", get(|| async { asset("text/javascript; charset=utf-8", LOGIN_JS) }))
        .route("/static/webauthn.js", get(|| async { asset("text/javascript; charset=utf-8", WEBAUTHN_JS) }))
        .route("/static/form_post.js", get(|| async { asset("text/javascript; charset=utf-8", FORM_POST_JS) }))
}
