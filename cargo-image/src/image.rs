//! `cargo xtask image`: plan, render, and build every image through a driver, then print
//! a table (tag, size, layers, build time, and what a single-stage image would weigh).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use bollard::Docker;

use crate::drive::{buildx, context, engine};
use crate::plan::{fill_tag, fill_template, CaSource, Plan, PlanOptions, CA_CONTEXT_PATH};
use crate::read::Loaded;
use crate::render;
use crate::render::dockerfile::{BUILD_MODE_ARG, CACHE_KEY_ARG};

/// Which Dockerfile targets to build.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ImageTarget {
    /// One runtime image per binary.
    #[default]
    Runtime,
    /// The development image.
    Dev,
    /// The test run (fails when a test fails).
    Test,
    /// A stage of the user's own (`dockerfile-append`).
    Stage(String),
}

/// Which builder drives the build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BuilderChoice {
    /// BuildKit through the Engine API when the engine has it.
    #[default]
    Auto,
    Buildkit,
    Buildx,
    Legacy,
}

/// Options of `cargo xtask image`.
#[derive(Clone, Debug, Default)]
pub struct ImageOptions {
    pub manifest_path: PathBuf,
    pub plan: PlanOptions,
    pub target: ImageTarget,
    /// Tag templates (`{bin}`, `{version}`) replacing the configured ones.
    pub tags: Vec<String>,
    pub no_cache: bool,
    pub builder: BuilderChoice,
    /// Extra CA certificates for the builder stages (in addition to the config's).
    pub ca_certs: Vec<PathBuf>,
    /// Labels put on every image built.
    pub labels: BTreeMap<String, String>,
    /// A script that builds local stand-ins for the default base images when they cannot
    /// be pulled (this repository's `scripts/stand-in-images.sh`).
    pub stand_in_script: Option<PathBuf>,
    /// Also measure the single-stage size (builds and removes the `build` stage image).
    pub measure_single_stage: bool,
    /// Target platforms (`linux/amd64`, `linux/arm64`); any makes the build go through buildx.
    pub platforms: Vec<String>,
    /// Push to the tags' registries (through buildx) instead of loading into the engine.
    pub push: bool,
    /// buildx `--cache-to` / `--cache-from` specs (e.g. `type=registry,ref=…,mode=max`).
    pub cache_to: Vec<String>,
    pub cache_from: Vec<String>,
    /// The buildx builder instance to use.
    pub builder_name: Option<String>,
    /// How the workspace's crates compile.
    pub build_mode: BuildMode,
    /// Values of the workspace's `build-args` (`--build-arg NAME=VALUE`).
    pub build_args: BTreeMap<String, String>,
    /// `--ssh` specs for SSH git dependencies (default: the caller's agent).
    pub ssh: Vec<String>,
}

/// How the workspace's crates compile: the Dockerfile's `CARGO_IMAGE_BUILD` argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BuildMode {
    /// `layers` when a build cache is exported or imported (a CI runner: cache mounts never
    /// travel with it), `incremental` otherwise.
    #[default]
    Auto,
    Incremental,
    Layers,
}

impl BuildMode {
    /// The build argument's value.
    pub fn arg(self, travelling_cache: bool) -> &'static str {
        match self {
            BuildMode::Incremental => "incremental",
            BuildMode::Layers => "layers",
            BuildMode::Auto if travelling_cache => "layers",
            BuildMode::Auto => "incremental",
        }
    }
}

