//! TOTP (RFC 6238) as a second factor, with single-use recovery codes, and the pending
//! second step of a sign-in or step-up.
//!
//! The shared secret is sealed with the master key at rest. A time step is accepted once
//! (RFC 6238 §5.2); five wrong codes in a row lock the factor for 15 minutes; every attempt
//! is rate limited per address and logged.

use super::session::{self, ACR_MFA, AMR_MFA, AMR_OTP, AMR_RECOVERY, Browser, NewSession};
use crate::crypto::secrets;
use crate::error::{Error, Result};
use crate::state::AppState;
use crate::store::{SessionRecord, TotpRecord};
use serde::{Deserialize, Serialize};
use totp_rs::{Builder, Secret, Totp};

const SEAL_PURPOSE: &str = "totp-secret";
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

fn enrol_key(session_id: &str) -> String {
    format!("totp-enrol:{session_id}")
}

/// Start enrolment: a new secret, kept (unconfirmed) for this session only.
pub async fn start_enrolment(state: &AppState, session: &SessionRecord, email: &str) -> Result<Enrolment> {
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
    now: i64,
) -> Result<Vec<String>> {
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
    let (codes, hashes) = new_recovery_codes();
    let record = TotpRecord {
        customer_id: session.customer_id.clone(),
        sealed_secret: state.master_key.seal(SEAL_PURPOSE, &bytes),
        created_at: now,
        last_used_step: step as i64,
        failed_attempts: 0,
        locked_until: 0,
    };
    state.store.enrol_totp(&record, &hashes).await?;
    state.ephemeral.delete(&enrol_key(&session.id)).await?;
    tracing::info!(customer = %session.customer_id, "authenticator app enrolled");
    Ok(codes)
}

/// Ten codes like `k3vq-9xmt` (8 characters of 31: about 40 bits each), and their hashes for the store.
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let c = secrets::random_chars(ALPHABET, 8);
            format!("{}-{}", &c[..4], &c[4..])
        })
        .collect();
    let hashes = codes.iter().map(|c| secrets::hash(c)).collect();
    (codes, hashes)
}

pub async fn regenerate_recovery_codes(state: &AppState, session: &SessionRecord, now: i64) -> Result<Vec<String>> {
    require_recent(session, now)?;
    if state.store.totp_factor(&session.customer_id).await?.is_none() {
        return Err(Error::bad_input("Add an authenticator app first."));
    }
    let (codes, hashes) = new_recovery_codes();
    state.store.replace_recovery_codes(&session.customer_id, &hashes).await?;
    tracing::info!(customer = %session.customer_id, "recovery codes regenerated");
    Ok(codes)
}

pub async fn remove(state: &AppState, session: &SessionRecord, now: i64) -> Result<()> {
    require_recent(session, now)?;
    state.store.remove_totp(&session.customer_id).await?;
    tracing::info!(customer = %session.customer_id, "authenticator app removed");
    Ok(())
}

fn require_recent(session: &SessionRecord, now: i64) -> Result<()> {
    if session::fresh_enough(session, session::ACR_EMAIL, super::passkey::RECENT_SIGN_IN_MS, now) {
        Ok(())
    } else {
        Err(Error::bad_input("For your security, sign in again before changing your sign-in methods."))
    }
}

pub async fn enrolled(state: &AppState, customer_id: &str) -> Result<bool> {
    Ok(state.store.totp_factor(customer_id).await?.is_some())
}

/// Check a TOTP code or a recovery code for `customer_id`; returns the `amr` it adds.
pub async fn verify(state: &AppState, customer_id: &str, input: &str, ip: &str, now: i64) -> Result<&'static str> {
    let network = crate::ephemeral::limits::client_network(ip);
    let by_ip = state.ephemeral.hit(&format!("rl:totp-ip:{network}"), 15 * 60).await?;
    if by_ip > ATTEMPTS_PER_IP {
        tracing::warn!(ip, "second-factor attempts rate limited");
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
        return Err(Error::bad_input(format!("Too many wrong codes. Try again in {minutes} minutes.")));
    }
    let input = input.trim().to_lowercase();
    if input.contains('-') {
        if state.store.use_recovery_code(customer_id, &secrets::hash(&input), now).await? {
            tracing::info!(customer = %customer_id, "recovery code used");
            return Ok(AMR_RECOVERY);
        }
        return Err(wrong(state, customer_id, now, "recovery code not valid").await?);
    }
    let bytes = state.master_key.open(SEAL_PURPOSE, &factor.sealed_secret)?;
    let Some(step) = totp(bytes, "", "")?.check(&input, (now / 1000) as u64) else {
        return Err(wrong(state, customer_id, now, "wrong TOTP code").await?);
    };
    if !state.store.accept_totp_step(customer_id, step as i64).await? {
        tracing::warn!(customer = %customer_id, "TOTP code replayed");
        state.store.count_totp_failure(customer_id, MAX_WRONG, now + LOCK_MS).await?;
        return Err(Error::bad_input("This code was already used. Wait for the next one."));
    }
    Ok(AMR_OTP)
}

async fn wrong(state: &AppState, customer_id: &str, now: i64, why: &str) -> Result<Error> {
    tracing::warn!(customer = %customer_id, why, "second factor refused");
    state.store.count_totp_failure(customer_id, MAX_WRONG, now + LOCK_MS).await?;
    Ok(Error::bad_input("That code is not right."))
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

fn step_key(id_hash: &str) -> String {
    format!("second-step:{}", id_hash)
}

/// Park a pending second step; returns the secret for the browser's cookie.
pub async fn park(state: &AppState, step: &SecondStep) -> Result<String> {
    let id = secrets::random_token();
    state.ephemeral.put_json(&step_key(&secrets::hash(&id)), step, SECOND_STEP_TTL_SECS).await?;
    Ok(id)
}

/// After an email proof: if the account has an authenticator app, park the second step and
/// return the cookie secret for it; `None` means the email alone signs in.
pub async fn second_step_after_email(
    state: &AppState,
    email: &str,
    authz: Option<String>,
    remember: bool,
) -> Result<Option<String>> {
    let Some(customer) = state.store.customer_by_email(email).await? else { return Ok(None) };
    if !enrolled(state, &customer.id).await? {
        return Ok(None);
    }
    let step = SecondStep {
        customer_id: customer.id,
        first_amr: session::AMR_EMAIL.into(),
        authz,
        remember,
        upgrade_session: None,
    };
    Ok(Some(park(state, &step).await?))
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
    /// A stronger existing session (step-up).
    Upgraded(SessionRecord),
}

/// Verify the code for the parked step and finish it.
pub async fn finish(
    state: &AppState,
    cookie: Option<&str>,
    code: &str,
    browser: &Browser<'_>,
    now: i64,
) -> Result<(SecondStep, Finished)> {
    let step = parked(state, cookie).await?;
    let second = verify(state, &step.customer_id, code, browser.ip, now).await?;
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
            state.store.upgrade_session(id, ACR_MFA, &amr, now).await?;
            tracing::info!(session = %id, "session stepped up with a second factor");
            Finished::Upgraded(SessionRecord { acr: ACR_MFA.into(), amr, auth_time: now, ..current })
        }
        None => {
            let new = session::new_session(state, &step.customer_id, ACR_MFA, &amr, browser, step.remember, now);
            state.store.insert_session(&new.record).await?;
            tracing::info!(session = %new.record.id, customer = %step.customer_id, "signed in with two factors");
            Finished::NewSession(new)
        }
    };
    Ok((step, finished))
}
