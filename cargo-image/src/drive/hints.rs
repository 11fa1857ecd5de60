//! What a failed build's output says about the workspace's configuration: known failures
//! of build scripts and linkers inside the builder, each with the key that fixes it. The
//! compiler's own text stays as it is; a hint follows it.

/// Whether a failed build's message is the engine's image-store race, not the build's
/// fault: BuildKit built and exported everything, then unpacking the image into the
/// containerd store found a layer's parent snapshot gone ("failed to prepare extraction
/// snapshot … parent snapshot … does not exist"), which happens now and then when the
/// same tag is rebuilt (moby/buildkit#6521, containerd/nerdctl#3420, still open). The
/// same build again, from the cache it just filled, succeeds: the drivers retry it once.
pub fn unpack_race(message: &str) -> bool {
    message.contains("failed to prepare extraction snapshot")
        && message.contains("parent snapshot")
        && message.contains("does not exist")
}

/// [`hints`] naming the table the workspace's keys go in (`table`, as
/// [`crate::model::Workspace::workspace_table`] says it): a single-package project's is
/// `[package.metadata.image]`, where rathole's `builder` belonged.
pub fn hints_for(output: &str, table: &str) -> Vec<String> {
    hints(output)
        .into_iter()
        .map(|h| h.replace(WORKSPACE_TABLE, table))
        .collect()
}

