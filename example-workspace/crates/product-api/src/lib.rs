//! The product catalog HTTP service.
//!
//! Routes:
//! * `GET /health` – liveness: `{"status":"ok","version":..,"uptime_seconds":..}`
//! * `GET /api/products` – the whole catalog as a JSON array
//! * `GET /api/products/{id}` – one product, or 404
//!
//! The router lives in the library (not in `main.rs`) so the integration
//! tests can serve it on an ephemeral port in-process.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use catalog_domain::{Catalog, Product};
use serde::Serialize;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// The crate version, reported by `/health` and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Shared, read-only state; cheap to clone into every handler.
#[derive(Clone)]
pub struct AppState {
    catalog: Arc<Catalog>,
    started: Instant,
}

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
    uptime_seconds: u64,
}

/// Builds the application router serving `catalog`.
pub fn router(catalog: Catalog) -> Router {
    let state = AppState {
        catalog: Arc::new(catalog),
        started: Instant::now(),
    };
    Router::new()
        .route("/health", get(health))
        .route("/api/products", get(list_products))
        .route("/api/products/{id}", get(get_product))
        .with_state(state)
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: VERSION,
        uptime_seconds: state.started.elapsed().as_secs(),
    })
}

async fn list_products(State(state): State<AppState>) -> Json<Vec<Product>> {
    Json(state.catalog.products().to_vec())
}

async fn get_product(
    State(state): State<AppState>,
    Path(id): Path<u32>,
) -> Result<Json<Product>, StatusCode> {
    state
        .catalog
        .get(id)
        .cloned()
        .map(Json)
        .ok_or(StatusCode::NOT_FOUND)
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting
/// and waits for in-flight requests to finish (graceful shutdown).
pub async fn serve<F>(listener: TcpListener, app: Router, shutdown: F) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Completes on SIGTERM or SIGINT and returns the signal's name.
///
/// In a container this process is PID 1, and the kernel does not apply the
/// default "terminate" action to PID 1: without explicit handlers `docker
/// stop` would wait out its timeout and then SIGKILL us. So both signals are
/// handled here and turned into a graceful shutdown.
#[cfg(unix)]
pub async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        res = tokio::signal::ctrl_c() => {
            res.expect("install SIGINT handler");
            "SIGINT"
        }
    }
}

/// Non-unix fallback: only Ctrl-C exists.
#[cfg(not(unix))]
pub async fn shutdown_signal() -> &'static str {
    tokio::signal::ctrl_c()
        .await
        .expect("install Ctrl-C handler");
    "Ctrl-C"
}

/// Blocking probe of `GET http://127.0.0.1:{port}/health`, for `--healthcheck`.
///
/// Images built `FROM scratch` have no curl or wget, so the binary checks
/// itself. Uses plain std networking: no runtime needed for a one-shot probe.
pub fn probe_health(port: u16) -> Result<(), String> {
    let addr = ("127.0.0.1", port)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let status_line = response.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("unhealthy: {status_line:?}"))
    }
}
