//! The commands, as library functions: another repository's xtask can call these with
//! plain option structs and get exactly what `cargo xtask ...` does here.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::artifacts;
use crate::plan::{plan, Plan, PlanOptions};
use crate::read::{read, Loaded};

/// Reads and plans a workspace.
pub fn load(manifest_path: &std::path::Path, opts: &PlanOptions) -> Result<(Loaded, Plan)> {
    let (loaded, plan) = read_and_plan(manifest_path, opts)?;
    print_notes(&plan);
    Ok((loaded, plan))
}

/// The plan's notes on stderr, each as `note: …`: what every command says before it
/// writes or builds (a build the notes say will fail should not cost minutes first).
pub fn print_notes(plan: &Plan) {
    for note in plan
        .notes
        .iter()
        .chain(plan.images.iter().flat_map(|i| &i.notes))
    {
        eprintln!("note: {note}");
    }
}

/// Reads and plans; when the build enables features, reads once more with the graph
/// resolved for them (an optional dependency they enable may need system packages, and
/// `cargo metadata` alone resolves default features) and plans again.
pub fn read_and_plan(
    manifest_path: &std::path::Path,
    opts: &PlanOptions,
) -> Result<(Loaded, Plan)> {
    let loaded = read(manifest_path)?;
    let planned = plan(&loaded.workspace, opts)?;
    if planned.build.features.is_empty() {
        return Ok((loaded, planned));
    }
    let loaded = crate::read::read_with_features(manifest_path, &planned.build.features)?;
    let planned = plan(&loaded.workspace, opts)?;
    Ok((loaded, planned))
}

/// `cargo xtask plan`: the plan as JSON.
pub fn plan_json(manifest_path: &std::path::Path, opts: &PlanOptions) -> Result<String> {
    let (_, plan) = load(manifest_path, opts)?;
    Ok(artifacts::plan_json(&plan))
}

/// Options of `cargo xtask dockerfile`.
#[derive(Clone, Debug, Default)]
pub struct DockerfileOptions {
    pub manifest_path: PathBuf,
    pub plan: PlanOptions,
    /// Compare instead of writing; fail with a diff when stale.
    pub check: bool,
    /// Print the Dockerfile instead of writing anything.
    pub stdout: bool,
    /// Write a build-context supplement (Dockerfile, skeleton, build.sh, plan) here instead.
    pub out: Option<PathBuf>,
    /// Replace files of the user's too, each kept as `<file>.orig`.
    pub force: bool,
}

/// What `dockerfile` did, for the caller to report.
#[derive(Clone, Debug)]
pub enum DockerfileOutcome {
    Printed(String),
    Checked(Vec<PathBuf>),
    Written(Vec<PathBuf>),
}

/// `cargo xtask dockerfile`.
pub fn dockerfile(opts: &DockerfileOptions) -> Result<DockerfileOutcome> {
    let (loaded, plan) = load(&opts.manifest_path, &opts.plan)?;
    if opts.stdout {
        return Ok(DockerfileOutcome::Printed(
            crate::render::dockerfile::render(&plan),
        ));
    }
    let files = match &opts.out {
        Some(out) => artifacts::out_dir_artifacts(&loaded, &plan, out)?,
        None => artifacts::workspace_artifacts(&loaded, &plan),
    };
    let paths = files.iter().map(|f| f.path.clone()).collect();
    if opts.check {
        artifacts::check_all(&files, "cargo xtask dockerfile")?;
        Ok(DockerfileOutcome::Checked(paths))
    } else {
        artifacts::refuse_foreign(&files, opts.force)?;
        artifacts::write_all(&files).context("writing the generated files")?;
        Ok(DockerfileOutcome::Written(paths))
    }
}

/// Checks, or writes, generated files.
fn check_or_write(
    files: &[artifacts::Artifact],
    check: bool,
    force: bool,
    regenerate: &str,
) -> Result<DockerfileOutcome> {
    let paths = files.iter().map(|f| f.path.clone()).collect();
    if check {
        artifacts::check_all(files, regenerate)?;
        Ok(DockerfileOutcome::Checked(paths))
    } else {
        artifacts::refuse_foreign(files, force)?;
        artifacts::write_all(files).context("writing the generated files")?;
        Ok(DockerfileOutcome::Written(paths))
    }
}

/// `--platform` values (`linux/amd64,linux/arm64`, repeatable) checked against what the
/// generated Dockerfile cross-compiles for; none given: [`render::bake::DEFAULT_PLATFORMS`].
fn resolve_platforms(given: &[String]) -> Result<Vec<String>> {
    let platforms = crate::image::validate_platforms(given)?;
    Ok(if platforms.is_empty() {
        crate::render::bake::DEFAULT_PLATFORMS
            .map(String::from)
            .to_vec()
    } else {
        platforms
    })
}

