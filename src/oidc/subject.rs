//! Subject identifiers (OpenID Connect Core §8): the public `sub` is the customer id; a client
//! registered for `pairwise` gets the value of its sector (§8.1), the same in every token,
//! UserInfo, introspection, back-channel logout token and the consent API, so apps of two
//! sectors cannot join their data on `sub`. Tessera turns a pairwise value back into its
//! customer only for the client's own sector (`crypto::pairwise`).

use super::clients::{Client, NewClient};
use crate::error::{Error, Result};
use crate::state::AppState;

/// The `sub` of `customer_id` as `client` sees it.
pub fn of(state: &AppState, client: &Client, customer_id: &str) -> String {
    match &client.sector {
        Some(sector) => state.pairwise.subject(sector, customer_id),
        None => customer_id.to_string(),
    }
}

/// The `sid` (Front-/Back-Channel Logout session id) of browser session `session_id` as
/// `client` sees it: for a pairwise client a keyed hash for its sector, so two sectors cannot
/// join their customers on one shared session id either.
pub fn sid(state: &AppState, client: &Client, session_id: &str) -> String {
    match &client.sector {
        Some(sector) => {
            state.master_key.keyed_hash("pairwise-sid", format!("{sector}\0{session_id}").as_bytes())[..32].to_string()
        }
        None => session_id.to_string(),
    }
}

/// The customer behind a `sub` that `client` was given (`None`: not one of its values).
pub fn customer(state: &AppState, client: &Client, sub: &str) -> Option<String> {
    match &client.sector {
        Some(sector) => state.pairwise.customer(sector, sub),
        None => Some(sub.to_string()),
    }
}

/// §8.1: the sector of a pairwise client is the host of its `sector_identifier_uri`, or else
/// the one host all its redirect URIs share. Empty for a public client. (Registration is an
/// operator's act here, not OpenID Connect Dynamic Client Registration, so the sector URI's
/// contents are the operator's to vouch for.)
pub fn sector_of(new: &NewClient) -> Result<String> {
    if !new.pairwise {
        return match new.sector_identifier_uri {
            Some(_) => Err(Error::bad_input("a sector identifier URI is only for --subject-type pairwise")),
            None => Ok(String::new()),
        };
    }
    let host = |uri: &str| url::Url::parse(uri).ok().and_then(|u| u.host_str().map(String::from));
    if let Some(uri) = &new.sector_identifier_uri {
        let ok = url::Url::parse(uri).is_ok_and(|u| u.scheme() == "https");
        return host(uri)
            .filter(|_| ok)
            .ok_or_else(|| Error::bad_input("the sector identifier URI must be an https URL"));
    }
    let mut hosts: Vec<String> = new.redirect_uris.iter().filter_map(|u| host(u)).collect();
    hosts.sort();
    hosts.dedup();
    match hosts.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::bad_input("a pairwise client needs a redirect URI or a sector identifier URI")),
        _ => Err(Error::bad_input(
            "its redirect URIs have several hosts: give --sector-identifier-uri for a pairwise client (Core §8.1)",
        )),
    }
}
