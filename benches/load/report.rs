//! Results: per-scenario throughput and latency percentiles, the server's CPU time and
//! memory, start-up time, and why a scenario failed, as a table for people and JSON for tools
//! (`compare.rs` reads it back).

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
    /// CPU seconds the server used during the measured part (from `/proc`).
    pub server_cpu_secs: Option<f64>,
    /// The server's resident memory at the end of the scenario.
    pub server_rss_kib: Option<u64>,
}

impl Measured {
    /// Operations per CPU-second of the server: throughput by work, not by wall time.
    pub fn per_server_cpu_sec(&self) -> Option<f64> {
        self.server_cpu_secs.filter(|s| *s > 0.0).map(|s| self.ops as f64 / s)
    }
}

/// A scenario that ran (maybe with some failed operations), or that could not run at all.
pub enum Outcome {
    Ran(Measured),
    Failed(String),
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
            server_cpu_secs: None,
            server_rss_kib: None,
        }
    }
}

pub struct Report {
    provider: String,
    backend: String,
    /// Started Tessera processes (1, or several behind haproxy); 0 for another provider.
    nodes: usize,
    concurrency: usize,
    duration_secs: f64,
    warmup_secs: f64,
    scope: String,
    server_cpus: Option<String>,
    driver_cpus: Option<String>,
    startup_ms: Option<f64>,
    idle_rss_kib: Option<u64>,
    after_rss_kib: Option<u64>,
    rows: Vec<(String, Outcome)>,
    pub flood: Option<super::flood::Flood>,
}

impl Report {
    pub fn new(target: &Target, o: &Options) -> Report {
        Report {
            provider: o
                .label
                .clone()
                .unwrap_or_else(|| if target.server.is_some() { "tessera".into() } else { target.issuer.clone() }),
            backend: target.server.as_ref().map_or_else(|| "unknown".into(), |s| s.backend.clone()),
            nodes: target.server.as_ref().map_or(0, |s| s.node_count()),
            concurrency: o.concurrency,
            duration_secs: o.duration.as_secs_f64(),
            warmup_secs: o.warmup.as_secs_f64(),
            scope: o.scope.clone(),
            server_cpus: o.server_cpus.clone(),
            driver_cpus: o.driver_cpus.clone(),
            startup_ms: target.startup_ms,
            idle_rss_kib: target.idle_rss_kib,
            after_rss_kib: None,
            rows: Vec::new(),
            flood: None,
        }
    }

    pub fn push(&mut self, name: &str, m: Measured) {
        self.rows.push((name.to_string(), Outcome::Ran(m)));
    }

    pub fn failed(&mut self, name: &str, error: String) {
        self.rows.push((name.to_string(), Outcome::Failed(error)));
    }

    /// Whether at least one scenario could be measured.
    pub fn any_ran(&self) -> bool {
        self.rows.iter().any(|(_, o)| matches!(o, Outcome::Ran(m) if m.ops > 0))
    }

    pub fn any_failed(&self) -> bool {
        self.rows.iter().any(|(_, o)| matches!(o, Outcome::Failed(_)))
    }

    pub fn finish(&mut self, target: &Target) {
        self.after_rss_kib = super::procfs::rss_kib_sum(&target.server_pids);
    }

    pub fn table(&self) -> String {
        let pinned = match (&self.server_cpus, &self.driver_cpus) {
            (None, None) => String::new(),
            (s, d) => format!(
                ", server on CPUs {}, driver on CPUs {}",
                s.as_deref().unwrap_or("any"),
                d.as_deref().unwrap_or("any")
            ),
        };
        let setup = match self.nodes {
            0 | 1 => self.backend.clone(),
            n => format!("{}, {n} nodes behind haproxy", self.backend),
        };
        let mut t = format!(
            "\n{} ({setup}), concurrency {}, {} s per scenario after {} s warm-up, scope {:?}{pinned}\n\n\
             {:<20} {:>10} {:>9} {:>9} {:>9} {:>8} {:>9} {:>11} {:>8}\n",
            self.provider,
            self.concurrency,
            self.duration_secs,
            self.warmup_secs,
            self.scope,
            "scenario",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "errors",
            "srv CPU s",
            "ops/CPU-s",
            "RSS MiB",
        );
        let opt = |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
        for (name, outcome) in &self.rows {
            match outcome {
                Outcome::Ran(m) => t.push_str(&format!(
                    "{:<20} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>8} {:>9} {:>11} {:>8}\n",
                    name,
                    m.per_sec,
                    m.p50_ms,
                    m.p99_ms,
                    m.max_ms,
                    m.errors,
                    opt(m.server_cpu_secs, 2),
                    opt(m.per_server_cpu_sec(), 0),
                    opt(m.server_rss_kib.map(|k| k as f64 / 1024.0), 1),
                )),
                Outcome::Failed(_) => t.push_str(&format!("{name:<20} {:>10}\n", "FAILED")),
            }
        }
        if self.nodes > 1 {
            t.push_str(&format!(
                "\nsrv CPU s, ops/CPU-s and RSS: the {} nodes summed (haproxy, PostgreSQL and Redis not counted)\n",
                self.nodes
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
        for (name, outcome) in &self.rows {
            match outcome {
                Outcome::Ran(Measured { first_error: Some(e), .. }) => {
                    t.push_str(&format!("first error in {name}: {e}\n"))
                }
                Outcome::Failed(e) => t.push_str(&format!("{name} could not run: {e}\n")),
                Outcome::Ran(_) => {}
            }
        }
        t
    }

    pub fn json(&self) -> String {
        let scenarios: Value = self
            .rows
            .iter()
            .map(|(name, outcome)| {
                let row = match outcome {
                    Outcome::Ran(m) => json!({ "status": "ok", "ops": m.ops, "per_sec": m.per_sec,
                            "p50_ms": m.p50_ms, "p99_ms": m.p99_ms, "max_ms": m.max_ms, "errors": m.errors,
                            "first_error": m.first_error, "server_cpu_secs": m.server_cpu_secs,
                            "per_server_cpu_sec": m.per_server_cpu_sec(), "server_rss_kib": m.server_rss_kib }),
                    Outcome::Failed(e) => json!({ "status": "failed", "first_error": e }),
                };
                (name.clone(), row)
            })
            .collect::<serde_json::Map<_, _>>()
            .into();
        let v = json!({
            "provider": self.provider, "backend": self.backend, "concurrency": self.concurrency,
            "nodes": self.nodes, "proxy": (self.nodes > 1).then_some("haproxy"),
            "duration_secs": self.duration_secs, "warmup_secs": self.warmup_secs, "scope": self.scope,
            "server_cpus": self.server_cpus, "driver_cpus": self.driver_cpus, "startup_ms": self.startup_ms,
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
