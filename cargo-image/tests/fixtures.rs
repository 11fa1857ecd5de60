//! Golden tests: one small workspace per hazard of DESIGN-NOTES.md §2, each with whole-file
//! snapshots of the plan (JSON), the Dockerfile, its skeleton and `cargo-image` scripts
//! (`.cargo-image/`) and compose.yaml; the example workspace with every generated file;
//! and hadolint over every Dockerfile.
//!
//! Update the snapshots with `INSTA_UPDATE=always cargo test -p cargo-image --test fixtures` (or
//! `cargo insta review`), then read the diff: it is the review of the generator's output.

// The fixture builder, shared with the end-to-end tests (the `e2e` crate in `tests/`).
#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;

use cargo_image::artifacts::{plan_json, workspace_artifacts};
use cargo_image::plan::{CaSource, Plan, PlanOptions};
use cargo_image::read::Loaded;
use support::{fixed_options, Built, Fixture, BUILDER};

/// The generated files of a loaded plan, by file name, with the sandbox redacted.
fn artifacts(built: &Built, loaded: &Loaded, plan: &Plan) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = workspace_artifacts(loaded, plan)
        .into_iter()
        .map(|a| {
            let name = a
                .path
                .file_name()
                .expect("an artifact has a file name")
                .to_string_lossy()
                .into_owned();
            (name, built.redact(&a.contents))
        })
        .collect();
    out.insert("plan.json".into(), built.redact(&plan_json(plan)));
    out
}

/// Snapshots the plan, the Dockerfile and compose.yaml of a fixture.
fn snapshot(name: &str, built: &Built, opts: &PlanOptions) {
    let (loaded, plan) = built
        .load(opts)
        .unwrap_or_else(|e| panic!("planning fixture {name} failed: {e:#}"));
    let files = artifacts(built, &loaded, &plan);
    insta::assert_snapshot!(format!("{name}__plan"), files["plan.json"]);
    insta::assert_snapshot!(format!("{name}__dockerfile"), files["Dockerfile"]);
    insta::assert_snapshot!(format!("{name}__skeleton_sh"), files["skeleton.sh"]);
    insta::assert_snapshot!(format!("{name}__cargo_image_sh"), files["cargo-image.sh"]);
    insta::assert_snapshot!(format!("{name}__compose"), files["compose.yaml"]);
}

// ---------------------------------------------------------------------------------------
// The fixtures, one per hazard.
// ---------------------------------------------------------------------------------------

/// A virtual workspace: a binary on two libraries, one of them shared.
fn virtual_workspace() -> Built {
    Fixture::new("virtual")
        .virtual_workspace(&["crates/app", "crates/core-lib", "crates/util"])
        .package("crates/core-lib", |p| p.lib())
        .package("crates/util", |p| {
            p.lib().dep_path("core-lib", "../core-lib")
        })
        .package("crates/app", |p| {
            p.main()
                .dep_path("core-lib", "../core-lib")
                .dep_path("util", "../util")
        })
        .build()
}

/// A root package (the workspace root is also a package) with a build script, tests and a
/// member below it.
fn root_package() -> Built {
    Fixture::new("rootpkg")
        .root_package("server", |p| {
            p.main()
                .build_rs()
                .test("smoke")
                .dep_path("util", "crates/util")
        })
        .members(&["crates/util"])
        .package("crates/util", |p| p.lib())
        .build()
}

/// A root package whose binary lives in a subdirectory beside the members (ripgrep).
fn root_bin_in_subdir() -> Built {
    Fixture::new("rootbin")
        .root_package("rg", |p| {
            p.target("bin", "rg", "crates/core/main.rs")
                .source("crates/core/flags.rs", "pub fn parse() {}\n")
                .dep_path("grep", "crates/grep")
                .dep_path("cli", "crates/cli")
        })
        .members(&["crates/grep", "crates/cli"])
        .package("crates/grep", |p| p.lib())
        .package("crates/cli", |p| p.lib().dep_path("grep", "../grep"))
        .build()
}

/// Explicit and auto-discovered bins, tests, benches and examples.
fn targets() -> Built {
    Fixture::new("targets")
        .virtual_workspace(&["crates/tool"])
        .package("crates/tool", |p| {
            p.lib()
                .main()
                .bin("x")
                .bin_dir("y")
                .target("bin", "explicit-bin", "cmd/explicit.rs")
                .test("auto")
                .target("test", "integration", "checks/integration.rs")
                .bench("speed")
                .target("bench", "explicit-bench", "perf/explicit.rs")
                .example("demo")
                .target("example", "custom", "samples/custom.rs")
        })
        .build()
}

/// A build script with a build-dependency on a member.
fn build_script() -> Built {
    Fixture::new("buildrs")
        .virtual_workspace(&["crates/app", "crates/gen", "crates/codegen"])
        .package("crates/codegen", |p| p.lib())
        .package("crates/gen", |p| {
            p.lib().build_rs().build_dep_path("codegen", "../codegen")
        })
        .package("crates/app", |p| p.main().dep_path("gen", "../gen"))
        .build()
}

/// A proc-macro crate used by a library and a binary.
fn proc_macro() -> Built {
    Fixture::new("procmacro")
        .virtual_workspace(&["crates/app", "crates/derive", "crates/model"])
        .package("crates/derive", |p| p.proc_macro())
        .package("crates/model", |p| p.lib().dep_path("derive", "../derive"))
        .package("crates/app", |p| {
            p.main()
                .dep_path("model", "../model")
                .dep_path("derive", "../derive")
        })
        .build()
}

/// A dev-dependency cycle: a depends on b, b dev-depends on a; a dev-only sibling too.
fn dev_cycle() -> Built {
    Fixture::new("devcycle")
        .virtual_workspace(&["crates/a", "crates/b", "crates/app", "crates/testkit"])
        .package("crates/b", |p| {
            p.lib().dev_dep_path("a", "../a").test("uses_a")
        })
        .package("crates/a", |p| {
            p.lib()
                .dep_path("b", "../b")
                .dev_dep_path("testkit", "../testkit")
        })
        .package("crates/testkit", |p| p.lib())
        .package("crates/app", |p| p.main().dep_path("a", "../a"))
        .build()
}

/// `[workspace.package]` and `[workspace.dependencies]` inherited by the members.
fn inheritance() -> Built {
    Fixture::new("inherit")
        .virtual_workspace(&["crates/*"])
        .workspace_toml(
            r#"[workspace.package]
version = "2.1.0"
edition = "2021"
license = "MIT"
repository = "https://example.com/inherit"
description = "Inherited description"

[workspace.dependencies]
shared = { path = "crates/shared", version = "2.1.0" }
"#,
        )
        .package("crates/shared", |p| {
            p.inherit(&["version", "edition", "license", "repository"])
                .lib()
        })
        .package("crates/app", |p| {
            p.inherit(&["version", "edition", "license", "repository", "description"])
                .main()
                .dep("shared", "{ workspace = true }")
        })
        .build()
}

/// A path dependency outside the workspace root, reachable with `context = ".."`.
fn outside_path(with_context: bool) -> Built {
    let f = Fixture::new("ws")
        .virtual_workspace(&["crates/app"])
        .package("crates/app", |p| {
            p.main().dep_path("outside", "../../../vendor/outside")
        })
        .package("../vendor/outside", |p| p.lib());
    if with_context {
        f.workspace_toml("[workspace.metadata.image]\ncontext = \"..\"\n")
            .build()
    } else {
        f.build()
    }
}

