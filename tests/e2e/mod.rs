//! Support for every end-to-end test against the real Docker engine (`e2e_image`,
//! `e2e_platform`, `e2e_hazards`, `e2e_adopt`, `e2e_sys`, `e2e_engines`, the test targets of
//! this crate, `tests/` at the repository root): one scenario at a time (builds compete for
//! two cores), skipped with a reason when no engine answers (a failure under CI), local
//! stand-in base images passed explicitly, every image and container labelled with a
//! per-scenario run id and removed when the scenario ends (pass or fail), the
//! `cargo-image` binary built from this workspace, temporary copies of the example
//! workspace, tiny throw-away workspaces, and plain-std HTTP to the containers.
//!
//! Nothing here pulls: no registry is reachable on the build machines.

#![allow(dead_code)]

// The fixture builder of the hermetic tests, for the workspaces scenarios write.
#[path = "../support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The label every image and container a scenario creates carries.
pub const LABEL: &str = "org.cargo-image.test";
pub const BUILDER: &str = "cargo-image-stand-in/rust:latest";
pub const STAND_INS: [&str; 4] = [
    BUILDER,
    "cargo-image-stand-in/distroless-cc:trixie",
    "cargo-image-stand-in/distroless-static:trixie",
    SLIM_STAND_IN,
];
/// The debian-slim stand-in; `scripts/stand-in-images-cross.sh` makes it two-platform.
pub const SLIM_STAND_IN: &str = "cargo-image-stand-in/debian-slim:trixie";
/// The stand-in builder that cross-compiles for arm64 (`scripts/stand-in-images-cross.sh`).
pub const CROSS_BUILDER: &str = "cargo-image-stand-in/rust-cross:trixie";
/// A builder like the official `rust:*-slim` after `rustup target add` for arm64: the arm64
/// standard library, the native gcc only (`scripts/stand-in-images-cross.sh`).
pub const NATIVE_GCC_BUILDER: &str = "cargo-image-stand-in/rust-native-gcc:trixie";
/// A builder like the official `rust:*-slim` after `rustup target add` for x86_64 musl:
/// the musl standard library, the native gcc, no musl-tools
/// (`scripts/stand-in-images-cross.sh`).
pub const MUSL_BUILDER: &str = "cargo-image-stand-in/rust-musl:trixie";

/// Builds the cross stand-ins when missing (the script is idempotent) and checks that QEMU
/// runs arm64 binaries (`.ci/cross.sh` registers it).
pub fn ensure_cross_stand_ins() {
    let present = [CROSS_BUILDER, NATIVE_GCC_BUILDER, MUSL_BUILDER]
        .iter()
        .all(|image| docker(&["image", "inspect", image]).status.success())
        && docker(&[
            "image",
            "inspect",
            "--format",
            "{{index .Config.Labels \"org.cargo-image.platforms\"}}",
            SLIM_STAND_IN,
        ])
        .stdout
        .starts_with(b"linux/amd64,linux/arm64");
    if !present {
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/stand-in-images-cross.sh"))
            .status()
            .expect("running scripts/stand-in-images-cross.sh");
        assert!(status.success(), "scripts/stand-in-images-cross.sh failed");
    }
    assert!(
        Path::new("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists(),
        "QEMU is not registered for aarch64: `.ci/cross.sh` provisions it"
    );
}

/// Set to skip every scenario on purpose; CI never sets it. Without it, a machine where no
/// engine answers skips them with a printed reason, except under CI (`CI` set), where that
/// fails.
pub const SKIP_VAR: &str = "CARGO_IMAGE_E2E_SKIP";

/// The repository root (the parent of this crate, `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate has a parent directory")
        .to_path_buf()
}

/// The `cargo-image` binary (`cargo-image/src/main.rs`), built by `cargo build` once per
/// test binary. Cargo sets `CARGO_BIN_EXE_*` only for the tests of the package that has
/// the binary, and these tests live in a package of their own; cargo's artifact messages
/// say where the binary is, whatever the target directory.
pub fn cargo_image_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        eprintln!("[e2e] building the cargo-image binary (cargo build -p cargo-image)");
        let out = Command::new(cargo())
            .args([
                "build",
                "--quiet",
                "--package",
                "cargo-image",
                "--bin",
                "cargo-image",
                "--message-format",
                "json-render-diagnostics",
                "--manifest-path",
            ])
            .arg(repo_root().join("Cargo.toml"))
            .stdin(Stdio::null())
            .output()
            .expect("running cargo build -p cargo-image");
        assert!(
            out.status.success(),
            "cargo build -p cargo-image failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "cargo-image")
            .and_then(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo build -p cargo-image reported no cargo-image executable")
    })
    .clone()
}

