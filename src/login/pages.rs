//! The sign-in pages, as compile-checked askama templates.

use askama::Template;

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
    pub connectors: &'a [crate::login::federation::connectors::Button],
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
    pub approval: Option<&'a super::approval::Approval>,
}

#[derive(Template)]
#[template(path = "login/passkey_offer.html")]
pub struct PasskeyOfferPage<'a> {
    pub csrf: &'a str,
    pub next: &'a str,
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
