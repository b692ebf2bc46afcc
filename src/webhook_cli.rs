//! `tessera webhook …`: register webhook endpoints (the secret is printed once), list and
//! delete them, see their deliveries and attempts, replay deliveries, and send a test event.
//! Running servers see changes at once (they read endpoints from the database).

use clap::Subcommand;
use std::sync::Arc;
use tessera::clock::{Clock, SystemClock};
use tessera::events::webhooks::{self, Caller, DeliveryView, EndpointInput, EndpointView, ReplayInput};
use tessera::{AppState, Config};

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Register an endpoint; prints its signing secret (whsec_…), once.
    Create {
        /// Where to POST events (https; http only on an allowed private network).
        #[arg(long)]
        url: String,
        /// An event type to send, e.g. customer.created or customer.* (repeatable; none: all).
        #[arg(long = "event-type")]
        event_types: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long)]
        json: bool,
    },
    /// List endpoints (secrets are never shown).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete an endpoint with its deliveries.
    Delete { id: String },
    /// Enable an endpoint again after it was disabled for failing.
    Enable { id: String },
    /// An endpoint's newest deliveries and every attempt (status or error, latency, response).
    Deliveries {
        id: String,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Send deliveries again (a new series of attempts with the same webhook-id).
    Replay {
        id: String,
        /// One delivery (whd_…).
        #[arg(long, group = "which")]
        delivery: Option<String>,
        /// The delivery of one event (evt_…).
        #[arg(long, group = "which")]
        event: Option<String>,
        /// Every delivery since this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
        #[arg(long, group = "which")]
        since: Option<String>,
    },
    /// Send a webhook.test event now and show the attempt.
    Test {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

fn show(v: &EndpointView) {
    let state = if v.enabled { "enabled" } else { "disabled" };
    let types = if v.event_types.is_empty() { "all events".to_string() } else { v.event_types.join(" ") };
    println!("{}  {:<8} {}  [{types}]  {}", v.id, state, v.url, v.description);
}

fn show_delivery(d: &DeliveryView) {
    println!("{}  {}  {}  {}", d.id, d.event_id, d.event_type, d.state);
    for a in &d.attempts {
        let when = chrono::DateTime::from_timestamp_millis(a.attempted_at).unwrap_or_default().to_rfc3339();
        let result = match (a.status, &a.error) {
            (Some(s), _) => format!("HTTP {s}"),
            (None, Some(e)) => format!("error: {e}"),
            (None, None) => "no answer".into(),
        };
        println!("    {when}  {result}  {} ms  {}", a.latency_ms, a.response_excerpt.replace('\n', " "));
    }
}

pub async fn run(command: WebhookCommand, config: Config) -> anyhow::Result<()> {
    let clock: Arc<SystemClock> = Arc::new(SystemClock);
    let now = clock.now_ms();
    let state = AppState::build(config, clock).await?;
    let fail = |e: tessera::Error| anyhow::anyhow!("{}", e.description());
    match command {
        WebhookCommand::Create { url, event_types, description, json } => {
            let input = EndpointInput { url, event_types, description };
            let created = webhooks::create(&state, input, Caller::operator(), now).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string(&created)?);
            } else {
                show(&created.endpoint);
                println!("secret: {}\n(The secret is shown only now. Store it safely.)", created.secret);
            }
        }
        WebhookCommand::List { json } => {
            let all = webhooks::list(&state).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string(&all)?);
            } else {
                all.iter().for_each(show);
            }
        }
        WebhookCommand::Delete { id } => {
            webhooks::delete(&state, &id, Caller::operator(), now)
                .await
                .map_err(|_| anyhow::anyhow!("no webhook {id:?}"))?;
            println!("deleted {id}");
        }
        WebhookCommand::Enable { id } => {
            show(&webhooks::enable(&state, &id, Caller::operator(), now).await.map_err(fail)?)
        }
        WebhookCommand::Deliveries { id, limit, json } => {
            let all = webhooks::deliveries(&state, &id, limit).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string(&all)?);
            } else {
                all.iter().for_each(show_delivery);
            }
        }
        WebhookCommand::Replay { id, delivery, event, since } => {
            let which = ReplayInput { delivery_id: delivery, event_id: event, since }.parse().map_err(fail)?;
            let n = webhooks::replay(&state, &id, which, Caller::operator(), now).await.map_err(fail)?;
            println!("queued again: {n} {}", if n == 1 { "delivery" } else { "deliveries" });
        }
        WebhookCommand::Test { id, json } => {
            let d = webhooks::send_test(&state, &id, now).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string(&d)?);
            } else {
                show_delivery(&d);
            }
        }
    }
    Ok(())
}
