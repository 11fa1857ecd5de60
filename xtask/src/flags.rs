//! The CLI definition (clap), kept in the binary: the library takes plain structs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use xtask::image::{BuildMode, BuilderChoice, ImageOptions, ImageTarget};
use xtask::tasks::{self, DockerfileOptions, DockerfileOutcome};
use xtask::PlanOptions;

/// The default target workspace, relative to this repository's root.
const DEFAULT_MANIFEST: &str = "example-workspace/Cargo.toml";

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    about = "Container images for every binary of a Cargo workspace"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the build plan as JSON.
    Plan(PlanArgs),
    /// Write the Dockerfile, .dockerignore and compose.yaml of a workspace.
    Dockerfile {
        #[command(flatten)]
        plan: PlanArgs,
        /// Fail with a diff when the files on disk are stale; write nothing.
        #[arg(long)]
        check: bool,
        /// Print the Dockerfile to stdout; write nothing.
        #[arg(long, conflicts_with = "check")]
        stdout: bool,
        /// Write a build-context supplement (Dockerfile, skeleton, build.sh, plan.json) here.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Build the images through the Docker engine and print a size table.
    Image(ImageArgs),
    /// Benchmark the generated Dockerfile against host cargo, single-stage, cargo-chef and
    /// cache-mount builds (many minutes; prints a table, the targets, and writes JSON/SVG).
    Bench(BenchArgs),
    /// Write docker-bake.hcl (the runtime images, dev and test) at the workspace root.
    Bake(BakeArgs),
    /// Write the CI pipelines that check the generated files and build, push and run the
    /// images: .github/workflows/images.yml and/or .gitlab-ci.yml at the repository root.
    Ci(CiArgs),
}

