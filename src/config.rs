//! Configuration: built-in defaults < TOML file (`--config` / `TESSERA_CONFIG`) < `TESSERA_*`
//! environment variables. `validate()` runs once at start; every error names the key.

use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier (OpenID Connect Discovery §3); every endpoint hangs off it.
    pub issuer: String,
    /// Socket address to listen on.
    pub listen: String,
    /// Where the embedded database, generated keys and the outbox live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means `sqlite://<data_dir>/tessera.db`.
    pub database_url: String,
    /// Maximum pooled database connections (readers; SQLite always has one writer).
    pub db_max_connections: u32,
    /// `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS) or `smtps://…`.
    /// Empty means mail is written to `outbox_dir` as .eml files.
    pub smtp_url: String,
    /// Empty means `<data_dir>/outbox`.
    pub outbox_dir: String,
    pub mail_from: String,
    /// Default JWS algorithm for ID and access tokens: ES256, RS256 or EdDSA.
    pub signing_alg: String,
    /// Base64 of 32 random bytes that encrypts secrets at rest. Empty means a key file is
    /// generated in `data_dir` on first start (with a warning).
    pub master_key: String,
    pub code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub session_ttl_secs: i64,
    /// Session lifetime when the person ticks "Keep me signed in".
    pub persistent_session_ttl_secs: i64,
    pub sign_in_link_ttl_secs: i64,
    pub authorization_request_ttl_secs: i64,
    /// Sign-in mails per address per 15 minutes.
    pub sign_in_mails_per_address: u64,
    /// Sign-in mails per client IP per 15 minutes.
    pub sign_in_mails_per_ip: u64,
    /// How long cached clients are trusted before re-reading them from the store.
    pub client_cache_secs: i64,
    /// WebAuthn relying party id; empty means the issuer's host.
    pub webauthn_rp_id: String,
    /// The origin passkey ceremonies run on; empty means the issuer's origin.
    pub webauthn_origin: String,
    /// The name authenticators show for this site.
    pub webauthn_rp_name: String,
    // Issue #10, federation slice: outgoing requests to upstream providers.
    /// Let connectors (and the URLs their discovery documents name) reach loopback, private,
    /// CGNAT and unique-local addresses, and use plain http there. For development and tests
    /// only: otherwise a connector is a way into the internal network (SSRF).
    pub federation_allow_private_networks: bool,
    /// The strongest acr a connector may assert (default: the email level); a provider's
    /// sign-in is not proven to Tessera beyond what it vouches for.
    pub federation_acr_ceiling: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: "http://localhost:8080".into(),
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            db_max_connections: 8,
            smtp_url: String::new(),
            outbox_dir: String::new(),
            mail_from: "Tessera <no-reply@localhost>".into(),
            signing_alg: "ES256".into(),
            master_key: String::new(),
            code_ttl_secs: 60,
            access_token_ttl_secs: 600,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 86400,
            session_ttl_secs: 86400,
            persistent_session_ttl_secs: 30 * 86400,
            sign_in_link_ttl_secs: 15 * 60,
            authorization_request_ttl_secs: 30 * 60,
            sign_in_mails_per_address: 5,
            sign_in_mails_per_ip: 30,
            client_cache_secs: 10,
            webauthn_rp_id: String::new(),
            webauthn_origin: String::new(),
            webauthn_rp_name: "Tessera".into(),
            // Issue #10, federation slice.
            federation_allow_private_networks: false,
            federation_acr_ceiling: crate::login::session::ACR_EMAIL.into(),
        }
    }
}

/// A configuration problem, naming the key (and its environment variable).
#[derive(Debug)]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration key `{}` (env TESSERA_{}): {}", self.key, self.key.to_uppercase(), self.message)
    }
}

impl std::error::Error for ConfigError {}

fn err(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), message: message.into() }
}

/// Environment variables under `TESSERA_` that are not configuration keys.
const NON_CONFIG_ENV: &[&str] = &["CONFIG", "LOG"];

