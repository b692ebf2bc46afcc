//! `prompt` and `max_age` of an authorization request (OpenID Connect Core §3.1.2.1, OpenID
//! Connect Prompt Create 1.0), and when a session is recent enough for them.

use super::params::Params;
use crate::error::{Error, Result};

/// What the client asked about (re-)authentication.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    /// Show "Continue as …" / "Use another account" before answering.
    pub select_account: bool,
    /// OpenID Connect Prompt Create 1.0 §4: open the sign-up wording of the email page.
    pub create: bool,
}

/// The values Tessera implements, published as `prompt_values_supported`.
pub const PROMPT_VALUES_SUPPORTED: &[&str] = &["none", "login", "consent", "select_account", "create"];

/// Core §3.1.2.1: `none` must stand alone; unknown values are an error.
pub fn check_prompt(params: &Params) -> Result<Prompt> {
    let mut p = Prompt::default();
    let mut count = 0;
    for value in params.get("prompt").unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
        count += 1;
        match value {
            "none" => p.none = true,
            "login" => p.login = true,
            "consent" => p.consent = true,
            "select_account" => p.select_account = true,
            "create" => p.create = true,
            _ => return Err(Error::invalid_request("unsupported prompt value")),
        }
    }
    if p.none && count > 1 {
        return Err(Error::invalid_request("prompt=none cannot be combined with other values"));
    }
    Ok(p)
}

/// Core §3.1.2.1 `max_age`: a non-negative number of seconds.
pub fn check_max_age(params: &Params) -> Result<Option<i64>> {
    params
        .get("max_age")
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| Error::invalid_request("max_age must be a non-negative integer"))
        })
        .transpose()
}

/// Whether a session that authenticated at `auth_time` satisfies `max_age` at `now`. A sign-in
/// made for this very request always does (`signed_in_for_this_request`), however long the
/// consent or passkey-offer pages took after it; the arithmetic saturates.
pub fn recent_enough(max_age: Option<i64>, auth_time: i64, now: i64, signed_in_for_this_request: bool) -> bool {
    signed_in_for_this_request || max_age.is_none_or(|m| now.saturating_sub(auth_time) <= m.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(prompt: &str) -> Params {
        Params::from_pairs(vec![("prompt".into(), prompt.into())]).unwrap()
    }

    #[test]
    fn none_stands_alone() {
        for bad in ["none login", "none consent", "none select_account", "none create", "none none"] {
            assert!(check_prompt(&params(bad)).is_err(), "{bad}");
        }
        assert!(check_prompt(&params("nope")).is_err());
        let p = check_prompt(&params("login consent select_account")).unwrap();
        assert!(p.login && p.consent && p.select_account && !p.none);
        assert!(check_prompt(&params("create")).unwrap().create);
    }

    #[test]
    fn max_age_counts_from_the_sign_in_and_saturates() {
        assert!(recent_enough(None, 0, i64::MAX, false));
        assert!(recent_enough(Some(0), 1_000, 1_000, false));
        assert!(!recent_enough(Some(0), 1_000, 1_001, false));
        assert!(recent_enough(Some(0), 1_000, 90_000, true), "the sign-in for this request satisfies it");
        assert!(recent_enough(Some(i64::MAX), i64::MIN, i64::MAX, false), "no overflow");
        assert!(!recent_enough(Some(60), 0, 61_000, false));
    }
}
