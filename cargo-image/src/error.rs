//! Typed errors at the library boundary. Each says what is wrong, on what, and how to fix
//! it, in one paragraph; the binary prints them with `{:#}` and exits non-zero.

use std::fmt;

/// Why a workspace could not be read or planned.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The manifest path given does not exist.
    ManifestNotFound { path: String },
    /// No `--manifest-path`, and no workspace around the current directory.
    NoWorkspace { message: String },
    /// `cargo metadata` failed; carries cargo's own message.
    Metadata { manifest: String, message: String },
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
