//! The profile in the privacy centre: every attribute held, each with its source (typed by the
//! customer, from which social connector, asked by which app) and when it last changed, and
//! editing what the customer may edit (names, phone number, birthdate, address) with the same
//! checks as progressive profiling (`oidc::profile`). Clearing a field erases it (GDPR Art.
//! 16 and 17: rectification and erasure of what the customer gave). The email address changes
//! only through `email_change` (a link to the new address first).

use crate::error::{Error, Result};
use crate::events::{NewEvent, outbox};
use crate::oidc::profile::{check_address, check_birthdate, check_phone};
use crate::state::AppState;
use crate::store::{CustomerRecord, ProfileSourceRecord, Store};
use std::collections::HashMap;

/// One attribute as the profile page shows it.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub key: &'static str,
    pub label: &'static str,
    pub value: Option<String>,
    pub editable: bool,
    /// Where it came from, in words.
    pub source: String,
    pub changed_at: Option<i64>,
}

/// The attributes Tessera holds on a customer, in the order the page shows them.
pub const ATTRIBUTES: [(&str, &str, bool); 7] = [
    ("email", "Email address", false),
    ("name", "Full name", true),
    ("given_name", "Given name", true),
    ("family_name", "Family name", true),
    ("phone_number", "Phone number", true),
    ("birthdate", "Date of birth", true),
    ("address", "Postal address", true),
];

fn value_of(c: &CustomerRecord, key: &str) -> Option<String> {
    match key {
        "email" => Some(c.email.clone()),
        "name" => c.name.clone(),
        "given_name" => c.given_name.clone(),
        "family_name" => c.family_name.clone(),
        "phone_number" => c.phone_number.clone(),
        "birthdate" => c.birthdate.clone(),
        // The §5.1.1 claim's formatted member, as one would write it on an envelope.
        "address" => c.address.as_deref().map(|a| {
            let v: serde_json::Value = serde_json::from_str(a).unwrap_or_default();
            v["formatted"].as_str().unwrap_or(a).to_string()
        }),
        _ => None,
    }
}

/// A source in words: "typed by you", "from Google", "asked by Shop".
async fn source_words(state: &AppState, s: &ProfileSourceRecord, now: i64) -> Result<String> {
    Ok(match s.source.as_str() {
        "typed" => "typed by you".into(),
        "connector" => {
            let name = state.store.connectors().await?.into_iter().find(|c| c.id == s.detail).map(|c| c.display_name);
            format!("from your sign-in with {}", name.unwrap_or_else(|| s.detail.clone()))
        }
        "app" => {
            let name = state.clients.get(&state.store, &s.detail, now).await?.map(|c| c.name.clone());
            format!("asked by {}", name.unwrap_or_else(|| s.detail.clone()))
        }
        other => other.to_string(),
    })
}

/// Every attribute held, with its source and when it last changed.
pub async fn view(state: &AppState, customer_id: &str, now: i64) -> Result<(CustomerRecord, Vec<Attribute>)> {
    let customer = state.store.customer(customer_id).await?.ok_or(Error::NotFound)?;
    let sources = state.store.profile_sources(customer_id).await?;
    let mut out = Vec::new();
    for (key, label, editable) in ATTRIBUTES {
        let value = value_of(&customer, key);
        let (source, changed_at) = match sources.iter().find(|s| s.attribute == key) {
            Some(s) => (source_words(state, s, now).await?, Some(s.changed_at)),
            // Held since before sources were recorded.
            None if key == "email" => ("given when the account was created".into(), Some(customer.created_at)),
            None if value.is_some() => ("not recorded (given before we kept sources)".into(), None),
            None => (String::new(), None),
        };
        out.push(Attribute { key, label, value, editable, source, changed_at });
    }
    Ok((customer, out))
}

/// A name field: trimmed, at most 200 characters, no control characters; empty clears it.
fn check_name(input: &str) -> Result<Option<String>> {
    let s = input.trim();
    if s.chars().count() > 200 || s.chars().any(char::is_control) {
        return Err(Error::bad_input("Names are at most 200 characters, on one line."));
    }
    Ok((!s.is_empty()).then(|| s.to_string()))
}

/// The edited values from the form (`name`, `given_name`, `family_name`, `claim.phone_number`,
/// `claim.birthdate`, `claim.address.*`), each checked; an empty field clears it.
pub fn checked(form: &HashMap<String, String>, today: &str) -> Result<[Option<String>; 6]> {
    let field = |k: &str| form.get(k).map(|v| v.trim()).unwrap_or("");
    let phone = Some(field("claim.phone_number")).filter(|v| !v.is_empty()).map(check_phone).transpose()?;
    let birthdate =
        Some(field("claim.birthdate")).filter(|v| !v.is_empty()).map(|v| check_birthdate(v, today)).transpose()?;
    let any_address = form.iter().any(|(k, v)| k.starts_with("claim.address.") && !v.trim().is_empty());
    let address = if any_address { Some(check_address(form)?) } else { None };
    Ok([
        check_name(field("name"))?,
        check_name(field("given_name"))?,
        check_name(field("family_name"))?,
        phone,
        birthdate,
        address,
    ])
}

/// Save what the customer edited; the attributes that changed get `typed` as their source
/// and `customer.updated` names them. Returns the names of the changed attributes.
pub async fn update(
    state: &AppState,
    customer_id: &str,
    form: &HashMap<String, String>,
    now: i64,
) -> Result<Vec<&'static str>> {
    let today = crate::web::pages::utc_minute(now)[..10].to_string();
    let new = checked(form, &today)?;
    let c = state.store.customer(customer_id).await?.ok_or(Error::NotFound)?;
    let old = [&c.name, &c.given_name, &c.family_name, &c.phone_number, &c.birthdate, &c.address];
    let keys = ["name", "given_name", "family_name", "phone_number", "birthdate", "address"];
    let changed: Vec<&'static str> = (0..keys.len()).filter(|&i| *old[i] != new[i]).map(|i| keys[i]).collect();
    if changed.is_empty() {
        return Ok(changed);
    }
    let values = [0, 1, 2, 3, 4, 5].map(|i| new[i].as_deref());
    let mut tx = state.store.begin().await?;
    Store::set_profile_values_in(&mut tx, customer_id, values, now).await?;
    Store::set_profile_sources_in(&mut tx, customer_id, &changed, "typed", "", now).await?;
    outbox::emit_in(&mut tx, NewEvent::customer_updated(customer_id, &changed), now).await?;
    tx.commit().await?;
    tracing::info!(customer = %customer_id, fields = ?changed, "profile edited");
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn edits_are_checked_like_progressive_profiling_and_empty_fields_clear() {
        let ok =
            checked(&form(&[("name", " Ada Lovelace "), ("claim.phone_number", "+41 44 668 18 00")]), "2026-12-01");
        let ok = ok.unwrap();
        assert_eq!(ok[0].as_deref(), Some("Ada Lovelace"));
        assert_eq!(ok[3].as_deref(), Some("+41446681800"));
        assert!(ok[4].is_none() && ok[5].is_none());
        assert!(checked(&form(&[("claim.phone_number", "044 668")]), "2026-12-01").is_err());
        assert!(checked(&form(&[("claim.birthdate", "2030-01-01")]), "2026-12-01").is_err());
        assert!(checked(&form(&[("claim.address.locality", "Zürich")]), "2026-12-01").is_err(), "no country");
        assert!(checked(&form(&[("name", "a\nb")]), "2026-12-01").is_err());
    }
}
