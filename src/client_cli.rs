//! `tessera client …`: register, change, list and delete apps (OpenID Connect clients), with
//! their consent purposes, required claims and subject type.

use clap::Subcommand;
use tessera::Config;
use tessera::clock::SystemClock;
use tessera::consent::purposes::{self as consent_purposes, ClientPurpose};
use tessera::crypto::keys::Alg;
use tessera::ephemeral::changes::{self, ConfigChange};
use tessera::events::audit::{self, Actor, Entry};
use tessera::oidc::clients::{self, Client, NewClient};
use tessera::oidc::grants::GrantType;
use tessera::oidc::profile;
use tessera::store::Store;

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register an app; prints its client_id and (confidential clients) its secret, once.
    Create {
        #[arg(long)]
        name: String,
        /// Exact redirect URI (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Where RP-initiated logout may return to (repeatable).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// A public client (SPA, mobile): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// A scope this client may get for itself with client_credentials (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Ask customers to consent before this app gets their data.
        #[arg(long)]
        consent_required: bool,
        /// ID token signing algorithm for this app (ES256, RS256, EdDSA); default: the server's.
        #[arg(long)]
        id_token_alg: Option<String>,
        /// Where to send OIDC Back-Channel Logout tokens when a session of this app ends.
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// PKCE (S256) is required of every app. `optional` is only for a legacy confidential
        /// app that cannot send it (it then relies on its secret alone against code injection).
        #[arg(long, value_enum, default_value_t = Pkce::Required)]
        pkce: Pkce,
        /// A grant type the app may use: authorization_code, refresh_token, client_credentials
        /// (repeatable or space-separated). Default: authorization_code refresh_token.
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// A resource server: may introspect tokens issued to other apps (RFC 7662).
        #[arg(long)]
        introspect: bool,
        /// A resource (absolute URI) the app may ask access tokens for (RFC 8707; repeatable).
        #[arg(long = "resource")]
        resources: Vec<String>,
        /// A web origin that may call the token, UserInfo, revocation and introspection
        /// endpoints from a browser, besides its redirect URIs' origins (repeatable).
        #[arg(long = "allowed-origin")]
        allowed_origins: Vec<String>,
        /// A consent purpose the app may ask for: `<id>:optional` or `<id>:required[:<why>]`
        /// (repeatable).
        #[arg(long = "purpose")]
        purposes: Vec<String>,
        /// A claim the app cannot work without, asked for when it first needs it:
        /// `phone_number`, `birthdate` or `address`, optionally `:<why>` (repeatable).
        #[arg(long = "require-claim")]
        required_claims: Vec<String>,
        /// OpenID Connect Core §8: `public` (one `sub` for all apps) or `pairwise` (its own).
        #[arg(long, value_enum, default_value_t = SubjectType::Public)]
        subject_type: SubjectType,
        /// For a pairwise app whose redirect URIs have several hosts: the URL whose host is
        /// its sector (Core §8.1).
        #[arg(long)]
        sector_identifier_uri: Option<String>,
        /// Below the age of digital consent, a guardian must approve every purpose it asks for.
        #[arg(long)]
        age_check: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change a registered app.
    Update {
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// Require PKCE again, or let a legacy confidential app skip it.
        #[arg(long, value_enum)]
        pkce: Pkce,
    },
    /// List registered apps.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete an app and everything issued to it.
    Delete {
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SubjectType {
    Public,
    Pairwise,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Pkce {
    Required,
    Optional,
}

fn pkce_name(optional: bool) -> &'static str {
    if optional { "optional" } else { "required" }
}

pub async fn run(command: ClientCommand, config: Config) -> anyhow::Result<()> {
    let store = Store::connect(&config.database_url(), 2).await?;
    store.migrate().await?;
    let now = tessera::clock::Clock::now_ms(&SystemClock);
    // Running servers forget their cached clients at once (with Redis; else within
    // client_cache_secs).
    let announce = !matches!(command, ClientCommand::List { .. });
    match command {
        ClientCommand::Create {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            scopes,
            consent_required,
            id_token_alg,
            backchannel_logout_uri,
            pkce,
            grant_types,
            introspect,
            resources,
            allowed_origins,
            purposes,
            required_claims,
            subject_type,
            sector_identifier_uri,
            age_check,
            json,
        } => {
            let fail = |e: tessera::Error| anyhow::anyhow!("{}", e.description());
            let purposes: Vec<ClientPurpose> =
                purposes.iter().map(|p| ClientPurpose::parse(p)).collect::<Result<_, _>>().map_err(fail)?;
            consent_purposes::check_for_client(&store, &purposes).await.map_err(fail)?;
            let required_claims: Vec<(String, String)> =
                required_claims.iter().map(|c| profile::parse_required(c)).collect::<Result<_, _>>().map_err(fail)?;
            let id_token_alg = match id_token_alg {
                Some(a) => Some(
                    Alg::parse(&a).ok_or_else(|| anyhow::anyhow!("--id-token-alg must be ES256, RS256 or EdDSA"))?,
                ),
                None => None,
            };
            let new = NewClient {
                name,
                redirect_uris,
                post_logout_redirect_uris,
                public,
                allowed_scopes: scopes,
                consent_required,
                id_token_alg,
                backchannel_logout_uri,
                pkce_optional: pkce == Pkce::Optional,
                grant_types: parse_grant_types(&grant_types)?.unwrap_or(NewClient::default().grant_types),
                introspect,
                resources,
                allowed_origins,
                pairwise: subject_type == SubjectType::Pairwise,
                sector_identifier_uri,
            };
            let (client, secret) =
                clients::create(&store, new, now).await.map_err(|e| anyhow::anyhow!("{}", e.description()))?;
            consent_purposes::register_for_client(&store, &client.id, &purposes).await.map_err(fail)?;
            profile::require_claims(&store, &client.id, &required_claims).await.map_err(fail)?;
            tessera::oidc::guardian::require_age_check(&store, &client.id, age_check).await.map_err(fail)?;
            let detail = serde_json::json!({ "name": client.name, "public": client.is_public() });
            let entry = Entry::new(Actor::Operator, "admin.client.created", Some(&client.id)).detail(detail);
            audit::record_to(&store, entry, now).await?;
            if json {
                let v = serde_json::json!({
                    "client_id": client.id, "client_secret": secret, "name": client.name,
                    "redirect_uris": client.redirect_uris, "public": client.is_public(),
                    "pkce": pkce_name(client.pkce_optional), "grant_types": grant_names(&client),
                    "introspect": client.introspect, "resources": client.resources,
                    "allowed_origins": client.allowed_origins, "age_check": age_check,
                });
                println!("{v}");
            } else {
                println!("client_id:     {}", client.id);
                match secret {
                    Some(s) => println!("client_secret: {s}\n(The secret is shown only now. Store it safely.)"),
                    None => println!("public client: no secret; use PKCE (S256)"),
                }
                if client.pkce_optional {
                    println!("PKCE optional: only for a legacy app that cannot send it");
                }
                println!("grant_types:   {}", grant_names(&client).join(" "));
            }
        }
        ClientCommand::List { json } => {
            let all = clients::list(&store).await.map_err(|e| anyhow::anyhow!("{}", e.description()))?;
            if json {
                let v: Vec<_> = all
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "client_id": c.id, "name": c.name, "redirect_uris": c.redirect_uris,
                            "public": c.is_public(), "pkce": pkce_name(c.pkce_optional),
                            "grant_types": grant_names(c), "introspect": c.introspect, "resources": c.resources,
                            "allowed_origins": c.allowed_origins,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                for c in all {
                    let kind = match (c.is_public(), c.pkce_optional) {
                        (true, _) => "public",
                        (false, false) => "confidential",
                        (false, true) => "confidential, PKCE optional",
                    };
                    let grants = grant_names(&c).join(" ");
                    println!("{}  {:<24} {:<12} {:<50} {}", c.id, c.name, kind, grants, c.redirect_uris.join(" "));
                }
            }
        }
        ClientCommand::Update { id, pkce } => {
            clients::set_pkce_optional(&store, &id, pkce == Pkce::Optional, now)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.description()))?;
            let detail = serde_json::json!({ "fields": ["pkce"], "pkce": pkce_name(pkce == Pkce::Optional) });
            audit::record_to(
                &store,
                Entry::new(Actor::Operator, "admin.client.updated", Some(&id)).detail(detail),
                now,
            )
            .await?;
            println!("{id}: PKCE {}", pkce_name(pkce == Pkce::Optional));
        }
        ClientCommand::Delete { id } => {
            // Running servers see it at once: every token check reads whether its client exists.
            let deleted = clients::delete_stored(&store, &id, now).await;
            if deleted.map_err(|e| anyhow::anyhow!("{}", e.description()))? {
                audit::record_to(&store, Entry::new(Actor::Operator, "admin.client.deleted", Some(&id)), now).await?;
                println!("deleted {id}");
            } else {
                anyhow::bail!("no client with id {id}");
            }
        }
    }
    store.close().await;
    if announce {
        changes::announce_from(&config, ConfigChange::Clients).await;
    }
    Ok(())
}

/// `--grant-type` values, each one or several space-separated names; `None` when none given.
fn parse_grant_types(given: &[String]) -> anyhow::Result<Option<Vec<GrantType>>> {
    let mut out = Vec::new();
    for name in given.iter().flat_map(|g| g.split_whitespace()) {
        let g = GrantType::parse(name).ok_or_else(|| {
            anyhow::anyhow!("unknown grant type {name:?}: use authorization_code, refresh_token or client_credentials")
        })?;
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

fn grant_names(c: &Client) -> Vec<&'static str> {
    c.grant_types.iter().map(|g| g.as_str()).collect()
}
