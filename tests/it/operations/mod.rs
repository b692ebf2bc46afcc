//! Operations (issue #15): metrics on their own listener, logs that carry request ids and
//! never a secret, the files a container deployment starts from, and built-in TLS.

mod compose;
mod logs;
mod metrics;
mod tls;