/// How [`hints`] name the table of the workspace's keys.
const WORKSPACE_TABLE: &str = "[workspace.metadata.image]";

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
        || ((lower.contains("custom build command") || lower.contains("build script"))
            && git_not_found(&lower));
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
    if !ran_git {
        if let Some(path) = missing_outside_file(output) {
            // Where it is from the build's root (`/app`), when the failing package says.
            let from_root = output
                .split("failed to run custom build command for `")
                .nth(1)
                .and_then(|rest| rest.split_once("(/app")?.1.split_once(")`"))
                .and_then(|(dir, _)| crate::reads::resolve(dir.trim_start_matches('/'), &path))
                .filter(|p| !p.is_empty());
            let (located, entry) = match &from_root {
                Some(p) => {
                    let dir = p.rsplit_once('/').map_or(p.as_str(), |(d, _)| d);
                    (format!(" (`{p}` in the workspace)"), dir.to_string())
                }
                None => (String::new(), "proto".to_string()),
            };
            out.push(format!(
                "hint: a build script did not find `{path}`{located}: a compile step sees its \
                 own package directory (a root package's: the context root), and in the \
                 `layers` mode another package's directory only once that package is built; \
                 list what build scripts and macros read outside their package in \
                 `build-files` in [workspace.metadata.image] (e.g. `build-files = \
                 [\"{entry}\"]`). Paths written as string literals are found without it."
            ));
        }
    }
    if lower.contains("could not find `protoc`") || lower.contains("could not find protoc") {
        out.push(
            "hint: a build script needs protoc: add \"protobuf-compiler\" to `build-packages` \
             in [workspace.metadata.image]."
                .to_string(),
        );
    }
    if let Some(needed) = needed_rustc(output) {
        out.push(format!(
            "hint: a package's `rust-version` asks for rustc {needed}, newer than the \
             builder's: set `builder = \"rust:{needed}-slim-bookworm\"` (or newer) in \
             [workspace.metadata.image] (or pass a newer `--builder-image`), or, where \
             rust-toolchain.toml pins an older toolchain, raise it."
        ));
    }
    // sqlx 0.5/0.6 ("`DATABASE_URL` must be set to use query macros", or "… must be set,
    // or `cargo sqlx prepare` must have been run …"), 0.7+ ("set `DATABASE_URL` to use
    // query macros online, or run `cargo sqlx prepare` …", and with `SQLX_OFFLINE=true`
    // "… there is no cached data for this query, run `cargo sqlx prepare` …").
    if lower.contains("to use query macros") || lower.contains("run `cargo sqlx prepare`") {
        out.push(
            "hint: sqlx's query macros check each query against a database while compiling, \
             and the build has none: run `cargo sqlx prepare` against your database and \
             commit what it writes (`.sqlx/` for sqlx 0.7+, `sqlx-data.json` with sqlx's \
             `offline` feature for 0.5/0.6) beside the package, where the compile steps see \
             it; `build-env = { SQLX_OFFLINE = \"true\" }` in [workspace.metadata.image] \
             then makes a query missing from it an error naming the query."
                .to_string(),
        );
    }
    if !ran_git && !out.iter().any(|h| h.contains("`build-files`")) {
        if let Some(program) = missing_program(output) {
            let program = match program {
                Some(p) => format!("`{p}`"),
                None => "a program".to_string(),
            };
            out.push(format!(
                "hint: a build script ran {program}, which the builder does not have: add \
                 the Debian package that provides it to `build-packages` in \
                 [workspace.metadata.image] (`cargo xtask plan` shows what was inferred)."
            ));
        }
    }
    // `time` before 0.3.35 fails to compile with Rust 1.80+ (E0282 in
    // format_description/parse): rathole's lockfile pinned 0.3.29.
    if lower.contains("could not compile `time`") && lower.contains("e0282") {
        out.push(
            "hint: the `time` crate in Cargo.lock is older than 0.3.35, which newer Rust cannot \
             compile: run `cargo update -p time` (or set `builder` in \
             [workspace.metadata.image] to a Rust before 1.80, e.g. \
             \"rust:1.79-slim-bookworm\")."
                .to_string(),
        );
    }
    // Any other locked dependency whose own code the builder's rustc rejects (rustus's
    // lockfile pinned metrics 0.23.0: "raw pointer casts of trait objects cannot extend
    // lifetimes" on Rust 1.95): the error points into the registry's copy of it.
    let time_said = out.iter().any(|h| h.contains("`time` crate"));
    if let (false, Some((name, version))) = (time_said, failing_dependency(output)) {
        out.push(format!(
            "hint: `{name}` {version}, a dependency Cargo.lock pins, does not compile with the \
             builder's Rust (newer rustc rejects code older ones accepted): update it (`cargo \
             update -p {name}`, then commit Cargo.lock), or build with the Rust it was written \
             for, e.g. `builder = \"rust:1.85-slim-bookworm\"` in [workspace.metadata.image] \
             (your own Dockerfile or rust-toolchain.toml may say which)."
        ));
    }
    // The pkg-config crate's words, when a build script probes for a system library
    // (hurl's `libxml` for `libxml-2.0`): pkg-config itself missing, or the library.
    if lower.contains("the pkg-config command could not be found") {
        out.push(
            "hint: a build script ran pkg-config, which the builder does not have: add \
             \"pkg-config\" to `build-packages` in [workspace.metadata.image]."
                .to_string(),
        );
    } else if let Some((library, by)) = missing_system_library(output) {
        out.push(format!(
            "hint: the build script of `{by}` asked pkg-config for the system library \
             `{library}`, which the builder lacks: add the Debian package that ships \
             `{library}.pc` (the library's `-dev` package; `apt-file search {library}.pc` \
             names it) to `link-packages` in [workspace.metadata.image]."
        ));
    }
    // The linker's "cannot find -lpam" (pam-sys, libseccomp-sys link by name): the
    // library's `-dev` package holds the `.so` it looks for.
    if let Some(library) = missing_link_library(output) {
        out.push(format!(
            "hint: the linker did not find the system library `{library}` (`lib{library}.so`): \
             add the Debian package that ships it (its `-dev` package; `apt-file search \
             lib{library}.so` names it) to `link-packages` in [workspace.metadata.image]."
        ));
    }
    if let Some(linker) = missing_linker(output) {
        out.push(format!(
            "hint: the linker `{linker}` is not in the builder: add its Debian package \
             (clang, lld, mold) to `build-packages` in [workspace.metadata.image]."
        ));
    }
    // Cargo fetching crates inside the build: a gateway that re-signs HTTPS, whose CA the
    // builder does not trust, or a source the engine's network does not reach
    // (rustdesk-server's git dependencies on github.com: "Could not resolve host").
    let tls = [
        "ssl certificate problem",
        "certificate verify failed",
        "invalid peer certificate",
        "unknownissuer",
    ];
    let network = [
        "could not resolve host",
        "couldn't resolve host",
        "failed to connect to",
        "connection timed out",
        "network failure seems to have happened",
    ];
    let fetching = [
        "failed to fetch",
        "failed to download",
        "failed to get `",
        "failed to load source",
    ]
    .iter()
    .any(|w| lower.contains(w));
    if fetching && tls.iter().any(|w| lower.contains(w)) {
        out.push(
            "hint: cargo fetched crates inside the build and did not trust the server's \
             certificate: a proxy or gateway on your network re-signs HTTPS. Give the build \
             its CA with `--ca-cert FILE` (a build secret, never in an image), or \
             `ca-certificates = [\"FILE\"]` in [workspace.metadata.image] for builds \
             without this tool."
                .to_string(),
        );
    } else if fetching && network.iter().any(|w| lower.contains(w)) {
        out.push(
            "hint: cargo fetched crates inside the build and could not reach their source \
             (crates.io, or a git dependency's host): the engine's network must reach it, as \
             this machine's does, or vendor the crates (`cargo vendor`, with the [source] \
             replacement it prints added to .cargo/config.toml), which the build then uses \
             offline."
                .to_string(),
        );
    }
    out
}

