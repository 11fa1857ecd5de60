//! End-to-end: a workspace shaped like real projects that failed before (issue "Real
//! workspaces compile"), built on the real engine in both build modes and run.
//!
//! The fixture, our own and small (no crates.io dependency):
//! - a root package whose binary `include_str!`s `../README.md`, a template and a
//!   migration beside `src/` (files only the package directory holds);
//! - `build-files = ["proto"]`: a member's build script reads `../../proto/shapes.proto`,
//!   outside its own directory (in the `layers` mode its layer sees only its directory and
//!   the build files), and writes a file into its own package directory (as zoxide's
//!   writes shell completions: a read-only bind failed it);
//! - the same build script reads `../tools/palette.txt`, in another member's directory,
//!   which no key lists: the planner finds the literal and adds it to the build files (in
//!   the `layers` mode shapes compiles before tools' directory is there);
//! - a member's `[[bin]]` whose source lies outside its package directory (`../../bin/`),
//!   with `required-features` (enabled for its image);
//! - the user's own `.dockerignore` leaving out every `tests/` and `benches/` directory
//!   (BuildKit failed with `lstat …/tests` when a build bound one) and `secrets/`; the
//!   test target then fails naming the tests it cannot run, and runs them without the rule;
//! - `build-env`: a value with a literal `$`, compiled in through `env!`;
//! - images that ask for different features: hazard-svc turns on `shapes/extra`, which
//!   hazard-tool must not get (one cargo command would unify them), and hazard-tool's
//!   package is built with `default-features = false` (its default `color` off);
//! - `[build] rustflags` in `.cargo/config.toml` with a static build (a scratch image),
//!   whose RUSTFLAGS once replaced them, naming a linker (`-fuse-ld=lld`) the builder lacks:
//!   its package is inferred (no `build-packages`);
//! - a build script that runs `git rev-parse HEAD` (as vergen and git-version do), in a
//!   builder without git and a context without `.git` until `git = true`;
//! - `build-args`: one filled by `--build-arg` (else unset), one defaulting to the commit
//!   (`{revision}`), both read with `option_env!`;
//! - a program on scratch that writes a file where it starts (as microbin does): it starts
//!   in its user's home, as on distroless, not in `/`, which only root may write.
//!
//! Two more fixtures (issue 13 §1), each built in both modes and run:
//! - a `cargo vendor` setup: `.cargo/config.toml` replaces crates.io with `vendor/`
//!   (vendored at test time from crates.io: `itoa`, no third-party code committed); the
//!   generated Dockerfile then builds with the build's network off; its `.dockerignore`
//!   is an allow-list (`*`, then `!crates` …) that does not name `.cargo-image/`;
//! - members reached through symlinks: `crates/*` where `crates/api` links to
//!   `../elsewhere/api`, and a member `worker` that links to `elsewhere/worker` (a build
//!   context carries a link as a link, and cargo finds those members through it).
//!
//! And a path dependency from another workspace (`examples/` depending on `../lib`, as
//! in the axum repository), whose manifest inherits keys from that workspace's root.
//!
//! And a git dependency over SSH (issue 13 §6): a repository served by an `sshd` this
//! test starts, fetched in the build with the test's `ssh-agent` (forwarded by buildx),
//! its host key from `ssh-known-hosts`; and a crate from a private sparse registry
//! (`tests/e2e/private_registry.py`, which answers 401 without the token) whose token
//! reaches the downloading steps as a build secret (`registry-tokens`) and no layer.
//!
//! Set `CARGO_IMAGE_E2E_SKIP=1` to skip it on a machine without an engine.

mod e2e;

use std::path::{Path, PathBuf};

