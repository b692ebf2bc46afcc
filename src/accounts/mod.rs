//! The account area: the self-service pages, and the privacy centre (consents, channels,
//! connected apps, profile with sources, what we hold and why).

pub mod apps_routes;
pub mod centre_pages;
pub mod email_change;
pub mod holdings;
pub mod holdings_routes;
pub mod pages;
pub mod privacy_routes;
pub mod profile;
pub mod profile_pages;
pub mod profile_routes;
pub mod routes;
pub mod security_routes;
pub mod sessions;
