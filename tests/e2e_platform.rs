//! End-to-end tests of multi-platform images on the real engine: cross-compiled
//! two-platform builds pushed to a real registry (Debian's `docker-registry`, started here
//! on 127.0.0.1), read back, the arm64 image run under QEMU, reproducible digests, registry
//! cache, the errors of bad platform and registry input, and a registry that dies mid-push.
//!
//! Needs what `.ci/run` provisions: the engine with buildx and the containerd image store,
//! `.ci/cross.sh` (QEMU binfmt, docker-registry, htpasswd) and the stand-in images (built
//! here on demand by `scripts/stand-in-images-cross.sh`, which is idempotent).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod e2e;

use e2e::{
    cargo_image_bin, ensure_cross_stand_ins, scenario, Scenario, CROSS_BUILDER, NATIVE_GCC_BUILDER,
};

/// What every test starts with: the shared harness's scenario (one at a time, since builds
/// compete for two cores and some tests prune the builder cache; skipped without an
/// engine, except under CI; everything labelled with its id is removed at its end), the
/// cross stand-ins, the run id and the label.
fn setup(name: &'static str) -> Option<(Scenario, String, String)> {
    let s = scenario(name)?;
    ensure_cross_stand_ins();
    let (id, label) = (s.id.clone(), s.label());
    Some((s, id, label))
}

fn sh(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"))
}

/// A registry on 127.0.0.1 with storage in a temporary directory.
struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start(auth: bool) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if auth {
            let htpasswd = dir.path().join("htpasswd");
            let out = sh(Command::new("htpasswd").args([
                "-Bbc",
                htpasswd.to_str().unwrap(),
                "tester",
                "secret-password",
            ]));
            assert!(
                out.status.success(),
                "htpasswd: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: cargo-image-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (Debian package; `.ci/cross.sh` installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Registry {
            child,
            port,
            _dir: dir,
        }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// GET a registry path; returns (headers, body).
    fn get(&self, path: &str, accept: &str) -> (String, Vec<u8>) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n",
            self.host()
        )
        .unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer");
        (
            String::from_utf8_lossy(&raw[..split]).to_string(),
            raw[split + 4..].to_vec(),
        )
    }

    fn index(&self, repo: &str, tag: &str) -> (String, serde_json::Value) {
        let (head, body) = self.get(
            &format!("/v2/{repo}/manifests/{tag}"),
            "application/vnd.oci.image.index.v1+json",
        );
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let digest = head
            .lines()
            .find_map(|l| l.strip_prefix("Docker-Content-Digest: "))
            .unwrap_or("")
            .trim()
            .to_string();
        (digest, serde_json::from_slice(&body).unwrap())
    }
}

impl Registry {
    /// SIGKILL: the registry is gone at once, as when its machine or container dies.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP relay in front of a registry that notices when a push starts uploading (a request
/// to `/blobs/uploads/`), so a test can kill the registry in the middle of a push rather
/// than before or after it.
struct UploadWatch {
    port: u16,
    uploading: Arc<AtomicBool>,
}

impl UploadWatch {
    fn start(registry_port: u16) -> UploadWatch {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let uploading = Arc::new(AtomicBool::new(false));
        let flag = uploading.clone();
        // Runs until the test process ends: the listener is tiny, and a closed registry
        // behind it makes every later connection close at once.
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", registry_port)) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let flag = flag.clone();
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let (mut from, mut to) = (client, server);
                    let mut buf = [0u8; 64 * 1024];
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if e2e::contains(&buf[..n], b"/blobs/uploads/") {
                            flag.store(true, Ordering::SeqCst);
                        }
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Both);
                    let _ = from.shutdown(Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let (mut from, mut to) = (s2, c2);
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(Shutdown::Both);
                    let _ = from.shutdown(Shutdown::Both);
                });
            }
        });
        UploadWatch { port, uploading }
    }
}

