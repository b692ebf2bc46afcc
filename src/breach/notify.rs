//! Mailing the customers affected by an incident, from a template the operator wrote: a
//! `Subject:` line, an empty line, then the plain-text body. The same text goes to everyone
//! (no per-customer values: nothing to get wrong under pressure); a failed mail is logged
//! (without its address) and counted, and the rest go on.

use super::{Report, Scope, audit};
use crate::error::{Error, Result};
use crate::events::audit::Caller;
use crate::state::AppState;

/// Customers read per page.
const BATCH: i64 = 500;

/// A parsed notice template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub subject: String,
    pub body: String,
}

impl Notice {
    pub fn parse(text: &str) -> Result<Notice> {
        let text = text.replace("\r\n", "\n");
        let (head, body) = text
            .split_once("\n\n")
            .ok_or_else(|| Error::bad_input("the template needs a Subject: line, an empty line, then the body"))?;
        let subject = head
            .strip_prefix("Subject:")
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.contains('\n'))
            .ok_or_else(|| Error::bad_input("the template must start with one Subject: line"))?;
        if body.trim().is_empty() {
            return Err(Error::bad_input("the template's body is empty"));
        }
        Ok(Notice { subject: subject.to_string(), body: body.trim_end().to_string() + "\n" })
    }
}

/// Mail `notice` to every customer in the scope (a dry run counts them).
pub async fn notify(
    state: &AppState,
    by: Caller<'_>,
    scope: &Scope,
    notice: &Notice,
    dry_run: bool,
    now: i64,
) -> Result<Report> {
    let (customer, client) = scope.parts();
    let mut report = Report { action: "notify", dry_run, ..Report::default() };
    report.customers = state.store.breach_customer_count(customer, client).await?;
    if !dry_run {
        let mut after = String::new();
        let (mut sent, mut failed) = (0, 0);
        loop {
            let page = state.store.breach_customers(customer, client, &after, BATCH).await?;
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            for (id, email) in &page {
                let mail = crate::mail::notice_mail(email, &notice.subject, &notice.body);
                match state.mailer.send(&state.mail_from, mail).await {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        failed += 1;
                        tracing::error!(customer = %id, error = %e, "breach notice not sent");
                    }
                }
            }
        }
        report.mails = sent;
        if failed > 0 {
            tracing::warn!(failed, "some breach notices were not sent");
        }
    }
    audit(state, &by, scope, &report, now).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_is_a_subject_line_then_a_body() {
        let n = Notice::parse("Subject: About your account\r\n\r\nWe reset your sessions.\n\n").unwrap();
        assert_eq!(n.subject, "About your account");
        assert_eq!(n.body, "We reset your sessions.\n");
        assert!(Notice::parse("No subject\n\nbody").is_err());
        assert!(Notice::parse("Subject: x\n\n  ").is_err());
    }
}
