//! Only the account's owner files a privacy request, and never with a stolen session alone.
//!
//! Threat model: someone holding a customer's session cookie (stolen, or a device left
//! signed in) must not be able to export the customer's data or delete the account. So any
//! request needs a proof at the account's strongest level (passkey; mailbox plus
//! authenticator app; or a fresh mail link for email-only accounts) made within the last five
//! minutes (`fresh`), which the session thief cannot make; export and deletion additionally
//! need a second, different proof: a 6-digit code mailed to the verified address for this
//! request, in this session (`send_code`, `check_code`). The code is stored only as a hash in
//! the ephemeral store, lives ten minutes, is taken once, and five wrong tries void it.

use crate::crypto::secrets;
use crate::ephemeral::{Key, Space};
use crate::error::Result;
use crate::session;
use crate::state::AppState;
use crate::store::SessionRecord;
use serde::{Deserialize, Serialize};

/// How recent the proof at the account's strongest level must be.
pub const FRESH_MS: i64 = 5 * 60 * 1000;
/// How long a mailed code works.
pub const CODE_TTL_SECS: i64 = 10 * 60;
const MAX_WRONG_CODES: u32 = 5;

/// Whether `session` proved the account's strongest level within the last five minutes.
pub async fn fresh(state: &AppState, session: &SessionRecord, now: i64) -> Result<bool> {
    let level = session::strongest_level(state, &session.customer_id).await?;
    Ok(crate::login::step_up::satisfied(session, level, FRESH_MS, now))
}

/// A request waiting for its code: what was asked, bound to the session that asked.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Pending {
    pub customer_id: String,
    pub session_id: String,
    pub kind: String,
    pub purpose: Option<String>,
    pub details: Option<String>,
    code_hash: String,
    wrong: u32,
    expires_at: i64,
}

fn key(session_id: &str) -> Key {
    Space::PrivacyConfirmation.key(&secrets::hash(session_id))
}

/// Remember `pending` (its code replaced by the hash of a new one) and return the code to mail.
pub async fn send_code(state: &AppState, mut pending: Pending, now: i64) -> Result<String> {
    let code = secrets::random_digits(6);
    pending.code_hash = secrets::hash(&code);
    pending.wrong = 0;
    pending.expires_at = now + CODE_TTL_SECS * 1000;
    state.ephemeral.put_json(&key(&pending.session_id), &pending, CODE_TTL_SECS).await?;
    Ok(code)
}

impl Pending {
    pub fn new(session: &SessionRecord, kind: &str, purpose: Option<String>, details: Option<String>) -> Pending {
        Pending {
            customer_id: session.customer_id.clone(),
            session_id: session.id.clone(),
            kind: kind.to_string(),
            purpose,
            details,
            code_hash: String::new(),
            wrong: 0,
            expires_at: 0,
        }
    }
}

/// What a typed code proved.
pub enum Checked {
    /// The right code: the request it confirms (the code is used up).
    Confirmed(Pending),
    /// A wrong code; `left` more tries (0: the code is void).
    Wrong { left: u32 },
    /// No code is waiting in this session (never sent, expired, used or voided).
    Missing,
}

/// Check `code` against the one waiting in `session`. Taking the record is what makes the
/// code single-use; a wrong code is counted with compare-and-swap, so concurrent guesses
/// get no more than five tries between them.
pub async fn check_code(state: &AppState, session: &SessionRecord, code: &str, now: i64) -> Result<Checked> {
    let key = key(&session.id);
    let Some(raw) = state.ephemeral.get(&key).await? else { return Ok(Checked::Missing) };
    let pending: Pending = serde_json::from_str(&raw).map_err(anyhow::Error::from)?;
    if pending.expires_at <= now || pending.session_id != session.id || pending.customer_id != session.customer_id {
        state.ephemeral.delete(&key).await?;
        return Ok(Checked::Missing);
    }
    if secrets::constant_time_eq(&secrets::hash(code.trim()), &pending.code_hash) {
        // Single-use: only the request that swaps the record out may go on.
        if state.ephemeral.compare_and_swap(&key, &raw, None, CODE_TTL_SECS).await? {
            return Ok(Checked::Confirmed(pending));
        }
        return Ok(Checked::Missing);
    }
    let wrong = pending.wrong + 1;
    let left = MAX_WRONG_CODES.saturating_sub(wrong);
    let next = (left > 0).then(|| serde_json::to_string(&Pending { wrong, ..pending })).transpose();
    let next = next.map_err(anyhow::Error::from)?;
    if !state.ephemeral.compare_and_swap(&key, &raw, next, CODE_TTL_SECS).await? {
        return Ok(Checked::Wrong { left: 0 });
    }
    Ok(Checked::Wrong { left })
}