/// Options of `cargo xtask bake`.
#[derive(Clone, Debug, Default)]
pub struct BakeOptions {
    pub manifest_path: PathBuf,
    /// Compare instead of writing; fail with a diff when stale.
    pub check: bool,
    /// Print the bake file instead of writing it.
    pub stdout: bool,
    /// Platforms of the runtime targets; empty: `linux/amd64`, `linux/arm64`.
    pub platforms: Vec<String>,
    /// Replace a file of the user's too, kept as `<file>.orig`.
    pub force: bool,
}

/// `docker-bake.hcl` at the workspace root, with the same build context and Dockerfile as
/// `compose.yaml`.
pub fn bake_artifact(loaded: &Loaded, plan: &Plan, platforms: &[String]) -> artifacts::Artifact {
    let context = artifacts::relative(&loaded.workspace_dir, &loaded.context_dir);
    let dockerfile = crate::model::join(&plan.workspace_root, "Dockerfile");
    artifacts::Artifact::new(
        loaded.workspace_dir.join("docker-bake.hcl"),
        crate::render::bake::render(plan, &context, &dockerfile, platforms),
    )
}

/// `cargo xtask bake`: writes (or checks, or prints) `docker-bake.hcl`. The plan is the one
/// the committed Dockerfile comes from (no `--bin` selection), so the two agree.
pub fn bake(opts: &BakeOptions) -> Result<DockerfileOutcome> {
    let platforms = resolve_platforms(&opts.platforms)?;
    let (loaded, plan) = load(&opts.manifest_path, &PlanOptions::default())?;
    let file = bake_artifact(&loaded, &plan, &platforms);
    if opts.stdout {
        return Ok(DockerfileOutcome::Printed(file.contents));
    }
    check_or_write(&[file], opts.check, opts.force, "cargo xtask bake")
}

/// Options of `cargo xtask ci`.
#[derive(Clone, Debug, Default)]
pub struct CiOptions {
    pub manifest_path: PathBuf,
    /// Write `.github/workflows/images.yml`.
    pub github: bool,
    /// Write `.gitlab-ci.yml`.
    pub gitlab: bool,
    pub check: bool,
    /// Print the one selected file instead of writing it.
    pub stdout: bool,
    /// The repository root; default: the first directory from the workspace upwards that
    /// holds `.git` (see [`repository_root`]).
    pub root: Option<PathBuf>,
    /// Where the pipelines push the images (`registry.example.com/team`); default: the CI
    /// system's own registry (ghcr.io/OWNER, `$CI_REGISTRY_IMAGE`).
    pub registry: Option<String>,
    /// Platforms the pushed images are built for; empty: `linux/amd64`, `linux/arm64`.
    pub platforms: Vec<String>,
    /// Replace files of the user's too, each kept as `<file>.orig`.
    pub force: bool,
}

/// The repository holding `dir`: `dir` or its closest ancestor with a `.git` (a directory,
/// or the file of a worktree or submodule).
pub fn repository_root(dir: &std::path::Path) -> Result<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(std::path::Path::to_path_buf)
        .with_context(|| {
            format!(
                "no git repository at or above {}; pass `--root DIR` (the directory CI checks out)",
                dir.display()
            )
        })
}

/// Checks a registry prefix: lowercase `host[:port]/path` (or a Docker Hub namespace),
/// nothing a shell or YAML would read differently.
fn check_registry(registry: &str) -> Result<()> {
    let mut parts = registry.split('/');
    let host = parts.next().unwrap_or_default();
    let (name, port) = host.split_once(':').unwrap_or((host, "0"));
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let port_ok = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    let path_ok = parts.all(|p| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    });
    if name_ok && port_ok && path_ok {
        Ok(())
    } else {
        anyhow::bail!(
            "--registry `{registry}`: expected an image prefix such as `registry.example.com/team`, \
             `localhost:5000` or a Docker Hub namespace (lowercase letters, digits, `.`, `_`, `-`)"
        )
    }
}

