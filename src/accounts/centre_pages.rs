//! The privacy centre's pages (consents, connected apps), as askama templates, and how
//! what the features return is written out for them (times in UTC, channels and scopes in
//! words).

use crate::consent::centre::{ConsentsView, PurposeStanding};
use crate::consent::channels;
use crate::oidc::consent::describe;
use crate::store::ConnectedAppRecord;
use crate::web::pages::utc_minute;
use askama::Template;

/// One purpose on the consents page.
pub struct PurposeRow {
    pub id: String,
    pub name: String,
    pub notice: String,
    pub required: bool,
    pub granted: bool,
    pub since: String,
    /// `/policies/<id>/<version>` and its label; empty when never decided.
    pub policy_link: String,
    pub policy_label: String,
    /// The ledger entry in words, and its id.
    pub receipt: String,
    pub receipt_id: String,
    /// (channel, words, allowed) for every channel the purpose names.
    pub channels: Vec<(String, &'static str, bool)>,
    /// The channels it would reach the customer by, in words (for the grant button).
    pub offered_words: String,
}

pub struct ConsentAppRow {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<(String, &'static str)>,
    pub purposes: Vec<PurposeRow>,
}

/// (link to the text, "Title, version N", accepted at).
pub type PolicyRow = (String, String, String);

#[derive(Template)]
#[template(path = "account/privacy.html")]
pub struct ConsentsPage<'a> {
    pub csrf: &'a str,
    pub apps: &'a [ConsentAppRow],
    pub policies: &'a [PolicyRow],
    pub notice: Option<&'a str>,
}

fn purpose_row(p: PurposeStanding) -> PurposeRow {
    let decided = p.since.is_some();
    PurposeRow {
        since: p.since.map(utc_minute).unwrap_or_default(),
        policy_link: if decided { format!("/policies/{}/{}", p.policy_id, p.policy_version) } else { String::new() },
        policy_label: format!("{}, version {}", p.policy_id, p.policy_version),
        receipt: p.receipt.as_ref().map(|r| r.words()).unwrap_or_default(),
        receipt_id: p.receipt.map(|r| r.id).unwrap_or_default(),
        channels: p.offered.iter().map(|c| (c.clone(), channels::in_words(c), p.channels.contains(c))).collect(),
        offered_words: p.offered.iter().map(|c| channels::in_words(c)).collect::<Vec<_>>().join(", "),
        id: p.id,
        name: p.name,
        notice: p.notice,
        required: p.required,
        granted: p.granted,
    }
}

/// The consents page's rows.
pub fn consent_rows(view: ConsentsView) -> (Vec<ConsentAppRow>, Vec<PolicyRow>) {
    let apps = view
        .apps
        .into_iter()
        .map(|a| ConsentAppRow {
            scopes: a.scopes.iter().map(|s| (s.clone(), describe(s))).collect(),
            purposes: a.purposes.into_iter().map(purpose_row).collect(),
            client_id: a.client_id,
            client_name: a.client_name,
        })
        .collect();
    let policies = view
        .policies
        .into_iter()
        .map(|p| {
            let title = if p.title.is_empty() { p.id.clone() } else { p.title };
            (
                format!("/policies/{}/{}", p.id, p.version),
                format!("{title}, version {}", p.version),
                utc_minute(p.accepted_at),
            )
        })
        .collect();
    (apps, policies)
}

/// One connected app, written out.
pub struct ConnectedRow {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<&'static str>,
    pub purposes: Vec<String>,
    pub tokens: i64,
    pub last_used: String,
}

#[derive(Template)]
#[template(path = "account/apps.html")]
pub struct AppsPage<'a> {
    pub csrf: &'a str,
    pub apps: &'a [ConnectedRow],
    pub notice: Option<&'a str>,
}

/// A connected app with the names of the purposes granted to it.
pub fn connected_row(a: ConnectedAppRecord, purposes: Vec<String>) -> ConnectedRow {
    let mut scopes: Vec<&'static str> = Vec::new();
    for s in a.consented_scope.split_whitespace().chain(a.token_scopes.split_whitespace()) {
        let words = describe(s);
        if !s.starts_with(crate::oidc::purposes::PREFIX) && !scopes.contains(&words) {
            scopes.push(words);
        }
    }
    ConnectedRow {
        scopes,
        purposes,
        tokens: a.live_grants,
        last_used: if a.last_used_at > 0 { utc_minute(a.last_used_at) } else { "never".into() },
        client_id: a.client_id,
        client_name: a.client_name,
    }
}
