//! `tessera breach …`: incident commands. Each takes `--dry-run` (count, change nothing) and
//! is recorded in the audit log as the operator's.

use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::Arc;
use tessera::breach::{self, Report, Scope, notify::Notice};
use tessera::clock::SystemClock;
use tessera::events::audit::Caller;
use tessera::{AppState, Config};

#[derive(Args)]
pub struct Whom {
    /// Only this client's tokens (and the customers it was granted anything by).
    #[arg(long)]
    client: Option<String>,
    /// Only this customer.
    #[arg(long)]
    customer: Option<String>,
    /// Count what would be touched; change nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum BreachCommand {
    /// End every session (back-channel logout queued) and revoke every token in the scope.
    Revoke(Whom),
    /// Withdraw every signing key at once; new keys sign from now.
    RotateKeys {
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// The next sign-in of the customers in the scope needs a fresh mail proof (and their
    /// authenticator app, if they have one).
    Reverify(Whom),
    /// Mail the customers in the scope: a template file with a `Subject:` line, an empty
    /// line, then the body.
    Notify {
        #[command(flatten)]
        whom: Whom,
        #[arg(long)]
        template: PathBuf,
    },
}

fn show(r: &Report, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(r)?);
    } else {
        let would = if r.dry_run { "would touch" } else { "touched" };
        println!(
            "{}: {would} {} customers, {} sessions, {} token families, {} signing keys; {} mails sent",
            r.action, r.customers, r.sessions, r.token_families, r.keys, r.mails
        );
    }
    Ok(())
}

pub async fn run(command: BreachCommand, config: Config) -> anyhow::Result<()> {
    let fail = |e: tessera::Error| anyhow::anyhow!("{}", e.description());
    let scope = |w: &Whom| Scope::from_options(w.client.clone(), w.customer.clone()).map_err(fail);
    let by = Caller::operator;
    match command {
        BreachCommand::Revoke(w) => {
            let state = AppState::build(config, Arc::new(SystemClock)).await?;
            let now = state.now();
            show(&breach::revoke::revoke(&state, by(), &scope(&w)?, w.dry_run, now).await.map_err(fail)?, w.json)
        }
        BreachCommand::RotateKeys { dry_run, json } => {
            let state = AppState::build(config, Arc::new(SystemClock)).await?;
            let now = state.now();
            show(&breach::revoke::rotate_keys(&state, by(), dry_run, now).await.map_err(fail)?, json)
        }
        BreachCommand::Reverify(w) => {
            let state = AppState::build(config, Arc::new(SystemClock)).await?;
            let now = state.now();
            let r = breach::revoke::require_reverification(&state, by(), &scope(&w)?, w.dry_run, now).await;
            show(&r.map_err(fail)?, w.json)
        }
        BreachCommand::Notify { whom, template } => {
            let text =
                std::fs::read_to_string(&template).map_err(|e| anyhow::anyhow!("{}: {e}", template.display()))?;
            let notice = Notice::parse(&text).map_err(fail)?;
            let state = AppState::build(config, Arc::new(SystemClock)).await?;
            let now = state.now();
            let r = breach::notify::notify(&state, by(), &scope(&whom)?, &notice, whom.dry_run, now).await;
            show(&r.map_err(fail)?, whom.json)
        }
    }
}
