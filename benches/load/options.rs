//! The driver's command line, parsed without side effects (tests/it/bench_driver.rs checks
//! it): what to measure, where, and how the started Tessera is set up (SQLite, PostgreSQL,
//! Redis, one node or several behind a proxy).

use std::time::Duration;

/// Another provider, as named on the command line.
#[derive(Default, Debug, Clone, PartialEq)]
pub struct External {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    /// The Cookie header of a signed-in browser session (needed for the code flow).
    pub cookie: Option<String>,
    /// The provider's process, for its CPU time and memory (`/proc`).
    pub server_pid: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub duration: Duration,
    pub warmup: Duration,
    pub concurrency: usize,
    pub out: String,
    /// A PostgreSQL server: each run creates a database of its own there and drops it at the
    /// end (the URL's own database is only used to do that).
    pub database_url: Option<String>,
    /// The Redis every started node shares for ephemeral state (under a prefix of the run's
    /// own, removed at the end).
    pub redis_url: Option<String>,
    /// How many Tessera processes to start; more than one are put behind haproxy.
    pub nodes: usize,
    pub only: Option<Vec<String>>,
    pub external: Option<External>,
    /// The scope the code flow asks for.
    pub scope: String,
    /// The name the report gives the provider (default: "tessera", or the issuer).
    pub label: Option<String>,
    /// Started Tessera only: run every node (and the proxy) under `taskset -c LIST`.
    pub server_cpus: Option<String>,
    /// Run this driver under `taskset -c LIST` (it re-executes itself so pinned).
    pub driver_cpus: Option<String>,
    /// Send this many anonymous /authorize requests, each from its own network, and report
    /// the server's resident memory before and after.
    pub anonymous_authorize: Option<u64>,
    /// Exit non-zero when any scenario failed (CI's smoke run), not only when none ran.
    pub strict: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            concurrency: 16,
            out: "target/bench-load.json".into(),
            database_url: None,
            redis_url: None,
            nodes: 1,
            only: None,
            external: None,
            scope: "openid email".into(),
            label: None,
            server_cpus: None,
            driver_cpus: None,
            anonymous_authorize: None,
            strict: false,
        }
    }
}

impl Options {
    /// The set-up of the started Tessera as the report names it: `sqlite`, `postgres`,
    /// `postgres+redis` (or `sqlite+redis`).
    pub fn backend(&self) -> String {
        let database = if self.database_url.is_some() { "postgres" } else { "sqlite" };
        match self.redis_url {
            Some(_) => format!("{database}+redis"),
            None => database.to_string(),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Measure(Box<Options>),
    /// `--compare A.json B.json [C.json …]`: print reports side by side.
    Compare(Vec<String>),
    Help,
}

/// Parse the arguments after the program name. `Err` says what is wrong, for a line above
/// the usage text.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut o = Options::default();
    let mut ext = External::default();
    let mut args = args.into_iter();
    let secs = |flag: &str, v: String| {
        v.parse()
            .ok()
            .filter(|s: &f64| *s >= 0.0 && s.is_finite())
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("{flag} takes seconds, not {v:?}"))
    };
    let number = |flag: &str, v: String| v.parse::<u64>().map_err(|_| format!("{flag} takes a number, not {v:?}"));
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--duration" => o.duration = secs(&a, value()?)?,
            "--warmup" => o.warmup = secs(&a, value()?)?,
            "--concurrency" => o.concurrency = number(&a, value()?)? as usize,
            "--out" => o.out = value()?,
            "--database-url" => o.database_url = Some(value()?),
            "--redis-url" => o.redis_url = Some(value()?),
            "--nodes" => o.nodes = number(&a, value()?)? as usize,
            "--only" => o.only = Some(value()?.split(',').map(String::from).collect()),
            "--scope" => o.scope = value()?,
            "--label" => o.label = Some(value()?),
            "--strict" => o.strict = true,
            "--server-cpus" => o.server_cpus = Some(value()?),
            "--driver-cpus" => o.driver_cpus = Some(value()?),
            "--issuer" => ext.issuer = value()?,
            "--client-id" => ext.client_id = value()?,
            "--client-secret" => ext.client_secret = value()?,
            "--redirect-uri" => ext.redirect_uri = value()?,
            "--cookie" => ext.cookie = Some(value()?),
            "--server-pid" => ext.server_pid = Some(number(&a, value()?)? as u32),
            "--anonymous-authorize" => o.anonymous_authorize = Some(number(&a, value()?)?),
            "--compare" => {
                let files: Vec<String> = args.by_ref().take_while(|f| !f.starts_with("--")).collect();
                if files.len() < 2 {
                    return Err("--compare takes two or more JSON reports".into());
                }
                return Ok(Command::Compare(files));
            }
            // `cargo bench` passes `--bench`; nothing else is expected.
            "--bench" => {}
            "--help" | "-h" => return Ok(Command::Help),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if o.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    if !ext.issuer.is_empty() {
        o.external = Some(ext);
    } else if ext.server_pid.is_some() {
        return Err("--server-pid goes with --issuer (the started Tessera is measured without it)".into());
    }
    if o.external.is_some() {
        if o.server_cpus.is_some() {
            return Err("--server-cpus pins the started Tessera; pin another provider when you start it".into());
        }
        if o.database_url.is_some() || o.redis_url.is_some() || o.nodes != 1 {
            return Err("--database-url, --redis-url and --nodes set up the started Tessera, not --issuer".into());
        }
    }
    if o.nodes == 0 {
        return Err("--nodes must be at least 1".into());
    }
    if o.nodes > 1 && (o.redis_url.is_none() || o.database_url.is_none()) {
        return Err("--nodes above 1 needs --database-url postgres://… and --redis-url redis://… \
                    (the nodes share the database and the ephemeral store)"
            .into());
    }
    if let Some(url) = &o.database_url
        && !url.starts_with("postgres://")
        && !url.starts_with("postgresql://")
    {
        return Err(format!("--database-url names a PostgreSQL server (postgres://…), not {url:?}"));
    }
    if let Some(url) = &o.redis_url
        && !url.starts_with("redis://")
        && !url.starts_with("rediss://")
    {
        return Err(format!("--redis-url is redis://… or rediss://…, not {url:?}"));
    }
    Ok(Command::Measure(Box::new(o)))
}
