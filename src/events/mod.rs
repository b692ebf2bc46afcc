//! Events: what changed, said once, in the transaction of the change (`outbox`), and handed
//! to its consumers by the background `worker`: the `webhooks` (fan-out, signed delivery).
//! The kinds are the public vocabulary of the webhooks; payloads carry ids and facts, never
//! secrets (no tokens, codes or client secrets).

pub mod audit;
pub mod audit_query;
pub mod outbox;
pub mod webhooks;

use serde_json::{Value, json};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Event {
    /// "evt_" + a random id; also the Standard Webhooks `webhook-id`.
    pub id: String,
    /// e.g. "customer.created", "session.ended"
    #[serde(rename = "type")]
    pub kind: String,
    /// The customer id, where there is one (ordering is per subject).
    pub subject: Option<String>,
    /// JSON without secrets.
    pub payload: serde_json::Value,
    /// Unix milliseconds.
    pub occurred_at: i64,
}

/// Every kind of event, named once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    CustomerCreated,
    CustomerUpdated,
    SessionStarted,
    SessionEnded,
    FactorAdded,
    FactorRemoved,
    IdentityLinked,
    IdentityUnlinked,
    ClientChanged,
    ConnectorChanged,
    ConsentGranted,
    ConsentWithdrawn,
    PolicyAccepted,
    PrivacyRequestCreated,
    PrivacyRequestCompleted,
    CustomerDeleted,
}

impl EventKind {
    pub const ALL: [EventKind; 16] = [
        EventKind::CustomerCreated,
        EventKind::CustomerUpdated,
        EventKind::SessionStarted,
        EventKind::SessionEnded,
        EventKind::FactorAdded,
        EventKind::FactorRemoved,
        EventKind::IdentityLinked,
        EventKind::IdentityUnlinked,
        EventKind::ClientChanged,
        EventKind::ConnectorChanged,
        EventKind::ConsentGranted,
        EventKind::ConsentWithdrawn,
        EventKind::PolicyAccepted,
        EventKind::PrivacyRequestCreated,
        EventKind::PrivacyRequestCompleted,
        EventKind::CustomerDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CustomerCreated => "customer.created",
            EventKind::CustomerUpdated => "customer.updated",
            EventKind::SessionStarted => "session.started",
            EventKind::SessionEnded => "session.ended",
            EventKind::FactorAdded => "factor.added",
            EventKind::FactorRemoved => "factor.removed",
            EventKind::IdentityLinked => "identity.linked",
            EventKind::IdentityUnlinked => "identity.unlinked",
            EventKind::ClientChanged => "client.changed",
            EventKind::ConnectorChanged => "connector.changed",
            EventKind::ConsentGranted => "consent.granted",
            EventKind::ConsentWithdrawn => "consent.withdrawn",
            EventKind::PolicyAccepted => "policy.accepted",
            EventKind::PrivacyRequestCreated => "privacy_request.created",
            EventKind::PrivacyRequestCompleted => "privacy_request.completed",
            EventKind::CustomerDeleted => "customer.deleted",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An event about to be written: its kind, subject and payload. The constructors below are
/// the only place payloads are shaped, so what leaves the server is reviewed in one file.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub kind: EventKind,
    pub subject: Option<String>,
    pub payload: Value,
}

/// A sign-in method of an account.
#[derive(Debug, Clone, Copy)]
pub enum Factor {
    Passkey,
    AuthenticatorApp,
}

impl Factor {
    fn as_str(self) -> &'static str {
        match self {
            Factor::Passkey => "passkey",
            Factor::AuthenticatorApp => "totp",
        }
    }
}

/// What happened to a client or connector.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Created,
    Updated,
    Deleted,
    Enabled,
    Disabled,
}

impl Change {
    fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Updated => "updated",
            Change::Deleted => "deleted",
            Change::Enabled => "enabled",
            Change::Disabled => "disabled",
        }
    }
}

fn about(kind: EventKind, customer_id: &str, payload: Value) -> NewEvent {
    NewEvent { kind, subject: Some(customer_id.to_string()), payload }
}

impl NewEvent {
    /// `via`: "email" or "federation".
    pub fn customer_created(customer_id: &str, via: &str) -> NewEvent {
        about(EventKind::CustomerCreated, customer_id, json!({ "customer_id": customer_id, "via": via }))
    }

    /// `fields`: the names of what changed (never their secret values).
    pub fn customer_updated(customer_id: &str, fields: &[&str]) -> NewEvent {
        about(EventKind::CustomerUpdated, customer_id, json!({ "customer_id": customer_id, "fields": fields }))
    }

