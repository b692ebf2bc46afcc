//! `tessera privacy-requests …`: the admin API's privacy request actions from the command
//! line, audited as the operator: list (by status and due date), show, note, extend,
//! complete, reject.

use clap::Subcommand;
use std::sync::Arc;
use tessera::clock::{Clock, SystemClock};
use tessera::events::audit::Caller;
use tessera::privacy::admin::{self, ListQuery, RequestView};
use tessera::{AppState, Config};

#[derive(Subcommand)]
pub enum PrivacyRequestCommand {
    /// List requests, the soonest due first.
    List {
        /// Only requests in this status (received, verified, in_progress, completed, rejected, cancelled).
        #[arg(long)]
        status: Option<String>,
        /// Only open requests due within this span (3d, 12h, 2w), overdue ones included.
        #[arg(long)]
        due_within: Option<String>,
        /// Only this customer's requests (id).
        #[arg(long)]
        customer: Option<String>,
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Show one request as JSON.
    Show { id: String },
    /// Add a note to a request.
    Note { id: String, text: String },
    /// Extend a request's deadline as far as its jurisdiction allows, with the reason.
    Extend {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Complete a request (correction, restriction), with what was done.
    Complete {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Reject a request, with the reason the customer is told.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
    },
}

fn fail(e: tessera::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", e.description())
}

fn line(v: &RequestView) -> String {
    let day = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default()
    };
    let flag = match v.flag {
        Some(admin_flag) => {
            serde_json::to_value(admin_flag).ok().and_then(|f| f.as_str().map(str::to_string)).unwrap_or_default()
        }
        None => String::new(),
    };
    format!(
        "{:<28} {:<14} {:<12} {:<6} due {} {:<9} {}",
        v.id,
        v.kind,
        v.status,
        v.jurisdiction,
        day(v.deadline),
        flag,
        v.customer_id
    )
}

pub async fn run(command: PrivacyRequestCommand, config: Config) -> anyhow::Result<()> {
    let clock = Arc::new(SystemClock);
    let now = clock.now_ms();
    let state: Arc<AppState> = AppState::build(config, clock).await?;
    let by = Caller::operator();
    let shown = match command {
        PrivacyRequestCommand::List { status, due_within, customer, json } => {
            let q = ListQuery { status, due_within, customer, limit: Some(500) };
            let list = admin::list(&state, &q, now).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else {
                for v in &list {
                    println!("{}", line(v));
                }
            }
            None
        }
        PrivacyRequestCommand::Show { id } => Some(admin::show(&state, &id, now).await),
        PrivacyRequestCommand::Note { id, text } => Some(admin::note(&state, by, &id, &text, now).await),
        PrivacyRequestCommand::Extend { id, reason } => Some(admin::extend(&state, by, &id, &reason, now).await),
        PrivacyRequestCommand::Complete { id, reason } => Some(admin::close(&state, by, &id, true, &reason, now).await),
        PrivacyRequestCommand::Reject { id, reason } => Some(admin::close(&state, by, &id, false, &reason, now).await),
    };
    if let Some(v) = shown {
        println!("{}", serde_json::to_string_pretty(&v.map_err(fail)?)?);
    }
    state.store.close().await;
    Ok(())
}
