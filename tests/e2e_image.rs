//! End-to-end tests of `cargo xtask image` (and the generated `compose.yaml`) against the
//! real Docker engine: no mocks. Scenarios run one at a time (a global lock: builds compete
//! for the machine's cores); each labels what it creates with its own run id and removes
//! it at the end. Base images are the local stand-ins (`scripts/stand-in-images.sh`),
//! always passed explicitly; nothing is pulled.
//!
//! Edits happen in temporary copies of `example-workspace`: identical content hits
//! BuildKit's cache across copies, so only the first build of a run is cold.
//!
//! Set `CARGO_IMAGE_E2E_SKIP=1` to skip them on a machine without an engine.

mod e2e;

use std::path::Path;
use std::time::{Duration, Instant};

use e2e::*;

const VERSION: &str = "0.3.1";
const BINS: [&str; 3] = ["product-api", "products", "products-admin"];

/// Builds every example image in a fresh copy; returns the copy's root.
/// The example's `build-args` value every build of a scenario passes (the copy is no
/// repository, so it has no commit): a build with another value re-runs the compile step.
const COMMIT_ARG: &str = "--build-arg=CATALOG_COMMIT=e2e-commit";

fn build_example(s: &Scenario) -> std::path::PathBuf {
    let root = s.copy_example("example");
    let run = s.image_ok(&root, &[COMMIT_ARG]);
    for bin in BINS {
        let tag = s.tag(bin, VERSION);
        assert!(
            run.stdout.contains(&tag),
            "the summary does not list {tag}:\n{}",
            run.describe()
        );
        let labels = inspect(&tag, "{{json .Config.Labels}}");
        let labels = json(&labels);
        assert_eq!(labels[LABEL], s.id.as_str(), "{tag}: labels {labels}");
        assert_eq!(
            labels["org.opencontainers.image.version"], VERSION,
            "{tag}: labels {labels}"
        );
    }
    root
}