/// The build arguments of every build, on either path: the revision label, the build
/// mode (a cache given with `--cache-to`/`--cache-from` travels, so auto picks `layers`),
/// the key of the incremental mode's caches, and the workspace's `build-args`: from
/// `--build-arg`, else this process's environment (as `docker build --build-arg NAME`
/// does), else the commit for `NAME={revision}` (outside a repository there is none); an
/// argument with no value stays unset.
fn build_args(
    plan: &Plan,
    opts: &ImageOptions,
    revision: &str,
    context_dir: &Path,
) -> Result<Vec<(String, String)>> {
    if let Some(name) = opts
        .build_args
        .keys()
        .find(|name| !plan.build_args.iter().any(|a| &a.name == *name))
    {
        bail!(
            "--build-arg {name}: the workspace declares no build argument `{name}`; add it to \
             `build-args` in [workspace.metadata.image] (declared: {})",
            if plan.build_args.is_empty() {
                "none".to_string()
            } else {
                plan.build_args
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
    }
    let travelling_cache = !opts.cache_to.is_empty() || !opts.cache_from.is_empty();
    let declared = plan.build_args.iter().filter_map(|a| {
        let value = opts
            .build_args
            .get(&a.name)
            .cloned()
            .or_else(|| std::env::var(&a.name).ok())
            .or_else(|| (a.revision && revision != "unknown").then(|| revision.to_string()))?;
        Some((a.name.clone(), value))
    });
    Ok(vec![
        ("REVISION".to_string(), revision.to_string()),
        (
            BUILD_MODE_ARG.to_string(),
            opts.build_mode.arg(travelling_cache).to_string(),
        ),
        (
            CACHE_KEY_ARG.to_string(),
            cache_key(context_dir, opts.no_cache),
        ),
    ]
    .into_iter()
    .chain(declared)
    .collect())
}

/// Names this checkout's incremental caches: the POSIX `cksum` of the build context's
/// absolute path (two checkouts never share a target dir, whose freshness cargo judges by
/// mtimes), as `build.sh` computes it. With `--no-cache` the key is new, so the caches
/// start empty too.
fn cache_key(context_dir: &Path, no_cache: bool) -> String {
    let path = context_dir
        .canonicalize()
        .unwrap_or_else(|_| context_dir.to_path_buf());
    let key = crate::model::cksum(path.as_os_str().as_encoded_bytes()).to_string();
    if no_cache {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        format!("{key}-{nanos}")
    } else {
        key
    }
}

/// The platforms the generated Dockerfile can cross-compile for, with their Rust triples.
pub const PLATFORMS: [(&str, &str); 2] = [
    ("linux/amd64", "x86_64-unknown-linux-gnu"),
    ("linux/arm64", "aarch64-unknown-linux-gnu"),
];

/// Checks `--platform` values; `linux/arm64/v8` is `linux/arm64`.
pub fn validate_platforms(platforms: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for p in platforms.iter().flat_map(|p| p.split(',')).map(str::trim) {
        let p = if p == "linux/arm64/v8" {
            "linux/arm64"
        } else {
            p
        };
        if !PLATFORMS.iter().any(|(name, _)| *name == p) {
            let known: Vec<&str> = PLATFORMS.iter().map(|(n, _)| *n).collect();
            bail!(
                "unknown platform `{p}`: the generated Dockerfile cross-compiles for {} (a Rust \
                 target triple and a cross linker are needed for each)",
                known.join(", ")
            );
        }
        if !out.iter().any(|o: &String| o == p) {
            out.push(p.to_string());
        }
    }
    Ok(out)
}

/// `x86_64` → `linux/amd64`: the platform of this machine (and of a local engine).
fn native_platform() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "linux/arm64"
    } else {
        "linux/amd64"
    }
}

/// One image built.
#[derive(Clone, Debug)]
pub struct BuiltImage {
    pub stage: String,
    pub tags: Vec<String>,
    pub size: u64,
    pub layers: usize,
    pub seconds: f64,
    /// The shared libraries the build copied in beside the runtime's own (sonames).
    pub libraries: Vec<String>,
}

/// What `image` built.
#[derive(Clone, Debug, Default)]
pub struct ImageReport {
    pub images: Vec<BuiltImage>,
    /// Size of builder + sources + target dir: what a single-stage image would weigh.
    pub single_stage_bytes: Option<u64>,
    /// Every step reported, in order (`CACHED`/`DONE` lines).
    pub steps: Vec<crate::drive::progress::StepReport>,
}

/// Runs `cargo xtask image`.
pub fn image(opts: &ImageOptions) -> Result<ImageReport> {
    if opts.builder == BuilderChoice::Legacy {
        engine::legacy_unsupported()?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        tokio::select! {
            r = run(opts) => r,
            _ = tokio::signal::ctrl_c() => {
                bail!("cancelled (Ctrl-C); the engine stops the build when its client goes away")
            }
        }
    })
}

