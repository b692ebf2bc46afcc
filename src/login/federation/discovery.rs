//! What a provider publishes: its metadata (OpenID Connect Discovery 1.0 §4) and its keys
//! (RFC 7517), fetched through the guard and cached, so that anonymous visitors starting
//! sign-ins cannot make Tessera fetch them on every request. Cache-Control `max-age` is
//! respected between a floor and a ceiling; the key set is fetched again when an ID token
//! names a key id it does not hold (the provider rotated its keys), at most once a minute.

use super::outbound::{DISCOVERY_LIMIT, JWKS_LIMIT, Outbound, Policy};
use super::presets;
use openidconnect::JsonWebKey;
use openidconnect::core::{CoreJsonWebKeySet, CoreProviderMetadata};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// However short a provider asks: no more than one fetch per five minutes.
const FLOOR_MS: i64 = 5 * 60_000;
/// However long it asks: keys must be able to rotate within a day.
const CEILING_MS: i64 = 24 * 3_600_000;
/// Without Cache-Control.
const DEFAULT_MS: i64 = 3_600_000;
/// Between two fetches of the key set for an unknown `kid`.
const KID_REFETCH_MS: i64 = 60_000;
/// A provider that could not be reached is not asked again for this long: otherwise every
/// anonymous visitor's click would be another request to it.
const FAILURE_MS: i64 = 30_000;

/// A provider's metadata, with its key set filled in.
#[derive(Clone)]
pub struct Provider {
    pub meta: CoreProviderMetadata,
    /// RFC 9207 §3: the provider always sends `iss` in authorization responses.
    pub iss_parameter_supported: bool,
}

#[derive(Clone)]
struct Entry {
    provider: Provider,
    meta_until: i64,
    keys_until: i64,
    kid_refetch_at: Option<i64>,
}

/// Per issuer (connectors are configured by admins, so the map stays small).
#[derive(Default)]
pub struct Cache {
    entries: Mutex<HashMap<String, Entry>>,
    failures: Mutex<HashMap<String, (i64, String)>>,
    /// One fetch per issuer at a time: visitors arriving while it runs wait for its result
    /// instead of each fetching again.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Cache {
    /// Forget every provider's metadata, keys and recent failure (a connector changed).
    pub fn forget_all(&self) {
        if let Ok(mut map) = self.entries.lock() {
            map.clear();
        }
        if let Ok(mut map) = self.failures.lock() {
            map.clear();
        }
    }

    fn get(&self, issuer: &str) -> Option<Entry> {
        self.entries.lock().ok()?.get(issuer).cloned()
    }

    fn put(&self, issuer: &str, entry: Entry) {
        if let Ok(mut map) = self.entries.lock() {
            map.insert(issuer.to_string(), entry);
        }
    }

