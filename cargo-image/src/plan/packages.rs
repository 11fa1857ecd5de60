//! System packages the build needs: the Debian packages the shipped binaries' dependencies
//! build or link with, inferred from the resolved graph and the reviewed table
//! `data/sys-crates.toml` ([`infer_from_graph`]), the linker `.cargo/config.toml` names
//! (`infer_build_packages`), and the workspace's own rustflags per target triple
//! (`config_rustflags`, which the static build must keep).
//!
//! Inference only adds to the lists a user wrote (`build-packages`, `link-packages`), and
//! every package it adds carries its reason into the plan, so a reviewer sees why it is
//! there.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::image::checked_packages;
use super::ImagePlan;
use crate::model::{version_key, Workspace};

/// The Debian packages of the build command: `build-packages` and `link-packages` as
/// written, plus what inference adds (unless `infer-packages = false`), each with its reason.
pub(super) struct SystemPackages {
    pub(super) build: Vec<String>,
    pub(super) inferred_build: BTreeMap<String, String>,
    pub(super) link: Vec<String>,
    pub(super) inferred_link: BTreeMap<String, String>,
}

/// The [`SystemPackages`] for `images`, given the workspace's `config_rustflags`.
pub(super) fn system_packages(
    ws: &Workspace,
    images: &[ImagePlan],
    config_rustflags: &BTreeMap<String, Vec<String>>,
) -> Result<SystemPackages, String> {
    let wcfg = &ws.config;
    let mut build_packages = checked_packages(
        "build-packages",
        wcfg.build_packages.as_deref().unwrap_or(&[]),
    )?;
    let infer = wcfg.infer_packages.unwrap_or(true);
    let (mut inferred_packages, inferred_link) = if infer {
        infer_from_graph(ws, images.iter().map(|i| i.package.as_str()))
    } else {
        (BTreeMap::new(), BTreeMap::new())
    };
    if infer {
        for (package, why) in infer_build_packages(ws, config_rustflags) {
            inferred_packages.entry(package).or_insert(why);
        }
    }
    // `git = true` asks for git in so many words.
    if wcfg.git == Some(true) {
        inferred_packages
            .entry("git".to_string())
            .or_insert_with(|| "git = true: build scripts run git".to_string());
    }
    // musl binaries ask for musl in so many words (or by their runtime): C code that -sys
    // crates compile for the musl target needs musl-gcc (the cc crate looks for it).
    if images.iter().any(|i| i.libc == super::Libc::Musl) {
        inferred_packages
            .entry("musl-tools".to_string())
            .or_insert_with(|| {
                "libc = \"musl\": musl-gcc compiles C code for the musl target".to_string()
            });
    }
    // Explicit lists are kept as written; inference only adds what they lack.
    inferred_packages.retain(|p, _| !build_packages.contains(p));
    build_packages.extend(inferred_packages.keys().cloned());
    build_packages.sort();
    let mut link_packages = checked_packages(
        "link-packages",
        wcfg.link_packages.as_deref().unwrap_or(&[]),
    )?;
    let mut inferred_link = inferred_link;
    inferred_link.retain(|p, _| !link_packages.contains(p));
    link_packages.extend(inferred_link.keys().cloned());
    link_packages.sort();
    Ok(SystemPackages {
        build: build_packages,
        inferred_build: inferred_packages,
        link: link_packages,
        inferred_link,
    })
}

/// The triples the generated Dockerfile builds for.
pub const TRIPLES: [&str; 2] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

/// The cargo configuration at the workspace root that the build reads, with its path:
/// `.cargo/config.toml`, else the legacy `.cargo/config`.
pub(super) fn cargo_config(ws: &Workspace) -> Option<(String, &str)> {
    crate::model::CARGO_CONFIGS.iter().find_map(|f| {
        let path = ws.in_root(f);
        let text = ws.extra_files.get(&path)?;
        Some((path, text.as_str()))
    })
}

/// The `[env]` table of `.cargo/config.toml` at the workspace root, with the file's path
/// (empty when there is none): what every `cargo build` and `cargo run` there gets.
pub(super) fn config_env(ws: &Workspace) -> (String, toml::Table) {
    cargo_config(ws)
        .map(|(path, text)| {
            let env = (text.parse::<toml::Table>().ok())
                .and_then(|t| t.get("env").and_then(|e| e.as_table()).cloned());
            (path, env.unwrap_or_default())
        })
        .unwrap_or_default()
}

/// The rustflags `.cargo/config.toml` at the workspace root gives each triple, as cargo
/// picks them (`target.<triple>.rustflags` wins over `build.rustflags`; a string is split
/// on spaces). `target.'cfg(..)'` tables are not evaluated.
pub(super) fn config_rustflags(ws: &Workspace) -> BTreeMap<String, Vec<String>> {
    let text = cargo_config(ws).map(|(_, text)| text);
    let Some(config) = text.and_then(|t| t.parse::<toml::Table>().ok()) else {
        return BTreeMap::new();
    };
    let flags = |v: Option<&toml::Value>| -> Option<Vec<String>> {
        match v? {
            toml::Value::String(s) => Some(s.split_whitespace().map(String::from).collect()),
            toml::Value::Array(a) => Some(
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
            ),
            _ => None,
        }
    };
    let build = flags(config.get("build").and_then(|b| b.get("rustflags")));
    let mut out = BTreeMap::new();
    for triple in TRIPLES {
        let target = flags(
            config
                .get("target")
                .and_then(|t| t.get(triple))
                .and_then(|t| t.get("rustflags")),
        );
        if let Some(f) = target.or_else(|| build.clone()).filter(|f| !f.is_empty()) {
            out.insert(triple.to_string(), f);
        }
    }
    out
}