use e2e::*;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Writes the fixture under `root` (with its Cargo.lock, made offline).
fn hazards(root: &Path) {
    write(
        root,
        "Cargo.toml",
        r#"[package]
name = "hazard-svc"
version = "0.2.0"
edition = "2021"

[workspace]
members = ["crates/*"]

[workspace.metadata.image]
build-files = ["proto"]
build-env = { HAZARD_GREETING = "costs $5 at ${HOME}" }
git = true
build-args = ["HAZARD_CHANNEL", "HAZARD_SHA={revision}"]

[package.metadata.image]
features = ["shapes/extra"]

[dependencies]
shapes = { path = "crates/shapes" }
# Patched behind a feature off by default (atuin's axoasset): cargo metadata leaves it
# out, yet every cargo run reads its manifest.
itoa = { version = "1", optional = true }

[features]
fast-format = ["dep:itoa"]

[patch.crates-io]
itoa = { path = "patches/itoa" }
"#,
    );
    write(
        root,
        "patches/itoa/Cargo.toml",
        "[package]\nname = \"itoa\"\nversion = \"1.0.99\"\nedition = \"2021\"\n",
    );
    write(
        root,
        "patches/itoa/src/lib.rs",
        "compile_error!(\"never built\");\n",
    );
    write(
        root,
        "README.md",
        "Hazard service: reads files beside src/.\n",
    );
    // A root entry no bind mount can carry (casey/just's translated README): left out of
    // the compile steps, which build without it.
    write(root, "README.中文.md", "危险服务\n");
    write(root, "templates/index.html", "<h1>{{title}}</h1>\n");
    write(
        root,
        "migrations/0001_init.sql",
        "CREATE TABLE shapes (id INT);\n",
    );
    write(
        root,
        "src/main.rs",
        r#"const README: &str = include_str!("../README.md");
const TEMPLATE: &str = include_str!("../templates/index.html");
const MIGRATION: &[u8] = include_bytes!("../migrations/0001_init.sql");

fn main() {
    print!("{README}{TEMPLATE}");
    println!("migration bytes: {}", MIGRATION.len());
    println!("greeting: {}", env!("HAZARD_GREETING"));
    println!("shapes: {} in {}", shapes::NAMES.join(","), shapes::PALETTE);
    println!("config rustflags: {}", cfg!(hazard_cfg));
    println!("shapes extra: {}", shapes::EXTRA);
    println!("git head: {}", shapes::GIT_HEAD);
    println!("channel: {:?}", option_env!("HAZARD_CHANNEL"));
    println!("sha: {:?}", option_env!("HAZARD_SHA"));
}
"#,
    );
    write(root, "tests/it.rs", "#[test]\nfn works() {}\n");
    // The workspace's own rustflags: the static build (hazard-tool is on scratch, so every
    // binary links statically) must add to them, not replace them.
    write(
        root,
        ".cargo/config.toml",
        "[build]\nrustflags = [\"--cfg\", \"hazard_cfg\", \"-C\", \"link-arg=-fuse-ld=lld\"]\n",
    );
    write(root, "benches/b.rs", "fn main() {}\n");
    write(root, "secrets/token", "do-not-ship\n");
    write(root, "proto/shapes.proto", "circle\nsquare\ntriangle\n");
    write(
        root,
        ".dockerignore",
        "# The team's own rules.\n**/tests/\n**/benches/\nsecrets/\n",
    );
    write(
        root,
        "crates/shapes/Cargo.toml",
        "[package]\nname = \"shapes\"\nversion = \"0.2.0\"\nedition = \"2021\"\nbuild = \"build.rs\"\n\n\
         [features]\nextra = []\n",
    );
    write(
        root,
        "crates/shapes/build.rs",
        r#"fn main() {
    let proto = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/shapes.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    let text = std::fs::read_to_string(&proto).expect("reading proto/shapes.proto");
    let names: Vec<String> = text.lines().map(|l| format!("{l:?}")).collect();
    let palette = std::fs::read_to_string("../tools/palette.txt").expect("reading ../tools/palette.txt");
    // As zoxide's does (shell completions): a file written into the package directory.
    let generated = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("generated");
    std::fs::create_dir_all(&generated).expect("creating generated/ in the package directory");
    std::fs::write(generated.join("shapes.txt"), &text).expect("writing generated/shapes.txt");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("names.rs");
    std::fs::write(
        out,
        format!("pub const NAMES: &[&str] = &[{}];\npub const PALETTE: &str = {:?};", names.join(","), palette.trim()),
    )
    .unwrap();
    // As vergen and git-version do: the commit, from git itself.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .expect("running git rev-parse HEAD");
    assert!(head.status.success(), "git rev-parse: {}", String::from_utf8_lossy(&head.stderr));
    println!("cargo:rustc-env=SHAPES_GIT_HEAD={}", String::from_utf8_lossy(&head.stdout).trim());
}
"#,
    );
    write(
        root,
        "crates/shapes/src/lib.rs",
        "include!(concat!(env!(\"OUT_DIR\"), \"/names.rs\"));\n\
         pub const EXTRA: bool = cfg!(feature = \"extra\");\n\
         pub const GIT_HEAD: &str = env!(\"SHAPES_GIT_HEAD\");\n",
    );
    write(
        root,
        "crates/shapes/tests/shapes.rs",
        "#[test]\nfn three() { assert_eq!(shapes::NAMES.len(), 3); }\n",
    );
    write(
        root,
        "crates/tools/Cargo.toml",
        "[package]\nname = \"tools\"\nversion = \"0.2.0\"\nedition = \"2021\"\n\n\
         [[bin]]\nname = \"hazard-tool\"\npath = \"../../bin/hazard-tool.rs\"\n\
         required-features = [\"cli\"]\n\n[features]\ndefault = [\"color\"]\ncli = []\ncolor = []\n\n\
         [package.metadata.image]\nruntime = \"scratch\"\ndefault-features = false\n\n\
         [dependencies]\nshapes = { path = \"../shapes\" }\n",
    );
    write(
        root,
        "bin/hazard-tool.rs",
        "mod banner;\n#[cfg(feature = \"cli\")]\nfn main() {\n    println!(\"{}: {} shapes\", banner::BANNER, shapes::NAMES.len());\n    \
         println!(\"shapes extra: {}, color: {}\", shapes::EXTRA, cfg!(feature = \"color\"));\n    \
         let cwd = std::env::current_dir().unwrap();\n    \
         let wrote = std::fs::write(\"state.txt\", \"1\").is_ok();\n    \
         println!(\"cwd: {}, writable: {wrote}, HOME: {:?}\", cwd.display(), std::env::var(\"HOME\"));\n}\n",
    );
    write(root, "crates/tools/palette.txt", "red\n");
    write(
        root,
        "bin/banner.rs",
        "pub const BANNER: &str = \"hazard-tool\";\n",
    );
    cargo_in(root, &["generate-lockfile", "--offline"]);
    // A repository with one commit: the build script's `git rev-parse HEAD` reads it.
    commit_all(root);
}

