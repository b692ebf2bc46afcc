//! TOTP (RFC 6238) as a second factor, with single-use recovery codes, and the pending
//! second step of a sign-in or step-up.
//!
//! The shared secret is sealed with the master key at rest. A time step is accepted once
//! (RFC 6238 §5.2); five wrong codes in a row lock the factor for 15 minutes; every attempt
//! is rate limited per address and logged.

use super::factor_change::{self, Change, Renewed};
use super::finish::{self, Attempt};
use crate::crypto::secrets;
use crate::ephemeral::{Key, Space};
use crate::error::{Error, Result};
use crate::events::audit::{self, Actor, Entry, Outcome};
use crate::events::{Factor, NewEvent, outbox};
use crate::session::{self, ACR_MFA, AMR_MFA, AMR_OTP, AMR_RECOVERY, Browser, NewSession};
use crate::state::AppState;
use crate::store::{SessionRecord, Store, TotpRecord};
use serde::{Deserialize, Serialize};
use totp_rs::{Builder, Secret, Totp};

pub const SEAL_PURPOSE: &str = "totp-secret";
/// Recovery codes are stored as keyed hashes under this purpose (see `recovery_code_hash`).
const RECOVERY_HASH_PURPOSE: &str = "recovery-code";
const MAX_WRONG: i64 = 5;
const LOCK_MS: i64 = 15 * 60 * 1000;
const ENROL_TTL_SECS: i64 = 10 * 60;
const SECOND_STEP_TTL_SECS: i64 = 10 * 60;
const RECOVERY_CODES: usize = 10;
/// Attempts per client address per 15 minutes, across accounts.
const ATTEMPTS_PER_IP: u64 = 30;

fn totp(secret: Vec<u8>, account: &str, issuer: &str) -> Result<Totp> {
    // The RFC 6238 defaults every authenticator app understands: SHA-1, 6 digits, 30-second
    // steps, and one step of clock skew either way (§5.2).
    let mut b = Builder::new().with_secret(Secret::from(secret));
    if !account.is_empty() {
        b = b.with_account_name(account).with_issuer(Some(issuer));
    }
    b.build().map_err(|e| Error::Internal(anyhow::anyhow!("TOTP: {e}")))
}

fn qr_and_text(t: &Totp, bytes: Vec<u8>) -> Result<Enrolment> {
    let qr = t.to_qr_base64().map_err(|e| Error::Internal(anyhow::anyhow!("QR code: {e}")))?;
    Ok(Enrolment { qr_png_base64: qr, secret_base32: Secret::from(bytes).to_base32() })
}

fn decode_base32(text: &str) -> Result<Vec<u8>> {
    let secret = Secret::try_from_base32(text).map_err(|e| Error::Internal(anyhow::anyhow!("TOTP secret: {e:?}")))?;
    Ok(secret.as_ref().to_vec())
}

fn issuer_name(state: &AppState) -> String {
    state.config.webauthn_rp_name.replace(':', "")
}

/// What the enrolment page shows: the QR code (PNG, base64) and the same secret as text.
pub struct Enrolment {
    pub qr_png_base64: String,
    pub secret_base32: String,
}

fn enrol_key(session_id: &str) -> Key {
    Space::TotpEnrolment.key(session_id)
}

/// Start enrolment: a new secret, kept (unconfirmed) for this session only.
pub async fn start_enrolment(state: &AppState, session: &SessionRecord, email: &str, now: i64) -> Result<Enrolment> {
    factor_change::require_fresh(state, session, now).await?;
    // RFC 4226 §4 recommends 160 bits.
    let bytes = secrets::random_vec(20);
    let t = totp(bytes.clone(), email, &issuer_name(state))?;
    let shown = qr_and_text(&t, bytes)?;
    state.ephemeral.put(&enrol_key(&session.id), shown.secret_base32.clone(), ENROL_TTL_SECS).await?;
    Ok(shown)
}

