//! Configuration: built-in defaults < TOML file (`--config` / `TESSERA_CONFIG`) < `TESSERA_*`
//! environment variables. `validate()` runs once at start; every error names the key.

mod redacted;
mod validate;

use crate::web::client_ip::{ForwardedHeader, TrustedProxies};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// `Debug` is written by hand in `config/redacted.rs`: it never prints a secret.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier (OpenID Connect Discovery §3); every endpoint hangs off it.
    pub issuer: String,
    /// Socket address to listen on.
    pub listen: String,
    /// Built-in TLS on `listen` (issue #15, for a deployment without a reverse proxy): the
    /// PEM certificate chain, leaf first. Set with `tls_key_file`, or neither (plain HTTP).
    pub tls_cert_file: String,
    /// The PEM private key of `tls_cert_file` (PKCS#8, SEC1 or PKCS#1).
    pub tls_key_file: String,
    /// How often the two files are read again; a new valid pair is served from the next
    /// connection on, an invalid one is logged and the previous pair kept.
    pub tls_reload_secs: u64,
    /// `text` (readable, the default) or `json` (one object per line, with the request id).
    pub log_format: String,
    /// Where Prometheus metrics are served (`/metrics`), apart from the public listener;
    /// empty (the default) serves none.
    pub metrics_listen: String,
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
    /// Earlier master keys, space-separated, during a master-key rotation: values sealed
    /// under them still open; everything new is sealed with `master_key`. Empty once
    /// `tessera master-key rotate` has re-sealed everything.
    pub master_key_previous: String,
    pub code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub session_ttl_secs: i64,
    /// Session lifetime when the person ticks "Keep me signed in".
    pub persistent_session_ttl_secs: i64,
    pub sign_in_link_ttl_secs: i64,
    pub authorization_request_ttl_secs: i64,
    /// Sign-in mails per address per 15 minutes, counted per (address, client network).
    pub sign_in_mails_per_address: u64,
    /// Sign-in mails per client network (IPv4 address, IPv6 /64) per 15 minutes.
    pub sign_in_mails_per_ip: u64,
    /// How long cached clients are trusted before re-reading them from the store.
    pub client_cache_secs: i64,
    /// WebAuthn relying party id; empty means the issuer's host.
    pub webauthn_rp_id: String,
    /// The origin passkey ceremonies run on; empty means the issuer's origin.
    pub webauthn_origin: String,
    /// The name authenticators show for this site.
    pub webauthn_rp_name: String,
    // Sessions (issue #10: session hygiene).
    /// A session not used for this long ends, whatever its lifetime (default a week).
    pub session_idle_timeout_secs: i64,
    /// OpenID Connect Core §11: a token family granted `offline_access` ends this long after
    /// it was granted, however often it is refreshed (default 90 days).
    pub offline_access_max_lifetime_secs: i64,
    // Browser apps (issue #11: CORS).
    /// Web origins allowed to call /token, /userinfo, /introspect and /revoke from a browser,
    /// besides the origins of registered redirect URIs; space-separated, e.g.
    /// `"https://shop.example https://app.example"`.
    pub cors_allowed_origins: String,
    // Issue #10, cross-device slice: mail limits a stranger cannot turn against a customer.
    /// Sign-in mails to one address from all networks together per 15 minutes, before
    /// further mails to it are slowed down (never refused for good).
    pub sign_in_mails_per_address_all_networks: u64,
    /// Past that cap, at least this long between two sign-in mails to the address.
    pub sign_in_mails_slowed_interval_secs: i64,
    // -- Issue #10, "Secrets stay secret" (i10-secrets) --
    /// Without `smtp_url`, mail (sign-in links!) is written to the outbox folder. That is
    /// refused at start for a non-loopback issuer unless this is set deliberately.
    pub mail_outbox_in_production: bool,
    // --- Abuse limits (issue #10, slice i10-abuse): client address, memory, request rates ---
    /// Reverse proxies (CIDR list, or one comma-separated string) whose forwarding header is
    /// believed. Empty: none; the TCP peer is the client.
    pub trusted_proxies: TrustedProxies,
    /// The header the trusted proxies write: `x-forwarded-for` or `forwarded` (RFC 7239).
    pub forwarded_header: String,
    /// Most values the in-process ephemeral store holds (pending requests, ceremonies,
    /// counters); past it the oldest pending authorization requests are evicted first.
    pub ephemeral_max_entries: usize,
    /// Most bytes it holds, counted as key + value + 192 per entry.
    pub ephemeral_max_bytes: usize,
    /// Put before every ephemeral key: deployments that share one store (Redis) keep apart.
    pub ephemeral_prefix: String,
    /// `/authorize` requests per client network (IPv4 address or IPv6 /64) per minute.
    pub authorize_per_minute: u64,
    /// `/passkey/sign-in/start` requests per client network per minute.
    pub passkey_sign_in_starts_per_minute: u64,
    /// `/login/federated/*` requests (start and callback) per client network per minute.
    pub federated_sign_ins_per_minute: u64,
    // Issue #10, federation slice: outgoing requests to upstream providers.
    /// Let connectors (and the URLs their discovery documents name) reach loopback, private,
    /// CGNAT and unique-local addresses, and use plain http there. For development and tests
    /// only: otherwise a connector is a way into the internal network (SSRF).
    pub federation_allow_private_networks: bool,
    /// The strongest acr a connector may assert (default: the email level); a provider's
    /// sign-in is not proven to Tessera beyond what it vouches for.
    pub federation_acr_ceiling: String,
    // Issue #12: the audit log.
    /// Audit entries older than this many days are deleted by the worker (default 400).
    pub audit_retention_days: i64,
    // Issue #12: the background worker (event outbox, back-channel logout).
    /// How often the worker runs its jobs, in milliseconds; 0: no worker in this process.
    pub worker_interval_ms: u64,
    // Issue #13: minors and guardians.
    /// The country (ISO 3166-1 alpha-2) of a customer whose address names none.
    pub default_country: String,
    /// Overrides of the built-in age of digital consent table: `FR=15,US=13`.
    pub age_of_digital_consent: String,
    /// How long a guardian's approval link can decide (default 7 days).
    pub guardian_link_ttl_secs: i64,
    // Issue #14: privacy requests and retention (see `privacy`; the README says why).
    /// Where the worker mails overdue and nearly-due privacy requests; empty: nobody.
    pub privacy_contact: String,
    /// The jurisdiction of a customer whose country no deadline rule names.
    pub privacy_default_jurisdiction: String,
    /// Legal deadlines per jurisdiction: data, not code (`privacy::deadlines`).
    pub privacy_deadlines: crate::privacy::deadlines::DeadlineTable,
    /// Open requests due within this many days are flagged as nearly due.
    pub privacy_due_soon_days: i64,
    /// Days between a deletion request and the erasure, during which it can be cancelled.
    pub deletion_grace_days: i64,
    /// How long the one-time link to an export archive works.
    pub export_link_ttl_secs: i64,
    /// Ended (expired) sessions are deleted this many days after they ended.
    pub session_retention_days: i64,
    /// Accounts that never finished a first sign-in are deleted after this many days.
    pub unverified_account_retention_days: i64,
    // Issue #15: several nodes.
    /// `redis://host:port/db` (or `rediss://…`): the ephemeral store shared by every node,
    /// and the channel that tells them configuration changed. Empty: in-process (one node).
    pub redis_url: String,
    /// This node is one of several behind a load balancer: `serve` refuses to start without
    /// `redis_url`, since pending sign-ins and codes must be seen by every node.
    pub cluster: bool,
    // Issue #15: key rotation.
    /// Rotate signing keys every this many days (the worker does it); 0: only by hand.
    pub key_rotation_days: i64,
    /// A new signing key is published this long before it signs (OIDC Core §10.1.1: relying
    /// parties' JWKS caches see it first). `tessera keys rotate --lead-time` overrides it.
    pub key_rotation_lead_secs: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: "http://localhost:8080".into(),
            listen: "127.0.0.1:8080".into(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_reload_secs: 10,
            log_format: "text".into(),
            metrics_listen: String::new(),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            db_max_connections: 8,
            smtp_url: String::new(),
            outbox_dir: String::new(),
            mail_from: "Tessera <no-reply@localhost>".into(),
            signing_alg: "ES256".into(),
            master_key: String::new(),
            master_key_previous: String::new(),
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
            session_idle_timeout_secs: 7 * 86400,
            offline_access_max_lifetime_secs: 90 * 86400,
            cors_allowed_origins: String::new(),
            // Issue #10, cross-device slice.
            sign_in_mails_per_address_all_networks: 20,
            sign_in_mails_slowed_interval_secs: 60,
            // i10-secrets
            mail_outbox_in_production: false,
            // Abuse limits (slice i10-abuse)
            trusted_proxies: TrustedProxies::default(),
            forwarded_header: "x-forwarded-for".into(),
            ephemeral_max_entries: 100_000,
            ephemeral_max_bytes: 64 * 1024 * 1024,
            ephemeral_prefix: "tessera:".into(),
            authorize_per_minute: 600,
            passkey_sign_in_starts_per_minute: 120,
            federated_sign_ins_per_minute: 60,
            // Issue #10, federation slice.
            federation_allow_private_networks: false,
            federation_acr_ceiling: crate::session::ACR_EMAIL.into(),
            audit_retention_days: 400,
            worker_interval_ms: 500,
            default_country: String::new(),
            age_of_digital_consent: String::new(),
            guardian_link_ttl_secs: 7 * 86400,
            privacy_contact: String::new(),
            privacy_default_jurisdiction: "gdpr".into(),
            privacy_deadlines: crate::privacy::deadlines::DeadlineTable::default(),
            privacy_due_soon_days: 3,
            deletion_grace_days: 7,
            export_link_ttl_secs: 24 * 3600,
            session_retention_days: 30,
            unverified_account_retention_days: 30,
            redis_url: String::new(),
            cluster: false,
            key_rotation_days: 0,
            key_rotation_lead_secs: 86400,
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

    /// The forwarding header trusted proxies write (validated at start).
    pub fn forwarded_header(&self) -> ForwardedHeader {
        ForwardedHeader::parse(&self.forwarded_header).unwrap_or(ForwardedHeader::XForwardedFor)
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

    /// A development issuer (`localhost`, `127.0.0.1`, `[::1]`), where logging sign-in links
    /// and writing mail to the outbox folder are conveniences rather than leaks.
    pub fn loopback_issuer(&self) -> bool {
        url::Url::parse(&self.issuer).is_ok_and(|u| is_loopback(u.host_str().unwrap_or("")))
    }

    /// Built-in TLS: the certificate and key files, when both are set (validated together).
    pub fn tls_files(&self) -> Option<crate::web::tls::TlsFiles> {
        (!self.tls_cert_file.is_empty() && !self.tls_key_file.is_empty()).then(|| crate::web::tls::TlsFiles {
            cert: PathBuf::from(&self.tls_cert_file),
            key: PathBuf::from(&self.tls_key_file),
            reload_every: std::time::Duration::from_secs(self.tls_reload_secs),
        })
    }

    /// Cookies get the `__Host-` prefix and `Secure` when the issuer is https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host.ends_with(".localhost")
}

/// The ASCII serialisation of a URL's origin (RFC 6454 §6.2), for http(s) URLs only.
pub fn origin_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests;
