//! This repository's own xtask: a user of cargo-image like any other. It mounts cargo-image's
//! commands (on `example-workspace/` by default, through [`Settings`]) beside a command of
//! its own, `bench`, which measures cargo-image against other ways of building images and
//! keeps its chart dependency out of the library.

mod bench;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use cargo_image::cli::{self, Settings};
use clap::{Args, Parser};

/// The workspace every command targets without `--manifest-path`.
const EXAMPLE_MANIFEST: &str = "example-workspace/Cargo.toml";
/// Builds local stand-ins for base images where no registry is reachable.
const STAND_IN_SCRIPT: &str = "scripts/stand-in-images.sh";

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    about = "Container images for every binary of a Cargo workspace (example-workspace/ by \
             default), and the bench"
)]
enum Xtask {
    #[command(flatten)]
    Image(cli::Command),
    /// Benchmark the generated Dockerfile against host cargo, single-stage, cargo-chef and
    /// cache-mount builds (many minutes; prints a table, the targets, and writes JSON/SVG).
    Bench(BenchArgs),
}

fn main() -> ExitCode {
    cli::exit(match Xtask::parse() {
        Xtask::Image(command) => command.run(&Settings {
            default_manifest: Some(project_root().join(EXAMPLE_MANIFEST)),
            stand_in_script: Some(project_root().join(STAND_IN_SCRIPT)),
        }),
        Xtask::Bench(args) => args.run(),
    })
}

/// This repository's root: the xtask crate's parent directory.
fn project_root() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

#[derive(Args, Debug)]
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
        use bench::{BenchOptions, Variant};
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
