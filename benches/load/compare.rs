//! `--compare A.json B.json [C.json …]`: reports (`--out` of several runs, e.g. Tessera set up
//! several ways and a peer provider measured the same way) side by side, scenario by
//! scenario. Two reports: the ratio A/B of throughput and of work per server CPU-second.
//! More: each run's rate and p99, and its rate's ratio to the LAST run (the peer). A scenario
//! a run did not run, or one that failed, shows a dash and why.

use anyhow::Context;
use serde_json::Value;

fn load(path: &str) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {path}"))?;
    serde_json::from_str(&text).with_context(|| format!("parse {path}"))
}

/// One side's numbers for a scenario: (ops/s, p99 ms, ops per server CPU-second), or why not.
type Side = Result<(f64, f64, Option<f64>), String>;

fn side(report: &Value, scenario: &str) -> Side {
    let row = &report["scenarios"][scenario];
    if row.is_null() {
        return Err("not run".into());
    }
    if row["status"] == "failed" {
        return Err("failed".into());
    }
    let rate = row["per_sec"].as_f64().ok_or("no rate")?;
    let p99 = row["p99_ms"].as_f64().ok_or("no p99")?;
    Ok((rate, p99, row["per_server_cpu_sec"].as_f64()))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

/// Read the reports at `paths` and print them side by side.
pub fn run(paths: &[String]) -> anyhow::Result<String> {
    let reports = paths.iter().map(|p| load(p)).collect::<anyhow::Result<Vec<_>>>()?;
    table(&reports)
}

/// The side-by-side table of two or more reports (JSON as `--out` writes it).
pub fn table(reports: &[Value]) -> anyhow::Result<String> {
    match reports {
        [a, b] => Ok(pair(a, b)),
        [_, _, _, ..] => Ok(several(reports)),
        _ => anyhow::bail!("--compare takes two or more reports"),
    }
}

/// "provider (backend)", or "provider (backend, N nodes)" for several nodes.
fn name(r: &Value) -> String {
    let provider = r["provider"].as_str().unwrap_or("?");
    let backend = r["backend"].as_str().unwrap_or("?");
    match r["nodes"].as_u64() {
        Some(n) if n > 1 => format!("{provider} ({backend}, {n} nodes)"),
        _ => format!("{provider} ({backend})"),
    }
}

/// The driver's order first, then any other scenario a report holds.
fn scenario_names(reports: &[&Value]) -> Vec<String> {
    let mut scenarios: Vec<String> =
        ["flow", "refresh", "client_credentials", "introspection", "userinfo", "passkey"].map(String::from).to_vec();
    scenarios.retain(|s| reports.iter().any(|r| !r["scenarios"][s].is_null()));
    for r in reports {
        for k in r["scenarios"].as_object().into_iter().flat_map(|m| m.keys()) {
            if !scenarios.contains(k) {
                scenarios.push(k.clone());
            }
        }
    }
    scenarios
}

fn num(v: Option<f64>, d: usize) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.d$}"))
}

/// Several runs: per run its rate and p99, and for every run but the last, its rate's ratio
/// to the last.
fn several(reports: &[Value]) -> String {
    let last = reports.len();
    let mut t = String::from("\n");
    for (i, r) in reports.iter().enumerate() {
        t.push_str(&format!(
            "{} = {}, concurrency {}, {} s per scenario, scope {}\n",
            i + 1,
            name(r),
            r["concurrency"],
            r["duration_secs"],
            r["scope"]
        ));
    }
    t.push_str(&format!("\n{:<20}", "scenario"));
    for i in 1..=last {
        t.push_str(&format!(" {:>9} {:>8}", format!("{i} ops/s"), format!("{i} p99")));
        if i < last {
            t.push_str(&format!(" {:>7}", format!("{i}/{last}")));
        }
    }
    t.push('\n');
    let all: Vec<&Value> = reports.iter().collect();
    for s in scenario_names(&all) {
        let sides: Vec<Side> = reports.iter().map(|r| side(r, &s)).collect();
        let peer_rate = sides[last - 1].as_ref().ok().map(|x| x.0);
        t.push_str(&format!("{s:<20}"));
        for (i, x) in sides.iter().enumerate() {
            let (rate, p99) = match x {
                Ok((rate, p99, _)) => (num(Some(*rate), 0), num(Some(*p99), 2)),
                Err(why) => (why.clone(), why.clone()),
            };
            t.push_str(&format!(" {rate:>9} {p99:>8}"));
            if i + 1 < last {
                t.push_str(&format!(" {:>7}", ratio(x.as_ref().ok().map(|x| x.0), peer_rate)));
            }
        }
        t.push('\n');
    }
    t.push_str(&format!("\n(p99 in ms; i/{last} = ops/s of run i divided by ops/s of run {last})\n"));
    t
}

/// Two runs: A and B with the ratio A/B of throughput and of work per server CPU-second.
fn pair(a: &Value, b: &Value) -> String {
    let scenarios = scenario_names(&[a, b]);
    let mut t = format!(
        "\nA = {}\nB = {}\nconcurrency {} / {}, {} s / {} s per scenario, scope {} / {}\n\n",
        name(a),
        name(b),
        a["concurrency"],
        b["concurrency"],
        a["duration_secs"],
        b["duration_secs"],
        a["scope"],
        b["scope"],
    );
    t.push_str(&format!(
        "{:<20} {:>9} {:>8} {:>9} {:>8} {:>8} {:>10} {:>10} {:>9}\n",
        "scenario", "A ops/s", "A p99", "B ops/s", "B p99", "A/B", "A ops/CPU", "B ops/CPU", "A/B CPU"
    ));
    for s in &scenarios {
        let (sa, sb) = (side(a, s), side(b, s));
        let rate = |x: &Side| x.as_ref().ok().map(|x| x.0);
        let p99 = |x: &Side| x.as_ref().ok().map(|x| x.1);
        let cpu = |x: &Side| x.as_ref().ok().and_then(|x| x.2);
        let or_why = |v: Option<f64>, x: &Side, d: usize| match x {
            Err(why) => why.clone(),
            Ok(_) => num(v, d),
        };
        t.push_str(&format!(
            "{:<20} {:>9} {:>8} {:>9} {:>8} {:>8} {:>10} {:>10} {:>9}\n",
            s,
            or_why(rate(&sa), &sa, 0),
            or_why(p99(&sa), &sa, 2),
            or_why(rate(&sb), &sb, 0),
            or_why(p99(&sb), &sb, 2),
            ratio(rate(&sa), rate(&sb)),
            num(cpu(&sa), 0),
            num(cpu(&sb), 0),
            ratio(cpu(&sa), cpu(&sb)),
        ));
    }
    t.push_str("\n(p99 in ms; ops/CPU = operations per CPU-second of the server, from /proc)\n");
    t
}