/// `--builder-image` and `--base-image` for every stand-in: tests never rely on the
/// fallback to stand-ins, and never on a pull.
pub fn overrides() -> Vec<String> {
    vec![
        "--builder-image".into(),
        BUILDER.into(),
        "--base-image".into(),
        "distroless-cc=cargo-image-stand-in/distroless-cc:trixie".into(),
        "--base-image".into(),
        "distroless-static=cargo-image-stand-in/distroless-static:trixie".into(),
        "--base-image".into(),
        "debian-slim=cargo-image-stand-in/debian-slim:trixie".into(),
    ]
}

// ----------------------------------------------------------------------------------------
// One scenario at a time, with its own run id and clean-up.

static SERIAL: Mutex<()> = Mutex::new(());
static STAND_INS_READY: Once = Once::new();

/// A running scenario: holds the global lock (builds run one at a time), names everything
/// it creates after its run id, and removes it all when dropped.
pub struct Scenario {
    pub name: &'static str,
    pub id: String,
    pub started: Instant,
    /// Compose projects to take down: (project, compose files).
    compose: Mutex<Vec<(String, Vec<PathBuf>)>>,
    pub tmp: tempfile::TempDir,
    /// The xtask binary, pinned for the scenario (see [`pin_binary`]).
    pub bin: PathBuf,
    _serial: MutexGuard<'static, ()>,
}

/// Starts a scenario, or returns `None` when the e2e tests are switched off.
pub fn scenario(name: &'static str) -> Option<Scenario> {
    if std::env::var_os(SKIP_VAR).is_some() {
        eprintln!("[e2e] {name}: skipped ({SKIP_VAR} is set)");
        return None;
    }
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(why) = engine_answers() {
        // Under CI (`.ci/run` sets CI) the engine is part of the job: its absence fails.
        assert!(
            std::env::var_os("CI").is_none(),
            "the e2e tests need a running Docker engine (`bash .ci/engine.sh start`): {why}"
        );
        eprintln!(
            "[e2e] {name}: skipped: no Docker engine answers ({why}); start one with \
             `bash .ci/engine.sh start` (under CI this fails)"
        );
        return None;
    }
    STAND_INS_READY.call_once(ensure_stand_ins);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let id = format!(
        "{:x}{:06x}-{}",
        std::process::id(),
        nanos % 0x100_0000,
        name.replace('_', "-")
    );
    let tmp = tempfile::Builder::new()
        .prefix(&format!("cargo-image-e2e-{name}-"))
        .tempdir()
        .expect("creating a temporary directory");
    let bin = pin_binary(tmp.path());
    eprintln!("[e2e] {name}: start (run id {id})");
    Some(Scenario {
        name,
        id,
        started: Instant::now(),
        compose: Mutex::new(Vec::new()),
        tmp,
        bin,
        _serial: serial,
    })
}

