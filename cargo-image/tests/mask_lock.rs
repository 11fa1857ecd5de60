//! `templates/mask-lock.awk`, run with this machine's `awk` as the Dockerfile runs it:
//! workspace members' versions in `Cargo.lock` (and the `"name version"` references to
//! them) become 0.0.0, and nothing else changes, so a release that bumps a version leaves
//! the dependency stage cached. Checked on the example workspace's lockfile, on this
//! repository's own, and on a hand-written one with a registry crate named like a member.
//! For the example workspace, `cargo metadata --locked` also confirms that the masked
//! lockfile agrees with the skeleton's masked manifests (`skeleton::mask_manifest`), which
//! is what the dependency stage relies on.
//!
//! Without `awk` the tests say so and pass, except under CI (`CI` set), where they fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_image::render::scripts::MASK_LOCK_AWK;
use cargo_image::skeleton::MASKED_VERSION;
use toml::{Table, Value};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cargo-image sits inside the repository")
        .to_path_buf()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// Whether `awk` can run here; panics under CI, where a skipped test would hide a failure.
fn awk_available() -> bool {
    match Command::new("awk").arg("BEGIN { exit 0 }").output() {
        Ok(out) if out.status.success() => true,
        result => {
            let why = match result {
                Ok(out) => format!("`awk 'BEGIN {{ exit 0 }}'` exited with {}", out.status),
                Err(e) => e.to_string(),
            };
            assert!(
                std::env::var_os("CI").is_none(),
                "awk is required under CI: {why}"
            );
            eprintln!("skipped: no usable awk ({why})");
            false
        }
    }
}