/// A one-binary workspace in git (SOURCE_DATE_EPOCH comes from its commit) whose program
/// prints its version and architecture. `dep` adds a crates.io dependency (itoa); without
/// it the image has `init = true`.
fn tiny_workspace(name: &str, dep: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    let deps = if dep { "itoa = \"1\"\n" } else { "" };
    // Without the dependency, the program runs under our init: its aarch64 system calls
    // (clone, execve, wait4) then run under QEMU wherever the arm64 image runs.
    let init = if dep { "" } else { "init = true\n" };
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n\
             description = \"multi-platform test, with a comma, and \\\"quotes\\\"\"\n\n\
             [dependencies]\n{deps}\n[package.metadata.image]\nruntime = \"scratch\"\n{init}"
        ),
    )
    .unwrap();
    let body = if dep {
        "let mut b = itoa::Buffer::new(); println!(\"{} {} on {} ({})\", env!(\"CARGO_PKG_NAME\"), env!(\"CARGO_PKG_VERSION\"), std::env::consts::ARCH, b.format(42));"
    } else {
        "println!(\"{} {} on {}\", env!(\"CARGO_PKG_NAME\"), env!(\"CARGO_PKG_VERSION\"), std::env::consts::ARCH);"
    };
    std::fs::write(
        root.join("src/main.rs"),
        format!("fn main() {{\n    {body}\n}}\n"),
    )
    .unwrap();
    let mut lock = Command::new("cargo");
    lock.arg("generate-lockfile").current_dir(root);
    if !dep {
        lock.arg("--offline");
    }
    assert!(sh(&mut lock).status.success(), "cargo generate-lockfile");
    for args in [
        vec!["init", "-q"],
        vec!["add", "-A"],
        vec![
            "-c",
            "user.email=test@example.com",
            "-c",
            "user.name=test",
            "commit",
            "-qm",
            "fixture",
        ],
    ] {
        assert!(sh(Command::new("git").args(&args).current_dir(root))
            .status
            .success());
    }
    dir
}

/// Runs `cargo image image` for a workspace with the cross stand-in builder and a test label.
fn image(ws: &Path, label: &str, args: &[&str]) -> Output {
    image_with(CROSS_BUILDER, ws, label, args)
}

/// [`image`] with another builder image.
fn image_with(builder: &str, ws: &Path, label: &str, args: &[&str]) -> Output {
    let manifest = ws.join("Cargo.toml");
    let mut cmd = Command::new(cargo_image_bin());
    cmd.args([
        "image",
        "image",
        "--manifest-path",
        manifest.to_str().unwrap(),
    ])
    .args([
        "--builder-image",
        builder,
        "--label",
        label,
        "--no-size-comparison",
    ])
    .args(args)
    .env("CI", "1")
    .env_remove("SOURCE_DATE_EPOCH");
    sh(&mut cmd)
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Issue 13 §5: on a builder like the official `rust:*-slim` (the arm64 standard library
/// added, the native gcc only) an arm64 image links and runs: the builder stage installs
/// the cross gcc although the workspace lists no package. Without it the link fails with
/// `linking with cc failed … file in wrong format`.
#[test]
fn arm64_links_on_a_builder_with_only_the_native_gcc() {
    let Some((_s, id, label)) = setup("p-native-gcc") else {
        return;
    };
    let ws = tiny_workspace("ng-tiny", false);
    let tag = format!("ng-tiny-{id}:arm64");
    let out = image_with(
        NATIVE_GCC_BUILDER,
        ws.path(),
        &label,
        &["--platform", "linux/arm64", "--tag", &tag],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("gcc-aarch64-linux-gnu"),
        "the builder stage did not install the cross gcc:\n{}",
        text(&out)
    );
    let run = sh(Command::new("docker").args(["run", "--rm", "--platform", "linux/arm64", &tag]));
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).trim(),
        "ng-tiny 0.1.0 on aarch64"
    );
}

