//! `tessera connector …`: manage social sign-in connectors from the command line. Changes
//! reach running servers at once (they read connectors from the database per sign-in).

use clap::{Args, Subcommand};
use std::sync::Arc;
use tessera::admin::connectors::{self as changes, Caller};
use tessera::clock::{Clock, SystemClock};
use tessera::login::federation::connectors::{self, ConnectorInput, ConnectorView};
use tessera::{AppState, Config};

#[derive(Subcommand)]
pub enum ConnectorCommand {
    /// Add a connector (kinds: oidc, oauth2, google, microsoft, apple, github, facebook).
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        kind: String,
        #[command(flatten)]
        fields: Fields,
        #[arg(long)]
        json: bool,
    },
    /// List connectors (secrets are never shown).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change a connector; only the options given change.
    Update {
        id: String,
        #[command(flatten)]
        fields: Fields,
        #[arg(long)]
        json: bool,
    },
    /// Delete a connector and the identities linked through it.
    Delete { id: String },
    /// Show a connector on the login page again.
    Enable { id: String },
    /// Hide a connector from the login page and refuse sign-ins through it.
    Disable { id: String },
}

#[derive(Args, Default)]
pub struct Fields {
    /// The button text, e.g. "Google".
    #[arg(long = "name")]
    display_name: Option<String>,
    #[arg(long)]
    icon: Option<String>,
    /// Order on the login page (lower first).
    #[arg(long)]
    position: Option<i64>,
    /// OpenID Connect issuer (discovery); presets fill it in.
    #[arg(long)]
    issuer: Option<String>,
    #[arg(long)]
    authorization_endpoint: Option<String>,
    #[arg(long)]
    token_endpoint: Option<String>,
    #[arg(long)]
    userinfo_endpoint: Option<String>,
    #[arg(long)]
    client_id: Option<String>,
    /// The client secret (stored sealed; never shown again). A value on the command line is
    /// visible to other users of the machine (ps, shell history): prefer the two below.
    #[arg(long, group = "secret")]
    client_secret: Option<String>,
    /// Read the secret from a file (e.g. Apple's .p8 private key); `-` reads standard input.
    #[arg(long, group = "secret")]
    client_secret_file: Option<std::path::PathBuf>,
    /// Read the secret from standard input (e.g. `vault read … | tessera connector create …`).
    #[arg(long, group = "secret")]
    client_secret_stdin: bool,
    /// Space-separated scopes; presets have defaults.
    #[arg(long)]
    scopes: Option<String>,
    /// Link existing accounts by this provider's verified emails without asking for proof.
    #[arg(long)]
    authoritative_email: Option<bool>,
    /// The acr of sign-ins through this connector (at most federation_acr_ceiling).
    #[arg(long)]
    acr: Option<String>,
    /// RFC 8176 amr values of this provider to pass on after `fed`, e.g. "mfa hwk" ("" for none).
    #[arg(long)]
    trusted_amr: Option<String>,
    /// Answer at the shared /login/federated/callback (for registrations made before each
    /// connector had its own callback).
    #[arg(long)]
    shared_callback: Option<bool>,
    /// Microsoft: common, consumers, organizations or a tenant id.
    #[arg(long)]
    tenant: Option<String>,
    /// Apple: the developer team id.
    #[arg(long)]
    team_id: Option<String>,
    /// Apple: the key id of the private key.
    #[arg(long)]
    key_id: Option<String>,
}

impl Fields {
    fn into_input(self, id: Option<String>, kind: Option<String>) -> anyhow::Result<ConnectorInput> {
        let secret = match (self.client_secret_file, self.client_secret_stdin) {
            (Some(path), false) if path.as_os_str() != "-" => {
                Some(std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?)
            }
            (Some(_), false) | (None, true) => Some(
                std::io::read_to_string(std::io::stdin())
                    .map_err(|e| anyhow::anyhow!("cannot read the secret from standard input: {e}"))?,
            ),
            (Some(_), true) => anyhow::bail!("give the secret one way only"),
            (None, false) => self.client_secret,
        };
        // The line end a file or `echo` adds is never part of a secret (a PEM key does not
        // need its last one).
        let secret = secret.map(|s| s.trim_end_matches(['\n', '\r']).to_string());
        let mut settings = serde_json::Map::new();
        for (k, v) in [("tenant", self.tenant), ("team_id", self.team_id), ("key_id", self.key_id)] {
            if let Some(v) = v {
                settings.insert(k.into(), v.into());
            }
        }
        Ok(ConnectorInput {
            id,
            kind,
            display_name: self.display_name,
            icon: self.icon,
            position: self.position,
            issuer: self.issuer,
            authorization_endpoint: self.authorization_endpoint,
            token_endpoint: self.token_endpoint,
            userinfo_endpoint: self.userinfo_endpoint,
            client_id: self.client_id,
            client_secret: secret,
            scopes: self.scopes,
            authoritative_email: self.authoritative_email,
            acr: self.acr,
            trusted_amr: self
                .trusted_amr
                .map(|a| a.split([' ', ',']).filter(|m| !m.is_empty()).map(String::from).collect()),
            shared_callback: self.shared_callback,
            settings: (!settings.is_empty()).then_some(settings),
            ..ConnectorInput::default()
        })
    }
}

fn show(v: &ConnectorView, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(v)?);
    } else {
        let state = if v.enabled { "enabled" } else { "disabled" };
        let secret = if v.has_secret { "secret set" } else { "no secret" };
        println!(
            "{:<16} {:<10} {:<9} {:<24} {} ({secret}) callback {}",
            v.id,
            v.kind.as_str(),
            state,
            v.display_name,
            v.client_id,
            v.callback_path
        );
    }
    Ok(())
}

pub async fn run(command: ConnectorCommand, config: Config) -> anyhow::Result<()> {
    let clock: Arc<SystemClock> = Arc::new(SystemClock);
    let now = clock.now_ms();
    let state = AppState::build(config, clock).await?;
    let fail = |e: tessera::Error| anyhow::anyhow!("{}", e.description());
    match command {
        ConnectorCommand::Create { id, kind, fields, json } => {
            let v = changes::create(&state, Caller::operator(), fields.into_input(Some(id), Some(kind))?, now)
                .await
                .map_err(fail)?;
            show(&v, json)
        }
        ConnectorCommand::List { json } => {
            let all = connectors::list(&state).await.map_err(fail)?;
            if json {
                println!("{}", serde_json::to_string(&all)?);
                return Ok(());
            }
            all.iter().try_for_each(|v| show(v, false))
        }
        ConnectorCommand::Update { id, fields, json } => {
            let v = changes::update(&state, Caller::operator(), &id, fields.into_input(None, None)?, now)
                .await
                .map_err(fail)?;
            show(&v, json)
        }
        ConnectorCommand::Delete { id } => {
            changes::delete(&state, Caller::operator(), &id, now).await.map_err(|e| match e {
                tessera::Error::NotFound => anyhow::anyhow!("no connector {id:?}"),
                other => anyhow::anyhow!("{}", other.description()),
            })?;
            println!("deleted {id}");
            Ok(())
        }
        ConnectorCommand::Enable { id } => switch(&state, &id, true, now).await,
        ConnectorCommand::Disable { id } => switch(&state, &id, false, now).await,
    }
}

async fn switch(state: &AppState, id: &str, on: bool, now: i64) -> anyhow::Result<()> {
    let v = changes::switch(state, Caller::operator(), id, on, now)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.description()))?;
    show(&v, false)
}
