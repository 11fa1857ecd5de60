//! Errors at the library boundary: each case asserts the typed [`cargo_image::Error`] variant,
//! that the message says how to fix it, and that reading and planning wrote no file.

// The fixture builder, shared with the end-to-end tests (the `e2e` crate in `tests/`).
#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::Path;

use cargo_image::plan::PlanOptions;
use cargo_image::Error;
use support::{fixed_options, Built, Fixture};

/// Loads the fixture expecting an error; asserts that the sandbox is byte-for-byte what it
/// was before.
fn load_err(built: &Built, opts: &PlanOptions) -> Error {
    let before = built.files();
    let result = built.load(opts);
    let after = built.files();
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "reading the workspace created or removed files"
    );
    assert!(before == after, "reading the workspace changed a file");
    match result {
        Ok(_) => panic!(
            "expected an error, but {} planned",
            built.manifest.display()
        ),
        Err(e) => e
            .downcast_ref::<Error>()
            .unwrap_or_else(|| panic!("not an cargo_image::Error: {e:#}"))
            .clone(),
    }
}

fn same_file(a: &str, b: &Path) -> bool {
    Path::new(a).canonicalize().ok() == b.canonicalize().ok()
}

/// Whether `shown` names `file`: absolutely (errors from reading) or relative to the build
/// context (errors from the pure planner, which knows no absolute paths).
fn names_file(shown: &str, in_context: &str, file: &Path) -> bool {
    shown == in_context || same_file(shown, file)
}

#[test]
fn no_binaries() {
    let built = Fixture::new("nobins")
        .virtual_workspace(&["crates/a", "crates/b"])
        .package("crates/a", |p| p.lib().example("demo"))
        .package("crates/b", |p| p.lib().dep_path("a", "../a"))
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::NoBinaries { workspace } = &err else {
        panic!("expected NoBinaries, got {err:?}");
    };
    assert!(
        names_file(workspace, "Cargo.toml", &built.manifest),
        "{workspace}"
    );
    assert!(
        err.to_string()
            .contains("add a `src/main.rs` or a `[[bin]]`"),
        "{err}"
    );
}

#[test]
fn every_binary_skipped_says_so() {
    let built = Fixture::new("allskipped")
        .virtual_workspace(&["crates/a", "crates/b"])
        .package("crates/a", |p| {
            p.main().toml("[package.metadata.image]\nskip = true\n")
        })
        .package("crates/b", |p| {
            p.main().toml("[package.metadata.image]\nskip = true\n")
        })
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::EveryBinarySkipped { skipped, .. } = &err else {
        panic!("expected EveryBinarySkipped, got {err:?}");
    };
    assert_eq!(skipped, &["`a`: `skip = true`", "`b`: `skip = true`"]);
    assert!(err.to_string().contains("set `skip = false`"), "{err}");
    assert!(!err.to_string().contains("src/main.rs"), "{err}");
}

/// A workspace whose only binary is its xtask (loco's root, whose starters are separate
/// workspaces) says it skipped it by default, not that a `skip = true` it never wrote did.
#[test]
fn a_workspace_of_only_an_xtask_says_why_it_was_skipped() {
    let built = Fixture::new("onlyxtask")
        .virtual_workspace(&["lib", "xtask"])
        .package("lib", |p| p.lib())
        .package("xtask", |p| p.main())
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::EveryBinarySkipped { skipped, .. } = &err else {
        panic!("expected EveryBinarySkipped, got {err:?}");
    };
    assert_eq!(
        skipped,
        &["`xtask`: package `xtask`, the workspace's build tool"]
    );
    assert!(!err.to_string().contains("skip = true"), "{err}");
}

/// Two packages with a binary `api`: cargo builds both to one file, so an image would ship
/// either. Chosen by default, those images are left out with a note naming both manifests
/// (actix/examples: two such pairs among 73 binaries); chosen by `--bin`, or when nothing
/// else is left, refused. `Api` and `api` would share a Dockerfile stage.
#[test]
fn binaries_that_would_share_a_file_or_a_stage_are_refused() {
    let built = Fixture::new("dupbins")
        .virtual_workspace(&["crates/a", "crates/b", "crates/c"])
        .package("crates/a", |p| p.bin("api"))
        .package("crates/b", |p| p.bin("api"))
        .package("crates/c", |p| p.bin("worker"))
        .build();
    let said = "`api` by `a` (crates/a/Cargo.toml) and `b` (crates/b/Cargo.toml); cargo builds \
                both to the same file, so one image would ship the other's binary";
    let (_, plan) = built.plan();
    let bins: Vec<&str> = plan.images.iter().map(|i| i.bin.as_str()).collect();
    assert_eq!(bins, ["worker"]);
    assert!(
        plan.notes.iter().any(|n| n
            == &format!(
                "binaries defined twice: {said}: their images are not built; rename one \
                 (`[[bin]] name = \"…\"`) to build them"
            )),
        "{:?}",
        plan.notes
    );
    let chosen = PlanOptions {
        bins: vec!["api".into()],
        ..fixed_options()
    };
    let text = load_err(&built, &chosen).to_string();
    assert!(
        text.contains(&format!(
            "binary `api` is defined twice: {said}: rename one"
        )),
        "{text}"
    );
    let built = Fixture::new("dupbinsonly")
        .virtual_workspace(&["crates/a", "crates/b"])
        .package("crates/a", |p| p.bin("api"))
        .package("crates/b", |p| p.bin("api"))
        .build();
    let text = load_err(&built, &fixed_options()).to_string();
    assert!(
        text.contains(&format!("binaries defined twice: {said}")),
        "{text}"
    );

    let built = Fixture::new("casebins")
        .virtual_workspace(&["crates/a", "crates/b"])
        .package("crates/a", |p| p.bin("Api"))
        .package("crates/b", |p| p.bin("api"))
        .build();
    let text = load_err(&built, &fixed_options()).to_string();
    assert!(
        text.contains("would both get the Dockerfile stage `api`"),
        "{text}"
    );
}

