//! The load driver's own rules (benches/load), tested here because a `harness = false` bench
//! runs no tests: client_secret_basic as RFC 6749 §2.3.1 writes it (each part
//! form-urlencoded before base64), checked against Tessera's decoding and its token endpoint,
//! and the CPU time read from `/proc/PID/stat`.

#[path = "../../benches/load/basic.rs"]
mod basic;
#[path = "../../benches/load/procfs.rs"]
mod procfs;

use crate::support::TestServer;
use base64::Engine;
use basic::basic_authorization;
use reqwest::StatusCode;
use tessera::oidc::client_auth::presented;
use tessera::oidc::params::Params;

fn decoded(header: &str) -> String {
    let b64 = header.strip_prefix("Basic ").expect("a Basic header");
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap()
}

#[test]
fn each_part_is_form_urlencoded_before_base64() {
    // RFC 6749 §2.3.1 / Appendix B: `:` `%` `+` and space are escaped, so the one `:` left
    // separates the identifier from the secret.
    assert_eq!(
        decoded(&basic_authorization("bench", "s3cret:with%odd+chars x")),
        "bench:s3cret%3Awith%25odd%2Bchars+x"
    );
    assert_eq!(decoded(&basic_authorization("a:b", "é")), "a%3Ab:%C3%A9");
    // Plain values are unchanged: the header is then the usual Basic one.
    assert_eq!(basic_authorization("client", "secret"), "Basic Y2xpZW50OnNlY3JldA==");
}

#[test]
fn tessera_reads_back_what_the_driver_writes() {
    for (id, secret) in [("bench", "s3cret:with%odd+chars x"), ("id:with:colons", "%41+%2B:"), ("plain", "plain")] {
        let header = basic_authorization(id, secret);
        let got = presented(Some(&header), &Params::from_pairs(Vec::new()).unwrap()).unwrap();
        assert_eq!(got.client_id, id);
        assert_eq!(got.secret.as_deref(), Some(secret));
    }
}

#[tokio::test]
async fn the_token_endpoint_accepts_the_drivers_header() {
    let server = TestServer::start().await;
    let client = server.confidential_client().await;
    let header = basic_authorization(&client.id, client.secret.as_deref().unwrap());
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .header("authorization", &header)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // A wrong secret, encoded the same way, is refused (RFC 6749 §5.2 invalid_client).
    let wrong = basic_authorization(&client.id, "not:the%secret");
    let res = reqwest::Client::new()
        .post(server.url("/token"))
        .header("authorization", &wrong)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn cpu_ticks_are_counted_after_the_command_name() {
    // proc(5): field 2 is "(comm)" and may hold spaces and parentheses; utime and stime are
    // fields 14 and 15.
    let line = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 1234 567 0 0 20 0 9 0 100 0";
    assert_eq!(procfs::stat_ticks(line), Some(1234 + 567));
    assert_eq!(procfs::stat_ticks("garbage"), None);
    // This process has a stat file, a resident size, and uses some CPU time.
    let me = std::process::id();
    assert!(procfs::rss_kib(me).is_some_and(|k| k > 0));
    let spent = procfs::cpu_secs(me).unwrap();
    assert!(spent >= 0.0);
}
