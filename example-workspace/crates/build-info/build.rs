//! Records facts about the build as `BUILD_INFO_*` compile-time env vars,
//! read back with `env!` in `src/lib.rs`.
//!
//! Only inputs Cargo already provides are used (no git, no network, no
//! timestamp), so the output is reproducible and Docker layer caching works.

use std::env;
use std::process::Command;

fn main() {
    // Only re-run when this script changes. Cargo already rebuilds everything
    // when the toolchain, target or profile changes, so those are covered.
    println!("cargo:rerun-if-changed=build.rs");

    let target = env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    let host = env::var("HOST").unwrap_or_else(|_| "unknown".into());
    // PROFILE is "debug" or "release" (custom profiles map to their base).
    let profile = env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    let opt_level = env::var("OPT_LEVEL").unwrap_or_else(|_| "unknown".into());

    // RUSTC is the compiler Cargo is actually using, which may differ from
    // the first `rustc` on PATH (rustup overrides, wrappers).
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = Command::new(&rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());

    println!("cargo:rustc-env=BUILD_INFO_TARGET={target}");
    println!("cargo:rustc-env=BUILD_INFO_HOST={host}");
    println!("cargo:rustc-env=BUILD_INFO_PROFILE={profile}");
    println!("cargo:rustc-env=BUILD_INFO_OPT_LEVEL={opt_level}");
    println!("cargo:rustc-env=BUILD_INFO_RUSTC={rustc_version}");
}