/// Names Docker refuses are made ones it takes, and said: a capital in the repository
/// (from the binary's name) is lowercased, build metadata's `+` in a version becomes `_`;
/// a template that still gives no valid reference is refused.
#[test]
fn image_names_follow_dockers_grammar() {
    let built = Fixture::new("names")
        .virtual_workspace(&["crates/a"])
        .package("crates/a", |p| p.version("1.2.0+build.5").bin("MyApp"))
        .build();
    let (_, plan) = built.load(&fixed_options()).unwrap();
    let image = &plan.images[0];
    assert_eq!(image.stage, "myapp");
    assert_eq!(image.tags, ["myapp:1.2.0_build.5", "myapp:latest"]);
    assert!(
        image.notes[0].contains("tagged `myapp:1.2.0_build.5`, not `MyApp:1.2.0+build.5`"),
        "{:?}",
        image.notes
    );

    let built = Fixture::new("badtag")
        .root_package("svc", |p| p.main())
        .workspace_toml("[workspace.metadata.image]\ntags = [\"{bin}:.{version}\"]\n")
        .build();
    let text = load_err(&built, &fixed_options()).to_string();
    assert!(
        text.contains("key `tags`: `{bin}:.{version}` gives `svc:.0.1.0`"),
        "{text}"
    );
}

#[test]
fn unknown_bin_lists_the_available_ones() {
    let built = Fixture::new("unknownbin")
        .virtual_workspace(&["crates/svc"])
        .package("crates/svc", |p| p.bin("beta").bin("alpha"))
        .build();
    let opts = PlanOptions {
        bins: vec!["nope".into()],
        ..fixed_options()
    };
    let err = load_err(&built, &opts);
    assert_eq!(
        err,
        Error::UnknownBin {
            name: "nope".into(),
            available: vec!["alpha".into(), "beta".into()],
        }
    );
    assert!(err.to_string().contains("available: alpha, beta"), "{err}");
}

#[test]
fn missing_lockfile_is_not_created() {
    let built = Fixture::new("nolock")
        .virtual_workspace(&["crates/app"])
        .package("crates/app", |p| p.main())
        .no_lockfile()
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::MissingLockfile { workspace } = &err else {
        panic!("expected MissingLockfile, got {err:?}");
    };
    assert!(same_file(workspace, &built.manifest), "{workspace}");
    assert!(
        err.to_string().contains("run `cargo generate-lockfile`"),
        "{err}"
    );
    assert!(!built.root.join("Cargo.lock").exists());
}

/// A member in a git submodule the clone left out (rustdesk-server's `libs/hbb_common`,
/// cloned without `--recursive`): cargo's error, and the submodule with the command that
/// fetches it.
#[test]
fn a_member_in_a_submodule_not_checked_out_names_the_submodule() {
    let built = Fixture::new("submodule")
        .virtual_workspace(&["crates/app", "libs/common"])
        .package("crates/app", |p| p.main())
        .file(
            ".gitmodules",
            "[submodule \"libs/common\"]\n\tpath = libs/common\n\turl = https://example.com/common\n",
        )
        .no_lockfile()
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::MissingSubmodule { submodules, .. } = &err else {
        panic!("expected MissingSubmodule, got {err:?}");
    };
    assert_eq!(submodules, &["libs/common"]);
    let said = err.to_string();
    assert!(
        said.contains("libs/common/Cargo.toml")
            && said.contains("the git submodule `libs/common` is not checked out")
            && said.contains("git submodule update --init --recursive"),
        "{said}"
    );
}

/// A workspace pinning a toolchain this machine lacks is read with the caller's: when that
/// fails too, the error is the second run's (meilisearch's: a git dependency on a host
/// this machine cannot reach; a manifest cargo cannot parse), not the pin that made the
/// retry, whether cargo reads the workspace or finds it. Run as a user runs it,
/// with a plain environment: `cargo test` sets `RUSTUP_TOOLCHAIN` and `CARGO`, with which
/// the first run uses the caller's toolchain already.
#[test]
fn a_failure_after_the_toolchain_retry_is_the_one_shown() {
    let built = Fixture::new("pinnedbroken")
        .virtual_workspace(&["crates/app", "crates/gone"])
        .file("rust-toolchain.toml", "[toolchain]\nchannel = \"1.70.0\"\n")
        .package("crates/app", |p| p.main())
        .no_lockfile()
        .build();
    // Named by `--manifest-path` (read by `cargo metadata`), and found from the current
    // directory (`cargo locate-project`).
    for by_path in [true, false] {
        let err = plan_as_a_user_would(&built, by_path);
        assert!(
            err.contains("crates/gone") && !err.contains("toolchain '1.70.0"),
            "{by_path}: {err}"
        );
        assert!(
            err.contains("(cargo ran with RUSTUP_TOOLCHAIN="),
            "{by_path}: {err}"
        );
    }
    // A manifest cargo cannot parse: finding the workspace fails after the retry too.
    std::fs::write(&built.manifest, "[workspace\n").expect("write manifest");
    let err = plan_as_a_user_would(&built, false);
    assert!(
        err.contains("Cargo.toml") && !err.contains("toolchain '1.70.0"),
        "{err}"
    );
    assert!(err.contains("(cargo ran with RUSTUP_TOOLCHAIN="), "{err}");
}