/// Whether a `NotFound` error is git's: the word `git` on its line or the line before
/// (`running git rev-parse: Os { code: 2, kind: NotFound, … }`). Anywhere in the output
/// is too loose: lemmy's build script reading a submodule that was not checked out failed
/// with a bare `Os { kind: NotFound }` in a log that says "git" elsewhere.
fn git_not_found(lower: &str) -> bool {
    let is_git_word = |line: &str| {
        line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .any(|w| w == "git")
    };
    let lines: Vec<&str> = lower.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        line.contains("kind: notfound")
            && (is_git_word(line) || (i > 0 && is_git_word(lines[i - 1])))
    })
}

/// The highest rustc version cargo's `rust-version` check asked for: `grep@0.4.1 requires
/// rustc 1.96` (cargo 1.95, after "rustc 1.95.0 is not supported by the following
/// packages"), or `… cannot be built because it requires rustc 1.96 or newer` (older cargo).
fn needed_rustc(output: &str) -> Option<String> {
    let key = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    output
        .split("requires rustc ")
        .skip(1)
        .filter_map(|rest| {
            let version: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let version = version.trim_end_matches('.');
            (!version.is_empty() && version.contains('.')).then(|| version.to_string())
        })
        .max_by_key(|v| key(v))
}

/// The registry crate and version a rustc error points into (`--> /usr/local/cargo/
/// registry/src/index.crates.io-…/metrics-0.23.0/src/recorder/mod.rs:137:9` after an
/// `error[E0521]`): the dependency whose own code failed to compile.
fn failing_dependency(output: &str) -> Option<(String, String)> {
    let mut lines = output.lines().map(str::trim_start);
    while let Some(line) = lines.next() {
        if !line.starts_with("error[E") {
            continue;
        }
        // Its location, on one of the next lines.
        let at = lines
            .by_ref()
            .take(3)
            .find_map(|l| l.strip_prefix("--> "))?;
        let (_, rest) = at.split_once("/registry/src/")?;
        let dir = rest.split('/').nth(1)?;
        let split = dir
            .match_indices('-')
            .map(|(i, _)| i)
            .find(|i| dir[i + 1..].starts_with(|c: char| c.is_ascii_digit()))?;
        return Some((dir[..split].to_string(), dir[split + 1..].to_string()));
    }
    None
}