/// A git dependency on a local repository.
fn git_dep() -> Built {
    Fixture::new("gitdep")
        .virtual_workspace(&["crates/app"])
        .package("crates/app", |p| {
            p.main()
                .dep("remote", r#"{ git = "file://{SANDBOX}/remote" }"#)
        })
        .git_package("../remote", |p| p.lib())
        .build()
}

/// Private sources: git dependencies over SSH (`ssh = true`, as a `git+ssh://` source in
/// Cargo.lock turns it on; built against a real sshd in `e2e_hazards.rs`), with a host key
/// of its own, and a private registry's token (`registry-tokens`).
fn ssh() -> Built {
    Fixture::new("ssh")
        .root_package("svc", |p| p.main())
        .workspace_toml(
            "[workspace.metadata.image]\nssh = true\n\
             ssh-known-hosts = [\"git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheExample\"]\n\
             registry-tokens = [\"company-crates\"]\n",
        )
        .build()
}

/// `[patch.crates-io]` replacing a registry crate with a local one.
fn patch() -> Built {
    Fixture::new("patch")
        .virtual_workspace(&["crates/app"])
        .workspace_toml(
            "[patch.crates-io]\nitoa = { path = \"patched/itoa\" }\nryu = { path = \"patched/ryu\" }\n",
        )
        .package("crates/app", |p| {
            p.main()
                .dep("itoa", "\"1\"")
                // Patched, but behind a feature off by default (atuin's axoasset).
                .dep("ryu", "{ version = \"1\", optional = true }")
        })
        .package("patched/itoa", |p| p.version("1.0.99").lib())
        .package("patched/ryu", |p| p.version("1.0.99").lib())
        .build()
}

const TOOLCHAIN: &str = "[toolchain]\nchannel = \"1.85.0\"\ncomponents = [\"clippy\"]\n";

/// `rust-toolchain.toml` pinning a version.
fn toolchain() -> Built {
    Fixture::new("toolchain")
        .virtual_workspace(&["crates/app"])
        .file("rust-toolchain.toml", TOOLCHAIN)
        .package("crates/app", |p| p.main())
        .build()
}

const CARGO_CONFIG: &str = "# Read by cargo before it compiles anything.\n[env]\nGREETING = \"hello from config\"\n\n[alias]\nxt = \"run --package app --\"\n";

/// `.cargo/config.toml` at the workspace root.
fn cargo_config() -> Built {
    Fixture::new("cargoconfig")
        .virtual_workspace(&["crates/app"])
        .file(".cargo/config.toml", CARGO_CONFIG)
        .package("crates/app", |p| p.main())
        .build()
}

/// The source replacement `cargo vendor` prints, in `.cargo/config.toml`.
const VENDOR_CONFIG: &str = "[source.crates-io]\nreplace-with = \"vendored-sources\"\n\n\
                             [source.vendored-sources]\ndirectory = \"vendor\"\n";

/// A `cargo vendor` setup: crates.io replaced by `vendor/`. The vendored crate is our own
/// (a directory source needs only its manifest and `.cargo-checksum.json`), so the fixture
/// stays offline; `e2e_hazards` vendors a real one from crates.io.
fn vendored() -> Built {
    Fixture::new("vendored")
        .virtual_workspace(&["crates/app"])
        .file(".cargo/config.toml", VENDOR_CONFIG)
        .file(
            "vendor/tiny-dep/Cargo.toml",
            "[package]\nname = \"tiny-dep\"\nversion = \"1.0.0\"\nedition = \"2021\"\n",
        )
        .file("vendor/tiny-dep/src/lib.rs", "pub const N: u8 = 7;\n")
        // A directory our generated `**/target/` rule would take (the `cc` crate has one).
        .file("vendor/tiny-dep/src/target/mod.rs", "\n")
        .file(
            "vendor/tiny-dep/.cargo-checksum.json",
            "{\"files\":{},\"package\":null}",
        )
        .package("crates/app", |p| p.main().dep("tiny-dep", "\"1\""))
        .build()
}

/// Members reached through symlinks: a `crates/*` glob whose `crates/api` links to
/// `../elsewhere/api`, and a member listed by a path that is a link (`worker`).
fn symlinked() -> Built {
    Fixture::new("symlinked")
        .virtual_workspace(&["crates/*", "worker"])
        .package("elsewhere/api", |p| {
            // Cargo joins `crates/api` and `..` without following the link, as the
            // build does: the path goes up from where the link sits.
            p.name("api")
                .main()
                .dep_path("shared", "../../elsewhere/shared")
        })
        .package("elsewhere/shared", |p| p.name("shared").lib())
        .package("elsewhere/worker", |p| p.name("worker").main())
        .symlink("crates/api", "../elsewhere/api")
        .symlink("worker", "elsewhere/worker")
        .build()
}

/// Several binaries with different features, runtimes and settings.
fn multi_bin() -> Built {
    Fixture::new("multibin")
        .virtual_workspace(&["crates/svc", "crates/tools", "crates/common"])
        .workspace_toml(
            "[workspace.metadata.image]\nenv = { RUST_LOG = \"info\" }\nregistry = \"ghcr.io/acme\"\n",
        )
        .package("crates/common", |p| {
            p.lib()
                .toml("[features]\ntracing = []\n")
        })
        .package("crates/svc", |p| {
            p.lib()
                .bin("api")
                .bin("worker")
                .bin("migrate")
                .dep_path("common", "../common")
                .toml(
                    r#"[features]
http = []
metrics = []

[package.metadata.image.bin.api]
runtime = "scratch"
features = ["http", "common/tracing"]
# HTTP/1.1 and HTTP/2 over TCP, HTTP/3 over QUIC (UDP).
ports = [8080, "8443/tcp", "8443/udp"]
healthcheck = { http = "/health" }

[package.metadata.image.bin.worker]
runtime = "distroless-cc"
features = ["metrics"]
user = "1000:1000"
env = { QUEUE = "jobs" }

[package.metadata.image.bin.migrate]
skip = true
"#,
                )
        })
        .package("crates/tools", |p| {
            p.main()
                .dep_path("common", "../common")
                .toml(
                    r#"[package.metadata.image]
runtime = "debian-slim"
tags = ["{bin}:v{version}"]
healthcheck = { cmd = ["/usr/local/bin/tools", "--check"], interval = "30s" }
"#,
                )
        })
        .build()
}

/// Builds a fixture.
type MakeFixture = fn() -> Built;

/// Every fixture that plans, by name.
const FIXTURES: &[(&str, MakeFixture)] = &[
    ("virtual_workspace", virtual_workspace),
    ("root_package", root_package),
    ("root_bin_in_subdir", root_bin_in_subdir),
    ("targets", targets),
    ("build_script", build_script),
    ("proc_macro", proc_macro),
    ("dev_cycle", dev_cycle),
    ("inheritance", inheritance),
    ("outside_path_with_context", || outside_path(true)),
    ("git_dep", git_dep),
    ("patch", patch),
    ("toolchain", toolchain),
    ("cargo_config", cargo_config),
    ("multi_bin", multi_bin),
];

// ---------------------------------------------------------------------------------------
// Snapshot tests.
// ---------------------------------------------------------------------------------------

#[test]
fn virtual_workspace_snapshots() {
    snapshot("virtual_workspace", &virtual_workspace(), &fixed_options());
}

/// `libc = "musl"` beside glibc binaries: one static glibc binary (scratch), one dynamic
/// (distroless-cc with a runtime package), one against musl (the third cargo command, its
/// own triple in `install`, musl-tools inferred, both standard libraries checked).
fn musl() -> Built {
    Fixture::new("musl")
        .root_package("svc", |p| {
            p.main().bin("tool").bin("admin").toml(
                "[package.metadata.image]\nruntime = \"scratch\"\n\n\
                 [package.metadata.image.bin.tool]\nlibc = \"musl\"\n\n\
                 [package.metadata.image.bin.admin]\nruntime = \"distroless-cc\"\n\
                 runtime-packages = [\"libsqlite3-0\"]\n",
            )
        })
        .build()
}

#[test]
fn musl_snapshots() {
    snapshot("musl", &musl(), &fixed_options());
}

#[test]
fn root_package_snapshots() {
    snapshot("root_package", &root_package(), &fixed_options());
}

/// The incremental step's cache mount ids (registry, git checkouts, target dir).
fn incremental_cache_ids(dockerfile: &str) -> Vec<String> {
    dockerfile
        .split_whitespace()
        .filter_map(|word| word.strip_prefix("--mount=type=cache,id="))
        .filter_map(|rest| rest.split(',').next())
        .filter(|id| !id.starts_with("cargo-image-apt-"))
        .map(str::to_string)
        .collect()
}

/// A file appearing beside a root package's `Cargo.toml` (a README, the `Dockerfile.orig`
/// that `dockerfile --force` keeps) joins the dev target's watch list in the script, but
/// must not change the incremental cache ids: a new id is an empty target dir, and the next
/// build recompiled every dependency (zero2prod: 349 crates, 14 minutes on 2 cores).
#[test]
fn root_package_cache_ids_ignore_new_top_level_files() {
    let built = root_package();
    let files = |built: &Built| {
        let (loaded, plan) = built.plan();
        artifacts(built, &loaded, &plan)
    };
    let before = files(&built);
    built.write("Dockerfile.orig", "FROM scratch\n");
    built.write("NOTES.md", "notes\n");
    let after = files(&built);
    assert_ne!(
        before["cargo-image.sh"], after["cargo-image.sh"],
        "the premise: the dev watch list names the new entries"
    );
    let ids = incremental_cache_ids(&before["Dockerfile"]);
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(ids, incremental_cache_ids(&after["Dockerfile"]));
}

/// Turning a feature on (or an image's own feature set, a second cargo command) keeps the
/// incremental cache ids: cargo keys what it compiled by features itself, and a new id is
/// an empty target dir (vaultwarden, after turning on one database feature: 16 minutes).
#[test]
fn cache_ids_outlast_a_feature_change() {
    let featured = |package: &str| {
        Fixture::new("featured")
            .root_package(package, |p| {
                p.main()
                    .source("src/bin/admin.rs", "fn main() {}\n")
                    .toml("[features]\nextra = []\nfast = []\n")
            })
            .build()
    };
    let built = featured("svc");
    let ids = |built: &Built| {
        let (_, plan) = built.plan();
        (
            incremental_cache_ids(&cargo_image::render::dockerfile::render(&plan)),
            plan.build,
        )
    };
    let manifest = built.read("Cargo.toml");
    let (before, build) = ids(&built);
    assert_eq!(before.len(), 3, "{before:?}");
    assert!(build.features.is_empty() && build.groups.is_empty());
    built.write(
        "Cargo.toml",
        &format!("{manifest}\n[package.metadata.image]\nfeatures = [\"extra\"]\n"),
    );
    let (after, build) = ids(&built);
    assert_eq!(build.features, ["extra"], "the premise");
    assert_eq!(before, after);
    built.write(
        "Cargo.toml",
        &format!(
            "{manifest}\n[package.metadata.image]\nfeatures = [\"extra\"]\n\
             [package.metadata.image.bin.admin]\nfeatures = [\"fast\"]\n"
        ),
    );
    let (after, build) = ids(&built);
    assert_eq!(build.groups.len(), 2, "the premise: {:?}", build.groups);
    assert_eq!(before, after);
    // Nor by the binaries a build chooses (`--bin admin`).
    built.write("Cargo.toml", &manifest);
    let (_, one) = built
        .load(&PlanOptions {
            bins: vec!["admin".into()],
            ..fixed_options()
        })
        .unwrap();
    assert_eq!(one.build.bins, ["admin"], "the premise");
    let rendered = cargo_image::render::dockerfile::render(&one);
    assert_eq!(before, incremental_cache_ids(&rendered));
    // Another workspace, alike but for its package's name, keeps its own.
    assert_ne!(before, ids(&featured("other")).0);
}

/// Real-project hazards: a root package reading files beside `src/`, `build-files` for a
/// member's build script, a `[[bin]]` outside its package, the user's `.dockerignore`
/// leaving out `tests/` and a secret, `build-env` with a literal `$`, `git = true` and
/// `build-args` (built and run in `e2e_hazards.rs`).
fn hazards() -> Built {
    Fixture::new("hazards")
        .git_root()
        .root_package("hazard-svc", |p| {
            p.main().dep_path("shapes", "crates/shapes")
        })
        .members(&["crates/*"])
        .workspace_toml(
            "[workspace.metadata.image]\nbuild-files = [\"proto\"]\n\
             build-env = { HAZARD_GREETING = \"costs $5 at ${HOME}\" }\n\
             git = true\nbuild-args = [\"HAZARD_SHA={revision}\", \"HAZARD_CHANNEL\"]\n",
        )
        .package("crates/shapes", |p| p.lib().build_rs().test("shapes"))
        .package("crates/tools", |p| {
            p.target("bin", "hazard-tool", "../../bin/hazard-tool.rs")
                .dep_path("shapes", "../shapes")
        })
        .file("README.md", "Hazard service\n")
        .file("migrations/0001_init.sql", "CREATE TABLE t (id INT);\n")
        .file("proto/shapes.proto", "circle\n")
        .file("tests/it.rs", "#[test]\nfn works() {}\n")
        .file("secrets/token", "do-not-ship\n")
        .file(
            ".dockerignore",
            "# The team's own rules.\n**/tests/\nsecrets/\n",
        )
        .file(
            ".cargo/config.toml",
            "[build]\nrustflags = [\"-C\", \"link-arg=-fuse-ld=lld\"]\n\n\
             [target.aarch64-unknown-linux-gnu]\nlinker = \"clang\"\n",
        )
        .build()
}

#[test]
fn hazards_snapshots() {
    let built = hazards();
    snapshot("hazards", &built, &fixed_options());
    let (loaded, plan) = built.plan();
    let root = loaded.workspace.package("hazard-svc").unwrap();
    // The root package compiles from everything at the root but the members, target/,
    // the generated files and what .dockerignore leaves out.
    assert_eq!(
        root.sources,
        [
            ".cargo",
            "Cargo.toml",
            "README.md",
            "bin",
            "migrations",
            "proto",
            "src"
        ]
        .iter()
        .filter(|p| loaded.context_dir.join(p).exists())
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
    );
    // The member's layer carries the build files; the tool's leaf its source outside.
    let shapes = plan
        .layers
        .iter()
        .find(|l| l.packages == ["shapes"])
        .unwrap();
    assert_eq!(shapes.copy, ["crates/shapes", "proto"]);
    let tools = plan
        .leaves
        .iter()
        .find(|l| l.packages == ["tools"])
        .unwrap();
    assert_eq!(tools.copy, ["bin", "crates/tools", "proto"]);
    // The user's rules survive in the generated .dockerignore, after our block and before
    // the re-include of the generated programs.
    let ignore = cargo_image::render::dockerignore::render(&plan);
    assert!(
        ignore.contains(&format!(
            "{}\n# The team's own rules.\n**/tests/\nsecrets/\n{}\n!.cargo-image/\n",
            cargo_image::ignore::END,
            cargo_image::ignore::TRAILER
        )),
        "{ignore}"
    );
    assert!(ignore.ends_with("!.cargo-image/\n"), "{ignore}");
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    assert!(dockerfile.contains(r#"HAZARD_GREETING="costs \$5 at \${HOME}""#));
    // The linkers .cargo/config.toml names become build packages, with the reason.
    let inferred: Vec<(&str, &str)> = plan
        .build
        .inferred_packages
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        inferred,
        [
            (
                "clang",
                ".cargo/config.toml: target.aarch64-unknown-linux-gnu.linker = \"clang\""
            ),
            ("git", "git = true: build scripts run git"),
            ("lld", ".cargo/config.toml rustflags: link-arg=-fuse-ld=lld"),
        ]
    );
    assert_eq!(plan.build.build_packages, ["clang", "git", "lld"]);
    // git = true: .git back in the context, bound writable into every compile step (each
    // crate layer, each leaf, the incremental step), never into a runtime stage.
    assert_eq!(plan.git.as_deref(), Some(".git"));
    assert!(ignore.contains("\n!.git\n"), "{ignore}");
    let git_mount = "--mount=type=bind,source=.git,target=/app/.git,rw";
    for stage in dockerfile.split("\nFROM ").skip(1) {
        let name = stage.lines().next().unwrap();
        let binds_git = stage.contains(git_mount);
        let compiles_sources =
            stage.contains("cargo-image copy ") || stage.contains("build-online");
        assert_eq!(binds_git, compiles_sources, "stage {name}");
        // The build arguments are declared where workspace crates compile.
        let declares = stage
            .lines()
            .any(|l| l.starts_with("ARG ") && l.ends_with(" HAZARD_CHANNEL HAZARD_SHA"));
        let compiles = compiles_sources || stage.contains("copy-context");
        assert_eq!(declares, compiles, "stage {name}");
    }
    let script = cargo_image::render::scripts::cargo_image_script(&plan);
    assert!(script.contains("GIT_CONFIG_VALUE_0='*'"));
    assert_eq!(
        plan.build_args
            .iter()
            .map(|a| (a.name.as_str(), a.revision))
            .collect::<Vec<_>>(),
        [("HAZARD_CHANNEL", false), ("HAZARD_SHA", true)]
    );
}

#[test]
fn root_bin_in_subdir_snapshots() {
    let built = root_bin_in_subdir();
    snapshot("root_bin_in_subdir", &built, &fixed_options());
    let (_, plan) = built.plan();
    assert!(plan.skeleton.main_sources.contains("crates/core/main.rs"));
    // The root package is the binary's: a leaf, built on top of the chain.
    let root_leaf = plan.leaves.last().expect("a leaf");
    assert_eq!(root_leaf.packages, ["rg"]);
    assert_eq!(root_leaf.bins, ["rg"]);
    assert!(
        root_leaf.copy.contains(&"crates/core".to_string()),
        "{root_leaf:?}"
    );
    assert!(!plan
        .layers
        .iter()
        .any(|l| l.packages.contains(&"rg".into())));
}

#[test]
fn targets_snapshots() {
    let built = targets();
    snapshot("targets", &built, &fixed_options());
    let (_, plan) = built.plan();
    for path in [
        "crates/tool/src/main.rs",
        "crates/tool/src/bin/x.rs",
        "crates/tool/src/bin/y/main.rs",
        "crates/tool/cmd/explicit.rs",
        "crates/tool/tests/auto.rs",
        "crates/tool/checks/integration.rs",
        "crates/tool/benches/speed.rs",
        "crates/tool/perf/explicit.rs",
        "crates/tool/examples/demo.rs",
        "crates/tool/samples/custom.rs",
    ] {
        assert!(
            plan.skeleton.main_sources.contains(path),
            "no dummy main for {path}"
        );
    }
    assert!(plan
        .skeleton
        .empty_sources
        .contains("crates/tool/src/lib.rs"));
}

#[test]
fn build_script_snapshots() {
    let built = build_script();
    snapshot("build_script", &built, &fixed_options());
    let (_, plan) = built.plan();
    assert!(plan.skeleton.main_sources.contains("crates/gen/build.rs"));
}

#[test]
fn proc_macro_snapshots() {
    let built = proc_macro();
    snapshot("proc_macro", &built, &fixed_options());
    let (_, plan) = built.plan();
    assert!(plan
        .skeleton
        .empty_sources
        .contains("crates/derive/src/lib.rs"));
}

#[test]
fn dev_cycle_snapshots() {
    let built = dev_cycle();
    snapshot("dev_cycle", &built, &fixed_options());
    let (_, plan) = built.plan();
    // A cycle through a dev-dependency does not merge layers: b (which a depends on)
    // comes first, then a; app, which nothing depends on, is a leaf; the dev-only testkit
    // is not needed by the binary.
    let order: Vec<&[String]> = plan.layers.iter().map(|l| l.packages.as_slice()).collect();
    assert_eq!(
        order,
        [&["b".to_string()][..], &["a".to_string()]],
        "{:?}",
        plan.layers
    );
    let leaves: Vec<&[String]> = plan.leaves.iter().map(|l| l.packages.as_slice()).collect();
    assert_eq!(leaves, [&["app".to_string()][..]], "{:?}", plan.leaves);
    assert!(!plan
        .layers
        .iter()
        .any(|l| l.packages.contains(&"testkit".to_string())));
}

#[test]
fn inheritance_snapshots() {
    snapshot("inheritance", &inheritance(), &fixed_options());
}

#[test]
fn outside_path_with_context_snapshots() {
    let built = outside_path(true);
    snapshot("outside_path_with_context", &built, &fixed_options());
    let (loaded, plan) = built.plan();
    assert_eq!(plan.workspace_root, "ws");
    assert_eq!(loaded.context_dir, built.sandbox.canonicalize().unwrap());
    assert!(
        plan.layers.iter().any(|l| l.copy == ["vendor/outside"]),
        "{:?}",
        plan.layers
    );
}

#[test]
fn ssh_snapshots() {
    let built = ssh();
    snapshot("ssh", &built, &fixed_options());
    let (_, plan) = built.plan();
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    // Exactly the downloading steps get the agent and the host keys: the fetch stage's
    // and the incremental step.
    let agent = "--mount=type=ssh";
    let token = "--mount=type=secret,id=cargo-registry-company-crates";
    for stage in dockerfile.split("\nFROM ").skip(1) {
        let name = stage.lines().next().unwrap();
        let downloads = name.ends_with(" AS fetch") || name.ends_with(" AS build-incremental");
        assert_eq!(stage.contains(agent), downloads, "stage {name}");
        assert_eq!(stage.contains(token), downloads, "stage {name}");
    }
    // The script writes the host keys before those steps run cargo.
    let script = cargo_image::render::scripts::cargo_image_script(&plan);
    assert!(script.contains(
        "printf '%s\\n' 'git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheExample' >/etc/ssh/ssh_known_hosts"
    ), "{script}");
    // The token: from its secret into the variable cargo reads, in the step's process.
    assert!(script.contains(
        "if [ -s /run/secrets/cargo-registry-company-crates ]; then\n        CARGO_REGISTRIES_COMPANY_CRATES_TOKEN=\"$(cat /run/secrets/cargo-registry-company-crates)\"\n        export CARGO_REGISTRIES_COMPANY_CRATES_TOKEN CARGO_REGISTRIES_COMPANY_CRATES_CREDENTIAL_PROVIDER=cargo:token\n"
    ), "{script}");
    let bake = cargo_image::render::bake::render(&plan, ".", "Dockerfile", &[]);
    assert!(bake.contains("  ssh        = [\"default\"]\n"), "{bake}");
    assert!(bake.contains(
        "  secret     = [\"id=cargo-registry-company-crates,env=CARGO_REGISTRIES_COMPANY_CRATES_TOKEN\"]\n"
    ), "{bake}");
    let build_sh = cargo_image::render::build_sh::render(&plan, "..");
    assert!(build_sh.contains(" --ssh default"), "{build_sh}");
    assert!(
        build_sh.contains(
            " --secret id=cargo-registry-company-crates,env=CARGO_REGISTRIES_COMPANY_CRATES_TOKEN"
        ),
        "{build_sh}"
    );
    let (_, plain) = virtual_workspace().plan();
    assert!(!cargo_image::render::dockerfile::render(&plain).contains(agent));
}

/// The default builder is raised to the highest `rust-version` of the workspace's
/// packages (cargo refuses a package whose rust-version is above its compiler); a
/// toolchain file still wins.
#[test]
fn default_builder_follows_rust_version_above_this_machines_rustc() {
    let built = Fixture::new("rustversion")
        .virtual_workspace(&["crates/app", "crates/lib"])
        .package("crates/app", |p| p.main().dep_path("lib", "../lib"))
        .package("crates/lib", |p| p.lib())
        .build();
    let manifest = built.root.join("crates/lib/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen(
            "edition = \"2021\"",
            "edition = \"2021\"\nrust-version = \"1.200\"",
            1,
        ),
    )
    .unwrap();
    let (_, plan) = built.load(&PlanOptions::default()).unwrap();
    assert_eq!(plan.builder, "rust:1.200.0-slim-bookworm");
    std::fs::write(
        built.root.join("rust-toolchain.toml"),
        "[toolchain]\nchannel = \"1.85.0\"\n",
    )
    .unwrap();
    let (_, plan) = built.load(&PlanOptions::default()).unwrap();
    assert_eq!(plan.builder, "rust:1.85.0-slim-bookworm");
}

#[test]
fn git_dep_snapshots() {
    let built = git_dep();
    snapshot("git_dep", &built, &fixed_options());
    let (loaded, plan) = built.plan();
    // A git dependency is third-party: not layered, compiled in the dependency stage.
    assert!(loaded.workspace.package("remote").is_none());
    // The manifest names the repository by its absolute path; snapshots must not.
    let sandbox = built.sandbox.display().to_string();
    let raw = plan_json(&plan);
    assert!(raw.contains(&format!("file://{sandbox}/remote")), "{raw}");
    for (name, text) in artifacts(&built, &loaded, &plan) {
        assert!(!text.contains(&sandbox), "{name} holds the sandbox path");
    }
    assert!(built.redact(&raw).contains("file://[SANDBOX]/remote"));
}

#[test]
fn patch_snapshots() {
    let built = patch();
    snapshot("patch", &built, &fixed_options());
    let (loaded, plan) = built.plan();
    let itoa = loaded
        .workspace
        .package("itoa")
        .expect("the patch is a local package");
    assert!(!itoa.member);
    assert!(
        plan.layers.iter().any(|l| l.copy == ["patched/itoa"]),
        "{:?}",
        plan.layers
    );
    // The patch must keep its version in the skeleton, or it would no longer match `1`.
    assert!(plan.skeleton.files["patched/itoa/Cargo.toml"].contains("1.0.99"));
    // A patch nothing enables is no package of the resolve, but cargo reads it to load
    // the workspace: the build gets it whole, beside the skeleton and in the binds (here
    // in `patched/`'s, bound whole as it holds the two patches only).
    assert!(loaded.workspace.package("ryu").is_none());
    assert_eq!(plan.patch_dirs, ["patched/ryu"]);
    assert_eq!(plan.whole_dirs, ["crates", "patched"]);
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    assert!(
        dockerfile.contains("COPY patched/ryu /app/patched/ryu")
            && dockerfile.contains("source=patched,target=/app/patched,rw"),
        "{dockerfile}"
    );
}

#[test]
fn toolchain_snapshots() {
    let built = toolchain();
    // No builder option: the builder comes from rust-toolchain.toml, not from the host.
    let (_, plan) = built.load(&PlanOptions::default()).unwrap();
    assert_eq!(plan.builder, "rust:1.85.0-slim-bookworm");
    assert_eq!(plan.skeleton.files["rust-toolchain.toml"], TOOLCHAIN);
    assert!(plan.manifests.contains(&"rust-toolchain.toml".to_string()));
    snapshot("toolchain", &built, &PlanOptions::default());
}

#[test]
fn cargo_config_snapshots() {
    let built = cargo_config();
    snapshot("cargo_config", &built, &fixed_options());
    let (_, plan) = built.plan();
    assert_eq!(plan.skeleton.files[".cargo/config.toml"], CARGO_CONFIG);
}

#[test]
fn vendored_snapshots() {
    let built = vendored();
    snapshot("vendored", &built, &fixed_options());
    let (loaded, plan) = built.plan();
    assert_eq!(plan.vendor_dirs, ["vendor"]);
    // The vendored crates are no package's sources, and the generated rules keep them.
    assert!(plan.local_dirs.iter().all(|d| !d.starts_with("vendor")));
    let files = artifacts(&built, &loaded, &plan);
    insta::assert_snapshot!("vendored__dockerignore", files[".dockerignore"]);

    // A rule of the user's that leaves a vendored file out is refused before any build.
    built.write(".dockerignore", "**/src/target/\n");
    let err = format!("{:#}", built.load(&fixed_options()).unwrap_err());
    assert!(
        err.contains("`vendor/tiny-dep/src/target/mod.rs`")
            && err.contains("a vendored crate's file")
            && err.contains("**/src/target/"),
        "{err}"
    );
}

#[test]
fn symlinked_snapshots() {
    let built = symlinked();
    snapshot("symlinked", &built, &fixed_options());
    let (_, plan) = built.plan();
    let links: Vec<(&str, &str)> = plan
        .skeleton
        .links
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        links,
        [
            ("crates/api", "../elsewhere/api"),
            ("worker", "elsewhere/worker")
        ]
    );
}

