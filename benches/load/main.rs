//! Tessera's load benchmark (`cargo bench --bench load -- --help`).
//!
//! Starts the release binary on loopback with a fresh SQLite (or `--database-url`), prepares
//! a client, a signed-in browser session and one software passkey per worker, then measures
//! each scenario for a fixed duration at a fixed concurrency, after an unmeasured warm-up:
//! the full code + PKCE flow, refresh grants, client_credentials grants, introspection,
//! userinfo and passkey sign-ins. It also records start-up time, the server's resident memory
//! and CPU time per scenario (and, with `--anonymous-authorize N`, memory under a flood of
//! anonymous requests). A scenario that fails is recorded as failed and the others still
//! run. Prints a table and writes JSON. With `--issuer` it measures another provider instead
//! (scenarios 1-5); `--compare A.json B.json` prints two runs side by side with ratios.

mod basic;
mod compare;
mod flood;
mod procfs;
mod provider;
mod report;
mod scenarios;

use report::{Report, Scenario};
use std::time::Duration;

pub struct Options {
    pub duration: Duration,
    pub warmup: Duration,
    pub concurrency: usize,
    pub out: String,
    pub database_url: Option<String>,
    pub only: Option<Vec<String>>,
    pub external: Option<provider::External>,
    /// The scope the code flow asks for.
    pub scope: String,
    /// The name the report gives the provider (default: "tessera", or the issuer).
    pub label: Option<String>,
    /// Started Tessera only: run it under `taskset -c LIST`.
    pub server_cpus: Option<String>,
    /// Run this driver under `taskset -c LIST` (it re-executes itself so pinned).
    pub driver_cpus: Option<String>,
    /// Send this many anonymous /authorize requests, each from its own network, and report
    /// the server's resident memory before and after.
    pub anonymous_authorize: Option<u64>,
    /// Exit non-zero when any scenario failed (CI's smoke run), not only when none ran.
    pub strict: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo bench --bench load -- [--duration SECS] [--warmup SECS] [--concurrency N] [--out FILE]\n\
         \x20      [--scope 'openid email'] [--label NAME]\n\
         \x20      [--database-url postgres://…] [--only flow,refresh,client_credentials,introspection,userinfo,passkey]\n\
         \x20      [--server-cpus LIST] [--driver-cpus LIST] [--strict]\n\
         \x20      [--anonymous-authorize N]   (N anonymous /authorize requests, one network each; RSS before/after)\n\
         \x20      [--issuer URL --client-id ID --client-secret S --redirect-uri URI [--cookie 'name=value; …'] [--server-pid PID]]\n\
         \x20  or: cargo bench --bench load -- --compare A.json B.json\n\
         \n\
         \x20 --duration SECS      measured time per scenario (default 10)\n\
         \x20 --warmup SECS        unmeasured time before each scenario (default 2)\n\
         \x20 --scope S            scope of the code flow (default 'openid email'); a provider that follows\n\
         \x20                      OpenID Connect Core §11 issues refresh tokens only with offline_access\n\
         \x20 --server-cpus LIST   started Tessera only: run the server under `taskset -c LIST` (e.g. 0)\n\
         \x20 --driver-cpus LIST   run this driver under `taskset -c LIST` (e.g. 1); it re-executes itself\n\
         \x20                      pinned before any thread starts, so every runtime thread stays there\n\
         \x20 --server-pid PID     with --issuer: the provider's process, for its CPU time and RSS per scenario\n\
         \x20                      (from /proc; the started Tessera is measured so without it)\n\
         \x20 --strict             exit 1 when any scenario failed (by default only when none could run;\n\
         \x20                      either way every result is printed and written first)\n\
         \x20 --compare A B        print two JSON reports side by side: rate, p99 and the ratio A/B"
    );
    std::process::exit(2)
}

