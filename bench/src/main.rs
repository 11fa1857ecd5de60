//! The bench's command line, `cargo xtask bench` (the xtask runs this binary with
//! `cargo run -p bench`, passing its arguments through): parses them into
//! [`bench::BenchOptions`], runs the bench and prints the table, the floors and the targets.
//!
//! Relative paths (`--json`, `--chart`, `--logs`, `--manifest-path`) are the caller's:
//! `cargo run` keeps the directory it was started in, so
//! `cargo xtask bench --json bench/results.json` from the repository's root writes where it
//! always did.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Parser;

use bench::{BenchOptions, Variant};

/// The workspace the bench builds without `--manifest-path`.
const EXAMPLE_MANIFEST: &str = "example-workspace/Cargo.toml";
/// Builds local stand-ins for base images where no registry is reachable.
const STAND_IN_SCRIPT: &str = "scripts/stand-in-images.sh";

fn main() -> ExitCode {
    cargo_image::cli::exit(BenchArgs::parse().run())
}

/// This repository's root: the bench crate's parent directory (the bench is at `bench/`).
fn project_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

/// Benchmark the generated Dockerfile against host cargo, single-stage, cargo-chef and
/// cache-mount builds (many minutes; prints a table, the targets, and writes JSON/SVG).
#[derive(Parser, Debug)]
// Named as people type it: the binary runs behind `cargo xtask bench`.
#[command(name = "cargo xtask bench", bin_name = "cargo xtask bench")]
struct BenchArgs {
    /// The workspace's Cargo.toml.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// The binary whose image is built (default: the first one planned).
    #[arg(long, value_name = "NAME")]
    bin: Option<String>,
    /// The library edited for the warm-lib figures (default: the local library the binary
    /// depends on with the most dependents).
    #[arg(long, value_name = "NAME")]
    lib: Option<String>,
    /// Repeat every measurement N times and report medians.
    #[arg(long, value_name = "N", default_value_t = 1)]
    runs: usize,
    /// Only these variants: host, single-stage, chef, cache-mount, ours (comma-separated).
    #[arg(long, value_name = "VARIANT,...", value_delimiter = ',')]
    variants: Vec<String>,
    /// Write the figures as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a bar chart (SVG) here.
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
    /// The Rust builder image (default: cargo-image-stand-in/rust:latest).
    #[arg(long, value_name = "IMAGE")]
    builder_image: Option<String>,
    /// The image behind a runtime keyword (repeatable; default: the local stand-ins).
    #[arg(long, value_name = "KEYWORD=IMAGE")]
    base_image: Vec<String>,
    /// Keep every build's log in this directory.
    #[arg(long, value_name = "DIR")]
    logs: Option<PathBuf>,
}

impl BenchArgs {
    fn run(self) -> Result<()> {
        let mut base_images = BTreeMap::new();
        for spec in &self.base_image {
            let Some((k, v)) = spec.split_once('=') else {
                bail!("--base-image `{spec}`: expected KEYWORD=IMAGE, e.g. distroless-cc=my/cc:nonroot");
            };
            base_images.insert(k.to_string(), v.to_string());
        }
        let variants = if self.variants.is_empty() {
            Variant::ALL.to_vec()
        } else {
            self.variants
                .iter()
                .map(|name| {
                    Variant::parse(name.trim()).ok_or_else(|| {
                        anyhow::anyhow!(
                            "--variants: unknown variant `{name}`; choose among {}",
                            Variant::ALL.map(|v| v.name()).join(", ")
                        )
                    })
                })
                .collect::<Result<_>>()?
        };
        let report = bench::bench(&BenchOptions {
            manifest_path: self
                .manifest_path
                .unwrap_or_else(|| project_root().join(EXAMPLE_MANIFEST)),
            bin: self.bin,
            lib: self.lib,
            runs: self.runs,
            variants,
            builder_image: self.builder_image,
            base_images,
            json: self.json,
            chart: self.chart,
            logs: self.logs,
            stand_in_script: Some(project_root().join(STAND_IN_SCRIPT)),
        })?;
        println!("{}", report.table());
        println!("{}", report.floors_text());
        println!("{}", report.targets_text());
        println!("bench took {:.1} min", report.details.total_seconds / 60.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        BenchArgs::command().debug_assert();
    }

    #[test]
    fn the_default_workspace_is_the_example() {
        assert!(project_root().join(EXAMPLE_MANIFEST).is_file());
        assert!(project_root().join(STAND_IN_SCRIPT).is_file());
    }
}