    fn fetch_lock(&self, issuer: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.fetching.lock() {
            Ok(mut map) => map.entry(issuer.to_string()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    fn failure(&self, issuer: &str, now: i64) -> Option<String> {
        let map = self.failures.lock().ok()?;
        map.get(issuer).filter(|(until, _)| *until > now).map(|(_, why)| why.clone())
    }

    fn failed(&self, issuer: &str, until: i64, why: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.retain(|_, (u, _)| *u > until - FAILURE_MS);
            map.insert(issuer.to_string(), (until, why.to_string()));
        }
    }
}

/// How long a response may be kept, from its Cache-Control (RFC 9111 §5.2.2.1).
pub fn lifetime_ms(cache_control: Option<&str>) -> i64 {
    let Some(cc) = cache_control else { return DEFAULT_MS };
    let max_age = cc
        .split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|v| v.trim_matches('"').parse::<i64>().ok());
    match max_age {
        Some(secs) => secs.saturating_mul(1000).clamp(FLOOR_MS, CEILING_MS),
        // no-store, no-cache: the floor still applies, or every visitor could force a fetch.
        None if cc.contains("no-store") || cc.contains("no-cache") => FLOOR_MS,
        None => DEFAULT_MS,
    }
}

/// The provider behind `issuer`, from the cache while it is fresh.
pub async fn provider(out: &Outbound, issuer: &str, now: i64) -> Result<Provider, String> {
    let fresh = |cached: &Option<Entry>| {
        cached.as_ref().filter(|e| e.meta_until > now && e.keys_until > now).map(|e| e.provider.clone())
    };
    if let Some(p) = fresh(&out.cache.get(issuer)) {
        return Ok(p);
    }
    let lock = out.cache.fetch_lock(issuer);
    let _one_at_a_time = lock.lock().await;
    // Whoever held the lock before may have fetched (or failed) meanwhile.
    let cached = out.cache.get(issuer);
    if let Some(p) = fresh(&cached) {
        return Ok(p);
    }
    if let Some(why) = out.cache.failure(issuer, now) {
        return Err(format!("recently failed: {why}"));
    }
    let fetched = fetch(out, issuer, cached, now).await;
    if let Err(why) = &fetched {
        out.cache.failed(issuer, now + FAILURE_MS, why);
    }
    fetched
}

async fn fetch(out: &Outbound, issuer: &str, cached: Option<Entry>, now: i64) -> Result<Provider, String> {
    let (mut provider, meta_until) = match cached.filter(|e| e.meta_until > now) {
        Some(e) => (e.provider, e.meta_until),
        None => fetch_metadata(out, issuer, now).await?,
    };
    let (keys, keys_until) = fetch_keys(out, &provider.meta, now).await?;
    provider.meta = provider.meta.set_jwks(keys);
    out.cache.put(issuer, Entry { provider: provider.clone(), meta_until, keys_until, kid_refetch_at: None });
    Ok(provider)
}

/// The provider with a fresh key set, when `kid` is not in the cached one; `None` when the
/// key set was fetched for an unknown kid less than a minute ago.
pub async fn with_key(out: &Outbound, issuer: &str, kid: &str, now: i64) -> Result<Option<Provider>, String> {
    let Some(mut e) = out.cache.get(issuer) else { return Ok(None) };
    let known = e.provider.meta.jwks().keys().iter().any(|k| k.key_id().is_some_and(|id| id.as_str() == kid));
    if known || e.kid_refetch_at.is_some_and(|at| now - at < KID_REFETCH_MS) {
        return Ok(None);
    }
    let (keys, keys_until) = fetch_keys(out, &e.provider.meta, now).await?;
    e.provider.meta = e.provider.meta.set_jwks(keys);
    e.keys_until = keys_until;
    e.kid_refetch_at = Some(now);
    out.cache.put(issuer, e.clone());
    Ok(Some(e.provider))
}

async fn fetch_metadata(out: &Outbound, issuer: &str, now: i64) -> Result<(Provider, i64), String> {
    // Discovery §4: the issuer without a terminating slash, then the well-known path.
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let res = out.get(&url, None, DISCOVERY_LIMIT).await?;
    if !res.status.is_success() {
        return Err(format!("discovery answered {}", res.status));
    }
    let provider = check_metadata(out.policy, issuer, res.json()?)?;
    Ok((provider, now + lifetime_ms(res.cache_control.as_deref())))
}

/// A discovery document as Tessera accepts it: the issuer's own, naming only addresses the
/// policy allows.
fn check_metadata(policy: Policy, issuer: &str, raw: serde_json::Value) -> Result<Provider, String> {
    let meta: CoreProviderMetadata = serde_json::from_value(raw.clone()).map_err(|e| format!("discovery: {e}"))?;
    // Discovery §4.3: the document must be the issuer's own. Microsoft's multi-tenant
    // endpoints publish a `{tenantid}` template instead.
    let published = meta.issuer().as_str();
    if published != issuer
        && !(published.contains("{tenantid}") && presets::microsoft_issuer_matches(published, issuer))
    {
        return Err(format!("discovery names another issuer: {published}"));
    }
    // Every address the document names is held to the same rules as the connector's own.
    let mut urls = vec![meta.jwks_uri().url().as_str(), meta.authorization_endpoint().url().as_str()];
    urls.extend(meta.token_endpoint().map(|u| u.url().as_str()));
    urls.extend(meta.userinfo_endpoint().map(|u| u.url().as_str()));
    for u in urls {
        policy.check_url(u).map_err(|e| format!("discovery names {u}, which {e}"))?;
    }
    let iss_parameter_supported = raw["authorization_response_iss_parameter_supported"] == true;
    Ok(Provider { meta, iss_parameter_supported })
}

async fn fetch_keys(out: &Outbound, meta: &CoreProviderMetadata, now: i64) -> Result<(CoreJsonWebKeySet, i64), String> {
    let res = out.get(meta.jwks_uri().url().as_str(), None, JWKS_LIMIT).await?;
    if !res.status.is_success() {
        return Err(format!("the key set answered {}", res.status));
    }
    let keys: CoreJsonWebKeySet = serde_json::from_slice(&res.body).map_err(|e| format!("key set: {e}"))?;
    Ok((keys, now + lifetime_ms(res.cache_control.as_deref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_lifetimes_follow_max_age_within_a_floor_and_a_ceiling() {
        assert_eq!(lifetime_ms(None), DEFAULT_MS);
        assert_eq!(lifetime_ms(Some("public, max-age=600")), 600_000);
        assert_eq!(lifetime_ms(Some("max-age=1")), FLOOR_MS);
        assert_eq!(lifetime_ms(Some("max-age=99999999999")), CEILING_MS);
        assert_eq!(lifetime_ms(Some("no-store")), FLOOR_MS);
        assert_eq!(lifetime_ms(Some("private")), DEFAULT_MS);
    }

    fn document(jwks_uri: &str) -> serde_json::Value {
        serde_json::json!({
            "issuer": "https://idp.example", "authorization_endpoint": "https://idp.example/authorize",
            "token_endpoint": "https://idp.example/token", "jwks_uri": jwks_uri,
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "authorization_response_iss_parameter_supported": true,
        })
    }

    #[test]
    fn a_discovery_document_naming_a_private_key_set_is_refused_by_default() {
        let strict = Policy { allow_private: false };
        let ok = check_metadata(strict, "https://idp.example", document("https://idp.example/jwks")).unwrap();
        assert!(ok.iss_parameter_supported);
        for jwks in
            ["https://10.0.0.7/jwks", "http://idp.example/jwks", "https://[fd00::7]/jwks", "https://169.254.169.254/"]
        {
            let e = check_metadata(strict, "https://idp.example", document(jwks)).err().unwrap();
            assert!(e.contains("discovery names"), "{jwks}: {e}");
        }
        let dev = Policy { allow_private: true };
        assert!(check_metadata(dev, "https://idp.example", document("http://10.0.0.7/jwks")).is_ok());
        let e = check_metadata(strict, "https://other.example", document("https://idp.example/jwks")).err().unwrap();
        assert!(e.contains("another issuer"), "{e}");
    }
}