/// Runs `program` in `root`, asserting success; its trimmed stdout.
fn run_in(program: &str, root: &Path, args: &[&str]) -> String {
    run_in_env(program, root, args, &[])
}

/// [`run_in`] with more environment.
fn run_in_env(program: &str, root: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .current_dir(root)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn git(root: &Path, args: &[&str]) -> String {
    run_in("git", root, args)
}

/// Makes `dir` a git repository whose one commit holds everything in it.
fn commit_all(dir: &Path) {
    git(dir, &["init", "--quiet", "--initial-branch=main"]);
    git(dir, &["add", "--all"]);
    git(
        dir,
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

/// What hazard-svc prints about the commit and the build arguments.
struct Stamp<'a> {
    head: &'a str,
    channel: Option<&'a str>,
    sha: Option<&'a str>,
}

fn check_images(s: &Scenario, mode: &str, stamp: &Stamp) {
    check_image_pair(
        s,
        &s.tag("hazard-svc", "0.2.0"),
        &s.tag("hazard-tool", "0.2.0"),
        mode,
        stamp,
    );
}

fn check_image_pair(s: &Scenario, svc: &str, tool: &str, mode: &str, stamp: &Stamp) {
    let svc = s.run_once(&[svc]);
    assert_eq!(
        svc,
        format!(
            "Hazard service: reads files beside src/.\n<h1>{{{{title}}}}</h1>\n\
             migration bytes: 30\ngreeting: costs $5 at ${{HOME}}\nshapes: circle,square,triangle in red\n\
             config rustflags: true\nshapes extra: true\ngit head: {}\nchannel: {:?}\nsha: {:?}\n",
            stamp.head, stamp.channel, stamp.sha
        ),
        "hazard-svc ({mode})"
    );
    let tool = s.run_once(&[tool]);
    // Neither the feature only hazard-svc asked for, nor its own package's defaults; on
    // scratch, it starts in its user's own home (as on distroless), where it may write.
    assert_eq!(
        tool,
        "hazard-tool: 3 shapes\nshapes extra: false, color: false\n\
         cwd: /home/nonroot, writable: true, HOME: Ok(\"/home/nonroot\")\n",
        "hazard-tool ({mode})"
    );
}

#[test]
fn hazards_build_and_run_in_both_modes_and_the_tests_pass() {
    let Some(s) = scenario("hazards") else { return };
    let root: PathBuf = s.path("hazards");
    hazards(&root);
    let head = git(&root, &["rev-parse", "HEAD"]);
    let before = std::fs::read_to_string(root.join(".dockerignore")).unwrap();

    let beta = "--build-arg=HAZARD_CHANNEL=beta";
    s.image_ok(&root, &["--build-mode", "incremental", beta]);
    let stamp = Stamp {
        head: &head,
        channel: Some("beta"),
        sha: Some(&head),
    };
    check_images(&s, "incremental", &stamp);
    let run = s.image(&root, &["--build-arg=HAZARD_UNKNOWN=1"]);
    assert!(
        !run.status.success()
            && run
                .stderr
                .contains("the workspace declares no build argument `HAZARD_UNKNOWN`"),
        "{}",
        run.describe()
    );
    s.image_ok(
        &root,
        &[
            "--build-mode",
            "layers",
            "--no-cache",
            beta,
            "--build-arg=HAZARD_SHA=given",
        ],
    );
    let given = Stamp {
        sha: Some("given"),
        ..stamp
    };
    check_images(&s, "layers", &given);
    // No runtime image holds the repository.
    for bin in ["hazard-svc", "hazard-tool"] {
        let files = exported_files(&s.tag(bin, "0.2.0"));
        assert!(
            !files.iter().any(|(p, _, _)| p.contains(".git")),
            "{bin} ships git data"
        );
    }
    // The test target: the user's rules leave every `tests/` out, so it fails naming them
    // rather than pass on the skeleton's stand-ins in their place (it passed before, and
    // zero2prod's tests would never have run).
    let run = s.image(&root, &["--target", "test"]);
    assert!(
        !run.status.success()
            && run.stderr.contains("tests not in the build context")
            && run
                .stderr
                .contains("crates/shapes/tests/shapes.rs tests/it.rs"),
        "the test target ran without the tests:\n{}",
        run.describe()
    );
    // Without that rule the tests are there and run (a failing one fails the build), and
    // pass (shapes' counts what its build script generated).
    let rules = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    std::fs::write(root.join(".dockerignore"), rules.replace("**/tests/\n", "")).unwrap();
    write(
        &root,
        "tests/it.rs",
        "#[test]\nfn works() { panic!(\"it ran\") }\n",
    );
    let run = s.image(&root, &["--target", "test"]);
    assert!(
        !run.status.success() && run.stderr.contains("it ran"),
        "the real test did not run:\n{}",
        run.describe()
    );
    write(&root, "tests/it.rs", "#[test]\nfn works() {}\n");
    s.image_ok(&root, &["--target", "test"]);
    std::fs::write(root.join(".dockerignore"), rules).unwrap();

    // No secret of the user's reached an image, and writing the generated files kept the
    // user's rules (after our block).
    for bin in ["hazard-svc", "hazard-tool"] {
        let files = exported_files(&s.tag(bin, "0.2.0"));
        assert!(
            !files.iter().any(|(p, _, _)| p.contains("secrets")),
            "{bin} ships a secret"
        );
    }
    let run = s.xtask(
        &[
            "dockerfile",
            "--manifest-path",
            root.join("Cargo.toml").to_str().unwrap(),
        ],
        &[],
        std::time::Duration::from_secs(60),
    );
    assert!(run.status.success(), "{}", run.describe());
    let after = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    // Kept after our block, followed only by the re-include of the generated programs.
    assert!(
        after.ends_with(&format!(
            "{before}# Generated, after your rules so that none of them leaves out the \
             Dockerfile's programs:\n!.cargo-image/\n"
        )),
        "the user's rules are gone:\n{after}"
    );

    // The generated files alone, without cargo-image: plain `docker buildx build` in the
    // workspace (the Dockerfile's programs come from `.cargo-image/` in the context), and
    // `--out DIR`'s build.sh (they come from DIR/.cargo-image/, a named context).
    let manifest = root.join("Cargo.toml");
    let mut args: Vec<String> = vec![
        "dockerfile".into(),
        "--manifest-path".into(),
        manifest.display().to_string(),
    ];
    args.extend(overrides());
    let run = s.xtask(&args, &[], std::time::Duration::from_secs(60));
    assert!(run.status.success(), "{}", run.describe());
    assert!(root.join(".cargo-image/skeleton.sh").is_file());
    let label = s.label();
    for bin in ["hazard-svc", "hazard-tool"] {
        let tag = s.tag(bin, "plain");
        docker_ok(&[
            "buildx",
            "build",
            "--load",
            "--label",
            &label,
            "--target",
            bin,
            "--tag",
            &tag,
            root.to_str().unwrap(),
        ]);
    }
    // Plain docker build: no build argument given, none set.
    check_image_pair(
        &s,
        &s.tag("hazard-svc", "plain"),
        &s.tag("hazard-tool", "plain"),
        "plain docker build",
        &Stamp {
            head: &head,
            channel: None,
            sha: None,
        },
    );

    let out = s.path("hazards-out");
    let mut args: Vec<String> = vec![
        "dockerfile".into(),
        "--manifest-path".into(),
        manifest.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    args.extend(overrides());
    // Without the workspace's own copy: build.sh must not depend on it.
    std::fs::remove_dir_all(root.join(".cargo-image")).unwrap();
    let run = s.xtask(&args, &[], std::time::Duration::from_secs(60));
    assert!(run.status.success(), "{}", run.describe());
    assert!(out.join(".cargo-image/cargo-image.sh").is_file());
    let built = std::process::Command::new("sh")
        .arg(out.join("build.sh"))
        .args(["--label", &label])
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "build.sh: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    // build.sh: the channel from its environment (unset), the commit from git.
    check_image_pair(
        &s,
        "hazard-svc:0.2.0",
        "hazard-tool:0.2.0",
        "build.sh of --out",
        &Stamp {
            head: &head,
            channel: None,
            sha: Some(&head),
        },
    );
}

/// Runs cargo in `root` (so its `.cargo/config.toml` counts), asserting success.
fn cargo_in(root: &Path, args: &[&str]) {
    run_in(&cargo(), root, args);
}

#[test]
fn vendored_sources_build_offline_in_both_modes() {
    let Some(s) = scenario("vendored") else {
        return;
    };
    let root = s.path("vendored");
    // A virtual workspace: `vendor/` is no package's directory, so only the vendoring
    // itself can bring it into the build.
    write(
        &root,
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"crates/*\"]\n",
    );
    write(
        &root,
        "crates/vend-app/Cargo.toml",
        "[package]\nname = \"vend-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nitoa = \"1\"\n",
    );
    write(
        &root,
        "crates/vend-app/src/main.rs",
        "fn main() {\n    println!(\"vendored itoa: {}\", itoa::Buffer::new().format(4096u32));\n}\n",
    );
    cargo_in(&root, &["generate-lockfile"]);
    cargo_in(&root, &["vendor", "--locked", "vendor"]);
    write(
        &root,
        ".cargo/config.toml",
        "[source.crates-io]\nreplace-with = \"vendored-sources\"\n\n\
         [source.vendored-sources]\ndirectory = \"vendor\"\n",
    );
    assert!(root.join("vendor/itoa/.cargo-checksum.json").is_file());
    // An allow-list, as real repositories write it: everything out, then what cargo needs
    // back in. It names no `.cargo-image/`, which the generated file re-includes after it.
    write(
        &root,
        ".dockerignore",
        "*\n!Cargo.toml\n!Cargo.lock\n!.cargo\n!crates\n!vendor\n",
    );

    let tag = s.tag("vend-app", "0.1.0");
    for mode in ["incremental", "layers"] {
        s.image_ok(&root, &["--build-mode", mode, "--no-cache"]);
        assert_eq!(s.run_once(&[&tag]), "vendored itoa: 4096\n", "{mode}");
    }

    // The generated files alone, with the build's network off: everything cargo needs is
    // in the context (a registry download would fail here).
    let mut args: Vec<String> = vec![
        "dockerfile".into(),
        "--manifest-path".into(),
        root.join("Cargo.toml").display().to_string(),
    ];
    args.extend(overrides());
    let run = s.xtask(&args, &[], std::time::Duration::from_secs(60));
    assert!(run.status.success(), "{}", run.describe());
    let label = s.label();
    for mode in ["incremental", "layers"] {
        let tag = s.tag("vend-app", &format!("offline-{mode}"));
        docker_ok(&[
            "buildx",
            "build",
            "--load",
            "--no-cache",
            "--network",
            "none",
            "--label",
            &label,
            "--build-arg",
            &format!("CARGO_IMAGE_BUILD={mode}"),
            "--target",
            "vend-app",
            "--tag",
            &tag,
            root.to_str().unwrap(),
        ]);
        assert_eq!(
            s.run_once(&[&tag]),
            "vendored itoa: 4096\n",
            "offline {mode}"
        );
    }
}

#[test]
fn members_through_symlinks_build_in_both_modes() {
    let Some(s) = scenario("symlinked") else {
        return;
    };
    let root = s.path("symlinked");
    write(
        &root,
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"crates/*\", \"worker\"]\n",
    );
    write(
        &root,
        "elsewhere/api/Cargo.toml",
        // Cargo joins `crates/api/../..` without following the link.
        "[package]\nname = \"sym-api\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nsym-shared = { path = \"../../elsewhere/shared\" }\n",
    );
    write(
        &root,
        "elsewhere/api/src/main.rs",
        "fn main() {\n    println!(\"api through a link, {}\", sym_shared::WORD);\n}\n",
    );
    write(
        &root,
        "elsewhere/shared/Cargo.toml",
        "[package]\nname = \"sym-shared\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(
        &root,
        "elsewhere/shared/src/lib.rs",
        "pub const WORD: &str = \"shared\";\n",
    );
    write(
        &root,
        "elsewhere/worker/Cargo.toml",
        "[package]\nname = \"sym-worker\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(
        &root,
        "elsewhere/worker/src/main.rs",
        "fn main() {\n    println!(\"worker through a link\");\n}\n",
    );
    std::fs::create_dir_all(root.join("crates")).unwrap();
    std::os::unix::fs::symlink("../elsewhere/api", root.join("crates/api")).unwrap();
    std::os::unix::fs::symlink("elsewhere/worker", root.join("worker")).unwrap();
    cargo_in(&root, &["generate-lockfile", "--offline"]);

    for mode in ["incremental", "layers"] {
        s.image_ok(&root, &["--build-mode", mode, "--no-cache"]);
        assert_eq!(
            s.run_once(&[&s.tag("sym-api", "0.1.0")]),
            "api through a link, shared\n",
            "{mode}"
        );
        assert_eq!(
            s.run_once(&[&s.tag("sym-worker", "0.1.0")]),
            "worker through a link\n",
            "{mode}"
        );
    }
}

#[test]
fn a_path_dependency_from_another_workspace_builds_in_both_modes() {
    let Some(s) = scenario("foreign") else {
        return;
    };
    // As in the axum repository: `examples/` is a workspace of its own (excluded from the
    // outer one) whose crates depend on `../lib`, a member of the outer workspace that
    // inherits its version, edition and rust-version from the outer root manifest.
    let outer = s.path("foreign");
    write(
        &outer,
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"lib\"]\nexclude = [\"examples\"]\n\n\
         [workspace.package]\nversion = \"0.4.0\"\nedition = \"2021\"\nrust-version = \"1.70\"\n",
    );
    write(
        &outer,
        "lib/Cargo.toml",
        "[package]\nname = \"outer-lib\"\nversion.workspace = true\nedition.workspace = true\n\
         rust-version.workspace = true\n",
    );
    write(
        &outer,
        "lib/src/lib.rs",
        "pub fn version() -> &'static str {\n    env!(\"CARGO_PKG_VERSION\")\n}\n",
    );
    let root = outer.join("examples");
    write(
        &root,
        "Cargo.toml",
        "[workspace]\nresolver = \"2\"\nmembers = [\"hello\"]\n\n\
         [workspace.metadata.image]\ncontext = \"..\"\n",
    );
    write(
        &root,
        "hello/Cargo.toml",
        "[package]\nname = \"foreign-hello\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nouter-lib = { path = \"../../lib\" }\n",
    );
    write(
        &root,
        "hello/src/main.rs",
        "fn main() {\n    println!(\"outer-lib {}\", outer_lib::version());\n}\n",
    );
    cargo_in(&root, &["generate-lockfile", "--offline"]);

    for mode in ["incremental", "layers"] {
        s.image_ok(&root, &["--build-mode", mode, "--no-cache"]);
        assert_eq!(
            s.run_once(&[&s.tag("foreign-hello", "0.1.0")]),
            "outer-lib 0.4.0\n",
            "{mode}"
        );
    }
}

/// An sshd on this machine (on every address, at `port`) that lets in the holder of
/// `dir/user_key` as any user; stopped when dropped. `None` (the test skipped) without
/// sshd, which `.ci/cross.sh` provisions: under CI its absence fails.
struct Sshd {
    dir: PathBuf,
    port: u16,
    _daemon: Daemon,
}

impl Sshd {
    fn start(s: &Scenario, name: &str) -> Option<Sshd> {
        if !Path::new("/usr/sbin/sshd").exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "no /usr/sbin/sshd; .ci/cross.sh provisions it (apt-get install openssh-server)"
            );
            eprintln!("[e2e] {name}: skipped: no sshd (apt-get install openssh-server)");
            return None;
        }
        let dir = s.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        let d = |name: &str| dir.join(name).display().to_string();
        for key in ["host_key", "user_key"] {
            run_in(
                "ssh-keygen",
                &dir,
                &["-q", "-t", "ed25519", "-N", "", "-C", key, "-f", key],
            );
        }
        std::fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).unwrap();
        let port = free_port();
        write(
            &dir,
            "sshd_config",
            &format!(
                "Port {port}\nListenAddress 0.0.0.0\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PidFile {}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n",
                d("host_key"),
                d("authorized_keys"),
                d("sshd.pid"),
            ),
        );
        // sshd refuses to start without its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").expect("creating /run/sshd (the test runs as root)");
        let daemon = spawn_daemon("/usr/sbin/sshd", &["-D", "-e", "-f", &d("sshd_config")]);
        wait_for(&dir.join("sshd.pid"), "sshd's pid file");
        Some(Sshd {
            dir,
            port,
            _daemon: daemon,
        })
    }

    /// The `known_hosts` line of this sshd reached at `address`.
    fn known_host(&self, address: &str) -> String {
        let key = std::fs::read_to_string(self.dir.join("host_key.pub")).unwrap();
        let key: Vec<&str> = key.split_whitespace().take(2).collect();
        format!("[{address}]:{} {}", self.port, key.join(" "))
    }
}

