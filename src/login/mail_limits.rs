//! Limits on sign-in mails that a stranger cannot turn against a customer.
//!
//! Only mails that went out count (a refused request or a failed send does not). The limit
//! per address is kept per (address, client network): a stranger exhausting it on their
//! network leaves the customer's own network untouched. Across all networks an address has
//! only a soft cap: past it, mails to the address go out at most once per
//! `sign_in_mails_slowed_interval_secs` (a mailbox is not flooded), but never stop for good.

use crate::crypto::secrets;
use crate::ephemeral::{Key, Space};
use crate::error::{Error, Result};
use crate::state::AppState;

const WINDOW_SECS: i64 = 15 * 60;

/// The counters one sign-in mail request is checked against and, once sent, counted in.
pub struct MailLimits {
    address_on_network: Key,
    network: Key,
    address: Key,
    last_mail: Key,
}

impl MailLimits {
    pub fn new(email: &str, network: &str) -> MailLimits {
        let address = secrets::hash(email);
        MailLimits {
            address_on_network: Space::RateLimit.key(&format!("signin-address-net:{address}:{network}")),
            network: Space::RateLimit.key(&format!("signin-net:{network}")),
            address: Space::RateLimit.key(&format!("signin-address:{address}")),
            last_mail: Space::LastSignInMail.key(&address),
        }
    }

    /// Refuse the request when a limit is reached; counts nothing.
    pub async fn check(&self, state: &AppState, now: i64) -> Result<()> {
        let (e, c) = (&state.ephemeral, &state.config);
        if e.hits(&self.address_on_network, WINDOW_SECS).await? >= c.sign_in_mails_per_address
            || e.hits(&self.network, WINDOW_SECS).await? >= c.sign_in_mails_per_ip
        {
            tracing::warn!("sign-in mails rate limited");
            crate::telemetry::rate_limited("sign_in_mails");
            return Err(Error::RateLimited {
                message: "Too many sign-in mails were asked for. Wait a few minutes, then try again.",
                retry_after_secs: WINDOW_SECS as u64,
            });
        }
        if e.hits(&self.address, WINDOW_SECS).await? >= c.sign_in_mails_per_address_all_networks {
            let last: i64 = e.get(&self.last_mail).await?.and_then(|v| v.parse().ok()).unwrap_or(0);
            let wait_ms = last + c.sign_in_mails_slowed_interval_secs * 1000 - now;
            if wait_ms > 0 {
                tracing::warn!("sign-in mails to one address slowed down");
                crate::telemetry::rate_limited("sign_in_mails_slowed");
                return Err(Error::RateLimited {
                    message: "Many sign-in mails went to this address just now. Wait a minute, then try again.",
                    retry_after_secs: ((wait_ms + 999) / 1000) as u64,
                });
            }
        }
        Ok(())
    }

    /// Count a mail that went out.
    pub async fn count(&self, state: &AppState, now: i64) -> Result<()> {
        let e = &state.ephemeral;
        e.hit(&self.address_on_network, WINDOW_SECS).await?;
        e.hit(&self.network, WINDOW_SECS).await?;
        e.hit(&self.address, WINDOW_SECS).await?;
        e.put(&self.last_mail, now.to_string(), WINDOW_SECS).await?;
        Ok(())
    }
}
