//! The files the Dockerfile writes into its builder stages: the `cargo-image` script (the
//! one place the cargo command lines live), the awk program that masks member versions in
//! `Cargo.lock`, and the sources of the static HTTP health probe and of the init.
//!
//! Each is a real file under `templates/`, compiled in with `include_str!`, so that its own
//! linter and tests read it as it is. The `cargo-image` script (`templates/cargo-image.sh`)
//! is the one that depends on the plan: its `@@NAME@@` markers (see
//! `render/template.rs`) are filled here with quoted words, and with the few lines
//! that exist only for some plans (the static flag, the stripping, the dynamic build, the
//! workspace's rustflags per target).

use crate::plan::Plan;
use crate::render::quote::{sh_quote, words_of};
use crate::render::template::fill;

/// Path of the build script inside the builder.
pub const SCRIPT_PATH: &str = "/usr/local/bin/cargo-image";
/// Where the target architecture is recorded in the `base` stage.
pub const ARCH_FILE: &str = "/usr/local/share/cargo-image/arch";
pub const MASK_LOCK_PATH: &str = "/usr/local/share/cargo-image/mask-lock.awk";
/// Where the programs stage mounts `.cargo-image/`, whose `probe.rs` and `init.rs` it
/// compiles (beside their shared `rt.rs`); not over the `arch` file of its parent dir.
pub const PROGRAMS_SRC_DIR: &str = "/usr/local/share/cargo-image/src";
/// Where the probe lands in runtime images.
pub const PROBE_BIN: &str = "/usr/local/bin/cargo-image-probe";
/// Where the init lands in runtime images (their entrypoint, before the program).
pub const INIT_BIN: &str = "/usr/local/bin/cargo-image-init";

/// Masks the versions of workspace members in `Cargo.lock` to 0.0.0, as the skeleton's
/// manifests are masked. Reads the file twice: first to learn which `[[package]]` blocks
/// are local members (no `source` line), then to print it with those versions (and the
/// `"name version"` references to them) replaced.
pub const MASK_LOCK_AWK: &str = include_str!("../../templates/mask-lock.awk");

/// A static HTTP probe for HEALTHCHECK on images without a shell or curl: exits 0 when
/// `GET url` answers 2xx within five seconds. `no_std` with raw system calls: the binary is
/// a few kilobytes, where std with a static glibc weighs over a megabyte (more than the
/// rest of a scratch image).
pub const PROBE_RS: &str = include_str!("../../templates/probe.rs");

/// What the probe and the init share (`#[path = "rt.rs"] mod rt;`): start-up code, system
/// calls for x86_64 and aarch64 Linux.
pub const RT_RS: &str = include_str!("../../templates/rt.rs");

/// A minimal init for programs that handle no signal: runs the program as its child, passes
/// signals on, reaps orphans, exits as the child did. `no_std` like the probe.
pub const INIT_RS: &str = include_str!("../../templates/init.rs");

/// The `cargo-image` script as a template (`@@NAME@@` markers, filled by `template::fill`): a shell
/// script that shellcheck lints as it is.
pub const CARGO_IMAGE_TEMPLATE: &str = include_str!("../../templates/cargo-image.sh");

/// `release_build`, with `static_link`: the static flag, added to the workspace's rustflags.
const STATIC_ENV: &str = r#"# A *-linux-gnu std links statically with crt-static; --target keeps the flag
# away from build scripts and proc-macros, which must stay dynamic.
export RUSTFLAGS="${RUSTFLAGS:-$(config_rustflags)} -C target-feature=+crt-static"
"#;

/// `release_build`, with `dynamic_bins`: their own cargo command after the static one.
const DYNAMIC_BUILD: &str = r#"# Linked dynamically beside the static ones (`static = false`, runtime
# packages): a target dir of their own, since their flags differ.
(
    export CARGO_TARGET_DIR=/app/target/dynamic
    @@BUILDS@@
)
"#;

/// `release_build`, with `musl_bins`: their own cargo command, for the musl target.
const MUSL_BUILD: &str = r#"# Built against musl (`libc = "musl"`, or a musl runtime): the *-unknown-linux-musl
# target, whose std links statically by itself (no RUSTFLAGS, so cargo keeps the
# workspace's own rustflags).
(
    cross_env "$(rust_target musl)"
    @@BUILDS@@
)
"#;