impl Config {
    /// Defaults, then the TOML file if given, then `TESSERA_*` variables from `env`.
    pub fn load(
        file: Option<&std::path::Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| err("config", format!("cannot read {}: {e}", path.display())))?;
                text.parse::<toml::Table>()
                    .map_err(|e| err("config", format!("{} is not valid TOML: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let Some(key) = name.strip_prefix("TESSERA_") else {
                continue;
            };
            if NON_CONFIG_ENV.contains(&key) || key.starts_with("TEST_") {
                continue;
            }
            // A number or boolean is taken as such; anything else is a string.
            let parsed = format!("v = {value}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .filter(|v| !v.is_str() && !v.is_table() && !v.is_array())
                .unwrap_or(toml::Value::String(value));
            table.insert(key.to_lowercase(), parsed);
        }
        // Re-serialise and parse as a document so errors carry a span, which names the key.
        let doc = toml::to_string(&table).map_err(|e| err("config", e.to_string()))?;
        let config: Config = toml::from_str(&doc).map_err(|e: toml::de::Error| {
            let msg = e.message().to_string();
            let key = e
                .span()
                .and_then(|span| {
                    let line_start = doc[..span.start].rfind('\n').map_or(0, |i| i + 1);
                    let line = &doc[line_start..];
                    line.split_once('=').map(|(k, _)| k.trim().trim_matches('"').to_string())
                })
                .filter(|k| !k.is_empty() && !k.contains('\n'))
                .or_else(|| msg.split('`').nth(1).map(str::to_string))
                .unwrap_or_else(|| "config".into());
            err(&key, msg)
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let issuer = url::Url::parse(&self.issuer).map_err(|e| err("issuer", format!("not an absolute URL: {e}")))?;
        // OpenID Connect Discovery §3: https, no query or fragment. Plain http is allowed
        // only for loopback development.
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(err("issuer", "must not have a query or fragment"));
        }
        if self.issuer.ends_with('/') {
            return Err(err("issuer", "must not end with a slash"));
        }
        match issuer.scheme() {
            "https" => {}
            "http" if is_loopback(issuer.host_str().unwrap_or("")) => {}
            "http" => return Err(err("issuer", "must use https (http only for localhost)")),
            _ => return Err(err("issuer", "must be an https URL")),
        }
        self.listen
            .parse::<std::net::SocketAddr>()
            .map_err(|_| err("listen", "must be an address like 127.0.0.1:8080"))?;
        let db = self.database_url();
        if !(db.starts_with("sqlite:") || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return Err(err("database_url", "must start with sqlite: or postgres://"));
        }
        if !self.smtp_url.is_empty() {
            let u = url::Url::parse(&self.smtp_url).map_err(|e| err("smtp_url", format!("not a URL: {e}")))?;
            if u.scheme() != "smtp" && u.scheme() != "smtps" {
                return Err(err("smtp_url", "must start with smtp:// or smtps://"));
            }
        }
        if !self.mail_from.contains('@') {
            return Err(err("mail_from", "must be a mail address like Tessera <no-reply@example.com>"));
        }
        if crate::crypto::keys::Alg::parse(&self.signing_alg).is_none() {
            return Err(err("signing_alg", "must be one of ES256, RS256, EdDSA"));
        }
        if !self.master_key.is_empty() && crate::crypto::sealed::MasterKey::from_base64(&self.master_key).is_none() {
            return Err(err("master_key", "must be the base64 of exactly 32 bytes"));
        }
        for (key, v) in [
            ("code_ttl_secs", self.code_ttl_secs),
            ("access_token_ttl_secs", self.access_token_ttl_secs),
            ("id_token_ttl_secs", self.id_token_ttl_secs),
            ("refresh_token_ttl_secs", self.refresh_token_ttl_secs),
            ("session_ttl_secs", self.session_ttl_secs),
            ("persistent_session_ttl_secs", self.persistent_session_ttl_secs),
            ("sign_in_link_ttl_secs", self.sign_in_link_ttl_secs),
            ("authorization_request_ttl_secs", self.authorization_request_ttl_secs),
        ] {
            if v <= 0 {
                return Err(err(key, "must be a positive number of seconds"));
            }
        }
        let origin = url::Url::parse(&self.webauthn_origin())
            .map_err(|e| err("webauthn_origin", format!("not an absolute URL: {e}")))?;
        let rp_id = self.webauthn_rp_id();
        // WebAuthn §5.1.3: the RP ID must be the origin's effective domain or a suffix of it.
        let host = origin.host_str().unwrap_or("");
        if !(host == rp_id || host.ends_with(&format!(".{rp_id}"))) {
            return Err(err(
                "webauthn_rp_id",
                format!("`{rp_id}` is not the host of {origin} or a parent domain of it"),
            ));
        }
        if self.db_max_connections == 0 {
            return Err(err("db_max_connections", "must be at least 1"));
        }
        // Issue #10, federation slice.
        if crate::login::session::acr_level(&self.federation_acr_ceiling).is_none() {
            return Err(err(
                "federation_acr_ceiling",
                format!("must be one of {}", crate::login::session::ACR_VALUES_SUPPORTED.join(", ")),
            ));
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}/tessera.db?mode=rwc", self.data_dir.display())
        } else {
            self.database_url.clone()
        }
    }

    pub fn outbox_dir(&self) -> PathBuf {
        if self.outbox_dir.is_empty() { self.data_dir.join("outbox") } else { PathBuf::from(&self.outbox_dir) }
    }

    pub fn webauthn_origin(&self) -> String {
        if self.webauthn_origin.is_empty() {
            url::Url::parse(&self.issuer).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
        } else {
            self.webauthn_origin.clone()
        }
    }

    pub fn webauthn_rp_id(&self) -> String {
        if self.webauthn_rp_id.is_empty() {
            url::Url::parse(&self.webauthn_origin())
                .ok()
                .and_then(|u| u.host_str().map(String::from))
                .unwrap_or_default()
        } else {
            self.webauthn_rp_id.clone()
        }
    }

    /// Cookies get the `__Host-` prefix and `Secure` when the issuer is https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.issuer, "http://localhost:8080");
        assert!(c.database_url().starts_with("sqlite://"));
    }

