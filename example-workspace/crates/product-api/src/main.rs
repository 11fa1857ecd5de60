//! `product-api`: serves the seed catalog over HTTP on `0.0.0.0:$PORT`.
//!
//! Flags (parsed by hand; clap would be overkill for three flags):
//! * `--version` / `-V` – print `product-api <version>` and exit
//! * `--healthcheck` – probe `/health` on `$PORT` and exit 0/1 (for
//!   Docker `HEALTHCHECK` in images without curl)
//! * `--help` / `-h`

use catalog_domain::Catalog;
use product_api::{probe_health, router, serve, shutdown_signal, VERSION};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use tokio::net::TcpListener;

const DEFAULT_PORT: u16 = 8080;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = match port_from_env() {
        Ok(port) => port,
        Err(msg) => {
            eprintln!("product-api: {msg}");
            return ExitCode::from(2);
        }
    };

    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {}
        ["--version" | "-V"] => {
            println!("product-api {VERSION}");
            return ExitCode::SUCCESS;
        }
        ["--help" | "-h"] => {
            println!(
                "product-api {VERSION}\n\
                 Serves the product catalog over HTTP on 0.0.0.0:$PORT (default {DEFAULT_PORT}).\n\n\
                 Usage: product-api [--version | --healthcheck | --help]"
            );
            return ExitCode::SUCCESS;
        }
        ["--healthcheck"] => {
            return match probe_health(port) {
                Ok(()) => ExitCode::SUCCESS,
                Err(msg) => {
                    eprintln!("product-api: healthcheck failed: {msg}");
                    ExitCode::FAILURE
                }
            };
        }
        other => {
            eprintln!("product-api: unexpected arguments {other:?} (try --help)");
            return ExitCode::from(2);
        }
    }

    // The runtime is built only after argument handling, so `--version` and
    // `--healthcheck` do not spin up worker threads.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("product-api: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(port)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("product-api: {e}");
            ExitCode::FAILURE
        }
    }
}

fn port_from_env() -> Result<u16, String> {
    match std::env::var("PORT") {
        Ok(s) if !s.trim().is_empty() => s
            .trim()
            .parse()
            .map_err(|_| format!("invalid PORT {s:?}: expected 0-65535")),
        _ => Ok(DEFAULT_PORT),
    }
}

async fn run(port: u16) -> std::io::Result<()> {
    let catalog = Catalog::seed();
    let products = catalog.len();
    // 0.0.0.0, not 127.0.0.1: inside a container, loopback is unreachable
    // from the published port.
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    let listener = TcpListener::bind(addr).await?;
    println!(
        "product-api {VERSION} listening on http://{} ({products} products)",
        listener.local_addr()?
    );

    serve(listener, router(catalog), async {
        let signal = shutdown_signal().await;
        println!("product-api: received {signal}, shutting down");
    })
    .await?;

    println!("product-api: stopped");
    Ok(())
}
