//! Mails about privacy requests: the confirmation code, receipt, completion, the export
//! link, the erasure, and reminders to the privacy contact. One plain template: a few
//! paragraphs and at most one link.

use super::OutgoingMail;
use askama::Template;

#[derive(Template)]
#[template(path = "mail/privacy/body.txt")]
struct PrivacyText<'a> {
    paragraphs: &'a [String],
    link: Option<(&'a str, &'a str)>,
}

#[derive(Template)]
#[template(path = "mail/privacy/body.html")]
struct PrivacyHtml<'a> {
    paragraphs: &'a [String],
    link: Option<(&'a str, &'a str)>,
}

/// A mail of `paragraphs`, with `link` (its words, its address) under them.
pub fn privacy_mail(
    to: &str,
    subject: &str,
    paragraphs: &[String],
    link: Option<(&str, &str)>,
) -> anyhow::Result<OutgoingMail> {
    Ok(OutgoingMail {
        to: to.to_string(),
        subject: subject.to_string(),
        text: PrivacyText { paragraphs, link }.render()?,
        html: PrivacyHtml { paragraphs, link }.render()?,
        outbox_note: None,
    })
}