/// The first `../` path a failed build script could not find: a file outside its package
/// directory (prost-build's `protoc failed: … ../../proto/a.proto: No such file or
/// directory`), which the compile steps only see through `build-files`.
fn missing_outside_file(output: &str) -> Option<String> {
    let lower = output.to_ascii_lowercase();
    let not_found = lower.contains("no such file or directory") || lower.contains("kind: notfound");
    if !(lower.contains("failed to run custom build command") && not_found) {
        return None;
    }
    let bad = |c: char| c.is_whitespace() || "\"'`(),;".contains(c);
    output.split(bad).find_map(|word| {
        let start = word.find("../")?;
        let path = word[start..].trim_end_matches([':', '.']);
        (path.len() > 3).then(|| path.to_string())
    })
}

/// Whether a build script failed to start a program, and which one when the output says:
/// `Command::new(..)` of a missing program (jemalloc-sys running `make`: "failed to execute
/// command: No such file or directory", after cc-style `running: cd "…" && "make" "-j" "2"`),
/// the cmake crate's "is `cmake` not installed?", cc's `failed to find tool "musl-gcc"`.
fn missing_program(output: &str) -> Option<Option<String>> {
    let lower = output.to_ascii_lowercase();
    if !lower.contains("failed to run custom build command") {
        return None;
    }
    let between = |text: &str, open: &str, close: char| -> Option<String> {
        let rest = &text[text.find(open)? + open.len()..];
        let name = &rest[..rest.find(close)?];
        (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| name.to_string())
    };
    if let Some(tool) = between(output, "failed to find tool \"", '"') {
        return Some(Some(tool));
    }
    if let Some(program) = between(output, "is `", '`').filter(|_| lower.contains("not installed?"))
    {
        return Some(Some(program));
    }
    let failed = lower.find("failed to execute command: no such file or directory")?;
    // The last command the build script announced before the failure.
    let announced = output[..failed].lines().rev().find_map(|l| {
        let command = l.trim_start().strip_prefix("running: ")?;
        let command = command.rsplit(" && ").next().unwrap_or(command);
        let first = command.split_whitespace().next()?.trim_matches('"');
        let name = first.rsplit('/').next().unwrap_or(first);
        (!name.is_empty()).then(|| name.to_string())
    });
    Some(announced)
}

/// The library and the crate of the pkg-config crate's "The system library `libxml-2.0`
/// required by crate `libxml` was not found."
fn missing_system_library(output: &str) -> Option<(&str, &str)> {
    let rest = output.split("The system library `").nth(1)?;
    let (library, rest) = rest.split_once('`')?;
    let rest = rest.trim_start().strip_prefix("required by crate `")?;
    let (by, rest) = rest.split_once('`')?;
    rest.trim_start()
        .starts_with("was not found")
        .then_some((library, by))
}