/// This machine's address on the engine's default bridge: where a build step reaches a
/// server the test runs here.
fn bridge_gateway() -> String {
    docker_ok(&[
        "network",
        "inspect",
        "bridge",
        "--format",
        "{{(index .IPAM.Config 0).Gateway}}",
    ])
    .trim()
    .to_string()
}

/// A TCP port free on every address of this machine (for a server the test starts).
fn free_port() -> u16 {
    std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills a background process (sshd, ssh-agent, the registry) when the test ends, pass or fail.
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_daemon(program: &str, args: &[&str]) -> Daemon {
    Daemon(
        std::process::Command::new(program)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e}")),
    )
}

fn wait_for(path: &Path, what: &str) {
    let started = std::time::Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{what} did not appear"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn ssh_git_dependency_is_fetched_with_the_callers_agent_in_both_modes() {
    let Some(s) = scenario("ssh") else { return };
    let Some(sshd) = Sshd::start(&s, "ssh") else {
        return;
    };
    let dir = sshd.dir.clone();
    let d = |name: &str| dir.join(name).display().to_string();

    // The private dependency, in a repository only sshd serves.
    let dep = dir.join("private-dep");
    write(
        &dep,
        "Cargo.toml",
        "[package]\nname = \"private-dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(
        &dep,
        "src/lib.rs",
        "pub const WORD: &str = \"fetched over ssh\";\n",
    );
    commit_all(&dep);

    // sshd on this machine, reached from the build at the engine's bridge gateway.
    let gateway = bridge_gateway();
    let port = sshd.port;
    let known = sshd.known_host(&gateway);
    write(&dir, "known_hosts", &format!("{known}\n"));

    // The caller's agent holds the key; nothing else has it.
    let agent = d("agent.sock");
    let _agent = spawn_daemon("ssh-agent", &["-D", "-a", &agent]);
    wait_for(Path::new(&agent), "ssh-agent's socket");
    let out = std::process::Command::new("ssh-add")
        .arg(d("user_key"))
        .env("SSH_AUTH_SOCK", &agent)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh-add: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let root = dir.join("app");
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    write(
        &root,
        "Cargo.toml",
        &format!(
            "[package]\nname = \"ssh-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nprivate-dep = {{ git = \"ssh://{user}@{gateway}:{port}{}\" }}\n\n\
             [package.metadata.image]\nruntime = \"distroless-cc\"\n\
             ssh-known-hosts = [\"{known}\"]\n",
            dep.display()
        ),
    );
    write(
        &root,
        "src/main.rs",
        "fn main() {\n    println!(\"{}\", private_dep::WORD);\n}\n",
    );
    // The host's cargo fetches through git with the same key (for Cargo.lock and
    // `cargo metadata`).
    let ssh_command = format!(
        "ssh -o IdentitiesOnly=yes -i {} -o UserKnownHostsFile={}",
        d("user_key"),
        d("known_hosts")
    );
    let host_env = [
        ("CARGO_NET_GIT_FETCH_WITH_CLI", "true"),
        ("GIT_SSH_COMMAND", ssh_command.as_str()),
        ("SSH_AUTH_SOCK", agent.as_str()),
    ];
    run_in_env(&cargo(), &root, &["generate-lockfile"], &host_env);
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap();
    assert!(lock.contains("source = \"git+ssh://"), "{lock}");

    // Without an agent: refused before building, naming the source and the fix.
    let no_agent = [host_env[0], host_env[1]];
    let run = s.image_with_env(&root, &[], &no_agent);
    assert!(
        !run.status.success() && run.stderr.contains("no SSH agent runs"),
        "{}",
        run.describe()
    );
    for mode in ["incremental", "layers"] {
        let run = s.image_with_env(&root, &["--build-mode", mode], &host_env);
        assert!(run.status.success(), "{mode}: {}", run.describe());
        let tag = s.tag("ssh-app", "0.1.0");
        assert_eq!(s.run_once(&[&tag]), "fetched over ssh\n", "{mode}");
        // The key reached no layer: the build only ever talked to the agent.
        let private = std::fs::read_to_string(dir.join("user_key")).unwrap();
        let secret_line = private.lines().nth(1).unwrap();
        let history = docker_ok(&["history", "--no-trunc", &tag]);
        assert!(!history.contains(secret_line), "{mode}: key in the history");
        assert!(
            !exported_files(&tag)
                .iter()
                .any(|(p, _, _)| p.contains(".ssh") || p.contains("agent")),
            "{mode}: ssh files in the image"
        );
    }
}

