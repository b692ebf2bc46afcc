//! Consent as a model of its own: purposes (what the brand may do with a customer's data),
//! the versioned policies they belong to, the purposes each client may ask for, and the
//! ledger that records every grant and withdrawal as proof.

pub mod ledger;
pub mod policies;
pub mod purposes;

/// An id of a purpose or policy: lowercase letters, digits, `.`, `-` and `_`, 1 to 64 long,
/// starting with a letter (it travels as `purpose:<id>` in a scope value, RFC 6749 §3.3).
pub fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && id.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_plain_words_that_fit_in_a_scope() {
        for good in ["marketing.email", "personalisation", "share.partners", "privacy", "tos-2"] {
            assert!(super::valid_id(good), "{good}");
        }
        for bad in ["", "Marketing", "9lives", "a b", "purpose:x", "x\"y", &"a".repeat(65)] {
            assert!(!super::valid_id(bad), "{bad}");
        }
    }
}