async fn run(opts: &ImageOptions) -> Result<ImageReport> {
    let mut plan_opts = opts.plan.clone();
    let platforms = validate_platforms(&opts.platforms)?;
    let at = engine::engine_host()?;
    let asked_buildx = opts.builder == BuilderChoice::Buildx
        || !platforms.is_empty()
        || opts.push
        || !opts.cache_to.is_empty()
        || !opts.cache_from.is_empty()
        || opts.builder_name.is_some();
    // An engine on another machine cannot fetch a context served here, and one uploaded
    // as the request body is unreadable with the containerd store: buildx sends it over
    // the engine's own connection.
    let remote = !engine::maybe_local(&at.host);
    if remote && !asked_buildx {
        eprintln!(
            "cargo-image: the engine at {} ({}) is on another machine; the build context \
             goes to it through `docker buildx`",
            at.host, at.from
        );
    }
    let use_buildx = asked_buildx || remote;
    if opts.push && opts.target != ImageTarget::Runtime {
        bail!("--push pushes runtime images; the dev and test targets are built locally");
    }
    // Without extra CAs the planner mounts none, so the Dockerfile is exactly the one
    // `cargo xtask dockerfile` writes and `image`, `docker build` and compose share their
    // layer cache. With them, the Engine API (whose BuildKit session offers no secrets) gets
    // the bundle as a context file.
    plan_opts.extra_ca = !opts.ca_certs.is_empty();
    plan_opts.ca_source = if use_buildx {
        CaSource::Secret
    } else {
        CaSource::ContextFile
    };
    let (loaded, mut plan) = crate::tasks::read_and_plan(&opts.manifest_path, &plan_opts)?;
    // SSH git dependencies and registry tokens: the Engine API's BuildKit session forwards
    // no agent and no secret; buildx does both.
    let private = plan.ssh.is_some() || !plan.registry_tokens.is_empty();
    let use_buildx = if private && !use_buildx {
        eprintln!(
            "cargo-image: private sources (SSH git dependencies or registry tokens); the build \
             goes through `docker buildx`, which forwards your SSH agent and build secrets"
        );
        plan_opts.ca_source = CaSource::Secret;
        plan = crate::plan::plan(&loaded.workspace, &plan_opts)?;
        true
    } else {
        use_buildx
    };

    let docker = engine::connect(&at).await?;
    engine::refuse_without_buildkit(&docker, &at).await?;
    if !use_buildx && !engine::buildkit_available(&docker).await? {
        engine::legacy_unsupported()?;
    }
    let cross = platforms.iter().any(|p| p != native_platform());
    if crate::stand_in::resolve_base_images(&docker, &plan, opts, cross, &mut plan_opts).await? {
        plan = crate::plan::plan(&loaded.workspace, &plan_opts)?;
    }

    // The notes of the plan built, before the build: vaultwarden's "the build will fail"
    // was said by `plan` only, and its build failed six minutes later.
    crate::tasks::print_notes(&plan);
    let ca = ca_bundle(&loaded, &plan, &opts.ca_certs)?;
    let dockerfile = render::dockerfile::render(&plan);
    let revision = git_revision(&loaded.workspace_dir);
    let labels: HashMap<String, String> = opts.labels.clone().into_iter().collect();
    let build_args: HashMap<String, String> =
        build_args(&plan, opts, &revision, &loaded.context_dir)?
            .into_iter()
            .collect();

    // What to build: (stage, tags).
    let targets: Vec<(String, Vec<String>)> = match &opts.target {
        ImageTarget::Runtime => plan
            .images
            .iter()
            .map(|i| {
                let tags = if opts.tags.is_empty() {
                    Ok(i.tags.clone())
                } else {
                    opts.tags
                        .iter()
                        .map(|t| fill_tag(t, &i.bin, &i.version))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|m| anyhow::anyhow!("--tag: {m}"))
                };
                tags.map(|t| (i.stage.clone(), t))
            })
            .collect::<Result<_>>()?,
        ImageTarget::Dev => {
            let version = plan
                .images
                .iter()
                .find(|i| i.bin == plan.dev.bin)
                .map(|i| i.version.clone())
                .unwrap_or_default();
            let tags = if opts.tags.is_empty() {
                vec![format!("{}:dev", plan.dev.bin)]
            } else {
                opts.tags
                    .iter()
                    .map(|t| fill_tag(t, &plan.dev.bin, &version))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|m| anyhow::anyhow!("--tag: {m}"))?
            };
            vec![("dev".to_string(), tags)]
        }
        ImageTarget::Test => vec![("test".to_string(), Vec::new())],
        ImageTarget::Stage(stage) => {
            let declared = plan
                .appended
                .as_ref()
                .map(|a| a.stages.clone())
                .unwrap_or_default();
            if !declared.contains(stage) {
                bail!(
                    "--target `{stage}`: no such stage; choose runtime, dev, test{}",
                    declared
                        .iter()
                        .map(|s| format!(", {s}"))
                        .collect::<String>()
                );
            }
            let tags = if opts.tags.is_empty() {
                vec![format!("{stage}:latest")]
            } else {
                opts.tags
                    .iter()
                    .map(|t| fill_tag(t, stage, "latest"))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|m| anyhow::anyhow!("--tag: {m}"))?
            };
            vec![(stage.clone(), tags)]
        }
    };

    // The images the build starts from, checked above: one removed before the engine
    // resolved it fails the build with a registry error, which is about the wrong thing.
    let bases = crate::stand_in::needed_bases(&plan, opts);
    if use_buildx {
        let built = through_buildx(
            &docker,
            &loaded,
            &plan,
            opts,
            &platforms,
            ca.as_deref(),
            &revision,
            &targets,
        )
        .await;
        return explain_gone_bases(&docker, &bases, &plan.builder, built).await;
    }

    let dockerfile_path = format!("{}/Dockerfile", crate::plan::DRIVER_DIR);
    let rules = crate::ignore::IgnoreRules::parse(&render::dockerignore::render(&plan));
    let mut extra = vec![(dockerfile_path.clone(), dockerfile.into_bytes())];
    if let Some(ca) = &ca {
        extra.push((CA_CONTEXT_PATH.to_string(), ca.clone()));
    }
    // The generated programs and skeleton as rendered now, in place of what the workspace's
    // `.cargo-image/` holds (which may be stale, or absent).
    let tools_dir = render::tools::context_dir(&plan);
    for f in render::tools::files(&plan) {
        extra.push((format!("{tools_dir}/{}", f.name), f.contents.into_bytes()));
    }
    let replaced = [crate::plan::DRIVER_DIR.to_string(), tools_dir];
    let tar = context::tar_context(&loaded.context_dir, &rules, &replaced, &extra)
        .context("packing the build context")?;
    // The engine fetches the context from us: works with every image store.
    let served = engine::serve_context(std::sync::Arc::new(tar)).await?;
    let result = build_targets(
        &docker,
        &plan,
        &served,
        &dockerfile_path,
        opts,
        &targets,
        build_args,
        labels,
        &loaded.workspace.workspace_table(),
        ImageReport::default(),
    )
    .await;
    let built = match result {
        // A socket on this machine can lead to an engine in a VM or its own network
        // namespace (Docker Desktop, colima, OrbStack, rootless Docker), which cannot
        // reach our 127.0.0.1: it fails at once, before any step ran. buildx sends the
        // context over the socket instead, and the plan takes the CA as a secret there.
        Err(e) if !served.reached() && format!("{e:#}").contains(&served.url) => {
            drop(served);
            eprintln!(
                "cargo-image: the engine at {} ({}) cannot reach this machine's 127.0.0.1 \
                 (it runs in a VM or its own network namespace); building through \
                 `docker buildx`, which sends the context over the engine's socket",
                at.host, at.from
            );
            plan_opts.ca_source = CaSource::Secret;
            let plan = crate::plan::plan(&loaded.workspace, &plan_opts)?;
            through_buildx(
                &docker,
                &loaded,
                &plan,
                opts,
                &platforms,
                ca.as_deref(),
                &revision,
                &targets,
            )
            .await
        }
        r => r,
    };
    explain_gone_bases(&docker, &bases, &plan.builder, built).await
}