/// Runs the awk program exactly as the Dockerfile does: `-v members=…`, the lockfile twice.
fn mask(lock: &str, members: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let program = dir.path().join("mask-lock.awk");
    let lockfile = dir.path().join("Cargo.lock");
    std::fs::write(&program, MASK_LOCK_AWK).expect("write the awk program");
    std::fs::write(&lockfile, lock).expect("write the lockfile");
    let out = Command::new("awk")
        .arg("-v")
        .arg(format!("members={}", members.join(" ")))
        .arg("-f")
        .arg(&program)
        .arg(&lockfile)
        .arg(&lockfile)
        .output()
        .expect("run awk");
    assert!(
        out.status.success(),
        "awk failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("awk prints the UTF-8 it was given")
}

/// One `[[package]]` of a lockfile, as TOML.
#[derive(Debug)]
struct Package {
    name: String,
    version: String,
    source: Option<String>,
    dependencies: Vec<String>,
    table: Table,
}

fn packages(lock: &str, what: &str) -> Vec<Package> {
    let doc: Table = lock
        .parse()
        .unwrap_or_else(|e| panic!("{what} is not valid TOML: {e}"));
    let Some(Value::Array(list)) = doc.get("package") else {
        panic!("{what} has no [[package]]");
    };
    list.iter()
        .map(|p| {
            let table = p
                .as_table()
                .unwrap_or_else(|| panic!("{what}: a package is not a table"))
                .clone();
            let string = |key: &str| table.get(key).and_then(Value::as_str).map(str::to_string);
            Package {
                name: string("name").unwrap_or_else(|| panic!("{what}: a package has no name")),
                version: string("version")
                    .unwrap_or_else(|| panic!("{what}: a package has no version")),
                source: string("source"),
                dependencies: table
                    .get("dependencies")
                    .and_then(Value::as_array)
                    .map(|deps| {
                        deps.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                table,
            }
        })
        .collect()
}

/// The text of each `[[package]]` block, in order (up to the next `[` header or the end).
fn package_blocks(lock: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in lock.split_inclusive('\n') {
        if line.starts_with('[') {
            blocks.extend(current.take());
            if line.trim_end() == "[[package]]" {
                current = Some(String::new());
            }
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
        }
    }
    blocks.extend(current);
    blocks
}

/// A `"name version"` reference, the only form of a dependency entry that names a version
/// without a source (`"name"` alone is unambiguous; `"name version (source)"` is a
/// third-party package).
fn versioned_ref(dep: &str) -> Option<(&str, &str)> {
    let (name, version) = dep.split_once(' ')?;
    (!version.contains(' ')).then_some((name, version))
}

/// Checks everything masking promises about `masked`, the awk output for `original`, and
/// returns how many packages were masked.
fn check_masked(original: &str, masked: &str, members: &[&str], what: &str) -> usize {
    assert_eq!(
        original.lines().count(),
        masked.lines().count(),
        "{what}: masking changed the number of lines"
    );
    assert_eq!(
        original.ends_with('\n'),
        masked.ends_with('\n'),
        "{what}: masking changed the final newline"
    );
    let before = packages(original, what);
    let after = packages(masked, &format!("{what} (masked)"));
    assert_eq!(before.len(), after.len(), "{what}: package count changed");
    let members: BTreeSet<&str> = members.iter().copied().collect();
    // Members are the local packages (no `source`) with a member's name.
    let local: BTreeSet<(&str, &str)> = before
        .iter()
        .filter(|p| p.source.is_none() && members.contains(p.name.as_str()))
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();

    let blocks_before = package_blocks(original);
    let blocks_after = package_blocks(masked);
    assert_eq!(blocks_before.len(), before.len(), "{what}: block split");
    assert_eq!(blocks_after.len(), after.len(), "{what}: block split");

    let mut count = 0;
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let is_local = local.contains(&(b.name.as_str(), b.version.as_str()));
        assert_eq!(b.name, a.name, "{what}: package {i} renamed");
        assert_eq!(b.source, a.source, "{what}: {}'s source changed", b.name);
        if b.source.is_some() {
            // Third-party packages are the cache's whole point: byte for byte unchanged.
            assert_eq!(
                blocks_before[i], blocks_after[i],
                "{what}: third-party package {} {} changed",
                b.name, b.version
            );
        }
        let want_version = if is_local {
            count += 1;
            MASKED_VERSION
        } else {
            b.version.as_str()
        };
        assert_eq!(
            a.version, want_version,
            "{what}: version of {} {} (member: {is_local})",
            b.name, b.version
        );
        let want_deps: Vec<String> = b
            .dependencies
            .iter()
            .map(|dep| match versioned_ref(dep) {
                Some((name, version)) if local.contains(&(name, version)) => {
                    format!("{name} {MASKED_VERSION}")
                }
                _ => dep.clone(),
            })
            .collect();
        assert_eq!(
            a.dependencies, want_deps,
            "{what}: dependencies of {} {}",
            b.name, b.version
        );
        // Nothing else in the package moves (checksums, features, …).
        let strip = |t: &Table| {
            let mut t = t.clone();
            t.remove("version");
            t.remove("dependencies");
            t
        };
        assert_eq!(
            strip(&b.table),
            strip(&a.table),
            "{what}: other fields of {} {} changed",
            b.name,
            b.version
        );
    }
    // Every reference in the masked lockfile still names exactly one package of it.
    for p in &after {
        for dep in &p.dependencies {
            let mut words = dep.splitn(3, ' ');
            let name = words.next().unwrap_or_default();
            let version = words.next();
            let source = words
                .next()
                .map(|s| s.trim_start_matches('(').trim_end_matches(')'));
            let matches = after
                .iter()
                .filter(|q| {
                    q.name == name
                        && version.is_none_or(|v| q.version == v)
                        && source.is_none_or(|s| q.source.as_deref() == Some(s))
                })
                .count();
            assert_eq!(
                matches, 1,
                "{what}: {}'s dependency {dep:?} matches {matches} packages after masking",
                p.name
            );
        }
    }
    // Outside package blocks (the header, `version = 4`, …) the text is unchanged.
    let outside = |text: &str| -> String {
        let mut in_package = false;
        let mut kept = String::new();
        for line in text.lines() {
            if line.starts_with('[') {
                in_package = line == "[[package]]";
            }
            if !in_package {
                kept.push_str(line);
                kept.push('\n');
            }
        }
        kept
    };
    assert_eq!(
        outside(original),
        outside(masked),
        "{what}: text outside the packages changed"
    );
    count
}

/// The names of a workspace's members, from `cargo metadata --no-deps`.
fn member_names(manifest: &Path) -> Vec<String> {
    let out = Command::new(cargo())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata --manifest-path {}:\n{}",
        manifest.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let mut names: Vec<String> = json["packages"]
        .as_array()
        .expect("cargo metadata lists packages")
        .iter()
        .map(|p| {
            p["name"]
                .as_str()
                .expect("every package has a name")
                .to_string()
        })
        .collect();
    names.sort();
    names
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// (a) The example workspace: every member masked, every third-party package untouched.
#[test]
fn masks_the_example_workspace_lockfile() {
    if !awk_available() {
        return;
    }
    let ws = repo_root().join("example-workspace");
    let names = member_names(&ws.join("Cargo.toml"));
    let members: Vec<&str> = names.iter().map(String::as_str).collect();
    assert!(members.len() >= 2, "example workspace members: {members:?}");
    let original = read(&ws.join("Cargo.lock"));
    let masked = mask(&original, &members);
    let count = check_masked(&original, &masked, &members, "example-workspace/Cargo.lock");
    assert_eq!(
        count,
        members.len(),
        "every member is in the lockfile once and gets masked"
    );
    assert_ne!(
        original, masked,
        "the members' versions are not 0.0.0 to start with"
    );
    // (d) Masking what is masked changes nothing.
    assert_eq!(mask(&masked, &members), masked, "masking is not idempotent");
}

/// (b) This repository's own lockfile, members bench, cargo-image, e2e (`tests/`) and xtask.
#[test]
fn masks_this_repositorys_lockfile() {
    if !awk_available() {
        return;
    }
    let root = repo_root();
    let members = ["bench", "cargo-image", "e2e", "xtask"];
    assert_eq!(
        member_names(&root.join("Cargo.toml")),
        members,
        "this repository's members changed; update the test"
    );
    let original = read(&root.join("Cargo.lock"));
    let masked = mask(&original, &members);
    let count = check_masked(&original, &masked, &members, "Cargo.lock");
    assert_eq!(count, members.len());
    assert_eq!(mask(&masked, &members), masked, "masking is not idempotent");
}

/// A lockfile where `foo` is both a member (0.2.0, local) and a registry crate (1.0.0), so
/// Cargo writes references to either with their version; `path-dep` is a local path
/// dependency that is not a member. The last package is a member, so a program that only
/// learns about a package at the next `[` header would miss it.
const TWO_FOOS: &str = r#"# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 4

[[package]]
name = "app"
version = "1.4.2"
dependencies = [
 "foo 0.2.0",
 "foo 1.0.0",
 "path-dep",
 "util",
]

[[package]]
name = "bar"
version = "2.1.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "1111111111111111111111111111111111111111111111111111111111111111"
dependencies = [
 "foo 1.0.0",
]

[[package]]
name = "foo"
version = "0.2.0"
dependencies = [
 "bar",
]

[[package]]
name = "foo"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "2222222222222222222222222222222222222222222222222222222222222222"

[[package]]
name = "path-dep"
version = "0.5.0"

[[package]]
name = "util"
version = "1.4.2"
"#;

/// (c) The registry `foo` keeps its version and the references to it; the member `foo`
/// and the references to it are masked. Spelled out in full, so the test does not share
/// the masking logic it checks.
#[test]
fn masks_a_member_but_not_a_registry_crate_of_the_same_name() {
    if !awk_available() {
        return;
    }
    let members = ["app", "foo", "util"];
    let masked = mask(TWO_FOOS, &members);
    let expected = TWO_FOOS
        .replacen(
            "name = \"app\"\nversion = \"1.4.2\"",
            "name = \"app\"\nversion = \"0.0.0\"",
            1,
        )
        .replacen(" \"foo 0.2.0\",", " \"foo 0.0.0\",", 1)
        .replacen(
            "name = \"foo\"\nversion = \"0.2.0\"",
            "name = \"foo\"\nversion = \"0.0.0\"",
            1,
        )
        .replacen(
            "name = \"util\"\nversion = \"1.4.2\"",
            "name = \"util\"\nversion = \"0.0.0\"",
            1,
        );
    // Guards the fixture edits above: each must have found its text.
    assert_eq!(
        TWO_FOOS
            .lines()
            .zip(expected.lines())
            .filter(|(a, b)| a != b)
            .count(),
        4
    );
    assert_eq!(masked, expected);
    assert_eq!(check_masked(TWO_FOOS, &masked, &members, "TWO_FOOS"), 3);
    // (d) Idempotent here too, where a masked member meets an unmasked namesake.
    assert_eq!(mask(&masked, &members), masked, "masking is not idempotent");
}

/// A registry crate with a member's name *and* version (`zmij = { package = "zmij",
/// version = "=1.0.23" }` beside a member `zmij` 1.0.23): its `version` line comes before
/// the `source` line that tells the two apart, so the masker finds members' blocks by
/// position; masking it too would leave a lockfile the manifests disagree with.
#[test]
fn masks_a_member_but_not_a_registry_crate_of_the_same_name_and_version() {
    if !awk_available() {
        return;
    }
    const LOCK: &str = "# This file is automatically @generated by Cargo.\n\
# It is not intended for manual editing.\n\
version = 4\n\
\n\
[[package]]\n\
name = \"app\"\n\
version = \"0.1.0\"\n\
dependencies = [\n\
\x20\"zmij 1.0.23\",\n\
\x20\"zmij 1.0.23 (registry+https://github.com/rust-lang/crates.io-index)\",\n\
]\n\
\n\
[[package]]\n\
name = \"zmij\"\n\
version = \"1.0.23\"\n\
source = \"registry+https://github.com/rust-lang/crates.io-index\"\n\
checksum = \"0123\"\n\
\n\
[[package]]\n\
name = \"zmij\"\n\
version = \"1.0.23\"\n";
    let masked = mask(LOCK, &["app", "zmij"]);
    let expected = LOCK
        .replacen("version = \"0.1.0\"", "version = \"0.0.0\"", 1)
        .replacen(" \"zmij 1.0.23\",", " \"zmij 0.0.0\",", 1);
    let expected = {
        // The last block, the member's, is masked; the registry one keeps its version.
        let cut = expected.rfind("version = \"1.0.23\"").unwrap();
        format!("{}version = \"0.0.0\"\n", &expected[..cut])
    };
    assert_eq!(masked, expected);
    assert_eq!(
        mask(&masked, &["app", "zmij"]),
        masked,
        "masking is not idempotent"
    );
}

/// With no members nothing is masked: the program only touches what it is told to.
#[test]
fn masks_nothing_without_members() {
    if !awk_available() {
        return;
    }
    assert_eq!(mask(TWO_FOOS, &[]), TWO_FOOS);
}

/// Only `[[package]]` tables are rewritten: a `[[patch.unused]]` entry that names a
/// member and its version (a `[patch]` Cargo did not need) is not a package of the graph.
#[test]
fn leaves_tables_other_than_packages_alone() {
    if !awk_available() {
        return;
    }
    let lock = r#"version = 4

[[package]]
name = "util"
version = "1.4.2"

[[patch.unused]]
name = "util"
version = "1.4.2"
"#;
    let expected = lock.replacen("version = \"1.4.2\"", "version = \"0.0.0\"", 1);
    assert_ne!(expected, lock);
    assert_eq!(mask(lock, &["util"]), expected);
}

/// The Rust side: the skeleton masks the example workspace's manifests with
/// `skeleton::mask_manifest`, the build masks its lockfile with the awk program. Both must
/// agree, or `cargo build --locked` in the dependency stage fails; `cargo metadata
/// --offline --locked` on the skeleton plus the masked lockfile checks exactly that. The
/// member list is the plan's own `masked_members`, which the Dockerfile passes to awk.
#[test]
fn masked_lockfile_agrees_with_the_masked_skeleton() {
    if !awk_available() {
        return;
    }
    let ws = repo_root().join("example-workspace");
    let (_, plan) = cargo_image::tasks::load(&ws.join("Cargo.toml"), &Default::default())
        .expect("plan the example workspace");
    assert_eq!(
        plan.masked_members,
        member_names(&ws.join("Cargo.toml")),
        "the plan masks exactly the workspace's members"
    );
    let members: Vec<&str> = plan.masked_members.iter().map(String::as_str).collect();

    let dir = tempfile::tempdir().expect("create a temporary directory");
    let ctx = dir.path();
    let mut manifests: BTreeMap<&str, Table> = BTreeMap::new();
    for (path, text) in &plan.skeleton.files {
        write(&ctx.join(path), text);
        if path.ends_with("Cargo.toml") {
            let doc = text
                .parse()
                .unwrap_or_else(|e| panic!("masked manifest {path}: {e}"));
            manifests.insert(path, doc);
        }
    }
    for path in &plan.skeleton.empty_sources {
        write(&ctx.join(path), "");
    }
    for path in &plan.skeleton.main_sources {
        write(&ctx.join(path), cargo_image::skeleton::DUMMY_MAIN);
    }
    let root = ctx.join(&plan.workspace_root);
    let masked = mask(&read(&ws.join("Cargo.lock")), &members);
    write(&root.join("Cargo.lock"), &masked);

    // Each member's masked manifest names the version the lockfile now has, directly or
    // through `version.workspace = true`.
    let root_manifest = manifests
        .iter()
        .find(|(path, _)| ctx.join(path) == root.join("Cargo.toml"))
        .map(|(_, doc)| doc)
        .expect("the skeleton has the root manifest");
    let workspace_version = root_manifest
        .get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("version"))
        .and_then(Value::as_str);
    let locked = packages(&masked, "masked lockfile");
    let mut seen = 0;
    for doc in manifests.values() {
        let Some(package) = doc.get("package") else {
            continue;
        };
        let name = package["name"].as_str().expect("a package has a name");
        let version = match package.get("version") {
            Some(Value::String(v)) => v.as_str(),
            Some(Value::Table(t)) if t.get("workspace").and_then(Value::as_bool) == Some(true) => {
                workspace_version.expect("members inherit the workspace version")
            }
            other => panic!("{name}: unexpected version {other:?}"),
        };
        assert_eq!(version, MASKED_VERSION, "{name}'s masked manifest");
        let in_lock: Vec<&str> = locked
            .iter()
            .filter(|p| p.name == name && p.source.is_none())
            .map(|p| p.version.as_str())
            .collect();
        assert_eq!(in_lock, [version], "{name} in the masked lockfile");
        seen += 1;
    }
    assert_eq!(seen, members.len(), "one masked manifest per member");

    // `--offline`: the crates must already be in cargo's cache. They are fetched first
    // (cargo may have cleaned unused ones from its cache: CI found `wasi` gone); without a
    // network this part says so and passes, since what it checks needs only the index.
    let _ = Command::new(cargo())
        .args(["fetch", "--locked"])
        .current_dir(&root)
        .output();
    let out = Command::new(cargo())
        .args(["metadata", "--offline", "--locked", "--format-version", "1"])
        .current_dir(&root)
        .output()
        .expect("run cargo metadata");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("offline") && !stderr.contains("--locked") {
        assert!(
            std::env::var_os("CI").is_none(),
            "cargo metadata --offline needs the example's crates in cargo's cache:\n{stderr}"
        );
        eprintln!("skipped the cargo check: the example's crates are not cached:\n{stderr}");
        return;
    }
    assert!(
        out.status.success(),
        "cargo rejects the masked lockfile with the masked manifests:\n{stderr}"
    );
    assert_eq!(
        read(&root.join("Cargo.lock")),
        masked,
        "cargo rewrote the masked lockfile"
    );
}

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
