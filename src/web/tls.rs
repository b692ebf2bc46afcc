//! Built-in TLS (issue #15) for a small deployment without a reverse proxy: `listen` speaks
//! TLS 1.2/1.3 with the PEM certificate chain and private key named by `tls_cert_file` and
//! `tls_key_file`, and a new pair written over those files is served from the next
//! connection on, without a restart (certificates from ACME clients are renewed in place).
//!
//! Why tokio-rustls under `axum::serve` rather than `axum-server` (whose `tls-rustls`
//! feature would do the same): axum 0.8's `serve` accepts any `Listener`, so the server keeps
//! its one code path (graceful shutdown, connection info, the same layers) with or without
//! TLS; tokio-rustls and rustls are already in the tree through reqwest and lettre, while
//! axum-server would add a second server loop and rustls-pemfile (unmaintained; PEM parsing
//! now lives in rustls-pki-types). The crypto provider is aws-lc-rs, named explicitly rather
//! than taken from the process default (which does not exist when two providers are built).
//!
//! Reloading: a task reads both files every `tls_reload_secs` and, when their contents
//! changed, checks the new pair (it parses, and the key is the certificate's: RFC 5280 §4.1.2.7
//! subject public key) before the resolver hands it to new handshakes. A pair that does not
//! check out (say, the certificate written, the key not yet) is logged and the previous pair
//! stays in service; connections already open keep the certificate they were made with.

use axum::serve::Listener;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A handshake not finished in this time is dropped (a client that never speaks holds a
/// socket, not the accept loop).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; past it, accepting waits (back-pressure on floods).
const MAX_HANDSHAKES: usize = 512;

/// Where the certificate chain and its private key are read from, and how often.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub reload_every: Duration,
}

/// The pair new handshakes are answered with, replaced in place by the reloader.
#[derive(Debug)]
struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadingCert {
    fn get(&self) -> Arc<CertifiedKey> {
        // A poisoned lock still holds a complete pair (replacing it is one assignment).
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn replace(&self, pair: CertifiedKey) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(pair);
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A certificate chain (leaf first) and its private key (PKCS#8, SEC1 or PKCS#1), both PEM,
/// checked to belong together.
fn certified_key(cert_pem: &[u8], key_pem: &[u8], provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate file is not PEM: {e}"))?;
    if chain.is_empty() {
        return Err("the certificate file holds no CERTIFICATE block".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("the key file holds no private key: {e}"))?;
    // Parses the key and compares its public half with the leaf certificate's.
    CertifiedKey::from_der(chain, key, provider).map_err(|e| format!("the key does not fit the certificate: {e}"))
}

/// The leaf certificate's SHA-256, as operators compare it (`openssl x509 -fingerprint`).
fn fingerprint(pair: &CertifiedKey) -> String {
    let leaf = pair.cert.first().map(|c| c.as_ref()).unwrap_or_default();
    crate::crypto::secrets::sha256(leaf).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// A task aborted when its owner is dropped (the listener outlives nothing it started).
struct Task(tokio::task::JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A TCP listener whose connections come out after a TLS handshake. Handshakes run in tasks
/// of their own (bounded by `MAX_HANDSHAKES`), so one slow client does not hold up the others.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    _accepting: Task,
    _reloading: Task,
}

impl TlsListener {
    /// Read and check the pair now (a bad one is an error at start, naming the key), then
    /// accept on `tcp` and watch the files.
    pub fn new(tcp: TcpListener, files: TlsFiles) -> std::io::Result<TlsListener> {
        let read = |path: &PathBuf, key: &str| {
            std::fs::read(path).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot read {} (configuration key `{key}`): {e}", path.display()),
                )
            })
        };
        let (cert_pem, key_pem) = (read(&files.cert, "tls_cert_file")?, read(&files.key, "tls_key_file")?);
        let provider = provider();
        let pair = certified_key(&cert_pem, &key_pem, &provider).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} and {} (tls_cert_file, tls_key_file): {e}", files.cert.display(), files.key.display()),
            )
        })?;
        tracing::info!(cert = %files.cert.display(), sha256 = %fingerprint(&pair), "serving TLS");
        let resolver = Arc::new(ReloadingCert { current: RwLock::new(Arc::new(pair)) });
        let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        // RFC 7301: axum serves HTTP/1.1 (its http2 feature is off).
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let accepting = Task(tokio::spawn(accept_loop(tcp, acceptor, tx)));
        let reloading = Task(tokio::spawn(reload_loop(files, resolver, provider, (cert_pem, key_pem))));
        Ok(TlsListener { local, ready, _accepting: accepting, _reloading: reloading })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends with this listener; nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