/// `cargo image plan` in the workspace's directory (with `--manifest-path` when
/// `by_path`), in a plain environment: the error it prints, after checking it failed.
fn plan_as_a_user_would(built: &Built, by_path: bool) -> String {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-image"));
    command.args(["image", "plan"]).current_dir(&built.root);
    if by_path {
        command.arg("--manifest-path").arg(&built.manifest);
    }
    let out = command
        .env_clear()
        .envs(std::env::vars().filter(|(k, _)| {
            ["PATH", "HOME", "RUSTUP_HOME", "CARGO_HOME", "TMPDIR"].contains(&k.as_str())
        }))
        // Never install the pinned toolchain (rustup would, where auto-install is on).
        .env("RUSTUP_AUTO_INSTALL", "0")
        .output()
        .expect("run cargo-image");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{err}");
    err
}

#[test]
fn unknown_config_key_names_manifest_and_key() {
    let built = Fixture::new("unknownkey")
        .virtual_workspace(&["crates/app"])
        .workspace_toml("[workspace.metadata.image]\nruntme = \"scratch\"\n")
        .package("crates/app", |p| p.main())
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::InvalidConfig { manifest, message } = &err else {
        panic!("expected InvalidConfig, got {err:?}");
    };
    assert!(same_file(manifest, &built.manifest), "{manifest}");
    assert!(message.contains("runtme"), "{message}");
    let shown = err.to_string();
    assert!(shown.contains(manifest.as_str()), "{shown}");
    assert!(
        shown.contains("README.md (section Configuration)"),
        "{shown}"
    );
}

#[test]
fn wrong_config_type_names_manifest_and_key() {
    let built = Fixture::new("wrongtype")
        .virtual_workspace(&["crates/app"])
        .package("crates/app", |p| {
            p.main()
                .toml("[package.metadata.image]\nports = \"8080\"\n")
        })
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::InvalidConfig { manifest, message } = &err else {
        panic!("expected InvalidConfig, got {err:?}");
    };
    assert!(
        same_file(manifest, &built.root.join("crates/app/Cargo.toml")),
        "{manifest}"
    );
    assert!(message.contains("ports"), "{message}");
    let shown = err.to_string();
    assert!(shown.contains(manifest.as_str()), "{shown}");
    assert!(
        shown.contains("README.md (section Configuration)"),
        "{shown}"
    );
}

/// A value over several lines (found by config_fuzz.rs): the line TOML's error quotes lacks
/// the key, so the message names it.
#[test]
fn a_wrong_type_in_a_multi_line_value_names_the_key() {
    let built = Fixture::new("multiline")
        .root_package("svc", |p| p.main())
        .workspace_toml("[workspace.metadata.image]\nbuild-packages = [\"\"\"\nclang\"\"\", 0]\n")
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::InvalidConfig { message, .. } = &err else {
        panic!("expected InvalidConfig, got {err:?}");
    };
    assert!(
        message.contains("(key `workspace.metadata.image.build-packages`)"),
        "{message}"
    );
}

#[test]
fn manifest_not_found() {
    let built = Fixture::new("present")
        .virtual_workspace(&["crates/app"])
        .package("crates/app", |p| p.main())
        .build();
    let missing = built.sandbox.join("absent/Cargo.toml");
    let before = built.files();
    let err = cargo_image::tasks::load(&missing, &fixed_options()).unwrap_err();
    assert_eq!(before, built.files(), "reading wrote a file");
    let err = err
        .downcast_ref::<Error>()
        .expect("an cargo_image::Error")
        .clone();
    assert_eq!(
        err,
        Error::ManifestNotFound {
            path: missing.display().to_string()
        }
    );
    assert!(err.to_string().contains("--manifest-path"), "{err}");
    assert!(!missing.parent().unwrap().exists());

    // A directory (`--manifest-path zola`) names its Cargo.toml.
    let dir = built.root.join("crates/app");
    let err = cargo_image::tasks::load(&dir, &fixed_options()).unwrap_err();
    let err = err.downcast_ref::<Error>().expect("an cargo_image::Error");
    assert_eq!(
        err.to_string(),
        format!(
            "`{}` is a directory; `--manifest-path` takes a Cargo.toml: pass `--manifest-path {}`",
            dir.display(),
            dir.join("Cargo.toml").display()
        )
    );
}

#[test]
fn path_dependency_outside_the_context_is_unreachable() {
    let built = Fixture::new("ws")
        .virtual_workspace(&["crates/app"])
        .package("crates/app", |p| {
            p.main().dep_path("outside", "../../../vendor/outside")
        })
        .package("../vendor/outside", |p| p.lib())
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::UnreachablePath {
        package,
        path,
        context,
    } = &err
    else {
        panic!("expected UnreachablePath, got {err:?}");
    };
    assert_eq!(package, "outside");
    assert!(
        same_file(path, &built.sandbox.join("vendor/outside")),
        "{path}"
    );
    assert!(same_file(context, &built.root), "{context}");
    assert!(err.to_string().contains("context = \"..\""), "{err}");
}

