//! The generated files committed in example-workspace/ are current (as rust-analyzer's
//! xtask does for its generated code: a stale file fails `cargo test`), and `--check`
//! reports a stale file with a diff while writing nothing.

use std::path::PathBuf;

use cargo_image::tasks::{dockerfile, DockerfileOptions, DockerfileOutcome};

fn example_manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../example-workspace/Cargo.toml")
}

#[test]
fn committed_example_files_are_current() {
    let opts = DockerfileOptions {
        manifest_path: example_manifest(),
        check: true,
        ..Default::default()
    };
    match dockerfile(&opts) {
        // The Dockerfile, .dockerignore, compose.yaml and the eight files of .cargo-image/.
        Ok(DockerfileOutcome::Checked(paths)) => assert_eq!(paths.len(), 11, "{paths:?}"),
        Ok(other) => panic!("unexpected outcome {other:?}"),
        Err(e) => panic!("{e:#}\n(run `cargo xtask dockerfile` and commit the result)"),
    }
}

#[test]
fn check_reports_a_stale_file_with_a_diff_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = example_manifest().parent().unwrap().to_path_buf();
    for entry in ["Cargo.toml", "Cargo.lock", "crates", "docker", "config"] {
        copy(&src.join(entry), &dir.path().join(entry));
    }
    let manifest = dir.path().join("Cargo.toml");
    let write = DockerfileOptions {
        manifest_path: manifest.clone(),
        ..Default::default()
    };
    dockerfile(&write).unwrap();
    let dockerfile_path = dir.path().join("Dockerfile");
    let edited = std::fs::read_to_string(&dockerfile_path)
        .unwrap()
        .replace("FROM deps AS build", "FROM deps AS built");
    std::fs::write(&dockerfile_path, &edited).unwrap();
    // The generated programs beside it are checked as well.
    let script_path = dir.path().join(".cargo-image/skeleton.sh");
    let script = std::fs::read_to_string(&script_path)
        .unwrap()
        .replace("set -eu", "set -u");
    std::fs::write(&script_path, &script).unwrap();

    let check = DockerfileOptions {
        manifest_path: manifest,
        check: true,
        ..Default::default()
    };
    let err = format!("{:#}", dockerfile(&check).unwrap_err());
    assert!(err.contains("stale"), "{err}");
    assert!(err.contains("-FROM deps AS built"), "{err}");
    assert!(err.contains("+FROM deps AS build"), "{err}");
    assert!(err.contains("skeleton.sh"), "{err}");
    assert!(err.contains("-set -u\n"), "{err}");
    assert_eq!(std::fs::read_to_string(&dockerfile_path).unwrap(), edited);
}

fn copy(from: &std::path::Path, to: &std::path::Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_name() != "target" {
                copy(&e.path(), &to.join(e.file_name()));
            }
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}