#[test]
fn two_platform_index_is_pushed_annotated_and_its_arm64_image_runs() {
    let Some((_s, id, label)) = setup("p-push") else {
        return;
    };
    let registry = Registry::start(false);
    let ws = tiny_workspace("mp-tiny", false);
    let tag = format!("{}/mp-tiny-{id}:{{version}}", registry.host());
    let out = image(
        ws.path(),
        &label,
        &[
            "--platform",
            "linux/amd64,linux/arm64",
            "--push",
            "--tag",
            &tag,
        ],
    );
    assert!(out.status.success(), "{}", text(&out));

    let repo = format!("mp-tiny-{id}");
    let (_, index) = registry.index(&repo, "0.1.0");
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let mut platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let annotations = &index["annotations"];
    assert_eq!(annotations["org.opencontainers.image.version"], "0.1.0");
    assert_eq!(annotations["org.opencontainers.image.title"], "mp-tiny");
    assert_eq!(
        annotations["org.opencontainers.image.description"],
        "multi-platform test, with a comma, and \"quotes\""
    );
    assert_eq!(annotations["org.opencontainers.image.licenses"], "MIT");

    // Pull the arm64 image back and run it under QEMU.
    let image_ref = format!("{}/{repo}:0.1.0", registry.host());
    let pulled = sh(Command::new("docker").args(["pull", "--platform", "linux/arm64", &image_ref]));
    assert!(pulled.status.success(), "{}", text(&pulled));
    let _ = sh(Command::new("docker").args([
        "image",
        "tag",
        &image_ref,
        &format!("mp-tiny-{id}:pulled"),
    ]));
    let ran =
        sh(Command::new("docker").args(["run", "--rm", "--platform", "linux/arm64", &image_ref]));
    assert!(ran.status.success(), "{}", text(&ran));
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout).trim(),
        "mp-tiny 0.1.0 on aarch64"
    );

    // Its binary really is an aarch64 ELF (e_machine 183), not an emulated amd64 one.
    let name = format!("mp-tiny-elf-{id}");
    assert!(sh(Command::new("docker").args([
        "create",
        "--platform",
        "linux/arm64",
        "--name",
        &name,
        &image_ref
    ]))
    .status
    .success());
    let dest = tempfile::tempdir().unwrap();
    let bin = dest.path().join("bin");
    let cp = sh(Command::new("docker").args([
        "cp",
        &format!("{name}:/usr/local/bin/mp-tiny"),
        bin.to_str().unwrap(),
    ]));
    let _ = sh(Command::new("docker").args(["rm", "-f", &name]));
    assert!(cp.status.success(), "{}", text(&cp));
    let elf = std::fs::read(&bin).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    assert_eq!(
        u16::from_le_bytes([elf[18], elf[19]]),
        183,
        "e_machine is not EM_AARCH64"
    );
    let _ = sh(Command::new("docker").args([
        "image",
        "rm",
        "-f",
        &image_ref,
        &format!("mp-tiny-{id}:pulled"),
    ]));
}

#[test]
fn two_builds_from_clean_caches_give_the_same_digest() {
    let Some((_s, id, label)) = setup("p-digest") else {
        return;
    };
    let registry = Registry::start(false);
    let ws = tiny_workspace("repro", false);
    let mut digests = Vec::new();
    for run in ["a", "b"] {
        let tag = format!("{}/repro-{id}:{run}", registry.host());
        let out = image(
            ws.path(),
            &label,
            &[
                "--platform",
                "linux/amd64,linux/arm64",
                "--push",
                "--no-cache",
                "--tag",
                &tag,
            ],
        );
        assert!(out.status.success(), "{}", text(&out));
        digests.push(registry.index(&format!("repro-{id}"), run).0);
    }
    assert!(digests[0].starts_with("sha256:"), "{digests:?}");
    assert_eq!(digests[0], digests[1], "the two clean builds differ");
}

#[test]
fn registry_cache_rebuilds_without_recompiling_dependencies() {
    let Some((_s, id, label)) = setup("p-cache") else {
        return;
    };
    let registry = Registry::start(false);
    let ws = tiny_workspace("cached", true);
    let tag = format!("{}/cached-{id}:{{version}}", registry.host());
    let cache = format!(
        "type=registry,ref={}/cached-{id}:buildcache",
        registry.host()
    );
    let first = image(
        ws.path(),
        &label,
        &[
            "--platform",
            "linux/amd64,linux/arm64",
            "--push",
            "--tag",
            &tag,
            "--cache-to",
            &format!("{cache},mode=max"),
        ],
    );
    assert!(first.status.success(), "{}", text(&first));

    // A fresh engine state: the builder cache is gone, only the registry cache remains.
    let pruned = sh(Command::new("docker").args(["builder", "prune", "-af"]));
    assert!(pruned.status.success(), "{}", text(&pruned));
    let main = ws.path().join("src/main.rs");
    let mut src = std::fs::read_to_string(&main).unwrap();
    src.push_str("// edited\n");
    std::fs::write(&main, src).unwrap();

    let second = image(
        ws.path(),
        &label,
        &[
            "--platform",
            "linux/amd64,linux/arm64",
            "--push",
            "--tag",
            &tag,
            "--cache-from",
            &cache,
        ],
    );
    let log = text(&second);
    assert!(second.status.success(), "{log}");
    // buildx plain progress: `#12 [linux/arm64 deps 1/1] RUN cargo-image build`, then
    // `#12 CACHED` when the step came from the cache.
    let deps_steps: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("deps 1/1] RUN cargo-image build"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        deps_steps.len() >= 2,
        "no dependency steps for both platforms in:\n{log}"
    );
    for step in deps_steps {
        assert!(
            log.lines().any(|l| l.trim() == format!("{step} CACHED")),
            "dependency step {step} was rebuilt, not taken from the registry cache:\n{log}"
        );
    }
    let crate_layer_ran = log
        .lines()
        .any(|l| l.contains("cargo-image copy") && l.contains("DONE"))
        || log.contains("Compiling cached");
    assert!(crate_layer_ran, "the edited crate was not rebuilt:\n{log}");
}

