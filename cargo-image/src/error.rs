//! Typed errors at the library boundary. Each says what is wrong, on what, and how to fix
//! it, in one paragraph; the binary prints them with `{:#}` and exits non-zero.

use std::fmt;

/// Why a workspace could not be read or planned.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The manifest path given does not exist.
    ManifestNotFound { path: String },
    /// The manifest path given is a directory (cargo takes a manifest's path only).
    ManifestIsDirectory { path: String },
    /// No `--manifest-path`, and no workspace around the current directory.
    NoWorkspace { message: String },
    /// `cargo metadata` failed; carries cargo's own message.
    Metadata { manifest: String, message: String },
    /// `cargo metadata` failed on a path inside a git submodule that is not checked out
    /// (rustdesk-server's `libs/hbb_common`, cloned without `--recursive`).
    MissingSubmodule {
        manifest: String,
        message: String,
        /// The submodules' paths, relative to the manifest's directory.
        submodules: Vec<String>,
    },
    /// The workspace has no `Cargo.lock`.
    MissingLockfile { workspace: String },
    /// A config table has an unknown key, a wrong type or a bad value.
    InvalidConfig { manifest: String, message: String },
    /// No workspace member has a binary target.
    NoBinaries { workspace: String },
    /// Every binary is skipped, by `skip = true` or by default (an xtask, a Windows
    /// program, a package built for another target), and no `--bin` picks one.
    EveryBinarySkipped {
        workspace: String,
        /// Each binary with why: "`a`: `skip = true`".
        skipped: Vec<String>,
    },
    /// `--bin` named a binary the workspace does not have.
    UnknownBin {
        name: String,
        available: Vec<String>,
    },
    /// A path the build needs is left out of the build context by a `.dockerignore` rule.
    ExcludedFromContext {
        path: String,
        what: String,
        rule: String,
        dockerignore: String,
    },
    /// A context path a package compiles from has a name no bind mount can carry.
    UnbindablePath {
        package: String,
        manifest: String,
        path: String,
        problem: String,
    },
    /// A local package lies outside the build context.
    UnreachablePath {
        package: String,
        path: String,
        context: String,
    },
    /// A package is reached through a symlink whose target lies outside the build context.
    SymlinkOutside {
        package: String,
        link: String,
        target: String,
        context: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ManifestNotFound { path } => write!(
                f,
                "manifest `{path}` does not exist; pass the path of a workspace's Cargo.toml \
                 with `--manifest-path`"
            ),
            Error::ManifestIsDirectory { path } => write!(
                f,
                "`{path}` is a directory; `--manifest-path` takes a Cargo.toml: pass \
                 `--manifest-path {}`",
                std::path::Path::new(path).join("Cargo.toml").display()
            ),
            Error::NoWorkspace { message } => write!(
                f,
                "no Cargo workspace around the current directory ({message}); run the \
                 command inside your workspace or pass its Cargo.toml with `--manifest-path`"
            ),
            Error::ExcludedFromContext {
                path,
                what,
                rule,
                dockerignore,
            } => write!(
                f,
                "`{path}` ({what}) is left out of the build context by the rule `{rule}` in \
                 `{dockerignore}`, but the build needs it; remove that rule, or add `!{path}` \
                 on a line after it"
            ),
            Error::MissingSubmodule {
                manifest,
                message,
                submodules,
            } => write!(
                f,
                "`cargo metadata` failed for `{manifest}`: {}; the git submodule{} {} {} not \
                 checked out (a clone without `--recursive`): run `git submodule update --init \
                 --recursive` in the repository",
                message.trim(),
                if submodules.len() == 1 { "" } else { "s" },
                submodules
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if submodules.len() == 1 { "is" } else { "are" },
            ),
            // A source cargo could not reach (qdrant's and rustdesk-server's git
            // dependencies on a machine without github.com) is no fault of the manifest.
            Error::Metadata { manifest, message } if unreachable_source(message) => write!(
                f,
                "`cargo metadata` failed for `{manifest}`: {}; cargo could not fetch a \
                 dependency's source: this machine must reach it (its git host or registry), \
                 or the workspace vendor it (`cargo vendor`)",
                message.trim()
            ),
            Error::Metadata { manifest, message } => write!(
                f,
                "`cargo metadata` failed for `{manifest}`: {}; fix the manifest until \
                 `cargo metadata --manifest-path {manifest}` succeeds",
                message.trim()
            ),
            Error::MissingLockfile { workspace } => write!(
                f,
                "workspace `{workspace}` has no Cargo.lock, and images must build from \
                 locked dependencies; run `cargo generate-lockfile` there and commit the file"
            ),
            Error::InvalidConfig { manifest, message } => write!(
                f,
                "invalid image configuration in `{manifest}`: {}; see the keys documented \
                 in README.md (section Configuration)",
                message.trim()
            ),
            Error::NoBinaries { workspace } => write!(
                f,
                "workspace `{workspace}` has no binary target, so there is nothing to put in \
                 an image; add a `src/main.rs` or a `[[bin]]` to a member"
            ),
            Error::EveryBinarySkipped { workspace, skipped } => write!(
                f,
                "every binary of workspace `{workspace}` is skipped ({}), so there is \
                 nothing to put in an image; set `skip = false` under \
                 [package.metadata.image.bin.<name>] for one, or name one with `--bin NAME`",
                skipped.join(", ")
            ),
            Error::UnknownBin { name, available } => write!(
                f,
                "no binary `{name}` in the workspace; available: {}",
                available.join(", ")
            ),
            Error::UnbindablePath {
                package,
                manifest,
                path,
                problem,
            } => write!(
                f,
                "`{}`, which package `{package}` (`{manifest}`) compiles from and the build \
                 binds by name, {problem}; rename it (it holds the package's sources, which \
                 no compile step can go without)",
                path.escape_debug(),
            ),
            Error::UnreachablePath {
                package,
                path,
                context,
            } => write!(
                f,
                "package `{package}` at `{path}` lies outside the build context `{context}`, \
                 so Docker cannot copy it; set `context` in [workspace.metadata.image] to a \
                 directory that contains both (e.g. `context = \"..\"`)"
            ),
            Error::SymlinkOutside {
                package,
                link,
                target,
                context,
            } => write!(
                f,
                "package `{package}` is reached through the symlink `{link}`, which points to \
                 `{target}`, outside the build context `{context}`: the build context holds \
                 the link, not what it points to; move the package inside the context and \
                 link to it there, or set `context` in [workspace.metadata.image] to a \
                 directory that contains both"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Whether cargo's message says it failed to reach a dependency's source.
fn unreachable_source(message: &str) -> bool {
    message.contains("failed to load source for dependency")
        && [
            "network failure",
            "failed to resolve address",
            "Could not resolve host",
        ]
        .iter()
        .any(|m| message.contains(m))
}

#[cfg(test)]
mod tests {
    use super::Error;

    /// An unreachable git dependency is not called a manifest to fix; a manifest cargo
    /// cannot parse still is.
    #[test]
    fn an_unreachable_source_is_not_blamed_on_the_manifest() {
        let failed = |message: &str| {
            Error::Metadata {
                manifest: "Cargo.toml".into(),
                message: message.into(),
            }
            .to_string()
        };
        let shown = failed(
            "error: failed to load source for dependency `tonic`\n\nCaused by:\n  network \
             failure seems to have happened",
        );
        assert!(
            shown.contains("could not fetch a dependency's source"),
            "{shown}"
        );
        assert!(!shown.contains("fix the manifest"), "{shown}");
        let shown = failed("error: could not parse input as TOML");
        assert!(shown.contains("fix the manifest"), "{shown}");
    }
}
