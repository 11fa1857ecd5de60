//! The whole command line, as a library: a user's xtask is one line
//! (`fn main() -> ExitCode { cargo_image::cli::main() }`), an xtask with commands of its own
//! mounts [`Command`] under its own clap enum (`#[command(flatten)]`) or calls [`run_with`],
//! and the `cargo-image` binary offers the same commands as `cargo image …`.
//!
//! Arguments are parsed here (clap) into the plain option structs of [`crate::tasks`] and
//! [`crate::image`]; nothing below this module knows about clap.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::image::{BuildMode, BuilderChoice, ImageOptions, ImageTarget};
use crate::init::{Dependency, InitOptions};
use crate::tasks::{self, DockerfileOptions, DockerfileOutcome};
use crate::PlanOptions;

/// What an xtask may set once for every command it runs.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The workspace every command targets without `--manifest-path`. `None`: the one
    /// containing the current directory, found as cargo finds it
    /// (`cargo locate-project --workspace`).
    pub default_manifest: Option<PathBuf>,
    /// The script that builds local stand-ins for base images no registry serves
    /// (`scripts/stand-in-images.sh` of this project). `None`: that script in the checkout
    /// this library was compiled from, when it is there.
    pub stand_in_script: Option<PathBuf>,
}

impl Settings {
    fn manifest(&self, given: &Option<PathBuf>) -> Result<PathBuf> {
        match (given, &self.default_manifest) {
            (Some(path), _) => Ok(path.clone()),
            (None, Some(path)) => Ok(path.clone()),
            (None, None) => Ok(crate::read::locate_workspace()?),
        }
    }

    fn stand_in_script(&self) -> Option<PathBuf> {
        self.stand_in_script.clone().or_else(|| {
            let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../scripts/stand-in-images.sh");
            script.is_file().then_some(script)
        })
    }
}

/// `cargo xtask <command>`: the command line of an xtask that has no commands of its own.
#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    about = "Container images for every binary of a Cargo workspace"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// `cargo image <command>`: how cargo calls the `cargo-image` binary (its first argument is
/// the subcommand's name, `image`).
#[derive(Parser, Debug)]
#[command(name = "cargo", bin_name = "cargo")]
enum CargoCli {
    /// Container images for every binary of a Cargo workspace.
    Image(Cli),
}

/// The main function of an xtask that offers these commands and nothing else; the
/// workspace is the one around the current directory.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     cargo_image::cli::main()
/// }
/// ```
pub fn main() -> ExitCode {
    main_with(&Settings::default())
}

/// [`main`] with settings, e.g. another default workspace.
pub fn main_with(settings: &Settings) -> ExitCode {
    exit(Cli::parse().command.run(settings))
}

/// The main function of the `cargo-image` binary (`cargo image <command>`).
pub fn cargo_main() -> ExitCode {
    let CargoCli::Image(cli) = CargoCli::parse();
    exit(cli.command.run(&Settings::default()))
}

/// Parses `args` (the first one is the program's name, as in `std::env::args`) and runs the
/// command: for an xtask that dispatches to us from its own argument handling.
pub fn run_with<I, T>(args: I, settings: &Settings) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    Cli::try_parse_from(args)?.command.run(settings)
}