#[test]
fn symlink_to_outside_the_context_is_refused_naming_the_link() {
    let built = Fixture::new("linkout")
        .virtual_workspace(&["crates/*"])
        .package("../outside/api", |p| p.name("api").main())
        .symlink("crates/api", "../../outside/api")
        .build();
    // The sandbox is no repository: make the workspace one, so the context is bounded.
    std::fs::create_dir(built.root.join(".git")).unwrap();
    let err = format!("{:#}", built.load(&fixed_options()).unwrap_err());
    assert!(
        err.contains("package `api` is reached through the symlink `crates/api`")
            && err.contains("outside the build context"),
        "{}",
        built.redact(&err)
    );
}

#[test]
fn multi_bin_snapshots() {
    snapshot("multi_bin", &multi_bin(), &fixed_options());
}

// ---------------------------------------------------------------------------------------
// The example workspace.
// ---------------------------------------------------------------------------------------

fn example_manifest() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../example-workspace/Cargo.toml")
}

fn example_options() -> PlanOptions {
    PlanOptions {
        builder: Some(BUILDER.into()),
        base_images: [
            ("scratch", "scratch"),
            (
                "distroless-static",
                "gcr.io/distroless/static-debian12:nonroot",
            ),
            ("distroless-cc", "gcr.io/distroless/cc-debian12:nonroot"),
            ("debian-slim", "debian:bookworm-slim"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Default::default()
    }
}

#[test]
fn example_workspace_snapshots() {
    let (loaded, plan) = cargo_image::tasks::load(&example_manifest(), &example_options())
        .unwrap_or_else(|e| panic!("planning the example workspace failed: {e:#}"));
    let files: BTreeMap<String, String> = workspace_artifacts(&loaded, &plan)
        .into_iter()
        .map(|a| {
            let name = a.path.file_name().unwrap().to_string_lossy().into_owned();
            (name, a.contents)
        })
        .collect();
    // The Dockerfile, .dockerignore, compose.yaml and the eight files of `.cargo-image/`.
    assert_eq!(files.len(), 11, "{:?}", files.keys());
    insta::assert_snapshot!("example__plan", plan_json(&plan));
    insta::assert_snapshot!("example__dockerfile", files["Dockerfile"]);
    insta::assert_snapshot!("example__skeleton_sh", files["skeleton.sh"]);
    insta::assert_snapshot!("example__cargo_image_sh", files["cargo-image.sh"]);
    insta::assert_snapshot!("example__compose", files["compose.yaml"]);
    insta::assert_snapshot!("example__dockerignore", files[".dockerignore"]);
    insta::assert_snapshot!(
        "example__build_sh",
        cargo_image::render::build_sh::render(&plan, "..")
    );
}

// ---------------------------------------------------------------------------------------
// hadolint over every Dockerfile.
// ---------------------------------------------------------------------------------------

#[test]
fn hadolint_accepts_every_dockerfile() {
    // One thread per workspace: hadolint takes a few hundred milliseconds per file.
    let failures: Vec<String> = std::thread::scope(|s| {
        let mut jobs: Vec<_> = FIXTURES
            .iter()
            .map(|&(name, fixture)| {
                s.spawn(move || {
                    let (_, plan) = fixture().plan();
                    support::hadolint(&cargo_image::render::dockerfile::render(&plan))
                        .map_err(|e| format!("fixture {name}: {e}"))
                })
            })
            .collect();
        jobs.push(s.spawn(|| {
            let (_, plan) = cargo_image::tasks::load(&example_manifest(), &example_options())
                .unwrap_or_else(|e| panic!("planning the example workspace failed: {e:#}"));
            support::hadolint(&cargo_image::render::dockerfile::render(&plan))
                .map_err(|e| format!("example workspace: {e}"))
        }));
        jobs.into_iter()
            .filter_map(|j| j.join().expect("a hadolint job panicked").err())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every file a step takes from the `cargo-image-tools` stage (a bind mount or a COPY) is
/// one that stage copies in: a missing one fails the Engine API build with `not found`
/// (the buildx route, which passes the whole directory as a named context, would not show
/// it). Checked over every fixture's Dockerfile.
#[test]
fn every_tool_a_step_uses_is_in_the_tools_stage() {
    let stage = cargo_image::render::tools::STAGE;
    for &(name, fixture) in FIXTURES {
        let (_, plan) = fixture().plan();
        let dockerfile = cargo_image::render::dockerfile::render(&plan);
        let copied: Vec<String> = cargo_image::render::tools::used(&plan)
            .iter()
            .map(|f| format!("/{f}"))
            .collect();
        let mut taken = Vec::new();
        for word in dockerfile.split_whitespace() {
            if let Some(rest) =
                word.strip_prefix(&format!("--mount=type=bind,from={stage},source="))
            {
                taken.push(rest.split(',').next().unwrap_or("").to_string());
            }
        }
        let copy_from = format!("--from={stage}");
        let words: Vec<&str> = dockerfile.split_whitespace().collect();
        for w in words.windows(2) {
            if w[0] == copy_from {
                taken.push(w[1].to_string());
            }
        }
        assert!(!taken.is_empty(), "fixture {name}: no step uses the tools");
        for file in &taken {
            assert!(
                copied.contains(file),
                "fixture {name}: a step takes {file} from {stage}, which copies only {copied:?}"
            );
        }
    }
}

/// Without CA certificates (none configured, none given) no step mounts any: a secret mount
/// delays its step's start in BuildKit. Given some, both downloading steps (`fetch` and the
/// incremental one) mount them, as a secret or, for the Engine API, a context file.
#[test]
fn ca_mounts_only_where_certificates_exist() {
    let render = |opts: &PlanOptions| {
        let (_, plan) = cargo_image::tasks::load(&example_manifest(), opts)
            .unwrap_or_else(|e| panic!("planning the example workspace failed: {e:#}"));
        (
            plan.ca_source,
            cargo_image::render::dockerfile::render(&plan),
        )
    };
    let (source, text) = render(&example_options());
    assert_eq!(source, CaSource::None);
    assert!(!text.contains("--mount=type=secret"), "{text}");
    assert!(
        !text.contains("target=/run/secrets/cargo-image-ca"),
        "{text}"
    );

    let given = PlanOptions {
        extra_ca: true,
        ..example_options()
    };
    let (source, text) = render(&given);
    assert_eq!(source, CaSource::Secret);
    assert_eq!(
        text.matches("--mount=type=secret,id=cargo-image-ca")
            .count(),
        2,
        "{text}"
    );

    let engine = PlanOptions {
        ca_source: CaSource::ContextFile,
        ..given
    };
    let (source, text) = render(&engine);
    assert_eq!(source, CaSource::ContextFile);
    assert_eq!(
        text.matches("target=/run/secrets/cargo-image-ca").count(),
        2,
        "{text}"
    );
    assert!(!text.contains("--mount=type=secret"), "{text}");
}

/// The header's table of stages stays a table when a stage name is longer than its usual
/// column (the axum examples' `example-consume-body-in-extractor-or-middleware`).
#[test]
fn the_stage_table_widens_for_long_names() {
    let built = Fixture::new("longname")
        .root_package("consume-body-in-extractor-or-middleware", |p| p.main())
        .build();
    let (_, plan) = built.load(&fixed_options()).unwrap();
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    let rows: Vec<&str> = dockerfile
        .lines()
        .skip_while(|l| !l.starts_with("#   stage "))
        .take(4)
        .collect();
    let columns: Vec<usize> = rows
        .iter()
        .map(|r| {
            // Where the second column starts: after the stage name and its padding.
            let rest = &r[4..];
            let name = rest.find(' ').expect(r);
            4 + rest.len() - rest[name..].trim_start().len()
        })
        .collect();
    assert_eq!(rows.len(), 4, "{dockerfile}");
    assert!(columns.iter().all(|c| *c == columns[0]), "{rows:#?}");
    assert!(
        rows[1].starts_with("#   consume-body-in-extractor-or-middleware "),
        "{rows:#?}"
    );
}

/// `examples/` is a workspace of its own whose crate depends on `../lib`, a member of the
/// outer workspace inheriting keys from the outer root manifest (the axum repository).
fn foreign_workspace() -> Built {
    Fixture::new("examples")
        .virtual_workspace(&["hello"])
        .package("hello", |p| p.main().dep_path("outer-lib", "../../lib"))
        .package("../lib", |p| {
            p.name("outer-lib")
                .lib()
                .inherit(&["version", "edition", "rust-version"])
        })
        .file(
            "../Cargo.toml",
            "[workspace]\nresolver = \"2\"\nmembers = [\"lib\"]\nexclude = [\"examples\"]\n\n\
             [workspace.package]\nversion = \"0.4.0\"\nedition = \"2021\"\nrust-version = \"1.70\"\n",
        )
        .workspace_toml("[workspace.metadata.image]\ncontext = \"..\"\n")
        .build()
}

#[test]
fn foreign_workspace_snapshots() {
    let built = foreign_workspace();
    let (_, plan) = built.load(&fixed_options()).unwrap();
    // Cargo reads the outer root manifest while loading `outer-lib`: it is in the skeleton
    // verbatim and among the manifests every compile step binds.
    let outer = std::fs::read_to_string(built.sandbox.join("Cargo.toml")).unwrap();
    assert_eq!(plan.skeleton.files.get("Cargo.toml"), Some(&outer));
    assert!(
        plan.manifests.contains(&"Cargo.toml".to_string()),
        "{:?}",
        plan.manifests
    );
    snapshot("foreign_workspace", &built, &fixed_options());
    // A path dependency in no other workspace adds nothing (`outside_path`).
    let (_, plan) = outside_path(true).load(&fixed_options()).unwrap();
    assert!(
        !plan.manifests.iter().any(|m| m == "Cargo.toml"),
        "{:?}",
        plan.manifests
    );
}

/// A member named `xtask` (the cargo-xtask convention) is the workspace's build tool: no
/// image for it unless its table says `skip = false`.
#[test]
fn an_xtask_member_gets_no_image_unless_asked() {
    let images = |xtask_table: &str| -> Vec<String> {
        let built = Fixture::new("withxtask")
            .virtual_workspace(&["svc", "xtask"])
            .package("svc", |p| p.main())
            .package("xtask", |p| p.main().toml(xtask_table))
            .build();
        let (_, plan) = built.load(&fixed_options()).unwrap();
        plan.images.iter().map(|i| i.bin.clone()).collect()
    };
    assert_eq!(images(""), ["svc"]);
    assert_eq!(
        images("[package.metadata.image]\nskip = false\n"),
        ["svc", "xtask"]
    );
    // Named on the command line, it is built like any binary.
    let built = Fixture::new("withxtask")
        .virtual_workspace(&["svc", "xtask"])
        .package("svc", |p| p.main())
        .package("xtask", |p| p.main())
        .build();
    let mut opts = fixed_options();
    opts.bins = vec!["xtask".into()];
    let (_, plan) = built.load(&opts).unwrap();
    assert_eq!(plan.images[0].bin, "xtask");
}

/// A member whose own `.cargo/config.toml` builds it for WebAssembly (zellij's plugins,
/// built from their directories) is no Linux program: no image unless its binary table
/// says `skip = false`, said in a note; a Linux target there changes nothing.
#[test]
fn a_member_built_for_another_target_gets_no_image_unless_asked() {
    let plan = |target: &str, plugin_table: &str| {
        let built = Fixture::new("owntarget")
            .virtual_workspace(&["app", "plugins/*"])
            .package("app", |p| p.main())
            .package("plugins/about", |p| p.main().toml(plugin_table))
            .file(
                "plugins/about/.cargo/config.toml",
                &format!("[build]\ntarget = \"{target}\"\n"),
            )
            .build();
        let (_, plan) = built.load(&fixed_options()).unwrap();
        let bins: Vec<String> = plan.images.iter().map(|i| i.bin.clone()).collect();
        (bins, plan.notes)
    };
    let (bins, notes) = plan("wasm32-wasip1", "");
    assert_eq!(bins, ["app"]);
    assert_eq!(
        notes,
        [
            "binary `about` is not built: its package's own .cargo/config.toml builds it for \
          `wasm32-wasip1`, not Linux; `skip = false` under [package.metadata.image.bin.<name>] \
          builds one for Linux"
        ]
    );
    let (bins, notes) = plan(
        "wasm32-wasip1",
        "[package.metadata.image.bin.about]\nskip = false\n",
    );
    assert_eq!(bins, ["about", "app"]);
    assert!(notes.is_empty(), "{notes:?}");
    let (bins, notes) = plan("x86_64-unknown-linux-gnu", "");
    assert_eq!(bins, ["about", "app"]);
    assert!(notes.is_empty(), "{notes:?}");
}

/// With no binary that has ports, the dev image runs a program of a package nothing else
/// needs (lemmy's server), not the alphabetically first one, which a library the server
/// depends on ships beside itself (lemmy's database tool); ports still win.
#[test]
fn the_dev_image_runs_a_leaf_program_by_default() {
    let dev_bin = |with_ports: bool| -> String {
        let mut fixture = Fixture::new("devleaf")
            .virtual_workspace(&["crates/*"])
            .package("crates/a-db", |p| p.lib().bin("a-db-tool"))
            .package("crates/server", |p| p.main().dep_path("a-db", "../a-db"));
        if with_ports {
            fixture = fixture.package("crates/b-probe", |p| {
                p.bin("b-probe")
                    .toml("[package.metadata.image]\nports = [9000]\n")
            });
        }
        let (_, plan) = fixture.build().load(&fixed_options()).unwrap();
        plan.dev.bin
    };
    assert_eq!(dev_bin(false), "server");
    assert_eq!(dev_bin(true), "b-probe");
}

/// A binary whose required features are off by default (qdrant's debugging tools) gets its
/// image, said in a note; none for one whose feature is a default (through another
/// feature), nor once the image's `features` ask for it.
#[test]
fn a_binary_behind_a_feature_off_by_default_is_said() {
    let notes = |image_features: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("offbin")
            .root_package("svc", |p| {
                p.main()
                    .source("src/edge.rs", "fn main() {}\n")
                    .source("src/tool.rs", "fn main() {}\n")
                    .toml(&format!(
                        "[features]\ndefault = [\"full\"]\nfull = [\"cli\"]\ncli = []\n\
                         debug = []\n\n\
                         [[bin]]\nname = \"edge\"\npath = \"src/edge.rs\"\n\
                         required-features = [\"debug\"]\n\n\
                         [[bin]]\nname = \"tool\"\npath = \"src/tool.rs\"\n\
                         required-features = [\"cli\"]\n\n{image_features}"
                    ))
            })
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
    };
    let said = notes("");
    let edge: Vec<&String> = said.iter().filter(|n| n.contains("`edge`")).collect();
    assert_eq!(edge.len(), 1, "{said:?}");
    assert!(
        edge[0].contains("requires feature `debug`, off by default"),
        "{said:?}"
    );
    assert!(!said.iter().any(|n| n.contains("`tool`")), "{said:?}");
    let said = notes("[package.metadata.image.bin.edge]\nfeatures = [\"debug\"]\n");
    assert!(!said.iter().any(|n| n.contains("`edge`")), "{said:?}");
}

/// A program whose derived command line needs a subcommand (rauthy's `Args` enum, in a
/// file of its own), one of which serves, would print its usage and exit in an image
/// without `args`: said, with the subcommands and the one that serves; not once `args`
/// names one, nor for a tool none of whose subcommands serves.
#[test]
fn a_program_that_needs_a_subcommand_is_said_unless_args_give_one() {
    let notes = |config: &str, serve: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("subcmd")
            .root_package("auth", |p| {
                p.source(
                    "src/main.rs",
                    "mod cli;\nuse clap::Parser;\n\nfn main() {\n    let args = cli::Args::parse();\n}\n",
                )
                .source(
                    "src/cli.rs",
                    &format!(
                        "#[derive(Debug, Parser)]\n#[command(\n    version,\n)]\npub enum Args {{\n    \
                         /// Print a config\n    GenerateConfig,\n    {serve}(ServeArgs),\n}}\n"
                    ),
                )
                .toml(config)
            })
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
    };
    let said = notes("", "Serve");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("`auth` needs a subcommand (its command line `Args`, in src/cli.rs: `generate-config`, `serve`)")
            && said[0].contains("set `args = [\"serve\"]` under [package.metadata.image] in Cargo.toml"),
        "{said:?}"
    );
    let said = notes("[package.metadata.image]\nargs = [\"serve\"]\n", "Serve");
    assert!(said.is_empty(), "{said:?}");
    // A command-line tool, none of whose subcommands serves, is run with one: not said.
    let said = notes("", "Export");
    assert!(said.is_empty(), "{said:?}");
}

/// A program whose derived command line requires arguments would print its usage and exit
/// in an image that gives none: a service's (realworld's `#[clap(long, env)]` URL and key),
/// and anyone's configuration file (rathole's `<CONFIG>` or `--genkey`, a required group).
/// Not once `args` or `env` give them, nor a command-line tool's other arguments.
#[test]
fn a_program_that_requires_arguments_is_said_unless_the_image_gives_them() {
    let notes = |fields: &str, main: &str, config: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("reqargs")
            .root_package("relay", |p| {
                p.source(
                    "src/main.rs",
                    &format!(
                        "#[derive(clap::Parser)]\npub struct Config {{\n{fields}}}\n\nfn main() {{\n    \
                         let config = Config::parse();\n{main}}}\n"
                    ),
                )
                .toml(config)
            })
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("cannot start without"))
            .collect()
    };
    let service = "    #[clap(long, env)]\n    database_url: String,\n    #[clap(long, default_value_t = 8080)]\n    port: u16,\n";
    let serve = "    let l = std::net::TcpListener::bind((\"0.0.0.0\", 8080)).unwrap();\n";
    let said = notes(service, serve, "");
    assert_eq!(
        said,
        [
            "`relay` cannot start without `--database-url` (or the variable `DATABASE_URL`) (its \
          command line `Config`, in src/main.rs), and its image gives none, so it prints its \
          usage and exits: pass the variables when it runs (`docker run -e`, compose's \
          `environment`), or set `args` under [package.metadata.image] in Cargo.toml"
        ],
    );
    for given in [
        "args = [\"--database-url\", \"postgres://db/app\"]",
        "env = { DATABASE_URL = \"postgres://db/app\" }",
    ] {
        let said = notes(
            service,
            serve,
            &format!("[package.metadata.image]\n{given}\n"),
        );
        assert!(said.is_empty(), "{given}: {said:?}");
    }
    // A configuration file read from an absolute path by default (hickory-dns's): said
    // unless `files` or a volume holds it, or `args` point elsewhere.
    let config = "    #[arg(short, long, default_value = \"/etc/relay/relay.toml\")]\n    \
                  config: std::path::PathBuf,\n";
    let reads = |toml: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("configdefault")
            .root_package("relay", |p| {
                p.source(
                    "src/main.rs",
                    &format!(
                        "#[derive(clap::Parser)]\npub struct Config {{\n{config}}}\n\n\
                         fn main() {{\n    let config = Config::parse();\n}}\n"
                    ),
                )
                .toml(toml)
            })
            .file("deploy/relay.toml", "listen = \"0.0.0.0:7000\"\n")
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("reads its configuration"))
            .collect()
    };
    assert_eq!(
        reads(""),
        [
            "`relay` reads its configuration from `/etc/relay/relay.toml` by default (its \
          `--config` option, src/main.rs), which its image does not hold: if it needs one, \
          copy it in with `files = { \"<your relay.toml>\" = \"/etc/relay/relay.toml\" }`, \
          or give `--config` another path in `args`, under [package.metadata.image] in \
          Cargo.toml"
        ]
    );
    for given in [
        "files = { \"deploy/relay.toml\" = \"/etc/relay/relay.toml\" }",
        "files = { \"deploy\" = \"/etc/relay\" }",
        "volumes = [\"/etc/relay\"]",
        "args = [\"--config\", \"/data/relay.toml\"]",
    ] {
        let said = reads(&format!("[package.metadata.image]\n{given}\n"));
        assert!(said.is_empty(), "{given}: {said:?}");
    }
    // A tool's input is given when it runs: not said. Its configuration file is.
    assert!(notes("    input: std::path::PathBuf,\n", "", "").is_empty());
    let said = notes(
        "    #[arg(short, long)]\n    config: std::path::PathBuf,\n",
        "",
        "",
    );
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with("`relay` cannot start without `--config` (its command line")
            && said[0].ends_with("(with `files` copying the configuration file in)"),
        "{said:?}"
    );
}