#[test]
fn private_registry_token_reaches_the_download_and_no_layer() {
    let Some(s) = scenario("registry") else {
        return;
    };
    let dir = s.path("registry");
    let token = format!("cargo-image-e2e-token-{}", s.id);
    let gateway = bridge_gateway();
    let port = free_port();

    // The private crate, packaged by cargo, in a sparse index of our own.
    let word = dir.join("company-word");
    write(
        &word,
        "Cargo.toml",
        "[package]\nname = \"company-word\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         description = \"private\"\nlicense = \"MIT\"\n",
    );
    write(
        &word,
        "src/lib.rs",
        "pub const WORD: &str = \"from the private registry\";\n",
    );
    cargo_in(
        &word,
        &["package", "--quiet", "--no-verify", "--allow-dirty"],
    );
    let crate_file = std::fs::read(word.join("target/package/company-word-0.1.0.crate")).unwrap();
    let index = dir.join("index");
    std::fs::create_dir_all(index.join("crates")).unwrap();
    std::fs::write(index.join("crates/company-word-0.1.0.crate"), &crate_file).unwrap();
    let sum = run_in("sha256sum", &index, &["crates/company-word-0.1.0.crate"]);
    let sum = sum.split_whitespace().next().unwrap();
    write(
        &index,
        "co/mp/company-word",
        &format!(
            "{{\"name\":\"company-word\",\"vers\":\"0.1.0\",\"deps\":[],\"cksum\":\"{sum}\",\
             \"features\":{{}},\"yanked\":false}}\n"
        ),
    );
    write(
        &index,
        "config.json",
        &format!(
            "{{\"dl\":\"http://{gateway}:{port}/crates/{{crate}}-{{version}}.crate\",\
             \"auth-required\":true}}"
        ),
    );
    let log = dir.join("requests.log");
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e/private_registry.py");
    let _registry = spawn_daemon(
        "python3",
        &[
            server.to_str().unwrap(),
            index.to_str().unwrap(),
            &port.to_string(),
            &token,
            log.to_str().unwrap(),
        ],
    );
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the registry did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let root = dir.join("app");
    write(
        &root,
        ".cargo/config.toml",
        &format!("[registries.company]\nindex = \"sparse+http://{gateway}:{port}/\"\n"),
    );
    write(
        &root,
        "Cargo.toml",
        "[package]\nname = \"registry-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\ncompany-word = { version = \"0.1\", registry = \"company\" }\n\n\
         [package.metadata.image]\nruntime = \"distroless-cc\"\nregistry-tokens = [\"company\"]\n",
    );
    write(
        &root,
        "src/main.rs",
        "fn main() {\n    println!(\"{}\", company_word::WORD);\n}\n",
    );
    let host_env = [
        ("CARGO_REGISTRIES_COMPANY_TOKEN", token.as_str()),
        (
            "CARGO_REGISTRIES_COMPANY_CREDENTIAL_PROVIDER",
            "cargo:token",
        ),
    ];
    run_in_env(&cargo(), &root, &["generate-lockfile"], &host_env);

    for mode in ["incremental", "layers"] {
        std::fs::write(&log, "").unwrap();
        let run = s.image_with_env(&root, &["--build-mode", mode, "--no-cache"], &host_env);
        assert!(run.status.success(), "{mode}: {}", run.describe());
        let tag = s.tag("registry-app", "0.1.0");
        assert_eq!(s.run_once(&[&tag]), "from the private registry\n", "{mode}");
        // A build step downloaded the crate with the token: from a container's address, not
        // the host's (the gateway; `cargo metadata` on the host downloads it too).
        let requests = std::fs::read_to_string(&log).unwrap();
        assert!(
            requests.lines().any(|l| {
                l.starts_with("/crates/company-word-0.1.0.crate token ")
                    && !l.ends_with(&format!(" {gateway}"))
            }),
            "{mode}: no build step downloaded with the token:\n{requests}"
        );
        assert!(!requests.contains(" wrong"), "{mode}: {requests}");
        // No layer, history entry or file of the image holds it.
        for (name, data) in saved_blobs(&tag) {
            assert!(
                !contains(&data, token.as_bytes()),
                "{mode}: {name} of `docker save {tag}` holds the token"
            );
        }
        let history = docker_ok(&["history", "--no-trunc", &tag]);
        assert!(
            !history.contains(&token),
            "{mode}: the history holds the token"
        );
    }
    // Without the token (the host's cargo has the crate by now): refused before building,
    // naming the variable.
    let run = s.image_with_env(&root, &[], &[host_env[1]]);
    assert!(
        !run.status.success()
            && run
                .stderr
                .contains("`registry-tokens`: CARGO_REGISTRIES_COMPANY_TOKEN unset"),
        "{}",
        run.describe()
    );
}

