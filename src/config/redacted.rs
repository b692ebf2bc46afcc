//! `Debug` for `Config` that never prints a secret: the master key and anything named like
//! a secret, password or token is replaced, and so is the password inside a URL
//! (`smtp_url`, `database_url`). Built from the serialised form, so a key added later is
//! printed (and redacted by its name) without anyone remembering to list it here.

use super::Config;
use std::fmt;

const REDACTED: &str = "[redacted]";

fn is_secret_name(key: &str) -> bool {
    key.starts_with("master_key") || key.contains("secret") || key.contains("password")
}

fn redact(key: &str, value: &toml::Value) -> String {
    match value.as_str() {
        Some("") => value.to_string(),
        Some(_) if is_secret_name(key) => REDACTED.to_string(),
        Some(text) if key.ends_with("_url") => match url::Url::parse(text) {
            Ok(mut u) if u.password().is_some() => {
                // A valid URL accepts a password when it already has one.
                let _ = u.set_password(Some("redacted"));
                toml::Value::String(u.to_string()).to_string()
            }
            Ok(_) => value.to_string(),
            // Unparseable: it might still embed credentials.
            Err(_) => REDACTED.to_string(),
        },
        _ => value.to_string(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Config");
        // A key whose type TOML cannot express: show the least, never fail (a failing Debug
        // would panic inside `format!`).
        let Ok(table) = toml::Table::try_from(self) else {
            return d.field("issuer", &self.issuer).finish_non_exhaustive();
        };
        for (key, value) in &table {
            d.field(key, &format_args!("{}", redact(key, value)));
        }
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_url_passwords_are_redacted() {
        let url = toml::Value::String("postgres://app:pw-123@db.example/tessera".into());
        let shown = redact("database_url", &url);
        assert!(shown.contains("db.example") && !shown.contains("pw-123"), "{shown}");
        assert_eq!(redact("connector_client_secret", &toml::Value::String("x".into())), REDACTED);
        assert_eq!(redact("issuer", &toml::Value::String("https://id.example".into())), "\"https://id.example\"");
        assert_eq!(redact("master_key", &toml::Value::String(String::new())), "\"\"");
    }
}