/// Prints the error chain (`{:#}`) and picks the exit code.
pub fn exit(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints to stdout; a closed pipe (`cargo xtask plan | head -1`) ends the output quietly.
fn print_out(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The commands, for an xtask to mount under its own clap enum:
///
/// ```
/// #[derive(clap::Parser)]
/// enum Xtask {
///     #[command(flatten)]
///     Image(cargo_image::cli::Command),
///     /// A command of the xtask's own.
///     Hello,
/// }
/// ```
#[derive(Subcommand, Debug)]
#[command(about = None, long_about = None)]
pub enum Command {
    /// Adopt cargo-image in a repository: an `xtask/` that runs it, the `cargo xtask`
    /// alias, a commented `[workspace.metadata.image]` starter and the generated files.
    /// Never replaces a file of yours; running it again changes nothing.
    Init(InitArgs),
    /// Print the build plan as JSON.
    ///
    /// Configured in Cargo.toml by `[workspace.metadata.image]`, `[package.metadata.image]`
    /// and `[package.metadata.image.bin.NAME]`; the notes on stderr (and in the JSON's
    /// "notes") name the keys a workspace lacks, and cargo-image's README lists every key
    /// (`https://github.com/cargo-image/cargo-image#configuration`).
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
        /// Replace files of yours (no "Generated by" marker) too, keeping each as FILE.orig
        /// (a .dockerignore of yours is never replaced: its rules are kept, ours added).
        #[arg(long)]
        force: bool,
    },
    /// Build the images through the Docker engine and print a size table.
    ///
    /// Configured in Cargo.toml by `[workspace.metadata.image]`, `[package.metadata.image]`
    /// and `[package.metadata.image.bin.NAME]`; `plan` names the keys a workspace lacks,
    /// and cargo-image's README lists every key
    /// (`https://github.com/cargo-image/cargo-image#configuration`).
    Image(Box<ImageArgs>),
    /// Write docker-bake.hcl (the runtime images, dev and test) at the workspace root.
    Bake(BakeArgs),
    /// Write the CI pipelines that check the generated files and build, push and run the
    /// images: .github/workflows/images.yml and/or .gitlab-ci.yml at the repository root.
    Ci(CiArgs),
}

#[derive(Args, Debug)]
pub struct ImageArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// Which images: one runtime image per binary (`runtime`), the dev image (`dev`), the
    /// test run (`test`), or a stage of your own from `dockerfile-append`.
    #[arg(long, default_value = "runtime", value_name = "runtime|dev|test|STAGE")]
    target: String,
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
    /// A value for one of the workspace's `build-args`, NAME=VALUE (repeatable; without
    /// it, the variable NAME of this environment).
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    build_args: Vec<String>,
    /// An SSH agent or key for git dependencies fetched over SSH, as `docker buildx build
    /// --ssh` takes it (repeatable; default: `default`, the agent at SSH_AUTH_SOCK).
    #[arg(long = "ssh", value_name = "default|default=KEYFILE")]
    ssh: Vec<String>,
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
enum BuilderArg {
    Auto,
    Buildkit,
    Buildx,
    Legacy,
}

#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
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

impl Command {
    /// Runs the command.
    pub fn run(self, settings: &Settings) -> Result<()> {
        match self {
            Command::Init(args) => args.run(settings)?,
            Command::Plan(args) => {
                let manifest = settings.manifest(&args.manifest_path)?;
                print_out(&tasks::plan_json(&manifest, &args.options()?)?)?;
            }
            Command::Dockerfile {
                plan,
                check,
                stdout,
                out,
                force,
            } => {
                let opts = DockerfileOptions {
                    force,
                    manifest_path: settings.manifest(&plan.manifest_path)?,
                    plan: plan.options()?,
                    check,
                    stdout,
                    out,
                };
                report(tasks::dockerfile(&opts)?)?;
            }
            Command::Bake(args) => args.run(settings)?,
            Command::Ci(args) => args.run(settings)?,
            Command::Image(args) => {
                let mut labels = BTreeMap::new();
                for spec in &args.labels {
                    let Some((k, v)) = spec.split_once('=') else {
                        bail!("--label `{spec}`: expected KEY=VALUE");
                    };
                    labels.insert(k.to_string(), v.to_string());
                }
                let mut build_args = BTreeMap::new();
                for spec in &args.build_args {
                    let Some((k, v)) = spec.split_once('=') else {
                        bail!("--build-arg `{spec}`: expected NAME=VALUE");
                    };
                    build_args.insert(k.to_string(), v.to_string());
                }
                let opts = ImageOptions {
                    manifest_path: settings.manifest(&args.plan.manifest_path)?,
                    plan: args.plan.options()?,
                    target: match args.target.as_str() {
                        "runtime" => ImageTarget::Runtime,
                        "dev" => ImageTarget::Dev,
                        "test" => ImageTarget::Test,
                        stage => ImageTarget::Stage(stage.to_string()),
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
                    stand_in_script: settings.stand_in_script(),
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
                    build_args,
                    ssh: args.ssh,
                };
                let report = crate::image::image(&opts)?;
                print_out(&crate::image::summary(&report))?;
            }
        }
        Ok(())
    }
}

#[derive(Args, Debug)]
pub struct BakeArgs {
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
    /// Replace files of yours (no "Generated by" marker) too, keeping each as FILE.orig.
    #[arg(long)]
    force: bool,
}

impl BakeArgs {
    fn run(self, settings: &Settings) -> Result<()> {
        report(tasks::bake(&tasks::BakeOptions {
            manifest_path: settings.manifest(&self.manifest_path)?,
            check: self.check,
            stdout: self.stdout,
            platforms: self.platforms,
            force: self.force,
        })?)
    }
}

#[derive(Args, Debug)]
pub struct CiArgs {
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
    /// system's registry: ghcr.io/OWNER, or GitLab's $CI_REGISTRY_IMAGE).
    #[arg(long, value_name = "R")]
    registry: Option<String>,
    /// Platforms the pushed images are built for (default: linux/amd64,linux/arm64).
    #[arg(long = "platform", value_name = "LIST")]
    platforms: Vec<String>,
    /// Replace files of yours (no "Generated by" marker) too, keeping each as FILE.orig.
    #[arg(long)]
    force: bool,
}

impl CiArgs {
    fn run(self, settings: &Settings) -> Result<()> {
        report(tasks::ci(&tasks::CiOptions {
            manifest_path: settings.manifest(&self.manifest_path)?,
            github: self.github,
            gitlab: self.gitlab,
            check: self.check,
            stdout: self.stdout,
            root: self.root,
            registry: self.registry,
            platforms: self.platforms,
            force: self.force,
        })?)
    }
}

/// Prints what a generating command did.
fn report(outcome: DockerfileOutcome) -> Result<()> {
    match outcome {
        DockerfileOutcome::Printed(text) => print_out(&text)?,
        DockerfileOutcome::Checked(paths) => {
            for p in paths {
                eprintln!("up to date: {}", p.display());
            }
        }
        DockerfileOutcome::Written(paths) => {
            for p in &paths {
                eprintln!("wrote {}", p.display());
            }
            // One line per rule, a directory's files as the directory (`.cargo-image/`).
            let base = paths
                .first()
                .and_then(|p| p.parent())
                .unwrap_or(Path::new(""));
            let mut by_rule: Vec<(String, Vec<String>)> = Vec::new();
            for (path, rule) in crate::artifacts::git_ignored(&paths) {
                let rel = path.strip_prefix(base).unwrap_or(&path).to_string_lossy();
                let name = match rel.split_once('/') {
                    Some((dir, _)) => format!("{dir}/"),
                    None => rel.into_owned(),
                };
                match by_rule.iter_mut().find(|(r, _)| *r == rule) {
                    Some((_, names)) if names.contains(&name) => {}
                    Some((_, names)) => names.push(name),
                    None => by_rule.push((rule, vec![name])),
                }
            }
            for (rule, names) in by_rule {
                let it = if names.len() == 1 { "it" } else { "them" };
                eprintln!(
                    "warning: git ignores {} ({rule}): commit {it} anyway (`git add -f`) or \
                     unignore {it}, or CI's `--check` and a `docker build` in another checkout \
                     will not find {it}",
                    names.join(", "),
                );
            }
        }
    }
    Ok(())
}

/// `init`: where the workspace is and how `xtask/` depends on cargo-image.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// The workspace's Cargo.toml (default: the workspace around the current directory).
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Depend on a checkout of cargo-image at this path.
    #[arg(long, value_name = "DIR", conflicts_with = "git")]
    path: Option<PathBuf>,
    /// Depend on cargo-image from this git repository (default: the repository this
    /// cargo-image was built from).
    #[arg(long, value_name = "URL")]
    git: Option<String>,
    /// Make xtask/ a workspace member (a single-package project becomes a workspace that
    /// builds as before) instead of a workspace of its own. Image builds then resolve its
    /// dependency: use a git or registry one, not --path.
    #[arg(long)]
    member: bool,
}

impl InitArgs {
    fn run(self, settings: &Settings) -> Result<()> {
        let dependency = match (self.path, self.git) {
            (Some(path), _) => Dependency::Path(std::path::absolute(path)?),
            (None, Some(url)) => Dependency::Git(url),
            (None, None) => Dependency::Git(env!("CARGO_PKG_REPOSITORY").to_string()),
        };
        let manifest_path = std::path::absolute(settings.manifest(&self.manifest_path)?)?;
        let outcome = crate::init::init(&InitOptions {
            manifest_path,
            dependency,
            member: self.member,
        })?;
        eprint!("{outcome}");
        Ok(())
    }
}