/// Whether `docker info` reaches an engine, or why not.
fn engine_answers() -> Result<(), String> {
    let out = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map_err(|e| format!("running `docker info`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// A hard link (or copy) of the cargo-image binary in the scenario's directory: a `cargo
/// build` running meanwhile (another checkout's tests, an editor) replaces the one in `target/`,
/// and a scenario's builds must all come from one binary.
fn pin_binary(dir: &Path) -> PathBuf {
    let original = cargo_image_bin();
    let pinned = dir.join("cargo-image");
    if std::fs::hard_link(&original, &pinned).is_err() {
        std::fs::copy(&original, &pinned).expect("copying the cargo-image binary");
    }
    pinned
}

fn ensure_stand_ins() {
    let missing = STAND_INS.iter().any(|image| {
        !Command::new("docker")
            .args(["image", "inspect", image])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    });
    if missing {
        eprintln!("[e2e] building the stand-in base images (scripts/stand-in-images.sh)");
        let status = Command::new("bash")
            .arg("scripts/stand-in-images.sh")
            .current_dir(repo_root())
            .status()
            .expect("running scripts/stand-in-images.sh");
        assert!(status.success(), "scripts/stand-in-images.sh failed");
    }
}

impl Scenario {
    /// The label given to every image and container: `org.cargo-image.test=<id>`.
    pub fn label(&self) -> String {
        format!("{LABEL}={}", self.id)
    }

    /// The repository part of every tag this scenario builds.
    pub fn prefix(&self) -> String {
        format!("cargo-image-e2e-{}", self.id)
    }

    /// The tag a binary's image gets: `cargo-image-e2e-<id>/<bin>:<version>`.
    pub fn tag(&self, bin: &str, version: &str) -> String {
        format!("{}/{bin}:{version}", self.prefix())
    }

    /// A path in this scenario's temporary directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// Copies the example workspace (without `target/`) to `<tmp>/<dir>`; returns its root.
    pub fn copy_example(&self, dir: &str) -> PathBuf {
        let dest = self.path(dir);
        copy_tree(&repo_root().join("example-workspace"), &dest);
        dest
    }

    /// Writes a one-package workspace (`[package]`, `publish = false`, and a `[workspace]`
    /// with no other member) with a `src/main.rs` to `<tmp>/<dir>`, with the fixture builder
    /// the hermetic tests use, and its `Cargo.lock` (made offline: no dependencies);
    /// returns its root.
    pub fn tiny_workspace(&self, dir: &str, name: &str, main_rs: &str) -> PathBuf {
        support::Fixture::new(dir)
            .root_package(name, |p| {
                p.package_key("publish", "false")
                    .source("src/main.rs", main_rs)
            })
            .build_in(self.tmp.path())
    }

    /// `cargo xtask image --manifest-path <root>/Cargo.toml` with the stand-in overrides,
    /// this scenario's label and tag template, no size comparison, then `extra`.
    pub fn image(&self, root: &Path, extra: &[&str]) -> Run {
        self.image_with_env(root, extra, &[])
    }

    /// Like [`Scenario::image`], with more environment for the xtask.
    pub fn image_with_env(&self, root: &Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
        let mut args: Vec<String> = vec![
            "image".into(),
            "--manifest-path".into(),
            root.join("Cargo.toml").display().to_string(),
        ];
        args.extend(overrides());
        args.extend([
            "--label".into(),
            self.label(),
            "--no-size-comparison".into(),
        ]);
        if !extra.contains(&"--tag") {
            args.extend([
                "--tag".into(),
                format!("{}/{{bin}}:{{version}}", self.prefix()),
            ]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        self.xtask(&args, env, Duration::from_secs(15 * 60))
    }

    /// Runs the scenario's xtask binary (with `CI=1`: plain progress lines) and waits at
    /// most `limit`; a process still running then is killed and the test fails.
    pub fn xtask<S: AsRef<str>>(&self, args: &[S], env: &[(&str, &str)], limit: Duration) -> Run {
        let child = spawn_xtask(&self.bin, args, env);
        let (stdout_rx, stderr_handle) = collect(child.stdout_handle, child.stderr_handle);
        finish(child.child, stdout_rx, stderr_handle, limit, None)
    }

    /// Like [`Scenario::xtask`], calling `on_line` with each stdout line while it runs (and
    /// with `None` when no line came for a moment).
    pub fn xtask_watching<S: AsRef<str>>(
        &self,
        args: &[S],
        env: &[(&str, &str)],
        limit: Duration,
        on_line: &mut dyn FnMut(Option<&str>),
    ) -> Run {
        let child = spawn_xtask(&self.bin, args, env);
        let (stdout_rx, stderr_handle) = collect(child.stdout_handle, child.stderr_handle);
        finish(child.child, stdout_rx, stderr_handle, limit, Some(on_line))
    }

    /// Like [`Scenario::image`] but asserts success.
    pub fn image_ok(&self, root: &Path, extra: &[&str]) -> Run {
        let run = self.image(root, extra);
        assert!(
            run.status.success(),
            "cargo xtask image {extra:?} failed:\n{}",
            run.describe()
        );
        run
    }

    /// `docker run -d` with this scenario's label; returns the container id.
    pub fn run_detached(&self, args: &[&str]) -> String {
        let mut full = vec!["run", "-d", "--label"];
        let label = self.label();
        full.push(&label);
        full.extend_from_slice(args);
        docker_ok(&full).trim().to_string()
    }

    /// `docker run --rm` with this scenario's label; returns stdout (asserts success).
    pub fn run_once(&self, args: &[&str]) -> String {
        let mut full = vec!["run", "--rm", "--label"];
        let label = self.label();
        full.push(&label);
        full.extend_from_slice(args);
        docker_ok(&full)
    }

    /// Remembers a compose project to take down (`down -v --rmi local`) at the end.
    pub fn track_compose(&self, project: &str, files: &[PathBuf]) {
        self.compose
            .lock()
            .unwrap()
            .push((project.to_string(), files.to_vec()));
    }

    /// Everything with this scenario's label: containers first, then images.
    fn clean_up(&self) {
        for (project, files) in self.compose.lock().unwrap().drain(..) {
            let mut args = vec!["compose".to_string()];
            for f in &files {
                args.extend(["-f".into(), f.display().to_string()]);
            }
            args.extend(
                [
                    "-p",
                    &project,
                    "down",
                    "-v",
                    "--rmi",
                    "local",
                    "--remove-orphans",
                    "--timeout",
                    "5",
                ]
                .map(String::from),
            );
            let _ = docker(&args);
        }
        let filter = format!("label={}", self.label());
        let containers = docker(&["ps", "-aq", "--filter", &filter]).stdout_str();
        let ids: Vec<&str> = containers.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids.iter().copied());
            let _ = docker(&args);
        }
        // Tags first (an image with several tags is only gone with its last), then the
        // untagged results (the test target's).
        let listed = docker(&[
            "images",
            "-a",
            "--filter",
            &filter,
            "--format",
            "{{.Repository}}:{{.Tag}} {{.ID}}",
        ]);
        let mut refs = Vec::new();
        for line in listed.stdout_str().lines() {
            let mut parts = line.split_whitespace();
            let (Some(reference), Some(id)) = (parts.next(), parts.next()) else {
                continue;
            };
            if reference.contains("<none>") {
                refs.push(id.to_string());
            } else {
                refs.push(reference.to_string());
            }
        }
        refs.sort();
        refs.dedup();
        if !refs.is_empty() {
            let mut args = vec!["rmi".to_string(), "-f".to_string()];
            args.extend(refs);
            let _ = docker(&args);
        }
        let left = docker(&["images", "-aq", "--filter", &filter]);
        if !left.stdout_str().trim().is_empty() {
            eprintln!(
                "[e2e] {}: images left with label {}: {}",
                self.name,
                self.label(),
                left.stdout_str().trim()
            );
        }
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        self.clean_up();
        let outcome = if std::thread::panicking() {
            "FAILED"
        } else {
            "ok"
        };
        eprintln!(
            "[e2e] {}: {outcome} in {:.1}s",
            self.name,
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// Copies a directory tree, leaving out every `target` directory.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let name = entry.file_name();
        let dest = to.join(&name);
        if kind.is_dir() {
            if name != "target" {
                copy_tree(&entry.path(), &dest);
            }
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Replaces exactly `count` occurrences of `from` in a file (asserts the count).
pub fn edit(path: &Path, from: &str, to: &str, count: usize) {
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        count,
        "expected {count} occurrence(s) of {from:?} in {}",
        path.display()
    );
    std::fs::write(path, text.replace(from, to)).unwrap();
}

pub fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

// ----------------------------------------------------------------------------------------
// Running commands.

/// What a command did.
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub seconds: f64,
}

impl Run {
    pub fn describe(&self) -> String {
        format!(
            "exit: {}, after {:.1}s\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.seconds,
            tail(&self.stdout, 12_000),
            tail(&self.stderr, 12_000)
        )
    }

    /// The progress lines (`CACHED`/`DONE`): (cached, step name).
    pub fn steps(&self) -> Vec<(bool, String)> {
        self.stdout
            .lines()
            .filter_map(|l| {
                if let Some(rest) = l.strip_prefix("CACHED") {
                    Some((true, rest.trim().to_string()))
                } else if let Some(rest) = l.strip_prefix("DONE") {
                    // `DONE    6.5s <name>`
                    let rest = rest.trim_start();
                    let name = rest.split_once(' ').map(|(_, n)| n).unwrap_or("");
                    Some((false, name.trim().to_string()))
                } else {
                    None
                }
            })
            .collect()
    }
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

pub trait OutputExt {
    fn stdout_str(&self) -> String;
}

impl OutputExt for Output {
    fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

pub fn docker<S: AsRef<str>>(args: &[S]) -> Output {
    Command::new("docker")
        .args(args.iter().map(|a| a.as_ref()))
        .stdin(Stdio::null())
        .output()
        .expect("running docker")
}

/// Runs `docker ARGS`, asserts success, returns stdout.
pub fn docker_ok<S: AsRef<str>>(args: &[S]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {} failed ({}):\n{}\n{}",
        args.iter()
            .map(|a| a.as_ref())
            .collect::<Vec<_>>()
            .join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout_str()
}

struct Spawned {
    child: Child,
    stdout_handle: std::process::ChildStdout,
    stderr_handle: std::process::ChildStderr,
}

fn spawn_xtask<S: AsRef<str>>(bin: &Path, args: &[S], env: &[(&str, &str)]) -> Spawned {
    let args: Vec<&str> = args.iter().map(|a| a.as_ref()).collect();
    eprintln!("[e2e] $ cargo xtask {}", args.join(" "));
    // The `cargo-image` binary, called as cargo calls it (`cargo image …`).
    let mut cmd = Command::new(bin);
    cmd.arg("image")
        .args(&args)
        .env("CI", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("starting the xtask binary");
    let stdout_handle = child.stdout.take().unwrap();
    let stderr_handle = child.stderr.take().unwrap();
    Spawned {
        child,
        stdout_handle,
        stderr_handle,
    }
}

/// Reads stdout line by line into a channel (so a test can react to progress) and stderr
/// whole in a thread.
fn collect(
    stdout: std::process::ChildStdout,
    stderr: std::process::ChildStderr,
) -> (mpsc::Receiver<String>, JoinHandle<String>) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => {
                    if tx.send(l).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut s);
        s
    });
    (rx, err)
}

/// Sees each stdout line as it arrives (`None`: no line for a moment).
type LineWatcher<'a> = dyn FnMut(Option<&str>) + 'a;

/// Waits for the process; `on_line` sees each stdout line as it arrives.
fn finish(
    mut child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: JoinHandle<String>,
    limit: Duration,
    mut on_line: Option<&mut LineWatcher<'_>>,
) -> Run {
    let started = Instant::now();
    let mut lines = Vec::new();
    let status = loop {
        match stdout.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(f) = on_line.as_mut() {
                    f(Some(&line));
                }
                lines.push(line);
                continue;
            }
            Err(mpsc::RecvTimeoutError::Timeout) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                if let Some(f) = on_line.as_mut() {
                    f(None);
                }
            }
        }
        if let Some(status) = child.try_wait().expect("waiting for xtask") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            while let Ok(line) = stdout.try_recv() {
                lines.push(line);
            }
            panic!(
                "cargo xtask did not finish within {}s (killed); stdout so far:\n{}",
                limit.as_secs(),
                tail(&lines.join("\n"), 12_000)
            );
        }
    };
    // The rest of stdout (the pipe closes when the process is gone).
    let drain_deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match stdout.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => lines.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() > drain_deadline => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    let stderr = stderr.join().unwrap_or_default();
    // The steps that took a while, for the log.
    for line in &lines {
        if let Some(rest) = line.strip_prefix("DONE") {
            let secs: f64 = rest
                .split_whitespace()
                .next()
                .and_then(|s| s.trim_end_matches('s').parse().ok())
                .unwrap_or(0.0);
            if secs >= 2.0 {
                eprintln!("[e2e]      {}", line.chars().take(160).collect::<String>());
            }
        }
    }
    let run = Run {
        status,
        stdout: lines.join("\n"),
        stderr,
        seconds: started.elapsed().as_secs_f64(),
    };
    eprintln!(
        "[e2e]   -> {} in {:.1}s{}",
        run.status,
        run.seconds,
        if run.status.success() {
            String::new()
        } else {
            format!("; stderr: {}", tail(run.stderr.trim(), 2_000))
        }
    );
    run
}

// ----------------------------------------------------------------------------------------
// Containers and HTTP.

/// The host port `docker port` reports for a container's `8080/tcp` (published on
/// 127.0.0.1).
pub fn published_port(container: &str, port: &str) -> u16 {
    let out = docker_ok(&["port", container, port]);
    parse_port(&out).unwrap_or_else(|| panic!("no published port in {out:?}"))
}

/// `127.0.0.1:32768` (one per line; the IPv4 one wins) → 32768.
pub fn parse_port(out: &str) -> Option<u16> {
    out.lines()
        .map(str::trim)
        .find(|l| l.starts_with("127.0.0.1:") || l.starts_with("0.0.0.0:"))
        .or_else(|| out.lines().map(str::trim).find(|l| !l.is_empty()))
        .and_then(|l| l.rsplit(':').next())
        .and_then(|p| p.parse().ok())
}

/// One `GET path` on 127.0.0.1:port: (status, body), or why it failed.
pub fn http_get(port: u16, path: &str) -> Result<(u16, String), String> {
    http_get_with(port, path, &[])
}

/// `GET path` with extra header lines (`"Authorization: Bearer …"`).
pub fn http_get_with(port: u16, path: &str, headers: &[&str]) -> Result<(u16, String), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    // One write: a request split over several segments meets servers that read once.
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}Connection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP header in {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Polls `GET path` until `accept` takes the answer, at most `limit`; returns the body.
pub fn poll_http(
    port: u16,
    path: &str,
    limit: Duration,
    mut accept: impl FnMut(u16, &str) -> bool,
    context: &dyn Fn() -> String,
) -> String {
    let started = Instant::now();
    let mut last = String::from("(no attempt)");
    while started.elapsed() < limit {
        match http_get(port, path) {
            Ok((status, body)) => {
                if accept(status, &body) {
                    return body;
                }
                last = format!("status {status}, body {body:?}");
            }
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "GET 127.0.0.1:{port}{path} did not give the expected answer within {}s; last: {last}\n{}",
        limit.as_secs(),
        context()
    );
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

/// The regular files of a container's file system (`docker create` + `docker export`):
/// (path, size, contents).
pub fn exported_files(image: &str) -> Vec<(String, u64, Vec<u8>)> {
    let container = docker_ok(&["create", image]).trim().to_string();
    let out = Command::new("docker")
        .args(["export", &container])
        .output()
        .expect("docker export");
    let _ = docker(&["rm", "-f", &container]);
    assert!(out.status.success(), "docker export {image} failed");
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    let mut files = Vec::new();
    for entry in archive.entries().expect("reading the export") {
        let mut entry = entry.expect("an export entry");
        let path = entry.path().unwrap().display().to_string();
        let kind = entry.header().entry_type();
        let size = entry.header().size().unwrap_or(0);
        let mut data = Vec::new();
        if kind.is_file() {
            entry.read_to_end(&mut data).unwrap();
        }
        files.push((path, if kind.is_file() { size } else { 0 }, data));
    }
    files
}

/// `docker inspect -f FORMAT X`, trimmed.
pub fn inspect(what: &str, format: &str) -> String {
    docker_ok(&["inspect", "-f", format, what])
        .trim()
        .to_string()
}

// ----------------------------------------------------------------------------------------
// A TCP forwarder to the engine's socket, to cut the connection in the middle of a build.

pub struct Forwarder {
    pub port: u16,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<()>>,
}

impl Forwarder {
    /// Listens on 127.0.0.1 (a free port) and relays every connection to `socket`.
    pub fn start(socket: &Path) -> Forwarder {
        Forwarder::start_on("127.0.0.1", socket)
    }

    /// Listens on `address` (a free port) and relays every connection to `socket`.
    pub fn start_on(address: &str, socket: &Path) -> Forwarder {
        let listener = TcpListener::bind(format!("{address}:0")).expect("binding the forwarder");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let socket = socket.to_path_buf();
        let accept = {
            let stop = stop.clone();
            let conns = conns.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            client.set_nonblocking(false).unwrap();
                            let Ok(engine) = UnixStream::connect(&socket) else {
                                let _ = client.shutdown(Shutdown::Both);
                                continue;
                            };
                            conns.lock().unwrap().push(client.try_clone().unwrap());
                            relay(client, engine);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        Err(_) => break,
                    }
                }
                // Dropping the listener refuses new connections.
            })
        };
        Forwarder {
            port,
            stop,
            conns,
            accept: Some(accept),
        }
    }

    /// Stops accepting and closes every connection, as if the engine had gone away.
    pub fn cut(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    pub fn connections(&self) -> usize {
        self.conns.lock().unwrap().len()
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Copies bytes both ways; when either side ends, both are shut down.
fn relay(client: TcpStream, engine: UnixStream) {
    let (c2, e2) = (client.try_clone().unwrap(), engine.try_clone().unwrap());
    std::thread::spawn(move || {
        let (mut from, mut to) = (client, engine);
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
    std::thread::spawn(move || {
        let (mut from, mut to) = (e2, c2);
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}

/// This machine's first IPv4 address that is not a loopback one (what a remote client would
/// dial), from `ip -4 -o addr`.
pub fn non_loopback_ipv4() -> Option<String> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let addr = l.split_whitespace().nth(3)?.split('/').next()?.to_string();
        (!addr.starts_with("127.")).then_some(addr)
    })
}

// ----------------------------------------------------------------------------------------
// A second engine in its own network namespace, as laptop engines are.

/// A dockerd (containerd store, own data root) started in a network namespace of its own
/// (`unshare --net`), reached through a unix socket on this machine's file system: what
/// Docker Desktop, colima, OrbStack and rootless Docker give a user. It cannot reach this
/// machine's 127.0.0.1. Stopped, and its data removed, on drop.
pub struct SecondEngine {
    pub dir: PathBuf,
    pub socket: PathBuf,
    child: Child,
}

impl SecondEngine {
    /// Starts it under `dir` (short: the socket path must fit in 108 bytes) and waits for
    /// it to answer.
    pub fn start(dir: &Path) -> SecondEngine {
        std::fs::create_dir_all(dir).unwrap();
        let socket = dir.join("docker.sock");
        std::fs::write(
            dir.join("daemon.json"),
            "{\"features\": {\"containerd-snapshotter\": true}}\n",
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let script = format!(
            "ip link set lo up && exec dockerd --config-file {d}/daemon.json --data-root {d}/data \
             --exec-root {d}/exec --pidfile {d}/dockerd.pid -H unix://{d}/docker.sock",
            d = dir.display()
        );
        let child = Command::new("unshare")
            .args(["--net", "--fork", "sh", "-c", &script])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting dockerd with `unshare --net` (needs root)");
        let mut engine = SecondEngine {
            dir: dir.to_path_buf(),
            socket,
            child,
        };
        let started = Instant::now();
        loop {
            if engine
                .docker(&["info", "--format", "{{.ServerVersion}}"])
                .status
                .success()
            {
                break;
            }
            if let Ok(Some(status)) = engine.child.try_wait() {
                panic!(
                    "the second dockerd exited ({status}):\n{}",
                    std::fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the second dockerd did not answer within 60 s:\n{}",
                std::fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        engine
    }

    /// `unix://…` for DOCKER_HOST.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// `docker -H <this engine> ARGS`.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .args(args)
            .env_remove("DOCKER_CONTEXT")
            .output()
            .expect("running docker")
    }

    /// Copies images from the main engine into this one (`docker save | docker load`).
    pub fn load(&self, images: &[&str]) {
        let mut save = Command::new("docker")
            .arg("save")
            .args(images)
            .stdout(Stdio::piped())
            .spawn()
            .expect("running docker save");
        let load = Command::new("docker")
            .arg("-H")
            .arg(self.host())
            .arg("load")
            .stdin(save.stdout.take().unwrap())
            .output()
            .expect("running docker load");
        assert!(
            save.wait().unwrap().success(),
            "docker save {images:?} failed"
        );
        assert!(
            load.status.success(),
            "docker load into the second engine failed: {}",
            String::from_utf8_lossy(&load.stderr)
        );
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containerd and unmount; then its files go.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("dockerd.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ----------------------------------------------------------------------------------------
// Searching images for bytes.

/// Every blob of `docker save IMAGE` (layers decompressed): (name, bytes).
pub fn saved_blobs(image: &str) -> Vec<(String, Vec<u8>)> {
    let out = Command::new("docker")
        .args(["save", image])
        .output()
        .expect("docker save");
    assert!(
        out.status.success(),
        "docker save {image} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    let mut blobs = Vec::new();
    for entry in archive.entries().expect("reading docker save output") {
        let mut entry = entry.unwrap();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().unwrap().display().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        let data = decompress(&name, data);
        blobs.push((name, data));
    }
    blobs
}

/// gzip and zstd layers are unpacked with the system's tools (std has no inflate).
fn decompress(name: &str, data: Vec<u8>) -> Vec<u8> {
    let tool = if data.starts_with(&[0x1f, 0x8b]) {
        "gzip"
    } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "zstd"
    } else {
        return data;
    };
    let mut child = Command::new(tool)
        .args(["-dc"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {tool} to unpack {name}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{tool} -dc failed on {name}");
    out.stdout
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
