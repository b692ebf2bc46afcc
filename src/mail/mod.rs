//! Outgoing mail: lettre over SMTP when `smtp_url` is set, otherwise .eml files in the outbox.
//! Messages are typed and rendered from templates (plain text and HTML parts).
//!
//! Mail carries live sign-in links, so the outbox folder is private (0700, files 0600) and a
//! mail's `outbox_note` (the link) is logged only for a loopback issuer: logs are shipped and
//! kept far longer than a link lives, and whoever reads them must not be able to sign in.

pub mod account;
mod privacy;

pub use privacy::privacy_mail;

use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;
use crate::crypto::{private_files, secrets};

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(Outbox),
}

/// The outbox folder: one .eml file per mail.
pub struct Outbox {
    dir: std::path::PathBuf,
    /// Development (loopback issuer) only: log each mail's note so a developer can click it.
    log_notes: bool,
}

pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// What a developer needs from this mail (e.g. the sign-in link), logged only when mail
    /// goes to the outbox of a loopback (development) issuer, never otherwise.
    pub outbox_note: Option<String>,
}

impl Mailer {
    pub fn from_config(config: &Config) -> anyhow::Result<(Mailer, Mailbox)> {
        let from: Mailbox =
            config.mail_from.parse().map_err(|e| anyhow::anyhow!("configuration key `mail_from`: {e}"))?;
        let mailer = if config.smtp_url.is_empty() {
            let dir = config.outbox_dir();
            private_files::create_dir(&dir)
                .map_err(|e| anyhow::anyhow!("cannot create outbox {}: {e}", dir.display()))?;
            Mailer::File(Outbox { dir, log_notes: config.loopback_issuer() })
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
            Mailer::File(outbox) => {
                let file = outbox.dir.join(format!("{}.eml", secrets::random_id()));
                private_files::write_new_file(&file, message.formatted()).await?;
                match note.filter(|_| outbox.log_notes) {
                    Some(note) => tracing::info!(file = %file.display(), note, "mail written to the outbox"),
                    None => tracing::info!(file = %file.display(), "mail written to the outbox"),
                }
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

#[derive(Template)]
#[template(path = "mail/policy_changed/body.txt")]
struct PolicyChangedText<'a> {
    title: &'a str,
    when: &'a str,
    summary: &'a str,
    url: &'a str,
    choices: &'a [String],
}

#[derive(Template)]
#[template(path = "mail/policy_changed/body.html")]
struct PolicyChangedHtml<'a> {
    title: &'a str,
    when: &'a str,
    summary: &'a str,
    url: &'a str,
    choices: &'a [String],
}

/// What a policy-change notice says: the policy, when the change takes effect, its summary,
/// the link to the new text, and the customer's choices under it in words.
pub struct PolicyChange<'a> {
    pub title: &'a str,
    pub when: &'a str,
    pub summary: &'a str,
    pub url: &'a str,
    pub choices: &'a [String],
}

/// "Our privacy policy changes on …": the summary of a material change, before it takes effect.
pub fn policy_changed_mail(to: &str, c: PolicyChange<'_>) -> anyhow::Result<OutgoingMail> {
    let PolicyChange { title, when, summary, url, choices } = c;
    Ok(OutgoingMail {
        to: to.to_string(),
        subject: format!("Our {title} is changing"),
        text: PolicyChangedText { title, when, summary, url, choices }.render()?,
        html: PolicyChangedHtml { title, when, summary, url, choices }.render()?,
        outbox_note: None,
    })
}

/// One item a guardian is asked about, in words: its name, its notice, and the policy
/// version it falls under with the address of that version's full text.
pub struct GuardianItem {
    pub name: String,
    pub notice: String,
    pub policy: String,
    pub url: String,
}

/// What the guardian's mail says: the app, the (masked) child's account, each item, the
/// link that shows it all again and answers it, and how many days it can approve.
pub struct GuardianMail<'a> {
    pub to: &'a str,
    pub app: &'a str,
    pub minor: &'a str,
    pub items: &'a [GuardianItem],
    pub link: &'a str,
    pub days: i64,
}

#[derive(Template)]
#[template(path = "mail/guardian/body.txt")]
struct GuardianText<'a> {
    m: &'a GuardianMail<'a>,
}

#[derive(Template)]
#[template(path = "mail/guardian/body.html")]
struct GuardianHtml<'a> {
    m: &'a GuardianMail<'a>,
}

/// "Your child asks to use …": exactly what the app asks, and the link to agree or not.
pub fn guardian_mail(m: GuardianMail<'_>) -> anyhow::Result<OutgoingMail> {
    Ok(OutgoingMail {
        to: m.to.to_string(),
        subject: format!("Your agreement is asked for {}", m.app),
        text: GuardianText { m: &m }.render()?,
        html: GuardianHtml { m: &m }.render()?,
        outbox_note: Some(format!("guardian link for {}: {}", m.to, m.link)),
    })
}

/// An operator's notice (incident mail): the text as written, and the same text as HTML,
/// escaped, paragraph by paragraph.
pub fn notice_mail(to: &str, subject: &str, text: &str) -> OutgoingMail {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let html = text
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape(p.trim()).replace('\n', "<br>")))
        .collect::<String>();
    OutgoingMail { to: to.to_string(), subject: subject.to_string(), text: text.to_string(), html, outbox_note: None }
}