    #[test]
    fn env_overrides_and_numbers() {
        let c = Config::load(None, env(&[("TESSERA_CODE_TTL_SECS", "30"), ("TESSERA_ISSUER", "https://id.example")]))
            .unwrap();
        assert_eq!(c.code_ttl_secs, 30);
        assert!(c.secure_cookies());
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = Config::load(None, env(&[("TESSERA_ISSUER", "http://id.example")])).unwrap_err();
        assert_eq!(e.key, "issuer");
        let e = Config::load(None, env(&[("TESSERA_LISTEN", "nowhere")])).unwrap_err();
        assert_eq!(e.key, "listen");
        assert!(e.to_string().contains("TESSERA_LISTEN"));
        let e = Config::load(None, env(&[("TESSERA_SIGNING_ALG", "HS256")])).unwrap_err();
        assert_eq!(e.key, "signing_alg");
        let e = Config::load(None, env(&[("TESSERA_WEBAUTHN_RP_ID", "other.example")])).unwrap_err();
        assert_eq!(e.key, "webauthn_rp_id");
        let e = Config::load(None, env(&[("TESSERA_CODE_TTL_SECS", "soon")])).unwrap_err();
        assert_eq!(e.key, "code_ttl_secs", "{e}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = Config::load(None, env(&[("TESSERA_ISSUR", "https://id.example")])).unwrap_err();
        assert!(e.to_string().contains("issur"), "{e}");
    }
    // Issue #10, federation slice.
    #[test]
    fn federation_settings_default_to_the_safe_side_and_are_checked() {
        let c = Config::load(None, env(&[])).unwrap();
        assert!(!c.federation_allow_private_networks);
        assert_eq!(c.federation_acr_ceiling, crate::login::session::ACR_EMAIL);
        let c = Config::load(None, env(&[("TESSERA_FEDERATION_ALLOW_PRIVATE_NETWORKS", "true")])).unwrap();
        assert!(c.federation_allow_private_networks);
        let e = Config::load(None, env(&[("TESSERA_FEDERATION_ACR_CEILING", "urn:nope")])).unwrap_err();
        assert_eq!(e.key, "federation_acr_ceiling");
    }
}
