//! The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2) as a list of
//! small named checks, run in order. Until client and redirect URI are trusted, errors are
//! shown as a page and never redirected (RFC 6749 §4.1.2.1); after that they go back to the
//! client with `state` and `iss`.

use super::clients::Client;
use super::params::Params;
use super::redirect::{AuthorizationResponse, ResponseMode};
use super::{pkce, prompt, scopes, scopes::Scopes};
use crate::crypto::secrets;
use crate::ephemeral::Space;
use crate::error::{Error, Result};
use crate::oidc::grants::authorization_code::{self, AuthorizationCode};
use crate::session::acr_level;
use crate::state::AppState;
use crate::store::SessionRecord;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A request that passed every check, kept while the person signs in or consents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    /// `prompt=select_account`: the person chooses the account before the answer.
    #[serde(default)]
    pub prompt_select_account: bool,
    /// `prompt=create` (OpenID Connect Prompt Create 1.0): the sign-up wording.
    #[serde(default)]
    pub prompt_create: bool,
    /// Set once the person chose "Continue as …" for this very request.
    #[serde(default)]
    pub account_chosen: bool,
    /// The `sub` of a valid `id_token_hint` (Core §3.1.2.1): the account the app expects.
    #[serde(default)]
    pub id_token_hint_sub: Option<String>,
    /// The browser is signed in to another account than the hint names: the login page
    /// says so (sign in as that account, or with another one to switch).
    #[serde(default)]
    pub account_mismatch: bool,
    pub max_age: Option<i64>,
    /// The weakest acr that satisfies `acr_values` / an essential `acr` claim.
    #[serde(default)]
    pub acr_required: Option<String>,
    /// An essential `acr` claim with `value`/`values` (Core §5.5.1.1): the ID token's `acr`
    /// must be one of them.
    #[serde(default)]
    pub acr_essential_values: Option<Vec<String>>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// Set once the person answered the consent page for this very request.
    pub consented: bool,
    /// The session opened by a sign-in made for this very request: it satisfies
    /// `prompt=login` (OpenID Connect Core §3.1.2.1), which an older session never does.
    #[serde(default)]
    pub authenticated_session: Option<String>,
    #[serde(default)]
    pub resource: Option<String>, // RFC 8707 §2.1, registered for the client
    #[serde(default)]
    pub purposes: Vec<String>, // `purpose:<id>` scope values, registered for the client
    #[serde(default)]
    pub shown: Vec<(String, i64)>, // purposes on the consent page, with their policy version
    #[serde(default)]
    pub guardian: Option<super::guardian::Hold>, // purposes held for a guardian's approval
    pub created_at: i64,
    pub expires_at: i64,
}

/// What the endpoint does next.
pub enum Next {
    /// Back to the client with a code or an error.
    Respond(AuthorizationResponse),
    /// Show the sign-in page for this stored request.
    SignIn(AuthorizationRequest),
    /// Show the consent page for this stored request.
    Consent(AuthorizationRequest),
    /// The session is signed in, but below the level the client asked for.
    StepUp(AuthorizationRequest),
    /// `prompt=select_account`: continue as the signed-in customer, or use another account.
    SelectAccount(AuthorizationRequest),
    /// A minor: ask for a guardian's address, then wait for the guardian.
    Guardian(AuthorizationRequest),
    GuardianWait(AuthorizationRequest),
}

pub use super::interaction::{deny, fail, load, mark_authenticated, save};
pub use super::redirect::error_response;

/// Failures before the redirect URI is trusted: shown to the person, never redirected.
pub struct Untrusted(pub Error);

const MAX_PARAM_LEN: usize = 2048;

pub async fn authorize(
    state: &AppState,
    pairs: Vec<(String, String)>,
    session: Option<&SessionRecord>,
    now: i64,
) -> Result<Next, Untrusted> {
    super::params::check_sizes(&pairs).map_err(Untrusted)?;
    let (params, repeated) = Params::noting_duplicates(pairs);
    // Which client and where to answer must be beyond doubt before anything is redirected.
    if repeated.iter().any(|p| p == "client_id" || p == "redirect_uri") {
        return Err(Untrusted(Error::bad_input("The request names its app or its return address more than once.")));
    }
    let client = check_client(state, &params, now).await?;
    let redirect_uri = check_redirect_uri(&client, &params)?;
    let response_mode = ResponseMode::parse(params.get("response_mode"));
    let fail = |e: Error| {
        Next::Respond(error_response(
            state,
            redirect_uri,
            response_mode.unwrap_or(ResponseMode::Query),
            params.get("state"),
            &e,
        ))
    };
    if let Some(p) = repeated.first() {
        return Ok(fail(Error::invalid_request(format!("the {p} parameter was included more than once"))));
    }
    let mut request = match validate(state, &client, &params, redirect_uri, response_mode, now) {
        Ok(r) => r,
        Err(e) => return Ok(fail(e)),
    };
    if let Some(hint) = params.get("id_token_hint") {
        match super::id_token_hint::check(state, hint, now).await {
            Ok(Ok(h)) => request.id_token_hint_sub = Some(h.sub),
            Ok(Err(why)) => return Ok(fail(Error::invalid_request(why))),
            Err(e) => return Ok(fail(e)),
        }
    }
    Ok(decide(state, &client, request, session, now, Stored::No).await.unwrap_or_else(fail))
}

