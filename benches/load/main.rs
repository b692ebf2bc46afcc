//! Tessera's load benchmark (`cargo bench --bench load -- --help`).
//!
//! Starts Tessera on loopback with a fresh SQLite (or, with `--database-url`, a fresh
//! PostgreSQL database; with `--redis-url`, Redis for ephemeral state under a prefix of its
//! own; with `--nodes N`, N nodes of one deployment behind haproxy), prepares
//! a client, a signed-in browser session and one software passkey per worker, then measures
//! each scenario for a fixed duration at a fixed concurrency, after an unmeasured warm-up:
//! the full code + PKCE flow, refresh grants, client_credentials grants, introspection,
//! userinfo and passkey sign-ins. It also records start-up time, the server's resident memory
//! and CPU time per scenario (and, with `--anonymous-authorize N`, memory under a flood of
//! anonymous requests). A scenario that fails is recorded as failed and the others still
//! run. Prints a table and writes JSON. With `--issuer` it measures another provider instead
//! (scenarios 1-5); `--compare A.json B.json [C.json …]` prints runs side by side with ratios.

mod basic;
mod compare;
mod flood;
mod fresh;
mod options;
mod procfs;
mod provider;
mod proxy;
mod report;
mod scenarios;

use options::{Command, Options};
use report::{Report, Scenario};

fn usage() -> ! {
    eprintln!(
        "usage: cargo bench --bench load -- [--duration SECS] [--warmup SECS] [--concurrency N] [--out FILE]\n\
         \x20      [--scope 'openid email'] [--label NAME]\n\
         \x20      [--database-url postgres://…] [--redis-url redis://…] [--nodes N]\n\
         \x20      [--only flow,refresh,client_credentials,introspection,userinfo,passkey]\n\
         \x20      [--server-cpus LIST] [--driver-cpus LIST] [--strict]\n\
         \x20      [--anonymous-authorize N]   (N anonymous /authorize requests, one network each; RSS before/after)\n\
         \x20      [--issuer URL --client-id ID --client-secret S --redirect-uri URI [--cookie 'name=value; …'] [--server-pid PID]]\n\
         \x20  or: cargo bench --bench load -- --compare A.json B.json [C.json …]\n\
         \n\
         \x20 --duration SECS      measured time per scenario (default 10)\n\
         \x20 --warmup SECS        unmeasured time before each scenario (default 2)\n\
         \x20 --scope S            scope of the code flow (default 'openid email'); a provider that follows\n\
         \x20                      OpenID Connect Core §11 issues refresh tokens only with offline_access\n\
         \x20 --database-url URL   a PostgreSQL server: the run creates a database of its own there\n\
         \x20                      (tessera_bench_<pid>) and drops it at the end\n\
         \x20 --redis-url URL      the Redis the started nodes share (TESSERA_REDIS_URL), under a key prefix\n\
         \x20                      of the run's own (tessera-bench-<pid>:) whose keys are deleted at the end\n\
         \x20 --nodes N            start N Tessera processes (default 1); above 1 they share the database\n\
         \x20                      and Redis (both required) behind haproxy (round robin, keep-alive), and the\n\
         \x20                      server CPU time and RSS reported are the sum over the nodes (not the proxy)\n\
         \x20 --server-cpus LIST   started Tessera only: run every node and the proxy under `taskset -c LIST`\n\
         \x20                      (e.g. 0: on a 2-core machine the nodes then share the server's one core)\n\
         \x20 --driver-cpus LIST   run this driver under `taskset -c LIST` (e.g. 1); it re-executes itself\n\
         \x20                      pinned before any thread starts, so every runtime thread stays there\n\
         \x20 --server-pid PID     with --issuer: the provider's process, for its CPU time and RSS per scenario\n\
         \x20                      (from /proc; the started Tessera is measured so without it)\n\
         \x20 --strict             exit 1 when any scenario failed (by default only when none could run;\n\
         \x20                      either way every result is printed and written first)\n\
         \x20 --compare A B …      print JSON reports side by side: rate and p99 of each; with two, the ratio\n\
         \x20                      A/B and work per server CPU-second; with more, each run's ratio to the last"
    );
    std::process::exit(2)
}

fn parse() -> Options {
    match options::parse(std::env::args().skip(1)) {
        Ok(Command::Measure(o)) => *o,
        Ok(Command::Compare(files)) => match compare::run(&files) {
            Ok(table) => {
                print!("{table}");
                std::process::exit(0)
            }
            Err(e) => {
                eprintln!("cannot compare: {e:#}");
                std::process::exit(1)
            }
        },
        Ok(Command::Help) => usage(),
        Err(why) => {
            eprintln!("{why}");
            usage()
        }
    }
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
    let mut target = match &o.external {
        Some(ext) => provider::Target::external(ext).await?,
        None => provider::Target::start_tessera(o).await?,
    };
    let report = measure_all(o, &target).await;
    // Stop the nodes and the proxy, and remove the run's database and Redis keys, whatever
    // happened.
    if let Some(server) = target.server.take() {
        server.stop().await;
    }
    report
}

async fn measure_all(o: &Options, target: &provider::Target) -> anyhow::Result<Report> {
    let wanted = |name: &str| o.only.as_ref().is_none_or(|only| only.iter().any(|w| w == name));
    let mut report = Report::new(target, o);
    let w = std::sync::Arc::new(
        scenarios::World::prepare(target, o.concurrency, &o.scope, wanted("passkey") && target.server.is_some())
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
        let timing =
            scenarios::Timing { warmup: o.warmup, duration: o.duration, server_pids: target.server_pids.clone() };
        match scenarios::measure(&w, scenario, o.concurrency, timing).await {
            Ok(result) => report.push(name, result),
            Err(e) => report.failed(name, format!("{e:#}")),
        }
    }
    if let Some(n) = o.anonymous_authorize {
        report.flood = Some(flood::run(target, n, o.concurrency).await?);
    }
    report.finish(target);
    Ok(report)
}
