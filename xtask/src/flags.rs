//! The CLI definition (clap), kept in the binary: the library takes plain structs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use xtask::image::{BuilderChoice, ImageOptions, ImageTarget};
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
                };
                let report = xtask::image::image(&opts)?;
                print!("{}", xtask::image::summary(&report));
            }
        }
        Ok(())
    }
}
