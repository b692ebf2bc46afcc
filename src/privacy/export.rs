//! Access and portability (GDPR Art. 15 and 20): a machine-readable JSON archive of
//! everything held about a customer, built by the worker, downloadable once through a
//! short-lived link that is mailed to them.
//!
//! Threat model: the archive is everything about a person, so the link is a 256-bit random
//! value stored only as its hash, lives `export_link_ttl_secs`, works for the signed-in owner
//! only, acts on POST only (mail scanners fetch links), and the archive is deleted from the
//! store by the download that takes it.

use super::requests::tell;
use super::{Kind, Status};
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::events::audit::{self, Actor, Entry};
use crate::events::{NewEvent, outbox};
use crate::state::AppState;
use crate::store::{AuditFilter, Store};
use serde_json::{Value, json};

/// Everything held about `customer_id`, as one JSON document. Passkeys are described by their
/// metadata (the public key stays out: it is not about the person); no secret or hash of one
/// (session tokens, TOTP secrets, recovery codes) is included.
pub async fn archive(state: &AppState, customer_id: &str, now: i64) -> Result<Value> {
    let store = &state.store;
    let c = store.customer(customer_id).await?.ok_or(Error::NotFound)?;
    let address: Value = c.address.as_deref().and_then(|a| serde_json::from_str(a).ok()).unwrap_or(Value::Null);
    let profile = json!({
        "id": c.id, "email": c.email, "email_verified": c.email_verified != 0, "name": c.name,
        "given_name": c.given_name, "family_name": c.family_name, "phone_number": c.phone_number,
        "birthdate": c.birthdate, "address": address, "created_at": c.created_at, "updated_at": c.updated_at,
    });
    let identities: Vec<Value> = store
        .identities_of(customer_id)
        .await?
        .into_iter()
        .map(|i| {
            json!({ "connector": i.connector_id, "issuer": i.issuer, "subject": i.subject, "email": i.email,
            "created_at": i.created_at, "last_used_at": i.last_used_at })
        })
        .collect();
    let passkeys: Vec<Value> = store
        .passkeys_of(customer_id)
        .await?
        .into_iter()
        .map(|p| {
            json!({ "id": p.id, "name": p.name, "created_at": p.created_at, "last_used_at": p.last_used_at,
            "backed_up": p.backup_state != 0, "sign_count": p.sign_count })
        })
        .collect();
    let authenticator_app = store.totp_factor(customer_id).await?.map(|t| json!({ "created_at": t.created_at }));
    let sessions: Vec<Value> = store
        .sessions_of(customer_id, now)
        .await?
        .into_iter()
        .map(|s| {
            json!({ "id": s.id, "created_at": s.created_at, "last_seen_at": s.last_seen_at, "expires_at": s.expires_at,
            "acr": s.acr, "amr": s.amr, "ip": s.ip, "user_agent": s.user_agent })
        })
        .collect();
    let scopes: Vec<Value> = store
        .consents_of(customer_id)
        .await?
        .into_iter()
        .map(|(client, name, scope)| json!({ "client_id": client, "client_name": name, "scope": scope }))
        .collect();
    let purposes: Vec<Value> = store
        .granted_purposes_of(customer_id)
        .await?
        .into_iter()
        .map(|(client, name, purpose, pname, at)| {
            json!({ "client_id": client, "client_name": name, "purpose": purpose, "purpose_name": pname, "granted_at": at })
        })
        .collect();
    let receipts = crate::consent::ledger::export(state, customer_id).await?;
    let ledger: Vec<Value> = receipts.iter().map(|r| json!({ "entry": r, "receipt": r.words() })).collect();
    let requests: Vec<Value> = store
        .privacy_requests_of(customer_id)
        .await?
        .into_iter()
        .map(|r| {
            json!({ "id": r.id, "kind": r.kind, "status": r.status, "jurisdiction": r.jurisdiction,
            "received_at": r.received_at, "due_at": r.due_at, "extended_until": r.extended_until,
            "purpose": r.purpose, "details": r.details, "closed_reason": r.closed_reason })
        })
        .collect();
    let filter = AuditFilter { target: Some(customer_id.to_string()), limit: 10_000, ..Default::default() };
    let audit: Vec<Value> = store
        .audit_entries(&filter)
        .await?
        .into_iter()
        .map(|a| {
            json!({ "at": a.occurred_at, "action": a.action, "actor": a.actor_kind, "outcome": a.outcome,
            "reason": a.reason, "ip": a.ip, "user_agent": a.user_agent })
        })
        .collect();
    Ok(json!({
        "format": "tessera.export.v1",
        "generated_at": now,
        "profile": profile,
        "identities": identities,
        "passkeys": passkeys,
        "authenticator_app": authenticator_app,
        "sessions": sessions,
        "consents": { "scopes": scopes, "purposes": purposes, "ledger": ledger },
        "privacy_requests": requests,
        "audit": audit,
    }))
}

/// Build the archives of verified export requests, and mail each customer their link.
pub async fn build_due(state: &AppState, now: i64) -> Result<usize> {
    let due = state.store.privacy_requests_to_work(Kind::AccessExport.as_str(), Status::Verified.as_str(), now).await?;
    let mut built = 0;
    for r in due {
        let Some(customer) = state.store.customer(&r.customer_id).await? else { continue };
        let doc = archive(state, &r.customer_id, now).await?;
        let token = secrets::random_token();
        let expires_at = now + state.config.export_link_ttl_secs * 1000;
        let mut tx = state.store.begin().await?;
        let text = serde_json::to_string(&doc).map_err(anyhow::Error::from)?;
        if !Store::complete_export_in(&mut tx, &r.id, &secrets::hash(&token), &text, expires_at, now).await? {
            continue;
        }
        outbox::emit_in(&mut tx, NewEvent::privacy_request_completed(&r.customer_id, &r.id, &r.kind), now).await?;
        let entry = Entry::new(Actor::System, "privacy_request.completed", Some(&r.customer_id))
            .detail(json!({ "request": r.id, "reason": "export ready" }));
        audit::record_in(&mut tx, entry, now).await?;
        tx.commit().await?;
        let link = state.url(&format!("/account/privacy/export?token={token}"));
        let hours = state.config.export_link_ttl_secs / 3600;
        let paragraphs = [
            format!("The copy of your data you asked for (reference {}) is ready.", r.id),
            format!("Download it within {hours} hours, signed in to your account. The link works once."),
        ];
        tell(
            state,
            &customer.email,
            "Your data is ready to download",
            &paragraphs,
            Some(("Download your data", &link)),
        )
        .await;
        built += 1;
    }
    Ok(built)
}

/// Whether `token` names an archive the signed-in `customer_id` may still download.
pub async fn waiting(state: &AppState, customer_id: &str, token: &str, now: i64) -> Result<bool> {
    let found = state.store.export_by_token(&secrets::hash(token), now).await?;
    Ok(found.is_some_and(|(owner, _)| owner == customer_id))
}

/// Take the archive behind `token` for its owner: it is gone afterwards.
pub async fn download(state: &AppState, customer_id: &str, token: &str, now: i64) -> Result<String> {
    let hash = secrets::hash(token);
    // Someone else's link is not found, and is not used up by the attempt.
    if !waiting(state, customer_id, token, now).await? {
        return Err(Error::NotFound);
    }
    let (_, archive) = state.store.take_export(&hash, now).await?.ok_or(Error::NotFound)?;
    let entry = Entry::new(Actor::Customer(customer_id.into()), "privacy_request.downloaded", Some(customer_id));
    audit::record(state, entry, now).await?;
    Ok(archive)
}
