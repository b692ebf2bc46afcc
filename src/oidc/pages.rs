//! The provider's own pages (consent, logout, account chooser), as askama templates.

use askama::Template;

#[derive(Template)]
#[template(path = "oidc/consent.html")]
pub struct ConsentPage<'a> {
    pub csrf: &'a str,
    pub authz: &'a str,
    pub client_name: &'a str,
    pub asks_for: &'a [&'a str],
    pub purposes: &'a [super::consent::PurposeItem],
    pub claims: &'a [super::profile::ClaimAsk],
    pub notices: &'a [super::purposes::PolicyNotice],
}

#[derive(Template)]
#[template(path = "oidc/logout.html")]
pub struct LogoutPage<'a> {
    pub csrf: &'a str,
    pub client_name: Option<&'a str>,
    pub fields: &'a [(String, String)],
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

/// A minor's age-checked items wait for a guardian: whose address to mail, and why.
#[derive(Template)]
#[template(path = "oidc/guardian_ask.html")]
pub struct GuardianAskPage<'a> {
    pub csrf: &'a str,
    pub authz: &'a str,
    pub client_name: &'a str,
    pub items: &'a [crate::consent::guardian::Item],
}

/// "We asked your parent or guardian": reloads itself until the guardian answered.
#[derive(Template)]
#[template(path = "oidc/guardian_wait.html")]
pub struct GuardianWaitPage<'a> {
    pub csrf: &'a str,
    pub authz: &'a str,
}