/// A command line a library declares and parses in a function (kellnr's
/// `settings::parse_cli()`), its subcommand an `Option` whose absence prints the usage: said
/// for the program that calls the function, not for another program that depends on the
/// library without calling it (kellnr's migration tool).
#[test]
fn a_command_line_parsed_in_a_library_is_said_for_the_program_calling_it() {
    let notes = |call: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("libcli")
            .virtual_workspace(&["crates/*"])
            .package("crates/settings", |p| {
                p.source(
                    "src/lib.rs",
                    "#[derive(clap::Parser)]\npub struct Cli {\n    #[command(subcommand)]\n    \
                     pub command: Option<Command>,\n}\n#[derive(clap::Subcommand)]\n\
                     pub enum Command {\n    Start,\n    Config,\n}\n\
                     pub fn parse_cli() -> Option<Command> {\n    let cli = Cli::parse();\n    \
                     if cli.command.is_none() {\n        Cli::command().print_help().ok();\n    }\n    \
                     cli.command\n}\n",
                )
            })
            .package("crates/server", |p| {
                p.dep_path("settings", "../settings")
                    .source("src/main.rs", &format!("fn main() {{\n    {call}\n}}\n"))
            })
            .package("crates/migrate", |p| {
                p.dep_path("settings", "../settings").source(
                    "src/main.rs",
                    "fn main() {\n    let _ = settings::Command::Start;\n}\n",
                )
            })
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
    };
    let said = notes("let _ = settings::parse_cli();");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].starts_with(
            "`server` needs a subcommand (its command line `Cli`, in crates/settings/src/lib.rs: \
             `start`, `config`)"
        ) && said[0].contains("set `args = [\"start\"]`"),
        "{said:?}"
    );
    let said = notes("let _ = settings::Command::Config;");
    assert!(said.is_empty(), "{said:?}");
}

