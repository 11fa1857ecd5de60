//! The generated files beside the Dockerfile, in `.cargo-image/`: the programs its stages
//! run (the `cargo-image` script, the Cargo.lock masker, the package and shared-library
//! scripts, the sources of the health probe and the init) and this workspace's skeleton
//! as a script. They reach the build through the normal context, in the `cargo-image-tools` stage, so the
//! Dockerfile stays short enough to read in a review, and each program is a file that its
//! own linter (shellcheck, awk, rustc) can check.
//!
//! Every file is written whether the Dockerfile uses it or not: the directory's contents
//! then never depend on the configuration, and no stale file is left behind when a key
//! goes away (the Dockerfile copies only what it uses, see [`used`]).

use std::fmt::Write as _;

use crate::model::join;
use crate::plan::Plan;
use crate::render::quote::{sh_quote, words};
use crate::render::scripts;

/// The directory beside the Dockerfile (relative to the workspace root).
pub const DIR: &str = ".cargo-image";
/// The stage that holds the directory's files at its root; `--build-context` of this name
/// replaces it when the files live elsewhere (`--out DIR`, the buildx driver).
pub const STAGE: &str = "cargo-image-tools";

pub const SCRIPT: &str = "cargo-image.sh";
pub const SKELETON: &str = "skeleton.sh";
pub const MASK_LOCK: &str = "mask-lock.awk";
pub const PACKAGES: &str = "packages.sh";
pub const LIBS: &str = "libs.sh";
pub const PROBE: &str = "probe.rs";
pub const INIT: &str = "init.rs";
/// What the probe and the init share (a module of each).
pub const RT: &str = "rt.rs";

/// `packages.sh`: Debian packages, installed in the builder or unpacked for a runtime.
pub const PACKAGES_SH: &str = include_str!("../../templates/packages.sh");
/// `libs.sh`: the shared libraries a dynamic binary links, copied for its runtime.
pub const LIBS_SH: &str = include_str!("../../templates/libs.sh");
/// Where `libs.sh` lists, in the image, the shared libraries it added (one soname per line;
/// absent when it added none): the image command reads it for its report.
pub const SHARED_LIBRARIES_LIST: &str = "/usr/share/cargo-image/shared-libraries";

/// One file of the directory.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolFile {
    pub name: &'static str,
    pub contents: String,
    pub executable: bool,
}

/// Every file of `.cargo-image/` for `plan`, by name.
pub fn files(plan: &Plan) -> Vec<ToolFile> {
    let file = |name, contents: String, executable| ToolFile {
        name,
        contents,
        executable,
    };
    vec![
        file(SCRIPT, scripts::cargo_image_script(plan), true),
        file(INIT, scripts::INIT_RS.to_string(), false),
        file(LIBS, LIBS_SH.to_string(), true),
        file(MASK_LOCK, scripts::MASK_LOCK_AWK.to_string(), false),
        file(PACKAGES, PACKAGES_SH.to_string(), true),
        file(PROBE, scripts::PROBE_RS.to_string(), false),
        file(RT, scripts::RT_RS.to_string(), false),
        file(SKELETON, skeleton_script(plan), true),
    ]
}

/// The files the Dockerfile for `plan` copies into `cargo-image-tools`: only those, so an
/// unused one never keys a step's cache.
pub fn used(plan: &Plan) -> Vec<&'static str> {
    // The builder stage always runs the package script (it brings a cross compiler
    // when the builder lacks one, even with no package listed).
    let mut names = vec![SCRIPT, SKELETON, MASK_LOCK, PACKAGES];
    if plan.images.iter().any(|i| i.extras.shared_libs) {
        names.push(LIBS);
    }
    let (probe, init) = (plan.uses_probe(), plan.uses_init());
    if probe {
        names.push(PROBE);
    }
    if init {
        names.push(INIT);
    }
    if probe || init {
        names.push(RT);
    }
    names
}

/// The directory as a build-context path (the workspace root may lie below the context).
pub fn context_dir(plan: &Plan) -> String {
    context_dir_for(&plan.workspace_root)
}

/// The directory as a build-context path, for the workspace root `workspace_root`.
pub fn context_dir_for(workspace_root: &str) -> String {
    join(workspace_root, DIR)
}

/// The `[workspace] members` pattern of a root manifest (parsed) that would take
/// `.cargo-image/` for a member, unless `exclude` lists it (see
/// [`member_pattern_taking_dir`]).
pub fn manifest_pattern_taking_dir(manifest: &toml::Table) -> Option<String> {
    let members = crate::config::workspace_strings(manifest, "members");
    let exclude = crate::config::workspace_strings(manifest, "exclude");
    member_pattern_taking_dir(&members, &exclude).map(String::from)
}

/// The `[workspace] members` pattern that would take `.cargo-image/` for a member (cargo's
/// globs match hidden directories: `members = ["*"]` does), unless `exclude` lists it.
pub fn member_pattern_taking_dir<'a>(members: &'a [String], exclude: &[String]) -> Option<&'a str> {
    if exclude
        .iter()
        .any(|e| e.trim_end_matches('/').trim_start_matches("./") == DIR)
    {
        return None;
    }
    members
        .iter()
        .map(|m| m.trim_end_matches('/').trim_start_matches("./"))
        .find(|m| glob_segment_matches(m.as_bytes(), DIR.as_bytes()))
}