async fn accept_loop(tcp: TcpListener, acceptor: TlsAcceptor, ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    while !ready.is_closed() {
        let Ok(permit) = handshakes.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: the same pause as axum's own loop.
                tracing::error!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// Every `reload_every`: read both files; when either changed since the last look, check
/// the new pair and serve it, or log why not and keep the old one. A problem is logged once,
/// not at every look.
async fn reload_loop(
    files: TlsFiles,
    resolver: Arc<ReloadingCert>,
    provider: Arc<CryptoProvider>,
    mut seen: (Vec<u8>, Vec<u8>),
) {
    let mut every = tokio::time::interval(files.reload_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    every.tick().await;
    let mut unreadable: Option<String> = None;
    loop {
        every.tick().await;
        let read = match (tokio::fs::read(&files.cert).await, tokio::fs::read(&files.key).await) {
            (Ok(cert), Ok(key)) => (cert, key),
            (Err(e), _) | (_, Err(e)) => {
                let problem = e.to_string();
                if unreadable.as_deref() != Some(problem.as_str()) {
                    tracing::warn!(error = %problem, "cannot read the TLS certificate or key; serving the previous pair");
                    unreadable = Some(problem);
                }
                continue;
            }
        };
        unreadable = None;
        if read == seen {
            continue;
        }
        match certified_key(&read.0, &read.1, &provider) {
            Ok(pair) => {
                tracing::info!(cert = %files.cert.display(), sha256 = %fingerprint(&pair), "TLS certificate reloaded");
                resolver.replace(pair);
            }
            Err(e) => tracing::error!(
                cert = %files.cert.display(),
                key = %files.key.display(),
                error = %e,
                "the new TLS certificate and key were not taken; serving the previous pair"
            ),
        }
        seen = read;
    }
}

/// A TLS connection to this server itself (`tessera healthcheck`), trusting exactly the
/// certificates of `tls_cert_file`: the leaf when it is self-signed, else the intermediate
/// that issued it (the file holds the whole chain, as ACME clients write it). `host` is the
/// name the certificate is for (the issuer's host); `tcp` goes to the local address.
pub async fn connect_to_self(
    files: &TlsFiles,
    host: &str,
    tcp: TcpStream,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&files.cert).map_err(|e| invalid(e.to_string()))? {
        roots.add(cert.map_err(|e| invalid(e.to_string()))?).map_err(|e| invalid(e.to_string()))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| invalid(e.to_string()))?;
    tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_that_do_not_belong_together_or_do_not_parse_are_refused() {
        let provider = provider();
        let one = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let two = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = one.cert.pem();
        let key = one.signing_key.serialize_pem();
        let pair = certified_key(cert.as_bytes(), key.as_bytes(), &provider).unwrap();
        assert_eq!(pair.cert[0].as_ref(), one.cert.der().as_ref());
        let other_key = two.signing_key.serialize_pem();
        let e = certified_key(cert.as_bytes(), other_key.as_bytes(), &provider).unwrap_err();
        assert!(e.contains("does not fit"), "{e}");
        let e = certified_key(b"not a certificate", key.as_bytes(), &provider).unwrap_err();
        assert!(e.contains("no CERTIFICATE"), "{e}");
        let e = certified_key(cert.as_bytes(), b"", &provider).unwrap_err();
        assert!(e.contains("no private key"), "{e}");
        assert_eq!(fingerprint(&pair).len(), 32 * 3 - 1);
    }
}
