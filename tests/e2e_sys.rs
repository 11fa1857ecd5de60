//! End-to-end: system dependencies with zero configuration (issue "zero configuration for
//! system dependencies"), with real crates from crates.io built on the real engine.
//!
//! The fixture is our own small workspace, with no `build-packages`, `link-packages`,
//! `runtime-packages` or `static` key anywhere: every package it needs is inferred from the
//! resolved dependency graph (`data/sys-crates.toml`), and every binary is linked
//! dynamically because its runtime has a libc. Three packages, each with two binaries that
//! share the package's library, one on `distroless-cc` and one on `debian-slim`, so that
//! every crate runs on both runtimes:
//! - `tls-probe`: reqwest with `native-tls` (OpenSSL, linked dynamically) builds a
//!   blocking client (no network at run time);
//! - `sqlite-probe`: rusqlite without `bundled` (the system's libsqlite3) asks an in-memory
//!   database for `sqlite_version()`;
//! - `proto-probe`: a build script compiles a `.proto` file of ours with tonic-build
//!   (messages only, through prost-build, which runs `protoc`); it imports a well-known
//!   type (`google/protobuf/timestamp.proto`, which protoc finds only with
//!   libprotobuf-dev), and the binary round-trips one generated message.
//!
//! The test asserts the inferred packages and their reasons, builds the six images with the
//! stand-in base images in one cargo build, runs each, and compares the shared libraries
//! the runtime stage added with the distroless base (the `image` command also prints
//! `libs.sh`'s report line, but only when the step runs, not when BuildKit has it cached).
//! Then the six images again for arm64, cross-compiled with the cross stand-in builder
//! (link packages installed for arm64, multiarch) and run under QEMU, on the two-platform
//! stand-ins of distroless-cc and debian-slim (`scripts/stand-in-images-cross.sh` builds
//! debian-slim's arm64 tree with debootstrap, as the machine cannot pull).
//!
//! openssl with `vendored` compiles OpenSSL from source, in a workspace of its own (cargo
//! unifies features, so `vendored` would change reqwest's OpenSSL above): a second test,
//! without the engine, checks what the planner infers for openssl with and without
//! `vendored` on real resolved graphs; a third builds it (amd64, about 80 s here, then
//! arm64, cross-compiled) with the inferred `make` and `perl` and runs it on distroless-cc
//! and debian-slim, with no system OpenSSL copied.
//!
//! A C and C++ library built by CMake (the cmake crate, as protobuf-src builds protoc): a
//! fourth test builds it with the inferred `cmake`, `make` and `g++`, for amd64 and arm64
//! (the target's g++ installed for the cross build), and runs it on both runtimes.
//!
//! `libc = "musl"` (issue 13 §5): a fifth test builds one package's two binaries, one
//! against musl on `scratch` and one against glibc on distroless-cc, in both build modes,
//! with the musl stand-in builder (the official slim image after `rustup target add
//! x86_64-unknown-linux-musl`); a build script compiles C with the `cc` crate, which needs
//! the inferred musl-tools for the musl binary, and each binary prints its target and the
//! C library its C code was compiled against.
//!
//! The fixture's `rust-version` is the cross builder's (Debian trixie's rustc 1.85), and
//! its lockfile holds versions that support it. crates.io must be reachable (the lockfiles
//! are generated here, the crates fetched in the build).
//!
//! Set `CARGO_IMAGE_E2E_SKIP=1` to skip the engine test on a machine without an engine.

mod e2e;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use cargo_image::plan::{Plan, PlanOptions, Runtime};
use e2e::*;

