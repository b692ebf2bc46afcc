//! Pages a person sees, as compile-checked askama templates.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "The page could not be shown.").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "login/email.html")]
pub struct LoginPage<'a> {
    pub csrf: &'a str,
    pub authz: &'a str,
    pub email: &'a str,
    pub client_name: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "login/check_mail.html")]
pub struct CheckMailPage<'a> {
    pub csrf: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "login/link.html")]
pub struct LinkPage<'a> {
    pub csrf: &'a str,
    pub token: &'a str,
    pub email: &'a str,
    pub same_browser: bool,
}

#[derive(Template)]
#[template(path = "login/done.html")]
pub struct DonePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "oidc/consent.html")]
pub struct ConsentPage<'a> {
    pub csrf: &'a str,
    pub authz: &'a str,
    pub client_name: &'a str,
    pub asks_for: &'a [&'a str],
}

#[derive(Template)]
#[template(path = "oidc/logout.html")]
pub struct LogoutPage<'a> {
    pub csrf: &'a str,
    pub client_name: Option<&'a str>,
    pub fields: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "oidc/form_post.html")]
pub struct FormPostPage<'a> {
    pub action: &'a str,
    pub fields: &'a [(&'static str, String)],
}
