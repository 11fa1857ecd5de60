//! The scratch copy of the workspace the bench builds, and the real source edits it makes
//! and undoes there: a comment appended to a crate root, and a version bump (manifests,
//! path-dependency requirements and Cargo.lock, as a release would do it).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// Copies the build context `from` into `to`, leaving out build output (`target/`
/// directories) and VCS data, which no variant may see.
pub fn copy_context(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" || name == ".git" || name == ".hg" || name == ".svn" {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_context(&src, &dst)?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(&src)?;
            std::os::unix::fs::symlink(&link, &dst)
                .with_context(|| format!("copying the symlink {}", src.display()))?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
        }
    }
    Ok(())
}

/// Files as they were before an edit; [`Edit::undo`] writes them back.
#[derive(Debug, Default)]
pub struct Edit {
    originals: Vec<(PathBuf, Vec<u8>)>,
}

impl Edit {
    fn save(&mut self, path: &Path) -> Result<()> {
        if !self.originals.iter().any(|(p, _)| p == path) {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            self.originals.push((path.to_path_buf(), bytes));
        }
        Ok(())
    }

    /// Restores every file the edit changed.
    pub fn undo(self) -> Result<()> {
        for (path, bytes) in self.originals {
            std::fs::write(&path, bytes)
                .with_context(|| format!("restoring {}", path.display()))?;
        }
        Ok(())
    }
}

/// Appends a comment line to a Rust source file: a real edit that changes the file's
/// content and mtime, so cargo and BuildKit both see it.
pub fn append_comment(path: &Path, text: &str) -> Result<Edit> {
    let mut edit = Edit::default();
    edit.save(path)?;
    let mut source =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if !source.ends_with('\n') {
        source.push('\n');
    }
    source.push_str(&format!("// {text}\n"));
    std::fs::write(path, source).with_context(|| format!("editing {}", path.display()))?;
    Ok(edit)
}

/// What a version bump changes.
#[derive(Clone, Debug, PartialEq)]
pub struct Bump {
    pub old: String,
    pub new: String,
    /// The manifest whose version line changed (`[workspace.package]` or `[package]`).
    pub manifest: PathBuf,
}

/// Bumps the patch version: of `[workspace.package]` in `root_manifest` when the package
/// in `package_manifest` inherits it, else of that package; then every path dependency's
/// `version = "<old>"` requirement in `manifests`, and Cargo.lock via
/// `cargo update --workspace --offline`.
pub fn bump_version(
    root_manifest: &Path,
    package_manifest: &Path,
    manifests: &[PathBuf],
    cargo: &dyn Fn(&Path) -> Result<()>,
) -> Result<(Edit, Bump)> {
    let package_text = read(package_manifest)?;
    let inherits = table_value(&package_text, "package", "version")
        .map(|v| v.replace(' ', "") == "{workspace=true}")
        .unwrap_or(false)
        || table_value(&package_text, "package", "version.workspace").as_deref() == Some("true")
        || table_value(&package_text, "package.version", "workspace").as_deref() == Some("true");
    let (manifest, table) = if inherits {
        (root_manifest.to_path_buf(), "workspace.package")
    } else {
        (package_manifest.to_path_buf(), "package")
    };
    let text = read(&manifest)?;
    let Some(old) = table_value(&text, table, "version").and_then(|v| unquote(&v)) else {
        bail!(
            "{}: no `version = \"...\"` in [{table}] to bump",
            manifest.display()
        );
    };
    let new = next_patch(&old).with_context(|| {
        format!(
            "{}: cannot bump version `{old}` (expected MAJOR.MINOR.PATCH)",
            manifest.display()
        )
    })?;

    let mut edit = Edit::default();
    let mut all: Vec<PathBuf> = manifests.to_vec();
    if !all.contains(&manifest) {
        all.push(manifest.clone());
    }
    for path in &all {
        let text = read(path)?;
        let mut changed = replace_path_dep_versions(&text, &old, &new);
        if *path == manifest {
            changed = set_table_version(&changed, table, &old, &new)
                .with_context(|| format!("{}: bumping [{table}] version", manifest.display()))?;
        }
        if changed != text {
            edit.save(path)?;
            std::fs::write(path, changed).with_context(|| format!("editing {}", path.display()))?;
        }
    }
    let lock = root_manifest.with_file_name("Cargo.lock");
    if lock.is_file() {
        edit.save(&lock)?;
    }
    if let Err(e) = cargo(root_manifest) {
        edit.undo()?;
        return Err(e.context("updating Cargo.lock after the version bump"));
    }
    Ok((edit, Bump { old, new, manifest }))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// `1.2.3` → `1.2.4` (pre-release and build metadata are dropped).
pub fn next_patch(version: &str) -> Option<String> {
    let core = version.split(['-', '+']).next()?;
    let parts: Vec<u64> = core
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [major, minor, patch] => Some(format!("{major}.{minor}.{}", patch + 1)),
        _ => None,
    }
}

fn unquote(v: &str) -> Option<String> {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .map(str::to_string)
}

/// The header of a `[table]` line, without brackets and spaces.
fn header(line: &str) -> Option<String> {
    let t = line.trim();
    if t.starts_with("[[") {
        return Some(t.trim_matches(|c| c == '[' || c == ']').replace(' ', ""));
    }
    t.strip_prefix('[')
        .and_then(|t| t.split(']').next())
        .map(|h| h.replace(' ', ""))
}

