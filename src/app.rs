//! The whole HTTP application: the one route table (every feature's routes) and the layers
//! around them, and `serve`.

use crate::state::SharedState;
use crate::{accounts, admin, consent, health, login, oidc, privacy, web};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Form and JSON bodies past this are refused (413) by the extractors.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// Request targets (path and query) past this are refused (414, RFC 9110 §15.5.15) before
/// any handler parses them; the largest legitimate one is an authorization request, whose
/// parameters are bounded below this (`oidc::params::MAX_TOTAL_LEN`).
const MAX_TARGET_BYTES: usize = 24 * 1024;

async fn bound_request_target(req: Request, next: Next) -> Response {
    if req.uri().path_and_query().map_or(0, |p| p.as_str().len()) > MAX_TARGET_BYTES {
        return (StatusCode::URI_TOO_LONG, "The request address is too long.").into_response();
    }
    next.run(req).await
}

/// Signing keys changed elsewhere (the CLI, another node) are picked up within the cache TTL
/// (`keys::ring::reload_if_stale`: one reload at a time, the others serve on).
async fn fresh_keys(
    axum::extract::State(state): axum::extract::State<SharedState>,
    req: Request,
    next: Next,
) -> Response {
    crate::keys::ring::reload_if_stale(&state, state.now()).await;
    next.run(req).await
}

/// The whole HTTP application.
pub fn app(state: SharedState) -> Router {
    let pages = Router::new()
        .merge(oidc::routes::pages())
        .merge(oidc::guardian_routes::pages())
        .merge(login::routes::pages())
        .merge(login::passkey_routes::pages())
        .merge(accounts::routes::pages())
        .merge(accounts::security_routes::pages())
        .merge(accounts::privacy_routes::pages())
        .merge(accounts::apps_routes::pages())
        .merge(accounts::profile_routes::pages())
        .merge(accounts::holdings_routes::pages())
        .merge(privacy::routes::pages())
        .merge(login::factor_routes::pages())
        .merge(login::review_routes::pages())
        .merge(login::federation::routes::pages())
        .merge(consent::routes::pages())
        .layer(axum::middleware::from_fn_with_state(state.clone(), web::csrf::layer));
    let api = oidc::routes::api().layer(axum::middleware::from_fn_with_state(state.clone(), oidc::cors_routes::layer));
    Router::new()
        .merge(api)
        .merge(admin::routes::api())
        .merge(admin::consent_routes::api())
        .merge(oidc::consent_api_routes::api())
        .merge(admin::webhook_routes::api())
        .merge(privacy::admin_routes::api())
        .merge(admin::key_routes::api())
        .merge(admin::breach_routes::api())
        .merge(pages)
        .merge(web::assets::routes())
        .merge(health::routes::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.config.secure_cookies() && !state.config.loopback_issuer(),
            web::security_headers::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), fresh_keys))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(bound_request_target))
        .layer(axum::middleware::from_fn(web::request_log::metrics))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(web::request_log::span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// The public listener: plain TCP (behind a proxy) or built-in TLS.
enum Bound {
    Plain(tokio::net::TcpListener),
    Tls(web::tls::TlsListener),
}

/// Serve until `shutdown` resolves, with the background worker and the listener for other
/// nodes' configuration changes beside the server. On shutdown the server drains its
/// requests, then the worker finishes its tick and stops. With `tls_cert_file` and
/// `tls_key_file` the listener speaks TLS (`web::tls`), reloading the pair when it changes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: SharedState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The pair is read and checked before anything starts: a bad one stops the start here,
    // naming the key.
    let listener = match state.config.tls_files() {
        Some(files) => Bound::Tls(web::tls::TlsListener::new(listener, files)?),
        None => Bound::Plain(listener),
    };
    let metrics = metrics_listener(&state).await?;
    let worker = crate::worker::spawn(state.clone());
    let changes = crate::state::listen_for_changes(state.clone());
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = match listener {
        Bound::Plain(plain) => axum::serve(plain, service).with_graceful_shutdown(shutdown).await,
        // `tap_io` turns Nagle off for the small TLS records, and is also how handlers get
        // the peer's address (axum's `ConnectInfo` for a listener of another type goes
        // through `TapIo`).
        Bound::Tls(tls) => {
            let tls = tls.tap_io(|io| {
                let _ = io.get_ref().0.set_nodelay(true);
            });
            axum::serve(tls, service).with_graceful_shutdown(shutdown).await
        }
    };
    if let Some(w) = worker {
        w.stop().await;
    }
    if let Some(c) = changes {
        c.abort();
    }
    if let Some(m) = metrics {
        m.abort();
    }
    served
}

/// Prometheus metrics on their own address (`metrics_listen`), so that the public listener
/// never exposes them; nothing when it is empty.
async fn metrics_listener(state: &SharedState) -> std::io::Result<Option<tokio::task::JoinHandle<()>>> {
    if state.config.metrics_listen.is_empty() {
        return Ok(None);
    }
    crate::telemetry::install().map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(&state.config.metrics_listen).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot listen on {} (configuration key `metrics_listen`): {e}", state.config.metrics_listen),
        )
    })?;
    tracing::info!(listen = %state.config.metrics_listen, "metrics served at /metrics");
    let router = Router::new().route(
        "/metrics",
        axum::routing::get(|| async {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::telemetry::render())
        }),
    );
    Ok(Some(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    })))
}