/// `context` may reach above the workspace, within the repository (a monorepo's shared
/// crates), but not above the repository, nor be the file system's root.
#[test]
fn a_context_outside_the_repository_or_at_the_root_is_refused() {
    let built = Fixture::new("ctxrepo")
        .root_package("svc", |p| p.main())
        .workspace_toml("[workspace.metadata.image]\ncontext = \"..\"\n")
        .build();
    std::fs::create_dir_all(built.root.join(".git")).unwrap();
    let err = load_err(&built, &fixed_options());
    assert!(
        err.to_string().contains("is outside the repository"),
        "{err}"
    );

    let depth = built.root.components().count();
    let built = Fixture::new("ctxroot")
        .root_package("svc", |p| p.main())
        .workspace_toml(&format!(
            "[workspace.metadata.image]\ncontext = \"{}\"\n",
            vec![".."; depth].join("/")
        ))
        .build();
    let err = load_err(&built, &fixed_options());
    assert!(
        err.to_string().contains("is the file system's root"),
        "{err}"
    );
}

/// A workspace key in a member's table is reported in that member's manifest, saying
/// where the key belongs.
#[test]
fn a_workspace_key_in_a_package_table_names_its_place() {
    let built = Fixture::new("misplaced")
        .virtual_workspace(&["crates/a"])
        .package("crates/a", |p| {
            p.main()
                .toml("[package.metadata.image]\nbuild-packages = [\"clang\"]\n")
        })
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::InvalidConfig { manifest, message } = &err else {
        panic!("expected InvalidConfig, got {err:?}");
    };
    assert!(manifest.ends_with("crates/a/Cargo.toml"), "{manifest}");
    assert!(
        message
            .contains("`build-packages` is a workspace key: it goes in [workspace.metadata.image]"),
        "{message}"
    );
}

/// A single-package project (no `[workspace]` table) has one table: its
/// `[package.metadata.image]` takes the workspace keys too (the refusal above says so).
#[test]
fn a_single_package_projects_table_takes_the_workspace_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"solo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [package.metadata.image]\nruntime = \"debian-slim\"\nbuilder = \"rust:1.85.0-slim-bookworm\"\n\
         build-env = { SQLX_OFFLINE = \"true\" }\nbuild-packages = [\"protobuf-compiler\"]\n\n\
         [package.metadata.image.bin.solo]\nports = [8080]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"solo\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let load = || {
        cargo_image::tasks::load(&dir.path().join("Cargo.toml"), &PlanOptions::default())
            .unwrap_or_else(|e| panic!("{e:#}"))
            .1
    };
    let plan = load();
    assert_eq!(plan.builder, "rust:1.85.0-slim-bookworm");
    assert_eq!(plan.build_env["SQLX_OFFLINE"], "true");
    assert!(plan
        .build
        .build_packages
        .contains(&"protobuf-compiler".to_string()));
    let image = &plan.images[0];
    assert_eq!(image.runtime.keyword(), Some("debian-slim"));
    assert_eq!(image.ports, [8080]);

    // So a note's fix for a workspace key names that table (hyperfine's compile-time
    // `SHELL_COMPLETIONS_DIR`), not a `[workspace.metadata.image]` it has not got.
    std::fs::write(
        dir.path().join("build.rs"),
        "fn main() { let _ = std::env::var(\"SHELL_COMPLETIONS_DIR\"); }\n",
    )
    .unwrap();
    let plan = load();
    let note = plan
        .notes
        .iter()
        .find(|n| n.contains("SHELL_COMPLETIONS_DIR"))
        .unwrap_or_else(|| panic!("{:?}", plan.notes));
    assert!(
        note.ends_with("under [package.metadata.image] in Cargo.toml"),
        "{note}"
    );
}

/// A musl runtime (Alpine) implies `libc = "musl"`: the binary builds for the musl target
/// (static by itself), with musl-gcc in the builder for C code; the glibc build is left
/// without binaries, and nothing asks the builder for a glibc target.
#[test]
fn an_alpine_runtime_builds_its_binary_against_musl() {
    let built = Fixture::new("alpine")
        .root_package("svc", |p| p.main())
        .workspace_toml("[workspace.metadata.image]\nruntime = \"alpine:3.20\"\n")
        .build();
    let (_, plan) = built.plan();
    assert_eq!(plan.images[0].libc, cargo_image::plan::Libc::Musl);
    assert_eq!(plan.build.musl_bins, ["svc"]);
    assert!(!plan.build.static_link);
    assert!(plan.build.dynamic_bins.is_empty());
    assert!(!plan.images[0].extras.shared_libs);
    assert!(plan
        .build
        .build_packages
        .contains(&"musl-tools".to_string()));
    let script = cargo_image::render::scripts::cargo_image_script(&plan);
    assert!(
        script.contains("--target \"$(rust_target musl)\" --workspace --bin svc"),
        "{script}"
    );
    assert!(!script.contains("export RUSTFLAGS"), "{script}");
    assert!(script.contains("libcs=\"musl\""), "{script}");
    assert!(script.contains("musl=\" svc \""), "{script}");
}

