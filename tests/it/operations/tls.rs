//! Built-in TLS (issue #15): the server speaks https with the configured PEM pair, a new pair
//! written over the files is shown to the next connection without a restart, and a broken
//! pair is refused while the previous one keeps serving. Certificates are self-signed for
//! `localhost` (rcgen) and trusted by the client explicitly.

use crate::support::TestServer;
use std::path::Path;
use std::time::Duration;

struct Pair {
    cert_pem: String,
    key_pem: String,
    der: Vec<u8>,
}

fn self_signed() -> Pair {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    Pair { cert_pem: made.cert.pem(), key_pem: made.signing_key.serialize_pem(), der: made.cert.der().to_vec() }
}

fn write(dir: &Path, cert_pem: &str, key_pem: &str) {
    std::fs::write(dir.join("key.pem"), key_pem).unwrap();
    std::fs::write(dir.join("cert.pem"), cert_pem).unwrap();
}

/// Over a new connection trusting `trusted`: the leaf certificate the server presented,
/// and the discovery document it served.
async fn fetch(server: &TestServer, trusted: &[&Pair]) -> reqwest::Result<(Vec<u8>, serde_json::Value)> {
    let mut http = reqwest::Client::builder().tls_info(true).pool_max_idle_per_host(0);
    for pair in trusted {
        http = http.add_root_certificate(reqwest::Certificate::from_der(&pair.der).unwrap());
    }
    let res = http.build().unwrap().get(server.url("/.well-known/openid-configuration")).send().await?;
    let info = res.extensions().get::<reqwest::tls::TlsInfo>().cloned();
    let leaf = info.and_then(|i| i.peer_certificate().map(<[u8]>::to_vec)).expect("a peer certificate");
    Ok((leaf, res.error_for_status()?.json().await?))
}

/// Poll (bounded) until a new connection is shown `pair`'s certificate.
async fn until_presented(server: &TestServer, trusted: &[&Pair], pair: &Pair) {
    for _ in 0..150 {
        if fetch(server, trusted).await.is_ok_and(|(leaf, _)| leaf == pair.der) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the new certificate was not served within 15 s");
}

#[tokio::test]
async fn https_with_the_configured_pair_reloaded_when_the_files_change_and_a_broken_pair_refused() {
    let files = tempfile::tempdir().unwrap();
    let (first, second, third) = (self_signed(), self_signed(), self_signed());
    write(files.path(), &first.cert_pem, &first.key_pem);
    let server = TestServer::start_with(|c| {
        c.issuer = c.issuer.replace("http://", "https://");
        c.tls_cert_file = files.path().join("cert.pem").display().to_string();
        c.tls_key_file = files.path().join("key.pem").display().to_string();
        c.tls_reload_secs = 1;
    })
    .await;
    assert!(server.base.starts_with("https://localhost:"), "{}", server.base);
    let trusted = [&first, &second, &third];

    let (leaf, discovery) = fetch(&server, &trusted).await.unwrap();
    assert_eq!(leaf, first.der);
    assert_eq!(discovery["issuer"], server.base.as_str());
    assert!(fetch(&server, &[]).await.is_err(), "a client that does not trust the certificate is refused");
    let plain = reqwest::get(server.url("/healthz").replace("https://", "http://")).await;
    assert!(plain.is_err(), "plain HTTP on the TLS port gets no answer: {plain:?}");

    // The container health check speaks TLS to the node too, trusting the configured chain.
    let health = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("healthcheck")
        .env_clear()
        .env("TESSERA_DATA_DIR", files.path())
        .env("TESSERA_LISTEN", &server.state.config.listen)
        .env("TESSERA_ISSUER", &server.base)
        .env("TESSERA_TLS_CERT_FILE", &server.state.config.tls_cert_file)
        .env("TESSERA_TLS_KEY_FILE", &server.state.config.tls_key_file)
        .output()
        .await
        .unwrap();
    assert!(health.status.success(), "{}", String::from_utf8_lossy(&health.stderr));

    // A renewed pair written over the files: the next connections see it.
    write(files.path(), &second.cert_pem, &second.key_pem);
    until_presented(&server, &trusted, &second).await;

    // A new certificate whose key is not written yet, then a file that is not PEM at all:
    // logged and refused, the second pair keeps serving across several looks at the files.
    for (cert, key) in [(third.cert_pem.as_str(), second.key_pem.as_str()), ("not a certificate", "nor a key")] {
        write(files.path(), cert, key);
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        let (leaf, discovery) = fetch(&server, &trusted).await.expect("the server is still up");
        assert_eq!(leaf, second.der, "the previous pair is kept");
        assert_eq!(discovery["issuer"], server.base.as_str());
    }
    // The watcher survived both: a good pair is taken again.
    write(files.path(), &third.cert_pem, &third.key_pem);
    until_presented(&server, &trusted, &third).await;
}

#[tokio::test]
async fn a_missing_or_broken_pair_stops_the_start_naming_the_key() {
    let files = tempfile::tempdir().unwrap();
    let (pair, other) = (self_signed(), self_signed());
    write(files.path(), &pair.cert_pem, &other.key_pem);
    let server = TestServer::start().await;
    for (cert, expected) in [("missing.pem", "tls_cert_file"), ("cert.pem", "does not fit the certificate")] {
        let config = tessera::Config {
            issuer: server.base.replace("http://", "https://"),
            tls_cert_file: files.path().join(cert).display().to_string(),
            tls_key_file: files.path().join("key.pem").display().to_string(),
            worker_interval_ms: 0,
            ..server.state.config.clone()
        };
        config.validate().unwrap();
        let state = tessera::AppState::build(config, server.clock.clone()).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let started = tokio::time::timeout(Duration::from_secs(10), tessera::serve(listener, state, async {})).await;
        let e = started.expect("serve returns at once").expect_err("the start is refused");
        assert!(e.to_string().contains(expected), "{e}");
    }
}
