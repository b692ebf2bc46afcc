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
    pub notice: Option<&'a str>,
    /// A step-up to a passkey: say why the login page is shown.
    pub passkey_prompt: bool,
    /// `prompt=create`: the wording of signing up rather than signing in.
    pub sign_up: bool,
    /// Enabled social sign-in connectors.
    pub connectors: &'a [crate::federation::connectors::Button],
}

#[derive(Template)]
#[template(path = "login/check_mail.html")]
pub struct CheckMailPage<'a> {
    pub csrf: &'a str,
    pub email: &'a str,
    /// The number to pick when approving this sign-in on another device.
    pub number: u8,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "login/link.html")]
pub struct LinkPage<'a> {
    pub csrf: &'a str,
    pub token: &'a str,
    pub email: &'a str,
    pub same_browser: bool,
    /// Another browser: what it would approve (`None` there: the customer turned it off).
    pub approval: Option<&'a crate::login::approval::Approval>,
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

#[derive(Template)]
#[template(path = "login/passkey_offer.html")]
pub struct PasskeyOfferPage<'a> {
    pub csrf: &'a str,
    pub next: &'a str,
}

/// One passkey on the account page, with its times already written out.
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    pub kind: &'static str,
}

#[derive(Template)]
#[template(path = "account/index.html")]
pub struct AccountPage<'a> {
    pub csrf: &'a str,
    pub email: &'a str,
    pub passkeys: &'a [PasskeyRow],
    /// Linked providers: (connector id, provider name, upstream email).
    pub identities: &'a [(String, String, String)],
    /// Sign-ins may be approved from another device.
    pub cross_device: bool,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    /// After a change of sign-in methods: offer to end every other session.
    pub offer_end_others: bool,
}

/// The first mail proof of an account set up through a provider: keep or remove what is attached.
#[derive(Template)]
#[template(path = "login/review.html")]
pub struct ReviewPage<'a> {
    pub csrf: &'a str,
    pub authz: &'a str,
    /// (connector id, provider name, address at the provider)
    pub identities: &'a [(String, String, String)],
    /// (passkey id, name)
    pub passkeys: &'a [(String, String)],
    pub totp: bool,
}

/// `prompt=select_account`: continue as the signed-in account, or use another one.
#[derive(Template)]
#[template(path = "oidc/select_account.html")]
pub struct SelectAccountPage<'a> {
    pub csrf: &'a str,
    pub authz: &'a str,
    pub client_name: &'a str,
    pub email: &'a str,
}

#[derive(Template)]
#[template(path = "login/second_factor.html")]
pub struct SecondFactorPage<'a> {
    pub csrf: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "login/step_up.html")]
pub struct StepUpPage<'a> {
    pub csrf: &'a str,
    pub authz: &'a str,
    pub client_name: &'a str,
    pub wants_passkey: bool,
}

#[derive(Template)]
#[template(path = "account/totp.html")]
pub struct TotpPage<'a> {
    pub csrf: &'a str,
    pub enrolled: bool,
    pub qr_png_base64: &'a str,
    pub secret: &'a str,
    pub unused_codes: i64,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    pub codes: &'a [String],
}

/// One session on the sessions page, written out.
pub struct SessionRow {
    pub id: String,
    pub device: String,
    pub ip: String,
    pub created: String,
    pub last_seen: String,
    pub methods: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account/sessions.html")]
pub struct SessionsPage<'a> {
    pub csrf: &'a str,
    pub sessions: &'a [SessionRow],
}

/// `2026-11-25 19:30 UTC` from unix milliseconds (proleptic Gregorian, civil-from-days).
pub fn utc_minute(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_minute_writes_civil_time() {
        assert_eq!(super::utc_minute(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::utc_minute(1_764_098_940_000), "2025-11-25 19:29 UTC");
        assert_eq!(super::utc_minute(951_782_400_000), "2000-02-29 00:00 UTC");
    }
}
