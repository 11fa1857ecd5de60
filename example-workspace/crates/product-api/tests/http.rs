//! End-to-end tests: serve the real router on an ephemeral port in-process
//! and talk raw HTTP/1.1 to it, the same way any client would.

use catalog_domain::{Catalog, Product};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct TestServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start() -> TestServer {
    // Port 0: the OS picks a free port, so tests can run in parallel.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let app = product_api::router(Catalog::seed());
    let task = tokio::spawn(product_api::serve(listener, app, async {
        let _ = stopped.await;
    }));
    TestServer { addr, stop, task }
}

/// Minimal HTTP/1.1 GET; returns (status, body).
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("header/body separator");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    (status, body.to_owned())
}

#[tokio::test]
async fn health_reports_ok_and_version() {
    let server = start().await;
    let (status, body) = get(server.addr, "/health").await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert!(json["uptime_seconds"].is_u64());
}

#[tokio::test]
async fn products_returns_the_seed_catalog() {
    let server = start().await;
    let (status, body) = get(server.addr, "/api/products").await;
    assert_eq!(status, 200);
    let products: Vec<Product> = serde_json::from_str(&body).unwrap();
    assert_eq!(products, Catalog::seed().products());
}

#[tokio::test]
async fn single_product_and_not_found() {
    let server = start().await;
    let (status, body) = get(server.addr, "/api/products/2").await;
    assert_eq!(status, 200);
    let product: Product = serde_json::from_str(&body).unwrap();
    assert_eq!(product.id, 2);

    let (status, _) = get(server.addr, "/api/products/9999").await;
    assert_eq!(status, 404);
    let (status, _) = get(server.addr, "/nope").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn graceful_shutdown_completes_promptly() {
    let server = start().await;
    // One finished request first, so shutdown has a (now idle) connection to deal with.
    assert_eq!(get(server.addr, "/health").await.0, 200);
    server.stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(1), server.task)
        .await
        .expect("server stopped within a second")
        .unwrap();
    assert!(result.is_ok());
}
