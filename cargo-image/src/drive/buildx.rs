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
    /// Named contexts (`--build-context NAME=DIR`): a directory that replaces the stage of
    /// that name (the generated `.cargo-image/` files, from beside the Dockerfile).
    pub build_contexts: &'a [(String, std::path::PathBuf)],
    pub target: &'a str,
    pub tags: &'a [String],
    pub build_args: &'a [(String, String)],
    pub labels: &'a [(String, String)],
    pub secret_file: Option<&'a Path>,
    /// `--ssh` specs (`default`, `default=KEYFILE`): the agent the fetching steps use.
    pub ssh: &'a [String],
    /// More `--secret` specs (`id=NAME,env=VAR`): private registries' tokens.
    pub secrets: &'a [String],
    pub no_cache: bool,
    /// `linux/amd64,linux/arm64`; empty: the engine's own platform.
    pub platforms: &'a [String],
    /// Push to the registries named by the tags instead of loading into the engine.
    pub push: bool,
    pub cache_to: &'a [String],
    pub cache_from: &'a [String],
    /// A buildx builder instance (`docker buildx create --name`); default: the current one.
    pub builder_name: Option<&'a str>,
    /// OCI annotations put on the pushed index and manifests (the image's labels).
    pub annotations: &'a [(String, String)],
    /// Seconds since the epoch: image creation time and every file time in the layers, so
    /// two builds of the same sources give the same digest.
    pub source_date_epoch: Option<&'a str>,
}

/// The `--output` of a push: the image exporter with OCI media types and the annotations
/// on both the index and each platform's manifest. buildx parses the spec as CSV, so every
/// field is quoted (a description may hold commas).
/// A single-platform push has no index, so its annotations go on the manifest only.
pub fn output_spec(annotations: &[(String, String)], index: bool) -> String {
    let quote = |f: &str| format!("\"{}\"", f.replace('"', "\"\""));
    let mut fields = vec![
        "type=image".to_string(),
        "push=true".to_string(),
        "oci-mediatypes=true".to_string(),
    ];
    for (k, v) in annotations {
        let levels: &[&str] = if index {
            &["annotation-index", "annotation-manifest"]
        } else {
            &["annotation-manifest"]
        };
        for level in levels {
            fields.push(quote(&format!("{level}.{k}={v}")));
        }
    }
    format!("--output={}", fields.join(","))
}

/// The arguments of `docker` for one request (`buildx build …`, the context last): one
/// spelling of the command line for [`build`] and for callers that run it themselves (the
/// bench, which times it and reads its output as it comes).
pub fn args(req: &BuildxRequest<'_>) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "buildx".into(),
        "build".into(),
        "--file".into(),
        req.dockerfile_dir.join("Dockerfile").display().to_string(),
        "--target".into(),
        req.target.into(),
        // A pushed image gets OCI media types (annotations need them) and its file times
        // clamped to SOURCE_DATE_EPOCH.
        if req.push {
            output_spec(req.annotations, req.platforms.len() > 1)
        } else {
            "--load".into()
        },
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
    for spec in req.ssh {
        args.extend(["--ssh".into(), spec.clone()]);
    }
    for spec in req.secrets {
        args.extend(["--secret".into(), spec.clone()]);
    }
    for (name, dir) in req.build_contexts {
        args.extend([
            "--build-context".into(),
            format!("{name}={}", dir.display()),
        ]);
    }
    if req.no_cache {
        args.push("--no-cache".into());
    }
    args.push(req.context.display().to_string());
    args
}

/// Runs `docker buildx build`, its output passed through as it comes. The engine's
/// image-store race ([`super::hints::unpack_race`]) is retried once, from the cache the
/// first attempt filled (without `--no-cache`: everything was just built).
pub fn build(sh: &Shell, docker: &Path, req: &BuildxRequest<'_>) -> Result<()> {
    let what = if req.push { "pushing" } else { "building" };
    let name = req.tags.first().map(String::as_str).unwrap_or(req.target);
    let failed = || {
        format!(
            "{what} {name} (docker buildx build --target {}) failed; its output is above",
            req.target
        )
    };
    let (status, output) = run_once(sh, docker, req).with_context(failed)?;
    if status.success() {
        return Ok(());
    }
    if !super::hints::unpack_race(&output) {
        anyhow::bail!("{}: {status}", failed());
    }
    eprintln!(
        "cargo-image: the engine lost a layer while storing {name} (a known containerd-store \
         race, not your build); building again from its cache"
    );
    let again = BuildxRequest {
        no_cache: false,
        ..*req
    };
    let (status, _) = run_once(sh, docker, &again).with_context(failed)?;
    if status.success() {
        Ok(())
    } else {
        anyhow::bail!("{}: {status}", failed())
    }
}

/// One `docker buildx build`: the command line echoed, stdout inherited, stderr passed
/// through line by line and kept for [`super::hints::unpack_race`].
fn run_once(
    sh: &Shell,
    docker: &Path,
    req: &BuildxRequest<'_>,
) -> Result<(std::process::ExitStatus, String)> {
    use std::io::{BufRead, Write};
    let args = args(req);
    let shown = crate::render::quote::words(&args);
    let mut command: std::process::Command = cmd!(sh, "{docker} {args...}").into();
    if let Some(epoch) = req.source_date_epoch {
        // buildx passes it to BuildKit as the SOURCE_DATE_EPOCH build argument.
        command.env("SOURCE_DATE_EPOCH", epoch);
    }
    eprintln!("$ {} {shown}", docker.display());
    command
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().context("running docker buildx build")?;
    let mut kept = String::new();
    if let Some(stderr) = child.stderr.take() {
        let mut out = std::io::stderr();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = writeln!(out, "{line}");
            kept.push_str(&line);
            kept.push('\n');
        }
    }
    let status = child.wait().context("waiting for docker buildx build")?;
    Ok((status, kept))
}

#[cfg(test)]
mod tests {
    #[test]
    fn output_spec_quotes_annotations_as_csv_fields() {
        let spec = super::output_spec(&[("d".into(), "a, \"b\"".into())], true);
        assert_eq!(
            spec,
            "--output=type=image,push=true,oci-mediatypes=true,\"annotation-index.d=a, \"\"b\"\"\",\"annotation-manifest.d=a, \"\"b\"\"\""
        );
        assert_eq!(
            super::output_spec(&[("k".into(), "v".into())], false),
            "--output=type=image,push=true,oci-mediatypes=true,\"annotation-manifest.k=v\""
        );
    }
}
