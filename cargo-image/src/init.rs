//! `init`: adopts cargo-image in a repository in one command. Writes `xtask/` (a manifest
//! that depends on cargo-image, a one-line `main.rs`), the `cargo xtask` alias, a commented
//! `[workspace.metadata.image]` starter, then the generated files.
//!
//! The xtask is a workspace of its own, excluded from the user's workspace: a member would
//! put cargo-image's ~150 dependencies into the workspace's `Cargo.lock`, and every Docker
//! build resolves the whole workspace, so each image build would download them (and a path
//! dependency outside the build context would not resolve at all). The alias therefore
//! names the xtask's manifest, relative to the repository root, where `cargo xtask` runs.
//!
//! Every step is idempotent and never replaces a file of the user's: an existing file is
//! edited only by inserting lines (an alias, an `exclude` entry, the starter table), and a
//! file it cannot edit safely is left alone with a note saying what to add by hand.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::artifacts;

/// The `cargo xtask` alias `init` writes; paths are relative to the repository root.
pub const ALIAS: &str = "run --quiet --manifest-path xtask/Cargo.toml --target-dir target/xtask --";
/// The alias for an xtask that is a workspace member (`init --member`).
pub const MEMBER_ALIAS: &str = "run --quiet --package xtask --";

/// How the new `xtask/` depends on cargo-image.
#[derive(Clone, Debug, PartialEq)]
pub enum Dependency {
    /// A checkout on this machine (absolute path of its `cargo-image` package or of the
    /// repository holding it).
    Path(PathBuf),
    /// A git repository.
    Git(String),
}

/// Options of `init`.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The workspace's root manifest (absolute).
    pub manifest_path: PathBuf,
    pub dependency: Dependency,
    /// Make `xtask/` a member of the workspace (the usual xtask layout; a single-package
    /// project becomes a workspace with the package at its root, building as before)
    /// instead of a workspace of its own. Docker builds then resolve the xtask's
    /// dependency too: it must be a git or registry dependency, not a path outside the
    /// build context.
    pub member: bool,
}

/// What `init` did to one file.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Wrote,
    /// Edited in place; says what was added.
    Added(String),
    /// Left as it was; says why (and what to do by hand, if anything).
    Kept(String),
}

/// Everything `init` did, file by file, for the caller to print.
#[derive(Clone, Debug, Default)]
pub struct InitOutcome {
    pub files: Vec<(PathBuf, Action)>,
}

impl fmt::Display for InitOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (path, action) in &self.files {
            match action {
                Action::Wrote => writeln!(f, "wrote {}", path.display())?,
                Action::Added(what) => writeln!(f, "added {what} to {}", path.display())?,
                Action::Kept(why) => writeln!(f, "kept {}: {why}", path.display())?,
            }
        }
        writeln!(
            f,
            "next: `cargo xtask image` (from the repository root) builds every binary's image"
        )
    }
}

/// Runs `init`.
pub fn init(opts: &InitOptions) -> Result<InitOutcome> {
    let root = opts
        .manifest_path
        .parent()
        .context("the manifest path has no parent directory")?
        .to_path_buf();
    let mut outcome = InitOutcome::default();
    let manifest_text = std::fs::read_to_string(&opts.manifest_path)
        .with_context(|| format!("reading {}", opts.manifest_path.display()))?;
    let manifest: toml::Table = toml::from_str(&manifest_text)
        .with_context(|| format!("parsing {}", opts.manifest_path.display()))?;
    let has_workspace = manifest.contains_key("workspace");

    xtask_crate(&root, &opts.dependency, opts.member, &mut outcome)?;
    let action = if opts.member {
        workspace_list(
            &opts.manifest_path,
            &manifest,
            &manifest_text,
            "members",
            "xtask",
        )?
    } else if has_workspace {
        workspace_list(
            &opts.manifest_path,
            &manifest,
            &manifest_text,
            "exclude",
            "xtask",
        )?
    } else {
        Action::Kept("a single package; the xtask is a workspace of its own".into())
    };
    outcome.files.push((opts.manifest_path.clone(), action));
    let alias_text = if opts.member { MEMBER_ALIAS } else { ALIAS };
    let action = alias(&root.join(".cargo/config.toml"), alias_text)?;
    outcome
        .files
        .push((root.join(".cargo/config.toml"), action));
    // Read again: `--member` may have made a single package a workspace.
    let manifest_text = std::fs::read_to_string(&opts.manifest_path)
        .with_context(|| format!("reading {}", opts.manifest_path.display()))?;
    let manifest: toml::Table = toml::from_str(&manifest_text)
        .with_context(|| format!("parsing {}", opts.manifest_path.display()))?;
    let has_workspace = manifest.contains_key("workspace");
    let action = starter(&opts.manifest_path, &manifest, has_workspace)?;
    outcome.files.push((opts.manifest_path.clone(), action));
    // A member glob such as `"*"` would take the generated `.cargo-image/` directory too.
    let manifest_text = std::fs::read_to_string(&opts.manifest_path)
        .with_context(|| format!("reading {}", opts.manifest_path.display()))?;
    let manifest: toml::Table = toml::from_str(&manifest_text)
        .with_context(|| format!("parsing {}", opts.manifest_path.display()))?;
    if crate::render::tools::manifest_pattern_taking_dir(&manifest).is_some() {
        let action = workspace_list(
            &opts.manifest_path,
            &manifest,
            &manifest_text,
            "exclude",
            crate::render::tools::DIR,
        )?;
        outcome.files.push((opts.manifest_path.clone(), action));
    }
    generated_files(&opts.manifest_path, &mut outcome)?;
    Ok(outcome)
}