/// A failed build whose base image was in the engine when [`crate::stand_in::resolve_base_images`] looked and
/// is gone now (`docker rmi`, `docker image prune` meanwhile): BuildKit then looked for it in
/// a registry and reports that lookup (or names a base that is still there, cancelled with
/// it). Says which image went missing and how to get it back, the build's error beneath.
async fn explain_gone_bases(
    docker: &Docker,
    bases: &[(String, Option<String>)],
    builder: &str,
    built: Result<ImageReport>,
) -> Result<ImageReport> {
    let Err(e) = built else { return built };
    let mut gone = Vec::new();
    for (image, keyword) in bases {
        // Only the engine's own "no such image" counts: an engine that went away (the
        // connection lost mid-build) answers nothing, and its error is the one to show.
        let missing = matches!(
            docker.inspect_image(image).await,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                ..
            })
        );
        if missing {
            let choose = match keyword {
                Some(k) => format!("--base-image {k}=IMAGE"),
                None if image == builder => "--builder-image IMAGE".to_string(),
                None => "another `runtime` in the image configuration".to_string(),
            };
            gone.push(format!(
                "base image {image} was in the engine when the build started and is gone now \
                 (removed meanwhile?); make it available again (`docker tag`, `docker load`, \
                 `docker pull`) or choose another with {choose}"
            ));
        }
    }
    if gone.is_empty() {
        return Err(e);
    }
    Err(e.context(gone.join("; ")))
}

