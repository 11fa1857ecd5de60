//! `products`: command-line client for the product API.
//!
//! ```text
//! products list   [--url http://host:port] [--tag TAG] [--json]
//! products health [--url http://host:port]
//! products --version
//! ```
//!
//! The API URL defaults to `$PRODUCTS_API_URL`, then `http://127.0.0.1:8080`.

mod http;

use catalog_domain::{format_cents, Product};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use std::process::ExitCode;

/// `name` is set explicitly: clap would otherwise use the package name
/// (`products-cli`) in `--version` and help output.
#[derive(Parser)]
#[command(name = "products", version, about = "Query the product catalog API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List all products as a table.
    List {
        #[command(flatten)]
        api: ApiArgs,
        /// Only show products with this tag.
        #[arg(long)]
        tag: Option<String>,
        /// Print the raw JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check that the API is up.
    Health {
        #[command(flatten)]
        api: ApiArgs,
    },
}

#[derive(Args)]
struct ApiArgs {
    /// Base URL of the product API.
    #[arg(
        long,
        env = "PRODUCTS_API_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    url: String,
}

/// The subset of the `/health` response the CLI shows.
#[derive(Deserialize)]
struct Health {
    status: String,
    version: String,
    uptime_seconds: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("products: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::List { api, tag, json } => {
            let base = http::BaseUrl::parse(&api.url).map_err(|e| e.to_string())?;
            let body = http::get(&base, "/api/products").map_err(|e| format!("{base}: {e}"))?;
            let mut products: Vec<Product> = serde_json::from_str(&body)
                .map_err(|e| format!("{base}: unexpected product list: {e}"))?;
            if let Some(tag) = &tag {
                products.retain(|p| p.tags.iter().any(|t| t == tag));
            }
            if json {
                let out = serde_json::to_string_pretty(&products).map_err(|e| e.to_string())?;
                println!("{out}");
            } else {
                print!("{}", table(&products));
            }
            Ok(())
        }
        Command::Health { api } => {
            let base = http::BaseUrl::parse(&api.url).map_err(|e| e.to_string())?;
            let body = http::get(&base, "/health").map_err(|e| format!("{base}: {e}"))?;
            let health: Health = serde_json::from_str(&body)
                .map_err(|e| format!("{base}: unexpected health response: {e}"))?;
            println!(
                "{base}: {} (product-api {}, up {}s)",
                health.status, health.version, health.uptime_seconds
            );
            if health.status == "ok" {
                Ok(())
            } else {
                Err(format!("service reports status {:?}", health.status))
            }
        }
    }
}

/// Renders products as an aligned plain-text table.
fn table(products: &[Product]) -> String {
    let rows: Vec<[String; 4]> = products
        .iter()
        .map(|p| {
            [
                p.id.to_string(),
                p.name.clone(),
                format_cents(p.price_cents),
                p.tags.join(", "),
            ]
        })
        .collect();
    let header = ["ID", "NAME", "PRICE", "TAGS"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        // ID and PRICE are right-aligned, NAME and TAGS left-aligned.
        format!(
            "{:>w0$}  {:<w1$}  {:>w2$}  {}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
        )
        .trim_end()
        .to_owned()
            + "\n"
    };
    let mut out = line(header);
    for row in &rows {
        out += &line([&row[0], &row[1], &row[2], &row[3]]);
    }
    out += &format!("{} product(s)\n", rows.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn version_uses_the_binary_name() {
        let err = Cli::try_parse_from(["products", "--version"])
            .err()
            .unwrap();
        assert_eq!(err.kind(), clap::error::ErrorKind::DisplayVersion);
        assert_eq!(
            err.to_string().trim(),
            format!("products {}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn renders_an_aligned_table() {
        let products = vec![
            Product::new(1, "Mug", 1550, &["kitchen"]),
            Product::new(12, "Burr grinder", 12900, &["coffee", "kitchen"]),
        ];
        let expected = "\
ID  NAME           PRICE  TAGS
 1  Mug            15.50  kitchen
12  Burr grinder  129.00  coffee, kitchen
2 product(s)
";
        assert_eq!(table(&products), expected);
    }
}