/// The reviewed table of crates that need Debian packages (`data/sys-crates.toml`).
const SYS_CRATES: &str = include_str!("../../data/sys-crates.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SysCrate {
    #[serde(default)]
    build: Vec<String>,
    #[serde(default)]
    link: Vec<String>,
    /// Any of these features on: not needed.
    #[serde(default)]
    off: Vec<String>,
    /// Needed only when one of these features is on.
    #[serde(default)]
    on: Vec<String>,
    /// Not needed when the binaries reach one of these crates too (a vendored tool).
    #[serde(default)]
    unless: Vec<String>,
    /// Needed only by versions below this one.
    before: Option<String>,
    /// Not needed when reached only through these crates (whose own entries say what they
    /// need).
    #[serde(default)]
    not_via: Vec<String>,
    #[allow(dead_code)] // read by people: where the need comes from
    source: String,
}

/// Build and link packages the shipped binaries' dependencies need, from the resolved
/// graph (normal and build edges from the images' packages; features as resolved), each
/// with its reason: `libssl-dev: openssl-sys 0.9.109 via reqwest → native-tls (feature
/// vendored off)`.
pub fn infer_from_graph<'a>(
    ws: &Workspace,
    roots: impl Iterator<Item = &'a str>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let table: BTreeMap<String, SysCrate> =
        toml::from_str(SYS_CRATES).expect("data/sys-crates.toml parses (a unit test checks)");
    let graph = &ws.resolved;
    let roots: BTreeSet<&str> = roots.collect();
    let local: BTreeSet<&str> = ws.packages.iter().map(|p| p.name.as_str()).collect();
    // How each crate was reached (for the reason); not through the crates named `skip`.
    let reach = |skip: &[String]| super::reach(ws, |name| roots.contains(name), skip);
    let parent = reach(&[]);
    let reached: BTreeSet<&str> = parent.keys().map(|&i| graph[i].name.as_str()).collect();
    let (mut build, mut link) = (BTreeMap::new(), BTreeMap::new());
    for &i in parent.keys() {
        let node = &graph[i];
        let Some(entry) = table.get(&node.name) else {
            continue;
        };
        let has = |f: &String| node.features.contains(f);
        if entry.off.iter().any(has)
            || (!entry.on.is_empty() && !entry.on.iter().any(has))
            || entry.unless.iter().any(|c| reached.contains(c.as_str()))
            || entry
                .before
                .as_deref()
                .is_some_and(|b| version_key(&node.version) >= version_key(b))
            || (!entry.not_via.is_empty() && !reach(&entry.not_via).contains_key(&i))
        {
            continue;
        }
        let mut path = Vec::new();
        let mut at = parent[&i];
        while let Some(p) = at {
            if !local.contains(graph[p].name.as_str()) {
                path.push(graph[p].name.clone());
            }
            at = parent[&p];
        }
        path.reverse();
        let mut why = format!("{} {}", node.name, node.version);
        if !path.is_empty() {
            why.push_str(&format!(" via {}", path.join(" → ")));
        }
        if !entry.off.is_empty() {
            why.push_str(&format!(" (feature {} off)", entry.off.join("/")));
        } else if !entry.on.is_empty() {
            why.push_str(&format!(" (feature {} on)", entry.on.join("/")));
        }
        for p in &entry.build {
            build.entry(p.clone()).or_insert_with(|| why.clone());
        }
        for p in &entry.link {
            link.entry(p.clone()).or_insert_with(|| why.clone());
        }
    }
    (build, link)
}

/// Build packages the workspace's `.cargo/config.toml` needs: the linker it names
/// (`linker = "clang"`, `-C linker=clang`) and the one `-fuse-ld=` picks (`lld`, `mold`).
/// Without them the build stops at the last link with `linker `clang` not found`.
fn infer_build_packages(
    ws: &Workspace,
    rustflags: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, String> {
    let config = cargo_config(ws).and_then(|(_, t)| t.parse::<toml::Table>().ok());
    let mut out = BTreeMap::new();
    let mut note = |program: &str, why: String| {
        let package = match program.rsplit('/').next().unwrap_or(program) {
            p if p == "clang" || p.starts_with("clang-") => "clang",
            "lld" | "ld.lld" => "lld",
            "mold" | "ld.mold" => "mold",
            _ => return,
        };
        out.entry(package.to_string()).or_insert(why);
    };
    for triple in TRIPLES {
        let linker = config.as_ref().and_then(|c| {
            c.get("target")?
                .get(triple)?
                .get("linker")?
                .as_str()
                .map(String::from)
        });
        if let Some(linker) = linker {
            note(
                &linker,
                format!(".cargo/config.toml: target.{triple}.linker = \"{linker}\""),
            );
        }
        let flags = rustflags.get(triple).cloned().unwrap_or_default().join(" ");
        for word in flags.split_whitespace() {
            if let Some(l) = word
                .strip_prefix("linker=")
                .or_else(|| word.strip_prefix("-Clinker="))
            {
                note(l, format!(".cargo/config.toml rustflags: {word}"));
            }
            if let Some(ld) = word.split("-fuse-ld=").nth(1) {
                note(ld, format!(".cargo/config.toml rustflags: {word}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{SysCrate, SYS_CRATES};

    /// `infer_from_graph` expects the table to parse; a bad edit to it fails here, naming
    /// the line, rather than in every plan.
    #[test]
    fn sys_crates_table_parses() {
        let table: BTreeMap<String, SysCrate> = toml::from_str(SYS_CRATES).unwrap();
        assert!(!table.is_empty());
    }
}
