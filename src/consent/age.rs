//! The age of digital consent: below it, a parent or guardian agrees for a child to what an
//! app asks that requires an age check (GDPR Art. 8(1); KR PIPA Art. 22-2; US COPPA 16 CFR
//! 312.2). The table is data (`age_of_consent.toml`, overridable with the
//! `age_of_digital_consent` setting), not code. A customer's country is the `country` of their
//! address claim when it is an ISO 3166-1 alpha-2 code, else the `default_country` setting.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(Deserialize)]
struct Table {
    default: u32,
    countries: BTreeMap<String, u32>,
}

static BUILT_IN: LazyLock<Table> = LazyLock::new(|| {
    toml::from_str(include_str!("age_of_consent.toml")).expect("the built-in age of consent table is valid TOML")
});

/// `FR=15,US=13` (the `age_of_digital_consent` setting): the countries it names, or why not.
pub fn parse_overrides(text: &str) -> Result<Vec<(String, u32)>, String> {
    let mut out = Vec::new();
    for part in text.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
        let (country, age) = part.split_once('=').ok_or_else(|| format!("{part:?}: write COUNTRY=AGE"))?;
        let country = country_code(country).ok_or_else(|| format!("{country:?} is not a two-letter country code"))?;
        let age: u32 = age.trim().parse().map_err(|_| format!("{part:?}: the age must be a whole number"))?;
        if !(1..=21).contains(&age) {
            return Err(format!("{part:?}: an age of consent between 1 and 21"));
        }
        out.push((country, age));
    }
    Ok(out)
}

/// An ISO 3166-1 alpha-2 code, upper case, if `s` is one (`de` → `DE`).
pub fn country_code(s: &str) -> Option<String> {
    let s = s.trim();
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic())).then(|| s.to_ascii_uppercase())
}

/// The operator's settings: `default_country` and `age_of_digital_consent`.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub default_country: &'a str,
    pub overrides: &'a str,
}

/// The age of digital consent in `country`, with the operator's overrides.
pub fn for_country(config: Settings<'_>, country: Option<&str>) -> u32 {
    let country = country.and_then(country_code).or_else(|| country_code(config.default_country));
    let Some(country) = country else { return BUILT_IN.default };
    let overrides = parse_overrides(config.overrides).unwrap_or_default();
    if let Some((_, age)) = overrides.iter().find(|(c, _)| *c == country) {
        return *age;
    }
    BUILT_IN.countries.get(&country).copied().unwrap_or(BUILT_IN.default)
}

/// The country of an address claim (§5.1.1 JSON), when it names one by its code.
pub fn country_of_address(address: Option<&str>) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(address?).ok()?;
    country_code(v.get("country")?.as_str()?)
}

/// Full years between `birthdate` and `today` (both `YYYY-MM-DD`); `None` for a bad date.
pub fn age_on(birthdate: &str, today: &str) -> Option<u32> {
    let b = chrono::NaiveDate::parse_from_str(birthdate, "%Y-%m-%d").ok()?;
    let t = chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").ok()?;
    t.years_since(b)
}

/// Whether someone born on `birthdate`, living at `address`, is under the age of digital
/// consent `today`. An unreadable birthdate counts as under it (ask the guardian).
pub fn is_minor(config: Settings<'_>, birthdate: &str, address: Option<&str>, today: &str) -> bool {
    let age = for_country(config, country_of_address(address).as_deref());
    age_on(birthdate, today).is_none_or(|years| years < age)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config<'a>(default_country: &'a str, overrides: &'a str) -> Settings<'a> {
        Settings { default_country, overrides }
    }

    #[test]
    fn the_table_follows_the_law_country_by_country() {
        let c = config("", "");
        for (country, age) in [
            ("DE", 16),
            ("FR", 15),
            ("ES", 14),
            ("IT", 14),
            ("AT", 14),
            ("BE", 13),
            ("DK", 13),
            ("SE", 13),
            ("PT", 13),
            ("IE", 16),
            ("NL", 16),
            ("PL", 16),
            ("KR", 14),
            ("US", 13),
            ("GB", 13),
            ("kr", 14),
        ] {
            assert_eq!(for_country(c, Some(country)), age, "{country}");
        }
        assert_eq!(for_country(c, Some("ZZ")), 16, "GDPR Art. 8(1) default for a country not listed");
        assert_eq!(for_country(c, None), 16, "no country, no default country");
        assert_eq!(for_country(c, Some("Switzerland")), 16, "a name, not a code: the default");
    }

    #[test]
    fn the_default_country_and_overrides_are_settings() {
        let c = config("US", "FR=16, ZZ=12");
        assert_eq!(for_country(c, None), 13, "the default country's age");
        assert_eq!(for_country(c, Some("Switzerland")), 13);
        assert_eq!(for_country(c, Some("FR")), 16, "overridden");
        assert_eq!(for_country(c, Some("ZZ")), 12, "added");
        assert_eq!(for_country(c, Some("DE")), 16, "untouched");
        assert!(parse_overrides("FR").is_err() && parse_overrides("France=15").is_err());
        assert!(parse_overrides("FR=0").is_err() && parse_overrides("FR=x").is_err());
    }

    #[test]
    fn a_minor_is_under_the_age_for_their_country_on_the_day() {
        let c = config("", "");
        let fr = Some(r#"{"country":"FR","locality":"Paris"}"#);
        assert!(is_minor(c, "2011-12-02", fr, "2026-12-01"), "14 and a day short of 15");
        assert!(!is_minor(c, "2011-12-01", fr, "2026-12-01"), "15 today");
        assert!(is_minor(c, "2011-12-01", None, "2026-12-01"), "15 is under the default 16");
        let us = Some(r#"{"country":"us"}"#);
        assert!(!is_minor(c, "2012-06-01", us, "2026-12-01"), "14 in the US");
        assert_eq!(age_on("2000-02-29", "2026-02-28"), Some(25));
        assert_eq!(age_on("2000-02-29", "2026-03-01"), Some(26));
    }
}
