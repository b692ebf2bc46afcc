//! The server's own cost, read from Linux `/proc/PID`: CPU time (utime + stime from `stat`,
//! in clock ticks) and resident memory (`VmRSS` from `status`). Sampled around each
//! scenario, so "ops per server CPU-second" compares providers by work, not by wall time.
//! Several nodes count together.

use std::sync::OnceLock;

/// Resident set size of `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds `pid` has used so far (user + system, all its threads).
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = stat_ticks(&stat)?;
    Some(ticks as f64 / clock_ticks_per_sec())
}

/// utime + stime from a `/proc/PID/stat` line. The command name (field 2) is in parentheses
/// and may hold spaces, so fields are counted after the last `)`: utime and stime are
/// fields 14 and 15, the 12th and 13th after it.
pub fn stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` once (100 on every Linux this runs on).
fn clock_ticks_per_sec() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t: &f64| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// Resident memory of several processes together (the nodes of one deployment), in KiB;
/// `None` when there are none or one cannot be read.
pub fn rss_kib_sum(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| rss_kib(*pid)).sum()
}

/// CPU seconds several processes have used so far, together.
pub fn cpu_secs_sum(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| cpu_secs(*pid)).sum()
}
