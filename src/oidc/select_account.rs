//! `prompt=select_account` (OpenID Connect Core §3.1.2.1): before answering, the person
//! chooses between the account the browser is signed in to and another one.

use super::authorize::{self, Next, Untrusted};
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::SessionRecord;

/// What the chooser shows.
pub struct AccountChoice {
    pub client_name: String,
    pub email: String,
}

pub async fn view(state: &AppState, id: &str, session: &SessionRecord, now: i64) -> Result<AccountChoice> {
    let request = authorize::load(state, id, now).await?;
    let client = state.clients.get(&state.store, &request.client_id, now).await?.ok_or(Error::NotFound)?;
    let customer = state.store.customer(&session.customer_id).await?.ok_or(Error::NotFound)?;
    Ok(AccountChoice { client_name: client.name.clone(), email: customer.email })
}

/// "Continue as …": the signed-in account answers the request.
pub async fn keep(state: &AppState, id: &str, session: Option<&SessionRecord>, now: i64) -> Result<Next, Untrusted> {
    let mut request = authorize::load(state, id, now).await.map_err(Untrusted)?;
    request.account_chosen = true;
    authorize::save(state, &request).await.map_err(Untrusted)?;
    authorize::resume(state, id, session, now).await
}
