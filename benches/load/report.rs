//! Results: per-scenario throughput and latency percentiles, start-up time and memory, as a
//! table for people and JSON for tools.

use super::Options;
use super::provider::Target;
use serde_json::{Value, json};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub enum Scenario {
    Flow,
    Refresh,
    ClientCredentials,
    Introspection,
    Userinfo,
    Passkey,
}

pub struct Measured {
    pub ops: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Measured {
    pub fn from_latencies(
        mut micros: Vec<u32>,
        errors: u64,
        first_error: Option<String>,
        elapsed: Duration,
    ) -> Measured {
        micros.sort_unstable();
        let pct = |p: f64| -> f64 {
            if micros.is_empty() {
                return 0.0;
            }
            let i = ((micros.len() as f64 * p).ceil() as usize).clamp(1, micros.len()) - 1;
            f64::from(micros[i]) / 1000.0
        };
        Measured {
            ops: micros.len() as u64,
            errors,
            first_error,
            per_sec: micros.len() as f64 / elapsed.as_secs_f64(),
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            max_ms: micros.last().map_or(0.0, |m| f64::from(*m) / 1000.0),
        }
    }
}

pub struct Report {
    provider: String,
    backend: String,
    concurrency: usize,
    duration_secs: f64,
    startup_ms: Option<f64>,
    idle_rss_kib: Option<u64>,
    after_rss_kib: Option<u64>,
    rows: Vec<(String, Measured)>,
    pub flood: Option<super::flood::Flood>,
}

impl Report {
    pub fn new(target: &Target, o: &Options) -> Report {
        Report {
            provider: if target.server.is_some() { "tessera".into() } else { target.issuer.clone() },
            backend: target.server.as_ref().map_or("unknown", |s| s.backend).into(),
            concurrency: o.concurrency,
            duration_secs: o.duration.as_secs_f64(),
            startup_ms: target.startup_ms,
            idle_rss_kib: target.idle_rss_kib,
            after_rss_kib: None,
            rows: Vec::new(),
            flood: None,
        }
    }

    pub fn push(&mut self, name: &str, m: Measured) {
        self.rows.push((name.to_string(), m));
    }

    pub fn finish(&mut self, target: &Target) {
        self.after_rss_kib = target.server.as_ref().and_then(|s| s.rss_kib());
    }

    pub fn table(&self) -> String {
        let mut t = format!(
            "\n{} ({}), concurrency {}, {:.0} s per scenario\n\n{:<20} {:>10} {:>10} {:>10} {:>10} {:>8}\n",
            self.provider,
            self.backend,
            self.concurrency,
            self.duration_secs,
            "scenario",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "errors"
        );
        for (name, m) in &self.rows {
            t.push_str(&format!(
                "{:<20} {:>10.0} {:>10.2} {:>10.2} {:>10.2} {:>8}\n",
                name, m.per_sec, m.p50_ms, m.p99_ms, m.max_ms, m.errors
            ));
        }
        if let Some(ms) = self.startup_ms {
            t.push_str(&format!("\nstart-up to first answer: {ms:.0} ms\n"));
        }
        if let Some(kib) = self.idle_rss_kib {
            t.push_str(&format!("RSS idle after start:     {:.1} MiB\n", kib as f64 / 1024.0));
        }
        if let Some(kib) = self.after_rss_kib {
            t.push_str(&format!("RSS after the run:        {:.1} MiB\n", kib as f64 / 1024.0));
        }
        if let Some(f) = &self.flood {
            let mib = |k: Option<u64>| k.map_or("?".into(), |k| format!("{:.1}", k as f64 / 1024.0));
            t.push_str(&format!(
                "{} anonymous /authorize ({:.0}/s): RSS {} MiB before, {} MiB after\n",
                f.requests,
                f.per_sec,
                mib(f.rss_before_kib),
                mib(f.rss_after_kib)
            ));
        }
        for (name, m) in &self.rows {
            if let Some(e) = &m.first_error {
                t.push_str(&format!("first error in {name}: {e}\n"));
            }
        }
        t
    }

    pub fn json(&self) -> String {
        let scenarios: Value = self
            .rows
            .iter()
            .map(|(name, m)| {
                (
                    name.clone(),
                    json!({ "ops": m.ops, "per_sec": m.per_sec, "p50_ms": m.p50_ms, "p99_ms": m.p99_ms,
                            "max_ms": m.max_ms, "errors": m.errors, "first_error": m.first_error }),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into();
        let v = json!({
            "provider": self.provider, "backend": self.backend, "concurrency": self.concurrency,
            "duration_secs": self.duration_secs, "startup_ms": self.startup_ms,
            "idle_rss_kib": self.idle_rss_kib, "after_rss_kib": self.after_rss_kib,
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "scenarios": scenarios,
            "anonymous_authorize": self.flood.as_ref().map(|f| json!({
                "requests": f.requests, "per_sec": f.per_sec,
                "rss_before_kib": f.rss_before_kib, "rss_after_kib": f.rss_after_kib })),
        });
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }
}
