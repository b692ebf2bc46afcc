//! The privacy requests pages of the account area (askama templates).

use askama::Template;

/// One request as its customer sees it.
pub struct RequestRow {
    pub id: String,
    pub kind: &'static str,
    pub status: String,
    pub received: String,
    pub due: String,
    /// A deletion still in its grace period: when it happens.
    pub erases_at: Option<String>,
}

#[derive(Template)]
#[template(path = "account/privacy_requests.html")]
pub struct RequestsPage<'a> {
    pub csrf: &'a str,
    pub requests: &'a [RequestRow],
    pub notice: Option<&'a str>,
    pub grace_days: i64,
}

/// The second step of an export or deletion: the code mailed to the verified address.
#[derive(Template)]
#[template(path = "account/privacy_confirm.html")]
pub struct ConfirmPage<'a> {
    pub csrf: &'a str,
    pub error: Option<&'a str>,
}

/// Refused for want of a fresh proof: what to do instead.
#[derive(Template)]
#[template(path = "account/privacy_verify.html")]
pub struct VerifyPage<'a> {
    pub verify_url: &'a str,
}

/// The export link, opened: download once.
#[derive(Template)]
#[template(path = "account/privacy_export.html")]
pub struct ExportPage<'a> {
    pub csrf: &'a str,
    pub token: &'a str,
}
