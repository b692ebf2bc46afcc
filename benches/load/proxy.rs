//! `--nodes N`: haproxy in front of the started nodes, as a load balancer in production
//! (docker/compose.yaml): round robin, keep-alive towards the nodes with idle connections
//! reused, and `X-Forwarded-For` appended (the nodes trust loopback as their proxy, so a
//! client address the driver names, as the flood does, still reaches them).

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Proxy {
    child: Child,
    log: PathBuf,
}

/// haproxy on PATH (or in /usr/sbin, where Debian puts it), or why the run cannot go on.
pub fn find_haproxy() -> anyhow::Result<PathBuf> {
    for candidate in ["haproxy", "/usr/sbin/haproxy", "/usr/local/sbin/haproxy"] {
        if Command::new(candidate).arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok() {
            return Ok(PathBuf::from(candidate));
        }
    }
    bail!(
        "--nodes above 1 puts the nodes behind haproxy, which is not installed \
         (Debian: apt-get install -y haproxy)"
    )
}

/// The configuration: one frontend on `port`, the nodes as one round-robin backend.
pub fn config(port: u16, backends: &[u16]) -> String {
    let mut c = format!(
        "global\n\
         \x20   maxconn 4000\n\
         defaults\n\
         \x20   mode http\n\
         \x20   timeout connect 5s\n\
         \x20   timeout client 60s\n\
         \x20   timeout server 60s\n\
         \x20   option http-keep-alive\n\
         \x20   option forwardfor\n\
         \x20   http-reuse always\n\
         frontend bench\n\
         \x20   bind 127.0.0.1:{port}\n\
         \x20   default_backend tessera\n\
         backend tessera\n\
         \x20   balance roundrobin\n"
    );
    for (i, backend) in backends.iter().enumerate() {
        c.push_str(&format!("    server node{} 127.0.0.1:{backend}\n", i + 1));
    }
    c
}

impl Proxy {
    /// Write the configuration into `dir` and start haproxy in the foreground, under
    /// `taskset -c cpus` when given (the nodes' CPUs: on a 2-core machine, one shared core).
    pub fn start(haproxy: &Path, port: u16, backends: &[u16], dir: &Path, cpus: Option<&str>) -> anyhow::Result<Proxy> {
        let file = dir.join("haproxy.cfg");
        std::fs::write(&file, config(port, backends)).context("write haproxy.cfg")?;
        let log = dir.join("haproxy.log");
        let stderr = std::fs::File::create(&log).context("create haproxy.log")?;
        let mut command = match cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(haproxy);
                c
            }
            None => Command::new(haproxy),
        };
        // -db: stay in the foreground, so the child is haproxy itself and is stopped with it.
        let child = command
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("start haproxy")?;
        Ok(Proxy { child, log })
    }

    /// Poll the discovery document through the proxy until a node answers.
    pub async fn wait_ready(&mut self, http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
        let log = &self.log;
        let detail = || format!(": {}", std::fs::read_to_string(log).unwrap_or_default());
        super::provider::wait_ready(http, base, &mut self.child, "haproxy", detail).await
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
