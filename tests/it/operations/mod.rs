//! Operations (issue #15): metrics on their own listener, logs that carry request ids and
//! never a secret, and the files a container deployment starts from.

mod compose;
mod logs;
mod metrics;
