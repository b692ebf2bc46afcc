//! Validation of the configuration at start: every error names the key (and its variable).

use super::{Config, ConfigError, err, is_loopback};
use crate::web::client_ip::ForwardedHeader;

impl Config {
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
        self.validate_tls()?;
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(err("log_format", "must be text or json"));
        }
        if !self.metrics_listen.is_empty() && self.metrics_listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(err("metrics_listen", "must be empty (no metrics) or an address like 127.0.0.1:9464"));
        }
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
        // Mail in the outbox folder holds live sign-in links: fine on a developer's machine,
        // an account-takeover risk on a server, so a public issuer must ask for it by name.
        if self.smtp_url.is_empty() && !self.loopback_issuer() && !self.mail_outbox_in_production {
            return Err(err(
                "smtp_url",
                "is empty, so mail (with sign-in links) would be written to the outbox folder on a public \
                 server; set smtp_url, or set mail_outbox_in_production = true if that is deliberate",
            ));
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
        if self
            .master_key_previous
            .split_whitespace()
            .any(|k| crate::crypto::sealed::MasterKey::from_base64(k).is_none())
        {
            return Err(err("master_key_previous", "must be base64 keys of exactly 32 bytes, separated by spaces"));
        }
        if self.key_rotation_days < 0 || self.key_rotation_lead_secs < 0 {
            return Err(err("key_rotation_days", "key_rotation_days and key_rotation_lead_secs cannot be negative"));
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
            ("session_idle_timeout_secs", self.session_idle_timeout_secs),
            ("offline_access_max_lifetime_secs", self.offline_access_max_lifetime_secs),
            ("guardian_link_ttl_secs", self.guardian_link_ttl_secs),
        ] {
            if v <= 0 {
                return Err(err(key, "must be a positive number of seconds"));
            }
        }
        for o in self.cors_allowed_origins.split_whitespace() {
            if super::origin_of(o).as_deref() != Some(o) {
                return Err(err("cors_allowed_origins", format!("{o:?} is not an origin like https://app.example")));
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
        // Issue #10, cross-device slice.
        if self.sign_in_mails_per_address_all_networks == 0 {
            return Err(err("sign_in_mails_per_address_all_networks", "must be at least 1"));
        }
        if !(1..=15 * 60).contains(&self.sign_in_mails_slowed_interval_secs) {
            return Err(err("sign_in_mails_slowed_interval_secs", "must be between 1 and 900 seconds"));
        }
        // Issue #12: a year and a bit by default; at most a century (the cut-off stays a sane
        // number of milliseconds).
        if !(1..=36_500).contains(&self.audit_retention_days) {
            return Err(err("audit_retention_days", "must be between 1 and 36500 days"));
        }
        // Issue #10, federation slice.
        if crate::session::acr_level(&self.federation_acr_ceiling).is_none() {
            return Err(err(
                "federation_acr_ceiling",
                format!("must be one of {}", crate::session::ACR_VALUES_SUPPORTED.join(", ")),
            ));
        }
        // Issue #13: minors and guardians.
        if !self.default_country.is_empty() && crate::consent::age::country_code(&self.default_country).is_none() {
            return Err(err("default_country", "must be a two-letter country code like DE (ISO 3166-1 alpha-2)"));
        }
        crate::consent::age::parse_overrides(&self.age_of_digital_consent)
            .map_err(|e| err("age_of_digital_consent", e))?;
        self.validate_privacy()?;
        self.validate_abuse_limits()
    }

    /// Issue #14: privacy requests and retention.
    fn validate_privacy(&self) -> Result<(), ConfigError> {
        if self.privacy_deadlines.rule(&self.privacy_default_jurisdiction).is_none() {
            return Err(err("privacy_default_jurisdiction", "must name a rule of privacy_deadlines"));
        }
        for (name, rule) in &self.privacy_deadlines.0 {
            let sane = (0..=24).contains(&rule.months)
                && (0..=730).contains(&rule.days)
                && (0..=24).contains(&rule.extension_months)
                && (0..=730).contains(&rule.extension_days);
            if !sane || (rule.months == 0 && rule.days == 0) {
                return Err(err(
                    "privacy_deadlines",
                    format!("{name}: a deadline of 1 day to 2 years, extensions up to 2 years"),
                ));
            }
        }
        let days = [
            ("deletion_grace_days", self.deletion_grace_days, 0),
            ("privacy_due_soon_days", self.privacy_due_soon_days, 0),
            ("session_retention_days", self.session_retention_days, 0),
            ("unverified_account_retention_days", self.unverified_account_retention_days, 1),
        ];
        for (key, value, least) in days {
            if !(least..=36_500).contains(&value) {
                return Err(err(key, format!("must be between {least} and 36500 days")));
            }
        }
        if !(60..=30 * 86_400).contains(&self.export_link_ttl_secs) {
            return Err(err("export_link_ttl_secs", "must be between 60 seconds and 30 days"));
        }
        if !self.privacy_contact.is_empty() && self.privacy_contact.parse::<lettre::message::Mailbox>().is_err() {
            return Err(err("privacy_contact", "must be a mail address"));
        }
        Ok(())
    }

    /// Built-in TLS: both files or neither; the files themselves are read (and checked) when
    /// `serve` starts, so that other commands run where the key is not readable.
    fn validate_tls(&self) -> Result<(), ConfigError> {
        match (self.tls_cert_file.is_empty(), self.tls_key_file.is_empty()) {
            (true, true) => return Ok(()),
            (false, true) => {
                return Err(err(
                    "tls_key_file",
                    "is empty but tls_cert_file is set: built-in TLS needs the certificate and its private key \
                     (both PEM files), or neither for plain HTTP behind a proxy",
                ));
            }
            (true, false) => {
                return Err(err(
                    "tls_cert_file",
                    "is empty but tls_key_file is set: built-in TLS needs the certificate and its private key \
                     (both PEM files), or neither for plain HTTP behind a proxy",
                ));
            }
            (false, false) => {}
        }
        // Clients reach a server that speaks TLS itself at an https address, and the issuer
        // is that address (OpenID Connect Discovery §4.3: the issuer must match exactly).
        if !self.issuer.starts_with("https://") {
            return Err(err("issuer", "must be an https URL when built-in TLS is on (tls_cert_file)"));
        }
        if !(1..=3600).contains(&self.tls_reload_secs) {
            return Err(err("tls_reload_secs", "must be between 1 and 3600 seconds"));
        }
        Ok(())
    }

    /// What `serve` checks beyond `validate`: several nodes need one shared ephemeral store.
    pub fn check_cluster(&self) -> Result<(), ConfigError> {
        if self.cluster && self.redis_url.is_empty() {
            let db = if self.database_url().starts_with("sqlite:") { "" } else { " on PostgreSQL" };
            return Err(err(
                "redis_url",
                format!(
                    "is empty but cluster = true{db}: every node must share pending sign-ins, codes and rate \
                     limits, so set redis_url (TESSERA_REDIS_URL), or set cluster = false to run one node"
                ),
            ));
        }
        Ok(())
    }

    fn validate_abuse_limits(&self) -> Result<(), ConfigError> {
        if ForwardedHeader::parse(&self.forwarded_header).is_none() {
            return Err(err("forwarded_header", "must be x-forwarded-for or forwarded"));
        }
        if self.ephemeral_max_entries < 1000 {
            return Err(err("ephemeral_max_entries", "must be at least 1000"));
        }
        if self.ephemeral_max_bytes < 1024 * 1024 {
            return Err(err("ephemeral_max_bytes", "must be at least 1048576 (1 MiB)"));
        }
        if !self.redis_url.is_empty() {
            let u = url::Url::parse(&self.redis_url).map_err(|e| err("redis_url", format!("not a URL: {e}")))?;
            if !matches!(u.scheme(), "redis" | "rediss" | "redis+unix" | "unix") {
                return Err(err("redis_url", "must start with redis:// or rediss://"));
            }
        }
        let prefix_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_' | '.');
        if self.ephemeral_prefix.len() > 64 || !self.ephemeral_prefix.chars().all(prefix_ok) {
            return Err(err("ephemeral_prefix", "must be at most 64 letters, digits, ':', '-', '_' or '.'"));
        }
        for (key, v) in [
            ("authorize_per_minute", self.authorize_per_minute),
            ("passkey_sign_in_starts_per_minute", self.passkey_sign_in_starts_per_minute),
            ("federated_sign_ins_per_minute", self.federated_sign_ins_per_minute),
        ] {
            if v == 0 {
                return Err(err(key, "must be at least 1"));
            }
        }
        Ok(())
    }
}
