//! Customer identity rules that do not need the store: what an email address is.

/// An email address in the form Tessera stores: trimmed, lowercased, plausibly shaped.
/// Whether it is really the customer's is proven by the sign-in mail, not here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Option<EmailAddress> {
        let s = input.trim().to_lowercase();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c)) {
            return None;
        }
        let (local, domain) = s.split_once('@')?;
        let labels_ok = domain.split('.').all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
        if local.is_empty() || local.len() > 64 || domain.contains('@') || !domain.contains('.') || !labels_ok {
            return None;
        }
        Some(EmailAddress(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised_and_checked() {
        assert_eq!(EmailAddress::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "a@b@example.com",
            "ada@example",
            "a da@example.com",
            "ada@-x.com",
            "<a>@x.com",
        ] {
            assert!(EmailAddress::parse(bad).is_none(), "{bad}");
        }
    }
}
