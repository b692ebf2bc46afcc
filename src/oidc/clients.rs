//! Registered clients (relying parties): validation on registration, and an in-memory cache
//! so the token path never waits on the database for them. Changes made by any node or the
//! CLI are announced (`ephemeral::changes`, with Redis) and every node forgets its copies at
//! once; without that channel, changes made elsewhere are seen within `client_cache_secs`.

pub use super::client_checks::check_redirect_uri;
use super::client_checks::{check_backchannel_uri, check_grant_types, check_origin};
use crate::crypto::keys::Alg;
use crate::crypto::secrets;
use crate::ephemeral::changes::ConfigChange;
use crate::error::{Error, Result};
use crate::events::{Change, NewEvent, outbox};
use crate::oidc::grants::GrantType;
use crate::state::AppState;
use crate::store::{ClientRecord, Store};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub name: String,
    secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes the client may obtain for itself with client_credentials.
    pub allowed_scopes: Vec<String>,
    pub consent_required: bool,
    /// OIDC Registration §2 `id_token_signed_response_alg`; `None` means the server default.
    pub id_token_alg: Option<Alg>,
    pub created_at: i64,
    /// Where OIDC Back-Channel Logout tokens go (§2.2), if anywhere.
    pub backchannel_logout_uri: Option<String>,
    /// A legacy confidential client allowed to skip PKCE (RFC 9700 §2.1.1 wants it always).
    pub pkce_optional: bool,
    /// The grants it may use (RFC 6749 §5.2 `unauthorized_client` for any other).
    pub grant_types: Vec<GrantType>,
    /// A resource server: may introspect tokens issued to other clients (RFC 7662 §2.2).
    pub introspect: bool,
    /// RFC 8707 resource indicators it may ask access tokens for.
    pub resources: Vec<String>,
    /// Web origins (besides its redirect URIs') that may call the API from a browser (CORS).
    pub allowed_origins: Vec<String>,
    /// The consent purposes it may ask for (`purpose:<id>` scope values), loaded with it.
    pub purposes: Vec<crate::consent::purposes::ClientPurpose>,
    /// Claims it cannot work without (progressive profiling): (claim, reason shown).
    pub required_claims: Vec<(String, String)>,
    /// Core §8.1: the sector of its pairwise `sub` values (`None`: the public `sub`).
    pub sector: Option<String>,
    /// Every purpose it asks for needs a guardian's approval below the age of digital consent.
    pub age_check: bool,
}

impl Client {
    pub(crate) fn from_record(r: ClientRecord) -> anyhow::Result<Client> {
        Ok(Client {
            redirect_uris: serde_json::from_str(&r.redirect_uris)?,
            post_logout_redirect_uris: serde_json::from_str(&r.post_logout_redirect_uris)?,
            allowed_scopes: r.allowed_scopes.split(' ').filter(|s| !s.is_empty()).map(String::from).collect(),
            id: r.id,
            name: r.name,
            secret_hash: r.secret_hash,
            consent_required: r.consent_required != 0,
            id_token_alg: Alg::parse(&r.id_token_alg),
            created_at: r.created_at,
            backchannel_logout_uri: Some(r.backchannel_logout_uri).filter(|u| !u.is_empty()),
            pkce_optional: r.pkce_required == 0,
            grant_types: r.grant_types.split(' ').filter_map(GrantType::parse).collect(),
            introspect: r.introspect != 0,
            resources: serde_json::from_str(&r.resources)?,
            allowed_origins: serde_json::from_str(&r.allowed_origins)?,
            purposes: Vec::new(),
            required_claims: Vec::new(),
            sector: Some(r.sector_identifier).filter(|s| !s.is_empty()),
            age_check: false,
        })
    }

    /// The registration of purpose `id` for this client, if it may ask for it.
    pub fn purpose(&self, id: &str) -> Option<&crate::consent::purposes::ClientPurpose> {
        self.purposes.iter().find(|p| p.purpose == id)
    }

    /// A public client cannot keep a secret (RFC 6749 §2.1) and must use PKCE.
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    pub fn secret_matches(&self, secret: &str) -> bool {
        match &self.secret_hash {
            Some(h) => secrets::constant_time_eq(h, &secrets::hash(secret)),
            None => false,
        }
    }

