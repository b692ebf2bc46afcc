//! Key management: the signing keys' lifecycle (`ring`: loading and reloading the ring;
//! `rotation`: list, rotate with a lead time, revoke at once, the optional schedule) and the
//! master key (`master`: several keys during a rotation, re-sealing every sealed secret).
//! The rules of time live in `crypto::ring`; the CLI and the admin API call these functions.

pub mod master;
pub mod ring;
pub mod rotation;
