//! Keys, signatures and secrets. Nothing here knows about HTTP or SQL.

pub mod jwt;
pub mod keys;
pub mod pairwise;
pub mod private_files;
pub mod ring;
pub mod sealed;
pub mod secrets;
