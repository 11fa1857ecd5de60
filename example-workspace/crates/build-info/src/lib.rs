//! Facts about how this workspace was built, captured at compile time by
//! `build.rs`: the target triple, host, Cargo profile and rustc version.
//!
//! Useful in containers, where "which build is this?" is otherwise hard to
//! answer: `products-admin info` prints these.

use std::fmt;

/// Target triple the code was compiled for, e.g. `x86_64-unknown-linux-musl`.
pub const TARGET: &str = env!("BUILD_INFO_TARGET");
/// Triple of the machine that compiled it.
pub const HOST: &str = env!("BUILD_INFO_HOST");
/// `debug` or `release` (the base profile for custom profiles).
pub const PROFILE: &str = env!("BUILD_INFO_PROFILE");
/// Optimisation level, `0`..`3`, `s` or `z`.
pub const OPT_LEVEL: &str = env!("BUILD_INFO_OPT_LEVEL");
/// Output of `rustc -V`, e.g. `rustc 1.85.0 (4d91de4e4 2025-02-17)`.
pub const RUSTC: &str = env!("BUILD_INFO_RUSTC");
/// The commit the binary was built from, when the build was told (the `CATALOG_COMMIT`
/// build argument of the image build; unset in a plain `cargo build`).
pub const COMMIT: Option<&str> = option_env!("CATALOG_COMMIT");
/// Version of this crate, which is the workspace version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// All build facts in one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildInfo {
    pub version: &'static str,
    pub target: &'static str,
    pub host: &'static str,
    pub profile: &'static str,
    pub opt_level: &'static str,
    pub rustc: &'static str,
    pub commit: Option<&'static str>,
}

/// The build facts of the current binary.
pub const fn build_info() -> BuildInfo {
    BuildInfo {
        version: VERSION,
        target: TARGET,
        host: HOST,
        profile: PROFILE,
        opt_level: OPT_LEVEL,
        rustc: RUSTC,
        commit: COMMIT,
    }
}

impl BuildInfo {
    /// True when built for a different triple than the build machine.
    pub fn is_cross_compiled(&self) -> bool {
        self.target != self.host
    }
}

impl fmt::Display for BuildInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "version:   {}", self.version)?;
        writeln!(f, "target:    {}", self.target)?;
        writeln!(f, "host:      {}", self.host)?;
        writeln!(
            f,
            "profile:   {} (opt-level {})",
            self.profile, self.opt_level
        )?;
        writeln!(f, "rustc:     {}", self.rustc)?;
        write!(f, "commit:    {}", self.commit.unwrap_or("unknown"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_recorded() {
        let info = build_info();
        assert_eq!(info.version, "0.3.1");
        assert!(info.target.contains('-'), "target triple: {}", info.target);
        assert!(info.rustc.starts_with("rustc "), "rustc: {}", info.rustc);
        assert!(matches!(info.profile, "debug" | "release"));
    }

    #[test]
    fn display_lists_every_fact() {
        let text = build_info().to_string();
        for key in ["version:", "target:", "host:", "profile:", "rustc:", "commit:"] {
            assert!(text.contains(key), "{key} missing from {text}");
        }
    }
}
