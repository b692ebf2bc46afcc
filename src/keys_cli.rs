//! `tessera keys …` (list, rotate with a lead time, revoke at once) and `tessera master-key …`
//! (generate a key, re-seal every secret under the new one). Running servers see key changes
//! within `client_cache_secs`.

use clap::Subcommand;
use std::path::PathBuf;
use std::sync::Arc;
use tessera::clock::SystemClock;
use tessera::crypto::keys::Alg;
use tessera::crypto::sealed::MasterKey;
use tessera::events::audit::Caller;
use tessera::keys::{master, rotation};
use tessera::{AppState, Config};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Every signing key: kid, algorithm, state (next, current, retired, expired, revoked), times.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a new key per algorithm (or one), published now, signing after the lead time.
    Rotate {
        /// ES256, RS256 or EdDSA; default: every algorithm.
        #[arg(long)]
        alg: Option<String>,
        /// How long the new key is published before it signs, e.g. 30m, 1h, 2d (default
        /// `key_rotation_lead_secs`).
        #[arg(long)]
        lead_time: Option<String>,
    },
    /// Withdraw a key at once (a breach); if it was signing, its successor signs from now.
    Revoke { kid: String },
}

#[derive(Subcommand)]
pub enum MasterKeyCommand {
    /// Print a new random master key (base64 of 32 bytes).
    Generate,
    /// Re-seal every sealed secret under the master key (or the key in --new-key-file),
    /// opening with `master_key` and `master_key_previous`.
    Rotate {
        /// A file holding the new key (base64); default: the configured `master_key`.
        #[arg(long)]
        new_key_file: Option<PathBuf>,
        /// Rows re-sealed per transaction.
        #[arg(long, default_value_t = 200)]
        batch: i64,
    },
}

/// `90`, `90s`, `30m`, `1h`, `2d` as milliseconds.
pub fn duration_ms(text: &str) -> anyhow::Result<i64> {
    let t = text.trim();
    let (n, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: i64 = n.parse().map_err(|_| anyhow::anyhow!("{text:?} is not a duration like 30m, 1h or 2d"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => anyhow::bail!("{text:?} is not a duration like 30m, 1h or 2d"),
    };
    Ok(n * secs * 1000)
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis).map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into())
}

fn show(v: &rotation::KeyView) {
    println!(
        "{}  {:<5}  {:<8} created {}  activates {}  retires {}",
        v.kid,
        v.alg,
        v.state.as_str(),
        when(Some(v.created_at)),
        when(Some(v.activates_at)),
        when(v.retires_at)
    );
}

pub async fn keys(command: KeysCommand, config: Config) -> anyhow::Result<()> {
    let state = AppState::build(config, Arc::new(SystemClock)).await?;
    // After the build, which may have generated the first keys.
    let now = state.now();
    let fail = |e: tessera::Error| anyhow::anyhow!("{}", e.description());
    match command {
        KeysCommand::List { json } => {
            let all = rotation::list(&state, now).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string(&all)?);
            } else {
                all.iter().for_each(show);
            }
        }
        KeysCommand::Rotate { alg, lead_time } => {
            let alg = alg.map(|a| Alg::parse(&a).ok_or_else(|| anyhow::anyhow!("--alg: ES256, RS256 or EdDSA")));
            let lead = lead_time.as_deref().map(duration_ms).transpose()?;
            let added =
                rotation::rotate(&state, Caller::operator(), alg.transpose()?, lead, now).await.map_err(fail)?;
            added.iter().for_each(show);
        }
        KeysCommand::Revoke { kid } => {
            let changed = rotation::revoke(&state, Caller::operator(), &kid, now).await.map_err(|e| match e {
                tessera::Error::NotFound => anyhow::anyhow!("no signing key {kid:?}"),
                e => fail(e),
            })?;
            changed.iter().for_each(show);
        }
    }
    Ok(())
}

pub async fn master_key(command: MasterKeyCommand, config: Config) -> anyhow::Result<()> {
    match command {
        MasterKeyCommand::Generate => {
            println!("{}", MasterKey::generate_base64());
            Ok(())
        }
        MasterKeyCommand::Rotate { new_key_file, batch } => {
            let target = match new_key_file {
                None => None,
                Some(f) => {
                    let text = std::fs::read_to_string(&f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                    Some(
                        MasterKey::from_base64(&text)
                            .ok_or_else(|| anyhow::anyhow!("{}: not a master key", f.display()))?,
                    )
                }
            };
            let state = AppState::build(config, Arc::new(SystemClock)).await?;
            let now = state.now();
            let report = master::rotate(&state, target.as_ref(), batch.max(1), now).await?;
            for r in &report {
                println!(
                    "{:<18} re-sealed {:>6}  already new {:>6}  unreadable {}",
                    r.table, r.resealed, r.current, r.unreadable
                );
            }
            anyhow::ensure!(report.iter().all(|r| r.unreadable == 0), "some values open with none of the keys");
            Ok(())
        }
    }
}