    /// Exact string comparison (RFC 9700 §4.1.3; OIDC Core §3.1.2.1), except that a public
    /// client's loopback IP redirect URI matches on any port (RFC 8252 §7.3: native apps
    /// listen on an ephemeral port).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|u| u == uri || (self.is_public() && same_loopback_uri_but_port(u, uri)))
    }

    /// RFC 6749 §4.1.2.1 and §5.2: `unauthorized_client` for a grant it is not registered for.
    pub fn may_use(&self, grant: GrantType) -> Result<()> {
        if self.grant_types.contains(&grant) {
            return Ok(());
        }
        Err(Error::UnauthorizedClient(match grant {
            GrantType::AuthorizationCode => "this client is not registered for the authorization_code grant",
            GrantType::RefreshToken => "this client is not registered for the refresh_token grant",
            GrantType::ClientCredentials => "this client is not registered for the client_credentials grant",
        }))
    }

    pub fn has_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|u| u == uri)
    }
}

pub struct ClientRegistry {
    cache: RwLock<HashMap<String, (Arc<Client>, i64)>>,
    ttl_ms: i64,
}

impl ClientRegistry {
    pub fn new(ttl_secs: i64) -> Self {
        Self { cache: RwLock::new(HashMap::new()), ttl_ms: ttl_secs * 1000 }
    }