/// The key of a `key = value` line.
fn key_of(line: &str) -> Option<&str> {
    let (k, _) = line.split_once('=')?;
    let k = k.trim();
    (!k.is_empty() && !k.starts_with('#')).then_some(k)
}

/// The raw value of `key` in `[table]` (text after `=`, comment kept out when simple).
fn table_value(text: &str, table: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    for line in text.lines() {
        if let Some(h) = header(line) {
            current = h;
            continue;
        }
        if current == table && key_of(line) == Some(key) {
            let value = line.split_once('=')?.1.trim();
            let value = match value.find(" #") {
                Some(i) if value.starts_with('"') => &value[..i],
                _ => value,
            };
            return Some(value.trim().to_string());
        }
    }
    None
}

/// Sets `version = "<new>"` in `[table]`, where it is `"<old>"`.
fn set_table_version(text: &str, table: &str, old: &str, new: &str) -> Result<String> {
    let mut current = String::new();
    let mut done = false;
    let mut out = String::with_capacity(text.len() + 2);
    for line in text.split_inclusive('\n') {
        if let Some(h) = header(line) {
            current = h;
        } else if !done && current == table && key_of(line) == Some("version") {
            let quoted = format!("\"{old}\"");
            if line.contains(&quoted) {
                out.push_str(&line.replacen(&quoted, &format!("\"{new}\""), 1));
                done = true;
                continue;
            }
        }
        out.push_str(line);
    }
    if !done {
        bail!("no `version = \"{old}\"` line");
    }
    Ok(out)
}

/// Updates version requirements of path dependencies that name `old` exactly (with or
/// without `=`, `^`, `~`): inline tables (`x = { path = "..", version = "0.3.1" }`) and
/// dotted tables (`[dependencies.x]` with `path` and `version` keys).
fn replace_path_dep_versions(text: &str, old: &str, new: &str) -> String {
    let is_dep_table = |h: &str| {
        h.split('.')
            .any(|p| p == "dependencies" || p == "dev-dependencies" || p == "build-dependencies")
    };
    // Dotted dependency tables that have a `path` key.
    let mut path_tables = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(h) = header(line) {
            current = h;
        } else if is_dep_table(&current)
            && !current.ends_with("dependencies")
            && key_of(line) == Some("path")
        {
            path_tables.push(current.clone());
        }
    }
    let requirements = ["", "=", "^", "~"];
    let replace_req = |line: &str| {
        let mut line = line.to_string();
        for op in requirements {
            let from = format!("\"{op}{old}\"");
            if line.contains(&from) {
                line = line.replace(&from, &format!("\"{op}{new}\""));
            }
        }
        line
    };
    let mut out = String::with_capacity(text.len() + 8);
    current.clear();
    for line in text.split_inclusive('\n') {
        if let Some(h) = header(line) {
            current = h;
            out.push_str(line);
            continue;
        }
        let inline = is_dep_table(&current)
            && line.contains("path")
            && line.contains('{')
            && line.contains("version");
        let dotted = path_tables.contains(&current) && key_of(line) == Some("version");
        if inline || dotted {
            out.push_str(&replace_req(line));
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_versions_bump() {
        assert_eq!(next_patch("0.3.1").as_deref(), Some("0.3.2"));
        assert_eq!(next_patch("1.0.0-rc.1").as_deref(), Some("1.0.1"));
        assert_eq!(next_patch("1.0"), None);
    }

    #[test]
    fn workspace_version_and_path_deps_change_together() {
        let text = "[workspace.package]\nversion = \"0.3.1\" # the release\nedition = \"2021\"\n\n\
                    [workspace.dependencies]\n\
                    a = { path = \"crates/a\", version = \"0.3.1\" }\n\
                    serde = { version = \"0.3.1\" }\n\n\
                    [dependencies.b]\npath = \"../b\"\nversion = \"=0.3.1\"\n\n\
                    [dependencies.c]\nversion = \"0.3.1\"\n";
        let bumped = set_table_version(
            &replace_path_dep_versions(text, "0.3.1", "0.3.2"),
            "workspace.package",
            "0.3.1",
            "0.3.2",
        )
        .unwrap();
        assert_eq!(
            bumped,
            "[workspace.package]\nversion = \"0.3.2\" # the release\nedition = \"2021\"\n\n\
             [workspace.dependencies]\n\
             a = { path = \"crates/a\", version = \"0.3.2\" }\n\
             serde = { version = \"0.3.1\" }\n\n\
             [dependencies.b]\npath = \"../b\"\nversion = \"=0.3.2\"\n\n\
             [dependencies.c]\nversion = \"0.3.1\"\n"
        );
        assert_eq!(
            table_value(&bumped, "workspace.package", "version").as_deref(),
            Some("\"0.3.2\"")
        );
    }

    #[test]
    fn inherited_versions_are_recognised() {
        assert_eq!(
            table_value(
                "[package]\nversion.workspace = true\n",
                "package",
                "version.workspace"
            )
            .as_deref(),
            Some("true")
        );
        assert_eq!(
            table_value(
                "[package]\nversion = { workspace = true }\n",
                "package",
                "version"
            )
            .as_deref(),
            Some("{ workspace = true }")
        );
    }
}