/// Which of `release_build`'s cargo commands builds a binary.
#[derive(Clone, Copy, PartialEq)]
enum Link {
    /// The first: glibc, static when `static_link`.
    Main,
    /// `dynamic_bins`: glibc, dynamic, in `target/dynamic`.
    Dynamic,
    /// `musl_bins`: the musl target.
    Musl,
}

/// The `cargo-image` script: every cargo invocation of every stage, so that the build
/// command is written once and is the same string in every layer.
pub fn cargo_image_script(plan: &Plan) -> String {
    let b = &plan.build;
    let bin_flags = |bins: &mut dyn Iterator<Item = &String>| -> String {
        bins.map(|bin| format!(" --bin {}", sh_quote(bin)))
            .collect()
    };
    let profile = sh_quote(&b.profile);
    let features_flag = |features: &[String]| {
        if features.is_empty() {
            String::new()
        } else {
            format!(" --features {}", sh_quote(&features.join(",")))
        }
    };
    let features = features_flag(&b.features);
    // The dev and test targets' `--workspace` commands, without the applications no
    // container runs (their toolkits need system libraries the builder lacks).
    let exclude: String = (plan.dev.exclude.iter())
        .map(|p| format!(" --exclude {}", sh_quote(p)))
        .collect();
    // One cargo command per feature group (one for all when the images agree), each for
    // the binaries it links statically or, in the dynamic build, dynamically.
    let default_group = [crate::plan::FeatureGroup {
        features: b.features.clone(),
        no_default_features: Vec::new(),
        bins: b.bins.clone(),
    }];
    let groups: &[crate::plan::FeatureGroup] = if b.groups.is_empty() {
        &default_group
    } else {
        &b.groups
    };
    // One command per line, at the indent of the marker (an inline marker, so that the
    // raw template stays valid shell: a subshell cannot hold only comments).
    let link_of = |bin: &String| {
        if b.musl_bins.contains(bin) {
            Link::Musl
        } else if b.dynamic_bins.contains(bin) {
            Link::Dynamic
        } else {
            Link::Main
        }
    };
    let commands = |link: Link, indent: &str| -> String {
        let target = if link == Link::Musl {
            "\"$(rust_target musl)\""
        } else {
            "\"$(rust_target)\""
        };
        let lines: Vec<String> = groups
            .iter()
            .filter_map(|g| {
                let bins: Vec<&String> = g.bins.iter().filter(|bin| link_of(bin) == link).collect();
                if bins.is_empty() {
                    return None;
                }
                let (no_default, packages) = if g.no_default_features.is_empty() {
                    (String::new(), " --workspace".to_string())
                } else {
                    let packages: String = g
                        .no_default_features
                        .iter()
                        .map(|p| format!(" --package {}", sh_quote(p)))
                        .collect();
                    (" --no-default-features".to_string(), packages)
                };
                Some(format!(
                    "cargo_ws build \"$1\" --profile {profile}{no_default}{} --target {target}{packages}{}",
                    features_flag(&g.features),
                    bin_flags(&mut bins.into_iter()),
                ))
            })
            .collect();
        lines.join(&format!("\n{indent}"))
    };
    let dynamic_build = if b.dynamic_bins.is_empty() {
        String::new()
    } else {
        fill(
            DYNAMIC_BUILD,
            &[("BUILDS", &commands(Link::Dynamic, "    "))],
        )
    };
    let musl_build = if b.musl_bins.is_empty() {
        String::new()
    } else {
        fill(MUSL_BUILD, &[("BUILDS", &commands(Link::Musl, "    "))])
    };
    // With every binary built against musl, the first command has nothing to build.
    let main_builds = match commands(Link::Main, "        ") {
        none if none.is_empty() => ":".to_string(),
        builds => builds,
    };
    // The targets whose standard library the builder needs, the first also the probe's.
    let any_gnu = b.bins.iter().any(|bin| !b.musl_bins.contains(bin));
    let libcs = match (any_gnu, b.musl_bins.is_empty()) {
        (true, true) => "gnu",
        (true, false) => "gnu musl",
        (false, _) => "musl",
    };
    // RUSTFLAGS replaces the rustflags of .cargo/config.toml: the static build adds to them.
    let config_rustflags: String = b
        .config_rustflags
        .iter()
        .map(|(triple, flags)| {
            let flags = sh_quote(&flags.join(" "));
            format!("{triple}) echo {flags} ;;\n")
        })
        .collect();
    let strip_env = if b.strip {
        format!(
            "export CARGO_PROFILE_{}_STRIP=symbols\n",
            b.profile.to_ascii_uppercase().replace('-', "_")
        )
    } else {
        String::new()
    };
    // `git = true`: the bound repository belongs to the user who checked it out, not to
    // the builder's root, and git refuses a repository of another owner; and the sources
    // are bind mounts of their own, where git's search for `.git` stops.
    let git_env = if plan.git.is_some() {
        "# Build scripts run git over the bound .git (`git = true`): another user owns it, and\n\
         # the sources above which git looks for it are mount points.\n\
         export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'\n\
         export GIT_DISCOVERY_ACROSS_FILESYSTEM=1\n"
    } else {
        ""
    };
    let known_hosts = match &plan.ssh {
        Some(ssh) if !ssh.known_hosts.is_empty() => format!(
            "mkdir -p /etc/ssh\nprintf '%s\\n' {} >/etc/ssh/ssh_known_hosts\n",
            words_of(ssh.known_hosts.iter().map(String::as_str))
        ),
        _ => String::new(),
    };
    let registry_tokens: String = plan
        .registry_tokens
        .iter()
        .map(|t| {
            // The token provider that reads the variable, whatever the workspace's cargo
            // configuration names (cargo asks for one with an authenticated registry).
            let provider = format!(
                "{}_CREDENTIAL_PROVIDER",
                t.env.trim_end_matches("_TOKEN")
            );
            format!(
                "if [ -s /run/secrets/{secret} ]; then\n    {env}=\"$(cat /run/secrets/{secret})\"\n    export {env} {provider}=cargo:token\nfi\n",
                secret = t.secret,
                env = t.env
            )
        })
        .collect();
    let dirs = plan.local_dirs.iter().map(String::as_str);
    let local_dirs = words_of(dirs.map(|d| if d.is_empty() { "." } else { d }));
    fill(
        CARGO_IMAGE_TEMPLATE,
        &[
            (
                "WS_DIR",
                &sh_quote(&crate::model::join("/app", &plan.workspace_root)),
            ),
            ("ARCH_FILE", ARCH_FILE),
            ("GIT_ENV", git_env),
            ("KNOWN_HOSTS", &known_hosts),
            ("REGISTRY_TOKENS", &registry_tokens),
            ("CONFIG_RUSTFLAGS", &config_rustflags),
            ("STRIP_ENV", &strip_env),
            ("STATIC_ENV", if b.static_link { STATIC_ENV } else { "" }),
            ("FEATURES", &features),
            ("STATIC_BUILDS", &main_builds),
            ("DYNAMIC_BUILD", &dynamic_build),
            ("MUSL_BUILD", &musl_build),
            ("MUSL_BINS", &b.musl_bins.join(" ")),
            ("LIBCS", libcs),
            ("SHIPPED", &words_of(b.bins.iter().map(String::as_str))),
            ("DYNAMIC_BINS", &b.dynamic_bins.join(" ")),
            ("PROFILE_DIR", &b.profile_dir),
            ("PROGRAMS_SRC_DIR", PROGRAMS_SRC_DIR),
            ("DRIVER_DIR", crate::plan::DRIVER_DIR),
            ("DEV_PROFILE", &sh_quote(&plan.dev.profile)),
            ("DEV_PROFILE_DIR", &plan.dev.profile_dir),
            ("DEV_BIN", &plan.dev.bin),
            ("EXCLUDE", &exclude),
            ("LOCAL_DIRS", &local_dirs),
            (
                "TESTS_LEFT_OUT",
                &words_of(plan.tests_left_out.iter().map(String::as_str)),
            ),
            ("POLL", &plan.dev.poll_seconds.to_string()),
        ],
    )
}