/// A project's own compose file mounts data directories into the service that runs one
/// of its programs (rustypaste's `./upload/:/app/upload`; the uploads were gone after
/// `docker rm` of the generated image's container): said with the `volumes` that keep
/// them. Not: a mounted file, a read-only mount, another program's service (postgres),
/// a directory a volume of the image already holds, nor a compose file we generated.
#[test]
fn an_own_compose_file_s_data_volumes_are_said() {
    let compose = "services:\n  server:\n    image: me/paste:${TAG:-latest}\n    build: .\n    \
                   volumes:\n      - ./upload/:/app/upload\n      - ./config.toml:/app/config.toml\n      \
                   - ./certs:/app/certs:ro\n  db:\n    image: postgres:16\n    volumes:\n      \
                   - pgdata:/var/lib/postgresql/data\nvolumes:\n  pgdata: {}\n";
    let notes = |file: &str, text: &str, config: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("owncompose")
            .root_package("paste", |p| p.bin("paste").bin("paste-admin").toml(config))
            .file(file, text)
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("compose"))
            .collect()
    };
    assert_eq!(
        notes("docker-compose.yml", compose, ""),
        [
            "your own docker-compose.yml mounts `./upload/:/app/upload` into service `server`, \
             where `paste` keeps data, and the generated image has no volume there: what it \
             writes goes with the container; set `volumes = [\"/app/upload\"]` under \
             [package.metadata.image.bin.paste] in Cargo.toml (each is created writable by \
             65532:65532; a host directory mounted there, as your file does, must be writable \
             by it too (`chown -R 65532:65532 ./upload`))"
        ]
    );
    let kept = "[package.metadata.image.bin.paste]\nvolumes = [\"/app\"]\n";
    assert_eq!(notes("compose.yaml", compose, kept), Vec::<String>::new());
    let ours = format!("# Generated by `cargo xtask dockerfile`: do not edit by hand.\n{compose}");
    assert_eq!(notes("compose.yaml", &ours, ""), Vec::<String>::new());
}

