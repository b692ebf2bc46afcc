//! Unit tests of the configuration: loading, precedence, validation, redaction.

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
    let c = Config::load(
        None,
        env(&[
            ("TESSERA_CODE_TTL_SECS", "30"),
            ("TESSERA_ISSUER", "https://id.example"),
            ("TESSERA_SMTP_URL", "smtp://mail.example:25"),
        ]),
    )
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
    for (var, key, value) in [
        ("TESSERA_CORS_ALLOWED_ORIGINS", "cors_allowed_origins", "https://app.example/path"),
        ("TESSERA_SESSION_IDLE_TIMEOUT_SECS", "session_idle_timeout_secs", "0"),
        ("TESSERA_OFFLINE_ACCESS_MAX_LIFETIME_SECS", "offline_access_max_lifetime_secs", "-1"),
        ("TESSERA_AUDIT_RETENTION_DAYS", "audit_retention_days", "0"),
        ("TESSERA_AUDIT_RETENTION_DAYS", "audit_retention_days", "36501"),
        ("TESSERA_EPHEMERAL_PREFIX", "ephemeral_prefix", "has spaces"),
        ("TESSERA_REDIS_URL", "redis_url", "http://127.0.0.1:6379"),
    ] {
        let e = Config::load(None, env(&[(var, value)])).unwrap_err();
        assert_eq!(e.key, key, "{e}");
    }
    let ok = Config::load(None, env(&[("TESSERA_CORS_ALLOWED_ORIGINS", "https://a.example http://localhost:3000")]));
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[test]
fn trusted_proxies_from_env_and_bad_ranges_name_the_key() {
    let c = Config::load(None, env(&[("TESSERA_TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32")])).unwrap();
    assert!(c.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
    assert!(!Config::default().trusted_proxies.contains("10.1.2.3".parse().unwrap()), "none by default");
    let e = Config::load(None, env(&[("TESSERA_TRUSTED_PROXIES", "10.0.0.0/99")])).unwrap_err();
    assert_eq!(e.key, "trusted_proxies", "{e}");
    let e = Config::load(None, env(&[("TESSERA_FORWARDED_HEADER", "x-real-ip")])).unwrap_err();
    assert_eq!(e.key, "forwarded_header");
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
    assert_eq!(c.federation_acr_ceiling, crate::session::ACR_EMAIL);
    let c = Config::load(None, env(&[("TESSERA_FEDERATION_ALLOW_PRIVATE_NETWORKS", "true")])).unwrap();
    assert!(c.federation_allow_private_networks);
    let e = Config::load(None, env(&[("TESSERA_FEDERATION_ACR_CEILING", "urn:nope")])).unwrap_err();
    assert_eq!(e.key, "federation_acr_ceiling");
}

// Issue #15: built-in TLS.
#[test]
fn tls_needs_both_files_and_an_https_issuer() {
    let https = [("TESSERA_ISSUER", "https://id.example"), ("TESSERA_SMTP_URL", "smtp://mail.example:25")];
    let only_cert = [&https[..], &[("TESSERA_TLS_CERT_FILE", "/etc/tessera/cert.pem")]].concat();
    let e = Config::load(None, env(&only_cert)).unwrap_err();
    assert_eq!(e.key, "tls_key_file", "{e}");
    let shown = e.to_string();
    assert!(shown.contains("TESSERA_TLS_KEY_FILE") && shown.contains("tls_cert_file is set"), "{shown}");
    let only_key = [&https[..], &[("TESSERA_TLS_KEY_FILE", "/etc/tessera/key.pem")]].concat();
    let e = Config::load(None, env(&only_key)).unwrap_err();
    assert_eq!(e.key, "tls_cert_file", "{e}");
    assert!(e.to_string().contains("tls_key_file is set"), "{e}");

    let both = [&only_cert[..], &[("TESSERA_TLS_KEY_FILE", "/etc/tessera/key.pem")]].concat();
    let c = Config::load(None, env(&both)).unwrap();
    let files = c.tls_files().expect("TLS on");
    assert_eq!(files.key, std::path::PathBuf::from("/etc/tessera/key.pem"));
    assert_eq!(files.reload_every, std::time::Duration::from_secs(10));
    assert!(Config::load(None, env(&https)).unwrap().tls_files().is_none(), "neither: plain HTTP");

    let plain_issuer = [("TESSERA_TLS_CERT_FILE", "c.pem"), ("TESSERA_TLS_KEY_FILE", "k.pem")];
    assert_eq!(Config::load(None, env(&plain_issuer)).unwrap_err().key, "issuer");
    let never = [&both[..], &[("TESSERA_TLS_RELOAD_SECS", "0")]].concat();
    assert_eq!(Config::load(None, env(&never)).unwrap_err().key, "tls_reload_secs");
}