/// `libc = "musl"` beside glibc images: a third cargo command, for the musl target, and
/// both standard libraries checked.
#[test]
fn a_musl_binary_beside_glibc_ones_gets_a_command_of_its_own() {
    let built = Fixture::new("musl-beside")
        .root_package("svc", |p| {
            p.main()
                .bin("tool")
                .toml("[package.metadata.image.bin.tool]\nlibc = \"musl\"\n")
        })
        .workspace_toml("[workspace.metadata.image]\nruntime = \"scratch\"\n")
        .build();
    let (_, plan) = built.plan();
    assert_eq!(plan.build.musl_bins, ["tool"]);
    assert!(plan.build.static_link);
    let script = cargo_image::render::scripts::cargo_image_script(&plan);
    assert!(
        script.contains("--target \"$(rust_target)\" --workspace --bin svc"),
        "{script}"
    );
    assert!(
        script.contains("--target \"$(rust_target musl)\" --workspace --bin tool"),
        "{script}"
    );
    assert!(script.contains("libcs=\"gnu musl\""), "{script}");
}

#[test]
fn a_needed_source_left_out_by_dockerignore_names_the_rule() {
    let built = Fixture::new("ignored")
        .root_package("svc", |p| p.main())
        .file(".dockerignore", "# ours\n*.md\nsrc\n")
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::ExcludedFromContext { path, rule, .. } = &err else {
        panic!("expected ExcludedFromContext, got {err:?}");
    };
    assert_eq!((path.as_str(), rule.as_str()), ("src/main.rs", "src"));
    assert!(err.to_string().contains("add `!src/main.rs`"), "{err}");
}

/// A root package compiles from the context root, each entry bound by name. An entry a
/// bind mount cannot carry (a space, a `,`, non-ASCII: BuildKit looked `README.中文.md` up
/// as `README.ä¸­æ–‡.md`, as in casey/just) that holds no source is left out of the compile
/// steps with a note, which a `.dockerignore` rule for it silences; a directory holding a
/// target's source is refused before the build, with the fix.
#[test]
fn a_root_entry_no_bind_mount_can_carry_is_left_out_unless_it_holds_sources() {
    for (name, shown) in [
        ("README.中文.md", "`README.中文.md` left out"),
        ("release notes.md", "`release notes.md` left out"),
        ("a,b.txt", "`a,b.txt` left out"),
    ] {
        let built = Fixture::new("unbindable")
            .root_package("svc", |p| p.main())
            .file(name, "x\n")
            .build();
        let (_, plan) = built.plan();
        assert!(
            plan.notes.len() == 1 && plan.notes[0].contains(shown),
            "{:?}",
            plan.notes
        );
        assert!(
            plan.local_dirs.iter().any(|d| d == "src")
                && !plan.local_dirs.iter().any(|d| d == name),
            "{:?}",
            plan.local_dirs
        );

        let ignored = Fixture::new("unbindable-ignored")
            .root_package("svc", |p| p.main())
            .file(name, "x\n")
            .file(".dockerignore", &format!("{name}\n"))
            .build();
        let (_, plan) = ignored.plan();
        assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    }

    let built = Fixture::new("unbindable-source")
        .root_package("svc", |p| p.target("bin", "svc", "my tool/main.rs"))
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::UnbindablePath {
        package,
        manifest,
        path,
        ..
    } = &err
    else {
        panic!("expected UnbindablePath, got {err:?}");
    };
    assert_eq!((package.as_str(), path.as_str()), ("svc", "my tool"));
    assert!(
        names_file(manifest, "Cargo.toml", &built.manifest),
        "{manifest}"
    );
    let text = err.to_string();
    assert!(
        text.contains("holds ' '") && text.contains("rename it"),
        "{text}"
    );
}

/// The generated `.cargo-image/` beside the Dockerfile, and the user's rules: a member glob
/// that would take it in, or an ignore rule that keeps it out of the context.
#[test]
fn the_generated_directory_is_neither_a_member_nor_ignored() {
    let built = Fixture::new("globstar")
        .virtual_workspace(&["*"])
        .package("svc", |p| p.main())
        .build();
    let err = load_err(&built, &fixed_options());
    let Error::InvalidConfig { manifest, message } = &err else {
        panic!("expected InvalidConfig, got {err:?}");
    };
    assert!(same_file(manifest, &built.manifest), "{manifest}");
    assert!(message.contains("the pattern `*`"), "{message}");
    assert!(
        message.contains("exclude = [\".cargo-image\"]"),
        "{message}"
    );

    // A user's rule that would leave it out (`.*` for dotfiles, `*` of an allow-list) is
    // followed by the generated re-include: the workspace plans.
    for rules in [".*\n", "*\n!src\n!Cargo.toml\n!Cargo.lock\n"] {
        let built = Fixture::new("hidden")
            .root_package("svc", |p| p.main())
            .file(".dockerignore", rules)
            .build();
        if let Err(e) = built.load(&fixed_options()) {
            panic!("{rules:?}: {e:#}");
        }
    }
}

#[test]
fn a_build_file_that_does_not_exist_is_refused() {
    let built = Fixture::new("nobuildfile")
        .root_package("svc", |p| p.main())
        .workspace_toml("[workspace.metadata.image]\nbuild-files = [\"proto\"]\n")
        .build();
    let err = load_err(&built, &fixed_options());
    assert!(
        err.to_string()
            .contains("key `build-files`: `proto` does not exist"),
        "{err}"
    );
}