/// The secret being enrolled in this session, to show again after a wrong code.
pub async fn pending_enrolment(state: &AppState, session: &SessionRecord, email: &str) -> Result<Option<Enrolment>> {
    let Some(base32) = state.ephemeral.get(&enrol_key(&session.id)).await? else { return Ok(None) };
    let bytes = decode_base32(&base32)?;
    let t = totp(bytes.clone(), email, &issuer_name(state))?;
    Ok(Some(qr_and_text(&t, bytes)?))
}

/// Confirm enrolment with a first valid code; returns the recovery codes, shown once.
pub async fn confirm_enrolment(
    state: &AppState,
    session: &SessionRecord,
    email: &str,
    code: &str,
    browser: &Browser<'_>,
    now: i64,
) -> Result<(Vec<String>, Renewed)> {
    factor_change::require_fresh(state, session, now).await?;
    let base32 = state
        .ephemeral
        .get(&enrol_key(&session.id))
        .await?
        .ok_or_else(|| Error::bad_input("This setup has expired. Start again."))?;
    let bytes = decode_base32(&base32)?;
    let t = totp(bytes.clone(), email, &issuer_name(state))?;
    let step = t
        .check(code.trim(), (now / 1000) as u64)
        .ok_or_else(|| Error::bad_input("That code is not right. Check the time on your phone and try again."))?;
    let (codes, hashes) = new_recovery_codes(state);
    let record = TotpRecord {
        customer_id: session.customer_id.clone(),
        sealed_secret: state.master_key.seal(SEAL_PURPOSE, &bytes),
        created_at: now,
        last_used_step: step as i64,
        failed_attempts: 0,
        locked_until: 0,
    };
    let mut tx = state.store.begin().await?;
    Store::enrol_totp_in(&mut tx, &record, &hashes).await?;
    let added = NewEvent::factor_added(&session.customer_id, Factor::AuthenticatorApp, None);
    outbox::emit_in(&mut tx, added, now).await?;
    tx.commit().await?;
    state.ephemeral.delete(&enrol_key(&session.id)).await?;
    tracing::info!(customer = %session.customer_id, "authenticator app enrolled");
    Ok((codes, factor_change::changed(state, session, Change::AppAdded, browser, now).await?))
}

/// A recovery code at rest: HMAC-SHA256 under a key derived from the master key. A code has
/// only about 40 bits, so an unkeyed hash in a stolen database falls to a few hours of
/// guessing; keyed, the database alone is useless.
fn recovery_code_hash(state: &AppState, code: &str) -> String {
    state.master_key.keyed_hash(RECOVERY_HASH_PURPOSE, code.as_bytes())
}

/// Ten codes like `k3vq-9xmt` (8 characters of 31: about 40 bits each; online guessing is
/// bounded by the lockout), and their keyed hashes for the store.
fn new_recovery_codes(state: &AppState) -> (Vec<String>, Vec<String>) {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let c = secrets::random_chars(ALPHABET, 8);
            format!("{}-{}", &c[..4], &c[4..])
        })
        .collect();
    let hashes = codes.iter().map(|c| recovery_code_hash(state, c)).collect();
    (codes, hashes)
}

pub async fn regenerate_recovery_codes(
    state: &AppState,
    session: &SessionRecord,
    browser: &Browser<'_>,
    now: i64,
) -> Result<(Vec<String>, Renewed)> {
    factor_change::require_fresh(state, session, now).await?;
    if state.store.totp_factor(&session.customer_id).await?.is_none() {
        return Err(Error::bad_input("Add an authenticator app first."));
    }
    let (codes, hashes) = new_recovery_codes(state);
    state.store.replace_recovery_codes(&session.customer_id, &hashes).await?;
    tracing::info!(customer = %session.customer_id, "recovery codes regenerated");
    Ok((codes, factor_change::changed(state, session, Change::RecoveryCodes, browser, now).await?))
}