#[derive(Args, Debug)]
struct ImageArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// Which images: one runtime image per binary, the dev image, or the test run.
    #[arg(long, value_enum, default_value_t = TargetArg::Runtime)]
    target: TargetArg,
    /// Tag template with {bin} and {version}, e.g. 'registry.local/{bin}:{version}'
    /// (repeatable; replaces the configured tags).
    #[arg(long = "tag", value_name = "TEMPLATE")]
    tags: Vec<String>,
    /// Build without the layer cache.
    #[arg(long)]
    no_cache: bool,
    /// The builder: BuildKit through the Engine API (auto), docker buildx, or legacy.
    #[arg(long, value_enum, default_value_t = BuilderArg::Auto)]
    builder: BuilderArg,
    /// A PEM file of extra CA certificates trusted while crates are downloaded (repeatable);
    /// it reaches no image layer.
    #[arg(long = "ca-cert", value_name = "FILE")]
    ca_certs: Vec<PathBuf>,
    /// A label put on every image built, KEY=VALUE (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// Skip measuring what a single-stage image would weigh.
    #[arg(long)]
    no_size_comparison: bool,
    /// Target platforms, e.g. linux/amd64,linux/arm64 (builds through docker buildx,
    /// cross-compiling: nothing compiles under emulation).
    #[arg(long = "platform", value_name = "LIST")]
    platforms: Vec<String>,
    /// Push the images to the registries in their tags (through buildx).
    #[arg(long, conflicts_with = "load")]
    push: bool,
    /// Load the images into the engine (the default without --push).
    #[arg(long)]
    load: bool,
    /// buildx cache export, e.g. type=registry,ref=registry.local/api:cache,mode=max (repeatable).
    #[arg(long = "cache-to", value_name = "SPEC")]
    cache_to: Vec<String>,
    /// buildx cache import, e.g. type=registry,ref=registry.local/api:cache (repeatable).
    #[arg(long = "cache-from", value_name = "SPEC")]
    cache_from: Vec<String>,
    /// The buildx builder instance to use (`docker buildx ls`).
    #[arg(long, value_name = "NAME")]
    builder_name: Option<String>,
    /// How workspace crates compile: incremental (a cache mount, for a builder that keeps
    /// its cache), layers (one layer per crate, for an exported cache); auto picks layers
    /// with --cache-to or --cache-from.
    #[arg(long, value_enum, default_value_t = BuildModeArg::Auto)]
    build_mode: BuildModeArg,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BuildModeArg {
    Auto,
    Incremental,
    Layers,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TargetArg {
    Runtime,
    Dev,
    Test,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum BuilderArg {
    Auto,
    Buildkit,
    Buildx,
    Legacy,
}

#[derive(Args, Debug, Clone)]
struct PlanArgs {
    /// The workspace's Cargo.toml.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Only these binaries (repeatable); default: every binary not marked `skip`.
    #[arg(long = "bin", value_name = "NAME")]
    bins: Vec<String>,
    /// The Rust builder image, overriding config and the toolchain default.
    #[arg(long, value_name = "IMAGE")]
    builder_image: Option<String>,
    /// The image behind a runtime keyword, e.g. `distroless-cc=registry.local/cc:nonroot`
    /// (repeatable).
    #[arg(long, value_name = "KEYWORD=IMAGE")]
    base_image: Vec<String>,
}

impl PlanArgs {
    fn manifest_path(&self) -> PathBuf {
        self.manifest_path
            .clone()
            .unwrap_or_else(|| project_root().join(DEFAULT_MANIFEST))
    }

    fn options(&self) -> Result<PlanOptions> {
        let mut base_images = BTreeMap::new();
        for spec in &self.base_image {
            let Some((k, v)) = spec.split_once('=') else {
                bail!("--base-image `{spec}`: expected KEYWORD=IMAGE, e.g. distroless-cc=my/cc:nonroot");
            };
            base_images.insert(k.to_string(), v.to_string());
        }
        Ok(PlanOptions {
            bins: self.bins.clone(),
            builder: self.builder_image.clone(),
            base_images,
            ..PlanOptions::default()
        })
    }
}

/// This repository's root: the xtask crate's parent directory.
fn project_root() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

impl Cli {
    pub fn parse_args() -> Cli {
        Cli::parse()
    }

    pub fn run(self) -> Result<()> {
        match self.command {
            Command::Plan(args) => {
                print!(
                    "{}",
                    tasks::plan_json(&args.manifest_path(), &args.options()?)?
                );
            }
            Command::Dockerfile {
                plan,
                check,
                stdout,
                out,
            } => {
                let opts = DockerfileOptions {
                    manifest_path: plan.manifest_path(),
                    plan: plan.options()?,
                    check,
                    stdout,
                    out,
                };
                match tasks::dockerfile(&opts)? {
                    DockerfileOutcome::Printed(text) => print!("{text}"),
                    DockerfileOutcome::Checked(paths) => {
                        for p in paths {
                            eprintln!("up to date: {}", p.display());
                        }
                    }
                    DockerfileOutcome::Written(paths) => {
                        for p in paths {
                            eprintln!("wrote {}", p.display());
                        }
                    }
                }
            }
            Command::Bench(args) => args.run()?,
            Command::Bake(args) => args.run()?,
            Command::Ci(args) => args.run()?,
            Command::Image(args) => {
                let mut labels = BTreeMap::new();
                for spec in &args.labels {
                    let Some((k, v)) = spec.split_once('=') else {
                        bail!("--label `{spec}`: expected KEY=VALUE");
                    };
                    labels.insert(k.to_string(), v.to_string());
                }
                let opts = ImageOptions {
                    manifest_path: args.plan.manifest_path(),
                    plan: args.plan.options()?,
                    target: match args.target {
                        TargetArg::Runtime => ImageTarget::Runtime,
                        TargetArg::Dev => ImageTarget::Dev,
                        TargetArg::Test => ImageTarget::Test,
                    },
                    tags: args.tags,
                    no_cache: args.no_cache,
                    builder: match args.builder {
                        BuilderArg::Auto => BuilderChoice::Auto,
                        BuilderArg::Buildkit => BuilderChoice::Buildkit,
                        BuilderArg::Buildx => BuilderChoice::Buildx,
                        BuilderArg::Legacy => BuilderChoice::Legacy,
                    },
                    ca_certs: args.ca_certs,
                    labels,
                    stand_in_script: Some(project_root().join("scripts/stand-in-images.sh")),
                    measure_single_stage: !args.no_size_comparison,
                    platforms: args.platforms,
                    push: args.push,
                    cache_to: args.cache_to,
                    cache_from: args.cache_from,
                    builder_name: args.builder_name,
                    build_mode: match args.build_mode {
                        BuildModeArg::Auto => BuildMode::Auto,
                        BuildModeArg::Incremental => BuildMode::Incremental,
                        BuildModeArg::Layers => BuildMode::Layers,
                    },
                };
                let report = xtask::image::image(&opts)?;
                print!("{}", xtask::image::summary(&report));
            }
        }
        Ok(())
    }
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
        use xtask::bench::{self, BenchOptions, Variant};
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
                .unwrap_or_else(|| project_root().join(DEFAULT_MANIFEST)),
            bin: self.bin,
            lib: self.lib,
            runs: self.runs,
            variants,
            builder_image: self.builder_image,
            base_images,
            json: self.json,
            chart: self.chart,
            logs: self.logs,
            stand_in_script: Some(project_root().join("scripts/stand-in-images.sh")),
        })?;
        println!("{}", report.table());
        println!("{}", report.floors_text());
        println!("{}", report.targets_text());
        println!("bench took {:.1} min", report.details.total_seconds / 60.0);
        Ok(())
    }
}

