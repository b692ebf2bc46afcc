//! `tessera audit`: read the audit log from the command line, newest first, with the same
//! filters as the admin API (`GET /admin/api/v1/audit`).

use clap::Args;
use tessera::Config;
use tessera::events::audit_query::{self, Query};
use tessera::store::Store;

#[derive(Args)]
pub struct AuditArgs {
    /// Entries about this customer (id).
    #[arg(long)]
    customer: Option<String>,
    /// An action (`signin.email`) or every action under a prefix (`signin.*`).
    #[arg(long)]
    action: Option<String>,
    /// From this time on: unix seconds or RFC 3339.
    #[arg(long)]
    since: Option<String>,
    /// Up to this time: unix seconds or RFC 3339.
    #[arg(long)]
    until: Option<String>,
    /// At most this many entries (1–200).
    #[arg(long, default_value_t = audit_query::DEFAULT_LIMIT)]
    limit: i64,
    /// The `next_cursor` a previous page printed.
    #[arg(long)]
    cursor: Option<String>,
    /// One JSON object: `entries` and `next_cursor`.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: AuditArgs, config: Config) -> anyhow::Result<()> {
    let store = Store::connect(&config.database_url(), 2).await?;
    store.migrate().await?;
    let q = Query {
        customer: args.customer,
        action: args.action,
        since: args.since,
        until: args.until,
        limit: Some(args.limit),
        cursor: args.cursor,
    };
    let page = audit_query::search_in(&store, &q).await.map_err(|e| anyhow::anyhow!("{}", e.description()))?;
    store.close().await;
    if args.json {
        println!("{}", serde_json::to_string(&page)?);
        return Ok(());
    }
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    for e in &page.entries {
        let actor = match e["actor"]["id"].as_str() {
            Some(id) => format!("{}:{id}", text(&e["actor"]["kind"])),
            None => text(&e["actor"]["kind"]),
        };
        let outcome = match e["reason"].as_str() {
            Some(r) => format!("{}({r})", text(&e["outcome"])),
            None => text(&e["outcome"]),
        };
        println!(
            "{}  {:<28} {:<24} {:<28} {:<22} {:<16} {}",
            text(&e["time"]),
            text(&e["action"]),
            actor,
            text(&e["target"]),
            outcome,
            text(&e["ip"]),
            e["detail"]
        );
    }
    if let Some(next) = &page.next_cursor {
        println!("more: --cursor {next}");
    }
    Ok(())
}
