//! The sign-in buttons of the login page: the enabled connectors, in their order.

use crate::error::Result;
use crate::state::AppState;

/// The buttons on the login page: enabled connectors in their order.
pub async fn buttons(state: &AppState) -> Result<Vec<Button>> {
    Ok(state
        .store
        .connectors()
        .await?
        .into_iter()
        .filter(|r| r.enabled != 0)
        .map(|r| Button { id: r.id, name: r.display_name, icon: r.icon })
        .collect())
}

/// A button on the login page.
pub struct Button {
    pub id: String,
    pub name: String,
    /// A `data:` URL or a path on this server (the page's CSP allows no other images).
    pub icon: String,
}
