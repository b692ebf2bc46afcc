//! A webhook receiver on loopback: it records every request (headers and body) and answers
//! with the statuses a test scripts (then 200), so tests see exactly what Tessera sent.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<u16>,
    /// Event ids answered 500 the first time they come (whatever order requests come in).
    fail_once: Vec<String>,
    /// Characters of filler after each answer's first words.
    padding: usize,
}

pub struct Receiver {
    pub url: String,
    pub port: u16,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = inner.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let inner = shared.clone();
            async move {
                let h = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
                let mut inner = inner.lock().unwrap();
                inner.received.push(Received {
                    id: h("webhook-id"),
                    timestamp: h("webhook-timestamp"),
                    signature: h("webhook-signature"),
                    content_type: h("content-type"),
                    body: String::from_utf8(body.to_vec()).unwrap(),
                });
                let id = h("webhook-id");
                let status = match inner.fail_once.iter().position(|f| *f == id) {
                    Some(i) => {
                        inner.fail_once.remove(i);
                        500
                    }
                    None => inner.script.pop_front().unwrap_or(200),
                };
                let n = inner.received.len();
                let filler = "é".repeat(inner.padding);
                (StatusCode::from_u16(status).unwrap(), format!("answer {n}: {status}{filler}"))
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url: format!("http://127.0.0.1:{port}/hook"), port, inner }
    }

    /// The next answers, in order (after them: 200).
    pub fn answer(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().script.extend(statuses.iter().copied());
    }

    /// Answer every request with this status from now on.
    pub fn always(&self, status: u16) {
        self.inner.lock().unwrap().script = std::iter::repeat_n(status, 10_000).collect();
    }

    /// Pad every answer with `n` two-byte characters.
    pub fn pad_answers(&self, n: usize) {
        self.inner.lock().unwrap().padding = n;
    }

    /// Answer 500 to the first request for this event.
    pub fn fail_once(&self, event_id: &str) {
        self.inner.lock().unwrap().fail_once.push(event_id.to_string());
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }
}
