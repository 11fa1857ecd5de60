//! `products-admin`: operator tool for the catalog.
//!
//! Mostly offline: it works on the compiled-in seed catalog and the build
//! facts from `build-info`, which makes it handy for checking what exactly is
//! inside a given container image. `ping` is the one network command: run
//! beside the services (same Docker network), it says whether the API answers
//! at a host name.
//!
//! ```text
//! products-admin info       # version, target triple, profile, rustc, local time zone
//! products-admin validate   # check the seed catalog's invariants (exit 1 if broken)
//! products-admin schema     # the Product type's shape, via #[derive(Describe)]
//! products-admin ping --url http://product-api:8080   # does the API answer there?
//! ```

#[path = "../http.rs"]
mod http;

use catalog_domain::{Catalog, Product};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "products-admin",
    version,
    about = "Offline admin tasks for the product catalog"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone)]
enum Command {
    /// Show how this binary was built (the default).
    Info,
    /// Validate the built-in seed catalog.
    Validate,
    /// Print the Product schema.
    Schema,
    /// Check that the API answers `/health` at URL (its host name resolved through the
    /// system's resolver).
    Ping {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command.unwrap_or(Command::Info) {
        Command::Info => {
            println!("products-admin\n{}", build_info::build_info());
            println!("time zone: {}", time_zone());
            ExitCode::SUCCESS
        }
        Command::Ping { url } => {
            let answer = http::BaseUrl::parse(&url)
                .map_err(|e| e.to_string())
                .and_then(|base| http::get(&base, "/health").map_err(|e| format!("{base}: {e}")));
            match answer {
                Ok(body) => {
                    println!("{url}: answers {}", body.trim());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Validate => {
            let catalog = Catalog::seed();
            match catalog.validate() {
                Ok(()) => {
                    println!("seed catalog OK: {} products", catalog.len());
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    for e in &errors {
                        eprintln!("error: {e}");
                    }
                    eprintln!("seed catalog has {} problem(s)", errors.len());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Schema => {
            println!("{}", Product::describe());
            ExitCode::SUCCESS
        }
    }
}

/// The `TZ` zone and whether its data is installed (`/usr/share/zoneinfo`): images without
/// time zone data silently run in UTC.
fn time_zone() -> String {
    match std::env::var("TZ") {
        Ok(zone) if !zone.is_empty() => {
            let name = zone.trim_start_matches(':');
            let installed = std::path::Path::new("/usr/share/zoneinfo").join(name).is_file();
            format!(
                "{name} ({})",
                if installed { "zone data installed" } else { "no zone data: UTC" }
            )
        }
        _ => "UTC (TZ not set)".to_string(),
    }
}