/// Builds `targets` with `docker buildx build`, then reports each image as the engine has it.
#[allow(clippy::too_many_arguments)]
async fn through_buildx(
    docker: &Docker,
    loaded: &Loaded,
    plan: &Plan,
    opts: &ImageOptions,
    platforms: &[String],
    ca: Option<&[u8]>,
    revision: &str,
    targets: &[(String, Vec<String>)],
) -> Result<ImageReport> {
    let mut report = ImageReport::default();
    let started = Instant::now();
    let dockerfile = render::dockerfile::render(plan);
    build_with_buildx(
        loaded,
        plan,
        opts,
        platforms,
        &dockerfile,
        ca,
        revision,
        targets,
    )?;
    let seconds = started.elapsed().as_secs_f64() / targets.len().max(1) as f64;
    for (stage, tags) in targets {
        if let Some(first) = tags.first() {
            // Pushed images are in the registry, not in the engine.
            let (size, layers, libraries) = if opts.push {
                (0, 0, Vec::new())
            } else {
                let (size, layers) = engine::inspect(docker, first).await?;
                (
                    size,
                    layers,
                    added_libraries(docker, plan, stage, first).await,
                )
            };
            report.images.push(BuiltImage {
                stage: stage.clone(),
                tags: tags.clone(),
                size,
                layers,
                seconds,
                libraries,
            });
        }
    }
    Ok(report)
}