/// `xtask/Cargo.toml` and `xtask/src/main.rs`, unless an xtask is there already.
fn xtask_crate(
    root: &Path,
    dependency: &Dependency,
    member: bool,
    outcome: &mut InitOutcome,
) -> Result<()> {
    let manifest = root.join("xtask/Cargo.toml");
    if manifest.exists() {
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        let why = if text.contains("cargo-image") {
            "it already depends on cargo-image".to_string()
        } else {
            "an xtask of your own: add the `cargo-image` dependency and mount \
             `cargo_image::cli::Command` in its clap enum (README: Use it in your repository)"
                .to_string()
        };
        outcome.files.push((manifest, Action::Kept(why)));
        return Ok(());
    }
    let dep = match dependency {
        Dependency::Path(path) => {
            // Accept the repository's root as well as the package's directory.
            let package = if path.join("cargo-image/Cargo.toml").is_file() {
                path.join("cargo-image")
            } else {
                path.clone()
            };
            format!("{{ path = {} }}", toml_string(&package.to_string_lossy()))
        }
        Dependency::Git(url) => format!("{{ git = {} }}", toml_string(url)),
    };
    let files = [
        (
            manifest,
            if member {
                include_str!("../templates/init/xtask-member-Cargo.toml")
            } else {
                include_str!("../templates/init/xtask-Cargo.toml")
            }
            .replace("{dependency}", &dep),
        ),
        (
            root.join("xtask/src/main.rs"),
            include_str!("../templates/init/xtask-main.rs").to_string(),
        ),
    ];
    for (path, text) in files {
        if path.exists() {
            outcome
                .files
                .push((path, Action::Kept("it exists already".into())));
            continue;
        }
        write_new(&path, &text)?;
        outcome.files.push((path, Action::Wrote));
    }
    Ok(())
}

/// Adds `"xtask"` to a list of the `[workspace]` table: `exclude` (the xtask is a
/// workspace of its own, and a member glob such as `"*"` must not take it in) or `members`
/// (`--member`). A single-package manifest gets a `[workspace]` table with the xtask as its
/// member; the root package stays the default member, so `cargo build` builds as before.
/// The same for `entry` `.cargo-image` in `exclude`, when a member glob would take it.
fn workspace_list(
    path: &Path,
    manifest: &toml::Table,
    text: &str,
    key: &str,
    entry: &str,
) -> Result<Action> {
    let workspace = manifest.get("workspace").and_then(|w| w.as_table());
    let list = workspace.and_then(|w| w.get(key));
    if let Some(list) = list.and_then(|e| e.as_array()) {
        if list.iter().any(|v| v.as_str() == Some(entry)) {
            return Ok(Action::Kept(format!(
                "`{entry}` is in `workspace.{key}` already"
            )));
        }
    }
    let by_hand = || {
        Action::Kept(format!(
            "add \"{entry}\" to `{key}` in its [workspace] table by hand"
        ))
    };
    let edited = match (find_header(text, "workspace"), list) {
        (None, _) if workspace.is_none() => {
            let sep = if text.ends_with('\n') { "" } else { "\n" };
            format!("{text}{sep}\n# The xtask (cargo-image) is a member; the package above stays the default one.\n[workspace]\nmembers = [\"{entry}\"]\n")
        }
        (None, _) => return Ok(by_hand()),
        (Some(end_of_header), None) => {
            let line = format!("{key} = [\"{entry}\"]\n");
            format!("{}{line}{}", &text[..end_of_header], &text[end_of_header..])
        }
        (Some(end_of_header), Some(_)) => {
            // A one-line `key = [...]` in the [workspace] table: add the entry before `]`.
            let mut offset = end_of_header;
            let mut edited = None;
            for line in text[end_of_header..].split_inclusive('\n') {
                let bare = line.split('#').next().unwrap_or("").trim_end();
                if bare.trim_start().starts_with('[') {
                    break;
                }
                if bare.split('=').next().unwrap_or("").trim() == key && bare.ends_with(']') {
                    let close = offset + bare.len() - 1;
                    let empty = text[..close].trim_end().ends_with('[');
                    let item = if empty {
                        format!("\"{entry}\"")
                    } else {
                        format!(", \"{entry}\"")
                    };
                    edited = Some(format!("{}{item}{}", &text[..close], &text[close..]));
                    break;
                }
                offset += line.len();
            }
            match edited {
                Some(edited) => edited,
                None => return Ok(by_hand()),
            }
        }
    };
    // Only an edit that parses, with the entry in place, is written.
    let listed = toml::from_str::<toml::Table>(&edited).is_ok_and(|t| {
        crate::config::workspace_strings(&t, key)
            .iter()
            .any(|v| v == entry)
    });
    if !listed {
        return Ok(by_hand());
    }
    replace_file(path, &edited)?;
    Ok(Action::Added(format!("\"{entry}\" to `workspace.{key}`")))
}