/// A project's own compose file publishes ports for the service that runs one of its
/// programs (pgcat's `"6432:6432"`, `"9930:9930"`: its port is in its configuration file, and
/// its Dockerfile has no `EXPOSE`): said with the `ports` that expose them, keeping those the
/// image has. Not: another program's service, nor a port the image exposes.
#[test]
fn an_own_compose_file_s_published_ports_are_said() {
    let compose =
        "services:\n  pooler:\n    build: .\n    command: [\"pooler\", \"/etc/pooler.toml\"]\n    \
                   ports:\n      - \"6432:6432\"\n      - 127.0.0.1:9930:9930\n  \
                   postgres:\n    image: postgres:14\n    ports:\n      - \"5432:5432\"\n";
    let notes = |config: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("composeports")
            .root_package("pooler", |p| p.bin("pooler").toml(config))
            .file("docker-compose.yml", compose)
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("publishes"))
            .collect()
    };
    assert_eq!(
        notes(""),
        [
            "your own docker-compose.yml publishes `6432:6432`, `127.0.0.1:9930:9930` for \
             service `pooler`, where `pooler` runs, and the generated image does not expose \
             them, so its compose.yaml does not publish them; set `ports = [6432, 9930]` under \
             [package.metadata.image] in Cargo.toml"
        ]
    );
    assert_eq!(
        notes("[package.metadata.image]\nports = [6432]\n"),
        [
            "your own docker-compose.yml publishes `127.0.0.1:9930:9930` for service `pooler`, \
             where `pooler` runs, and the generated image does not expose it, so its \
             compose.yaml does not publish it; set `ports = [6432, 9930]` under \
             [package.metadata.image] in Cargo.toml"
        ]
    );
    assert_eq!(
        notes("[package.metadata.image]\nports = [6432, 9930]\n"),
        Vec::<String>::new()
    );
}

/// A directory a project's own Dockerfile makes for its program to write in (atuin's
/// `RUN useradd … && mkdir /config && chown atuin /config`, with `ENV
/// ATUIN_CONFIG_DIR=/config`): the note carries it over as a volume, which the generated
/// image creates owned by its user (the server stopped without: `failed to create
/// directory /config: Permission denied`). Not a builder stage's directory, `/tmp`, nor one
/// the image already lays out.
#[test]
fn an_own_dockerfile_s_made_directories_become_volumes() {
    let own = "FROM rust:1 AS build\nRUN mkdir -p /build/out && cargo build --release\n\
               FROM debian:bookworm-slim\nRUN useradd app && mkdir -m 700 /config /tmp/x && \
               chown app /config\nENV APP_CONFIG_DIR=/config\n\
               COPY --from=build /target/release/paste /usr/bin/\nCMD [\"paste\"]\n";
    let notes = |config: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("ownmkdir")
            .root_package("paste", |p| p.bin("paste").toml(config))
            .file("Dockerfile", own)
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
            .into_iter()
            .filter(|n| n.starts_with("your own Dockerfile gives"))
            .collect()
    };
    assert_eq!(
        notes(""),
        [
            "your own Dockerfile gives `paste`'s image `ENV APP_CONFIG_DIR=/config`, `RUN mkdir \
             /config`, which the generated image lacks: if it needs them, set `env = { \
             APP_CONFIG_DIR = \"/config\" }`, `volumes = [\"/config\"]` under \
             [package.metadata.image] in Cargo.toml"
        ]
    );
    let carried = "[package.metadata.image]\nenv = { APP_CONFIG_DIR = \"/config\" }\n\
                   volumes = [\"/config\"]\n";
    assert_eq!(notes(carried), Vec::<String>::new());
}

/// A project's own Dockerfile sets variables for its compile in a builder stage or the
/// stage it is built on (rustus's `JEMALLOC_SYS_WITH_MALLOC_CONF`,
/// `CMAKE_POLICY_VERSION_MINIMUM`): the generated build drops them silently unless said,
/// with the `build-env` that carries them over. Not: cargo's and the file's own toolchain
/// settings (`CARGO_HOME`, a cross linker), a stage that compiles nothing (a front end's
/// `NODE_ENV`), the last stage's (the runtime note's), nor what `build-env` or `build-args`
/// gives.
#[test]
fn an_own_dockerfile_s_build_environment_is_said() {
    let own = "FROM rust:1.85 AS chef
               ENV CARGO_HOME=/cargo JEMALLOC_SYS_WITH_MALLOC_CONF=\"background_thread:true\"\n\
               FROM node:20 AS web\nENV NODE_ENV=production\nRUN npm ci\n\
               FROM chef AS builder\nENV CMAKE_POLICY_VERSION_MINIMUM=3.5 \\\n    \
               CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=musl-gcc\n\
               RUN cargo build --release\n\
               FROM scratch\nENV APP_MODE=prod\nCOPY --from=builder /target/release/paste /\n\
               CMD [\"/paste\"]\n";
    let notes = |config: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("ownbuildenv")
            .root_package("paste", |p| p.bin("paste"))
            .workspace_toml(config)
            .file("Dockerfile", own)
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("where it compiles"))
            .collect()
    };
    assert_eq!(
        notes(""),
        [
            "your own Dockerfile sets `ENV JEMALLOC_SYS_WITH_MALLOC_CONF=background_thread:true`, \
             `ENV CMAKE_POLICY_VERSION_MINIMUM=3.5` where it compiles, which the generated \
             build does not: if the build needs them, add `build-env = { \
             CMAKE_POLICY_VERSION_MINIMUM = \"3.5\", JEMALLOC_SYS_WITH_MALLOC_CONF = \
             \"background_thread:true\" }` under [workspace.metadata.image] in Cargo.toml"
        ]
    );
    let carried = "[workspace.metadata.image]\n\
                   build-env = { CMAKE_POLICY_VERSION_MINIMUM = \"3.5\" }\n\
                   build-args = [\"JEMALLOC_SYS_WITH_MALLOC_CONF\"]\n";
    assert_eq!(notes(carried), Vec::<String>::new());
}

