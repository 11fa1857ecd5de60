//! The `docker buildx build` driver: the Dockerfile goes to a temporary directory (with
//! its `Dockerfile.dockerignore`), and buildx builds with the workspace as context.
//! Used for `--builder buildx` (and, later, multi-platform builds and pushes).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use xshell::{cmd, Shell};

/// Finds `docker` and checks that its buildx plugin answers.
pub fn docker_with_buildx(sh: &Shell) -> Result<PathBuf> {
    let docker = which::which("docker").context(
        "`docker` is not on PATH; install the Docker CLI (https://docs.docker.com/engine/install/)",
    )?;
    cmd!(sh, "{docker} buildx version")
        .quiet()
        .ignore_stdout()
        .run()
        .context(
            "`docker buildx` is not available; install the buildx plugin \
             (Debian/Ubuntu: `apt-get install docker-buildx`), or build with `--builder buildkit`",
        )?;
    Ok(docker)
}

/// One `docker buildx build ... --load`.
pub struct BuildxRequest<'a> {
    pub dockerfile_dir: &'a Path,
    pub context: &'a Path,
    pub target: &'a str,
    pub tags: &'a [String],
    pub build_args: &'a [(String, String)],
    pub labels: &'a [(String, String)],
    pub secret_file: Option<&'a Path>,
    pub no_cache: bool,
    /// `linux/amd64,linux/arm64`; empty: the engine's own platform.
    pub platforms: &'a [String],
    /// Push to the registries named by the tags instead of loading into the engine.
    pub push: bool,
    pub cache_to: &'a [String],
    pub cache_from: &'a [String],
    /// A buildx builder instance (`docker buildx create --name`); default: the current one.
    pub builder_name: Option<&'a str>,
}

pub fn build(sh: &Shell, docker: &Path, req: &BuildxRequest<'_>) -> Result<()> {
    let mut args: Vec<String> = vec![
        "buildx".into(),
        "build".into(),
        "--file".into(),
        req.dockerfile_dir.join("Dockerfile").display().to_string(),
        "--target".into(),
        req.target.into(),
        if req.push { "--push" } else { "--load" }.into(),
        "--progress".into(),
        "plain".into(),
        // One plain image (or index) per build, as `docker build` makes: no attestation
        // manifests beside the platforms.
        "--provenance=false".into(),
    ];
    if !req.platforms.is_empty() {
        args.extend(["--platform".into(), req.platforms.join(",")]);
    }
    if let Some(name) = req.builder_name {
        args.extend(["--builder".into(), name.into()]);
    }
    for c in req.cache_to {
        args.extend(["--cache-to".into(), c.clone()]);
    }
    for c in req.cache_from {
        args.extend(["--cache-from".into(), c.clone()]);
    }
    for t in req.tags {
        args.extend(["--tag".into(), t.clone()]);
    }
    for (k, v) in req.build_args {
        args.extend(["--build-arg".into(), format!("{k}={v}")]);
    }
    for (k, v) in req.labels {
        args.extend(["--label".into(), format!("{k}={v}")]);
    }
    if let Some(f) = req.secret_file {
        args.extend([
            "--secret".into(),
            format!("id=cargo-image-ca,src={}", f.display()),
        ]);
    }
    if req.no_cache {
        args.push("--no-cache".into());
    }
    args.push(req.context.display().to_string());
    let what = if req.push { "pushing" } else { "building" };
    cmd!(sh, "{docker} {args...}").run().with_context(|| {
        format!(
            "{what} {} (docker buildx build --target {}) failed; its output is above",
            req.tags.first().map(String::as_str).unwrap_or(req.target),
            req.target
        )
    })
}
