//! Version masking (DESIGN-NOTES.md §2, "Version bumps"): a release that bumps a member's
//! version, or the `[workspace.package]` version every member inherits, must leave the
//! skeleton and the whole dependency stage of the Dockerfile unchanged, so Docker keeps
//! every third-party crate cached.

// The fixture builder, shared with the end-to-end tests (the `e2e` crate in `tests/`).
#[path = "../../tests/support/mod.rs"]
mod support;

use cargo_image::plan::Plan;
use support::{Built, Fixture};

/// The line that starts the first build stage; everything before it must survive a bump.
const BUILD_STAGE: &str = "FROM deps AS build-layers-libs";

fn fixture() -> Built {
    Fixture::new("masking")
        .virtual_workspace(&["crates/app", "crates/base", "crates/versioned"])
        .workspace_toml(
            r#"[workspace.package]
version = "1.0.0"
edition = "2021"

[workspace.dependencies]
versioned = { path = "crates/versioned", version = "0.5.0" }
"#,
        )
        .package("crates/base", |p| p.lib())
        .package("crates/versioned", |p| p.version("0.5.0").lib())
        .package("crates/app", |p| {
            p.inherit(&["version", "edition"])
                .main()
                .dep_path("base", "../base")
                .dep("versioned", "{ workspace = true }")
        })
        .build()
}

/// The Dockerfile up to and including the first line of the build stage.
fn dependency_stages(plan: &Plan) -> String {
    let text = cargo_image::render::dockerfile::render(plan);
    let end = text
        .find(&format!("\n{BUILD_STAGE}\n"))
        .unwrap_or_else(|| panic!("no `{BUILD_STAGE}` line in:\n{text}"));
    text[..end + BUILD_STAGE.len() + 2].to_string()
}

/// Replaces `from` by `to` in a file of the fixture, checking that it was there.
fn edit(built: &Built, path: &str, from: &str, to: &str) {
    let text = built.read(path);
    assert!(text.contains(from), "`{from}` not in {path}:\n{text}");
    built.write(path, &text.replacen(from, to, 1));
}

fn assert_dependency_stages_unchanged(before: &Plan, after: &Plan) {
    assert_eq!(before.skeleton, after.skeleton, "the skeleton changed");
    let (a, b) = (dependency_stages(before), dependency_stages(after));
    if a != b {
        panic!(
            "the dependency stages changed:\n{}",
            cargo_image::artifacts::line_diff(&a, &b)
        );
    }
}

#[test]
fn bumping_a_member_version_keeps_the_dependency_stages() {
    let built = fixture();
    let (_, before) = built.plan();
    edit(
        &built,
        "crates/base/Cargo.toml",
        "version = \"0.1.0\"",
        "version = \"0.2.0\"",
    );
    built.relock();
    let (loaded, after) = built.plan();
    assert_eq!(loaded.workspace.package("base").unwrap().version, "0.2.0");
    assert_dependency_stages_unchanged(&before, &after);
}

#[test]
fn bumping_a_required_member_version_keeps_the_dependency_stages() {
    let built = fixture();
    let (_, before) = built.plan();
    // A bump of a member others require by version changes the requirement too.
    edit(
        &built,
        "crates/versioned/Cargo.toml",
        "\"0.5.0\"",
        "\"0.6.0\"",
    );
    edit(
        &built,
        "Cargo.toml",
        "version = \"0.5.0\"",
        "version = \"0.6.0\"",
    );
    built.relock();
    let (loaded, after) = built.plan();
    assert_eq!(
        loaded.workspace.package("versioned").unwrap().version,
        "0.6.0"
    );
    assert_dependency_stages_unchanged(&before, &after);
}

#[test]
fn bumping_the_workspace_version_keeps_the_dependency_stages() {
    let built = fixture();
    let (_, before) = built.plan();
    edit(
        &built,
        "Cargo.toml",
        "version = \"1.0.0\"",
        "version = \"1.1.0\"",
    );
    built.relock();
    let (_, after) = built.plan();
    // The shipped binary carries the new version (labels, tags) ...
    assert_eq!(after.images[0].version, "1.1.0");
    assert_ne!(
        cargo_image::render::dockerfile::render(&before),
        cargo_image::render::dockerfile::render(&after)
    );
    // ... while nothing the dependency stages depend on changed.
    assert_dependency_stages_unchanged(&before, &after);
}