/// The `xtask` alias in `.cargo/config.toml`: created, or inserted into the file's
/// `[alias]` table (or a new one at its end); an alias of the user's is kept.
fn alias(path: &Path, alias: &str) -> Result<Action> {
    let line = format!("xtask = {}\n", toml_string(alias));
    if !path.exists() {
        write_new(path, &format!("[alias]\n{line}"))?;
        return Ok(Action::Wrote);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let aliases = config.get("alias").and_then(|a| a.as_table());
    match aliases.and_then(|a| a.get("xtask")) {
        Some(existing) if existing.as_str() == Some(alias) => {
            return Ok(Action::Kept("the `xtask` alias is there already".into()))
        }
        Some(existing) => {
            return Ok(Action::Kept(format!(
                "it has an `xtask` alias of its own ({existing}); cargo-image's is \
                 `xtask = {}`",
                toml_string(alias)
            )))
        }
        None => {}
    }
    let edited = match (find_header(&text, "alias"), aliases) {
        (Some(end), _) => format!("{}{line}{}", &text[..end], &text[end..]),
        (None, None) => {
            let sep = if text.is_empty() || text.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            format!("{text}{sep}\n[alias]\n{line}")
        }
        (None, Some(_)) => {
            return Ok(Action::Kept(format!(
                "add `xtask = {}` to its aliases by hand",
                toml_string(alias)
            )))
        }
    };
    replace_file(path, &edited)?;
    Ok(Action::Added("the `xtask` alias".into()))
}

/// A commented `[workspace.metadata.image]` table (`[package.metadata.image]` in a
/// single-package project) at the end of the root manifest, unless one exists.
fn starter(path: &Path, manifest: &toml::Table, has_workspace: bool) -> Result<Action> {
    let section = if has_workspace {
        "workspace"
    } else {
        "package"
    };
    let existing = manifest
        .get(section)
        .and_then(|s| s.get("metadata"))
        .and_then(|m| m.get("image"));
    if existing.is_some() {
        return Ok(Action::Kept(format!(
            "it has a [{section}.metadata.image] table already"
        )));
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let sep = if text.ends_with('\n') { "" } else { "\n" };
    let starter = include_str!("../templates/init/starter.toml").replace("{section}", section);
    replace_file(path, &format!("{text}{sep}\n{starter}"))?;
    Ok(Action::Added(format!(
        "a commented [{section}.metadata.image] table"
    )))
}

/// The Dockerfile, `.dockerignore` and `compose.yaml`, each unless a file of the user's
/// (one without our marker) is in its place.
fn generated_files(manifest_path: &Path, outcome: &mut InitOutcome) -> Result<()> {
    let (loaded, plan) = match crate::tasks::load(manifest_path, &Default::default()) {
        Ok(planned) => planned,
        Err(e) => {
            outcome.files.push((
                manifest_path.to_path_buf(),
                Action::Kept(format!(
                    "the generated files were not written ({e:#}); fix that, then run \
                     `cargo xtask dockerfile`"
                )),
            ));
            return Ok(());
        }
    };
    let mut files = artifacts::workspace_artifacts(&loaded, &plan);
    files.retain(|f| {
        let kept = if std::fs::read_to_string(&f.path).is_ok_and(|t| t == f.contents) {
            Some("up to date".to_string())
        } else {
            artifacts::foreign(&f.path)
        };
        let keep = kept.is_none();
        if let Some(why) = kept {
            outcome.files.push((f.path.clone(), Action::Kept(why)));
        }
        keep
    });
    artifacts::write_all(&files).context("writing the generated files")?;
    outcome
        .files
        .extend(files.into_iter().map(|f| (f.path, Action::Wrote)));
    Ok(())
}

/// The byte offset just after the line `[name]` (a table header), if there is one.
fn find_header(text: &str, name: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        offset += line.len();
        let bare = line.split('#').next().unwrap_or("").trim();
        if bare == format!("[{name}]") {
            return Some(offset);
        }
    }
    None
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Replaces a file of the user's with an edited copy (temporary file, then rename).
fn replace_file(path: &Path, text: &str) -> Result<()> {
    artifacts::write_all(&[artifacts::Artifact::new(
        path.to_path_buf(),
        text.to_string(),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_offsets() {
        let text = "[package]\nname = \"a\"\n[alias] # mine\nb = \"build\"\n";
        assert_eq!(find_header(text, "alias"), Some(36));
        assert_eq!(find_header(text, "workspace"), None);
        assert_eq!(&text[find_header(text, "package").unwrap()..][..4], "name");
    }
}
