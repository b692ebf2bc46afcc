//! `--compare A.json B.json`: two reports (`--out` of two runs, e.g. Tessera and a peer
//! provider measured the same way) side by side, scenario by scenario, with the ratio A/B of
//! throughput and of work per server CPU-second. A scenario only one side ran, or one that
//! failed, shows a dash and why.

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

pub fn run(a_path: &str, b_path: &str) -> anyhow::Result<String> {
    let (a, b) = (load(a_path)?, load(b_path)?);
    let name =
        |r: &Value| format!("{} ({})", r["provider"].as_str().unwrap_or("?"), r["backend"].as_str().unwrap_or("?"));
    // The driver's order first, then any other name either report holds.
    let mut scenarios: Vec<String> =
        ["flow", "refresh", "client_credentials", "introspection", "userinfo", "passkey"].map(String::from).to_vec();
    scenarios.retain(|s| !a["scenarios"][s].is_null() || !b["scenarios"][s].is_null());
    for r in [&a, &b] {
        for k in r["scenarios"].as_object().into_iter().flat_map(|m| m.keys()) {
            if !scenarios.contains(k) {
                scenarios.push(k.clone());
            }
        }
    }
    let mut t = format!(
        "\nA = {}\nB = {}\nconcurrency {} / {}, {} s / {} s per scenario, scope {} / {}\n\n",
        name(&a),
        name(&b),
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
    let num = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |v| format!("{v:.d$}"));
    for s in &scenarios {
        let (sa, sb) = (side(&a, s), side(&b, s));
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
    Ok(t)
}
