//! The pages of the consent model, as askama templates: a policy version's full text, and
//! the page of a guardian's link.

use askama::Template;

#[derive(Template)]
#[template(path = "consent/policy.html")]
pub struct PolicyPage<'a> {
    pub title: &'a str,
    pub version: i64,
    pub published: &'a str,
    pub summary: &'a str,
    pub text_hash: &'a str,
    pub text: &'a str,
}

/// The page a guardian's mail links to: the app, the child's masked address, each item with
/// its notice and policy version, and the answers that fit where the request stands.
#[derive(Template)]
#[template(path = "consent/guardian.html")]
pub struct GuardianLinkPage<'a> {
    pub csrf: &'a str,
    pub token: &'a str,
    pub client_name: &'a str,
    pub minor: &'a str,
    pub items: &'a [super::guardian::Item],
    pub pending: bool,
    pub approved: bool,
}
