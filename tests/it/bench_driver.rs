//! The load driver's own rules (benches/load), tested here because a `harness = false` bench
//! runs no tests: client_secret_basic as RFC 6749 §2.3.1 writes it (each part
//! form-urlencoded before base64), checked against Tessera's decoding and its token endpoint;
//! the CPU time read from `/proc/PID/stat`; the command line (set-ups on PostgreSQL, Redis and
//! several nodes); and reports compared side by side.

#[path = "../../benches/load/basic.rs"]
mod basic;
#[path = "../../benches/load/compare.rs"]
mod compare;
// The driver reads every option; these tests read the ones they check.
#[allow(dead_code)]
#[path = "../../benches/load/options.rs"]
mod options;
#[path = "../../benches/load/procfs.rs"]
mod procfs;

use crate::support::TestServer;
use base64::Engine;
use basic::basic_authorization;
use reqwest::StatusCode;
use tessera::oidc::client_auth::presented;
use tessera::oidc::params::Params;

fn decoded(header: &str) -> String {
    let b64 = header.strip_prefix("Basic ").expect("a Basic header");
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap()
}

#[test]
fn each_part_is_form_urlencoded_before_base64() {
    // RFC 6749 §2.3.1 / Appendix B: `:` `%` `+` and space are escaped, so the one `:` left
    // separates the identifier from the secret.
    assert_eq!(
        decoded(&basic_authorization("bench", "s3cret:with%odd+chars x")),
        "bench:s3cret%3Awith%25odd%2Bchars+x"
    );
    assert_eq!(decoded(&basic_authorization("a:b", "é")), "a%3Ab:%C3%A9");
    // Plain values are unchanged: the header is then the usual Basic one.
    assert_eq!(basic_authorization("client", "secret"), "Basic Y2xpZW50OnNlY3JldA==");
}

#[test]
fn tessera_reads_back_what_the_driver_writes() {
    for (id, secret) in [("bench", "s3cret:with%odd+chars x"), ("id:with:colons", "%41+%2B:"), ("plain", "plain")] {
        let header = basic_authorization(id, secret);
        let got = presented(Some(&header), &Params::from_pairs(Vec::new()).unwrap()).unwrap();
        assert_eq!(got.client_id, id);
        assert_eq!(got.secret.as_deref(), Some(secret));
    }
}

#[tokio::test]
async fn the_token_endpoint_accepts_the_drivers_header() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let header = basic_authorization(&client.id, client.secret.as_deref().unwrap());
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .header("authorization", &header)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A wrong secret, encoded the same way, is refused (RFC 6749 §5.2 invalid_client).
    let wrong = basic_authorization(&client.id, "not:the%secret");
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .header("authorization", &wrong)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn cpu_ticks_are_counted_after_the_command_name() {
    // proc(5): field 2 is "(comm)" and may hold spaces and parentheses; utime and stime are
    // fields 14 and 15.
    let line = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 1234 567 0 0 20 0 9 0 100 0";
    assert_eq!(procfs::stat_ticks(line), Some(1234 + 567));
    assert_eq!(procfs::stat_ticks("garbage"), None);
    // This process has a stat file, a resident size, and uses some CPU time.
    let me = std::process::id();
    assert!(procfs::rss_kib(me).is_some_and(|k| k > 0));
    let spent = procfs::cpu_secs(me).unwrap();
    assert!(spent >= 0.0);
}

#[test]
fn several_processes_count_together() {
    let me = std::process::id();
    let one = procfs::rss_kib(me).unwrap();
    // The same process twice counts twice; no process is no number, and one unreadable
    // process makes the sum unknown rather than too small.
    assert!(procfs::rss_kib_sum(&[me, me]).is_some_and(|sum| sum >= 2 * one - 1024));
    assert_eq!(procfs::rss_kib_sum(&[]), None);
    assert_eq!(procfs::cpu_secs_sum(&[]), None);
    assert_eq!(procfs::rss_kib_sum(&[me, u32::MAX]), None);
    assert!(procfs::cpu_secs_sum(&[me, me]).is_some_and(|s| s >= 0.0));
}