/// An engine reached over SSH (`DOCKER_HOST=ssh://user@host`), as the docker CLI reaches
/// one: the API through the system's `ssh` (bollard's ssh support), the build through
/// `docker buildx`. This machine's engine stands behind this test's sshd; the client's ssh
/// configuration (key, known host) comes from an `ssh` wrapper first on PATH, so the
/// user's own `~/.ssh` is never touched.
#[test]
fn s17_an_engine_over_ssh_builds_and_runs() {
    let Some(s) = scenario("s17-ssh-engine") else {
        return;
    };
    let Some(sshd) = Sshd::start(&s, "s17-ssh-engine") else {
        return;
    };
    let dir = sshd.dir.clone();
    let d = |name: &str| dir.join(name).display().to_string();
    write(
        &dir,
        "known_hosts",
        &format!("{}\n", sshd.known_host("127.0.0.1")),
    );
    write(
        &dir,
        "ssh_config",
        &format!(
            "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
             StrictHostKeyChecking yes\n  BatchMode yes\n",
            d("user_key"),
            d("known_hosts")
        ),
    );
    let real_ssh = which::which("ssh").expect("ssh is installed with openssh-server's client");
    write(
        &dir,
        "bin/ssh",
        &format!(
            "#!/bin/sh\nexec {} -F {} \"$@\"\n",
            real_ssh.display(),
            d("ssh_config")
        ),
    );
    run_in("chmod", &dir, &["+x", "bin/ssh"]);
    let path = format!("{}:{}", d("bin"), std::env::var("PATH").unwrap_or_default());
    let host = format!("ssh://root@127.0.0.1:{}", sshd.port);
    let root = s.tiny_workspace(
        "tiny",
        "e2e-ssh-engine",
        "fn main() {\n    println!(\"over an ssh engine\");\n}\n",
    );
    let run = s.image_with_env(&root, &[], &[("DOCKER_HOST", &host), ("PATH", &path)]);
    assert!(run.status.success(), "{}", run.describe());
    assert!(
        run.stderr.contains("is on another machine") && run.stderr.contains("docker buildx"),
        "the build did not go through buildx:\n{}",
        run.describe()
    );
    let tag = s.tag("e2e-ssh-engine", "0.1.0");
    assert_eq!(s.run_once(&[&tag]), "over an ssh engine\n");
}
