//! When a privacy request must be answered: a table that is data (configuration key
//! `privacy_deadlines`, with the defaults below), and the pure rules that read it.
//!
//! Defaults: GDPR one month, extendable by two more months with the reasons recorded
//! (Art. 12(3)); CCPA/CPRA 45 days, extendable once by 45 (Cal. Civ. Code §1798.130(a)(2));
//! Korea's PIPA 10 days (Enforcement Decree Art. 41(4)); Japan's APPI "without delay"
//! (Art. 33(2)), 14 days unless configured otherwise. A table given in the configuration
//! replaces this one as a whole.

use chrono::{DateTime, Months, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;

/// One jurisdiction's deadline.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DeadlineRule {
    /// ISO 3166-1 alpha-2 codes ("DE"), or country and region ("US-CA"), this rule covers.
    pub countries: Vec<String>,
    /// Calendar months, then days, after receipt.
    pub months: u32,
    pub days: i64,
    /// How much longer it may take, with a recorded reason (0 and 0: no extension).
    pub extension_months: u32,
    pub extension_days: i64,
    /// The law, for whoever reads the table.
    pub source: String,
}

/// Every jurisdiction's rule, by name (`gdpr`, `ccpa`, `pipa`, `appi`, or the operator's own).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct DeadlineTable(pub BTreeMap<String, DeadlineRule>);

const EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT",
    "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

impl Default for DeadlineTable {
    fn default() -> Self {
        let rule = |countries: &[&str], months, days, extension_months, extension_days, source: &str| DeadlineRule {
            countries: countries.iter().map(|c| c.to_string()).collect(),
            months,
            days,
            extension_months,
            extension_days,
            source: source.into(),
        };
        DeadlineTable(BTreeMap::from([
            ("gdpr".to_string(), rule(EEA, 1, 0, 2, 0, "GDPR Art. 12(3)")),
            ("ccpa".to_string(), rule(&["US-CA"], 0, 45, 0, 45, "Cal. Civ. Code §1798.130(a)(2)")),
            ("pipa".to_string(), rule(&["KR"], 0, 10, 0, 0, "PIPA Enforcement Decree Art. 41(4)")),
            ("appi".to_string(), rule(&["JP"], 0, 14, 0, 0, "APPI Art. 33(2): without delay")),
        ]))
    }
}

impl DeadlineTable {
    pub fn rule(&self, jurisdiction: &str) -> Option<&DeadlineRule> {
        self.0.get(jurisdiction)
    }

    /// The jurisdiction of a customer in `country` (and `region`): the rule naming
    /// "COUNTRY-REGION" first, then one naming the country, else `default`.
    pub fn jurisdiction(&self, country: Option<&str>, region: Option<&str>, default: &str) -> String {
        let country = country.map(|c| c.trim().to_ascii_uppercase()).filter(|c| !c.is_empty());
        let Some(country) = country else { return default.to_string() };
        let region = region.map(|r| format!("{country}-{}", r.trim().to_ascii_uppercase()));
        let names = |code: &str| {
            self.0
                .iter()
                .find(|(_, r)| r.countries.iter().any(|c| c.eq_ignore_ascii_case(code)))
                .map(|(n, _)| n.clone())
        };
        region.as_deref().and_then(names).or_else(|| names(&country)).unwrap_or_else(|| default.to_string())
    }
}

/// `at` plus `months` calendar months (the same day of the month, or the month's last day)
/// and `days` days, in unix milliseconds.
fn after(at: i64, months: u32, days: i64) -> i64 {
    let start = DateTime::<Utc>::from_timestamp_millis(at).unwrap_or_default();
    let moved = start.checked_add_months(Months::new(months)).unwrap_or(start);
    moved.timestamp_millis() + days * DAY_MS
}

/// When a request received at `received_at` is due under `rule`.
pub fn due_at(rule: &DeadlineRule, received_at: i64) -> i64 {
    after(received_at, rule.months, rule.days)
}

/// How far the deadline `due_at` may be extended, or `None` where the law allows no extension.
pub fn extended_until(rule: &DeadlineRule, due_at: i64) -> Option<i64> {
    (rule.extension_months > 0 || rule.extension_days > 0)
        .then(|| after(due_at, rule.extension_months, rule.extension_days))
}

/// How an open request stands against its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Overdue,
    DueSoon,
}

/// `due` is the deadline in force (extended or not); "soon" is within `soon_days`.
pub fn flag(due: i64, now: i64, soon_days: i64) -> Option<Flag> {
    if now > due {
        Some(Flag::Overdue)
    } else if due - now <= soon_days * DAY_MS {
        Some(Flag::DueSoon)
    } else {
        None
    }
}

/// A span such as `3d`, `12h`, `2w` or `30m`, in milliseconds (`--due-within 3d`).
pub fn parse_span(text: &str) -> Option<i64> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let n: i64 = text[..text.len() - unit.len_utf8()].parse().ok().filter(|n| *n >= 0)?;
    let ms = match unit {
        'm' => 60_000,
        'h' => 3_600_000,
        'd' => DAY_MS,
        'w' => 7 * DAY_MS,
        _ => return None,
    };
    n.checked_mul(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp_millis()
    }

    #[test]
    fn each_jurisdiction_has_its_deadline_and_extension() {
        let table = DeadlineTable::default();
        let received = ms("2026-01-31T10:00:00Z");
        // (jurisdiction, due, extended until)
        let cases = [
            // GDPR Art. 12(3): one month (to the month's last day), then two more months.
            ("gdpr", "2026-02-28T10:00:00Z", Some("2026-04-28T10:00:00Z")),
            // Cal. Civ. Code §1798.130(a)(2): 45 days, once 45 more.
            ("ccpa", "2026-03-17T10:00:00Z", Some("2026-05-01T10:00:00Z")),
            // PIPA: 10 days, no extension.
            ("pipa", "2026-02-10T10:00:00Z", None),
            // APPI: without delay, 14 days by default.
            ("appi", "2026-02-14T10:00:00Z", None),
        ];
        for (j, due, extended) in cases {
            let rule = table.rule(j).unwrap();
            let d = due_at(rule, received);
            assert_eq!(d, ms(due), "{j}");
            assert_eq!(extended_until(rule, d), extended.map(ms), "{j}");
        }
    }

    #[test]
    fn the_country_names_the_jurisdiction_else_the_default() {
        let t = DeadlineTable::default();
        let cases = [
            (Some("DE"), None, "gdpr"),
            (Some("fr"), None, "gdpr"),
            (Some("US"), Some("CA"), "ccpa"),
            (Some("US"), Some("NY"), "fallback"),
            (Some("KR"), None, "pipa"),
            (Some("JP"), Some("13"), "appi"),
            (None, None, "fallback"),
            (Some(""), None, "fallback"),
        ];
        for (country, region, want) in cases {
            assert_eq!(t.jurisdiction(country, region, "fallback"), want, "{country:?} {region:?}");
        }
    }

    #[test]
    fn flags_and_spans() {
        let day = DAY_MS;
        assert_eq!(flag(10 * day, 11 * day, 3), Some(Flag::Overdue));
        assert_eq!(flag(10 * day, 8 * day, 3), Some(Flag::DueSoon));
        assert_eq!(flag(10 * day, 6 * day, 3), None);
        assert_eq!(parse_span("3d"), Some(3 * day));
        assert_eq!(parse_span("12h"), Some(12 * 3_600_000));
        assert_eq!(parse_span("2w"), Some(14 * day));
        for bad in ["", "d", "3", "-1d", "3y"] {
            assert_eq!(parse_span(bad), None, "{bad}");
        }
    }
}
