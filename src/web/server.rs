//! The whole HTTP application: every feature's routes, and the layers around them.

use crate::state::SharedState;
use crate::{accounts, admin, federation, login, oidc, web};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::net::SocketAddr;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The whole HTTP application.
pub fn app(state: SharedState) -> Router {
    let pages = Router::new()
        .merge(oidc::routes::pages())
        .merge(login::routes::pages())
        .merge(login::passkey_routes::pages())
        .merge(accounts::routes::pages())
        .merge(accounts::security_routes::pages())
        .merge(login::factor_routes::pages())
        .merge(login::review_routes::pages())
        .merge(federation::routes::pages())
        .layer(axum::middleware::from_fn_with_state(state.clone(), web::csrf::layer));
    let api = oidc::routes::api().layer(axum::middleware::from_fn_with_state(state.clone(), oidc::cors_routes::layer));
    Router::new()
        .merge(api)
        .merge(admin::routes::api())
        .merge(pages)
        .merge(web::assets::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.config.secure_cookies() && !state.config.loopback_issuer(),
            web::security_headers::layer,
        ))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: SharedState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