/// The shared libraries the runtime stage `stage` copied into `image` (the list `libs.sh`
/// leaves in it), for the report; a read that fails is said and leaves the list empty.
async fn added_libraries(docker: &Docker, plan: &Plan, stage: &str, image: &str) -> Vec<String> {
    let copies = plan
        .images
        .iter()
        .any(|i| i.stage == stage && i.extras.shared_libs);
    if !copies {
        return Vec::new();
    }
    match engine::image_file(docker, image, render::tools::SHARED_LIBRARIES_LIST).await {
        Ok(Some(list)) => String::from_utf8_lossy(&list)
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        Ok(None) => Vec::new(),
        Err(e) => {
            eprintln!("note: could not list the shared libraries added to {image}: {e:#}");
            Vec::new()
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn build_targets(
    docker: &Docker,
    plan: &Plan,
    context: &engine::ServedContext,
    dockerfile_path: &str,
    opts: &ImageOptions,
    targets: &[(String, Vec<String>)],
    build_args: HashMap<String, String>,
    labels: HashMap<String, String>,
    config_table: &str,
    mut report: ImageReport,
) -> Result<ImageReport> {
    for (stage, tags) in targets {
        let what = match tags.first() {
            Some(t) => format!("image {t}"),
            None => format!("target {stage}"),
        };
        let outcome = engine::build(
            docker,
            context,
            &engine::BuildRequest {
                dockerfile: dockerfile_path,
                target: stage,
                tag: tags.first().map(String::as_str),
                build_args: build_args.clone(),
                labels: labels.clone(),
                no_cache: opts.no_cache,
                title: format!("building {what}"),
                config_table: config_table.to_string(),
            },
        )
        .await
        .with_context(|| format!("building {what}"))?;
        report.steps.extend(outcome.steps);
        if let Some(first) = tags.first() {
            for t in &tags[1..] {
                engine::tag(docker, first, t).await?;
            }
            let (size, layers) = engine::inspect(docker, first).await?;
            report.images.push(BuiltImage {
                stage: stage.clone(),
                tags: tags.clone(),
                size,
                layers,
                seconds: outcome.seconds,
                libraries: added_libraries(docker, plan, stage, first).await,
            });
        }
    }

    if opts.measure_single_stage && opts.target == ImageTarget::Runtime {
        let target = single_stage_target(build_args.get(BUILD_MODE_ARG).map(String::as_str));
        let tmp = format!("cargo-image-single-stage-estimate:{}", std::process::id());
        let mut estimate_labels = labels.clone();
        estimate_labels.insert("org.cargo-image.estimate".into(), "true".into());
        engine::build(
            docker,
            context,
            &engine::BuildRequest {
                dockerfile: dockerfile_path,
                target: &target,
                tag: Some(&tmp),
                build_args,
                labels: estimate_labels,
                no_cache: false,
                title: "measuring the single-stage size (the build stage as an image)".into(),
                config_table: config_table.to_string(),
            },
        )
        .await
        .context("measuring the single-stage size")?;
        let (size, _) = engine::inspect(docker, &tmp).await?;
        engine::remove(docker, &tmp).await?;
        report.single_stage_bytes = Some(size);
    }
    Ok(report)
}

/// The stage measured for the single-stage estimate: the one holding the builder, the
/// sources and `target/` together. In the `layers` mode that is a leaf's stage (the
/// dependencies, the chain of crate layers and its crates, compiled): `build` is there only
/// the binaries on `scratch`, and measured 2.2 MB against a 7.8 MB image (ripgrep, "0×
/// smaller"). In the `incremental` mode `target/` lives on a cache mount, in no stage, so
/// `build` (the builder and the binaries) is what there is to measure.
fn single_stage_target(build_mode: Option<&str>) -> String {
    match build_mode {
        Some("layers") => crate::render::dockerfile::leaf_stage(0),
        _ => "build".to_string(),
    }
}

/// Concatenates the extra CA files (config and `--ca-cert`) into one PEM bundle.
fn ca_bundle(loaded: &Loaded, plan: &Plan, extra: &[PathBuf]) -> Result<Option<Vec<u8>>> {
    let mut files: Vec<PathBuf> = plan
        .ca_certificates
        .iter()
        .map(|c| loaded.workspace_dir.join(c))
        .collect();
    files.extend(extra.iter().cloned());
    if files.is_empty() {
        return Ok(None);
    }
    let mut bundle = Vec::new();
    for f in files {
        let pem = std::fs::read(&f)
            .with_context(|| format!("reading CA certificate file {}", f.display()))?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            bail!(
                "{} is not a PEM certificate file (no BEGIN CERTIFICATE line)",
                f.display()
            );
        }
        bundle.extend_from_slice(&pem);
        bundle.push(b'\n');
    }
    Ok(Some(bundle))
}

/// `SOURCE_DATE_EPOCH` from the environment, else the last commit's time (reproducible
/// builds: the same commit gives the same timestamps, so the same digest).
fn source_date_epoch(dir: &Path) -> Option<String> {
    if let Ok(v) = std::env::var("SOURCE_DATE_EPOCH") {
        return Some(v);
    }
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["log", "-1", "--format=%ct"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn git_revision(dir: &Path) -> String {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The `--ssh` specs of a build: none without SSH git dependencies; `--ssh` as given;
/// else the caller's agent (`default`, which needs `SSH_AUTH_SOCK`).
fn ssh_specs(plan: &Plan, opts: &ImageOptions, agent: bool) -> Result<Vec<String>> {
    let Some(ssh) = &plan.ssh else {
        return Ok(Vec::new());
    };
    if !opts.ssh.is_empty() {
        return Ok(opts.ssh.clone());
    }
    if !agent {
        bail!(
            "the workspace fetches git dependencies over SSH ({}), and no SSH agent runs \
             (SSH_AUTH_SOCK is unset): start one with your key (`eval $(ssh-agent) && \
             ssh-add`), or pass `--ssh default=PATH_TO_KEY`",
            if ssh.sources.is_empty() {
                "`ssh = true`".to_string()
            } else {
                ssh.sources.join(", ")
            }
        );
    }
    Ok(vec!["default".to_string()])
}

/// The `--secret` specs of the private registries' tokens, each from the variable cargo
/// itself reads (`set` says which are set); every one must be.
fn token_secrets(plan: &Plan, set: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    let missing: Vec<&str> = plan
        .registry_tokens
        .iter()
        .filter(|t| !set(&t.env))
        .map(|t| t.env.as_str())
        .collect();
    if !missing.is_empty() {
        bail!(
            "`registry-tokens`: {} unset; export the registry token{} (cargo reads the same \
             variable{}): the build gets {} as a build secret, never in a layer",
            missing.join(", "),
            if missing.len() > 1 { "s" } else { "" },
            if missing.len() > 1 { "s" } else { "" },
            if missing.len() > 1 { "them" } else { "it" },
        );
    }
    Ok(plan
        .registry_tokens
        .iter()
        .map(|t| format!("id={},env={}", t.secret, t.env))
        .collect())
}

#[allow(clippy::too_many_arguments)]
fn build_with_buildx(
    loaded: &Loaded,
    plan: &Plan,
    opts: &ImageOptions,
    platforms: &[String],
    dockerfile: &str,
    ca: Option<&[u8]>,
    revision: &str,
    targets: &[(String, Vec<String>)],
) -> Result<()> {
    let sh = xshell::Shell::new()?;
    let docker = buildx::docker_with_buildx(&sh)?;
    let dir = sh.create_temp_dir()?;
    std::fs::write(dir.path().join("Dockerfile"), dockerfile)?;
    std::fs::write(
        dir.path().join("Dockerfile.dockerignore"),
        render::dockerignore::render(plan),
    )?;
    // The generated programs and skeleton as rendered now, whatever the workspace holds.
    crate::artifacts::write_all(&crate::artifacts::tool_artifacts(plan, dir.path()))?;
    let build_contexts = vec![(
        render::tools::STAGE.to_string(),
        dir.path().join(render::tools::DIR),
    )];
    let secret = match ca {
        Some(bytes) => {
            let p = dir.path().join("ca.pem");
            std::fs::write(&p, bytes)?;
            Some(p)
        }
        None => None,
    };
    let labels: Vec<(String, String)> = opts.labels.clone().into_iter().collect();
    let args = build_args(plan, opts, revision, &loaded.context_dir)?;
    let ssh = ssh_specs(plan, opts, std::env::var_os("SSH_AUTH_SOCK").is_some())?;
    let secrets = token_secrets(plan, |var| std::env::var_os(var).is_some())?;
    let epoch = source_date_epoch(&loaded.workspace_dir);
    for (stage, tags) in targets {
        let mut annotations: Vec<(String, String)> = plan
            .images
            .iter()
            .find(|i| &i.stage == stage)
            .map(|i| i.labels.clone().into_iter().collect())
            .unwrap_or_default();
        annotations.push((
            "org.opencontainers.image.revision".into(),
            revision.to_string(),
        ));
        // Cache refs may name the image (`ref=registry/{bin}:buildcache`): one cache per
        // image, filled in like the tags.
        let (bin, version) = plan
            .images
            .iter()
            .find(|i| &i.stage == stage)
            .map(|i| (i.bin.as_str(), i.version.as_str()))
            .unwrap_or((plan.dev.bin.as_str(), ""));
        let fill = |specs: &[String]| -> Result<Vec<String>> {
            specs
                .iter()
                .map(|s| fill_template(s, bin, version))
                .collect::<Result<_, _>>()
                .map_err(|m| anyhow::anyhow!("--cache-to/--cache-from: {m}"))
        };
        let (cache_to, cache_from) = (fill(&opts.cache_to)?, fill(&opts.cache_from)?);
        buildx::build(
            &sh,
            &docker,
            &buildx::BuildxRequest {
                dockerfile_dir: dir.path(),
                context: &loaded.context_dir,
                build_contexts: &build_contexts,
                target: stage,
                tags,
                build_args: &args,
                labels: &labels,
                secret_file: secret.as_deref(),
                ssh: &ssh,
                secrets: &secrets,
                no_cache: opts.no_cache,
                platforms,
                push: opts.push,
                cache_to: &cache_to,
                cache_from: &cache_from,
                builder_name: opts.builder_name.as_deref(),
                annotations: &annotations,
                source_date_epoch: epoch.as_deref(),
            },
        )?;
    }
    Ok(())
}

/// The summary table printed after a build. The size is the compressed content
/// (`docker image inspect`'s, what a pull transfers), headed so: `docker images` on the
/// containerd store adds the unpacked copy (mini-redis's 6.8 MB read as 26.8 MB there).
pub fn summary(report: &ImageReport) -> String {
    let mut out = format!(
        "{:<40} {:>10} {:>7} {:>8}\n",
        "image", "compressed", "layers", "build"
    );
    for i in &report.images {
        for (n, t) in i.tags.iter().enumerate() {
            if n == 0 {
                out.push_str(&format!(
                    "{:<40} {:>10} {:>7} {:>7.1}s\n",
                    t,
                    if i.size == 0 {
                        "pushed".to_string()
                    } else {
                        human(i.size, 1)
                    },
                    i.layers,
                    i.seconds
                ));
            } else {
                out.push_str(&format!("{:<40} {:>10}\n", t, "(same)"));
            }
        }
        if !i.libraries.is_empty() {
            out.push_str(&format!(
                "  + shared libraries from the builder: {}\n",
                i.libraries.join(", ")
            ));
        }
    }
    if let Some(single) = report.single_stage_bytes {
        let largest = report.images.iter().map(|i| i.size).max().unwrap_or(0);
        out.push_str(&format!(
            "single-stage image (builder + sources + target/) would be {} — largest image here {} ({:.0}× smaller)\n",
            human(single, 1),
            human(largest, 1),
            single as f64 / largest.max(1) as f64
        ));
    }
    out
}

/// A byte count for people (decimal units), megabytes with `mb_digits` decimals.
pub fn human(bytes: u64, mb_digits: usize) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.mb_digits$} MB", b / 1e6)
    } else {
        format!("{:.0} kB", b / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_lists_the_libraries_an_image_got() {
        let image = |tag: &str, libraries: &[&str]| BuiltImage {
            stage: tag.into(),
            tags: vec![tag.into()],
            size: 12_300_000,
            layers: 5,
            seconds: 2.0,
            libraries: libraries.iter().map(|l| l.to_string()).collect(),
        };
        let report = ImageReport {
            images: vec![
                image("tls:1", &["libssl.so.3", "libcrypto.so.3"]),
                image("plain:1", &[]),
            ],
            ..Default::default()
        };
        let text = summary(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("tls:1"), "{text}");
        assert_eq!(
            lines[2],
            "  + shared libraries from the builder: libssl.so.3, libcrypto.so.3"
        );
        assert!(lines[3].starts_with("plain:1"), "{text}");
        assert_eq!(lines.len(), 4, "{text}");
    }

    #[test]
    fn build_sh_computes_the_same_cache_key() {
        let dir = std::env::temp_dir();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "context=\"$1\"; {}",
                crate::render::build_sh::CACHE_KEY_SH
            ))
            .arg("sh")
            .arg(&dir)
            .output()
            .expect("running sh");
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            cache_key(&dir, false)
        );
    }

    /// In the `layers` mode `build` holds only the binaries: the estimate measures the
    /// first leaf's stage, which every plan with an image has (the leaves install every
    /// shipped binary), and which the rendered Dockerfile declares under that name.
    #[test]
    fn the_single_stage_estimate_measures_a_stage_holding_target() {
        assert_eq!(single_stage_target(Some("layers")), "build-layers-bin-1");
        assert_eq!(single_stage_target(Some("incremental")), "build");
        assert_eq!(single_stage_target(None), "build");
        let example = include_str!("../../example-workspace/Dockerfile");
        assert!(
            example.contains(&format!(" AS {}\n", single_stage_target(Some("layers")))),
            "the example's Dockerfile declares no stage build-layers-bin-1"
        );
    }

    #[test]
    fn cache_key_is_per_checkout_and_fresh_without_cache() {
        let a = Path::new("/nonexistent/checkout-a");
        let b = Path::new("/nonexistent/checkout-b");
        assert_eq!(cache_key(a, false), cache_key(a, false));
        assert_ne!(cache_key(a, false), cache_key(b, false));
        let fresh = cache_key(a, true);
        assert!(fresh.starts_with(&format!("{}-", cache_key(a, false))));
        assert_ne!(fresh, cache_key(a, false));
    }
}