/// Continue a stored request after the person signed in or consented.
pub async fn resume(state: &AppState, id: &str, session: Option<&SessionRecord>, now: i64) -> Result<Next, Untrusted> {
    let request = load(state, id, now).await.map_err(Untrusted)?;
    let client = state
        .clients
        .get(&state.store, &request.client_id, now)
        .await
        .map_err(Untrusted)?
        .ok_or(Untrusted(Error::bad_input("This app is no longer registered.")))?;
    let (uri, mode, st) = (request.redirect_uri.clone(), request.response_mode, request.state.clone());
    Ok(decide(state, &client, request, session, now, Stored::Yes)
        .await
        .unwrap_or_else(|e| Next::Respond(error_response(state, &uri, mode, st.as_deref(), &e))))
}

async fn check_client(state: &AppState, params: &Params, now: i64) -> Result<Arc<Client>, Untrusted> {
    let id = params
        .get("client_id")
        .ok_or(Untrusted(Error::bad_input("The request does not say which app it is from (client_id is missing).")))?;
    state
        .clients
        .get(&state.store, id, now)
        .await
        .map_err(Untrusted)?
        .ok_or(Untrusted(Error::bad_input("The app that sent you here is not registered (unknown client_id).")))
}

/// OIDC Core §3.1.2.1 requires redirect_uri; it must equal a registered one exactly.
fn check_redirect_uri<'a>(client: &Client, params: &'a Params) -> Result<&'a str, Untrusted> {
    let uri = params.get("redirect_uri").ok_or(Untrusted(Error::bad_input("The request has no redirect_uri.")))?;
    if !client.has_redirect_uri(uri) {
        return Err(Untrusted(Error::bad_input("The redirect_uri is not registered for this app.")));
    }
    Ok(uri)
}

fn validate(
    state: &AppState,
    client: &Client,
    params: &Params,
    redirect_uri: &str,
    response_mode: Option<ResponseMode>,
    now: i64,
) -> Result<AuthorizationRequest> {
    let response_mode = response_mode.ok_or_else(|| Error::invalid_request("unsupported response_mode"))?;
    check_no_request_objects(params)?;
    check_response_type(client, params)?;
    check_lengths(params)?;
    let claims = super::claims_request::parse(params)?;
    let scope = check_scope(params)?;
    // Core §5.5: claims asked for one by one are granted through the scope that carries them.
    let mut scope_text = scope.to_string();
    for s in claims.implied_scopes.iter().filter(|s| !scope.contains(s)) {
        scope_text.push(' ');
        scope_text.push_str(s);
    }
    let code_challenge = pkce::check_request(client, params)?;
    let prompt = prompt::check_prompt(params)?;
    let max_age = prompt::check_max_age(params)?;
    let acr = super::acr::required(params)?;
    Ok(AuthorizationRequest {
        id: secrets::random_token(),
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_string(),
        response_mode,
        scope: scope_text,
        state: params.get("state").map(String::from),
        nonce: params.get("nonce").map(String::from),
        code_challenge,
        prompt_none: prompt.none,
        prompt_login: prompt.login,
        prompt_consent: prompt.consent,
        prompt_select_account: prompt.select_account,
        prompt_create: prompt.create,
        account_chosen: false,
        // The `sub` the client knows; one that maps to nobody never matches a session.
        id_token_hint_sub: claims.sub.map(|s| super::subject::customer(state, client, &s).unwrap_or_default()),
        account_mismatch: false,
        max_age,
        acr_required: acr.minimum,
        acr_essential_values: acr.essential_values,
        login_hint: params.get("login_hint").map(String::from),
        ui_locales: params.get("ui_locales").map(String::from),
        consented: false,
        authenticated_session: None,
        resource: super::grants::resource::requested(client, params)?,
        purposes: super::purposes::check_requested(client, params)?,
        shown: Vec::new(),
        guardian: None,
        created_at: now,
        expires_at: now + state.config.authorization_request_ttl_secs * 1000,
    })
}

/// OIDC Core §6: request objects are not supported, and say so with their own error codes.
fn check_no_request_objects(params: &Params) -> Result<()> {
    if params.get("request").is_some() {
        return Err(Error::RequestNotSupported);
    }
    if params.get("request_uri").is_some() {
        return Err(Error::RequestUriNotSupported);
    }
    Ok(())
}