#[derive(Args, Debug)]
struct BakeArgs {
    /// The workspace's Cargo.toml.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Fail with a diff when the file on disk is stale; write nothing.
    #[arg(long)]
    check: bool,
    /// Print the bake file to stdout; write nothing.
    #[arg(long, conflicts_with = "check")]
    stdout: bool,
    /// Platforms of the runtime targets (comma-separated or repeated; default:
    /// linux/amd64,linux/arm64).
    #[arg(long = "platform", value_name = "LIST")]
    platforms: Vec<String>,
}

impl BakeArgs {
    fn run(self) -> Result<()> {
        report(tasks::bake(&tasks::BakeOptions {
            manifest_path: self
                .manifest_path
                .unwrap_or_else(|| project_root().join(DEFAULT_MANIFEST)),
            check: self.check,
            stdout: self.stdout,
            platforms: self.platforms,
        })?);
        Ok(())
    }
}

#[derive(Args, Debug)]
struct CiArgs {
    /// The workspace's Cargo.toml.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// GitHub Actions: .github/workflows/images.yml.
    #[arg(long)]
    github: bool,
    /// GitLab CI: .gitlab-ci.yml.
    #[arg(long)]
    gitlab: bool,
    /// Fail with a diff when the files on disk are stale; write nothing.
    #[arg(long)]
    check: bool,
    /// Print the (one) selected file to stdout; write nothing.
    #[arg(long, conflicts_with = "check")]
    stdout: bool,
    /// The repository root the files go to (default: the closest directory at or above the
    /// workspace that holds `.git`).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Where the pipelines push the images, e.g. registry.example.com/team (default: the CI
    /// system's registry: ghcr.io/<owner>, or GitLab's $CI_REGISTRY_IMAGE).
    #[arg(long, value_name = "R")]
    registry: Option<String>,
    /// Platforms the pushed images are built for (default: linux/amd64,linux/arm64).
    #[arg(long = "platform", value_name = "LIST")]
    platforms: Vec<String>,
}

impl CiArgs {
    fn run(self) -> Result<()> {
        report(tasks::ci(&tasks::CiOptions {
            manifest_path: self
                .manifest_path
                .unwrap_or_else(|| project_root().join(DEFAULT_MANIFEST)),
            github: self.github,
            gitlab: self.gitlab,
            check: self.check,
            stdout: self.stdout,
            root: self.root,
            registry: self.registry,
            platforms: self.platforms,
        })?);
        Ok(())
    }
}

/// Prints what a generating command did.
fn report(outcome: DockerfileOutcome) {
    match outcome {
        DockerfileOutcome::Printed(text) => print!("{text}"),
        DockerfileOutcome::Checked(paths) => {
            for p in paths {
                eprintln!("up to date: {}", p.display());
            }
        }
        DockerfileOutcome::Written(paths) => {
            for p in paths {
                eprintln!("wrote {}", p.display());
            }
        }
    }
}
