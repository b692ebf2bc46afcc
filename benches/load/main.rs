//! Tessera's load benchmark (`cargo bench --bench load -- --help`).
//!
//! Starts the release binary on loopback with a fresh SQLite (or `--database-url`), prepares
//! a client, a signed-in browser session and one software passkey per worker, then measures
//! each scenario for a fixed duration at a fixed concurrency: the full code + PKCE flow,
//! refresh grants, client_credentials grants, introspection, userinfo and passkey
//! sign-ins. It also records start-up time and the server's resident memory (and, with
//! `--anonymous-authorize N`, memory under a flood of anonymous requests). Prints a table
//! and writes JSON. With `--issuer` it measures another provider instead (scenarios 1-4).

mod flood;
mod provider;
mod report;
mod scenarios;

use report::{Report, Scenario};
use std::time::Duration;

pub struct Options {
    pub duration: Duration,
    pub concurrency: usize,
    pub out: String,
    pub database_url: Option<String>,
    pub only: Option<Vec<String>>,
    pub external: Option<provider::External>,
    /// Send this many anonymous /authorize requests, each from its own network, and report
    /// the server's resident memory before and after.
    pub anonymous_authorize: Option<u64>,
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo bench --bench load -- [--duration SECS] [--concurrency N] [--out FILE]\n\
         \x20      [--database-url postgres://…] [--only flow,refresh,client_credentials,introspection,userinfo,passkey]\n\
         \x20      [--anonymous-authorize N]   (N anonymous /authorize requests, one network each; RSS before/after)\n\
         \x20      [--issuer URL --client-id ID --client-secret S --redirect-uri URI [--cookie 'name=value; …']]"
    );
    std::process::exit(2)
}

fn parse() -> Options {
    let mut o = Options {
        duration: Duration::from_secs(10),
        concurrency: 16,
        out: "target/bench-load.json".into(),
        database_url: None,
        only: None,
        external: None,
        anonymous_authorize: None,
    };
    let mut ext = provider::External::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--duration" => o.duration = Duration::from_secs_f64(value().parse().unwrap_or_else(|_| usage())),
            "--concurrency" => o.concurrency = value().parse().unwrap_or_else(|_| usage()),
            "--out" => o.out = value(),
            "--database-url" => o.database_url = Some(value()),
            "--only" => o.only = Some(value().split(',').map(String::from).collect()),
            "--issuer" => ext.issuer = value(),
            "--client-id" => ext.client_id = value(),
            "--client-secret" => ext.client_secret = value(),
            "--redirect-uri" => ext.redirect_uri = value(),
            "--cookie" => ext.cookie = Some(value()),
            "--anonymous-authorize" => o.anonymous_authorize = Some(value().parse().unwrap_or_else(|_| usage())),
            // `cargo bench` passes `--bench`; nothing else is expected.
            "--bench" => {}
            "--help" | "-h" => usage(),
            _ => usage(),
        }
    }
    if !ext.issuer.is_empty() {
        o.external = Some(ext);
    }
    o
}

fn main() {
    let options = parse();
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
        None => provider::Target::start_tessera(o.database_url.as_deref()).await?,
    };
    let mut report = Report::new(&target, o);
    let w = std::sync::Arc::new(
        scenarios::World::prepare(&target, o.concurrency, wanted("passkey") && target.server.is_some()).await?,
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
        let result = scenarios::measure(&w, scenario, o.concurrency, o.duration).await?;
        report.push(name, result);
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
