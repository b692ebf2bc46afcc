//! "Configuration changed" between nodes: Redis pub/sub on the channel
//! `<deployment prefix>config-changed`, whose messages name what changed (`clients`,
//! `connectors`, `purposes`, `policies`, `keys`). Whoever changes configuration (any node, or
//! the CLI) announces it; every node subscribes and drops that cache at once. Messages can be
//! lost (pub/sub does not queue for a node that is reconnecting), so each cache keeps its TTL
//! as the fallback, and a node that (re)subscribes drops every cache, since it may have missed
//! something while it was away. With the in-process store there are no other nodes: announcing
//! does nothing and nobody listens.

use super::{Backend, Ephemeral};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc;

/// A kind of cached configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigChange {
    Clients,
    Connectors,
    Purposes,
    Policies,
    Keys,
}

impl ConfigChange {
    pub const ALL: [ConfigChange; 5] = [
        ConfigChange::Clients,
        ConfigChange::Connectors,
        ConfigChange::Purposes,
        ConfigChange::Policies,
        ConfigChange::Keys,
    ];

    /// The word in the message. Never change one: nodes of two versions share the channel
    /// during a rolling upgrade.
    pub fn name(self) -> &'static str {
        match self {
            ConfigChange::Clients => "clients",
            ConfigChange::Connectors => "connectors",
            ConfigChange::Purposes => "purposes",
            ConfigChange::Policies => "policies",
            ConfigChange::Keys => "keys",
        }
    }

    pub fn parse(s: &str) -> Option<ConfigChange> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// What a subscriber hears.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    Changed(ConfigChange),
    /// Just (re)subscribed: anything may have changed meanwhile.
    Subscribed,
}

/// How long a lost subscription waits before connecting again.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

pub fn channel(prefix: &str) -> String {
    format!("{prefix}config-changed")
}

impl Ephemeral {
    /// Tell every node that `change` happened. A failure is logged, not returned: the change
    /// itself is committed, and other nodes still pick it up when their cache expires.
    pub async fn announce(&self, change: ConfigChange) {
        if let Backend::Redis(r) = &self.backend
            && let Err(e) = r.publish(&channel(&self.prefix), change.name()).await
        {
            tracing::warn!(error = %format!("{e:#}"), change = change.name(), "could not announce a configuration change");
        }
    }

    /// Listen for announcements (Redis only): a task that stays subscribed, reconnecting after
    /// a loss, until the receiver is dropped.
    pub fn subscribe(&self) -> Option<mpsc::Receiver<Heard>> {
        let Backend::Redis(r) = &self.backend else { return None };
        let client = r.client().clone();
        let channel = channel(&self.prefix);
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            while !tx.is_closed() {
                if let Err(e) = listen(&client, &channel, &tx).await {
                    tracing::warn!(error = %e, "configuration-change subscription lost; subscribing again");
                }
                tokio::select! {
                    _ = tokio::time::sleep(RESUBSCRIBE_AFTER) => {}
                    _ = tx.closed() => {}
                }
            }
        });
        Some(rx)
    }
}

async fn listen(client: &redis::Client, channel: &str, tx: &mpsc::Sender<Heard>) -> redis::RedisResult<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    if tx.send(Heard::Subscribed).await.is_err() {
        return Ok(());
    }
    let mut messages = pubsub.on_message();
    loop {
        tokio::select! {
            msg = messages.next() => {
                let Some(msg) = msg else { return Ok(()) };
                let text: String = msg.get_payload().unwrap_or_default();
                match ConfigChange::parse(&text) {
                    Some(change) => {
                        if tx.send(Heard::Changed(change)).await.is_err() {
                            return Ok(());
                        }
                    }
                    None => tracing::warn!(message = %text, "unknown configuration-change message ignored"),
                }
            }
            _ = tx.closed() => return Ok(()),
        }
    }
}

/// Announce `change` from outside a server (the CLI), when `redis_url` names a shared store.
pub async fn announce_from(config: &crate::config::Config, change: ConfigChange) {
    if config.redis_url.is_empty() {
        return;
    }
    let clock: crate::clock::SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
    match Ephemeral::from_config(config, clock).await {
        Ok(store) => store.announce(change).await,
        Err(e) => tracing::warn!(
            error = %format!("{e:#}"),
            "running servers will see this change when their cache expires (Redis unreachable)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in ConfigChange::ALL {
            assert_eq!(ConfigChange::parse(c.name()), Some(c));
        }
        assert_eq!(ConfigChange::parse("everything"), None);
        assert_eq!(channel("tessera:"), "tessera:config-changed");
    }
}