/// One path segment against a glob of `*`, `?` and `[...]` (a class taken as any one
/// character, enough to say whether a pattern may match).
fn glob_segment_matches(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some(b'*') => (0..=name.len()).any(|i| glob_segment_matches(&pattern[1..], &name[i..])),
        Some(b'?') => !name.is_empty() && glob_segment_matches(&pattern[1..], &name[1..]),
        Some(b'[') => match pattern.iter().position(|&c| c == b']') {
            Some(end) if !name.is_empty() => glob_segment_matches(&pattern[end + 1..], &name[1..]),
            _ => false,
        },
        Some(&c) => name.first() == Some(&c) && glob_segment_matches(&pattern[1..], &name[1..]),
    }
}

/// `skeleton.sh`, run in the `skeleton` stage (working directory `/skeleton`, the real
/// manifests and Cargo.lock bind-mounted under `/ctx`): writes the skeleton, masks
/// Cargo.lock like the manifests, and sets the real manifests aside in `/manifests` for
/// the build stage, which needs them all at once to agree with the lockfile.
pub fn skeleton_script(plan: &Plan) -> String {
    let sk = &plan.skeleton;
    let manifest = join(&plan.workspace_root, "Cargo.toml");
    let mut out = format!(
        "#!/bin/sh\n\
         # Generated by `cargo xtask dockerfile` from {manifest}: do not edit by hand.\n\
         # The skeleton the dependency stage compiles instead of the workspace: every manifest\n\
         # with member versions masked, a dummy source for every target, the toolchain files.\n\
         # Its content, not the workspace's history, keys that stage's cache, so source edits\n\
         # and version bumps leave it cached. Run by the Dockerfile's `skeleton` stage.\n\
         set -eu\n"
    );
    let mut dirs: Vec<String> = sk
        .files
        .keys()
        .chain(&sk.empty_sources)
        .chain(&sk.main_sources)
        .filter_map(|p| p.rsplit_once('/').map(|(d, _)| d.to_string()))
        .collect();
    dirs.sort();
    dirs.dedup();
    if !dirs.is_empty() {
        writeln!(out, "mkdir -p {}", words(&dirs)).unwrap();
    }
    if !sk.empty_sources.is_empty() {
        let files: Vec<String> = sk.empty_sources.iter().cloned().collect();
        writeln!(out, "touch {}", words(&files)).unwrap();
    }
    // One printf per file, not a loop: a loop over one item is a lint finding (SC2043).
    for f in &sk.main_sources {
        writeln!(
            out,
            "printf '#[allow(dead_code)]\\nfn main() {{}}\\n' >{}",
            sh_quote(f)
        )
        .unwrap();
    }
    for (path, text) in &sk.files {
        let body = if text.ends_with('\n') {
            text.clone()
        } else {
            format!("{text}\n")
        };
        let eof = delimiter(&body);
        writeln!(out, "cat >{} <<'{eof}'\n{body}{eof}", sh_quote(path)).unwrap();
    }
    if !sk.links.is_empty() {
        // Cargo reaches these packages through links (a `crates/*` member that is a link);
        // the files above sit at the resolved paths.
        writeln!(
            out,
            "\n# Symlinks cargo finds packages through, as in the workspace."
        )
        .unwrap();
        for (link, target) in &sk.links {
            if let Some((dir, _)) = link.rsplit_once('/') {
                writeln!(out, "mkdir -p {}", sh_quote(dir)).unwrap();
            }
            writeln!(out, "ln -s {} {}", sh_quote(target), sh_quote(link)).unwrap();
        }
    }
    let lock = join(&plan.workspace_root, "Cargo.lock");
    writeln!(
        out,
        "\n# Cargo.lock with member versions masked like the manifests.\n\
         awk -v members={} -f {mask_lock} /ctx/{lock} /ctx/{lock} >{}\n\
         \n\
         # The real manifests, set aside for the build stage.\n\
         for f in {}; do\n    \
             mkdir -p \"$(dirname \"/manifests/$f\")\"\n    \
             cp \"/ctx/$f\" \"/manifests/$f\"\n\
         done",
        sh_quote(&plan.masked_members.join(" ")),
        sh_quote(&lock),
        words(&plan.manifests),
        mask_lock = scripts::MASK_LOCK_PATH,
    )
    .unwrap();
    out
}

/// A heredoc delimiter that is no line of `body` (a manifest may hold any line, e.g. in a
/// multi-line string, and a line equal to the delimiter would end the heredoc early).
fn delimiter(body: &str) -> String {
    let mut eof = "CARGO_IMAGE_FILE".to_string();
    let mut n = 0;
    while body.lines().any(|l| l == eof) {
        n += 1;
        eof = format!("CARGO_IMAGE_FILE_{n}");
    }
    eof
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_globs_that_take_the_directory() {
        let v = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(member_pattern_taking_dir(&v(&["*"]), &[]), Some("*"));
        assert_eq!(
            member_pattern_taking_dir(&v(&["crates/*", ".*"]), &[]),
            Some(".*")
        );
        assert_eq!(
            member_pattern_taking_dir(&v(&["[.]cargo-*"]), &[]),
            Some("[.]cargo-*")
        );
        assert_eq!(
            member_pattern_taking_dir(&v(&["*"]), &v(&[".cargo-image"])),
            None
        );
        assert_eq!(
            member_pattern_taking_dir(&v(&["crates/*", "x*", "app"]), &[]),
            None
        );
    }

    #[test]
    fn delimiter_is_no_line_of_the_body() {
        assert_eq!(delimiter("a = 1\n"), "CARGO_IMAGE_FILE");
        assert_eq!(
            delimiter("x = '''\nCARGO_IMAGE_FILE\nCARGO_IMAGE_FILE_1\n'''\n"),
            "CARGO_IMAGE_FILE_2"
        );
    }
}
