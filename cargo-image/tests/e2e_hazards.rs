//! End-to-end: a workspace shaped like real projects that failed before (issue "Real
//! workspaces compile"), built on the real engine in both build modes and run.
//!
//! The fixture, our own and small (no crates.io dependency):
//! - a root package whose binary `include_str!`s `../README.md`, a template and a
//!   migration beside `src/` (files only the package directory holds);
//! - `build-files = ["proto"]`: a member's build script reads `../../proto/shapes.proto`,
//!   outside its own directory (in the `layers` mode its layer sees only its directory and
//!   the build files);
//! - a member's `[[bin]]` whose source lies outside its package directory (`../../bin/`),
//!   with `required-features` (enabled for its image);
//! - the user's own `.dockerignore` leaving out every `tests/` and `benches/` directory
//!   (BuildKit failed with `lstat …/tests` when a build bound one) and `secrets/`;
//! - `build-env`: a value with a literal `$`, compiled in through `env!`;
//! - images that ask for different features: hazard-svc turns on `shapes/extra`, which
//!   hazard-tool must not get (one cargo command would unify them), and hazard-tool's
//!   package is built with `default-features = false` (its default `color` off);
//! - `[build] rustflags` in `.cargo/config.toml` with a static build (a scratch image),
//!   whose RUSTFLAGS once replaced them, naming a linker (`-fuse-ld=lld`) the builder lacks:
//!   its package is inferred (no `build-packages`).
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

[package.metadata.image]
features = ["shapes/extra"]

[dependencies]
shapes = { path = "crates/shapes" }
"#,
    );
    write(
        root,
        "README.md",
        "Hazard service: reads files beside src/.\n",
    );
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
    println!("shapes: {}", shapes::NAMES.join(","));
    println!("config rustflags: {}", cfg!(hazard_cfg));
    println!("shapes extra: {}", shapes::EXTRA);
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
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("names.rs");
    std::fs::write(out, format!("pub const NAMES: &[&str] = &[{}];", names.join(","))).unwrap();
}
"#,
    );
    write(
        root,
        "crates/shapes/src/lib.rs",
        "include!(concat!(env!(\"OUT_DIR\"), \"/names.rs\"));\n\
         pub const EXTRA: bool = cfg!(feature = \"extra\");\n",
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
         println!(\"shapes extra: {}, color: {}\", shapes::EXTRA, cfg!(feature = \"color\"));\n}\n",
    );
    write(
        root,
        "bin/banner.rs",
        "pub const BANNER: &str = \"hazard-tool\";\n",
    );
    let out = std::process::Command::new(cargo())
        .args(["generate-lockfile", "--offline"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check_images(s: &Scenario, mode: &str) {
    check_image_pair(
        s,
        &s.tag("hazard-svc", "0.2.0"),
        &s.tag("hazard-tool", "0.2.0"),
        mode,
    );
}

fn check_image_pair(s: &Scenario, svc: &str, tool: &str, mode: &str) {
    let svc = s.run_once(&[svc]);
    assert_eq!(
        svc,
        "Hazard service: reads files beside src/.\n<h1>{{title}}</h1>\n\
         migration bytes: 30\ngreeting: costs $5 at ${HOME}\nshapes: circle,square,triangle\n\
         config rustflags: true\nshapes extra: true\n",
        "hazard-svc ({mode})"
    );
    let tool = s.run_once(&[tool]);
    // Neither the feature only hazard-svc asked for, nor its own package's defaults.
    assert_eq!(
        tool, "hazard-tool: 3 shapes\nshapes extra: false, color: false\n",
        "hazard-tool ({mode})"
    );
}

#[test]
fn hazards_build_and_run_in_both_modes_and_the_tests_pass() {
    let Some(s) = scenario("hazards") else { return };
    let root: PathBuf = s.path("hazards");
    hazards(&root);
    let before = std::fs::read_to_string(root.join(".dockerignore")).unwrap();

    s.image_ok(&root, &["--build-mode", "incremental"]);
    check_images(&s, "incremental");
    s.image_ok(&root, &["--build-mode", "layers", "--no-cache"]);
    check_images(&s, "layers");
    // The test target: every package's tests that the context holds (none: the user's
    // rules leave tests/ out), and the build still passes.
    s.image_ok(&root, &["--target", "test"]);

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
    assert!(
        after.ends_with(&before),
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
    check_image_pair(
        &s,
        &s.tag("hazard-svc", "plain"),
        &s.tag("hazard-tool", "plain"),
        "plain docker build",
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
    check_image_pair(
        &s,
        "hazard-svc:0.2.0",
        "hazard-tool:0.2.0",
        "build.sh of --out",
    );
}
