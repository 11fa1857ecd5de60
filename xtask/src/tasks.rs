//! The commands, as library functions: another repository's xtask can call these with
//! plain option structs and get exactly what `cargo xtask ...` does here.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::artifacts;
use crate::plan::{plan, Plan, PlanOptions};
use crate::read::{read, Loaded};

/// Reads and plans a workspace.
pub fn load(manifest_path: &std::path::Path, opts: &PlanOptions) -> Result<(Loaded, Plan)> {
    let loaded = read(manifest_path)?;
    let plan = plan(&loaded.workspace, opts)?;
    Ok((loaded, plan))
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
        artifacts::check_all(&files)?;
        Ok(DockerfileOutcome::Checked(paths))
    } else {
        artifacts::write_all(&files).context("writing the generated files")?;
        Ok(DockerfileOutcome::Written(paths))
    }
}
