//! Environment variables a local crate reads while it compiles, found in its Rust sources:
//! `env!("X")` (the compile fails without X), `option_env!("X")` (compiled in as `None`),
//! and a build script's `env::var("X")`, `env::var_os("X")` and
//! `cargo:rerun-if-env-changed=X`. On a laptop they come from the shell (kanidm's
//! `KANIDM_BUILD_PROFILE`, garage's `GIT_VERSION`, set by their own Dockerfiles and CI);
//! an image build sees only what the Dockerfile gives it, so the planner names the ones
//! nothing sets (`build-args`, `build-env`, `.cargo/config.toml [env]`).
//!
//! Left out: what cargo sets itself (`CARGO_*`, `OUT_DIR`, and a build script's `TARGET`,
//! `PROFILE`, `DEP_*` and the like), what the package's own build script sets with
//! `cargo:rustc-env=X=..` (any variable, when it names none itself or one by a computed
//! string: a library such as vergen may print them), and the C toolchain's variables, which
//! the builder's packages serve. Only string literals count: a name built at run time is not seen.

use std::collections::BTreeSet;

use crate::model::is_env_name;
use crate::reads::{callee, literals, macro_called, program_code};

/// How a variable is read.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// `env!`: the compile fails when it is not set.
    Env,
    /// `option_env!`: the program is compiled with `None`.
    OptionEnv,
    /// A build script's `env::var`, `env::var_os` or `rerun-if-env-changed`.
    BuildScript,
}

impl How {
    /// The read, and what happens without the variable, for a note.
    pub fn consequence(self) -> &'static str {
        match self {
            How::Env => "`env!`: the compile fails without it",
            How::OptionEnv => "`option_env!`: compiled in as `None` without it",
            How::BuildScript => "its build script reads it",
        }
    }
}

/// Variables cargo sets for a build script, and the toolchain's, that a build needs no
/// help with.
const BUILD_SCRIPT_SET: [&str; 34] = [
    "TARGET",
    "HOST",
    "NUM_JOBS",
    "OPT_LEVEL",
    "DEBUG",
    "PROFILE",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_LINKER",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "RUSTUP_TOOLCHAIN",
    "RUSTC_BOOTSTRAP",
    "PATH",
    "HOME",
    "USER",
    "TMPDIR",
    "CI",
    // docs.rs's marker: unset is what every other build sees.
    "DOCS_RS",
    "SOURCE_DATE_EPOCH",
    "CC",
    "CXX",
    "AR",
    "CFLAGS",
    "CXXFLAGS",
    "LDFLAGS",
    "LIBCLANG_PATH",
    "CLANG_PATH",
    "LLVM_CONFIG_PATH",
    "PROTOC",
    "PROTOC_INCLUDE",
    "CMAKE",
];

/// Whether cargo or the toolchain provides `name` (`build_script`: to a build script).
fn provided(name: &str, build_script: bool) -> bool {
    name.starts_with("CARGO")
        || name == "OUT_DIR"
        || (build_script
            && (BUILD_SCRIPT_SET.contains(&name)
                || name.starts_with("DEP_")
                || name.starts_with("PKG_CONFIG")
                || name.ends_with("_NO_PKG_CONFIG")))
}

/// The value of a build script's `cargo:KEY=..` (or `cargo::KEY=..`) instruction, if
/// `literal` is one.
fn cargo_instruction<'a>(literal: &'a str, key: &str) -> Option<&'a str> {
    ["cargo:", "cargo::"].iter().find_map(|prefix| {
        literal
            .strip_prefix(prefix)?
            .strip_prefix(key)?
            .strip_prefix('=')
    })
}

/// The variables `source` reads while compiling, each with how, in order of appearance
/// (cargo's own left out). In a build script (`build_script`) `env::var` counts too; in a
/// library or binary it runs when the program does.
pub fn env_reads(source: &str, build_script: bool) -> Vec<(String, How)> {
    let code = program_code(source);
    let mut out: Vec<(String, How)> = Vec::new();
    for (at, literal) in literals(&code) {
        let lead = &code[..at];
        let how = match macro_called(lead) {
            Some("env") => Some((literal, How::Env)),
            Some("option_env") => Some((literal, How::OptionEnv)),
            _ if build_script => {
                if callee(lead).is_some_and(is_var_call) {
                    Some((literal, How::BuildScript))
                } else {
                    cargo_instruction(literal, "rerun-if-env-changed")
                        .map(|name| (name, How::BuildScript))
                }
            }
            _ => None,
        };
        if let Some((name, how)) = how {
            if is_env_name(name)
                && !provided(name, build_script || how == How::BuildScript)
                && !out.iter().any(|(n, _)| n == name)
            {
                out.push((name.to_string(), how));
            }
        }
    }
    out
}

/// `env::var`, `std::env::var_os`, or `var` imported.
fn is_var_call(callee: &str) -> bool {
    ["env::var", "env::var_os"]
        .iter()
        .any(|f| callee.ends_with(f))
        || callee == "var"
        || callee == "var_os"
}

