//! Mails about the account's own address: the link that proves a new address before it
//! replaces the old one, and the notice to the old address once it has.

use super::OutgoingMail;
use askama::Template;

#[derive(Template)]
#[template(path = "mail/email_change/body.txt")]
struct ConfirmText<'a> {
    new_email: &'a str,
    link: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/email_change/body.html")]
struct ConfirmHtml<'a> {
    new_email: &'a str,
    link: &'a str,
    minutes: i64,
}

/// To the new address: the link that confirms it.
pub fn confirm_new_address_mail(new_email: &str, link: &str, minutes: i64) -> anyhow::Result<OutgoingMail> {
    Ok(OutgoingMail {
        to: new_email.to_string(),
        subject: "Confirm your new email address".into(),
        text: ConfirmText { new_email, link, minutes }.render()?,
        html: ConfirmHtml { new_email, link, minutes }.render()?,
        outbox_note: Some(format!("address confirmation link: {link}")),
    })
}

#[derive(Template)]
#[template(path = "mail/email_changed/body.txt")]
struct ChangedText<'a> {
    new_email: &'a str,
    when: &'a str,
    security_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/email_changed/body.html")]
struct ChangedHtml<'a> {
    new_email: &'a str,
    when: &'a str,
    security_url: &'a str,
}

/// To the old address: it was replaced (so a change the owner did not make is noticed).
pub fn address_changed_mail(
    old_email: &str,
    new_email: &str,
    when: &str,
    security_url: &str,
) -> anyhow::Result<OutgoingMail> {
    Ok(OutgoingMail {
        to: old_email.to_string(),
        subject: "Your account's email address was changed".into(),
        text: ChangedText { new_email, when, security_url }.render()?,
        html: ChangedHtml { new_email, when, security_url }.render()?,
        outbox_note: None,
    })
}
