//! The `tessera` command: serve, migrate, and manage clients, connectors and webhooks.

mod audit_cli;
mod breach_cli;
mod client_cli;
mod connector_cli;
mod consent_cli;
mod keys_cli;
mod privacy_cli;
mod webhook_cli;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tessera::clock::SystemClock;
use tessera::store::Store;
use tessera::{AppState, Config};

#[derive(Parser)]
#[command(name = "tessera", version, about = "Passwordless customer identity and consent (OpenID Connect provider)")]
struct Cli {
    /// TOML configuration file (also TESSERA_CONFIG). TESSERA_* variables override it.
    #[arg(long, global = true, env = "TESSERA_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (applies migrations first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Ask the running server on `listen` whether it is up (its /healthz); exit 0 if so.
    Healthcheck,
    /// Manage social sign-in connectors (upstream identity providers).
    #[command(subcommand)]
    Connector(Box<connector_cli::ConnectorCommand>),
    /// Manage registered apps (OpenID Connect clients).
    #[command(subcommand)]
    Client(Box<client_cli::ClientCommand>),
    /// Manage consent purposes (what the brand may do with a customer's data).
    #[command(subcommand)]
    Purpose(Box<consent_cli::PurposeCommand>),
    /// Publish and list versions of policies (privacy policy, terms of service…).
    #[command(subcommand)]
    Policy(Box<consent_cli::PolicyCommand>),
    /// The consent ledger: verify every chain, export a customer's.
    #[command(subcommand)]
    Consent(Box<consent_cli::ConsentCommand>),
    /// Manage webhook endpoints (Standard Webhooks): register, list, deliveries, replay.
    #[command(subcommand)]
    Webhook(Box<webhook_cli::WebhookCommand>),
    /// Read the audit log, newest first.
    Audit(audit_cli::AuditArgs),
    /// Privacy requests: list by status and due date, show, note, extend, complete, reject.
    #[command(subcommand)]
    PrivacyRequests(Box<privacy_cli::PrivacyRequestCommand>),
    /// Signing keys: list their states, rotate, revoke.
    #[command(subcommand)]
    Keys(Box<keys_cli::KeysCommand>),
    /// The master key that seals secrets at rest: generate one, re-seal under a new one.
    #[command(subcommand)]
    MasterKey(Box<keys_cli::MasterKeyCommand>),
    /// Incident response: revoke sessions and tokens, withdraw keys, force re-verification,
    /// mail customers (each with --dry-run).
    #[command(subcommand)]
    Breach(Box<breach_cli::BreachCommand>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tessera: {e}");
            return ExitCode::from(2);
        }
    };
    init_logs(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tessera: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, as text or (`log_format = json`) one JSON object per line whose
/// `span` holds the request id. `TESSERA_LOG` filters them (tracing's env-filter syntax).
fn init_logs(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.log_format == "json" {
        logs.json().with_current_span(true).with_span_list(false).init();
    } else {
        logs.init();
    }
}

/// `tessera healthcheck`: ask this node's `/healthz` (for container health checks, where
/// there is no shell or curl), over TLS when the node serves it (`tls_cert_file`). Exit 0
/// when it answers 200.
async fn healthcheck(config: &Config) -> anyhow::Result<()> {
    let mut addr: std::net::SocketAddr = config.listen.parse()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let ask = async {
        let conn = tokio::net::TcpStream::connect(addr).await?;
        match config.tls_files() {
            None => ask_healthz(conn, "localhost").await,
            Some(files) => {
                let host = url::Url::parse(&config.issuer)?.host_str().unwrap_or("localhost").to_string();
                ask_healthz(tessera::web::tls::connect_to_self(&files, &host, conn).await?, &host).await
            }
        }
    };
    let head = tokio::time::timeout(std::time::Duration::from_secs(3), ask).await??;
    anyhow::ensure!(head.starts_with(b"HTTP/1.1 200"), "{addr}/healthz answered {}", String::from_utf8_lossy(&head));
    println!("healthy");
    Ok(())
}

/// GET /healthz on `conn`; the status line's first 12 bytes.
async fn ask_healthz(
    mut conn: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    host: &str,
) -> anyhow::Result<[u8; 12]> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    conn.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut head = [0u8; 12];
    conn.read_exact(&mut head).await?;
    Ok(head)
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Healthcheck => healthcheck(&config).await,
        Command::Migrate => {
            let store = Store::connect(&config.database_url(), 1).await?;
            store.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Client(c) => client_cli::run(*c, config).await,
        Command::Connector(c) => connector_cli::run(*c, config).await,
        Command::Purpose(c) => consent_cli::purpose(*c, config).await,
        Command::Policy(c) => consent_cli::policy(*c, config).await,
        Command::Consent(c) => consent_cli::consent(*c, config).await,
        Command::Webhook(c) => webhook_cli::run(*c, config).await,
        Command::Audit(a) => audit_cli::run(a, config).await,
        Command::PrivacyRequests(c) => privacy_cli::run(*c, config).await,
        Command::Keys(c) => keys_cli::keys(*c, config).await,
        Command::MasterKey(c) => keys_cli::master_key(*c, config).await,
        Command::Breach(c) => breach_cli::run(*c, config).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    config.check_cluster()?;
    let stop = stop_signal()?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (configuration key `listen`): {e}", config.listen))?;
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    let ephemeral = if state.ephemeral.is_shared() { "redis" } else { "in-process" };
    let tls = state.config.tls_files().is_some();
    tracing::info!(issuer = %state.config.issuer, listen = %state.config.listen, ephemeral, tls, "Tessera is ready");
    if state.config.smtp_url.is_empty() && state.config.loopback_issuer() {
        tracing::info!(outbox = %state.config.outbox_dir().display(), "no smtp_url: sign-in mails are written to the outbox");
    } else if state.config.smtp_url.is_empty() {
        tracing::warn!(
            outbox = %state.config.outbox_dir().display(),
            "mail_outbox_in_production: sign-in mails are written to the outbox folder; whoever reads it can sign in"
        );
    }
    tessera::serve(listener, state, stop).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C (SIGINT) or SIGTERM (what `docker stop`, systemd and Kubernetes send): stop taking
/// connections and let requests in flight finish. The handlers are installed now, before the
/// server listens, so a signal that comes early is not the default (killing) one.
fn stop_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| anyhow::anyhow!("cannot listen for SIGTERM: {e}"))?;
    let interrupt = tokio::signal::ctrl_c();
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = interrupt.await;
        tracing::info!("shutting down: finishing requests in flight");
    })
}