/// The variables program code (not a build script) reads from its environment when it
/// runs, in order of appearance: an upper-case name as the first argument of `env::var`,
/// `env::var_os`, dotenvy's `var`, or a function of the project's whose name says `env`
/// (rust-web-app's `get_env("SERVICE_DB_URL")`, `get_env_parse(..)`). On a laptop
/// `.cargo/config.toml`'s `[env]` gives them to `cargo run`; an image has only its `env`.
/// Not seen: a name built at run time, clap's `env = "X"` (a fallback the command line
/// covers).
pub fn run_env_reads(source: &str) -> Vec<String> {
    let code = program_code(source);
    let mut out: Vec<String> = Vec::new();
    for (at, literal) in literals(&code) {
        let Some(callee) = callee(&code[..at]) else {
            continue;
        };
        let name = callee.rsplit("::").next().unwrap_or(callee);
        let reads = matches!(name, "var" | "var_os") || name.to_ascii_lowercase().contains("env");
        let upper = !literal.bytes().any(|b| b.is_ascii_lowercase());
        if reads
            && upper
            && is_env_name(literal)
            && macro_called(&code[..at]).is_none()
            && !out.iter().any(|n| n == literal)
        {
            out.push(literal.to_string());
        }
    }
    out
}

/// What a build script sets for its package's compile with `cargo:rustc-env=NAME=..`:
/// the names, or `None` when it may set any: a name it computes, or no `rustc-env` of its
/// own (it may call a library that prints them: vergen, or kanidm's `profiles`, whose
/// `KANIDM_CPU_FLAGS` the server's `env!` reads).
pub fn rustc_env_set(build_script: &str) -> Option<BTreeSet<String>> {
    let code = program_code(build_script);
    let mut names = BTreeSet::new();
    for (_, literal) in literals(&code) {
        let Some(rest) = cargo_instruction(literal, "rustc-env") else {
            continue;
        };
        let name = rest.split('=').next().unwrap_or("");
        if !is_env_name(name) {
            return None;
        }
        names.insert(name.to_string());
    }
    (!names.is_empty()).then_some(names)
}

/// How `source` asks git while compiling, if it does: git-version's `git_version!` (lemmy's
/// version string, with a `fallback` when there is no repository), and in a build script
/// `Command::new("git")`, vergen's git instructions or shadow-rs. The image build has no
/// `.git` unless `git = true` gives it one: the crate fails, or quietly falls back.
pub fn git_use(source: &str, build_script: bool) -> Option<&'static str> {
    let with_strings = program_code(source);
    // Names looked for as code, not as a string or a comment that mentions them.
    let code = crate::reads::blanked(&with_strings, true);
    if code.contains("git_version!(") {
        return Some("`git_version!`");
    }
    if !build_script {
        return None;
    }
    if with_strings.contains("Command::new(\"git\")") {
        return Some("runs `git`");
    }
    let vergen = [
        "GitclBuilder",
        "Git2Builder",
        "GixBuilder",
        "vergen_gitcl",
        "vergen_git2",
        "vergen_gix",
        ".git_sha(",
        ".git_describe(",
        // vergen 8's `EmitBuilder::builder().all_git()`; before 8, `vergen(config)` emits
        // git's instructions with the `git` feature, which rathole tunes through
        // `config.git_mut()`.
        ".all_git(",
        ".git_mut(",
    ];
    if vergen.iter().any(|v| code.contains(v)) {
        return Some("vergen's git instructions");
    }
    code.contains("shadow_rs").then_some("shadow-rs")
}