    pub fn session_started(customer_id: &str, session_id: &str, acr: &str, amr: &str) -> NewEvent {
        let amr: Vec<&str> = amr.split_whitespace().collect();
        let payload = json!({ "customer_id": customer_id, "session_id": session_id, "acr": acr, "amr": amr });
        about(EventKind::SessionStarted, customer_id, payload)
    }

    /// `notified`: how many clients get a back-channel logout token.
    pub fn session_ended(customer_id: &str, session_id: &str, notified: usize) -> NewEvent {
        let payload = json!({ "customer_id": customer_id, "session_id": session_id, "backchannel_logouts": notified });
        about(EventKind::SessionEnded, customer_id, payload)
    }

    /// `factor_id`: the passkey's id (the authenticator app has none).
    pub fn factor_added(customer_id: &str, factor: Factor, factor_id: Option<&str>) -> NewEvent {
        let payload = json!({ "customer_id": customer_id, "factor": factor.as_str(), "factor_id": factor_id });
        about(EventKind::FactorAdded, customer_id, payload)
    }

    pub fn factor_removed(customer_id: &str, factor: Factor, factor_id: Option<&str>) -> NewEvent {
        let payload = json!({ "customer_id": customer_id, "factor": factor.as_str(), "factor_id": factor_id });
        about(EventKind::FactorRemoved, customer_id, payload)
    }

    pub fn identity_linked(customer_id: &str, connector_id: &str, issuer: &str) -> NewEvent {
        let payload = json!({ "customer_id": customer_id, "connector_id": connector_id, "issuer": issuer });
        about(EventKind::IdentityLinked, customer_id, payload)
    }

    pub fn identity_unlinked(customer_id: &str, connector_id: &str) -> NewEvent {
        let payload = json!({ "customer_id": customer_id, "connector_id": connector_id });
        about(EventKind::IdentityUnlinked, customer_id, payload)
    }

    /// A relying party was registered, changed or deleted (never its secret).
    pub fn client_changed(client_id: &str, change: Change) -> NewEvent {
        let payload = json!({ "client_id": client_id, "change": change.as_str() });
        NewEvent { kind: EventKind::ClientChanged, subject: None, payload }
    }

    /// A customer granted (or withdrew) an item to a client: `item` is `scope:<s>`,
    /// `purpose:<id>` or `policy:<id>`; `channel` where it was decided; `entry` the ledger
    /// entry that proves it.
    pub fn consent(
        customer_id: &str,
        granted: bool,
        client_id: &str,
        item: &str,
        policy: (&str, i64),
        channel: &str,
        entry: &str,
    ) -> NewEvent {
        let kind = match (granted, item.starts_with("policy:")) {
            (true, true) => EventKind::PolicyAccepted,
            (true, false) => EventKind::ConsentGranted,
            (false, _) => EventKind::ConsentWithdrawn,
        };
        let payload = json!({ "customer_id": customer_id, "client_id": client_id, "item": item,
            "policy": policy.0, "policy_version": policy.1, "channel": channel, "ledger_entry": entry });
        about(kind, customer_id, payload)
    }

    /// A customer filed a privacy request (`kind`), due by `due_at` (unix ms) under `jurisdiction`.
    pub fn privacy_request_created(
        customer_id: &str,
        request_id: &str,
        kind: &str,
        jurisdiction: &str,
        due_at: i64,
    ) -> NewEvent {
        let payload = json!({ "customer_id": customer_id, "request_id": request_id, "kind": kind,
            "jurisdiction": jurisdiction, "due_at": due_at });
        about(EventKind::PrivacyRequestCreated, customer_id, payload)
    }

    /// A privacy request was answered. After an erasure `customer_id` is the pseudonym.
    pub fn privacy_request_completed(customer_id: &str, request_id: &str, kind: &str) -> NewEvent {
        let payload = json!({ "customer_id": customer_id, "request_id": request_id, "kind": kind });
        about(EventKind::PrivacyRequestCompleted, customer_id, payload)
    }

    /// A customer was erased: downstream systems should erase what they hold about them too.
    pub fn customer_deleted(customer_id: &str, request_id: &str) -> NewEvent {
        let payload = json!({ "customer_id": customer_id, "request_id": request_id });
        about(EventKind::CustomerDeleted, customer_id, payload)
    }

    /// A connector to an upstream provider was created, changed, enabled, disabled or deleted.
    pub fn connector_changed(connector_id: &str, change: Change) -> NewEvent {
        let payload = json!({ "connector_id": connector_id, "change": change.as_str() });
        NewEvent { kind: EventKind::ConnectorChanged, subject: None, payload }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_dotted_name() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert!(k.as_str().contains('.'));
        }
    }
}
