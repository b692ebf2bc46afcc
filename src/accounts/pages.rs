//! The account pages (passkeys and linked providers, authenticator app, sessions), as
//! askama templates.

use askama::Template;

/// One passkey on the account page, with its times already written out.
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    pub kind: &'static str,
}

#[derive(Template)]
#[template(path = "account/index.html")]
pub struct AccountPage<'a> {
    pub csrf: &'a str,
    pub email: &'a str,
    pub passkeys: &'a [PasskeyRow],
    /// Linked providers: (connector id, provider name, upstream email).
    pub identities: &'a [(String, String, String)],
    /// Sign-ins may be approved from another device.
    pub cross_device: bool,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    /// After a change of sign-in methods: offer to end every other session.
    pub offer_end_others: bool,
}

#[derive(Template)]
#[template(path = "account/totp.html")]
pub struct TotpPage<'a> {
    pub csrf: &'a str,
    pub enrolled: bool,
    pub qr_png_base64: &'a str,
    pub secret: &'a str,
    pub unused_codes: i64,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    pub codes: &'a [String],
}

/// One session on the sessions page, written out.
pub struct SessionRow {
    pub id: String,
    pub device: String,
    pub ip: String,
    pub created: String,
    pub last_seen: String,
    pub methods: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account/sessions.html")]
pub struct SessionsPage<'a> {
    pub csrf: &'a str,
    pub sessions: &'a [SessionRow],
}