fn parse() -> Options {
    let mut o = Options {
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        concurrency: 16,
        out: "target/bench-load.json".into(),
        database_url: None,
        only: None,
        external: None,
        scope: "openid email".into(),
        label: None,
        server_cpus: None,
        driver_cpus: None,
        anonymous_authorize: None,
        strict: false,
    };
    let mut ext = provider::External::default();
    let mut args = std::env::args().skip(1);
    let secs =
        |v: String| Duration::from_secs_f64(v.parse().ok().filter(|s: &f64| *s >= 0.0).unwrap_or_else(|| usage()));
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--duration" => o.duration = secs(value()),
            "--warmup" => o.warmup = secs(value()),
            "--concurrency" => o.concurrency = value().parse().unwrap_or_else(|_| usage()),
            "--out" => o.out = value(),
            "--database-url" => o.database_url = Some(value()),
            "--only" => o.only = Some(value().split(',').map(String::from).collect()),
            "--scope" => o.scope = value(),
            "--label" => o.label = Some(value()),
            "--strict" => o.strict = true,
            "--server-cpus" => o.server_cpus = Some(value()),
            "--driver-cpus" => o.driver_cpus = Some(value()),
            "--issuer" => ext.issuer = value(),
            "--client-id" => ext.client_id = value(),
            "--client-secret" => ext.client_secret = value(),
            "--redirect-uri" => ext.redirect_uri = value(),
            "--cookie" => ext.cookie = Some(value()),
            "--server-pid" => ext.server_pid = Some(value().parse().unwrap_or_else(|_| usage())),
            "--anonymous-authorize" => o.anonymous_authorize = Some(value().parse().unwrap_or_else(|_| usage())),
            "--compare" => {
                let (a, b) = (value(), value());
                match compare::run(&a, &b) {
                    Ok(table) => print!("{table}"),
                    Err(e) => {
                        eprintln!("cannot compare: {e:#}");
                        std::process::exit(1);
                    }
                }
                std::process::exit(0);
            }
            // `cargo bench` passes `--bench`; nothing else is expected.
            "--bench" => {}
            "--help" | "-h" => usage(),
            _ => usage(),
        }
    }
    if !ext.issuer.is_empty() {
        o.external = Some(ext);
    } else if ext.server_pid.is_some() {
        eprintln!("--server-pid goes with --issuer (the started Tessera is measured without it)");
        usage()
    }
    if o.external.is_some() && o.server_cpus.is_some() {
        eprintln!("--server-cpus pins the started Tessera; pin another provider when you start it");
        usage()
    }
    o
}

/// `--driver-cpus`: run again under `taskset -c LIST`, before the runtime starts any thread
/// (affinity is inherited by every thread made afterwards). `BENCH_DRIVER_PINNED` marks the
/// pinned run.
fn pin_driver(cpus: &str) {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("BENCH_DRIVER_PINNED").is_some() {
        return;
    }
    let exe = std::env::current_exe().expect("the driver's own path");
    let err = std::process::Command::new("taskset")
        .arg("-c")
        .arg(cpus)
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env("BENCH_DRIVER_PINNED", cpus)
        .exec();
    eprintln!("cannot run the driver under taskset -c {cpus}: {err}");
    std::process::exit(1)
}

fn main() {
    let options = parse();
    if let Some(cpus) = &options.driver_cpus {
        pin_driver(cpus);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let report = runtime.block_on(run(&options));
    match report {
        Ok(report) => {
            print!("{}", report.table());
            if let Some(dir) = std::path::Path::new(&options.out).parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(e) = std::fs::write(&options.out, report.json()) {
                eprintln!("cannot write {}: {e}", options.out);
                std::process::exit(1);
            }
            println!("JSON written to {}", options.out);
            // Every failure is in the table and the JSON; only a run where nothing could be
            // measured is a failed run.
            if !report.any_ran() {
                eprintln!("benchmark failed: no scenario could run");
                std::process::exit(1);
            }
            if options.strict && report.any_failed() {
                eprintln!("benchmark failed: a scenario could not run (--strict)");
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            std::process::exit(1);
        }
    }
}

async fn run(o: &Options) -> anyhow::Result<Report> {
    let wanted = |name: &str| o.only.as_ref().is_none_or(|only| only.iter().any(|w| w == name));
    let target = match &o.external {
        Some(ext) => provider::Target::external(ext).await?,
        None => provider::Target::start_tessera(o.database_url.as_deref(), o.server_cpus.as_deref(), &o.scope).await?,
    };
    let mut report = Report::new(&target, o);
    let w = std::sync::Arc::new(
        scenarios::World::prepare(&target, o.concurrency, &o.scope, wanted("passkey") && target.server.is_some())
            .await?,
    );
    let runs: [(&str, Scenario); 6] = [
        ("flow", Scenario::Flow),
        ("refresh", Scenario::Refresh),
        ("client_credentials", Scenario::ClientCredentials),
        ("introspection", Scenario::Introspection),
        ("userinfo", Scenario::Userinfo),
        ("passkey", Scenario::Passkey),
    ];
    for (name, scenario) in runs {
        if !wanted(name) || !w.supports(scenario) {
            continue;
        }
        let timing = scenarios::Timing { warmup: o.warmup, duration: o.duration, server_pid: target.server_pid };
        match scenarios::measure(&w, scenario, o.concurrency, timing).await {
            Ok(result) => report.push(name, result),
            Err(e) => report.failed(name, format!("{e:#}")),
        }
    }
    if let Some(n) = o.anonymous_authorize {
        report.flood = Some(flood::run(&target, n, o.concurrency).await?);
    }
    report.finish(&target);
    if let Some(server) = target.server {
        server.stop();
    }
    Ok(report)
}
