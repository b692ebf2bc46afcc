//! Standard Webhooks signing (https://www.standardwebhooks.com/, spec "Signature scheme"):
//! a `whsec_` secret, the body `{"type", "timestamp", "data"}`, and the three headers
//! `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,` + base64 HMAC-SHA256
//! over `{id}.{timestamp}.{body}`, keyed with the secret's bytes after `whsec_`).

use crate::crypto::secrets;
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Secrets are `whsec_` + base64 of 24 to 64 random bytes (spec "Symmetric signatures");
/// Tessera makes 32.
pub const SECRET_PREFIX: &str = "whsec_";

/// A fresh signing secret.
pub fn generate_secret() -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(secrets::random_vec(32)))
}

/// The message body (spec "Payload structure"): the event type, when it happened (RFC 3339)
/// and its data.
pub fn body(kind: &str, occurred_at_ms: i64, data: &serde_json::Value) -> String {
    let timestamp = chrono::DateTime::from_timestamp_millis(occurred_at_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    serde_json::json!({ "type": kind, "timestamp": timestamp, "data": data }).to_string()
}

/// The `webhook-signature` value for one attempt, or None if the stored secret is not one.
pub fn sign(secret: &str, msg_id: &str, timestamp_secs: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let tag = hmac::sign(&key, format!("{msg_id}.{timestamp_secs}.{body}").as_bytes());
    Some(format!("v1,{}", STANDARD.encode(tag.as_ref())))
}

/// The headers of one attempt (spec "Webhook headers"); the timestamp is the attempt's.
pub fn headers(secret: &str, msg_id: &str, now_ms: i64, body: &str) -> Option<Vec<(&'static str, String)>> {
    let timestamp = now_ms.div_euclid(1000);
    let signature = sign(secret, msg_id, timestamp, body)?;
    Some(vec![
        ("webhook-id", msg_id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signature),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_signature() {
        // The example of the Standard Webhooks reference libraries (their test vectors).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(sign(secret, id, 1614265330, body).unwrap(), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(sign("not-a-secret", id, 1, body).is_none());
    }

    #[test]
    fn secrets_and_bodies_have_the_spec_shape() {
        let s = generate_secret();
        assert!(s.starts_with(SECRET_PREFIX));
        assert_eq!(STANDARD.decode(&s[SECRET_PREFIX.len()..]).unwrap().len(), 32);
        assert_ne!(s, generate_secret());
        let b: serde_json::Value =
            serde_json::from_str(&body("customer.created", 1_700_000_000_123, &serde_json::json!({"a": 1}))).unwrap();
        assert_eq!(
            b,
            serde_json::json!({"type": "customer.created", "timestamp": "2023-11-14T22:13:20.123Z", "data": {"a": 1}})
        );
        let h = headers(&s, "evt_1", 1_700_000_000_999, "{}").unwrap();
        assert_eq!(h[1], ("webhook-timestamp", "1700000000".to_string()));
    }
}
