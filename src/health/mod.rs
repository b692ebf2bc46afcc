//! Health for load balancers and orchestrators: `/healthz` says the process is up (it
//! answers), `/readyz` says this node can serve sign-ins now: the database answers and has
//! every migration this binary knows applied, and the ephemeral store (Redis) answers.
//! A node that is not ready is taken out of rotation rather than failing people's requests.

pub mod routes;

use crate::state::AppState;
use serde::Serialize;
use std::time::Duration;

/// How long one check may take: a load balancer's probe must not hang on a dead dependency.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// One dependency's state, as `/readyz` reports it.
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    /// What is wrong, in words (never a connection string or credential).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Serialize, Debug)]
pub struct Readiness {
    pub ready: bool,
    pub database: Check,
    pub migrations: Check,
    pub ephemeral_store: Check,
}

fn failed(problem: impl Into<String>) -> Check {
    Check { ok: false, problem: Some(problem.into()) }
}

const OK: Check = Check { ok: true, problem: None };

pub async fn readiness(state: &AppState) -> Readiness {
    let (database, migrations) = match tokio::time::timeout(CHECK_TIMEOUT, state.store.pending_migrations()).await {
        Ok(Ok(0)) => (OK, OK),
        Ok(Ok(n)) => (OK, failed(format!("{n} migration(s) not applied"))),
        Ok(Err(e)) => {
            tracing::warn!(error = %format!("{e:#}"), "readiness: the database does not answer");
            (failed("unreachable"), failed("unknown: the database does not answer"))
        }
        Err(_) => (failed("no answer within 2 s"), failed("unknown: the database does not answer")),
    };
    let ephemeral_store = match tokio::time::timeout(CHECK_TIMEOUT, state.ephemeral.ping()).await {
        Ok(Ok(())) => OK,
        Ok(Err(e)) => {
            tracing::warn!(error = %format!("{e:#}"), "readiness: the ephemeral store does not answer");
            failed("unreachable")
        }
        Err(_) => failed("no answer within 2 s"),
    };
    Readiness { ready: database.ok && migrations.ok && ephemeral_store.ok, database, migrations, ephemeral_store }
}
