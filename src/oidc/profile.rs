//! Progressive profiling: an app registered as needing a claim (`phone_number`, `birthdate`,
//! `address`) that a granted scope releases gets the customer asked for just that field, on
//! the consent screen of the request that needs it, with the app's reason: never at sign-up.
//! Values are checked before anything is stored: phone numbers in E.164 (ITU-T E.164, at most
//! 15 digits after `+`), birthdates as `YYYY-MM-DD` in the past (OpenID Connect Core §5.1),
//! addresses as the §5.1.1 address claim.

use super::clients::Client;
use crate::error::{Error, Result};
use crate::store::CustomerRecord;
use serde_json::json;
use std::collections::HashMap;

/// The claims Tessera can ask for, each with the scope that releases it and its label.
pub const ASKABLE: [(&str, &str, &str); 3] = [
    ("phone_number", "phone", "Phone number"),
    ("birthdate", "profile", "Date of birth"),
    ("address", "address", "Postal address"),
];

/// A claim to ask for on the consent screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimAsk {
    pub claim: &'static str,
    pub label: &'static str,
    /// The app's reason (empty: it says it cannot work without it).
    pub reason: String,
}

/// Whether `claim` is one Tessera can ask for.
pub fn askable(claim: &str) -> bool {
    ASKABLE.iter().any(|(c, _, _)| *c == claim)
}

/// `claim` or `claim:<reason>` (the CLI's `--require-claim`), for a claim Tessera can ask for.
pub fn parse_required(spec: &str) -> Result<(String, String)> {
    let (claim, reason) = spec.split_once(':').unwrap_or((spec, ""));
    if !askable(claim) {
        return Err(Error::bad_input(format!("{claim:?} cannot be asked for: use phone_number, birthdate or address")));
    }
    Ok((claim.to_string(), reason.trim().to_string()))
}

/// Register the claims a client cannot work without (replacing what it had).
pub async fn require_claims(store: &crate::store::Store, client_id: &str, claims: &[(String, String)]) -> Result<()> {
    if let Some((bad, _)) = claims.iter().find(|(c, _)| !askable(c)) {
        return Err(Error::bad_input(format!("{bad:?} cannot be asked for")));
    }
    store.set_client_required_claims(client_id, claims).await?;
    Ok(())
}

/// The claims `client` requires, released by `scope`, that `customer` has not given yet.
pub fn missing(client: &Client, scope: &str, customer: &CustomerRecord) -> Vec<ClaimAsk> {
    let scopes: Vec<&str> = scope.split(' ').collect();
    let has = |claim: &str| match claim {
        "phone_number" => customer.phone_number.is_some(),
        "birthdate" => customer.birthdate.is_some(),
        "address" => customer.address.is_some(),
        _ => true,
    };
    ASKABLE
        .iter()
        .filter(|(claim, scope, _)| scopes.contains(scope) && !has(claim))
        .filter_map(|(claim, _, label)| {
            let (_, reason) = client.required_claims.iter().find(|(c, _)| c == claim)?;
            Some(ClaimAsk { claim, label, reason: reason.clone() })
        })
        .collect()
}

/// A phone number in E.164: `+`, a country code that does not start with 0, at most 15
/// digits in all. Spaces, dots, dashes and parentheses people type are dropped.
pub fn check_phone(input: &str) -> Result<String> {
    let kept: String = input.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')')).collect();
    let digits = kept.strip_prefix('+').unwrap_or("");
    let ok = digits.len() >= 7
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(kept)
    } else {
        Err(Error::bad_input(
            "Give the phone number in international form, starting with + and the country code, e.g. +41 44 668 18 00.",
        ))
    }
}

/// A date of birth `YYYY-MM-DD` (exactly that form), a real day, after 1900-01-01 and not
/// after `today` (`YYYY-MM-DD` too: ISO dates compare as text).
pub fn check_birthdate(input: &str, today: &str) -> Result<String> {
    let s = input.trim();
    let real = s.len() == 10 && chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok();
    if !real || s < "1900-01-01" || s > today {
        return Err(Error::bad_input("Give your date of birth as year-month-day, e.g. 1990-04-21."));
    }
    Ok(s.to_string())
}

/// The §5.1.1 address claim from the form's `claim.address.*` fields (locality and country
/// required), as JSON.
pub fn check_address(form: &HashMap<String, String>) -> Result<String> {
    let field = |k: &str| form.get(&format!("claim.address.{k}")).map(|v| v.trim().to_string()).unwrap_or_default();
    let (street, locality, postal, country) =
        (field("street_address"), field("locality"), field("postal_code"), field("country"));
    if locality.is_empty()
        || country.is_empty()
        || [&street, &locality, &postal, &country].iter().any(|v| v.len() > 200)
    {
        return Err(Error::bad_input("Give at least the town and the country of your address."));
    }
    let town = format!("{postal} {locality}");
    let parts = [street.as_str(), town.trim(), country.as_str()];
    let formatted = parts.iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join("\n");
    Ok(json!({ "formatted": formatted, "street_address": street, "locality": locality,
        "postal_code": postal, "country": country })
    .to_string())
}

/// The checked answers for the claims asked: (phone_number, birthdate, address).
pub type Answers = (Option<String>, Option<String>, Option<String>);

pub fn answers(asked: &[ClaimAsk], form: &HashMap<String, String>, today: &str) -> Result<Answers> {
    let mut out: Answers = (None, None, None);
    for a in asked {
        let given = || form.get(&format!("claim.{}", a.claim)).map(String::as_str).unwrap_or("");
        match a.claim {
            "phone_number" => out.0 = Some(check_phone(given())?),
            "birthdate" => out.1 = Some(check_birthdate(given(), today)?),
            "address" => out.2 = Some(check_address(form)?),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_e164() {
        assert_eq!(check_phone("+41 44 668 18 00").unwrap(), "+41446681800");
        assert_eq!(check_phone("+1 (415) 555-2671").unwrap(), "+14155552671");
        for bad in ["044 668 18 00", "+0441234567", "+12", "+1234567890123456", "+41 44 abc", ""] {
            assert!(check_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn birthdates_are_real_past_days() {
        assert_eq!(check_birthdate("1990-04-21", "2026-12-01").unwrap(), "1990-04-21");
        assert!(check_birthdate("2000-02-29", "2026-12-01").is_ok());
        for bad in ["1999-02-29", "1990-13-01", "1990-4-21", "21.04.1990", "2027-01-01", "1899-12-31", ""] {
            assert!(check_birthdate(bad, "2026-12-01").is_err(), "{bad}");
        }
    }

    #[test]
    fn an_address_needs_a_town_and_a_country() {
        let mut f: HashMap<String, String> = HashMap::new();
        f.insert("claim.address.locality".into(), "Zürich".into());
        assert!(check_address(&f).is_err());
        f.insert("claim.address.country".into(), "CH".into());
        f.insert("claim.address.postal_code".into(), "8001".into());
        let a: serde_json::Value = serde_json::from_str(&check_address(&f).unwrap()).unwrap();
        assert_eq!(a["formatted"], "8001 Zürich\nCH");
        assert_eq!(a["country"], "CH");
    }
}