/// Scenario 1: every example image builds; the API answers `/health` and `/api/products`
/// on a published port; the binaries report the workspace's real version.
#[test]
fn s1_example_images_build_and_serve() {
    let Some(s) = scenario("s1") else { return };
    build_example(&s);

    let api = s.tag("product-api", VERSION);
    let container = s.run_detached(&["-p", "127.0.0.1::8080", &api]);
    let port = published_port(&container, "8080/tcp");
    let logs = || {
        let out = docker(&["logs", &container]);
        format!(
            "container logs:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let health = poll_http(
        port,
        "/health",
        Duration::from_secs(30),
        |status, _| status == 200,
        &logs,
    );
    let health = json(&health);
    assert_eq!(health["status"], "ok", "/health: {health}");
    assert_eq!(health["version"], VERSION, "/health: {health}");

    let (status, body) = e2e::http_get(port, "/api/products").expect("GET /api/products");
    assert_eq!(status, 200, "/api/products: {body}");
    let products = json(&body);
    let list = products
        .as_array()
        .unwrap_or_else(|| panic!("/api/products is not a JSON list: {body}"));
    assert!(!list.is_empty(), "/api/products is empty");
    assert!(
        list.iter()
            .all(|p| p["id"].is_number() && p["name"].is_string()),
        "/api/products: {body}"
    );

    // The real version, not the skeleton's masked 0.0.0.
    for bin in BINS {
        let out = s.run_once(&[&s.tag(bin, VERSION), "--version"]);
        assert_eq!(out.trim(), format!("{bin} {VERSION}"), "{bin} --version");
    }
}

/// Scenario 2: the generated `HEALTHCHECK` (a static probe: scratch has no shell or curl)
/// turns the API container `healthy`.
#[test]
fn s2_healthcheck_turns_healthy_on_scratch() {
    let Some(s) = scenario("s2") else { return };
    build_example(&s);
    let api = s.tag("product-api", VERSION);

    // On scratch: no shell, only what the Dockerfile put there.
    let files = exported_files(&api);
    assert!(
        !files
            .iter()
            .any(|(p, _, _)| p == "bin/sh" || p == "usr/bin/sh"),
        "{api} has a shell: not a scratch image"
    );
    let check = inspect(&api, "{{json .Config.Healthcheck.Test}}");
    assert!(
        check.contains("cargo-image-probe") && check.contains("/health"),
        "healthcheck {check}"
    );

    let container = s.run_detached(&[&api]);
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(90) {
        last = inspect(&container, "{{.State.Health.Status}}");
        if last == "healthy" || last == "unhealthy" {
            break;
        }
        assert_eq!(
            inspect(&container, "{{.State.Status}}"),
            "running",
            "the API container stopped"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        last,
        "healthy",
        "health log: {}",
        inspect(&container, "{{json .State.Health}}")
    );
    eprintln!(
        "[e2e] s2: healthy after {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// Scenario 3: runtime images run as a non-root user, start in its writable home, hold no
/// sources, VCS data, build output or secrets, and the scratch image is the binary plus
/// at most 1 MiB.
#[test]
fn s3_runtime_images_are_small_and_non_root() {
    let Some(s) = scenario("s3") else { return };
    // Decoys in the copy: none of them may reach an image.
    let root = s.copy_example("example");
    let marker = format!("cargo-image-e2e-secret-{}", s.id);
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(root.join(".env"), format!("SECRET={marker}\n")).unwrap();
    std::fs::write(
        root.join("crates/product-api/.env.local"),
        format!("SECRET={marker}\n"),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("target/release")).unwrap();
    std::fs::write(root.join("target/release/decoy"), &marker).unwrap();
    s.image_ok(&root, &[]);

    for bin in BINS {
        let tag = s.tag(bin, VERSION);
        let user = inspect(&tag, "{{.Config.User}}");
        let uid = user.split(':').next().unwrap_or("");
        assert!(
            !user.is_empty() && uid != "0" && uid != "root",
            "{tag} runs as {user:?}"
        );
        // Every runtime starts the program in its user's home, as distroless does: scratch
        // and Debian slim would start it in `/`, where only root may write.
        let workdir = inspect(&tag, "{{.Config.WorkingDir}}");
        assert_eq!(workdir, "/home/nonroot", "{tag}: working directory");

        let files = exported_files(&tag);
        for (path, _, data) in &files {
            let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
            let name = parts.last().copied().unwrap_or("");
            assert!(
                !parts.contains(&".git") && !parts.contains(&"target") && !parts.contains(&"app"),
                "{tag} contains {path}"
            );
            assert!(!name.starts_with(".env"), "{tag} contains {path}");
            assert!(
                !name.ends_with(".rs")
                    && name != "Cargo.toml"
                    && name != "Cargo.lock"
                    && name != "Dockerfile",
                "{tag} contains the source file {path}"
            );
            assert!(
                !contains(data, marker.as_bytes()),
                "{tag}: {path} holds the decoy secret"
            );
        }

        if bin == "products-admin" {
            // Debian slim has a shell to ask: the home is the user's own, and HOME names it
            // (its user database has no 65532).
            let out = s.run_once(&[
                "--entrypoint",
                "/bin/sh",
                &tag,
                "-c",
                "touch written && echo \"$PWD $HOME\"",
            ]);
            assert_eq!(out.trim(), "/home/nonroot /home/nonroot", "{tag}");
        }

        if bin == "product-api" {
            let binary = files
                .iter()
                .find(|(p, _, _)| p.ends_with("/product-api"))
                .unwrap_or_else(|| panic!("no product-api binary in {tag}"))
                .1;
            let total: u64 = files.iter().map(|(_, size, _)| size).sum();
            let rest = total - binary;
            let listing: Vec<String> = files
                .iter()
                .filter(|(_, size, _)| *size > 0)
                .map(|(p, size, _)| format!("{size:>9} {p}"))
                .collect();
            eprintln!(
                "[e2e] s3: {tag}: binary {binary} bytes, everything else {rest} bytes\n{}",
                listing.join("\n")
            );
            assert!(
                rest <= 1024 * 1024,
                "{tag}: {rest} bytes besides the binary (limit 1 MiB):\n{}",
                listing.join("\n")
            );
        }
    }
}

/// Scenario 4: in the `layers` mode an edit of the top binary crate rebuilds only its
/// leaf (not the chain beneath it, nor the other binary crate's leaf beside it); the default `incremental` mode (one step over cache mounts, on top of `base`)
/// runs no skeleton, fetch or dependency stage, and an edit recompiles in its one step,
/// shipping the edited binary, while another checkout, older than that build, ships its
/// own unedited binary (its caches are its own); after a version bump the binary reports
/// the new version in both modes, and the layers mode keeps its downloads and dependency
/// stage cached.
#[test]
fn s4_cache_after_edit_and_version_bump() {
    let Some(s) = scenario("s4") else { return };
    let root = s.copy_example("example");
    // A second checkout of the same workspace, whose files are older than every build
    // below: had it shared the first one's target dir, cargo would find its artifacts fresh.
    let other = s.copy_example("other");
    // Every binary: product-api and products-cli are leaves beside each other.
    let layers = ["--build-mode", "layers"];
    let only_api = ["--bin", "product-api"];
    // Without the cache: every stage runs and leaves its own result cached. (A build whose
    // final layers come from the cache may find the stages beneath them gone from a
    // long-lived engine's cache, and the next build would then re-run them.)
    s.image_ok(&root, &[&layers[..], &["--no-cache"]].concat());

    append(
        &root.join("crates/product-api/src/main.rs"),
        &format!("// edited by the e2e test {}\n", s.id),
    );
    let run = s.image_ok(&root, &layers);
    let steps = run.steps();
    assert_step(&run, &steps, "[deps 1/1] RUN cargo-image build", true);
    // Only product-api's leaf re-runs (in the first image's build; the other images find
    // it cached): the chain beneath it and the other leaf (products-cli, beside it) come
    // from the cache.
    let crate_steps: Vec<&(bool, String)> = steps
        .iter()
        .filter(|(_, name)| {
            name.starts_with("[build-layers-") && name.contains("cargo-image copy ")
        })
        .collect();
    let (api, others): (Vec<_>, Vec<_>) = crate_steps
        .into_iter()
        .partition(|(_, name)| name.contains("cargo-image copy crates/product-api"));
    assert!(
        api.iter().any(|(cached, _)| !cached),
        "product-api's leaf was not rebuilt:\n{}",
        run.describe()
    );
    for expected in [
        "crates/catalog-macros",
        "crates/catalog-domain",
        "crates/products-cli",
    ] {
        assert!(
            others
                .iter()
                .any(|(_, n)| n.contains(&format!("cargo-image copy {expected}"))),
            "no step copies {expected}:\n{}",
            run.describe()
        );
    }
    for (cached, name) in others {
        assert!(
            cached,
            "rebuilt although unchanged: {name}\n{}",
            run.describe()
        );
    }
    assert_absent(&run, &["[build-incremental "]);
    let tag = s.tag("product-api", VERSION);
    assert_eq!(
        s.run_once(&[&tag, "--version"]).trim(),
        format!("product-api {VERSION}")
    );

    // Incremental (the default): one step over cache mounts, straight on `base`.
    let not_incremental = ["[skeleton ", "[fetch ", "[deps ", "[build-layers "];
    let run = s.image_ok(&root, &only_api);
    assert_absent(&run, &not_incremental);
    assert_eq!(
        s.run_once(&[&tag, "--version"]).trim(),
        format!("product-api {VERSION}")
    );
    let incremental = |run: &Run| {
        run.steps()
            .into_iter()
            .find(|(_, n)| n.starts_with("[build-incremental ") && n.contains("cargo-image build"))
            .unwrap_or_else(|| panic!("no incremental step reported:\n{}", run.describe()))
    };
    assert!(!incremental(&run).0, "{}", run.describe());
    // A behaviour change, so a stale binary would show.
    edit(
        &root.join("crates/product-api/src/main.rs"),
        "println!(\"product-api {VERSION}\");",
        "println!(\"product-api {VERSION} (edited)\");",
        1,
    );
    let run = s.image_ok(&root, &only_api);
    assert_absent(&run, &not_incremental);
    assert!(!incremental(&run).0, "{}", run.describe());
    assert_eq!(
        s.run_once(&[&tag, "--version"]).trim(),
        format!("product-api {VERSION} (edited)")
    );
    s.image_ok(&other, &only_api);
    assert_eq!(
        s.run_once(&[&tag, "--version"]).trim(),
        format!("product-api {VERSION}"),
        "the other checkout shipped the first one's edited binary"
    );

    // Version bump: [workspace.package] and the path dependencies' versions.
    edit(
        &root.join("Cargo.toml"),
        "version = \"0.3.1\"",
        "version = \"0.3.2\"",
        4,
    );
    let out = std::process::Command::new(cargo())
        .args(["update", "--workspace", "--offline"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo update --workspace --offline: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = s.image_ok(&root, &only_api);
    assert_absent(&run, &not_incremental);
    assert!(!incremental(&run).0, "{}", run.describe());
    let bumped = s.tag("product-api", "0.3.2");
    assert_eq!(
        s.run_once(&[&bumped, "--version"]).trim(),
        "product-api 0.3.2 (edited)"
    );
    // Masked versions: the layers mode's downloads and dependency stage stay cached.
    let run = s.image_ok(&root, &layers);
    assert_cached(&run, "[fetch ");
    assert_step(&run, &run.steps(), "[deps 1/1] RUN cargo-image build", true);
    assert_eq!(
        s.run_once(&[&bumped, "--version"]).trim(),
        "product-api 0.3.2 (edited)"
    );
}

/// No reported step's name starts with any of `prefixes`: those stages were not needed.
fn assert_absent(run: &Run, prefixes: &[&str]) {
    for (_, name) in run.steps() {
        assert!(
            !prefixes.iter().any(|p| name.starts_with(p)),
            "step `{name}` ran, but its stage is not needed:\n{}",
            run.describe()
        );
    }
}

/// Every reported step whose name starts with `prefix` came from the cache.
fn assert_cached(run: &Run, prefix: &str) {
    for (cached, name) in run.steps() {
        if name.starts_with(prefix) {
            assert!(cached, "step `{name}` re-ran:\n{}", run.describe());
        }
    }
}

fn assert_step(run: &Run, steps: &[(bool, String)], name: &str, cached: bool) {
    let found = steps
        .iter()
        .find(|(_, n)| n == name)
        .unwrap_or_else(|| panic!("step `{name}` not reported:\n{}", run.describe()));
    assert_eq!(
        found.0,
        cached,
        "step `{name}` should be {}:\n{}",
        if cached { "CACHED" } else { "DONE" },
        run.describe()
    );
}

/// Scenario 5: the dev target, run through the generated compose.yaml, rebuilds and
/// restarts the API when a source file changes.
#[test]
fn s5_dev_image_rebuilds_and_restarts_on_change() {
    let Some(s) = scenario("s5") else { return };
    let compose = docker(&["compose", "version"]);
    assert!(
        compose.status.success(),
        "`docker compose` is missing: install it with `bash .ci/engine.sh install`"
    );
    let root = s.copy_example("example");
    // compose.yaml requires catalog-exporter's secret (`run-env`) from the environment of
    // `docker compose`, for every service of the file: a `.env` beside it gives it, as a
    // user's would.
    std::fs::write(root.join(".env"), "CATALOG_EXPORT_TOKEN=e2e\n").unwrap();

    // `cargo xtask image --target dev` builds the dev image.
    let dev_tag = format!("{}/product-api:dev", s.prefix());
    s.image_ok(&root, &["--target", "dev", "--tag", &dev_tag]);
    let cmd = inspect(&dev_tag, "{{json .Config.Cmd}}");
    assert!(
        cmd.contains("watch") && cmd.contains("product-api"),
        "{cmd}"
    );

    // The generated compose.yaml, with the published port moved to a free loopback port
    // (the file publishes 8080:8080) and the test label on the image and container.
    let mut args: Vec<String> = vec![
        "dockerfile".into(),
        "--manifest-path".into(),
        root.join("Cargo.toml").display().to_string(),
    ];
    args.extend(overrides());
    let run = s.xtask(&args, &[], Duration::from_secs(120));
    assert!(run.status.success(), "{}", run.describe());
    let compose_file = root.join("compose.yaml");
    let generated = std::fs::read_to_string(&compose_file).unwrap();
    assert!(
        generated.contains("target: dev")
            && generated.contains("${CATALOG_EXPORT_TOKEN:?set CATALOG_EXPORT_TOKEN for"),
        "compose.yaml:\n{generated}"
    );
    let override_file = s.path("compose.e2e.yaml");
    std::fs::write(
        &override_file,
        format!(
            "services:\n  product-api:\n    build:\n      labels:\n        {LABEL}: \"{id}\"\n    \
             labels:\n      {LABEL}: \"{id}\"\n    ports: !override\n      - \"127.0.0.1::8080\"\n",
            id = s.id
        ),
    )
    .unwrap();
    let project = format!("cargo-image-e2e-{}", s.id);
    let files = vec![compose_file.clone(), override_file.clone()];
    s.track_compose(&project, &files);
    let compose_args = |rest: &[&str]| -> Vec<String> {
        let mut a = vec!["compose".to_string()];
        for f in &files {
            a.extend(["-f".into(), f.display().to_string()]);
        }
        a.extend(["-p".into(), project.clone()]);
        a.extend(rest.iter().map(|s| s.to_string()));
        a
    };
    let started = Instant::now();
    let up = docker(&compose_args(&["up", "-d", "--build", "product-api"]));
    eprintln!(
        "[e2e] s5: compose up --build took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        up.status.success(),
        "docker compose up failed:\n{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let port_out = docker_ok(&compose_args(&["port", "product-api", "8080"]));
    let port = parse_port(&port_out).unwrap_or_else(|| panic!("compose port: {port_out:?}"));
    let logs = || {
        let out = docker(&compose_args(&["logs", "--no-color", "product-api"]));
        format!(
            "compose logs:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let body = poll_http(
        port,
        "/health",
        Duration::from_secs(120),
        |status, _| status == 200,
        &logs,
    );
    assert_eq!(json(&body)["status"], "ok", "{body}");

    // Edit the source on the host: the status string /health reports.
    let edited = format!("ok-edited-{}", s.id);
    edit(
        &root.join("crates/product-api/src/lib.rs"),
        "status: \"ok\",",
        &format!("status: \"{edited}\","),
        1,
    );
    let started = Instant::now();
    poll_http(
        port,
        "/health",
        Duration::from_secs(180),
        |status, body| {
            status == 200
                && serde_json::from_str::<serde_json::Value>(body)
                    .map(|v| v["status"] == edited.as_str())
                    .unwrap_or(false)
        },
        &logs,
    );
    eprintln!(
        "[e2e] s5: the edit was served after {:.1}s",
        started.elapsed().as_secs_f64()
    );
    // The program restarted inside the same container (the container did not restart).
    let ps = docker_ok(&compose_args(&["ps", "-q", "product-api"]));
    let container = ps.trim();
    assert_eq!(inspect(container, "{{.RestartCount}}"), "0");
}

/// A tiny workspace with one binary and one test.
fn tiny_with_test(s: &Scenario, dir: &str, test_name: &str, body: &str) -> std::path::PathBuf {
    s.tiny_workspace(
        dir,
        "e2e-tiny",
        &format!(
            "fn main() {{\n    println!(\"tiny\");\n}}\n\n#[cfg(test)]\nmod tests {{\n    \
             #[test]\n    fn {test_name}() {{\n        {body}\n    }}\n}}\n"
        ),
    )
}

/// Scenario 6: `--target test` runs the workspace's tests in the build: a failing test
/// fails the command (naming the test), a passing one lets it succeed.
#[test]
fn s6_test_target_fails_and_passes() {
    let Some(s) = scenario("s6") else { return };
    let failing = tiny_with_test(
        &s,
        "failing",
        "e2e_tiny_check_fails",
        "assert_eq!(1 + 1, 3, \"arithmetic is broken\");",
    );
    let run = s.image(&failing, &["--target", "test"]);
    assert!(!run.status.success(), "a failing test passed the build");
    let all = format!("{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("e2e_tiny_check_fails"),
        "the failing test is not named in stderr:\n{}",
        run.describe()
    );
    assert!(all.contains("FAILED") || all.contains("failed"), "{all}");

    let passing = tiny_with_test(
        &s,
        "passing",
        "e2e_tiny_check_passes",
        "assert_eq!(1 + 1, 2);",
    );
    s.image_ok(&passing, &["--target", "test"]);
}

/// Scenario 7a: no engine at DOCKER_HOST.
#[test]
fn s7_error_engine_not_running() {
    let Some(s) = scenario("s7-no-engine") else {
        return;
    };
    let root = s.tiny_workspace("tiny", "e2e-tiny", "fn main() {}\n");
    let host = format!("unix:///tmp/cargo-image-e2e-{}-missing.sock", s.id);
    let mut args = vec![
        "image".to_string(),
        "--manifest-path".into(),
        root.join("Cargo.toml").display().to_string(),
    ];
    args.extend(overrides());
    let run = s.xtask(&args, &[("DOCKER_HOST", &host)], Duration::from_secs(120));
    assert_error(&run, &["cannot reach the Docker engine", &host]);
}

/// Scenario 7b: a compile error shows the compiler's own message.
#[test]
fn s7_error_compile_error() {
    let Some(s) = scenario("s7-compile") else {
        return;
    };
    let root = s.tiny_workspace(
        "broken",
        "e2e-broken",
        "fn main() {\n    let n: u32 = \"not a number\";\n    println!(\"{n}\");\n}\n",
    );
    let run = s.image(&root, &[]);
    assert_error(&run, &["mismatched types"]);
    assert!(
        run.stderr.contains("error[E0308]"),
        "no compiler error code:\n{}",
        run.describe()
    );
    assert!(run.stderr.contains("src/main.rs"), "{}", run.describe());
}

/// Scenario 7c: an unknown `--bin` lists the available ones; an unknown `--target` is a
/// usage error.
#[test]
fn s7_error_unknown_bin_and_target() {
    let Some(s) = scenario("s7-usage") else {
        return;
    };
    let root = s.copy_example("example");
    let run = s.image(&root, &["--bin", "no-such-bin"]);
    assert_error(
        &run,
        &[
            "no-such-bin",
            "available",
            "product-api",
            "products",
            "products-admin",
        ],
    );

    let run = s.image(&root, &["--target", "production"]);
    assert!(!run.status.success(), "{}", run.describe());
    assert!(
        run.stderr.contains("--target `production`: no such stage")
            && run
                .stderr
                .contains("runtime, dev, test, product-api-debug, catalog-exporter-debug"),
        "{}",
        run.describe()
    );
}

/// Scenario 7d: a base image that is neither in the engine nor pullable.
#[test]
fn s7_error_base_image_missing() {
    let Some(s) = scenario("s7-base") else { return };
    let root = s.tiny_workspace("tiny", "e2e-tiny", "fn main() {}\n");
    let missing = "cargo-image-e2e/missing:1";
    let run = s.image(
        &root,
        &["--base-image", &format!("distroless-cc={missing}")],
    );
    assert_error(&run, &[missing, "cannot be pulled"]);
}

/// Scenario 7e: the engine goes away in the middle of a build: the command fails with a
/// message about the lost connection, and does not hang.
#[test]
fn s7_error_engine_lost_during_build() {
    let Some(s) = scenario("s7-lost") else { return };
    let root = s.tiny_workspace("tiny", "e2e-tiny", "fn main() {}\n");
    let mut forwarder = Forwarder::start(Path::new("/var/run/docker.sock"));
    let host = format!("tcp://127.0.0.1:{}", forwarder.port);
    let mut args = vec![
        "image".to_string(),
        "--manifest-path".into(),
        root.join("Cargo.toml").display().to_string(),
    ];
    args.extend(overrides());
    args.extend([
        "--label".into(),
        s.label(),
        "--tag".into(),
        format!("{}/{{bin}}:{{version}}", s.prefix()),
        "--no-cache".into(),
        "--no-size-comparison".into(),
    ]);
    let started = Instant::now();
    let mut build_started: Option<Instant> = None;
    let mut cut_at: Option<(f64, String)> = None;
    let run = s.xtask_watching(
        &args,
        &[("DOCKER_HOST", &host)],
        Duration::from_secs(120),
        &mut |line: Option<&str>| {
            if cut_at.is_some() {
                return;
            }
            // Cut once a RUN step has finished (the next ones are running), or two seconds
            // into the build's progress.
            if let Some(l) = line {
                if build_started.is_none() && (l.starts_with("DONE") || l.starts_with("CACHED")) {
                    build_started = Some(Instant::now());
                }
            }
            let ran = line.is_some_and(|l| l.starts_with("DONE") && l.contains("] RUN "));
            let waited = build_started.is_some_and(|t| t.elapsed() >= Duration::from_secs(2));
            if ran || waited {
                forwarder.cut();
                cut_at = Some((
                    started.elapsed().as_secs_f64(),
                    line.unwrap_or("(2 s into the build)").to_string(),
                ));
            }
        },
    );
    let (at, line) = cut_at.unwrap_or_else(|| {
        panic!(
            "the build never reported a step, so the connection was never cut:\n{}",
            run.describe()
        )
    });
    eprintln!("[e2e] s7-lost: cut the connection after {at:.1}s, at `{line}`");
    assert_error(&run, &["lost the connection to the Docker engine"]);
    assert!(
        run.seconds - at < 60.0,
        "the command took {:.1}s to notice",
        run.seconds - at
    );
}

/// Removes a tag when dropped (pass or fail): the scenario's clean-up goes by label, and a
/// tag of a stand-in carries the stand-in's labels only.
struct Untag(String);

impl Drop for Untag {
    fn drop(&mut self) {
        let _ = docker(&["rmi", &self.0]);
    }
}

/// Issue 15 §4: a base image removed between the plan and the build. `image` checks every
/// base before building; here the runtime base of the second image is a throw-away tag of
/// the distroless stand-in, removed while the first image builds (which does not use it),
/// so the second build starts without it. BuildKit then looks for it in a registry and
/// reports that lookup; the command must fail naming the image that went missing and how to
/// get it back, build no second image, and print no summary table.
#[test]
fn s7_error_base_image_removed_mid_build() {
    let Some(s) = scenario("s7-base-removed") else {
        return;
    };
    // Two binaries: `alpha` on scratch (built first), `beta` on distroless-cc. A package for
    // the builder stage (apt, with --no-cache) keeps alpha's build going a few seconds:
    // the window in which the tag goes.
    let root = s.path("two");
    std::fs::create_dir_all(root.join("src/bin")).unwrap();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"e2e-two\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         publish = false\n\n[package.metadata.image.bin.alpha]\nruntime = \"scratch\"\n\n\
         [workspace]\n\n[workspace.metadata.image]\nbuild-packages = [\"pkg-config\"]\n",
    )
    .unwrap();
    for bin in ["alpha", "beta"] {
        std::fs::write(root.join(format!("src/bin/{bin}.rs")), "fn main() {}\n").unwrap();
    }
    let lock = std::process::Command::new(cargo())
        .args(["generate-lockfile", "--offline"])
        .current_dir(&root)
        .output()
        .expect("running cargo generate-lockfile");
    assert!(lock.status.success(), "cargo generate-lockfile failed");

    let throwaway = format!("{}/cc-throwaway:1", s.prefix());
    docker_ok(&[
        "tag",
        "cargo-image-stand-in/distroless-cc:trixie",
        &throwaway,
    ]);
    let _untag = Untag(throwaway.clone());
    let mut args = vec![
        "image".to_string(),
        "--manifest-path".into(),
        root.join("Cargo.toml").display().to_string(),
    ];
    args.extend(overrides());
    args.extend([
        // After the stand-in's in overrides(): the last one for a keyword wins.
        "--base-image".into(),
        format!("distroless-cc={throwaway}"),
        "--label".into(),
        s.label(),
        "--tag".into(),
        format!("{}/{{bin}}:{{version}}", s.prefix()),
        "--no-cache".into(),
        "--no-size-comparison".into(),
    ]);
    let (alpha, beta) = (s.tag("alpha", "0.1.0"), s.tag("beta", "0.1.0"));
    let mut removed_at: Option<f64> = None;
    let mut beta_seen_before_removal = false;
    let started = Instant::now();
    let run = s.xtask_watching(&args, &[], Duration::from_secs(600), &mut |line: Option<
        &str,
    >| {
        let Some(l) = line else { return };
        if l.starts_with("==> building image") && l.contains(&beta) && removed_at.is_none() {
            beta_seen_before_removal = true;
        }
        // Every base was checked before this line: alpha's build has begun.
        if removed_at.is_none() && l.starts_with("==> building image") && l.contains(&alpha) {
            docker_ok(&["rmi", &throwaway]);
            removed_at = Some(started.elapsed().as_secs_f64());
        }
    });
    let at = removed_at.unwrap_or_else(|| {
        panic!(
            "alpha's build never started, so the tag was never removed:\n{}",
            run.describe()
        )
    });
    assert!(
        !beta_seen_before_removal,
        "beta's build began before the tag was removed:\n{}",
        run.describe()
    );
    eprintln!("[e2e] s7-base-removed: removed {throwaway} after {at:.1}s");
    assert!(
        run.stdout
            .contains(&format!("load metadata for docker.io/{throwaway}")),
        "beta's build did not look for the removed tag:\n{}",
        run.describe()
    );
    assert_error(
        &run,
        &[
            &format!(
                "error: base image {throwaway} was in the engine when the build started and is \
                 gone now"
            ),
            "--base-image distroless-cc=IMAGE",
            &format!("building image {beta}"),
        ],
    );
    // Nothing reported as built: no summary table, no second image.
    assert!(
        !run.stdout
            .lines()
            .any(|l| l.starts_with("image ") && l.contains("layers")),
        "a summary table was printed:\n{}",
        run.describe()
    );
    assert!(
        !docker(&["image", "inspect", &beta]).status.success(),
        "{beta} exists after its build failed"
    );
    eprintln!(
        "[e2e] s7-base-removed: the tool said: {}",
        run.stderr.lines().next().unwrap_or("")
    );
}

/// `--builder legacy` is refused: the Dockerfile needs BuildKit.
#[test]
fn s7_error_legacy_builder() {
    let Some(s) = scenario("s7-legacy") else {
        return;
    };
    let root = s.copy_example("example");
    let run = s.image(&root, &["--builder", "legacy"]);
    assert_error(&run, &["legacy builder", "BuildKit", "RUN --mount"]);
}

/// Scenario 8: extra CA certificates are trusted while fetching but reach no layer and no
/// history entry.
#[test]
fn s8_ca_certificate_reaches_no_layer() {
    let Some(s) = scenario("s8") else { return };
    let ca = s.path("ca.pem");
    let key = s.path("ca.key");
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes"])
        .args(["-subj", "/CN=cargo-image-e2e", "-days", "1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&ca)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = std::fs::read_to_string(&ca).unwrap();
    // A line from the middle of the body: distinctive, and not in any other certificate.
    let body: Vec<&str> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() == 64)
        .collect();
    assert!(body.len() > 6, "unexpected PEM:\n{pem}");
    let needle = body[body.len() / 2];

    let root = s.copy_example("example");
    let tag = s.tag("products", VERSION);
    // The layers mode downloads in its fetch step; the incremental mode in its one step,
    // into caches that start empty with --no-cache.
    for (mode, step) in [
        ("layers", "cargo-image fetch"),
        ("incremental", "cargo-image build-online"),
    ] {
        let ca = ca.to_str().unwrap();
        let args = [
            "--ca-cert",
            ca,
            "--bin",
            "products",
            "--no-cache",
            "--build-mode",
            mode,
        ];
        let run = s.image_ok(&root, &args);
        assert!(
            run.steps()
                .iter()
                .any(|(cached, name)| !cached && name.contains(step)),
            "{mode}: the step running `{step}` did not run:\n{}",
            run.describe()
        );
        assert_eq!(
            s.run_once(&[&tag, "--version"]).trim(),
            format!("products {VERSION}")
        );
        assert_no_ca(&tag, needle);
    }
}

/// Neither `docker save` of `tag` nor its history holds the certificate line `needle`.
fn assert_no_ca(tag: &str, needle: &str) {
    let blobs = saved_blobs(tag);
    assert!(blobs.len() >= 3, "docker save gave {} blobs", blobs.len());
    for (name, data) in &blobs {
        assert!(
            !contains(data, needle.as_bytes()),
            "{name} in `docker save {tag}` holds the CA certificate"
        );
    }
    let history = docker_ok(&["history", "--no-trunc", tag]);
    assert!(
        !history.contains(needle) && !history.contains("BEGIN CERTIFICATE"),
        "docker history mentions the certificate:\n{history}"
    );
}

/// Exit code 1 and every fragment in stderr (which starts with `error:`).
fn assert_error(run: &Run, fragments: &[&str]) {
    assert_eq!(
        run.status.code(),
        Some(1),
        "expected exit code 1:\n{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("error: "),
        "no `error:` line:\n{}",
        run.describe()
    );
    for f in fragments {
        assert!(
            run.stderr.contains(f),
            "stderr does not mention {f:?}:\n{}",
            run.describe()
        );
    }
}

/// Scenario 14: a service as real ones are (catalog-exporter): it reads its configuration
/// file from its working directory (`files`, `workdir`) and writes a log there (the
/// directory is its user's, as rustypaste's `./upload` needs), writes into a volume as the
/// non-root user on distroless, links the system's zlib (`link-packages`, a dynamically
/// linked binary beside static ones) which `runtime-packages` unpacks into the image, gets
/// its arguments from `CMD` and stops on its `STOPSIGNAL`. A `files` edit rebuilds the
/// runtime side only.
#[test]
fn s14_service_runtime_keys() {
    let Some(s) = scenario("s14") else { return };
    let root = build_example(&s);
    let tag = s.tag("catalog-exporter", VERSION);

    // What `docker inspect` shows.
    let config = json(&inspect(&tag, "{{json .Config}}"));
    assert_eq!(config["WorkingDir"], "/app", "{config}");
    assert!(config["Volumes"]["/data"].is_object(), "{config}");
    assert_eq!(
        config["Cmd"],
        serde_json::json!(["--config", "config/default.toml"])
    );
    assert_eq!(config["StopSignal"], "SIGINT", "{config}");
    assert_eq!(config["User"], "65532:65532", "{config}");

    // The binary really links the system's libz, and the image holds it.
    let files = exported_files(&tag);
    let binary = files
        .iter()
        .find(|(p, _, _)| p == "usr/local/bin/catalog-exporter")
        .expect("the binary is in the image");
    assert!(contains(&binary.2, b"libz.so.1"), "no NEEDED libz.so.1");
    assert!(
        files
            .iter()
            .any(|(p, _, _)| p.ends_with("-linux-gnu/libz.so.1")),
        "libz.so.1 is not in the image"
    );

    // Its secret comes when it runs (`run-env`): the image holds no value for it.
    assert!(
        !config["Env"].to_string().contains("CATALOG_EXPORT_TOKEN"),
        "{config}"
    );
    let token = format!("token-{}", s.id);
    let env = format!("CATALOG_EXPORT_TOKEN={token}");
    let serve = |expected_title: &str| {
        let container = s.run_detached(&["-p", "127.0.0.1::8090", "-e", &env, &tag]);
        let port = published_port(&container, "8090/tcp");
        let logs = || String::from_utf8_lossy(&docker(&["logs", &container]).stderr).into_owned();
        poll_http(
            port,
            "/health",
            Duration::from_secs(30),
            |st, _| st == 200,
            &logs,
        );
        let (status, body) = http_get(port, "/export").expect("GET /export");
        assert_eq!(status, 401, "/export without the token: {body}\n{}", logs());
        let bearer = format!("Authorization: Bearer {token}");
        let (status, body) =
            http_get_with(port, "/export", &[&bearer]).expect("GET /export with the token");
        assert_eq!(status, 200, "/export: {body}\n{}", logs());
        let export = json(&body);
        assert_eq!(export["title"], expected_title, "{export}");
        assert_eq!(export["path"], "/data/catalog.json.z", "{export}");
        // It wrote in its working directory too, which its user owns.
        assert_eq!(export["log"], "exports.log", "{export}");
        assert!(export["bytes"].as_u64().unwrap_or(0) > 0, "{export}");
        // The volume was written by the non-root user; STOPSIGNAL ends it cleanly (a
        // SIGKILL after the grace period would exit 137).
        docker_ok(&["stop", "-t", "30", &container]);
        let code = inspect(&container, "{{.State.ExitCode}}");
        assert_eq!(code.trim(), "0", "exit code after docker stop\n{}", logs());
    };
    serve("Example catalog");

    // A `files` edit: the build stage stays cached, the extras stage re-runs. The new
    // title names this run: content built before on this engine would come from its cache.
    let edited = format!("Edited catalog {}", s.id);
    edit(
        &root.join("config/catalog-exporter/default.toml"),
        "title = \"Example catalog\"",
        &format!("title = \"{edited}\""),
        1,
    );
    // The same images as before (another `--bin` list would be another build command).
    let run = s.image_ok(&root, &[COMMIT_ARG]);
    let steps = run.steps();
    let step = |prefix: &str| {
        steps
            .iter()
            .find(|(_, n)| n.starts_with(prefix) && n.contains(" RUN "))
            .unwrap_or_else(|| panic!("no `{prefix}` step:\n{}", run.describe()))
            .0
    };
    assert!(
        step("[build-incremental "),
        "the build re-ran:\n{}",
        run.describe()
    );
    assert!(
        !step("[cargo-image-extras-catalog-exporter "),
        "the extras stage was cached:\n{}",
        run.describe()
    );
    serve(&edited);

    // dockerfile-append: a stage of the workspace's own, on top of a generated one.
    s.image_ok(&root, &["--target", "product-api-debug", COMMIT_ARG]);
    let debug = s.tag("product-api-debug", "latest");
    let out = s.run_once(&[
        "--entrypoint",
        "/usr/local/bin/products",
        &debug,
        "--version",
    ]);
    assert_eq!(out.trim(), format!("products {VERSION}"));
}

/// Scenario 15: DNS by container name on a user-defined network, in every runtime kind:
/// static glibc binaries on scratch (the `product-api-debug` stage of `dockerfile-append`,
/// which carries the CLI) and on distroless-static (`products`), whose built-in DNS
/// resolver needs no NSS modules; dynamically linked ones on distroless-cc (the
/// `catalog-exporter-debug` user stage, carrying `products-admin`) and on debian-slim
/// (`products-admin`), through the image's own glibc and NSS configuration. Docker's
/// embedded DNS answers for the API's container name. Also `products-admin`'s
/// init (`init = true`: our static init before the program) with its default `args`, and
/// `tzdata`.
#[test]
fn s15_dns_by_container_name_in_every_runtime_kind() {
    let Some(s) = scenario("s15") else { return };
    let root = build_example(&s);
    s.image_ok(&root, &["--target", "product-api-debug", COMMIT_ARG]);
    s.image_ok(&root, &["--target", "catalog-exporter-debug", COMMIT_ARG]);
    let network = format!("{}-net", s.prefix().replace('/', "-"));
    docker_ok(&["network", "create", "--label", &s.label(), &network]);
    struct Network(String);
    impl Drop for Network {
        fn drop(&mut self) {
            let _ = docker(&["network", "rm", &self.0]);
        }
    }
    let _network = Network(network.clone());
    let api_name = format!("{}-api", s.id);
    let api = s.run_detached(&[
        "--name",
        &api_name,
        "--network",
        &network,
        &s.tag("product-api", VERSION),
    ]);
    let url = format!("http://{api_name}:8080");
    let cli = |entrypoint: Option<&str>, image: &str, command: &str| -> String {
        let mut args = vec!["--network", network.as_str()];
        if let Some(e) = entrypoint {
            args.extend(["--entrypoint", e]);
        }
        args.extend([image, command, "--url", url.as_str()]);
        // The API may still be starting: retry for a while.
        let started = Instant::now();
        loop {
            let mut full = vec!["run", "--rm", "--label"];
            let label = s.label();
            full.push(&label);
            full.extend_from_slice(&args);
            let out = docker(&full);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() || started.elapsed() > Duration::from_secs(30) {
                assert!(
                    out.status.success(),
                    "{image}: {text}{}\napi logs: {}",
                    String::from_utf8_lossy(&out.stderr),
                    String::from_utf8_lossy(&docker(&["logs", &api]).stderr)
                );
                return text;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    let on_scratch = cli(
        Some("/usr/local/bin/products"),
        &s.tag("product-api-debug", "latest"),
        "health",
    );
    assert!(on_scratch.contains(": ok (product-api"), "{on_scratch}");
    let on_static = cli(None, &s.tag("products", VERSION), "health");
    assert!(on_static.contains(": ok (product-api"), "{on_static}");
    let on_cc = cli(
        Some("/usr/local/bin/products-admin"),
        &s.tag("catalog-exporter-debug", "latest"),
        "ping",
    );
    assert!(on_cc.contains(": answers {\"status\":\"ok\""), "{on_cc}");
    // On debian-slim through its entrypoint: our init, then products-admin.
    let on_debian = cli(None, &s.tag("products-admin", VERSION), "ping");
    assert!(
        on_debian.contains(": answers {\"status\":\"ok\""),
        "{on_debian}"
    );
    let _ = docker(&["rm", "-f", &api]);

    // The init before the program, the default arguments as configured, and time zone
    // data for TZ.
    let admin = s.tag("products-admin", VERSION);
    assert_eq!(
        inspect(&admin, "{{json .Config.Entrypoint}}"),
        r#"["/usr/local/bin/cargo-image-init","/usr/local/bin/products-admin"]"#
    );
    assert_eq!(inspect(&admin, "{{json .Config.Cmd}}"), r#"["info"]"#);
    let info = s.run_once(&["-e", "TZ=Europe/Paris", &admin]);
    assert!(
        info.starts_with("products-admin\n")
            && info.contains("commit:    e2e-commit\n")
            && info.contains("time zone: Europe/Paris (zone data installed)"),
        "{info}"
    );
}
