//! The skeleton: the files the dependency stage compiles instead of the real workspace.
//!
//! It holds every local manifest (members' versions masked to [`MASKED_VERSION`], image
//! metadata stripped), a dummy crate root for every target (explicit and auto-discovered),
//! and verbatim copies of `rust-toolchain.toml` and `.cargo/config.toml`. Everything is
//! derived from the [`Workspace`] model, so this module is pure.
//!
//! Why mask: the dependency stage's cache key is the skeleton's content. A release that
//! bumps the workspace version must not rebuild every third-party crate, so the skeleton
//! must not carry local versions. `Cargo.lock` is masked the same way inside the build (see
//! `render::scripts::MASK_LOCK_AWK`), because its content only reaches the build there.

use std::collections::{BTreeMap, BTreeSet};

use toml::{Table, Value};

use crate::model::{Package, TargetKind, Workspace};

/// The version every workspace member has in the skeleton.
pub const MASKED_VERSION: &str = "0.0.0";

/// The body of a dummy crate root that must have a `main`; harmless in a library.
pub const DUMMY_MAIN: &str = "#[allow(dead_code)]\nfn main() {}\n";

/// The skeleton's files, keyed by path relative to the build context.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Skeleton {
    /// Manifests and verbatim files, with their contents.
    pub files: BTreeMap<String, String>,
    /// Dummy crate roots that are empty (libraries and proc-macros).
    pub empty_sources: BTreeSet<String>,
    /// Dummy crate roots that need a `main` (bins, examples, tests, benches, build scripts).
    pub main_sources: BTreeSet<String>,
    /// Symlinks on the way to local packages, recreated as they are on the host (link path
    /// → relative target): cargo finds those packages through them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
}

/// An error masking a manifest: its text is not valid TOML.
#[derive(Debug)]
pub struct MaskError {
    pub manifest: String,
    pub message: String,
}

/// Derives the skeleton of `ws`, for the given local packages.
pub fn derive(ws: &Workspace) -> Result<Skeleton, MaskError> {
    let members: BTreeSet<&str> = ws
        .packages
        .iter()
        .filter(|p| p.member)
        .map(|p| p.name.as_str())
        .collect();
    let mut sk = Skeleton::default();
    let root_manifest = ws.in_root("Cargo.toml");
    let mut manifests: BTreeMap<String, &str> = BTreeMap::new();
    manifests.insert(root_manifest.clone(), &ws.root_manifest);
    for p in &ws.packages {
        manifests.insert(manifest_path(p), &p.manifest);
    }
    for (path, text) in manifests {
        let masked = mask_manifest(text, &members).map_err(|message| MaskError {
            manifest: path.clone(),
            message,
        })?;
        sk.files.insert(path, masked);
    }
    for (path, text) in &ws.extra_files {
        sk.files.insert(path.clone(), text.clone());
    }
    for p in &ws.packages {
        for t in &p.targets {
            match t.kind {
                TargetKind::Lib | TargetKind::ProcMacro => {
                    sk.empty_sources.insert(t.src_path.clone());
                }
                _ => {
                    sk.main_sources.insert(t.src_path.clone());
                }
            }
        }
    }
    sk.links = ws.links.clone();
    // A file that is both a library root and a binary root gets the `main` version.
    let mains = sk.main_sources.clone();
    sk.empty_sources.retain(|p| !mains.contains(p));
    Ok(sk)
}

/// The path of a package's manifest, relative to the build context.
pub fn manifest_path(p: &Package) -> String {
    crate::model::join(&p.dir, "Cargo.toml")
}

/// Masks one manifest: members' versions (in `[package]`, `[workspace.package]` and in
/// path dependencies on members) become [`MASKED_VERSION`]; `metadata` tables go, since
/// they never affect compilation and editing them must not invalidate the cache.
pub fn mask_manifest(text: &str, members: &BTreeSet<&str>) -> Result<String, String> {
    let mut doc: Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    if let Some(Value::Table(pkg)) = doc.get_mut("package") {
        let name = pkg.get("name").and_then(Value::as_str).unwrap_or("");
        if members.contains(name) && pkg.get("version").is_some_and(Value::is_str) {
            pkg.insert("version".into(), MASKED_VERSION.into());
        }
        pkg.remove("metadata");
    }
    if let Some(Value::Table(ws)) = doc.get_mut("workspace") {
        ws.remove("metadata");
        if let Some(Value::Table(wp)) = ws.get_mut("package") {
            if wp.contains_key("version") {
                wp.insert("version".into(), MASKED_VERSION.into());
            }
        }
        if let Some(Value::Table(deps)) = ws.get_mut("dependencies") {
            mask_dep_table(deps, members);
        }
    }
    for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(Value::Table(deps)) = doc.get_mut(key) {
            mask_dep_table(deps, members);
        }
    }
    if let Some(Value::Table(targets)) = doc.get_mut("target") {
        for (_, cfg) in targets.iter_mut() {
            if let Value::Table(cfg) = cfg {
                for key in ["dependencies", "dev-dependencies", "build-dependencies"] {
                    if let Some(Value::Table(deps)) = cfg.get_mut(key) {
                        mask_dep_table(deps, members);
                    }
                }
            }
        }
    }
    toml::to_string(&doc).map_err(|e| e.to_string())
}

/// A path dependency on a member may require the member's version; it must accept the
/// masked one instead.
fn mask_dep_table(deps: &mut Table, members: &BTreeSet<&str>) {
    for (key, dep) in deps.iter_mut() {
        if let Value::Table(d) = dep {
            let name = d.get("package").and_then(Value::as_str).unwrap_or(key);
            if members.contains(name) && d.contains_key("path") && d.contains_key("version") {
                d.insert("version".into(), MASKED_VERSION.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_member_versions_and_requirements_but_not_others() {
        let members = BTreeSet::from(["a", "b"]);
        let text = r#"
[package]
name = "a"
version = "1.2.3"
[package.metadata.image]
runtime = "scratch"
[dependencies]
b = { path = "../b", version = "1.2.3" }
other = { path = "../other", version = "0.5" }
serde = "1"
[target.'cfg(unix)'.dependencies]
bee = { package = "b", path = "../b", version = "=1.2.3" }
"#;
        let masked = mask_manifest(text, &members).unwrap();
        let doc: Table = masked.parse().unwrap();
        assert_eq!(doc["package"]["version"].as_str(), Some(MASKED_VERSION));
        assert!(doc["package"].get("metadata").is_none());
        assert_eq!(doc["dependencies"]["b"]["version"].as_str(), Some("0.0.0"));
        assert_eq!(
            doc["dependencies"]["other"]["version"].as_str(),
            Some("0.5")
        );
        assert_eq!(doc["dependencies"]["serde"].as_str(), Some("1"));
        assert_eq!(
            doc["target"]["cfg(unix)"]["dependencies"]["bee"]["version"].as_str(),
            Some("0.0.0")
        );
    }

    #[test]
    fn masking_is_stable_across_version_bumps() {
        let members = BTreeSet::from(["a"]);
        let v1 = "[package]\nname = \"a\"\nversion = \"0.1.0\"\n";
        let v2 = "[package]\nname = \"a\"\nversion = \"0.2.0\"\n";
        assert_eq!(
            mask_manifest(v1, &members).unwrap(),
            mask_manifest(v2, &members).unwrap()
        );
    }

    #[test]
    fn non_member_keeps_its_version() {
        let members = BTreeSet::from(["a"]);
        let text = "[package]\nname = \"patched\"\nversion = \"1.0.7\"\n";
        assert!(mask_manifest(text, &members).unwrap().contains("1.0.7"));
    }
}
