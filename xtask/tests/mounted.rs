//! This repository's xtask is a user of cargo-image that mounts its commands beside one of
//! its own: both answer, and the mounted ones target `example-workspace/` by default (a
//! setting of this xtask, not of the library). The bench is the `bench` crate, which the
//! xtask runs through cargo; its own run is `bench/tests/bench_smoke.rs`.

use std::process::Command;

fn xtask(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("running the xtask binary");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn mounted_and_own_commands_both_answer() {
    let (ok, help, err) = xtask(&["--help"]);
    assert!(ok, "{err}");
    for command in ["init", "plan", "dockerfile", "image", "bake", "ci", "bench"] {
        assert!(
            help.lines().any(|l| l.trim_start().starts_with(command)),
            "`{command}` missing from:\n{help}"
        );
    }
    // `bench --help` is the bench crate's own help, reached through `cargo run`.
    let (ok, bench_help, err) = xtask(&["bench", "--help"]);
    assert!(
        ok && bench_help.contains("--variants") && bench_help.contains("cargo xtask bench"),
        "{bench_help}{err}"
    );
}

#[test]
fn mounted_commands_default_to_the_example_workspace() {
    // Run from elsewhere: the default comes from this xtask's setting, not the directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("plan")
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let bins: Vec<&str> = plan["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["bin"].as_str().unwrap())
        .collect();
    assert!(bins.contains(&"product-api"), "{bins:?}");
}