#[test]
fn runtime_keys_are_checked_at_plan_time() {
    for (key, value, expected) in [
        (
            "runtime-packages",
            "[\"libssl3:arm64\"]",
            "not a Debian package name",
        ),
        (
            "files",
            "{ \"conf\" = \"relative/path\" }",
            "must be an absolute path in the image",
        ),
        (
            "workdir",
            "\"app\"",
            "key `workdir`: `app` must be an absolute path",
        ),
        (
            "volumes",
            "[\"/data\", \"data\"]",
            "key `volumes`: `data` must be an absolute path",
        ),
        (
            "stop-signal",
            "\"INT\"",
            "key `stop-signal`: `INT` is not a signal",
        ),
        ("entrypoint", "[]", "key `entrypoint`: give the program"),
    ] {
        let built = Fixture::new("runtimekeys")
            .root_package("svc", |p| p.main())
            .file("conf/app.toml", "x = 1\n")
            .workspace_toml(&format!("[workspace.metadata.image]\n{key} = {value}\n"))
            .build();
        let err = load_err(&built, &fixed_options());
        assert!(err.to_string().contains(expected), "{key}: {err}");
    }
}

#[test]
fn runtime_packages_on_an_image_without_apt_are_refused() {
    let built = Fixture::new("alpinepkgs")
        .root_package("svc", |p| p.main())
        .workspace_toml(
            "[workspace.metadata.image]\nruntime = \"alpine:3.20\"\nruntime-packages = [\"zlib1g\"]\n",
        )
        .build();
    let err = load_err(&built, &fixed_options());
    assert!(err.to_string().contains("has no apt"), "{err}");
}

#[test]
fn an_appended_stage_that_clashes_with_a_generated_one_is_refused() {
    let built = Fixture::new("appendclash")
        .root_package("svc", |p| p.main())
        .file(
            "extra.Dockerfile",
            "FROM svc AS debug\nFROM scratch AS svc\n",
        )
        .workspace_toml("[workspace.metadata.image]\ndockerfile-append = \"extra.Dockerfile\"\n")
        .build();
    let err = load_err(&built, &fixed_options());
    assert!(
        err.to_string()
            .contains("declares the stage `svc`, which the generated Dockerfile has"),
        "{err}"
    );
}