/// The library of ld's "cannot find -lNAME" (`/usr/bin/ld: cannot find -lpam: No such file
/// or directory`; lld's "unable to find library -lNAME").
fn missing_link_library(output: &str) -> Option<&str> {
    ["cannot find -l", "unable to find library -l"]
        .iter()
        .find_map(|needle| output.split(needle).nth(1))
        .and_then(|rest| rest.split(|c: char| c == ':' || c.is_whitespace()).next())
        .filter(|name| !name.is_empty())
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
    fn the_image_store_race_is_recognised_and_a_build_error_is_not() {
        // As CI saw it (BuildKit 0.13, containerd store), after a successful export.
        let race = "#25 ERROR: failed to prepare extraction snapshot \"extract-905291142-jfOt \
                    sha256:b03081e9\": parent snapshot sha256:47f1df1b does not exist: not found";
        assert!(super::unpack_race(race));
        assert!(!super::unpack_race(
            "error[E0433]: failed to resolve: use of undeclared crate `snapshot`"
        ));
        assert!(!super::unpack_race(
            "failed to solve: process \"/bin/sh -c cargo-image build\" did not complete \
             successfully: exit code: 101"
        ));
    }

    /// Fetching inside the build: a TLS gateway's certificate (this machine's own), and a
    /// git dependency's host the engine cannot resolve (rustdesk-server's, as it failed).
    #[test]
    fn a_failed_fetch_names_the_ca_or_the_network() {
        let git = "#14 3.112     Updating git repository `https://github.com/rustdesk-org/confy`\n\
                   #14 3.201 error: failed to get `confy` as a dependency of package `hbb_common v0.1.0`\n\
                   #14 3.201 Caused by:\n  failed to load source for dependency `confy`\n\
                   #14 3.201   failed to fetch into: /root/.cargo/git/db/confy-1f4b3e0f\n\
                   #14 3.201   network failure seems to have happened\n\
                   #14 3.201   Could not resolve host: github.com; class=Net (12)";
        let said = hints(git);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("`cargo vendor`"), "{said:?}");
        let tls = "error: failed to download from `https://static.crates.io/crates/libc/0.2.155/download`\n\
                   Caused by:\n  [60] SSL peer certificate or SSH remote key was not OK (SSL \
                   certificate problem: unable to get local issuer certificate)";
        let said = hints(tls);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("--ca-cert FILE"), "{said:?}");
        assert!(hints("error[E0425]: cannot find value `host` in this scope").is_empty());
    }

    /// hurl's first build: the `libxml` crate's build script found no libxml2 (the
    /// output as the build printed it), and a builder without pkg-config.
    #[test]
    fn a_system_library_pkg_config_did_not_find_is_told_about_link_packages() {
        let output = "error: failed to run custom build command for `libxml v0.3.9`\n\
                      --- stderr\n  thread 'main' panicked at build.rs:55:10:\n  \
                      Couldn't find libxml2 via pkg-config: \n  pkg-config exited with \
                      status code 1\n  > PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 pkg-config --libs \
                      --cflags libxml-2.0\n\n  The system library `libxml-2.0` required by \
                      crate `libxml` was not found.\n  The file `libxml-2.0.pc` needs to be \
                      installed and the PKG_CONFIG_PATH environment variable must contain its \
                      parent directory.\n  Package libxml-2.0 was not found in the pkg-config \
                      search path.";
        let h = hints(output);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0].starts_with(
                "hint: the build script of `libxml` asked pkg-config for the system library \
                 `libxml-2.0`"
            ) && h[0].contains("`link-packages`"),
            "{h:?}"
        );
        let without = "error: failed to run custom build command for `libxml v0.3.9`\n  \
                       Could not run `PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 pkg-config --libs \
                       --cflags libxml-2.0`\n  The pkg-config command could not be found.\n";
        let h = hints(without);
        assert!(
            h.len() == 1 && h[0].contains("\"pkg-config\" to `build-packages`"),
            "{h:?}"
        );
    }

    /// A single-package project's keys go in its package's table (rathole's `builder`).
    #[test]
    fn hints_name_the_table_the_keys_go_in() {
        let output = "error[E0282]: type annotations needed\nerror: could not compile `time` \
                      (lib) due to 1 previous error";
        let h = super::hints_for(output, "[package.metadata.image] in Cargo.toml");
        assert!(
            h.len() == 1
                && h[0].contains("set `builder` in [package.metadata.image] in Cargo.toml")
                && !h[0].contains("workspace.metadata"),
            "{h:?}"
        );
    }

    /// A crate linking a system library by name that the builder lacks (pam-sys's
    /// `-lpam`), as GNU ld and lld say it.
    #[test]
    fn a_library_the_linker_did_not_find_is_told_about_link_packages() {
        for output in [
            "  = note: /usr/bin/ld: cannot find -lpam: No such file or directory\n          \
             collect2: error: ld returned 1 exit status\nerror: could not compile `login`",
            "  = note: ld.lld: error: unable to find library -lpam\n",
        ] {
            let h = hints(output);
            assert!(
                h.len() == 1 && h[0].contains("system library `pam` (`libpam.so`)"),
                "{output}: {h:?}"
            );
        }
    }

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
        // Lemmy's build script reading a submodule that was not checked out, in a log
        // that says "git" elsewhere: not git's failure.
        let submodule = "    Updating git repository `https://github.com/x/y`\nerror: failed to run custom build command for `lemmy_email v1.0.0-beta.1 (/app/crates/email)`\n\nCaused by:\n  process didn't exit successfully: `/app/target/release/build/lemmy_email-8fc0/build-script-build` (exit status: 1)\n  --- stderr\n  Error: Os { code: 2, kind: NotFound, message: \"No such file or directory\" }";
        assert!(
            !hints(submodule).iter().any(|h| h.contains("ran git")),
            "{:?}",
            hints(submodule)
        );
        // A NotFound of something else in a build script is not blamed on git.
        assert!(
            hints("build script: Os { code: 2, kind: NotFound } opening proto/a.proto").is_empty()
        );
    }

    #[test]
    fn a_rust_version_above_the_builders_names_the_builder_key() {
        // Real output: ripgrep at 3fce3b5 (rust-version 1.96) on the 1.95 builder.
        let output = "error: rustc 1.95.0 is not supported by the following packages:\n  grep@0.4.1 requires rustc 1.96\n  grep-cli@0.1.12 requires rustc 1.96\n  ripgrep@15.2.0 requires rustc 1.96\n";
        let h = hints(output);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0].contains("builder = \"rust:1.96-slim-bookworm\""),
            "{h:?}"
        );
        let older = "error: package `app v0.1.0` cannot be built because it requires rustc 1.80.1 or newer, while the currently active rustc version is 1.79.0";
        assert!(hints(older)[0].contains("rust:1.80.1-slim-bookworm"));
        assert!(hints("a crate that requires rustc to be installed").is_empty());
    }

    #[test]
    fn a_build_script_missing_a_file_beside_its_package_names_build_files() {
        // Real output: prost-build reading ../../proto from crates/greeter-proto, without
        // `build-files`.
        let output = "error: failed to run custom build command for `greeter-proto v0.1.0 (/app/crates/greeter-proto)`\n\nCaused by:\n  process didn't exit successfully: `/app/target/release/build/greeter-proto-b58e5e8ed048f04d/build-script-build` (exit status: 1)\n  --- stdout\n  cargo:rerun-if-changed=../../proto/greeter.proto\n\n  --- stderr\n  Error: Custom { kind: Other, error: \"protoc failed: Could not make proto path relative: ../../proto/greeter.proto: No such file or directory\\n\" }";
        let h = hints(output);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(
            h[0].contains("`../../proto/greeter.proto` (`proto/greeter.proto` in the workspace)")
                && h[0].contains("`build-files = [\"proto\"]`"),
            "{h:?}"
        );
        // A sibling member's file (as a real build script read `../gateway-worker/proto`):
        // the layers mode has not copied that member yet.
        let sibling = "error: failed to run custom build command for `gateway v0.1.0 (/app/crates/gateway)`\n  --- stderr\n  thread 'main' panicked at crates/gateway/build.rs:3:65:\n  ../worker/proto/api.txt: Os { code: 2, kind: NotFound, message: \"No such file or directory\" }";
        let h = hints(sibling);
        assert!(
            h.len() == 1
                && h[0].contains("(`crates/worker/proto/api.txt` in the workspace)")
                && h[0].contains("`build-files = [\"crates/worker/proto\"]`"),
            "{h:?}"
        );
        // A missing file inside the package is not blamed on build-files.
        assert!(hints("error: failed to run custom build command for `a`\n  No such file or directory: src/x.txt").is_empty());
    }

    #[test]
    fn sqlx_query_macros_without_offline_data_name_prepare_and_build_env() {
        for output in [
            // sqlx 0.5 (launchbadge/realworld-axum-sqlx, no sqlx-data.json)
            "error: `DATABASE_URL` must be set to use query macros\n   --> src/http/users.rs:135:16",
            // sqlx 0.7+
            "error: set `DATABASE_URL` to use query macros online, or run `cargo sqlx prepare` to update the query cache",
            "error: `SQLX_OFFLINE=true` but there is no cached data for this query, run `cargo sqlx prepare` to update the query cache or unset `SQLX_OFFLINE`",
        ] {
            let h = hints(output);
            assert!(
                h.len() == 1 && h[0].contains("cargo sqlx prepare") && h[0].contains("SQLX_OFFLINE"),
                "{output}: {h:?}"
            );
        }
        assert!(hints("error: could not compile `sqlx-core`").is_empty());
    }

    #[test]
    fn a_build_script_starting_a_missing_program_names_it_and_build_packages() {
        // Real output (shortened): pgcat's jemallocator on a builder without make.
        let jemalloc = "error: failed to run custom build command for `jemalloc-sys v0.5.3+5.3.0-patched`\n\nCaused by:\n  process didn't exit successfully: `/app/target/release/build/jemalloc-sys-7a53/build-script-build` (exit status: 101)\n  --- stdout\n  running: cd \"/app/target/release/build/jemalloc-sys-2561/out/build\" && \"make\" \"-j\" \"2\"\n\n  --- stderr\n\n  thread 'main' (2178) panicked at /usr/local/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/jemalloc-sys-0.5.3+5.3.0-patched/build.rs:342:19:\n  failed to execute command: No such file or directory (os error 2)";
        let cmake = "error: failed to run custom build command for `x v1.0.0`\n  running: \"cmake\" \"/src\"\n  --- stderr\n  failed to execute command: No such file or directory (os error 2)\n  is `cmake` not installed?";
        let cc = "error: failed to run custom build command for `ring v0.17.8`\n  error occurred in cc-rs: failed to find tool \"x86_64-linux-musl-gcc\": No such file or directory (os error 2)";
        let unknown = "error: failed to run custom build command for `y v1.0.0`\n  failed to execute command: No such file or directory (os error 2)";
        for (output, program) in [
            (jemalloc, "`make`"),
            (cmake, "`cmake`"),
            (cc, "`x86_64-linux-musl-gcc`"),
            (unknown, "a program"),
        ] {
            let h = hints(output);
            assert_eq!(h.len(), 1, "{output}: {h:?}");
            assert!(
                h[0].contains(&format!("ran {program}, which")) && h[0].contains("build-packages"),
                "{h:?}"
            );
        }
        // The same words outside a build script's failure: no hint.
        assert!(
            hints("failed to execute command: No such file or directory (os error 2)").is_empty()
        );
    }

    #[test]
    fn an_old_time_crate_names_cargo_update() {
        // Real output (shortened): rathole 0.5.0 (time 0.3.29) on Rust 1.95.
        let output = "error[E0282]: type annotations needed for `Box<_>`\n  --> /usr/local/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/time-0.3.29/src/format_description/parse/mod.rs:83:9\nerror: could not compile `time` (lib) due to 1 previous error";
        let h = hints(output);
        assert!(
            h.len() == 1 && h[0].contains("cargo update -p time"),
            "{h:?}"
        );
        assert!(hints("error: could not compile `time` (lib) due to 2 previous errors\nerror[E0308]: mismatched types").is_empty());
        assert!(hints("error: could not compile `timely` (lib)\nerror[E0282]").is_empty());
    }

    #[test]
    fn a_locked_dependency_newer_rust_rejects_names_cargo_update_and_the_builder() {
        // The shape of rustus's build (metrics 0.23.0 on Rust 1.95), shortened.
        let output =
            "   Compiling metrics v0.23.0\nerror[E0521]: borrowed data escapes outside of \
                      associated function\n   --> /usr/local/cargo/registry/src/\
                      index.crates.io-1949cf8c6b5b557f/metrics-0.23.0/src/recorder/mod.rs:138:26\n\
                      note: raw pointer casts of trait objects cannot extend lifetimes\n\
                      error: could not compile `metrics` (lib) due to 1 previous error";
        let h = hints(output);
        assert!(
            h.len() == 1
                && h[0].starts_with("hint: `metrics` 0.23.0, a dependency Cargo.lock pins")
                && h[0].contains("`cargo update -p metrics`"),
            "{h:?}"
        );
        // The workspace's own code failing is the user's to fix.
        let own = "error[E0308]: mismatched types\n --> crates/api/src/main.rs:3:5\n\
                   error: could not compile `api` (bin \"api\") due to 1 previous error";
        assert!(hints(own).is_empty());
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