/// A project's own Dockerfile holds runtime settings the generated image would lack
/// (rustypaste's `ENV SERVER__ADDRESS=0.0.0.0:8000`, `EXPOSE 8000`, `WORKDIR /app`): said for
/// the program its `CMD` names, with the keys that carry them over; not once the keys are
/// set, nor for a Dockerfile we generated.
#[test]
fn an_own_dockerfile_s_runtime_settings_are_said() {
    let own = "FROM rust:1 AS build\nWORKDIR /src\nRUN cargo build --release\n\n\
               FROM scratch\nWORKDIR /app\nCOPY --from=build /src/target/release/paste .\n\
               ENV SERVER__ADDRESS=0.0.0.0:8000\nEXPOSE 8000\nVOLUME /app/upload\n\
               USER nonroot\nCMD [\"./paste\"]\n";
    let notes = |dockerfile: &str, config: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("owndockerfile")
            .root_package("paste", |p| p.bin("paste").bin("paste-admin").toml(config))
            .file("Dockerfile", dockerfile)
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
    };
    let said = notes(own, "");
    assert_eq!(
        said,
        [
            "your own Dockerfile gives `paste`'s image `ENV SERVER__ADDRESS=0.0.0.0:8000`, \
             `EXPOSE 8000`, `WORKDIR /app`, `VOLUME /app/upload`, which the generated image \
             lacks: if it needs them, set `env = { SERVER__ADDRESS = \"0.0.0.0:8000\" }`, \
             `ports = [8000]`, `workdir = \"/app\"`, `volumes = [\"/app/upload\"]` under \
             [package.metadata.image.bin.paste] in Cargo.toml"
        ]
    );
    let carried =
        "[package.metadata.image.bin.paste]\nenv = { SERVER__ADDRESS = \"0.0.0.0:8000\" }\n\
                   ports = [8000]\nworkdir = \"/app\"\nvolumes = [\"/app/upload\"]\n";
    assert_eq!(notes(own, carried), Vec::<String>::new());
    let ours = format!("# Generated by `cargo xtask dockerfile` from Cargo.toml\n{own}");
    assert_eq!(notes(&ours, ""), Vec::<String>::new());

    // The builder stage's cargo features (websocat's), the last stage's stop signal
    // (pgcat's SIGINT drain), its curl/wget healthcheck (redlib's) as our static probe,
    // and a UDP port.
    let own = "FROM rust:1 AS build\nRUN cargo build --release --no-default-features \\\n    \
               --features=tls,metrics -F paste/json\n\
               FROM debian:bookworm-slim\nCOPY --from=build /target/release/paste /usr/bin/\n\
               EXPOSE 8080 53/udp\nSTOPSIGNAL SIGINT\n\
               HEALTHCHECK --interval=1m CMD wget --spider -q http://localhost:8080/settings || exit 1\n\
               CMD [\"paste\"]\n";
    let features = "[features]\ndefault = [\"tls\"]\ntls = []\nmetrics = []\njson = []\n";
    let said = notes(own, features);
    assert_eq!(
        said,
        [
            "your own Dockerfile gives `paste`'s image `EXPOSE 8080`, `EXPOSE 53/udp`, \
             `STOPSIGNAL SIGINT`, `HEALTHCHECK CMD wget --spider -q \
             http://localhost:8080/settings || exit 1`, `--features tls,metrics,paste/json`, \
             `--no-default-features`, which the generated image lacks: if it needs them, set \
             `ports = [8080, \"53/udp\"]`, `stop-signal = \"SIGINT\"`, `healthcheck = { http = \
             \"/settings\", port = 8080 }`, `features = [\"tls\", \"metrics\", \"paste/json\"]`, \
             `default-features = false` under [package.metadata.image.bin.paste] in Cargo.toml"
        ]
    );
    let carried = format!(
        "{features}[package.metadata.image.bin.paste]\nports = [8080, \"53/udp\"]\n\
         stop-signal = \"SIGINT\"\nhealthcheck = {{ http = \"/settings\", port = 8080 }}\n\
         features = [\"tls\", \"metrics\", \"json\"]\ndefault-features = false\n"
    );
    assert_eq!(notes(own, &carried), Vec::<String>::new());
    // A feature `default` already turns on (shadowsocks-rust's `--features full`) is on in
    // the generated build too; with defaults off there, it is not.
    let own = "FROM rust:1 AS build\nRUN cargo build --release --features tls\n\
               FROM scratch\nCOPY --from=build /target/release/paste /\nCMD [\"/paste\"]\n";
    assert_eq!(notes(own, features), Vec::<String>::new());
    let off = format!("{features}[package.metadata.image]\ndefault-features = false\n");
    let said = notes(own, &off);
    assert!(
        said.len() == 1 && said[0].contains("`--features tls`"),
        "{said:?}"
    );
    // The arguments its program gets (w4/bin's listen address), and a healthcheck whose
    // port a shell's `${PORT:-8888}` gives (atuin's): our probe on that port.
    let own = "FROM scratch\nCOPY paste /usr/local/bin/\nEXPOSE 8000\n\
               HEALTHCHECK CMD curl -fsS -o /dev/null \"http://localhost:${PORT:-8888}/healthz\"\n\
               ENTRYPOINT [\"/usr/local/bin/paste\", \"0.0.0.0:8000\"]\nCMD [\"--verbose\"]\n";
    let said = notes(own, "");
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("the arguments `0.0.0.0:8000 --verbose`")
            && said[0].contains(
                "set `ports = [8000]`, `args = [\"0.0.0.0:8000\", \"--verbose\"]`, \
                 `healthcheck = { http = \"/healthz\", port = 8888 }` under"
            ),
        "{said:?}"
    );
    let carried = "[package.metadata.image.bin.paste]\nports = [8000]\n\
                   args = [\"0.0.0.0:9000\"]\nhealthcheck = { http = \"/healthz\", port = 8888 }\n";
    assert_eq!(notes(own, carried), Vec::<String>::new());
    // The only image's program renamed in the Dockerfile (w4/bin's `bin` as `/pastebin`)
    // gets them too; a wrapper's arguments (an entrypoint script's, tini's) are not its.
    let only = |dockerfile: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("owndockerfileone")
            .root_package("bin", |p| p.main())
            .file("Dockerfile", dockerfile)
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
    };
    let renamed = only("FROM scratch\nENTRYPOINT [\"/pastebin\", \"0.0.0.0:8000\"]\n");
    assert!(
        renamed.len() == 1 && renamed[0].contains("set `args = [\"0.0.0.0:8000\"]`"),
        "{renamed:?}"
    );
    for wrapper in ["/docker-entrypoint.sh\", \"serve", "tini\", \"--\", \"/bin"] {
        let said = only(&format!("FROM scratch\nENTRYPOINT [\"{wrapper}\"]\n"));
        assert_eq!(said, Vec::<String>::new(), "{wrapper}");
    }
    // A healthcheck script the Dockerfile copies in from the context (vaultwarden's
    // `COPY docker/healthcheck.sh docker/start.sh /`): `files` carries it, and on a
    // runtime without a shell it needs one (or an HTTP check our probe runs).
    let own = "FROM debian:bookworm-slim\nCOPY --from=build /paste /paste\n\
               COPY docker/healthcheck.sh docker/start.sh /\n\
               HEALTHCHECK --interval=60s CMD [\"/healthcheck.sh\"]\nCMD [\"/paste\"]\n";
    let said = notes(own, "");
    assert!(
        said.len() == 1
            && said[0].contains(
                "set `healthcheck = { cmd = [\"/healthcheck.sh\"] }` with `files = { \
                 \"docker/healthcheck.sh\" = \"/healthcheck.sh\" }` and `runtime = \
                 \"debian-slim\"` (a script needs a shell), or an HTTP check"
            ),
        "{said:?}"
    );
    let on_debian = notes(
        own,
        "[package.metadata.image.bin.paste]\nruntime = \"debian-slim\"\n",
    );
    assert!(
        on_debian.len() == 1
            && on_debian[0].contains(
                "set `healthcheck = { cmd = [\"/healthcheck.sh\"] }` with `files = { \
                 \"docker/healthcheck.sh\" = \"/healthcheck.sh\" }` under"
            ),
        "{on_debian:?}"
    );
    // Files from another image (vaultwarden's web vault, from a stage that only names its
    // pinned image) or from a stage compiling nothing of ours (a front end; one named as a
    // stage of ours, renamed): no key brings them, a stage of the user's own in
    // `dockerfile-append` does; not what the stage that compiles gives, and not once the
    // appended stages copy it.
    let own = "FROM docker.io/vaultwarden/web-vault@sha256:ba8b AS vault\n\
               FROM node:20 AS front\nRUN npm ci && npm run build\n\
               FROM rust:1 AS build\nRUN cargo build --release\n\
               FROM python:3 AS test\nRUN pytest --html=/report.html\n\
               FROM debian:trixie-slim\nWORKDIR /\nCOPY --from=vault /web-vault ./web-vault\n\
               COPY --from=front /src/dist /srv/dist\nCOPY --from=build /target/release/paste .\n\
               COPY --from=test /report.html /srv/\nCMD [\"/paste\"]\n";
    let said = notes(own, "[package.metadata.image.bin.paste]\nworkdir = \"/\"\n");
    assert_eq!(
        said,
        [
            "your own Dockerfile copies into `paste`'s image `COPY --from=vault /web-vault \
             ./web-vault` (from image `docker.io/vaultwarden/web-vault@sha256:ba8b`), `COPY \
             --from=front /src/dist /srv/dist` (from its stage `front`), `COPY --from=test \
             /report.html /srv/` (from its stage `test`), which the generated image lacks and \
             no key gives: if it needs them, add to a file of yours that `dockerfile-append` \
             names under [workspace.metadata.image] in Cargo.toml: the stages `front`, `test` \
             (as `own-test`, where the stages use it too: the generated file has a `test`) \
             from it, then `FROM paste AS paste-full` and `COPY \
             --from=docker.io/vaultwarden/web-vault@sha256:ba8b /web-vault ./web-vault` and `COPY --from=front /src/dist /srv/dist` and `COPY \
             --from=own-test /report.html /srv/`; then build that stage (`cargo xtask \
             image --target paste-full`)"
        ]
    );
    let appended = |append: &str| {
        let (_, plan) = Fixture::new("owndockerfileappend")
            .root_package("paste", |p| {
                p.bin("paste")
                    .bin("paste-admin")
                    .toml("[package.metadata.image.bin.paste]\nworkdir = \"/\"\n")
            })
            .workspace_toml("[workspace.metadata.image]\ndockerfile-append = \"full.Dockerfile\"\n")
            .file("Dockerfile", own)
            .file("full.Dockerfile", append)
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
    };
    let web = "FROM paste AS paste-full\n\
               COPY --from=docker.io/vaultwarden/web-vault@sha256:ba8b /web-vault ./web-vault\n";
    let said = appended(web);
    assert!(
        said.len() == 1
            && said[0].contains("`COPY --from=front /src/dist /srv/dist` (from its stage")
            && !said[0].contains("COPY --from=vault")
            && said[0].contains("add to your `dockerfile-append` file, full.Dockerfile: the"),
        "{said:?}"
    );
    let all = format!(
        "FROM node:20 AS front\nRUN npm ci && npm run build\n\
         FROM python:3 AS own-test\nRUN pytest --html=/report.html\n{web}\
         COPY --from=front /src/dist /srv/dist\nCOPY --from=own-test /report.html /srv/\n"
    );
    assert_eq!(appended(&all), Vec::<String>::new());
    // Another user than ours (root, vaultwarden's: no `USER`; a uid) with volumes: what
    // the old image wrote there is that user's, which is said with the chown that fixes
    // it; not for the same uid, nor without volumes of its own.
    let user = |line: &str, volume: &str| {
        let said = notes(
            &format!("FROM debian:trixie-slim\n{volume}{line}CMD [\"/paste\"]\n"),
            "",
        );
        said.into_iter()
            .filter(|n| n.contains(" runs `paste` as "))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        user("", "VOLUME /data\n"),
        [
            "your own Dockerfile runs `paste` as root (no `USER`), the generated image as \
             65532:65532: what the old image wrote into `/data` is not that user's, and the \
             program cannot write it; before the switch, chown it once: `docker run --rm -u 0 \
             -v VOLUME:/data debian:bookworm-slim chown -R 65532:65532 /data`"
        ]
    );
    let uid = user("USER 1000:1000\n", "VOLUME /data /cache\n");
    assert!(
        uid.len() == 1
            && uid[0].contains("as `USER 1000:1000`")
            && uid[0].ends_with("-v VOLUME1:/cache -v VOLUME2:/data debian:bookworm-slim chown -R 65532:65532 /cache /data`"),
        "{uid:?}"
    );
    assert_eq!(user("USER 65532\n", "VOLUME /data\n"), Vec::<String>::new());
    assert_eq!(user("", ""), Vec::<String>::new());
    // A volume only ours declares held nothing of the old image's (rustus's new `/data`,
    // its old image writing under its home directory).
    let ours_only: Vec<String> = notes(
        "FROM debian:trixie-slim\nUSER 1000\nCMD [\"/paste\"]\n",
        "[package.metadata.image]\nvolumes = [\"/data\"]\n",
    )
    .into_iter()
    .filter(|n| n.contains(" runs `paste` as "))
    .collect();
    assert_eq!(ours_only, Vec::<String>::new());
    // SIGTERM is every image's stop signal already.
    let sigterm = "FROM scratch\nSTOPSIGNAL SIGTERM\nCMD [\"/paste\"]\n";
    assert_eq!(notes(sigterm, ""), Vec::<String>::new());
}

/// Among several programs of the package nothing else needs, the dev image runs the one
/// `cargo run` starts (`default-run`: nushell's `nu`, not its test program `chop`, which
/// comes first by name).
#[test]
fn the_dev_image_runs_the_default_run_program() {
    let dev_bin = |default_run: Option<&str>| -> String {
        let fixture = Fixture::new("devrun").root_package("shell", |p| {
            let p = p.bin("chop").bin("nu");
            match default_run {
                Some(bin) => p.package_key("default-run", &format!("{bin:?}")),
                None => p,
            }
        });
        let (_, plan) = fixture.build().load(&fixed_options()).unwrap();
        plan.dev.bin
    };
    assert_eq!(dev_bin(None), "chop");
    assert_eq!(dev_bin(Some("nu")), "nu");
}

/// With no ports and no `default-run`, a program named as a server wins over the client
/// first by name: `atuin-server` beside `atuin`, `kanidmd` beside `kanidm`; a test's
/// server (hickory's `test-server`) does not.
#[test]
fn the_dev_image_runs_the_program_named_as_a_server() {
    let dev_bin = |bins: &[&str]| -> String {
        let fixture =
            Fixture::new("devserver").root_package("app", |p| bins.iter().fold(p, |p, b| p.bin(b)));
        let (_, plan) = fixture.build().load(&fixed_options()).unwrap();
        plan.dev.bin
    };
    assert_eq!(dev_bin(&["atuin", "atuin-server"]), "atuin-server");
    assert_eq!(dev_bin(&["kanidm", "kanidm_unixd", "kanidmd"]), "kanidmd");
    assert_eq!(dev_bin(&["dns", "test-server"]), "dns");
}

/// A toolchain file the user's `.dockerignore` leaves out stays out of the build (git-cliff
/// excludes `rust-toolchain.toml` so that the builder's toolchain is used): neither bound
/// (BuildKit failed: `"/rust-toolchain.toml": not found`) nor written into the skeleton.
/// Kept when no rule excludes it.
#[test]
fn a_toolchain_file_the_dockerignore_excludes_stays_out() {
    for excluded in [true, false] {
        let mut fixture = Fixture::new("toolchainignored")
            .root_package("svc", |p| p.main())
            .file("rust-toolchain.toml", "[toolchain]\nchannel = \"stable\"\n");
        if excluded {
            fixture = fixture.file(".dockerignore", "rust-toolchain.toml\n");
        }
        let built = fixture.build();
        let (loaded, plan) = built.load(&fixed_options()).unwrap();
        let files = artifacts(&built, &loaded, &plan);
        assert_eq!(
            plan.manifests.contains(&"rust-toolchain.toml".to_string()),
            !excluded,
            "{:?}",
            plan.manifests
        );
        assert_eq!(
            files["skeleton.sh"].contains("channel = \"stable\""),
            !excluded,
            "{}",
            files["skeleton.sh"]
        );
        assert_eq!(
            files["Dockerfile"].contains("source=rust-toolchain.toml"),
            !excluded
        );
    }
}

