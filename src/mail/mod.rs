//! Outgoing mail: lettre over SMTP when `smtp_url` is set, otherwise .eml files in the outbox.
//! Messages are typed and rendered from templates (plain text and HTML parts).

use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>, std::path::PathBuf),
}

pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// What a developer needs from this mail (e.g. the sign-in link), logged only when mail
    /// goes to the outbox, never when it goes out over SMTP.
    pub outbox_note: Option<String>,
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<(Mailer, Mailbox)> {
        let from: Mailbox =
            config.mail_from.parse().map_err(|e| anyhow::anyhow!("configuration key `mail_from`: {e}"))?;
        let mailer = if config.smtp_url.is_empty() {
            let dir = config.outbox_dir();
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow::anyhow!("cannot create outbox {}: {e}", dir.display()))?;
            Mailer::File(AsyncFileTransport::new(&dir), dir)
        } else {
            let t = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_url)
                .map_err(|e| anyhow::anyhow!("configuration key `smtp_url`: {e}"))?
                .build();
            Mailer::Smtp(t)
        };
        Ok((mailer, from))
    }

    pub async fn send(&self, from: &Mailbox, mail: OutgoingMail) -> anyhow::Result<()> {
        let to: Mailbox = mail.to.parse()?;
        let note = mail.outbox_note;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(mail.subject)
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))?;
        match self {
            Mailer::Smtp(t) => {
                t.send(message).await?;
            }
            Mailer::File(t, dir) => {
                let id = t.send(message).await?;
                let file = dir.join(format!("{id}.eml"));
                tracing::info!(file = %file.display(), note = note.as_deref().unwrap_or(""), "mail written to the outbox");
            }
        }
        Ok(())
    }
}

#[derive(Template)]
#[template(path = "mail/sign_in/body.txt")]
struct SignInText<'a> {
    link: &'a str,
    code: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/sign_in/body.html")]
struct SignInHtml<'a> {
    link: &'a str,
    code: &'a str,
    minutes: i64,
}

/// The one mail of an email sign-in: a link and the same sign-in as a 6-digit code.
pub fn sign_in_mail(to: &str, link: &str, code: &str, minutes: i64) -> anyhow::Result<OutgoingMail> {
    Ok(OutgoingMail {
        to: to.to_string(),
        // The code stays out of the subject: lock screens and notifications preview it.
        subject: "Your sign-in link and code".into(),
        text: SignInText { link, code, minutes }.render()?,
        html: SignInHtml { link, code, minutes }.render()?,
        outbox_note: Some(format!("sign-in link for {to}: {link}")),
    })
}

#[derive(Template)]
#[template(path = "mail/factor_changed/body.txt")]
struct FactorChangedText<'a> {
    what: &'a str,
    when: &'a str,
    device: &'a str,
    security_url: &'a str,
}

#[derive(Template)]
#[template(path = "mail/factor_changed/body.html")]
struct FactorChangedHtml<'a> {
    what: &'a str,
    when: &'a str,
    device: &'a str,
    security_url: &'a str,
}

/// "A passkey was added": sent after every change to how the account signs in.
pub fn factor_changed_mail(
    to: &str,
    what: &str,
    when: &str,
    device: &str,
    security_url: &str,
) -> anyhow::Result<OutgoingMail> {
    Ok(OutgoingMail {
        to: to.to_string(),
        subject: format!("{what} on your account"),
        text: FactorChangedText { what, when, device, security_url }.render()?,
        html: FactorChangedHtml { what, when, device, security_url }.render()?,
        outbox_note: None,
    })
}