pub async fn remove(state: &AppState, session: &SessionRecord, browser: &Browser<'_>, now: i64) -> Result<Renewed> {
    factor_change::require_fresh(state, session, now).await?;
    let mut tx = state.store.begin().await?;
    if Store::remove_totp_in(&mut tx, &session.customer_id).await? {
        let removed = NewEvent::factor_removed(&session.customer_id, Factor::AuthenticatorApp, None);
        outbox::emit_in(&mut tx, removed, now).await?;
    }
    tx.commit().await?;
    tracing::info!(customer = %session.customer_id, "authenticator app removed");
    factor_change::changed(state, session, Change::AppRemoved, browser, now).await
}

/// How many of the customer's recovery codes are still unused.
pub async fn unused_recovery_codes(state: &AppState, customer_id: &str) -> Result<i64> {
    Ok(state.store.unused_recovery_codes(customer_id).await?)
}

pub async fn enrolled(state: &AppState, customer_id: &str) -> Result<bool> {
    Ok(state.store.totp_factor(customer_id).await?.is_some())
}

/// Check a TOTP code or a recovery code for `customer_id`; returns the `amr` it adds. Every
/// refusal is in the audit log (never the code typed).
pub async fn verify(
    state: &AppState,
    customer_id: &str,
    input: &str,
    browser: &Browser<'_>,
    now: i64,
) -> Result<&'static str> {
    let network = crate::ephemeral::limits::client_network(browser.ip);
    let by_ip = state.ephemeral.hit(&Space::RateLimit.key(&format!("totp-ip:{network}")), 15 * 60).await?;
    if by_ip > ATTEMPTS_PER_IP {
        tracing::warn!(ip = browser.ip, "second-factor attempts rate limited");
        audit::refused(state, "second_factor", Some(customer_id), browser, now).await?;
        return Err(Error::RateLimited {
            message: "Too many attempts from here. Wait a few minutes, then try again.",
            retry_after_secs: 15 * 60,
        });
    }
    let factor = state
        .store
        .totp_factor(customer_id)
        .await?
        .ok_or_else(|| Error::bad_input("No authenticator app is set up for this account."))?;
    if factor.locked_until > now {
        let minutes = (factor.locked_until - now) / 60_000 + 1;
        tracing::warn!(customer = %customer_id, "second factor is locked");
        second_factor_refused(state, customer_id, browser, "second_factor.locked", "locked", now).await?;
        return Err(Error::bad_input(format!("Too many wrong codes. Try again in {minutes} minutes.")));
    }
    let input = input.trim().to_lowercase();
    if input.contains('-') {
        // Codes issued before keyed hashing are plain SHA-256 rows: they stay valid until used
        // or regenerated (a hash cannot be re-keyed), so both forms are looked up.
        let forms = [recovery_code_hash(state, &input), secrets::hash(&input)];
        if state.store.use_recovery_code(customer_id, &forms, now).await? {
            tracing::info!(customer = %customer_id, "recovery code used");
            return Ok(AMR_RECOVERY);
        }
        return Err(wrong(state, customer_id, browser, now, "wrong_recovery_code").await?);
    }
    let bytes = state.master_key.open(SEAL_PURPOSE, &factor.sealed_secret)?;
    let Some(step) = totp(bytes, "", "")?.check(&input, (now / 1000) as u64) else {
        return Err(wrong(state, customer_id, browser, now, "wrong_code").await?);
    };
    if !state.store.accept_totp_step(customer_id, step as i64).await? {
        tracing::warn!(customer = %customer_id, "TOTP code replayed");
        counted(state, customer_id, browser, now, "replayed_code").await?;
        return Err(Error::bad_input("This code was already used. Wait for the next one."));
    }
    Ok(AMR_OTP)
}

async fn wrong(state: &AppState, customer_id: &str, browser: &Browser<'_>, now: i64, why: &str) -> Result<Error> {
    tracing::warn!(customer = %customer_id, why, "second factor refused");
    counted(state, customer_id, browser, now, why).await?;
    Ok(Error::bad_input("That code is not right."))
}

/// Count a failed second factor, and record it (and the lockout it may cause).
async fn counted(state: &AppState, customer_id: &str, browser: &Browser<'_>, now: i64, why: &str) -> Result<()> {
    let locked = state.store.count_totp_failure(customer_id, MAX_WRONG, now + LOCK_MS).await?;
    second_factor_refused(state, customer_id, browser, "second_factor.failed", why, now).await?;
    if locked {
        second_factor_refused(state, customer_id, browser, "second_factor.locked", "too_many_failures", now).await?;
    }
    Ok(())
}