/// The incremental step binds a directory as one line when the build context holds
/// nothing else in it (a `crates/` of members: kellnr's sixteen lines became one), and
/// each member where it holds more: a README there, or a file a `!rule` brings back from
/// an excluded directory, would otherwise re-run the step when edited.
#[test]
fn a_directory_of_members_only_is_bound_whole() {
    let built = Fixture::new("whole-dirs")
        .virtual_workspace(&["crates/a", "crates/b"])
        .package("crates/a", |p| p.main().dep("b", "{ path = \"../b\" }"))
        .package("crates/b", |p| p.lib())
        .build();
    let binds = |built: &Built| {
        let (_, plan) = built.plan();
        let dockerfile = cargo_image::render::dockerfile::render(&plan);
        let binds: Vec<String> = dockerfile
            .lines()
            .filter_map(|l| l.trim().strip_prefix("--mount=type=bind,source=crates"))
            .filter(|l| l.ends_with(",rw \\"))
            .map(|l| format!("crates{}", l.split(',').next().unwrap_or("")))
            .collect();
        (plan.whole_dirs, binds)
    };
    assert_eq!(
        binds(&built),
        (vec!["crates".into()], vec!["crates".into()])
    );

    built.write("crates/README.md", "the members\n");
    let per_member = (vec![], vec!["crates/a".into(), "crates/b".into()]);
    assert_eq!(binds(&built), per_member);

    // Left out of the context by the user's rule: nothing else is in `crates/` there.
    built.write(".dockerignore", "crates/README.md\ncrates/notes\n");
    built.write("crates/notes/todo.txt", "later\n");
    assert_eq!(
        binds(&built),
        (vec!["crates".into()], vec!["crates".into()])
    );

    // A re-included file under an excluded directory is in the context after all.
    built.write(
        ".dockerignore",
        "crates/README.md\ncrates/notes\n!crates/notes/todo.txt\n",
    );
    assert_eq!(binds(&built), per_member);
}

/// A program that detaches into the background unless a flag says otherwise (spotifyd's
/// `Daemonize::new()` unless `--no-daemon`) would end its container at once: said with the
/// flag, and the image's own args kept before it; not when the args give the flag, nor
/// for a program whose flag asks it to detach (`--daemon`: the foreground is its default).
#[test]
fn a_program_that_detaches_by_default_is_said_unless_args_keep_it_in_front() {
    let notes = |config: &str, field: &str| -> Vec<String> {
        let (_, plan) = Fixture::new("detach")
            .root_package("player", |p| {
                p.source(
                    "src/main.rs",
                    &format!(
                        "use clap::Parser;\nuse daemonize::Daemonize;\n\n#[derive(Parser)]\n\
                         struct Cli {{\n    /// Stay attached\n    #[arg(long)]\n    {field}: bool,\n}}\n\n\
                         fn main() {{\n    let cli = Cli::parse();\n    Daemonize::new().start().unwrap();\n}}\n"
                    ),
                )
                .toml(config)
            })
            .build()
            .load(&fixed_options())
            .unwrap();
        plan.notes
            .into_iter()
            .filter(|n| n.contains("detaches"))
            .collect()
    };
    let said = notes("", "no_daemon");
    assert_eq!(
        said,
        [
            "`player` detaches into the background unless started with `--no-daemon` (src/main.rs \
          calls `Daemonize::new`): as the container's main process it would fork and end, and \
          the container with it; set `args = [\"--no-daemon\"]` under [package.metadata.image] \
          in Cargo.toml"
        ]
    );
    let said = notes(
        "[package.metadata.image]\nargs = [\"--config\", \"/etc/player.conf\"]\n",
        "no_daemon",
    );
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("set `args = [\"--config\", \"/etc/player.conf\", \"--no-daemon\"]`"),
        "{said:?}"
    );
    let said = notes(
        "[package.metadata.image]\nargs = [\"--no-daemon\"]\n",
        "no_daemon",
    );
    assert!(said.is_empty(), "{said:?}");
    assert!(notes("", "daemon").is_empty());
}

/// `ws` with a resolve in which its package `pkg` is built on actix-web (whose server,
/// actix-server, handles SIGTERM).
fn on_actix_web(ws: &cargo_image::model::Workspace, pkg: &str) -> cargo_image::model::Workspace {
    let node = |name: &str, deps: Vec<usize>| cargo_image::model::Resolved {
        name: name.into(),
        version: "1.0.0".into(),
        features: Vec::new(),
        deps,
        rust_version: None,
    };
    let mut ws = ws.clone();
    ws.resolved = vec![
        node("actix-server", vec![]),
        node("actix-web", vec![0]),
        node(pkg, vec![1]),
    ];
    ws
}

/// A program that listens and handles no signal at all (bore's, an axum service serving
/// without graceful shutdown) would ignore `docker stop` as a container's main process:
/// its image runs it under our init, said in the plan, built in a stage of its own and
/// named first in `ENTRYPOINT`. Not when it stops on Ctrl-C (SIGINT is its stop signal),
/// when a crate it is built on handles signals, when it listens on nothing (a loopback
/// address its code binds counts), or when the user chose: `init = false`, an `entrypoint`, a `stop-signal`. `init = true` gives it to
/// any program, before the user's own entrypoint.
#[test]
fn a_listening_program_that_handles_no_signal_runs_under_the_init() {
    let fixture = |main: &str, config: &str| {
        Fixture::new("no-signal")
            .root_package("tunnel", |p| p.source("src/main.rs", main).toml(config))
            .build()
    };
    let plain = "fn main() {\n    let listener = std::net::TcpListener::bind(\"0.0.0.0:7835\").unwrap();\n    \
                 for stream in listener.incoming() {\n        drop(stream);\n    }\n}\n";
    let built = fixture(plain, "");
    let (loaded, plan) = built.plan();
    let image = &plan.images[0];
    assert!(image.extras.init, "{image:?}");
    assert_eq!(
        image.init_inferred_from.as_deref(),
        Some(
            "`tunnel` listens on port 7835 and no code of it handles a signal: as PID 1 it \
             would ignore `docker stop`"
        )
    );
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    for line in [
        "\n# Static programs for runtimes without a shell: the init.\n\
         FROM base AS cargo-image-programs\n",
        "RUN --mount=type=bind,from=cargo-image-tools,target=/usr/local/share/cargo-image/src \\\n    \
         cargo-image init && cargo-image clamp-times /out\n",
        "\nCOPY --from=cargo-image-programs /out/init/ /\n",
        "\nENTRYPOINT [\"/usr/local/bin/cargo-image-init\", \"/usr/local/bin/tunnel\"]\n",
    ] {
        assert!(dockerfile.contains(line), "{line}\n{dockerfile}");
    }
    let used = cargo_image::render::tools::used(&plan);
    assert!(used.contains(&"init.rs") && used.contains(&"rt.rs") && !used.contains(&"probe.rs"));

    // Built on actix-web, whose server handles SIGTERM itself.
    let plan =
        cargo_image::plan::plan(&on_actix_web(&loaded.workspace, "tunnel"), &fixed_options())
            .unwrap();
    assert!(!plan.images[0].extras.init);
    assert_eq!(plan.images[0].init_inferred_from, None);

    let ctrl_c = plain.replace(
        "fn main() {",
        "fn main() {\n    ctrlc::set_handler(|| std::process::exit(0)).unwrap();",
    );
    let (_, plan) = fixture(&ctrl_c, "").plan();
    assert!(!plan.images[0].extras.init);
    assert_eq!(plan.images[0].extras.stop_signal.as_deref(), Some("SIGINT"));

    let quiet = plain.replace("0.0.0.0:7835", "/run/tunnel.sock");
    let (_, plan) = fixture(&quiet, "").plan();
    assert!(plan.images[0].ports.is_empty() && !plan.images[0].extras.init);

    // On loopback (rust-web-app's `127.0.0.1:8080`): no port to publish, but run with
    // host networking it still ignores `docker stop`.
    let loopback = plain.replace("0.0.0.0:7835", "127.0.0.1:8080");
    let (_, plan) = fixture(&loopback, "").plan();
    assert!(plan.images[0].ports.is_empty() && plan.images[0].extras.init);
    assert_eq!(
        plan.images[0].init_inferred_from.as_deref(),
        Some(
            "`tunnel` listens on `127.0.0.1:8080` and no code of it handles a signal: as PID 1 \
             it would ignore `docker stop`"
        )
    );

    for chosen in [
        "init = false",
        "entrypoint = [\"/usr/bin/tini\", \"--\", \"/usr/local/bin/tunnel\"]",
        "stop-signal = \"SIGQUIT\"",
    ] {
        let (_, plan) = fixture(plain, &format!("[package.metadata.image]\n{chosen}\n")).plan();
        assert!(!plan.images[0].extras.init, "{chosen}");
        assert_eq!(plan.images[0].init_inferred_from, None, "{chosen}");
    }

    let (_, plan) = fixture(
        &quiet,
        "[package.metadata.image]\ninit = true\nentrypoint = [\"/usr/local/bin/tunnel\", \"serve\"]\n",
    )
    .plan();
    assert!(plan.images[0].extras.init);
    assert_eq!(plan.images[0].init_inferred_from, None);
    assert!(cargo_image::render::dockerfile::render(&plan).contains(
        "\nENTRYPOINT [\"/usr/local/bin/cargo-image-init\", \"/usr/local/bin/tunnel\", \"serve\"]\n"
    ));
}

/// A program that waits for Ctrl-C and handles no SIGTERM (rathole's, dufs's
/// `tokio::signal::ctrl_c()`) ignores `docker stop` as a container's main process: its
/// stop signal is SIGINT, said in the plan and written as `STOPSIGNAL`, and the note on an
/// own Dockerfile's `STOPSIGNAL SIGINT` goes. Not when it handles SIGTERM too, when a
/// crate it is built on does (actix-web's server), or when `stop-signal` is set.
#[test]
fn a_program_that_stops_on_ctrl_c_only_gets_sigint() {
    let fixture = |main: &str, config: &str| {
        Fixture::new("ctrl-c")
            .root_package("relay", |p| p.source("src/main.rs", main).toml(config))
            .build()
    };
    let ctrl_c = "#[tokio::main]\nasync fn main() {\n    tokio::select! {\n        \
                  _ = serve() => {}\n        _ = tokio::signal::ctrl_c() => {}\n    }\n}\n";
    let built = fixture(ctrl_c, "");
    built.write(
        "Dockerfile",
        "FROM scratch\nSTOPSIGNAL SIGINT\nENTRYPOINT [\"/relay\"]\n",
    );
    let (loaded, plan) = built.plan();
    let image = &plan.images[0];
    assert_eq!(image.extras.stop_signal.as_deref(), Some("SIGINT"));
    assert_eq!(
        image.stop_signal_inferred_from.as_deref(),
        Some("src/main.rs stops on `ctrl_c()` and handles no SIGTERM")
    );
    assert!(cargo_image::render::dockerfile::render(&plan).contains("\nSTOPSIGNAL SIGINT\n"));
    assert!(
        !plan.notes.iter().any(|n| n.contains("STOPSIGNAL")),
        "{:?}",
        plan.notes
    );

    // Built on actix-web, whose server handles SIGTERM itself.
    let plan = cargo_image::plan::plan(&on_actix_web(&loaded.workspace, "relay"), &fixed_options())
        .unwrap();
    assert_eq!(plan.images[0].extras.stop_signal, None);
    assert_eq!(plan.images[0].stop_signal_inferred_from, None);

    let both = ctrl_c.replace(
        "tokio::select! {",
        "let mut term = signal(SignalKind::terminate()).unwrap();\n    tokio::select! {",
    );
    let (_, plan) = fixture(&both, "").plan();
    assert_eq!(plan.images[0].extras.stop_signal, None);

    let (_, plan) = fixture(
        ctrl_c,
        "[package.metadata.image]\nstop-signal = \"SIGQUIT\"\n",
    )
    .plan();
    assert_eq!(
        plan.images[0].extras.stop_signal.as_deref(),
        Some("SIGQUIT")
    );
    assert_eq!(plan.images[0].stop_signal_inferred_from, None);
}
