//! Everything a request needs, built once at start: config, store, ephemeral store, mailer,
//! signing keys, client cache and clock.

use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::keys::Keys;
use crate::crypto::private_files;
use crate::crypto::sealed::MasterKey;
use crate::ephemeral::Ephemeral;
use crate::ephemeral::changes::{ConfigChange, Heard};
use crate::mail::Mailer;
use crate::oidc::clients::ClientRegistry;
use crate::store::Store;
use std::sync::Arc;

pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub ephemeral: Ephemeral,
    pub mailer: Mailer,
    pub mail_from: lettre::message::Mailbox,
    /// The signing keys; `keys.at(now)` is the ring as it stands (see `keys::ring`).
    pub keys: Keys,
    pub master_key: MasterKey,
    pub clients: ClientRegistry,
    pub clock: SharedClock,
    /// The WebAuthn relying party (passkeys).
    pub webauthn: crate::login::passkey::Webauthn,
    /// Access tokens already verified (signature and claims), until they expire.
    pub verified_tokens: crate::oidc::verified::VerifiedTokens,
    /// The web origins allowed to call the API from a browser (CORS), cached.
    pub cors_origins: crate::oidc::cors::Origins,
    /// Pairwise subject identifiers (OpenID Connect Core §8.1), keyed from the master key.
    pub pairwise: crate::crypto::pairwise::PairwiseSubjects,
    /// Outgoing HTTP (back-channel logout): short timeout, no redirects.
    pub http: reqwest::Client,
    /// Requests to upstream identity providers: guarded against private networks, with the
    /// cache of their discovery documents and keys.
    pub outbound: crate::login::federation::outbound::Outbound,
    /// How many configuration-change messages this node has heard (and acted on) from the
    /// shared channel, subscriptions included: tests wait on it instead of sleeping.
    pub changes_heard: tokio::sync::watch::Sender<u64>,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    /// Connect, migrate, load (or on first start generate) keys, and wire the services.
    pub async fn build(config: Config, clock: SharedClock) -> anyhow::Result<SharedState> {
        let store = Store::connect(&config.database_url(), config.db_max_connections).await?;
        store.migrate().await?;
        let master_key = crate::keys::master::load(&config, &store, clock.now_ms()).await?;
        let keys = crate::keys::ring::load(&store, &master_key, &config, clock.now_ms()).await?;
        let (mailer, mail_from) = Mailer::from_config(&config)?;
        let webauthn = crate::login::passkey::relying_party(&config)?;
        let outbound = crate::login::federation::outbound::Outbound::new(config.federation_allow_private_networks)?;
        let state = Arc::new(AppState {
            ephemeral: Ephemeral::from_config(&config, clock.clone()).await?,
            changes_heard: tokio::sync::watch::Sender::new(0),
            clients: ClientRegistry::new(config.client_cache_secs),
            config,
            store,
            mailer,
            mail_from,
            keys,
            pairwise: crate::crypto::pairwise::PairwiseSubjects::new(&master_key),
            master_key,
            clock,
            webauthn,
            verified_tokens: Default::default(),
            cors_origins: Default::default(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            outbound,
        });
        // Consents remembered before the consent ledger existed become its first entries.
        crate::consent::ledger::backfill(&state).await.map_err(|e| anyhow::anyhow!("consent ledger: {e:?}"))?;
        Ok(state)
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// An absolute URL under the issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.issuer)
    }

    /// This node changed configuration of kind `change` (already committed): forget the
    /// cached copies here at once, and tell every other node to do the same.
    pub async fn config_changed(&self, change: ConfigChange) {
        self.forget_cached(change);
        self.ephemeral.announce(change).await;
    }

    /// Drop what a change of `change`'s kind makes stale. Each cache keeps its TTL as the
    /// fallback for a message that never arrives.
    fn forget_cached(&self, change: ConfigChange) {
        match change {
            // A client's purposes are loaded with it, so a purpose change reaches it too.
            ConfigChange::Clients | ConfigChange::Purposes => {
                self.clients.forget_all();
                self.cors_origins.forget();
            }
            // Connectors are read from the store per sign-in; what a provider publishes is
            // cached per issuer, and a changed connector may point elsewhere.
            ConfigChange::Connectors => self.outbound.cache.forget_all(),
            // Policy versions are read from the store where they are used: nothing cached.
            ConfigChange::Policies => {}
            // Rotated or revoked elsewhere: the next request reloads the key ring.
            ConfigChange::Keys => self.keys.mark_stale(),
        }
    }

    /// Act on something heard on the shared channel.
    fn heard(&self, heard: Heard) {
        match heard {
            Heard::Changed(change) => self.forget_cached(change),
            Heard::Subscribed => ConfigChange::ALL.into_iter().for_each(|c| self.forget_cached(c)),
        }
        self.changes_heard.send_modify(|n| *n += 1);
    }
}

/// Listen for other nodes' configuration changes (with Redis) until the returned task is
/// aborted; `serve` runs it beside the server.
pub fn listen_for_changes(state: SharedState) -> Option<tokio::task::JoinHandle<()>> {
    let mut heard = state.ephemeral.subscribe()?;
    Some(tokio::spawn(async move {
        while let Some(h) = heard.recv().await {
            state.heard(h);
        }
    }))
}

/// The master key from config, or from `<data_dir>/master.key`, generated on first start.
pub fn load_master_key(config: &Config) -> anyhow::Result<MasterKey> {
    if !config.master_key.is_empty() {
        return MasterKey::from_base64(&config.master_key)
            .ok_or_else(|| anyhow::anyhow!("configuration key `master_key`: must be the base64 of 32 bytes"));
    }
    let path = config.data_dir.join("master.key");
    private_files::create_dir(&config.data_dir).map_err(|e| {
        anyhow::anyhow!("cannot create {} (configuration key `data_dir`): {e}", config.data_dir.display())
    })?;
    // Created with mode 0600 and its contents in one step (never briefly world-readable, never
    // half-written); when two processes start at once, one key wins and both use it.
    match private_files::create_file_atomically(&path, MasterKey::generate_base64().as_bytes()) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            "GENERATED A NEW MASTER KEY. It encrypts signing keys and secrets at rest: back it up, \
             and give every node the same key through TESSERA_MASTER_KEY. Losing it loses them."
        ),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => anyhow::bail!("cannot create {}: {e}", path.display()),
    }
    let text = std::fs::read_to_string(&path)?;
    MasterKey::from_base64(&text).ok_or_else(|| anyhow::anyhow!("{} does not hold a valid master key", path.display()))
}
