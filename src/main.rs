//! The `tessera` command: serve, migrate, and manage clients, connectors and webhooks.

mod audit_cli;
mod breach_cli;
mod client_cli;
mod connector_cli;
mod consent_cli;
mod keys_cli;
mod webhook_cli;

use clap::{Parser, Subcommand};
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
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tessera: {e}");
            return ExitCode::from(2);
        }
    };
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

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
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
        Command::Keys(c) => keys_cli::keys(*c, config).await,
        Command::MasterKey(c) => keys_cli::master_key(*c, config).await,
        Command::Breach(c) => breach_cli::run(*c, config).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let stop = stop_signal()?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (configuration key `listen`): {e}", config.listen))?;
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    tracing::info!(issuer = %state.config.issuer, listen = %state.config.listen, "Tessera is ready");
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