/// RFC 6749 §4.1.2.1 `unauthorized_client` when not registered for the code flow.
fn check_response_type(client: &Client, params: &Params) -> Result<()> {
    match params.get("response_type") {
        Some("code") => client.may_use(super::grants::GrantType::AuthorizationCode),
        Some(_) => Err(Error::UnsupportedResponseType),
        None => Err(Error::invalid_request("the response_type parameter is missing")),
    }
}

fn check_lengths(params: &Params) -> Result<()> {
    for name in ["state", "nonce", "login_hint", "ui_locales"] {
        if params.get(name).is_some_and(|v| v.len() > MAX_PARAM_LEN) {
            return Err(Error::invalid_request(format!("the {name} parameter is too long")));
        }
    }
    Ok(())
}

/// Unknown scopes are ignored (OIDC Core §3.1.2.1); malformed ones are refused.
fn check_scope(params: &Params) -> Result<Scopes> {
    let requested = Scopes::parse(params.get("scope").unwrap_or(""))?;
    let scope = requested.retain(|s| scopes::SUPPORTED.contains(&s));
    if scope.is_empty() {
        return Err(Error::InvalidScope("ask for at least the openid scope"));
    }
    Ok(scope)
}

/// Sign-in, consent, or a code: the decision for a valid request.
/// Whether the request being decided was stored (it came back after a page), so answering it
/// must delete it; a request answered at once was never stored, and costs no delete.
#[derive(PartialEq)]
enum Stored {
    Yes,
    No,
}

async fn decide(
    state: &AppState,
    client: &Client,
    request: AuthorizationRequest,
    session: Option<&SessionRecord>,
    now: i64,
    stored: Stored,
) -> Result<Next> {
    let fresh = |s: &&SessionRecord| {
        let for_this_request = request.authenticated_session.as_deref() == Some(s.id.as_str());
        let login_ok = !request.prompt_login || for_this_request;
        login_ok && prompt::recent_enough(request.max_age, s.auth_time, now, for_this_request)
    };
    let Some(session) = session.filter(fresh) else {
        if request.prompt_none {
            return Err(Error::LoginRequired);
        }
        save(state, &request).await?;
        return Ok(Next::SignIn(request));
    };
    // Core §3.1.2.1 id_token_hint: the app expects another account than this browser's.
    let signed_in_now = request.authenticated_session.as_deref() == Some(session.id.as_str());
    if request.id_token_hint_sub.as_ref().is_some_and(|sub| *sub != session.customer_id) && !signed_in_now {
        if request.prompt_none {
            return Err(Error::LoginRequired);
        }
        let request = AuthorizationRequest { account_mismatch: true, ..request };
        save(state, &request).await?;
        return Ok(Next::SignIn(request));
    }
    // Step-up (OpenID Connect Core §3.1.2.1 acr_values, §5.5.1.1 essential acr): a session
    // below the level asked for needs the missing factor, not a new sign-in.
    if let Some(required) = &request.acr_required
        && acr_level(&session.acr) < acr_level(required)
    {
        if request.prompt_none {
            return Err(Error::UnmetAuthenticationRequirements("a stronger sign-in is needed"));
        }
        save(state, &request).await?;
        return Ok(Next::StepUp(request));
    }
    if request.prompt_select_account && !request.account_chosen && !signed_in_now {
        save(state, &request).await?;
        return Ok(Next::SelectAccount(request));
    }
    if let Some(next) = super::guardian::gate(state, &request, session, now).await? {
        return Ok(next);
    }
    if super::consent::needed(state, client, &request, session).await? {
        if request.prompt_none {
            return Err(Error::ConsentRequired);
        }
        save(state, &request).await?;
        return Ok(Next::Consent(request));
    }
    if stored == Stored::Yes {
        state.ephemeral.delete(&Space::Authorization.key(&request.id)).await?;
    }
    let code = issue_code(state, client, &request, session, now).await?;
    let mut params = vec![("code", code)];
    if let Some(s) = &request.state {
        params.push(("state", s.clone()));
    }
    params.push(("iss", state.config.issuer.clone()));
    Ok(Next::Respond(AuthorizationResponse { redirect_uri: request.redirect_uri, mode: request.response_mode, params }))
}

async fn issue_code(
    state: &AppState,
    client: &Client,
    request: &AuthorizationRequest,
    session: &SessionRecord,
    now: i64,
) -> Result<String> {
    // Core §5.5.1.1: with an essential acr naming values, the ID token carries one of them.
    let acr = super::acr::released(&session.acr, request.acr_essential_values.as_deref())?;
    let (scope, consents) = super::purposes::granted(state, client, request, session).await?;
    let code = AuthorizationCode {
        client_id: request.client_id.clone(),
        customer_id: session.customer_id.clone(),
        session_id: session.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope,
        consents,
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time: session.auth_time,
        acr,
        amr: session.amr.clone(),
        expires_at: now + state.config.code_ttl_secs * 1000,
        resource: request.resource.clone(),
    };
    authorization_code::issue(state, &code).await
}
