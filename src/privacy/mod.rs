//! Privacy requests (issue #14): what a customer may ask of us about their data, filed only
//! by the account's owner (`proofs`), answered within its legal deadline (`deadlines`), and
//! worked on by admins (`admin`) and the worker (`jobs`: exports, erasures, reminders,
//! retention).
//!
//! - access/export (GDPR Art. 15 and 20): a JSON archive of everything held (`export`),
//!   downloadable once through a short-lived link.
//! - deletion (Art. 17): erased after a grace period the customer can cancel in (`erasure`).
//! - withdraw everything (Art. 7(3)): every consent, at once.
//! - correction (Art. 16) and restriction/objection (Art. 18 and 21): recorded for an admin.
//!   A restriction withdraws the purpose at every app at once (so the consents claim and the
//!   consent API show it as not granted), and the admin then closes the request.

pub mod admin;
pub mod admin_routes;
pub mod deadlines;
pub mod erasure;
pub mod export;
pub mod jobs;
pub mod pages;
pub mod proofs;
pub mod requests;
pub mod routes;

use serde::Serialize;

/// What a customer asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    AccessExport,
    Deletion,
    WithdrawAll,
    Correction,
    Restriction,
}

impl Kind {
    pub const ALL: [Kind; 5] =
        [Kind::AccessExport, Kind::Deletion, Kind::WithdrawAll, Kind::Correction, Kind::Restriction];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AccessExport => "access_export",
            Kind::Deletion => "deletion",
            Kind::WithdrawAll => "withdraw_all",
            Kind::Correction => "correction",
            Kind::Restriction => "restriction",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// In words, for pages and mails.
    pub fn words(self) -> &'static str {
        match self {
            Kind::AccessExport => "a copy of your data",
            Kind::Deletion => "deleting your account",
            Kind::WithdrawAll => "withdrawing every consent",
            Kind::Correction => "correcting your data",
            Kind::Restriction => "restricting a use of your data",
        }
    }

    /// Export and deletion need a second, different proof besides the fresh sign-in.
    pub fn needs_second_proof(self) -> bool {
        matches!(self, Kind::AccessExport | Kind::Deletion)
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Received,
    Verified,
    InProgress,
    Completed,
    Rejected,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Received,
        Status::Verified,
        Status::InProgress,
        Status::Completed,
        Status::Rejected,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Verified => "verified",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn is_open(self) -> bool {
        matches!(self, Status::Received | Status::Verified | Status::InProgress)
    }
}