#[test]
fn bad_platform_and_registry_input_fail_clearly() {
    let Some((_s, id, label)) = setup("p-input") else {
        return;
    };
    let ws = tiny_workspace("bad", false);

    let out = image(ws.path(), &label, &["--platform", "linux/s390x"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unknown platform `linux/s390x`"),
        "{}",
        text(&out)
    );

    // The host-toolchain stand-in has no aarch64 standard library and no rustup.
    let manifest = ws.path().join("Cargo.toml");
    let out = sh(Command::new(cargo_image_bin())
        .args([
            "image",
            "image",
            "--manifest-path",
            manifest.to_str().unwrap(),
        ])
        .args([
            "--builder-image",
            "cargo-image-stand-in/rust:latest",
            "--label",
            &label,
        ])
        .args(["--platform", "linux/arm64", "--no-size-comparison"])
        .env("CI", "1"));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no Rust standard library for aarch64-unknown-linux-gnu"),
        "{}",
        text(&out)
    );

    // A registry that wants credentials we do not have.
    let registry = Registry::start(true);
    let tag = format!("{}/bad-{id}:{{version}}", registry.host());
    let out = image(
        ws.path(),
        &label,
        &[
            "--platform",
            "linux/amd64,linux/arm64",
            "--push",
            "--tag",
            &tag,
        ],
    );
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("pushing") && log.contains("failed"), "{log}");
    assert!(
        log.contains("401")
            || log.to_lowercase().contains("unauthorized")
            || log.contains("authorization"),
        "{log}"
    );
    assert!(
        !log.contains(" pushed "),
        "a failed push was reported as pushed:\n{log}"
    );
    let (head, _) = registry.get(&format!("/v2/bad-{id}/tags/list"), "*/*");
    assert!(
        !head.starts_with("HTTP/1.1 200"),
        "the registry has tags after a failed push: {head}"
    );

    // A registry nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tag = format!("127.0.0.1:{closed}/bad-{id}:{{version}}");
    let out = image(
        ws.path(),
        &label,
        &["--platform", "linux/amd64", "--push", "--tag", &tag],
    );
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("connection refused") || log.contains("connect"),
        "{log}"
    );
}