/// The three packages of the fixture; each ships `<package>-cc` and `<package>-slim`.
const PACKAGES: [&str; 3] = ["tls-probe", "sqlite-probe", "proto-probe"];
const VERSION: &str = "0.1.0";
const MULTIARCH: &str = "x86_64-linux-gnu";
/// The fixture's `rust-version`: the arm64 builds use the cross stand-in, Debian trixie's
/// rustc 1.85, so the lockfile holds versions that support it (cargo's MSRV-aware
/// resolver), as a project pinned to a distribution's toolchain would.
const RUST_VERSION: &str = "1.85";

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `cargo generate-lockfile` (online: the fixtures use crates.io).
fn generate_lockfile(root: &Path) {
    // Versions the cross builder's rustc compiles (see RUST_VERSION).
    let out = Command::new(cargo())
        .args([
            "generate-lockfile",
            "--config",
            "resolver.incompatible-rust-versions=\"fallback\"",
        ])
        .current_dir(root)
        .output()
        .expect("running cargo generate-lockfile");
    assert!(
        out.status.success(),
        "cargo generate-lockfile in {}: {}",
        root.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A package of the fixture: its manifest (the two binaries' runtimes and the dependencies
/// only), a library, and two binaries printing their name and the library's report.
fn probe_package(root: &Path, name: &str, deps: &str, lib_rs: &str) {
    let dir = format!("crates/{name}");
    write(
        root,
        &format!("{dir}/Cargo.toml"),
        &format!(
            "[package]\nname = \"{name}\"\nversion = \"{VERSION}\"\nedition = \"2021\"\n\
             rust-version = \"{RUST_VERSION}\"\npublish = false\n\n{deps}\n\
             [package.metadata.image]\nruntime = \"distroless-cc\"\n\n\
             [package.metadata.image.bin.{name}-slim]\nruntime = \"debian-slim\"\n"
        ),
    );
    write(root, &format!("{dir}/src/lib.rs"), lib_rs);
    let lib = name.replace('-', "_");
    for variant in ["cc", "slim"] {
        write(
            root,
            &format!("{dir}/src/bin/{name}-{variant}.rs"),
            &format!(
                "fn main() {{\n    println!(\"{{}}: {{}}\", env!(\"CARGO_BIN_NAME\"), \
                 {lib}::report());\n}}\n"
            ),
        );
    }
}

/// The root manifest of a fixture workspace: every package under `crates/`.
fn write_workspace(root: &Path) {
    write(
        root,
        "Cargo.toml",
        "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
    );
}

/// What `<package>-cc` and `<package>-slim`, tagged `tag`, print when run (with no network,
/// on `platform` when given), each with its binary's name.
fn variant_outputs(
    s: &Scenario,
    package: &str,
    tag: &str,
    platform: Option<&str>,
) -> Vec<(String, String)> {
    ["cc", "slim"]
        .iter()
        .map(|variant| {
            let bin = format!("{package}-{variant}");
            let image = s.tag(&bin, tag);
            let mut args = vec!["--network", "none", image.as_str()];
            if let Some(platform) = platform {
                args.splice(0..0, ["--platform", platform]);
            }
            let out = s.run_once(&args);
            (bin, out)
        })
        .collect()
}

/// Writes the fixture workspace under `root`, with its Cargo.lock.
fn sys_workspace(root: &Path) {
    write_workspace(root);
    probe_package(
        root,
        "tls-probe",
        "[dependencies]\nreqwest = { version = \"0.13\", default-features = false, \
         features = [\"native-tls\", \"blocking\"] }\n",
        r#"//! A blocking reqwest client on native-tls: building it sets up an OpenSSL context
//! (libssl, linked dynamically) and loads the CA certificates; nothing is fetched.

pub fn report() -> String {
    reqwest::blocking::Client::builder()
        .tls_backend_native()
        .build()
        .expect("building a native-tls client");
    "native-tls client built".to_string()
}
"#,
    );
    probe_package(
        root,
        "sqlite-probe",
        "[dependencies]\nrusqlite = { version = \"0.40\", default-features = false }\n",
        r#"//! The system's SQLite (rusqlite without `bundled`), asked for its version.

pub fn report() -> String {
    let db = rusqlite::Connection::open_in_memory().expect("opening an in-memory database");
    let version: String = db
        .query_row("select sqlite_version()", [], |row| row.get(0))
        .expect("select sqlite_version()");
    format!("sqlite {version}")
}
"#,
    );
    probe_package(
        root,
        "proto-probe",
        "[dependencies]\nprost = \"0.13\"\nprost-types = \"0.13\"\n\n\
         [build-dependencies]\ntonic-build = { version = \"0.13\", default-features = false, \
         features = [\"prost\"] }\n",
        r#"//! A message generated from `proto/reading.proto` (tonic-build, through prost-build,
//! runs `protoc`), encoded and decoded.

use prost::Message;

pub mod probe {
    include!(concat!(env!("OUT_DIR"), "/probe.rs"));
}

pub fn report() -> String {
    let reading = probe::Reading {
        sensor: "boiler".into(),
        value: 71.5,
        tags: vec!["hot".into(), "water".into()],
        taken_at: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
    };
    let bytes = reading.encode_to_vec();
    let back = probe::Reading::decode(bytes.as_slice()).expect("decoding a Reading");
    format!(
        "reading {} = {} [{}] at {} in {} bytes",
        back.sensor,
        back.value,
        back.tags.join(","),
        back.taken_at.map(|t| t.seconds).unwrap_or_default(),
        bytes.len()
    )
}
"#,
    );
    write(
        root,
        "crates/proto-probe/build.rs",
        r#"fn main() {
    tonic_build::configure()
        .build_client(false)
        .build_server(false)
        .compile_protos(&["proto/reading.proto"], &["proto"])
        .expect("compiling proto/reading.proto (tonic-build runs protoc)");
}
"#,
    );
    write(
        root,
        "crates/proto-probe/proto/reading.proto",
        r#"syntax = "proto3";

package probe;

import "google/protobuf/timestamp.proto";

message Reading {
  string sensor = 1;
  double value = 2;
  repeated string tags = 3;
  google.protobuf.Timestamp taken_at = 4;
}
"#,
    );
    generate_lockfile(root);
}

/// Plans a workspace the way `cargo xtask plan` does (the same struct `plan.json` shows).
fn plan_of(root: &Path) -> Plan {
    let (_, plan) = cargo_image::tasks::load(&root.join("Cargo.toml"), &PlanOptions::default())
        .unwrap_or_else(|e| panic!("planning {}: {e:#}", root.display()));
    plan
}

fn keys(map: &std::collections::BTreeMap<String, String>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

/// `reason` names `krate` (with its version) first: `openssl-sys 0.9.118 via …`.
fn assert_reason(what: &str, reason: Option<&String>, krate: &str) {
    let reason = reason.unwrap_or_else(|| panic!("{what} is not inferred"));
    assert!(
        reason.starts_with(&format!("{krate} ")),
        "{what}: the reason should name {krate}: {reason:?}"
    );
}

/// The plan of the fixture: the five packages inferred with reasons naming the crates,
/// nothing configured, every binary dynamic with its shared libraries copied.
fn check_plan(plan: &Plan) {
    let b = &plan.build;
    eprintln!(
        "[e2e] inferred build packages: {:#?}\n[e2e] inferred link packages: {:#?}",
        b.inferred_packages, b.inferred_link_packages
    );
    assert_eq!(
        keys(&b.inferred_packages),
        ["libprotobuf-dev", "pkg-config", "protobuf-compiler"]
    );
    assert_eq!(
        keys(&b.inferred_link_packages),
        ["libsqlite3-dev", "libssl-dev"]
    );
    // Nothing configured: the packages are exactly the inferred ones.
    assert_eq!(
        b.build_packages,
        ["libprotobuf-dev", "pkg-config", "protobuf-compiler"]
    );
    assert_eq!(b.link_packages, ["libsqlite3-dev", "libssl-dev"]);
    // tonic-build and prost-build (which it runs) both need protoc; either may be named.
    for package in ["protobuf-compiler", "libprotobuf-dev"] {
        let reason = &b.inferred_packages[package];
        assert!(
            reason.starts_with("prost-build ") || reason.starts_with("tonic-build "),
            "{package}: {reason:?}"
        );
    }
    // pkg-config: both libsqlite3-sys and openssl-sys need it; either may be named.
    let pkg_config = &b.inferred_packages["pkg-config"];
    assert!(
        pkg_config.starts_with("libsqlite3-sys ") || pkg_config.starts_with("openssl-sys "),
        "pkg-config: {pkg_config:?}"
    );
    assert_reason(
        "libssl-dev",
        b.inferred_link_packages.get("libssl-dev"),
        "openssl-sys",
    );
    let ssl = &b.inferred_link_packages["libssl-dev"];
    assert!(
        ssl.contains("via reqwest") && ssl.contains("(feature vendored off)"),
        "libssl-dev: {ssl:?}"
    );
    assert_reason(
        "libsqlite3-dev",
        b.inferred_link_packages.get("libsqlite3-dev"),
        "libsqlite3-sys",
    );
    assert!(
        b.inferred_link_packages["libsqlite3-dev"].contains("via rusqlite"),
        "{:?}",
        b.inferred_link_packages
    );
    // Runtimes with a libc: one dynamic build, each image gets its shared libraries.
    assert!(!b.static_link && b.dynamic_bins.is_empty(), "{b:?}");
    let mut bins: Vec<String> = Vec::new();
    for package in PACKAGES {
        for (variant, runtime) in [("cc", Runtime::DistrolessCc), ("slim", Runtime::DebianSlim)] {
            let bin = format!("{package}-{variant}");
            let image = plan
                .images
                .iter()
                .find(|i| i.bin == bin)
                .unwrap_or_else(|| panic!("no image for {bin}"));
            assert_eq!(image.runtime, runtime, "{bin}");
            assert!(image.extras.shared_libs, "{bin}: no shared libraries step");
            assert!(
                image.extras.packages.is_empty(),
                "{bin}: {:?}",
                image.extras
            );
            bins.push(bin);
        }
    }
    bins.sort();
    assert_eq!(b.bins, bins);
}

/// Every path in an image's file system (`docker create` with a placeholder command, which
/// a distroless base without one needs, then `docker export`).
fn image_paths(s: &Scenario, image: &str) -> BTreeSet<String> {
    image_paths_for(s, image, "linux/amd64")
}

/// `cargo xtask image` of every image of the workspace at `root` for linux/arm64,
/// cross-compiled with the cross stand-in builder on the two-platform runtime stand-ins,
/// tagged `<prefix>/{bin}:arm64`; `what` names the images in the printed timing.
fn image_arm64(s: &Scenario, root: &Path, what: &str) {
    ensure_cross_stand_ins();
    let args: Vec<String> = vec![
        "image".into(),
        "--manifest-path".into(),
        root.join("Cargo.toml").display().to_string(),
        "--builder-image".into(),
        CROSS_BUILDER.into(),
        "--base-image".into(),
        "distroless-cc=cargo-image-stand-in/distroless-cc:trixie".into(),
        "--base-image".into(),
        format!("debian-slim={SLIM_STAND_IN}"),
        "--platform".into(),
        "linux/arm64".into(),
        "--label".into(),
        s.label(),
        "--no-size-comparison".into(),
        "--tag".into(),
        format!("{}/{{bin}}:arm64", s.prefix()),
    ];
    let started = Instant::now();
    let run = s.xtask(&args, &[("CI", "1")], Duration::from_secs(20 * 60));
    assert!(run.status.success(), "{what} arm64: {}", run.describe());
    eprintln!(
        "[e2e] {what} arm64 images built in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// [`image_paths`] of one platform's image.
fn image_paths_for(s: &Scenario, image: &str, platform: &str) -> BTreeSet<String> {
    let label = s.label();
    let container = docker_ok(&[
        "create",
        "--platform",
        platform,
        "--label",
        &label,
        image,
        "/nonexistent",
    ])
    .trim()
    .to_string();
    let out = Command::new("docker")
        .args(["export", &container])
        .output()
        .expect("docker export");
    let _ = docker(&["rm", "-f", &container]);
    assert!(out.status.success(), "docker export of {image} failed");
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    archive
        .entries()
        .expect("reading the export")
        .map(|e| {
            let e = e.expect("an export entry");
            let path = e.path().unwrap().display().to_string();
            path.trim_start_matches("./").to_string()
        })
        .collect()
}

/// The shared libraries (file names under `usr/lib/<multiarch>/` or `lib/<multiarch>/`) of
/// a set of paths.
fn shared_libs(paths: &BTreeSet<String>) -> BTreeSet<String> {
    shared_libs_for(paths, MULTIARCH)
}

/// [`shared_libs`] under another multiarch directory (`aarch64-linux-gnu`).
fn shared_libs_for(paths: &BTreeSet<String>, multiarch: &str) -> BTreeSet<String> {
    paths
        .iter()
        .filter_map(|p| {
            let name = p
                .strip_prefix(&format!("usr/lib/{multiarch}/"))
                .or_else(|| p.strip_prefix(&format!("lib/{multiarch}/")))?;
            (!name.contains('/') && name.contains(".so")).then(|| name.to_string())
        })
        .collect()
}

/// What each binary prints, checked; returns the line.
fn check_output(bin: &str, out: &str) -> String {
    let line = out.trim_end().to_string();
    let rest = line
        .strip_prefix(&format!("{bin}: "))
        .unwrap_or_else(|| panic!("{bin} printed {out:?}"));
    let ok = if bin.starts_with("tls-probe") {
        rest == "native-tls client built"
    } else if bin.starts_with("sqlite-probe") {
        rest.starts_with("sqlite 3.")
    } else {
        rest == "reading boiler = 71.5 [hot,water] at 1700000000 in 37 bytes"
    };
    assert!(ok, "{bin} printed {out:?}");
    line
}

#[test]
fn sys_crates_build_and_run_on_distroless_cc_and_debian_slim_without_configuration() {
    let Some(s) = scenario("sys") else { return };
    let root = s.path("sys");
    sys_workspace(&root);
    for package in PACKAGES {
        let manifest =
            std::fs::read_to_string(root.join(format!("crates/{package}/Cargo.toml"))).unwrap();
        assert!(
            !manifest.contains("packages") && !manifest.contains("static"),
            "the fixture must configure no package:\n{manifest}"
        );
    }

    check_plan(&plan_of(&root));

    // One cargo build serves the six images. Every crate is downloaded and compiled (the
    // incremental mode's cargo caches are keyed by the checkout's path, new here); only the
    // builder's package layer may come from BuildKit's cache of an earlier run.
    let started = Instant::now();
    let run = s.image_ok(&root, &[]);
    eprintln!(
        "[e2e] sys: six images built in {:.1}s (cargo caches empty)\n{}",
        started.elapsed().as_secs_f64(),
        run.stdout
            .lines()
            .skip_while(|l| !l.starts_with("image "))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The table says what each image got, read from the image (so also when BuildKit had
    // the step cached and it printed nothing).
    for (bin, libs) in [
        ("tls-probe-cc", "libssl.so.3, libcrypto.so.3"),
        ("sqlite-probe-cc", "libsqlite3.so.0"),
    ] {
        let tag = s.tag(bin, VERSION);
        let mut lines = run.stdout.lines().skip_while(|l| !l.starts_with(&tag));
        lines.next();
        let next = lines.find(|l| !l.contains("(same)")).unwrap_or_default();
        let listed: BTreeSet<&str> = next
            .strip_prefix("  + shared libraries from the builder: ")
            .map(|l| l.split(", ").collect())
            .unwrap_or_default();
        // What the binary links, and what those link in turn (libcrypto: libz, libzstd).
        assert!(
            libs.split(", ").all(|l| listed.contains(l)),
            "{bin}: the table does not list {libs}:\n{}",
            run.stdout
        );
    }
    let steps = run.steps();
    for package in PACKAGES {
        for variant in ["cc", "slim"] {
            let bin = format!("{package}-{variant}");
            assert!(
                steps.iter().any(
                    |(_, name)| name.contains(&format!("cargo-image-extras-{bin} "))
                        && name.contains("cargo-image-libs")
                ),
                "{bin}: no step copied its shared libraries:\n{}",
                run.describe()
            );
        }
    }

    // Each image runs (as its runtime's user, no network) and prints what it should.
    let mut sqlite_versions = BTreeSet::new();
    for package in PACKAGES {
        for variant in ["cc", "slim"] {
            let bin = format!("{package}-{variant}");
            let tag = s.tag(&bin, VERSION);
            let line = check_output(&bin, &s.run_once(&["--network", "none", &tag]));
            eprintln!("[e2e] {tag}: {line}");
            if package == "sqlite-probe" {
                sqlite_versions.insert(line.rsplit(' ').next().unwrap().to_string());
            }
        }
    }
    assert_eq!(
        sqlite_versions.len(),
        1,
        "both runtimes run the builder's libsqlite3: {sqlite_versions:?}"
    );

    // The shared libraries each distroless-cc image got beside its base's (glibc, libgcc):
    // exactly what its binary links, copied from the builder. debian-slim has some of them
    // already (its apt links OpenSSL); they are copied there too, over the same files.
    let base = shared_libs(&image_paths(
        &s,
        "cargo-image-stand-in/distroless-cc:trixie",
    ));
    for (package, needed) in [
        ("tls-probe", &["libssl.so.3", "libcrypto.so.3"][..]),
        ("sqlite-probe", &["libsqlite3.so.0"][..]),
        ("proto-probe", &[][..]),
    ] {
        let cc = shared_libs(&image_paths(&s, &s.tag(&format!("{package}-cc"), VERSION)));
        let added: BTreeSet<&str> = cc.difference(&base).map(String::as_str).collect();
        eprintln!("[e2e] {package}-cc: shared libraries added: {added:?}");
        for lib in needed {
            assert!(added.contains(lib), "{package}-cc lacks {lib}: {added:?}");
        }
        if needed.is_empty() {
            assert!(added.is_empty(), "{package}-cc got {added:?}");
        }
        let slim = shared_libs(&image_paths(
            &s,
            &s.tag(&format!("{package}-slim"), VERSION),
        ));
        for lib in needed {
            assert!(slim.contains(*lib), "{package}-slim lacks {lib}");
        }
    }

    // arm64, cross-compiled on this amd64 machine (no emulation while compiling): the link
    // packages come for arm64 (multiarch) with no configuration either, and each image runs
    // under QEMU, on both runtimes.
    image_arm64(&s, &root, "sys: six");
    let base = shared_libs_for(
        &image_paths_for(
            &s,
            "cargo-image-stand-in/distroless-cc:trixie",
            "linux/arm64",
        ),
        "aarch64-linux-gnu",
    );
    for (package, needed) in [
        ("tls-probe", &["libssl.so.3", "libcrypto.so.3"][..]),
        ("sqlite-probe", &["libsqlite3.so.0"][..]),
        ("proto-probe", &[][..]),
    ] {
        let bin = format!("{package}-cc");
        let tag = s.tag(&bin, "arm64");
        let out = s.run_once(&["--platform", "linux/arm64", "--network", "none", &tag]);
        let line = check_output(&bin, &out);
        eprintln!("[e2e] {tag}: {line}");
        let paths = image_paths_for(&s, &tag, "linux/arm64");
        let added: BTreeSet<String> = shared_libs_for(&paths, "aarch64-linux-gnu")
            .difference(&base)
            .cloned()
            .collect();
        eprintln!("[e2e] {bin} (arm64): shared libraries added: {added:?}");
        for lib in needed {
            assert!(added.contains(*lib), "{bin} (arm64) lacks {lib}: {added:?}");
        }
        if needed.is_empty() {
            assert!(added.is_empty(), "{bin} (arm64) got {added:?}");
        }
        // debian-slim for arm64: the binary runs on the arm64 tree, with its libraries.
        let bin = format!("{package}-slim");
        let tag = s.tag(&bin, "arm64");
        let out = s.run_once(&["--platform", "linux/arm64", "--network", "none", &tag]);
        let line = check_output(&bin, &out);
        eprintln!("[e2e] {tag}: {line}");
        let paths = image_paths_for(&s, &tag, "linux/arm64");
        assert!(
            paths.iter().any(|p| p.ends_with("var/lib/dpkg/status")),
            "{bin} (arm64) is not on debian-slim"
        );
        let libs = shared_libs_for(&paths, "aarch64-linux-gnu");
        for lib in needed {
            assert!(libs.contains(*lib), "{bin} (arm64) lacks {lib}: {libs:?}");
        }
    }
}

/// openssl with `vendored` compiles OpenSSL from source: no `pkg-config`/`libssl-dev`, but
/// OpenSSL's build runs `perl ./Configure` (modules perl-base lacks) and `make`, which a
/// slim builder has neither of. Without `vendored`: `pkg-config` and `libssl-dev`. Real
/// resolved graphs (online lockfiles); no engine needed, nothing built.
#[test]
fn openssl_vendored_infers_its_build_tools_and_no_system_openssl() {
    let dir = tempfile::Builder::new()
        .prefix("cargo-image-sys-openssl-")
        .tempdir()
        .unwrap();
    for vendored in [false, true] {
        let name = if vendored { "vendored" } else { "system" };
        let root = dir.path().join(name);
        let features = if vendored {
            ", features = [\"vendored\"]"
        } else {
            ""
        };
        write(
            &root,
            "Cargo.toml",
            &format!(
                "[package]\nname = \"openssl-{name}\"\nversion = \"{VERSION}\"\nedition = \"2021\"\n\
                 publish = false\n\n[workspace]\n\n\
                 [dependencies]\nopenssl = {{ version = \"0.10\"{features} }}\n"
            ),
        );
        write(
            &root,
            "src/main.rs",
            "fn main() {\n    println!(\"{}\", openssl::version::version());\n}\n",
        );
        generate_lockfile(&root);
        let b = plan_of(&root).build;
        eprintln!(
            "[e2e] openssl {name}: build {:?}, link {:?}",
            b.inferred_packages, b.inferred_link_packages
        );
        if vendored {
            assert_eq!(keys(&b.inferred_packages), ["make", "perl"], "{b:?}");
            for package in ["make", "perl"] {
                assert_reason(package, b.inferred_packages.get(package), "openssl-src");
            }
            assert!(b.inferred_link_packages.is_empty(), "{b:?}");
            assert_eq!(b.build_packages, ["make", "perl"]);
            assert!(b.link_packages.is_empty(), "{b:?}");
        } else {
            assert_eq!(keys(&b.inferred_packages), ["pkg-config"], "{b:?}");
            assert_eq!(keys(&b.inferred_link_packages), ["libssl-dev"], "{b:?}");
            for (package, reason) in [
                ("pkg-config", b.inferred_packages.get("pkg-config")),
                ("libssl-dev", b.inferred_link_packages.get("libssl-dev")),
            ] {
                assert_reason(package, reason, "openssl-sys");
                assert!(
                    reason
                        .unwrap()
                        .contains("via openssl (feature vendored off)"),
                    "{package}: {reason:?}"
                );
            }
        }
    }
}

/// openssl with `vendored`, built and run: OpenSSL compiles from source in the builder with
/// the inferred `make` and `perl` (a slim builder has neither), links statically, and no
/// system OpenSSL is needed or copied, on distroless-cc and debian-slim, for amd64 and for
/// arm64 (cross-compiled: openssl-src configures OpenSSL for aarch64 and builds it with the
/// cross builder's `aarch64-linux-gnu-gcc`; the images run under QEMU). A workspace of its
/// own: cargo unifies features, so `vendored` would change the other fixture's reqwest too.
#[test]
fn openssl_vendored_builds_and_runs_on_distroless_cc_and_debian_slim() {
    let Some(s) = scenario("sys-vendored") else {
        return;
    };
    let root = s.path("vendored");
    write_workspace(&root);
    probe_package(
        &root,
        "vendored-probe",
        "[dependencies]\nopenssl = { version = \"0.10\", features = [\"vendored\"] }\n",
        "//! OpenSSL compiled from source (openssl-src) and linked statically: its version.\n\n\
         pub fn report() -> String {\n    openssl::version::version().to_string()\n}\n",
    );
    generate_lockfile(&root);
    let b = plan_of(&root).build;
    assert_eq!(b.build_packages, ["make", "perl"], "{b:?}");
    assert!(b.link_packages.is_empty(), "{b:?}");

    let started = Instant::now();
    s.image_ok(&root, &[]);
    eprintln!(
        "[e2e] sys-vendored: two images built in {:.1}s (OpenSSL from source)",
        started.elapsed().as_secs_f64()
    );
    for (bin, out) in variant_outputs(&s, "vendored-probe", VERSION, None) {
        assert!(
            out.starts_with(&format!("{bin}: OpenSSL 3.")),
            "{bin} printed {out:?}"
        );
    }
    let base = shared_libs(&image_paths(
        &s,
        "cargo-image-stand-in/distroless-cc:trixie",
    ));
    let cc = shared_libs(&image_paths(&s, &s.tag("vendored-probe-cc", VERSION)));
    let added: BTreeSet<&String> = cc.difference(&base).collect();
    assert!(
        !added
            .iter()
            .any(|l| l.starts_with("libssl") || l.starts_with("libcrypto")),
        "a statically linked OpenSSL needs no system library: {added:?}"
    );

    image_arm64(&s, &root, "sys-vendored: two");
    for (bin, out) in variant_outputs(&s, "vendored-probe", "arm64", Some("linux/arm64")) {
        assert!(
            out.starts_with(&format!("{bin}: OpenSSL 3.")),
            "{bin} (arm64) printed {out:?}"
        );
    }
    // distroless-cc has no OpenSSL of its own (debian-slim's apt brings one): none added.
    let libs = shared_libs_for(
        &image_paths_for(&s, &s.tag("vendored-probe-cc", "arm64"), "linux/arm64"),
        "aarch64-linux-gnu",
    );
    assert!(
        !libs
            .iter()
            .any(|l| l.starts_with("libssl") || l.starts_with("libcrypto")),
        "vendored-probe-cc (arm64): a statically linked OpenSSL needs no system library: {libs:?}"
    );
}

/// A C and C++ library built by CMake through the cmake crate (as protobuf-src and
/// rdkafka's `cmake-build` do), with nothing configured: the inferred `cmake`, `make` (the
/// generator's program, which Debian's cmake only recommends) and `g++` (the project names
/// no languages, so CMake enables C++, and the slim builder has gcc only). Built for amd64
/// and for arm64 (cross-compiled: CMake gets the target's gcc and g++, which the builder
/// stage installs because `g++` is a build package), run on distroless-cc and debian-slim,
/// the C++ part linking libstdc++ dynamically.
#[test]
fn a_cmake_built_c_and_cpp_library_builds_and_runs_without_configuration() {
    let Some(s) = scenario("sys-cmake") else {
        return;
    };
    let root = s.path("cmake");
    write_workspace(&root);
    probe_package(
        &root,
        "cmake-probe",
        "[build-dependencies]\ncmake = \"0.1\"\n",
        "//! A static library of C and C++ that CMake built (build.rs), called through C.\n\n\
         extern \"C\" {\n    fn probe_answer() -> i32;\n    fn probe_greeting_len() -> usize;\n}\n\n\
         pub fn report() -> String {\n    \
         // SAFETY: both functions take nothing and only return a number.\n    \
         let (answer, len) = unsafe { (probe_answer(), probe_greeting_len()) };\n    \
         format!(\"C says {answer}, C++ says {len}\")\n}\n",
    );
    write(
        &root,
        "crates/cmake-probe/build.rs",
        "fn main() {\n    let out = cmake::build(\"native\");\n    \
         println!(\"cargo:rustc-link-search=native={}/lib\", out.display());\n    \
         println!(\"cargo:rustc-link-lib=static=probe\");\n    \
         println!(\"cargo:rustc-link-lib=dylib=stdc++\");\n}\n",
    );
    write(
        &root,
        "crates/cmake-probe/native/CMakeLists.txt",
        "cmake_minimum_required(VERSION 3.13)\n\
         # No LANGUAGES: CMake enables C and C++, as most projects leave it.\n\
         project(probe)\n\
         add_library(probe STATIC probe.c greeting.cpp)\n\
         install(TARGETS probe ARCHIVE DESTINATION lib)\n",
    );
    write(
        &root,
        "crates/cmake-probe/native/probe.c",
        "int probe_answer(void) { return 42; }\n",
    );
    write(
        &root,
        "crates/cmake-probe/native/greeting.cpp",
        "#include <string>\n\n\
         extern \"C\" unsigned long probe_greeting_len(void) {\n    \
         return std::string(\"built by CMake\").size();\n}\n",
    );
    generate_lockfile(&root);
    let b = plan_of(&root).build;
    assert_eq!(b.build_packages, ["cmake", "g++", "make"], "{b:?}");
    assert!(b.link_packages.is_empty(), "{b:?}");

    let started = Instant::now();
    s.image_ok(&root, &[]);
    eprintln!(
        "[e2e] sys-cmake: two images built in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    image_arm64(&s, &root, "sys-cmake: two");
    for (tag, platform) in [(VERSION, None), ("arm64", Some("linux/arm64"))] {
        for (bin, out) in variant_outputs(&s, "cmake-probe", tag, platform) {
            assert_eq!(
                out.trim_end(),
                format!("{bin}: C says 42, C++ says 14"),
                "{bin} ({tag})"
            );
        }
    }
}

/// `libc = "musl"`, built and run: one package, two binaries, a build script compiling C
/// with the `cc` crate. `libc-probe-musl` (`libc = "musl"`, on `scratch`, which has no
/// loader) builds for x86_64-unknown-linux-musl with its C code from musl-gcc (musl-tools,
/// inferred: the builder lacks it, as the official slim image does);
/// `libc-probe-gnu` (distroless-cc) is the usual glibc build, in the same run. Both build
/// modes: the musl command is part of the one build every layer and step runs.
#[test]
fn a_musl_binary_builds_with_c_code_and_runs_on_scratch_beside_a_glibc_one() {
    let Some(s) = scenario("sys-musl") else {
        return;
    };
    ensure_cross_stand_ins();
    let root = s.path("musl");
    write_workspace(&root);
    let dir = "crates/libc-probe";
    write(
        &root,
        &format!("{dir}/Cargo.toml"),
        &format!(
            "[package]\nname = \"libc-probe\"\nversion = \"{VERSION}\"\nedition = \"2021\"\n\
             rust-version = \"{RUST_VERSION}\"\npublish = false\n\n\
             [build-dependencies]\ncc = \"1\"\n\n\
             [package.metadata.image.bin.libc-probe-musl]\nlibc = \"musl\"\nruntime = \"scratch\"\n\n\
             [package.metadata.image.bin.libc-probe-gnu]\nruntime = \"distroless-cc\"\n"
        ),
    );
    write(
        &root,
        &format!("{dir}/build.rs"),
        "fn main() {\n    cc::Build::new().file(\"c/libc_name.c\").compile(\"libc_name\");\n    \
         println!(\"cargo:rustc-env=PROBE_TARGET={}\", std::env::var(\"TARGET\").unwrap());\n    \
         println!(\"cargo:rerun-if-changed=c/libc_name.c\");\n}\n",
    );
    write(
        &root,
        &format!("{dir}/c/libc_name.c"),
        "/* The C library this file was compiled against (musl defines no __GLIBC__). */\n\
         #include <stdlib.h>\n\n\
         const char *libc_name(void)\n{\n#ifdef __GLIBC__\n    return \"glibc\";\n#else\n    \
         return \"musl\";\n#endif\n}\n",
    );
    write(
        &root,
        &format!("{dir}/src/lib.rs"),
        "//! The target the crate was built for, and the C library of its C code.\n\n\
         use std::ffi::{c_char, CStr};\n\n\
         extern \"C\" {\n    fn libc_name() -> *const c_char;\n}\n\n\
         pub fn report() -> String {\n    \
         // SAFETY: libc_name returns a static NUL-terminated string.\n    \
         let libc = unsafe { CStr::from_ptr(libc_name()) };\n    \
         format!(\"{} with C from {}\", env!(\"PROBE_TARGET\"), libc.to_string_lossy())\n}\n",
    );
    for variant in ["musl", "gnu"] {
        write(
            &root,
            &format!("{dir}/src/bin/libc-probe-{variant}.rs"),
            "fn main() {\n    println!(\"{}: {}\", env!(\"CARGO_BIN_NAME\"), libc_probe::report());\n}\n",
        );
    }
    generate_lockfile(&root);
    let plan = plan_of(&root);
    assert_eq!(
        plan.build.musl_bins,
        ["libc-probe-musl"],
        "{:?}",
        plan.build
    );
    assert!(
        plan.build
            .build_packages
            .contains(&"musl-tools".to_string()),
        "{:?}",
        plan.build
    );
    let why = &plan.build.inferred_packages["musl-tools"];
    assert!(why.starts_with("libc = \"musl\": musl-gcc"), "{why}");

    for mode in ["incremental", "layers"] {
        let started = Instant::now();
        let args = [
            "image",
            "--manifest-path",
            &root.join("Cargo.toml").display().to_string(),
            "--builder-image",
            MUSL_BUILDER,
            "--base-image",
            "distroless-cc=cargo-image-stand-in/distroless-cc:trixie",
            "--build-mode",
            mode,
            "--label",
            &s.label(),
            "--no-size-comparison",
            "--tag",
            &format!("{}/{{bin}}:{{version}}", s.prefix()),
        ];
        let run = s.xtask(&args, &[("CI", "1")], Duration::from_secs(15 * 60));
        assert!(
            run.status.success(),
            "sys-musl ({mode}): {}",
            run.describe()
        );
        eprintln!(
            "[e2e] sys-musl ({mode}): two images built in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        let musl = s.run_once(&["--network", "none", &s.tag("libc-probe-musl", VERSION)]);
        assert_eq!(
            musl.trim_end(),
            "libc-probe-musl: x86_64-unknown-linux-musl with C from musl",
            "{mode}"
        );
        let gnu = s.run_once(&["--network", "none", &s.tag("libc-probe-gnu", VERSION)]);
        assert_eq!(
            gnu.trim_end(),
            "libc-probe-gnu: x86_64-unknown-linux-gnu with C from glibc",
            "{mode}"
        );
    }
}

/// The commands the spawn note takes `debian-slim` to have (`DEBIAN_SLIM_HAS`) are there
/// for a program to start, each found on the PATH of the debian-slim stand-in (debootstrap
/// `minbase`: Essential and required packages, as the slim image); `kill`, which the list
/// had, is not (Debian's is procps's, which atuin's daemon would have failed to start).
#[test]
fn the_commands_said_to_be_on_debian_slim_are_there() {
    let Some(_s) = scenario("debian_slim_commands") else {
        return;
    };
    let names = cargo_image::spawn::DEBIAN_SLIM_HAS.join(" ");
    // An executable on the PATH, as `Command::new` looks for one (`command -v` would also
    // find the shell's builtins, `kill` among them).
    let script = format!(
        "for c in {names} kill; do found=; for d in $(echo \"$PATH\" | tr : ' '); do \
         [ -x \"$d/$c\" ] && found=1; done; [ -n \"$found\" ] || echo \"missing $c\"; done"
    );
    let out = docker_ok(&["run", "--rm", SLIM_STAND_IN, "sh", "-c", &script]);
    assert_eq!(out.trim(), "missing kill", "{out}");
}
