//! `tessera purpose …`, `tessera policy …` and `tessera consent …`: consent purposes, the
//! versions of the policies they belong to, and the consent ledger (verify, export).

use clap::Subcommand;
use std::path::PathBuf;
use std::sync::Arc;
use tessera::clock::{Clock, SystemClock};
use tessera::consent::ledger;
use tessera::consent::policies::{self, NewVersion};
use tessera::consent::purposes::{self, Purpose, PurposeInput};
use tessera::events::audit::Caller;
use tessera::{AppState, Config};

#[derive(Subcommand)]
pub enum PurposeCommand {
    /// Define a purpose, e.g. `--id marketing.email --name "News by email" --policy privacy
    /// --notice "We send you news about offers, at most weekly."`.
    Create {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        fields: PurposeFields,
        #[arg(long)]
        json: bool,
    },
    /// Change a purpose; only the options given change.
    Update {
        id: String,
        #[command(flatten)]
        fields: PurposeFields,
        #[arg(long)]
        json: bool,
    },
    /// List purposes.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop offering a purpose (it stays in the ledger).
    Retire { id: String },
}

#[derive(clap::Args)]
pub struct PurposeFields {
    #[arg(long)]
    name: Option<String>,
    /// One or two sentences in plain language, shown on the consent screen.
    #[arg(long)]
    notice: Option<String>,
    /// The policy this purpose belongs to (publish it first).
    #[arg(long)]
    policy: Option<String>,
    /// A data category the purpose uses, e.g. email (repeatable).
    #[arg(long = "data-category")]
    data_categories: Option<Vec<String>>,
    /// A channel it concerns, e.g. email, sms (repeatable).
    #[arg(long = "channel")]
    channels: Option<Vec<String>>,
    /// Below the age of digital consent a guardian must approve it (`--age-check false`
    /// turns it off).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    age_check: Option<bool>,
}

impl PurposeFields {
    fn into_input(self, id: Option<String>) -> PurposeInput {
        PurposeInput {
            id,
            name: self.name,
            notice: self.notice,
            policy: self.policy,
            data_categories: self.data_categories,
            channels: self.channels,
            age_check: self.age_check,
        }
    }
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Publish the next version of a policy from a file, e.g. `--id privacy --version 2
    /// --file privacy-v2.md --summary "…" --material`.
    Publish {
        #[arg(long)]
        id: String,
        /// The version this must become (refused when it would be another): guards against
        /// publishing twice.
        #[arg(long)]
        version: Option<i64>,
        #[arg(long)]
        file: PathBuf,
        /// What changed, in a sentence or two (shown to customers).
        #[arg(long)]
        summary: String,
        /// Customers must accept this version again at their next sign-in.
        #[arg(long)]
        material: bool,
        #[arg(long)]
        title: Option<String>,
        /// When it takes effect (unix seconds or RFC 3339; default: now). Customers affected
        /// by a material change are mailed its summary before.
        #[arg(long)]
        effective_at: Option<String>,
    },
    /// List every version of every policy.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Check every customer's consent ledger chain; names the first broken entry of each.
    Verify,
    /// A customer's consent ledger (JSON, or receipts in words).
    Export {
        #[arg(long)]
        customer: String,
        #[arg(long)]
        json: bool,
    },
}

fn show(p: &Purpose, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(p)?);
    } else {
        let state = if p.retired { "retired" } else { "offered" };
        let age = if p.age_check { " (age check)" } else { "" };
        println!("{:<24} {:<8} policy {:<12} {}{age} — {}", p.id, state, p.policy, p.name, p.notice);
    }
    Ok(())
}

fn fail(e: tessera::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", e.description())
}

async fn state(config: Config) -> anyhow::Result<(Arc<AppState>, i64)> {
    let clock: Arc<SystemClock> = Arc::new(SystemClock);
    let now = clock.now_ms();
    Ok((AppState::build(config, clock).await?, now))
}

pub async fn purpose(command: PurposeCommand, config: Config) -> anyhow::Result<()> {
    let (state, now) = state(config).await?;
    match command {
        PurposeCommand::Create { id, fields, json } => show(
            &purposes::create(&state, fields.into_input(Some(id)), Caller::operator(), now).await.map_err(fail)?,
            json,
        ),
        PurposeCommand::Update { id, fields, json } => show(
            &purposes::update(&state, &id, fields.into_input(None), Caller::operator(), now).await.map_err(fail)?,
            json,
        ),
        PurposeCommand::List { json } => {
            let all = purposes::list(&state).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string(&all)?);
                return Ok(());
            }
            all.iter().try_for_each(|p| show(p, false))
        }
        PurposeCommand::Retire { id } => {
            purposes::retire(&state, &id, Caller::operator(), now)
                .await
                .map_err(|_| anyhow::anyhow!("no purpose {id:?}"))?;
            println!("retired {id}");
            Ok(())
        }
    }
}

pub async fn policy(command: PolicyCommand, config: Config) -> anyhow::Result<()> {
    let (state, now) = state(config).await?;
    match command {
        PolicyCommand::Publish { id, version, file, summary, material, title, effective_at } => {
            let effective_at = match effective_at.as_deref() {
                Some(t) => Some(
                    tessera::events::audit_query::parse_time(t)
                        .ok_or_else(|| anyhow::anyhow!("--effective-at: unix seconds or RFC 3339"))?,
                ),
                None => None,
            };
            let body = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if let Some(want) = version {
                let all = policies::list(&state).await.map_err(fail)?;
                let next = all.iter().filter(|p| p.id == id).map(|p| p.version).max().map_or(1, |v| v + 1);
                anyhow::ensure!(want == next, "policy {id}: the next version is {next}, not {want}");
            }
            let new = NewVersion { id, title: title.unwrap_or_default(), body, summary, material, effective_at };
            let v = policies::publish(&state, new, Caller::operator(), now).await.map_err(fail)?;
            println!("published {} version {} (SHA-256 {})", v.id, v.version, v.text_hash);
            Ok(())
        }
        PolicyCommand::List { json } => {
            let all = policies::list(&state).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string(&all)?);
                return Ok(());
            }
            for v in &all {
                let kind = if v.material { "material" } else { "notice" };
                println!("{:<12} v{:<3} {:<8} {} — {}", v.id, v.version, kind, v.title, v.summary);
            }
            Ok(())
        }
    }
}

pub async fn consent(command: ConsentCommand, config: Config) -> anyhow::Result<()> {
    let (state, _) = state(config).await?;
    match command {
        ConsentCommand::Verify => {
            let (chains, broken) = ledger::verify(&state).await.map_err(fail)?;
            for b in &broken {
                println!("BROKEN customer {} at entry {}: {}", b.customer_id, b.seq, b.why);
            }
            anyhow::ensure!(broken.is_empty(), "{} of {chains} consent ledger chains are broken", broken.len());
            println!("{chains} consent ledger chains verified");
            Ok(())
        }
        ConsentCommand::Export { customer, json } => {
            let receipts = ledger::export(&state, &customer).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&receipts)?);
            } else {
                receipts.iter().for_each(|r| println!("{}", r.words()));
            }
            Ok(())
        }
    }
}
