//! `products-admin`: offline operator tool for the catalog.
//!
//! Needs no running service: it works on the compiled-in seed catalog and
//! the build facts from `build-info`, which makes it handy for checking what
//! exactly is inside a given container image.
//!
//! ```text
//! products-admin info       # version, target triple, profile, rustc
//! products-admin validate   # check the seed catalog's invariants (exit 1 if broken)
//! products-admin schema     # the Product type's shape, via #[derive(Describe)]
//! ```

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

#[derive(Subcommand, Clone, Copy)]
enum Command {
    /// Show how this binary was built (the default).
    Info,
    /// Validate the built-in seed catalog.
    Validate,
    /// Print the Product schema.
    Schema,
}

fn main() -> ExitCode {
    match Cli::parse().command.unwrap_or(Command::Info) {
        Command::Info => {
            println!("products-admin\n{}", build_info::build_info());
            ExitCode::SUCCESS
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