    pub async fn get(&self, store: &Store, id: &str, now: i64) -> Result<Option<Arc<Client>>> {
        if let Some((c, loaded)) = self.cache.read().unwrap_or_else(|p| p.into_inner()).get(id)
            && now - loaded < self.ttl_ms
        {
            return Ok(Some(c.clone()));
        }
        let Some(record) = store.client(id).await? else {
            self.invalidate(id);
            return Ok(None);
        };
        let mut client = Client::from_record(record)?;
        client.purposes = crate::consent::purposes::of_client(store, id).await?;
        client.required_claims = store.client_required_claims(id).await?;
        client.age_check = store.age_checked("client").await?.iter().any(|c| c == id);
        let client = Arc::new(client);
        self.cache.write().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), (client.clone(), now));
        Ok(Some(client))
    }

    pub fn invalidate(&self, id: &str) {
        self.cache.write().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    /// Forget every cached client (another node or the CLI changed clients or purposes).
    pub fn forget_all(&self) {
        self.cache.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// What to register. `NewClient { name, redirect_uris, ..NewClient::default() }` keeps
/// callers working when fields are added.
pub struct NewClient {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub public: bool,
    pub allowed_scopes: Vec<String>,
    pub consent_required: bool,
    pub id_token_alg: Option<Alg>,
    pub backchannel_logout_uri: Option<String>,
    /// Let this (confidential, legacy) client skip PKCE; every other client must use S256.
    pub pkce_optional: bool,
    /// Default: `authorization_code refresh_token`.
    pub grant_types: Vec<GrantType>,
    pub introspect: bool,
    pub resources: Vec<String>,
    pub allowed_origins: Vec<String>,
    /// Core §8.1 `subject_type` pairwise, with its sector from this URI or the redirect URIs.
    pub pairwise: bool,
    pub sector_identifier_uri: Option<String>,
}

impl Default for NewClient {
    fn default() -> Self {
        NewClient {
            name: String::new(),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            public: false,
            allowed_scopes: vec![],
            consent_required: false,
            id_token_alg: None,
            backchannel_logout_uri: None,
            pkce_optional: false,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            introspect: false,
            resources: vec![],
            allowed_origins: vec![],
            pairwise: false,
            sector_identifier_uri: None,
        }
    }
}

/// RFC 8252 §7.3: `http://127.0.0.1` or `http://[::1]` redirect URIs that differ only in the
/// port. Not `localhost` (§8.3), and everything else (path, query) must be equal.
fn same_loopback_uri_but_port(registered: &str, requested: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(registered), url::Url::parse(requested)) else { return false };
    let loopback = |u: &url::Url| {
        u.scheme() == "http" && matches!(u.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(u.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback()) && u.scheme() == "http"
    };
    loopback(&a)
        && loopback(&b)
        && a.host() == b.host()
        && a.path() == b.path()
        && a.query() == b.query()
        && a.fragment().is_none()
        && b.fragment().is_none()
        && a.username().is_empty()
        && b.username().is_empty()
}

/// Register a client. Returns it with its secret (confidential clients), shown only once.
pub async fn create(store: &Store, new: NewClient, now: i64) -> Result<(Client, Option<String>)> {
    if new.name.trim().is_empty() {
        return Err(Error::bad_input("the client needs a name"));
    }
    check_grant_types(&new)?;
    for uri in new.redirect_uris.iter().chain(&new.post_logout_redirect_uris) {
        check_redirect_uri(uri)?;
    }
    if let Some(uri) = &new.backchannel_logout_uri {
        check_backchannel_uri(uri)?;
    }
    for r in &new.resources {
        super::grants::resource::check_registrable(r)?;
    }
    let allowed_origins = new.allowed_origins.iter().map(|o| check_origin(o)).collect::<Result<Vec<_>>>()?;
    if new.public && new.introspect {
        return Err(Error::bad_input("a public client cannot introspect: introspection needs client authentication"));
    }
    if new.public && new.pkce_optional {
        return Err(Error::bad_input(PUBLIC_NEEDS_PKCE));
    }
    let sector_identifier = super::subject::sector_of(&new)?;
    let secret = (!new.public).then(secrets::random_token);
    let record = ClientRecord {
        id: secrets::random_id(),
        name: new.name.trim().to_string(),
        secret_hash: secret.as_deref().map(secrets::hash),
        redirect_uris: serde_json::to_string(&new.redirect_uris).map_err(anyhow::Error::from)?,
        post_logout_redirect_uris: serde_json::to_string(&new.post_logout_redirect_uris)
            .map_err(anyhow::Error::from)?,
        allowed_scopes: new.allowed_scopes.join(" "),
        consent_required: i64::from(new.consent_required),
        id_token_alg: new.id_token_alg.map(|a| a.as_str().to_string()).unwrap_or_default(),
        created_at: now,
        backchannel_logout_uri: new.backchannel_logout_uri.unwrap_or_default(),
        pkce_required: i64::from(!new.pkce_optional),
        grant_types: new.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>().join(" "),
        introspect: i64::from(new.introspect),
        resources: serde_json::to_string(&new.resources).map_err(anyhow::Error::from)?,
        allowed_origins: serde_json::to_string(&allowed_origins).map_err(anyhow::Error::from)?,
        sector_identifier,
    };
    let mut tx = store.begin().await?;
    Store::insert_client_in(&mut tx, &record).await?;
    outbox::emit_in(&mut tx, NewEvent::client_changed(&record.id, Change::Created), now).await?;
    tx.commit().await?;
    Ok((Client::from_record(record)?, secret))
}

const PUBLIC_NEEDS_PKCE: &str =
    "a public client must use PKCE; `--pkce optional` is only for legacy confidential clients";

/// Delete a client and everything issued to it, and forget it in this process at once. (Its
/// access tokens die with it everywhere: every token check reads whether the client exists.)
pub async fn delete(state: &AppState, id: &str) -> Result<bool> {
    let deleted = delete_stored(&state.store, id, state.now()).await?;
    state.clients.invalidate(id);
    state.config_changed(ConfigChange::Clients).await;
    Ok(deleted)
}

/// Delete a client from the store (the CLI: running servers see it at once, as above).
pub async fn delete_stored(store: &Store, id: &str, now: i64) -> Result<bool> {
    let mut tx = store.begin().await?;
    let deleted = Store::delete_client_in(&mut tx, id).await?;
    if deleted {
        outbox::emit_in(&mut tx, NewEvent::client_changed(id, Change::Deleted), now).await?;
    }
    tx.commit().await?;
    Ok(deleted)
}

/// Require PKCE of a client again, or let a legacy confidential client skip it.
pub async fn set_pkce_optional(store: &Store, id: &str, optional: bool, now: i64) -> Result<()> {
    let mut tx = store.begin().await?;
    if Store::set_client_pkce_required_in(&mut tx, id, !optional).await? {
        outbox::emit_in(&mut tx, NewEvent::client_changed(id, Change::Updated), now).await?;
        tx.commit().await?;
        return Ok(());
    }
    drop(tx);
    match store.client(id).await? {
        None => Err(Error::bad_input(format!("no client with id {id}"))),
        Some(_) => Err(Error::bad_input(PUBLIC_NEEDS_PKCE)),
    }
}

pub async fn list(store: &Store) -> Result<Vec<Client>> {
    store.clients().await?.into_iter().map(|r| Client::from_record(r).map_err(Error::from)).collect()
}
