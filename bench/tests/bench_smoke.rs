//! Smoke test of `cargo xtask bench` (the bench crate's binary, which the xtask runs): runs
//! the command once (`--runs 1`) with the host, single-stage and ours variants on a tiny
//! workspace written here (one library, one binary, no crates.io dependency), and checks
//! the JSON it writes has the documented shape with positive figures. It asserts shape,
//! never timings: the bench is a command, and its numbers mean something only on the
//! example workspace.
//!
//! Needs a Docker engine with buildx and the stand-in images (`.ci/run` provides both);
//! where no engine answers, each test says so and is skipped, except under CI (`CI` set),
//! where that fails. Everything the bench builds carries its own
//! `org.cargo-image.bench=<run id>` label and is removed at the end; it prunes only its own
//! build-cache records.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Whether a Docker engine answers; if not, says why the test `name` is skipped (outside
/// CI) or fails (under CI, where the engine is part of the job).
fn engine_answers(name: &str) -> bool {
    let why = match Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
    {
        Ok(out) if out.status.success() => return true,
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
        Err(e) => format!("running `docker info`: {e}"),
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "the bench smoke test needs a running Docker engine (`bash .ci/engine.sh start`): {why}"
    );
    eprintln!(
        "[bench_smoke] {name}: skipped: no Docker engine answers ({why}); start one with \
         `bash .ci/engine.sh start` (under CI this fails)"
    );
    false
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A workspace with `fixture-bin` depending on `fixture-lib`, on a scratch runtime.
fn fixture(root: &Path) {
    write(
        root,
        "Cargo.toml",
        r#"[workspace]
resolver = "2"
members = ["crates/*"]

[workspace.package]
version = "0.1.0"
edition = "2021"

[workspace.dependencies]
fixture-lib = { path = "crates/fixture-lib", version = "0.1.0" }

[workspace.metadata.image]
runtime = "scratch"
"#,
    );
    write(
        root,
        "crates/fixture-lib/Cargo.toml",
        "[package]\nname = \"fixture-lib\"\nversion.workspace = true\nedition.workspace = true\n",
    );
    write(
        root,
        "crates/fixture-lib/src/lib.rs",
        "pub fn greeting() -> &'static str {\n    \"hello from the bench fixture\"\n}\n",
    );
    write(
        root,
        "crates/fixture-bin/Cargo.toml",
        "[package]\nname = \"fixture-bin\"\nversion.workspace = true\nedition.workspace = true\n\n\
         [dependencies]\nfixture-lib.workspace = true\n",
    );
    write(
        root,
        "crates/fixture-bin/src/main.rs",
        "fn main() {\n    println!(\"{}\", fixture_lib::greeting());\n}\n",
    );
    let status = Command::new("cargo")
        .args(["generate-lockfile", "--offline", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .status()
        .unwrap();
    assert!(status.success(), "cargo generate-lockfile failed");
}

#[test]
fn bench_runs_once_and_writes_the_documented_json() {
    if !engine_answers("bench_runs_once_and_writes_the_documented_json") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    fixture(&ws);
    let json = dir.path().join("out/bench.json");
    let chart = dir.path().join("out/bench.svg");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("--manifest-path")
        .arg(ws.join("Cargo.toml"))
        .args(["--runs", "1", "--variants", "host,single-stage,ours"])
        .arg("--json")
        .arg(&json)
        .arg("--chart")
        .arg(&chart)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "bench failed:\n{stderr}\n{stdout}");
    eprintln!(
        "bench smoke run took {:.0} s\n{stderr}{stdout}",
        started.elapsed().as_secs_f64()
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let top: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(top, ["cpus", "variants", "workspace"]);
    assert!(report["cpus"].as_u64().unwrap() >= 1);
    assert!(report["workspace"]
        .as_str()
        .unwrap()
        .ends_with("Cargo.toml"));
    let variants = report["variants"].as_object().unwrap();
    let names: Vec<&str> = variants.keys().map(String::as_str).collect();
    assert_eq!(names, ["host", "ours", "single-stage"]);

    let positive = |variant: &str, keys: &[&str]| {
        let figures = variants[variant].as_object().unwrap();
        let mut have: Vec<&str> = figures.keys().map(String::as_str).collect();
        have.sort();
        let mut want = keys.to_vec();
        want.sort();
        assert_eq!(have, want, "{variant}: figures");
        for k in keys {
            let v = figures[*k].as_f64().unwrap();
            assert!(v > 0.0, "{variant}.{k} = {v}");
        }
    };
    positive("host", &["warm_bin_s", "warm_lib_s", "bump_s"]);
    let docker = [
        "cold_s",
        "warm_bin_s",
        "warm_lib_s",
        "bump_s",
        "ci_warm_bin_s",
        "ci_warm_lib_s",
        "image_bytes",
    ];
    positive("ours", &docker);
    positive("single-stage", &docker);

    // The table and the targets are printed; the chart is an SVG with a bar per figure.
    assert!(stdout.contains("variant"), "{stdout}");
    assert!(
        stdout.contains("ours.warm_bin_s ≤ 1.1 × host.warm_bin_s"),
        "{stdout}"
    );
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.matches("<rect").count() >= 3 + 2 * 6 + 2, "{svg}");

    // Nothing the bench built is left behind (its images carry its run id as a label).
    let runid = stderr
        .lines()
        .find_map(|l| l.split("] bench ").nth(1))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or("");
    assert!(!runid.is_empty(), "no run id in the progress: {stderr}");
    let left = Command::new("docker")
        .args(["image", "ls", "--quiet", "--filter"])
        .arg(format!("label=org.cargo-image.bench={runid}"))
        .output()
        .unwrap();
    let left = String::from_utf8_lossy(&left.stdout);
    assert!(
        left.trim().is_empty(),
        "images of bench {runid} left: {left}"
    );
}

/// Images of bench run `runid`, by id.
fn images_of(runid: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["image", "ls", "--quiet", "--filter"])
        .arg(format!("label=org.cargo-image.bench={runid}"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// Ctrl-C in the middle of a run: the running build stops, and the run's images and
/// build-cache records are removed before the bench exits (130), as a finished run's are.
#[test]
fn an_interrupted_bench_leaves_nothing_behind() {
    use std::io::BufRead;
    use std::time::Duration;

    if !engine_answers("an_interrupted_bench_leaves_nothing_behind") {
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    fixture(&ws);
    let mut child = Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("--manifest-path")
        .arg(ws.join("Cargo.toml"))
        .args(["--runs", "1", "--variants", "single-stage,ours"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut said = Vec::new();
    let started = Instant::now();
    // The run id, from the progress, then the first image of this run.
    let runid = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(300))
            .unwrap_or_else(|_| panic!("no run id after 300 s:\n{}", said.join("\n")));
        said.push(line.clone());
        if let Some(id) = line
            .split("] bench ")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
        {
            break id.to_string();
        }
    };
    while images_of(&runid).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the bench built nothing in 600 s"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let interrupted = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            interrupted.elapsed() < Duration::from_secs(180),
            "the bench still runs 180 s after Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = reader.join();
    said.extend(rx.try_iter());
    let said = said.join("\n");
    assert_eq!(code, Some(130), "{said}");
    assert!(said.contains("interrupted: removing"), "{said}");
    assert!(said.contains("cleaned up: "), "{said}");
    assert!(
        images_of(&runid).is_empty(),
        "images of bench {runid} left after Ctrl-C:\n{said}"
    );
}
