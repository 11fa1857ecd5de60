//! What a failed build's output says about the workspace's configuration: known failures
//! of build scripts and linkers inside the builder, each with the key that fixes it. The
//! compiler's own text stays as it is; a hint follows it.

/// Hints for the failed steps' `output`, one paragraph each, in a fixed order.
pub fn hints(output: &str) -> Vec<String> {
    let lower = output.to_ascii_lowercase();
    let mut out = Vec::new();
    let ran_git = [
        "not a git repository",
        "failed to run `git",
        "failed to run git",
        "failed to execute git",
        "\"git\": no such file",
        "`git`: no such file",
        "git: not found",
        "git: command not found",
        "error while trying to determine latest commit",
        "could not find git",
        "unable to find git",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
        || (lower.contains("git")
            && lower.contains("kind: notfound")
            && (lower.contains("custom build command") || lower.contains("build script")));
    if ran_git {
        out.push(
            "hint: a build script or macro ran git, which failed: the builder has no git, \
             and .git is left out of the build context, unless `git = true` is set in \
             [workspace.metadata.image] (git in the builder and .git in the compile steps \
             only, never in a runtime image). Or pass the values it reads as `build-args` \
             (e.g. \"GIT_SHA={revision}\"), or add `git` to `build-packages` when the \
             repository itself is not needed."
                .to_string(),
        );
    }
    if lower.contains("could not find `protoc`") || lower.contains("could not find protoc") {
        out.push(
            "hint: a build script needs protoc: add \"protobuf-compiler\" to `build-packages` \
             in [workspace.metadata.image]."
                .to_string(),
        );
    }
    if let Some(linker) = missing_linker(output) {
        out.push(format!(
            "hint: the linker `{linker}` is not in the builder: add its Debian package \
             (clang, lld, mold) to `build-packages` in [workspace.metadata.image]."
        ));
    }
    out
}

/// The program of rustc's ``error: linker `NAME` not found``.
fn missing_linker(output: &str) -> Option<&str> {
    let rest = output.split("linker `").nth(1)?;
    let (name, after) = rest.split_once('`')?;
    after.trim_start().starts_with("not found").then_some(name)
}

#[cfg(test)]
mod tests {
    use super::hints;

    #[test]
    fn a_build_script_running_git_is_told_about_the_git_key() {
        // Real outputs: a build.rs with Command::new("git").output().unwrap(), and
        // git-version's macro in a builder without the repository.
        for output in [
            "thread 'main' panicked at build.rs:3:62:\nrunning git rev-parse: Os { code: 2, kind: NotFound, message: \"No such file or directory\" }\nerror: failed to run custom build command for `app v0.1.0 (/app)`\n\nCaused by:\n  process didn't exit successfully: `/app/target/release/build/app/build-script-build`",
            "error: fatal: not a git repository (or any of the parent directories): .git",
            "Error while trying to determine latest commit date: Os { code: 2, kind: NotFound }",
        ] {
            let h = hints(output);
            assert!(
                h.len() == 1 && h[0].contains("`git = true`"),
                "{output}: {h:?}"
            );
        }
        assert!(hints("error[E0425]: cannot find value `x` in this scope").is_empty());
        // A NotFound of something else in a build script is not blamed on git.
        assert!(
            hints("build script: Os { code: 2, kind: NotFound } opening proto/a.proto").is_empty()
        );
    }

    #[test]
    fn a_missing_linker_and_protoc_name_build_packages() {
        let h = hints("error: linker `clang` not found\n  |\n  = note: No such file or directory (os error 2)");
        assert_eq!(h.len(), 1);
        assert!(h[0].contains("`clang`") && h[0].contains("build-packages"));
        let h = hints("Error: Custom { kind: NotFound, error: \"Could not find `protoc`. If `protoc` is installed, try setting the `PROTOC` environment variable\" }");
        assert!(h.iter().any(|h| h.contains("protobuf-compiler")), "{h:?}");
    }
}