/// The paths a build script watches by a literal (`println!("cargo:rerun-if-changed=.git")`,
/// the `cargo::` form too), as written, relative to its package; not one built by
/// `format!` or from a variable.
pub fn watched_paths(source: &str) -> Vec<String> {
    let code = crate::reads::program_code(source);
    let mut out: Vec<String> = Vec::new();
    for (_, literal) in crate::reads::literals(&code) {
        let Some(path) = ["cargo:rerun-if-changed=", "cargo::rerun-if-changed="]
            .iter()
            .find_map(|prefix| literal.strip_prefix(prefix))
        else {
            continue;
        };
        if !path.is_empty() && !path.contains(['{', '}', '\\']) && !out.iter().any(|p| p == path) {
            out.push(path.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_env_reads_are_upper_case_names_an_env_reading_call_takes() {
        let source = r#"
use std::env;
fn main() {
    let db = get_env("SERVICE_DB_URL")?;
    let ttl: u64 = lib_utils::envs::get_env_parse("SERVICE_TOKEN_DURATION_SEC")?;
    let port = env::var("PORT").unwrap_or_default();
    let home = std::env::var_os("HOME");
    let again = env::var("PORT");
    let built = env!("GIT_VERSION");
    let lower = env::var("not_a_name");
    let arg = matches.get_one::<String>("CONFIG");
    let url = dotenvy::var("DATABASE_URL");
}
#[cfg(test)]
mod tests { fn t() { std::env::var("ONLY_IN_TESTS").unwrap(); } }
"#;
        assert_eq!(
            run_env_reads(source),
            [
                "SERVICE_DB_URL",
                "SERVICE_TOKEN_DURATION_SEC",
                "PORT",
                "HOME",
                "DATABASE_URL"
            ]
        );
    }

    #[test]
    fn program_macros_and_build_script_calls() {
        let lib = r#"
pub const PROFILE: &str = env!("KANIDM_BUILD_PROFILE");
pub const COMMIT: Option<&str> = option_env!("GIT_VERSION");
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const G: &str = include_str!(concat!(env!("OUT_DIR"), "/g.rs"));
fn at_run_time() { std::env::var("DATABASE_URL").ok(); }
// env!("IN_A_COMMENT")
#[cfg(test)]
mod tests { const T: &str = env!("ONLY_IN_TESTS"); }
"#;
        assert_eq!(
            env_reads(lib, false),
            vec![
                ("KANIDM_BUILD_PROFILE".to_string(), How::Env),
                ("GIT_VERSION".to_string(), How::OptionEnv),
            ]
        );
        let build = r#"
use std::env::{self, var};
fn main() {
    println!("cargo:rerun-if-env-changed=KANIDM_BUILD_PROFILE");
    let p = env::var("KANIDM_BUILD_PROFILE").unwrap_or_default();
    let t = env::var("TARGET").unwrap();
    let o = std::env::var_os( "MY_FEATURE_FLAG" );
    let d = var("DEP_Z_INCLUDE");
    let docs = env::var("DOCS_RS").is_ok();
    let c = env::var("CARGO_CFG_TARGET_OS").unwrap();
    let s = var("SQLITE3_NO_PKG_CONFIG");
    println!("cargo::rerun-if-env-changed=PROTOC");
    println!("cargo:rerun-if-changed=build.rs");
}
"#;
        assert_eq!(
            env_reads(build, true),
            vec![
                ("KANIDM_BUILD_PROFILE".to_string(), How::BuildScript),
                ("MY_FEATURE_FLAG".to_string(), How::BuildScript),
            ]
        );
    }

    #[test]
    fn a_names_that_is_not_a_variable_is_not_one() {
        assert!(env_reads(r#"const X: &str = env!("not a name");"#, false).is_empty());
        assert!(env_reads(r#"fn main() { env::var(format!("{}_DIR", "X")); }"#, true).is_empty());
    }

    #[test]
    fn asking_git() {
        let lib = "pub const V: &str = git_version::git_version!(args = [\"--tags\"], fallback = \"0.1\");";
        assert_eq!(git_use(lib, false), Some("`git_version!`"));
        let build =
            "fn main() { let o = Command::new(\"git\").args([\"rev-parse\", \"HEAD\"]).output(); }";
        assert_eq!(git_use(build, true), Some("runs `git`"));
        assert_eq!(
            git_use(build, false),
            None,
            "a program running git does so at run time"
        );
        let vergen = "fn main() { let git = GitclBuilder::all_git()?; Emitter::default().add_instructions(&git)?.emit() }";
        let vergen7 = "fn main() { let mut config = Config::default();\n    \
                       *config.git_mut().semver_kind_mut() = SemverKind::Lightweight;\n    \
                       vergen(config) }";
        assert_eq!(git_use(vergen7, true), Some("vergen's git instructions"));
        assert_eq!(git_use(vergen, true), Some("vergen's git instructions"));
        assert_eq!(
            git_use(
                "fn main() { shadow_rs::ShadowBuilder::builder().build().unwrap(); }",
                true
            ),
            Some("shadow-rs")
        );
        let cargo_only =
            "fn main() { vergen::EmitBuilder::builder().build_timestamp().emit().unwrap(); }";
        assert_eq!(git_use(cargo_only, true), None);
        // A scanner's own source names what it looks for in strings and comments (ours:
        // `code.contains("git_version!(")`, said of cargo-image when planning this
        // repository): no use of git.
        let scanner = "/// Finds `git_version!(` and `shadow_rs`.\n\
                       fn find(code: &str) -> bool { code.contains(\"git_version!(\") || code.contains(\"shadow_rs\") }";
        assert_eq!(git_use(scanner, true), None);
    }

    #[test]
    fn what_a_build_script_sets() {
        let literal = r#"fn main() {
    println!("cargo:rustc-env=BUILD_INFO_TARGET={target}");
    println!("cargo::rustc-env=GIT_HASH={}", hash);
}"#;
        let set = rustc_env_set(literal).unwrap();
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            ["BUILD_INFO_TARGET", "GIT_HASH"]
        );
        assert_eq!(
            rustc_env_set(r#"fn main() { println!("cargo:rustc-env={}={}", k, v); }"#),
            None
        );
        let vergen =
            "fn main() -> Result<()> { vergen::Emitter::default().add_instructions(&git)?.emit() }";
        assert_eq!(rustc_env_set(vergen), None);
        let library = "fn main() { profiles::apply_profile(); }";
        assert_eq!(rustc_env_set(library), None);
    }
}
