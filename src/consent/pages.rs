//! The pages of the consent model, as askama templates: a policy version's full text.

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