/// A -sys crate cross-compiled for arm64 against the system library, with no package
/// configuration at all: libz-sys in the resolved graph infers `pkg-config` and
/// `zlib1g-dev` (installed as `zlib1g-dev:arm64`, multiarch), libz-sys finds it through
/// pkg-config, the binary links `libz.so.1` dynamically, and the library it needs is copied
/// from the builder into the distroless runtime (ELF NEEDED). The image runs under QEMU.
#[test]
fn link_packages_cross_compile_a_sys_crate_for_arm64() {
    let Some((_s, id, label)) = setup("p-link") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"zsys\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nlibz-sys = \"1.1\"\n\n\
         [package.metadata.image]\nruntime = \"distroless-cc\"\n",
    )
    .unwrap();
    std::fs::write(
        root.join("src/main.rs"),
        "fn main() {\n    // SAFETY: zlibVersion returns a static C string.\n    \
         let v = unsafe { std::ffi::CStr::from_ptr(libz_sys::zlibVersion()) };\n    \
         println!(\"zlib {} on {}\", v.to_string_lossy(), std::env::consts::ARCH);\n}\n",
    )
    .unwrap();
    assert!(sh(Command::new("cargo")
        .arg("generate-lockfile")
        .current_dir(root))
    .status
    .success());
    let image_ref = format!("zsys-{id}:0.1.0");
    let out = image(
        root,
        &label,
        &[
            "--platform",
            "linux/arm64",
            "--tag",
            &image_ref,
            "--base-image",
            "distroless-cc=cargo-image-stand-in/distroless-cc:trixie",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let ran =
        sh(Command::new("docker").args(["run", "--rm", "--platform", "linux/arm64", &image_ref]));
    assert!(ran.status.success(), "{}", text(&ran));
    let said = String::from_utf8_lossy(&ran.stdout).trim().to_string();
    assert!(
        said.starts_with("zlib 1.") && said.ends_with(" on aarch64"),
        "{said}"
    );
    // The library it links was added, for arm64.
    let name = format!("zsys-ls-{id}");
    assert!(sh(Command::new("docker").args([
        "create",
        "--platform",
        "linux/arm64",
        "--name",
        &name,
        &image_ref
    ]))
    .status
    .success());
    let export = sh(Command::new("docker").args(["export", &name]));
    let _ = sh(Command::new("docker").args(["rm", "-f", &name]));
    let mut archive = tar::Archive::new(export.stdout.as_slice());
    let paths: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(
        paths
            .iter()
            .any(|p| p == "usr/lib/aarch64-linux-gnu/libz.so.1"),
        "{paths:?}"
    );
    let _ = sh(Command::new("docker").args(["image", "rm", "-f", &image_ref]));
}

/// Issue 15 §4: the registry dies in the middle of a push (killed as the first layer upload
/// starts). The command fails within bounded time, names the push and the registry, and
/// reports nothing as pushed (no summary table).
#[test]
fn registry_killed_mid_push_fails_the_command() {
    let Some((s, id, label)) = setup("p-push-killed") else {
        return;
    };
    let mut registry = Registry::start(false);
    let watch = UploadWatch::start(registry.port);
    let ws = tiny_workspace("killed-tiny", false);
    let host = format!("127.0.0.1:{}", watch.port);
    let tag = format!("{host}/killed-tiny-{id}:{{version}}");
    let manifest = ws.path().join("Cargo.toml");
    let args = [
        "image",
        "--manifest-path",
        manifest.to_str().unwrap(),
        "--builder-image",
        CROSS_BUILDER,
        "--label",
        &label,
        "--no-size-comparison",
        "--platform",
        "linux/amd64",
        "--push",
        "--tag",
        &tag,
    ];
    let started = Instant::now();
    let mut killed_at: Option<f64> = None;
    let run = s.xtask_watching(
        &args,
        &[],
        Duration::from_secs(600),
        &mut |_line: Option<&str>| {
            if killed_at.is_none() && watch.uploading.load(Ordering::SeqCst) {
                registry.kill();
                killed_at = Some(started.elapsed().as_secs_f64());
            }
        },
    );
    let at = killed_at.unwrap_or_else(|| {
        panic!(
            "the push never started uploading, so the registry was never killed:\n{}",
            run.describe()
        )
    });
    eprintln!("[e2e] p-push-killed: killed the registry after {at:.1}s");
    let log = format!("{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.status.code(), Some(1), "{}", run.describe());
    let error = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no `error:` line:\n{}", run.describe()));
    assert!(
        error.contains(&format!("pushing {host}/killed-tiny-{id}:0.1.0"))
            && error.contains("failed"),
        "the error names neither the push nor the registry: {error}"
    );
    // buildx's own account of the failure: the connection to the registry went.
    assert!(
        [
            "connection refused",
            "connection reset",
            "EOF",
            "broken pipe"
        ]
        .iter()
        .any(|m| log.contains(m)),
        "nothing says the registry connection failed:\n{}",
        run.describe()
    );
    assert!(
        !run.stdout
            .lines()
            .any(|l| l.starts_with("image ") && l.contains("layers"))
            && !log.contains(" pushed "),
        "a failed push was reported:\n{}",
        run.describe()
    );
    assert!(
        run.seconds - at < 120.0,
        "the command took {:.1}s after the registry died",
        run.seconds - at
    );
    eprintln!("[e2e] p-push-killed: the tool said: {error}");
}
