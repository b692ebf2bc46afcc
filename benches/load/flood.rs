//! `--anonymous-authorize N`: N authorization requests without a session, each from its own
//! client network (the started server trusts loopback as its proxy, so `X-Forwarded-For`
//! names the client and no per-network rate limit stops them), with `state` and `nonce` at
//! their 2 KiB limit: the largest pending request an anonymous visitor can leave behind.
//! Records the server's resident memory before and after; the ephemeral store's bound
//! (`ephemeral_max_entries`, `ephemeral_max_bytes`) is what must keep it flat.

use super::provider::Target;
use anyhow::bail;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub struct Flood {
    pub requests: u64,
    pub per_sec: f64,
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
}

/// The request URL for one anonymous visitor.
fn url(target: &Target, i: u64) -> anyhow::Result<String> {
    let mut url = url::Url::parse(&target.authorization_endpoint)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &target.client_id)
        .append_pair("redirect_uri", &target.redirect_uri)
        .append_pair("scope", "openid email profile")
        .append_pair("state", &format!("{i:0>2048}"))
        .append_pair("nonce", &"n".repeat(2048))
        .append_pair("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        .append_pair("code_challenge_method", "S256");
    Ok(url.to_string())
}

pub async fn run(target: &Target, requests: u64, concurrency: usize) -> anyhow::Result<Flood> {
    let Some(server) = target.server.as_ref() else { bail!("--anonymous-authorize needs the started Tessera") };
    let rss_before_kib = server.rss_kib();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let next = Arc::new(AtomicU64::new(0));
    let urls: Arc<Vec<String>> = Arc::new((0..1024).map(|i| url(target, i)).collect::<Result<_, _>>()?);
    let started = Instant::now();
    let handles: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, next, urls) = (http.clone(), next.clone(), urls.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        return Ok::<_, anyhow::Error>(());
                    }
                    // One client network per request: 10.0.0.0/8 holds 2^24 of them.
                    let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
                    let res = http.get(&urls[(i % 1024) as usize]).header("x-forwarded-for", ip).send().await?;
                    if res.status() != reqwest::StatusCode::SEE_OTHER {
                        bail!("anonymous /authorize answered {}", res.status());
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.await??;
    }
    let elapsed = started.elapsed();
    Ok(Flood {
        requests,
        per_sec: requests as f64 / elapsed.as_secs_f64(),
        rss_before_kib,
        rss_after_kib: server.rss_kib(),
    })
}