/// The files `cargo xtask ci` writes under `root`, for the selected CI systems.
pub fn ci_artifacts(
    loaded: &Loaded,
    plan: &Plan,
    root: &std::path::Path,
    opts: &CiOptions,
    platforms: &[String],
) -> Result<Vec<artifacts::Artifact>> {
    let root = root
        .canonicalize()
        .with_context(|| format!("--root {}", root.display()))?;
    let ws = artifacts::relative(&root, &loaded.workspace_dir);
    if ws == ".." || ws.starts_with("../") || !loaded.workspace_dir.starts_with(&root) {
        anyhow::bail!(
            "the workspace {} is not inside the repository root {}; pass the repository's \
             directory as `--root`",
            loaded.workspace_dir.display(),
            root.display()
        );
    }
    let manifest = crate::model::join(if ws == "." { "" } else { &ws }, "Cargo.toml");
    // The path goes into shell commands and YAML (and GitHub reads `${{` anywhere).
    if !manifest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-/+@".contains(&b))
    {
        anyhow::bail!(
            "the workspace manifest's path `{manifest}` (from the repository root) has characters \
             the generated pipelines would have to quote; use letters, digits and `._-/+@`"
        );
    }
    if let Some(r) = &opts.registry {
        check_registry(r)?;
    }
    let params = crate::render::ci::CiParams {
        manifest,
        registry: opts.registry.clone(),
        platforms: platforms.to_vec(),
    };
    let mut files = Vec::new();
    if opts.github {
        files.push(artifacts::Artifact::new(
            root.join(".github/workflows/images.yml"),
            crate::render::ci::github(plan, &params),
        ));
    }
    if opts.gitlab {
        files.push(artifacts::Artifact::new(
            root.join(".gitlab-ci.yml"),
            crate::render::ci::gitlab(plan, &params),
        ));
    }
    Ok(files)
}

/// Why the pipelines would fail at their first step: they run `cargo xtask …` from the
/// repository root, and the cargo configuration there has no `xtask` alias (a repository
/// using the `cargo image` subcommand, which CI does not have). `None` when it has one.
pub fn xtask_alias_missing(root: &std::path::Path) -> Option<String> {
    let has_alias = crate::model::CARGO_CONFIGS.iter().any(|f| {
        let text = std::fs::read_to_string(root.join(f)).unwrap_or_default();
        let table: toml::Table = toml::from_str(&text).unwrap_or_default();
        table.get("alias").and_then(|a| a.get("xtask")).is_some()
    });
    (!has_alias).then(|| {
        format!(
            "the pipelines run `cargo xtask …`, and {} has no `xtask` alias: in CI they stop \
             at `no such command: xtask`; `cargo image init` adds the xtask and its alias (a \
             few files, committed with the pipelines)",
            root.join(".cargo/config.toml").display()
        )
    })
}

/// `cargo xtask ci`: writes (or checks, or prints) the CI pipelines at the repository root.
pub fn ci(opts: &CiOptions) -> Result<DockerfileOutcome> {
    if !opts.github && !opts.gitlab {
        anyhow::bail!("which CI system? pass `--github`, `--gitlab` or both");
    }
    if opts.stdout && opts.github && opts.gitlab {
        anyhow::bail!("`--stdout` prints one file; pass either `--github` or `--gitlab`");
    }
    let platforms = resolve_platforms(&opts.platforms)?;
    let (loaded, plan) = load(&opts.manifest_path, &PlanOptions::default())?;
    let root = match &opts.root {
        Some(r) => r.clone(),
        None => repository_root(&loaded.workspace_dir)?,
    };
    let files = ci_artifacts(&loaded, &plan, &root, opts, &platforms)?;
    if let Some(warning) = xtask_alias_missing(&root) {
        eprintln!("warning: {warning}");
    }
    if opts.stdout {
        return Ok(DockerfileOutcome::Printed(files[0].contents.clone()));
    }
    let mut regenerate = String::from("cargo xtask ci");
    for (on, flag) in [(opts.github, " --github"), (opts.gitlab, " --gitlab")] {
        if on {
            regenerate.push_str(flag);
        }
    }
    check_or_write(&files, opts.check, opts.force, &regenerate)
}

#[cfg(test)]
mod tests {
    use super::xtask_alias_missing;

    /// The pipelines call `cargo xtask`: a repository without the alias (one using the
    /// `cargo image` subcommand) is warned, one with it (`.cargo/config` too) is not.
    #[test]
    fn a_repository_without_the_xtask_alias_is_warned() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(xtask_alias_missing(root).is_some_and(|w| w.contains("no `xtask` alias")));
        std::fs::create_dir(root.join(".cargo")).unwrap();
        std::fs::write(root.join(".cargo/config.toml"), "[alias]\nx = \"run\"\n").unwrap();
        assert!(xtask_alias_missing(root).is_some());
        std::fs::write(
            root.join(".cargo/config"),
            "[alias]\nxtask = \"run -p xtask --\"\n",
        )
        .unwrap();
        assert_eq!(xtask_alias_missing(root), None);
        std::fs::write(
            root.join(".cargo/config.toml"),
            "[alias]\nxtask = [\"run\", \"--package\", \"xtask\", \"--\"]\n",
        )
        .unwrap();
        std::fs::remove_file(root.join(".cargo/config")).unwrap();
        assert_eq!(xtask_alias_missing(root), None);
    }
}