async fn second_factor_refused(
    state: &AppState,
    customer_id: &str,
    browser: &Browser<'_>,
    action: &str,
    why: &str,
    now: i64,
) -> Result<()> {
    let entry = Entry::new(Actor::Anonymous, action, Some(customer_id)).from(browser).outcome(Outcome::Failure(why));
    Ok(audit::record(state, entry, now).await?)
}

/// A first factor is proven and the second is due: either a new sign-in (no session yet)
/// or a step-up of an existing session.
#[derive(Serialize, Deserialize)]
pub struct SecondStep {
    pub customer_id: String,
    pub first_amr: String,
    pub authz: Option<String>,
    pub remember: bool,
    /// Set for a step-up: the session to strengthen.
    pub upgrade_session: Option<String>,
}

fn step_key(id_hash: &str) -> Key {
    Space::SecondStep.key(id_hash)
}

/// Park a pending second step; returns the secret for the browser's cookie.
pub async fn park(state: &AppState, step: &SecondStep) -> Result<String> {
    let id = secrets::random_token();
    state.ephemeral.put_json(&step_key(&secrets::hash(&id)), step, SECOND_STEP_TTL_SECS).await?;
    Ok(id)
}

pub async fn parked(state: &AppState, cookie: Option<&str>) -> Result<SecondStep> {
    let gone = || Error::bad_input("This sign-in has expired. Start again from the app.");
    let id = cookie.filter(|c| !c.is_empty()).ok_or_else(gone)?;
    state.ephemeral.get_json(&step_key(&secrets::hash(id))).await?.ok_or_else(gone)
}

/// What a finished second step produced.
pub enum Finished {
    /// A new session (sign-in): set its cookie.
    NewSession(NewSession),
    /// A stronger existing session (step-up), with its new secret for the cookie.
    Upgraded(NewSession),
}

/// Verify the code for the parked step and finish it.
pub async fn finish(
    state: &AppState,
    cookie: Option<&str>,
    code: &str,
    browser: Browser<'_>,
    previous: Option<SessionRecord>,
    now: i64,
) -> Result<(SecondStep, Finished)> {
    let step = parked(state, cookie).await?;
    let second = verify(state, &step.customer_id, code, &browser, now).await?;
    if let Some(c) = cookie {
        state.ephemeral.delete(&step_key(&secrets::hash(c))).await?;
    }
    let amr = session::amr_union(&step.first_amr, &format!("{second} {AMR_MFA}"));
    let finished = match &step.upgrade_session {
        Some(id) => {
            let current = state
                .store
                .session_by_id(id, now)
                .await?
                .ok_or_else(|| Error::bad_input("Your session has ended. Sign in again from the app."))?;
            let amr = session::amr_union(&current.amr, &amr);
            // A step-up gives the session a new secret (session fixation).
            let token = secrets::random_token();
            let token_hash = secrets::hash(&token);
            state.store.upgrade_session(id, &token_hash, ACR_MFA, &amr, now).await?;
            tracing::info!(session = %id, "session stepped up with a second factor");
            let entry =
                Entry::new(Actor::Customer(step.customer_id.clone()), "signin.step_up", Some(&step.customer_id))
                    .from(&browser)
                    .detail(serde_json::json!({ "session": id, "acr": ACR_MFA, "amr": amr }));
            audit::record(state, entry, now).await?;
            let record = SessionRecord { acr: ACR_MFA.into(), amr, auth_time: now, token_hash, ..current };
            Finished::Upgraded(NewSession { token, record })
        }
        None => {
            let a = Attempt {
                authz: step.authz.clone(),
                remember: step.remember,
                browser,
                previous,
                method: "second_factor",
            };
            Finished::NewSession(finish::establish(state, &step.customer_id, ACR_MFA, &amr, &a, now).await?)
        }
    };
    Ok((step, finished))
}