fn args(line: &str) -> Result<options::Command, String> {
    options::parse(line.split_whitespace().map(String::from))
}

fn measure(line: &str) -> options::Options {
    match args(line) {
        Ok(options::Command::Measure(o)) => *o,
        other => panic!("{line:?} should measure, got {other:?}"),
    }
}

fn refused(line: &str) -> String {
    match args(line) {
        Err(why) => why,
        other => panic!("{line:?} should be refused, got {other:?}"),
    }
}

#[test]
fn the_setups_on_the_command_line() {
    let sqlite = measure("--bench --duration 1 --warmup 0 --only flow,refresh");
    assert_eq!((sqlite.nodes, sqlite.backend()), (1, "sqlite".to_string()));
    assert_eq!(sqlite.duration, std::time::Duration::from_secs(1));
    assert_eq!(sqlite.only, Some(vec!["flow".to_string(), "refresh".to_string()]));

    let pg = "--database-url postgres://postgres@127.0.0.1:5432/test";
    assert_eq!(measure(pg).backend(), "postgres");
    let one = measure(&format!("{pg} --redis-url redis://127.0.0.1:6379"));
    assert_eq!((one.nodes, one.backend()), (1, "postgres+redis".to_string()));
    assert_eq!(one.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
    let two = measure(&format!("{pg} --redis-url redis://127.0.0.1:6379 --nodes 2 --server-cpus 0"));
    assert_eq!((two.nodes, two.backend()), (2, "postgres+redis".to_string()));
    assert_eq!(two.server_cpus.as_deref(), Some("0"));
    // Redis with the embedded database is a set-up of its own.
    assert_eq!(measure("--redis-url redis://127.0.0.1:6379").backend(), "sqlite+redis");
}

#[test]
fn several_nodes_need_a_shared_database_and_redis() {
    for line in [
        "--nodes 2",
        "--nodes 2 --redis-url redis://127.0.0.1:6379",
        "--nodes 3 --database-url postgres://127.0.0.1/test",
    ] {
        assert!(refused(line).contains("--nodes above 1 needs --database-url"), "{line}");
    }
    assert!(refused("--nodes 0").contains("at least 1"));
    assert!(refused("--nodes two").contains("--nodes takes a number"));
    assert!(refused("--database-url sqlite://x.db").contains("PostgreSQL server"));
    assert!(refused("--redis-url 127.0.0.1:6379").contains("redis://"));
    assert!(refused("--redis-url").contains("needs a value"));
    // The set-up options describe the started Tessera, not another provider.
    let other = "--issuer http://127.0.0.1:3999 --client-id c --client-secret s --redirect-uri http://x/cb";
    assert!(refused(&format!("{other} --redis-url redis://127.0.0.1:6379")).contains("not --issuer"));
    assert!(refused(&format!("{other} --nodes 2")).contains("not --issuer"));
    let external = measure(&format!("{other} --server-pid 42"));
    assert_eq!(external.external.as_ref().and_then(|e| e.server_pid), Some(42));
    assert!(refused("--frobnicate").contains("unknown option"));
    assert_eq!(args("--help"), Ok(options::Command::Help));
}

#[test]
fn compare_takes_two_or_more_reports() {
    let files = |line: &str| match args(line) {
        Ok(options::Command::Compare(files)) => files,
        other => panic!("{line:?} should compare, got {other:?}"),
    };
    assert_eq!(files("--compare a.json b.json"), ["a.json", "b.json"]);
    assert_eq!(files("--bench --compare a b c d"), ["a", "b", "c", "d"]);
    assert!(refused("--compare a.json").contains("two or more"));
}

/// A report as `--out` writes it: (scenario, ops/s, p99 ms), or a failed scenario.
fn report(provider: &str, backend: &str, nodes: u64, rows: &[(&str, Option<(f64, f64)>)]) -> serde_json::Value {
    let scenarios: serde_json::Map<String, serde_json::Value> = rows
        .iter()
        .map(|(name, numbers)| {
            let row = match numbers {
                Some((rate, p99)) => serde_json::json!({ "status": "ok", "per_sec": rate, "p99_ms": p99,
                    "per_server_cpu_sec": rate * 1.5 }),
                None => serde_json::json!({ "status": "failed", "first_error": "boom" }),
            };
            (name.to_string(), row)
        })
        .collect();
    serde_json::json!({ "provider": provider, "backend": backend, "nodes": nodes, "concurrency": 16,
        "duration_secs": 10.0, "scope": "openid email", "scenarios": scenarios })
}

#[test]
fn several_reports_side_by_side_with_ratios_to_the_last() {
    let runs = [
        report("tessera", "sqlite", 1, &[("flow", Some((4000.0, 5.0))), ("refresh", Some((6000.0, 4.0)))]),
        report("tessera", "postgres+redis", 1, &[("flow", Some((1200.0, 20.0))), ("refresh", None)]),
        report("tessera", "postgres+redis", 2, &[("flow", Some((1600.0, 18.0)))]),
        report("node-oidc-provider", "unknown", 0, &[("flow", Some((800.0, 49.0))), ("refresh", Some((2000.0, 10.0)))]),
    ];
    let table = compare::table(&runs).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    // Each run is named, the two-node one with its nodes, the peer last.
    assert!(lines.contains(&"1 = tessera (sqlite), concurrency 16, 10.0 s per scenario, scope \"openid email\""));
    assert!(lines.iter().any(|l| l.starts_with("3 = tessera (postgres+redis, 2 nodes)")));
    assert!(lines.iter().any(|l| l.starts_with("4 = node-oidc-provider (unknown)")));
    let words = |name: &str| -> Vec<String> {
        let line = lines.iter().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("a {name} row in {table}"));
        line.split_whitespace().map(String::from).collect()
    };
    let header = words("scenario");
    assert_eq!(
        header.join(" "),
        "scenario 1 ops/s 1 p99 1/4 2 ops/s 2 p99 2/4 3 ops/s 3 p99 3/4 4 ops/s 4 p99",
        "{table}"
    );
    // Rate, p99 and the ratio to the peer for each Tessera run; the peer's own numbers last.
    assert_eq!(
        words("flow"),
        ["flow", "4000", "5.00", "5.00x", "1200", "20.00", "1.50x", "1600", "18.00", "2.00x", "800", "49.00"]
    );
    // A failed scenario and one a run did not have say so, with no ratio.
    assert_eq!(
        words("refresh"),
        ["refresh", "6000", "4.00", "3.00x", "failed", "failed", "-", "not", "run", "not", "run", "-", "2000", "10.00"]
    );
}

#[test]
fn two_reports_keep_the_a_b_table() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<String> = [
        report("tessera", "sqlite", 1, &[("flow", Some((4000.0, 5.0)))]),
        report("node-oidc-provider", "unknown", 0, &[("flow", Some((800.0, 49.0)))]),
    ]
    .iter()
    .enumerate()
    .map(|(i, r)| {
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, r.to_string()).unwrap();
        path.display().to_string()
    })
    .collect();
    let table = compare::run(&paths).unwrap();
    assert!(table.contains("\nA = tessera (sqlite)\nB = node-oidc-provider (unknown)\n"), "{table}");
    let flow = table.lines().find(|l| l.starts_with("flow")).unwrap();
    assert_eq!(
        flow.split_whitespace().collect::<Vec<_>>(),
        ["flow", "4000", "5.00", "800", "49.00", "5.00x", "6000", "1200", "5.00x"]
    );
    // A missing file is named in the error.
    let missing = compare::run(&[paths[0].clone(), dir.path().join("none.json").display().to_string()]);
    assert!(format!("{:#}", missing.unwrap_err()).contains("none.json"));
}
