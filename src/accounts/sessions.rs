//! The customer's sessions as the sessions page shows them, and ending them.

use crate::error::{Error, Result};
use crate::events::audit::{Actor, SessionEnd};
use crate::session::{self, Browser};
use crate::state::AppState;
use crate::store::SessionRecord;

pub use crate::session::device;

pub use crate::session::methods_in_words as methods;

pub async fn list(state: &AppState, customer_id: &str, now: i64) -> Result<Vec<SessionRecord>> {
    let all = state.store.sessions_of(customer_id, now).await?;
    Ok(all.into_iter().filter(|s| !session::idle(state, s, now)).collect())
}

/// End one of the customer's own sessions (revoking what was issued in it).
pub async fn end_one(
    state: &AppState,
    current: &SessionRecord,
    id: &str,
    browser: &Browser<'_>,
    now: i64,
) -> Result<()> {
    let target = state.store.session_by_id(id, now).await?.filter(|s| s.customer_id == current.customer_id);
    let target = target.ok_or(Error::NotFound)?;
    let why = SessionEnd { by: Actor::Customer(current.customer_id.clone()), reason: "revoked", from: Some(*browser) };
    crate::oidc::logout::end(state, &target, false, why).await
}

/// End every session of the customer except `current`.
pub async fn end_others(state: &AppState, current: &SessionRecord, browser: &Browser<'_>, now: i64) -> Result<usize> {
    let others: Vec<SessionRecord> =
        list(state, &current.customer_id, now).await?.into_iter().filter(|s| s.id != current.id).collect();
    for s in &others {
        let why =
            SessionEnd { by: Actor::Customer(current.customer_id.clone()), reason: "revoked", from: Some(*browser) };
        crate::oidc::logout::end(state, s, false, why).await?;
    }
    Ok(others.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_methods_read_plainly() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(device(firefox), "Firefox on Linux");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device(iphone), "Safari on iOS");
        assert_eq!(device(""), "A browser on an unknown system");
    }
}