/// Bad values refused at plan time, each naming the key and the fix: (key = value, message).
#[test]
fn bad_values_are_refused_with_the_key_and_the_fix() {
    let rows: &[(&str, &str)] = &[
        ("user = \"0\"", "runs as root"),
        ("user = \"00\"", "runs as root"),
        ("user = \"0000:1000\"", "runs as root"),
        ("user = \" 0\"", "is not `uid[:gid]`"),
        ("user = \"1000 1000\"", "is not `uid[:gid]`"),
        ("user = \"1000:abc def\"", "is not `uid[:gid]`"),
        ("user = \"-1\"", "is not `uid[:gid]`"),
        ("user = \"root\"", "runs as root"),
        (
            "healthcheck = { http = \"/h\", port = 8080, interval = \"30\" }",
            "`30` is not a duration",
        ),
        (
            "healthcheck = { http = \"/h\", port = 8080, timeout = \"10 s\" }",
            "`10 s` is not a duration",
        ),
        (
            "healthcheck = { http = \"/h\", port = 8080, start-period = \"\" }",
            "is not a duration",
        ),
        (
            "healthcheck = { http = \"/h\", port = 0 }",
            "0 is not a port",
        ),
        ("healthcheck = \"health\"", "use \"none\", an HTTP path"),
        ("healthcheck = \"/health\"", "an HTTP healthcheck needs a port"),
        (
            "healthcheck = { cmd = [\"curl\", \"-f\", \"localhost\"] }",
            "`curl` is not in a distroless-cc image",
        ),
        ("ports = [0]", "key `ports`: 0 is not a port"),
        ("ports = [8080, 8080]", "8080 is listed twice"),
        ("ports = [\"53/udp\", \"53/udp\"]", "53/udp is listed twice"),
        ("ports = [70000]", "70000 is not a port; use 1-65535"),
        (
            "ports = [\"53/sctp\"]",
            "`53/sctp` is not a port: 8080, \"8080/tcp\" or \"53/udp\"",
        ),
        (
            "ports = [\"53/udp\"]\nhealthcheck = \"/health\"",
            "an HTTP healthcheck needs a port (or a TCP port in `ports`)",
        ),
        ("max-layers = 500", "above 100"),
        ("runtime = \"\"", "neither a runtime keyword"),
        ("runtime = \"My Image\"", "neither a runtime keyword"),
        (
            "base-images = { distroles-cc = \"x/cc:1\" }",
            "`distroles-cc` is not a runtime keyword",
        ),
        (
            "base-images = { distroless-cc = \"\" }",
            "is not an image reference",
        ),
        ("builder = \"Rust:Latest\"", "key `builder`"),
        (
            "env = { \"MY VAR\" = \"1\" }",
            "`MY VAR` is not a variable name",
        ),
        ("env = { \"A=B\" = \"1\" }", "`A=B` is not a variable name"),
        (
            "run-env = [\"DB URL\"]",
            "key `run-env`: `DB URL` is not a variable name",
        ),
        (
            "run-env = [\"TOKEN\"]\nenv = { TOKEN = \"x\" }",
            "key `run-env`: `TOKEN` is in `env` too",
        ),
        ("build-env = { \"1X\" = \"1\" }", "key `build-env`: `1X`"),
        ("build-packages = [\"Clang\"]", "not a Debian package name"),
        ("profile = \"fast\"", "defines no profile `fast`"),
        (
            "dev = { profile = \"quick\" }",
            "key `dev.profile`: the workspace defines no profile `quick`",
        ),
        (
            "features = [\"turbo\"]",
            "package `svc` defines no feature `turbo`",
        ),
        (
            "features = [\"svc/turbo\"]",
            "package `svc` defines no feature `turbo`",
        ),
        // Found by config_fuzz.rs: values a Dockerfile cannot carry as the user wrote them.
        (
            "env = { A = \"line 1\\nline 2\" }",
            "key `env`: the value of `A` holds the control character U+000A (a line break)",
        ),
        (
            "build-env = { A = \"\\t\" }",
            "key `build-env`: the value of `A` holds the control character U+0009",
        ),
        (
            "labels = { \"a\" = \"x\\\\\" }",
            "key `labels`: the value of `a` ends with `\\`",
        ),
        (
            "workdir = \"/srv/$APP\"",
            "key `workdir`: `/srv/$APP` holds `$`",
        ),
        (
            "volumes = [\"/data/\\\"x\\\"\"]",
            "holds `\"`, which Docker's VOLUME interprets",
        ),
        (
            "files = { \"conf/my conf\" = \"/app/conf\" }",
            "key `files`: `conf/my conf` holds ' ', which a bind mount of the Dockerfile cannot carry",
        ),
        (
            "build-files = [\"conf/a,b\"]",
            "key `build-files`: `conf/a,b` holds ','",
        ),
        (
            "build-files = [\"conf/ü\"]",
            "key `build-files`: `conf/ü` holds 'ü', which a bind mount of the Dockerfile cannot carry (BuildKit reads a non-ASCII mount source as Latin-1",
        ),
        (
            "registry = \"\"",
            "key `registry`: `` is not a registry and repository prefix",
        ),
        (
            "builder = \"rust:latest\"",
            "key `builder`: `rust:latest` names no version (`latest`)",
        ),
        (
            "runtime = \"alpine\"",
            "key `runtime`: `alpine` names no version (no tag)",
        ),
        ("args = [\"a\\\\\"]", "key `args`: `a\\` ends with `\\`"),
        (
            "env = { A = \"a\\\\\" }",
            "key `env`: the value of `A` ends with `\\`",
        ),
        (
            "base-images = { debian-slim = \"debian\" }",
            "key `base-images.debian-slim`: `debian` names no version",
        ),
        (
            "build-args = [\"GIT SHA\"]",
            "key `build-args`: `GIT SHA` is not a variable name",
        ),
        (
            "build-args = [\"TARGETARCH\"]",
            "key `build-args`: `TARGETARCH` is an argument the generated Dockerfile or BuildKit sets itself",
        ),
        (
            "build-args = [\"CHANNEL=beta\"]",
            "or set a fixed value in `build-env`",
        ),
        ("build-args = [\"A\", \"A\"]", "key `build-args`: `A` is listed twice"),
        (
            "build-args = [\"A\"]\nbuild-env = { A = \"1\" }",
            "key `build-args`: `A` is set in `build-env` too",
        ),
        (
            "git = true",
            "key `git`: no git repository at or above the workspace",
        ),
        (
            "ssh = true\nssh-known-hosts = [\"git.example.com\"]",
            "key `ssh-known-hosts`: `git.example.com` is not a known_hosts line",
        ),
        (
            "ssh-known-hosts = [\"git.example.com ssh-ed25519 AAAA\"]",
            "key `ssh-known-hosts`: no step fetches over SSH",
        ),
        (
            "runtime = \"alpine:3.20\"\nstatic = false",
            "key `static`: `svc` runs on `alpine:3.20`, a musl image",
        ),
        (
            "runtime = \"alpine:3.20\"\nlibc = \"gnu\"",
            "key `libc`: `svc` runs on `alpine:3.20`, a musl image, but is built against glibc",
        ),
        (
            "libc = \"glibc\"",
            "key `libc`: `glibc` is neither `gnu` (glibc, the default) nor `musl`",
        ),
        (
            "libc = \"musl\"\nstatic = false",
            "key `static`: `svc` says `libc = \"musl\"`, and a musl binary links statically",
        ),
        (
            "registry-tokens = [\"my registry\"]",
            "key `registry-tokens`: `my registry` is not a registry name",
        ),
        (
            "registry-tokens = [\"co\", \"co\"]",
            "key `registry-tokens`: `co` is listed twice",
        ),
    ];
    for (line, expected) in rows {
        let built = Fixture::new("badvalue")
            .root_package("svc", |p| p.main())
            // Files that exist, so that the reader passes them to the planner.
            .file("conf/my conf", "x = 1\n")
            .file("conf/a,b", "")
            .file("conf/ü", "")
            .workspace_toml(&format!("[workspace.metadata.image]\n{line}\n"))
            .build();
        let err = load_err(&built, &fixed_options());
        let text = err.to_string();
        assert!(text.contains(expected), "{line}: {text}");
        assert!(
            text.contains("Cargo.toml"),
            "{line}: names no manifest: {text}"
        );
    }
}

/// `git = true` where the build cannot see the repository: a worktree's `.git` file, a
/// `.git` outside the context, or one the user's `.dockerignore` leaves out.
#[test]
fn git_true_refuses_a_repository_the_build_cannot_see() {
    let config = "[workspace.metadata.image]\ngit = true\n";
    let built = Fixture::new("worktree")
        .root_package("svc", |p| p.main())
        .file(".git", "gitdir: /elsewhere/.git/worktrees/svc\n")
        .workspace_toml(config)
        .build();
    let text = load_err(&built, &fixed_options()).to_string();
    assert!(
        text.contains("key `git`") && text.contains("is a file pointing at git data elsewhere"),
        "{text}"
    );

    let built = Fixture::new("ignored")
        .git_root()
        .root_package("svc", |p| p.main())
        .file(".dockerignore", ".git\n")
        .workspace_toml(config)
        .build();
    let text = format!("{:#}", load_err(&built, &fixed_options()));
    assert!(
        text.contains(".git") && text.contains(".dockerignore"),
        "{text}"
    );

    // A member workspace below the repository root with the default context (itself).
    let built = Fixture::new("repo")
        .git_root()
        .root_package("top", |p| p.main())
        .file("svc/src/main.rs", "fn main() {}\n")
        .file(
            "svc/Cargo.toml",
            "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [workspace]\n\n[workspace.metadata.image]\ngit = true\n",
        )
        .file(
            "svc/Cargo.lock",
            "version = 4\n\n[[package]]\nname = \"svc\"\nversion = \"0.1.0\"\n",
        )
        .build();
    let Err(err) = cargo_image::read::read(&built.root.join("svc/Cargo.toml")) else {
        panic!("a .git outside the context is refused");
    };
    let text = err.to_string();
    assert!(
        text.contains("is outside the build context") && text.contains("`context`"),
        "{text}"
    );
}

#[test]
fn dollar_in_env_values_is_literal() {
    let built = Fixture::new("dollar")
        .root_package("svc", |p| p.main())
        .workspace_toml("[workspace.metadata.image]\nenv = { GREETING = \"$HOME costs $5\" }\n")
        .build();
    let (_, plan) = built.plan();
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    assert!(
        dockerfile.contains(r#"ENV GREETING="\$HOME costs \$5""#),
        "{dockerfile}"
    );
}

/// `LABEL` expands variables as `ENV` does (found by config_fuzz.rs): `$` is literal in both.
#[test]
fn dollar_in_labels_is_literal() {
    let built = Fixture::new("dollarlabel")
        .root_package("svc", |p| p.main())
        .workspace_toml("[workspace.metadata.image]\nlabels = { \"com.example.price\" = \"$5\" }\n")
        .build();
    let (_, plan) = built.plan();
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    assert!(
        dockerfile.contains(r#""com.example.price"="\$5""#),
        "{dockerfile}"
    );
}

#[test]
fn defined_features_and_custom_profiles_are_accepted() {
    let built = Fixture::new("goodvalues")
        .root_package("svc", |p| p.main().toml("[features]\nturbo = []\n"))
        .workspace_toml(
            "[workspace.metadata.image]\nprofile = \"dist\"\nfeatures = [\"turbo\"]\n\n\
             [profile.dist]\ninherits = \"release\"\n",
        )
        .build();
    let (_, plan) = built.plan();
    assert_eq!(plan.build.profile, "dist");
    // Bare: the root package's own.
    assert_eq!(plan.build.features, ["turbo"]);

    // An edition 2018 root package (resolver 1, websocat's), where cargo reads
    // `--features svc/turbo` as a feature of a dependency `svc`: the resolve is read with
    // the plan's features, so a wrong form fails loading.
    let built = Fixture::new("resolver1")
        .root_package("svc", |p| {
            p.main().package_key("edition", "\"2018\"").toml(
                "[features]\nturbo = []\n\n[package.metadata.image]\nfeatures = [\"svc/turbo\"]\n",
            )
        })
        .build();
    let path = built.root.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&path).unwrap();
    assert!(manifest.contains("resolver = \"2\""), "{manifest}");
    std::fs::write(
        &path,
        manifest.replace("resolver = \"2\"", "resolver = \"1\""),
    )
    .unwrap();
    let (_, plan) = built.plan();
    assert_eq!(plan.build.features, ["turbo"]);
}

/// A `[patch]` package nothing enables still reaches the build (cargo reads it to load the
/// workspace): one outside the build context is refused naming the manifest, the key and
/// the fix; one whose manifest `.dockerignore` leaves out, naming the rule.
#[test]
fn a_patch_the_build_cannot_read_is_refused() {
    let built = Fixture::new("patchout")
        .virtual_workspace(&["crates/app"])
        .workspace_toml("[patch.crates-io]\nryu = { path = \"../ryu-fork\" }\n")
        .package("crates/app", |p| {
            p.main().dep("ryu", "{ version = \"1\", optional = true }")
        })
        .package("../ryu-fork", |p| p.name("ryu").version("1.0.99").lib())
        .build();
    let text = load_err(&built, &fixed_options()).to_string();
    assert!(
        text.contains("Cargo.toml")
            && text.contains("`patch.crates-io.ryu.path`")
            && text.contains("outside the build context")
            && text.contains("`context`"),
        "{text}"
    );

    let built = Fixture::new("patchignored")
        .virtual_workspace(&["crates/app"])
        .workspace_toml("[patch.crates-io]\nryu = { path = \"forks/ryu\" }\n")
        .package("crates/app", |p| {
            p.main().dep("ryu", "{ version = \"1\", optional = true }")
        })
        .package("forks/ryu", |p| p.name("ryu").version("1.0.99").lib())
        .file(".dockerignore", "forks/\n")
        .build();
    let text = load_err(&built, &fixed_options()).to_string();
    assert!(
        text.contains("forks/ryu/Cargo.toml") && text.contains("forks/"),
        "{text}"
    );
}
