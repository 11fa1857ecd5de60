//! The workspace model: everything the planner needs to know about a Cargo workspace,
//! as plain data.
//!
//! [`crate::read`] fills it from `cargo metadata`, the manifests and a few files; the
//! planner ([`crate::plan`]) consumes it. Keeping this a plain serde struct lets tests
//! build models without a real workspace and lets the planner stay pure.
//!
//! All paths are relative to the **build context** (the directory Docker sees), use `/`
//! as separator, and never start with `./`; the empty string is the context root.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::{PackageConfig, WorkspaceConfig};

/// A Cargo workspace as seen from its build context.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Workspace {
    /// The workspace root directory, relative to the build context ("" when they coincide).
    pub root: String,
    /// Every local package (no registry or git source): members and path dependencies.
    pub packages: Vec<Package>,
    /// Files that must be in the skeleton verbatim, keyed by path: `rust-toolchain.toml`,
    /// `.cargo/config.toml`, and the like.
    pub extra_files: BTreeMap<String, String>,
    /// The text of the workspace root manifest (for a virtual workspace it is no package's).
    pub root_manifest: String,
    /// Workspace-level image configuration (`[workspace.metadata.image]`).
    pub config: WorkspaceConfig,
    /// The Rust version the builder image defaults to, from `rust-toolchain.toml` or `rustc -V`.
    pub rust_version: String,
    /// The user's own `.dockerignore` rules (without our generated block), if any.
    #[serde(default)]
    pub dockerignore: Option<String>,
    /// `dockerfile-append`: the file's context-relative path and its text.
    #[serde(default)]
    pub dockerfile_append: Option<(String, String)>,
    /// The workspace's own `Dockerfile` (not ours: no marker), its last stage's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_dockerfile: Option<crate::own_dockerfile::OwnDockerfile>,
    /// The workspace's own compose file (not ours: no marker): the data directories its
    /// services mount and the ports they publish, for the notes on what the generated
    /// images lack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_compose: Option<crate::own_compose::OwnCompose>,
    /// The resolved dependency graph (`cargo metadata`'s resolve), for inferring system
    /// packages: every package with its enabled features and normal/build edges.
    #[serde(default)]
    pub resolved: Vec<Resolved>,
    /// Directory sources the cargo configuration names (`cargo vendor`'s `vendor/`, with
    /// `[source.vendored-sources] directory = "vendor"`), sorted: the offline steps need
    /// them before any crate compiles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendor_dirs: Vec<String>,
    /// `[patch]` path packages no build resolves (atuin's fork of axoasset, a dependency
    /// of a feature off by default), context-relative, sorted: cargo reads each to load the
    /// workspace, so they reach the build whole, like `vendor_dirs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patch_dirs: Vec<String>,
    /// Symlinks on the way to a local package (`crates/api` → `../elsewhere/api`), link
    /// path → target relative to the link's directory. Cargo finds the package through the
    /// link; the paths above are the resolved ones, so the build recreates the link.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
    /// With `git = true`: the repository's `.git` directory, relative to the context (the
    /// nearest one at or above the workspace root, inside the context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_dir: Option<String>,
    /// Whether `git = true` could give the build a `.git` (one is in the context, and the
    /// user's `.dockerignore` keeps it), for the note on crates that ask git.
    #[serde(default)]
    pub git_available: bool,
    /// The rule of the user's `.dockerignore` that leaves the repository's `.git` out of
    /// the build context (static-web-server's, sozu's, docs.rs's): `git = true` is refused
    /// until it goes, and the note on crates that ask git says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ignored_by: Option<String>,
    /// The `git+ssh://` sources of the resolved packages (repository URLs without the
    /// commit), sorted: fetching them needs the caller's SSH agent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_sources: Vec<String>,
    /// Paths sources read at compile time outside their package directory (see
    /// [`crate::reads`]), context-relative, that exist in the build context, with what
    /// reads them. The planner binds each where its readers compile.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub compile_reads: BTreeMap<String, CompileRead>,
    /// Paths in the workspace that program code names as it would open them at run time,
    /// relative to the workspace root (zero2prod's `"configuration"`, pgcat's
    /// `"pgcat.toml"`), or else to its package's directory (actix's examples serve
    /// `"./static/"` from theirs) or through `env!("CARGO_MANIFEST_DIR")` (`run_as`),
    /// context-relative, with what names them
    /// (same shape as a compile read; `readers` are the packages whose code names them).
    /// The planner notes each an image lacks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub run_reads: BTreeMap<String, CompileRead>,
    /// Paths program code embeds at compile time by name (`include_dir!`, `include_str!`,
    /// rust-embed's `#[folder]`) that the build context lacks (missing, as kellnr's
    /// front-end bundle before its npm build, or left out by `.dockerignore`), with why and
    /// the packages that embed them: their compile fails, and the planner says so first.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub missing_reads: BTreeMap<String, CompileRead>,
    /// Git submodules (`.gitmodules` at the workspace root or the context root) whose
    /// directory is missing or empty, context-relative: a clone without `--recursive`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_submodules: Vec<String>,
    /// Packages whose own code calls sqlx's query macros with no offline query data in the
    /// context (`.sqlx/` or `sqlx-data.json`, beside the package or at the workspace root):
    /// their compile needs a database. Sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sqlx_online: Vec<String>,
    /// The SQLite database a `.env` names for sqlx's query macros in packages without
    /// offline data (rustdesk-server's committed `DATABASE_URL=sqlite://./db_v2.sqlite3`):
    /// unless the build is given a database otherwise, the plan binds its file where the
    /// queries compile and gives the compile steps its URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sqlx_database: Option<SqlxDatabase>,
    /// Test targets' sources a `.dockerignore` rule leaves out of the context (zero2prod's
    /// `tests/`), context-relative, with the rule: the images build without them, but the
    /// `test` target cannot run them (it fails rather than run the skeleton's stand-in).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tests_left_out: BTreeMap<String, String>,
    /// What the directories holding the packages' sources contain in the build context:
    /// every ancestor of a package's sources below the context root, with its entries the
    /// effective `.dockerignore` keeps (context-relative, sorted). The planner binds such a
    /// directory whole where everything in it is bound anyway (kellnr's `crates/`: one
    /// line for sixteen packages). Empty when the rules re-include paths (`!rule`), whose
    /// effect on a directory's entries this listing would not show.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context_dirs: BTreeMap<String, Vec<String>>,
    /// Run-time reads (`run_reads` keys) whose configuration listens on loopback, with the
    /// line (`config.toml:5: address = "127.0.0.1:8000"`): shipped as they are, the
    /// service answers only its own container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub run_loopbacks: BTreeMap<String, crate::listen::ConfigEntry>,
    /// Paths `files` ships (context paths) whose configuration sets secrets to literals
    /// (sonic's `auth_password`), with the lines: anyone who pulls the image reads them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shipped_secrets: BTreeMap<String, Vec<crate::listen::ConfigEntry>>,
    /// Paths `files` ships (context paths) whose configuration sets the ports a server
    /// listens on ([`crate::listen::config_ports`]: pgcat's `port = 6432`), with the lines:
    /// the ports of the images that ship them, when neither `args` nor code give one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shipped_ports: BTreeMap<String, Vec<(u16, crate::listen::ConfigEntry)>>,
}

/// A SQLite database that sqlx's query macros check queries against while compiling,
/// named by a `.env` ([`Workspace::sqlx_database`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SqlxDatabase {
    /// `DATABASE_URL` as the `.env` gives it (`sqlite://./db_v2.sqlite3`).
    pub url: String,
    /// The `.env` that gives it, context-relative.
    pub env_file: String,
    /// The database file, context-relative.
    pub file: String,
    /// The packages whose query macros read it.
    pub readers: BTreeSet<String>,
}

/// A path local sources read at compile time outside their package directory.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CompileRead {
    /// The first source that names it and the literal it names it by, for `plan`.
    pub why: String,
    /// The packages whose compile reads it: their layers bind it, the others need not.
    pub readers: BTreeSet<String>,
    /// For a run-time read the program does not look for at its workspace-relative path
    /// under its working directory, where it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<RunAs>,
}

/// Where a program looks for a file it opens at run time, when not at the path relative to
/// the workspace root under its working directory.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case")]
pub enum RunAs {
    /// Relative to its working directory as the code names it, found from its package's
    /// directory (`static/root` for `basics/static-files/static/root`).
    FromWorkdir(String),
    /// In its package's directory as the build stage has it ([`BUILD_DIR`] and the
    /// context-relative path), fixed when it compiled by `env!("CARGO_MANIFEST_DIR")`.
    BuildStage,
}

/// Where the build stages put the build context: a package's `CARGO_MANIFEST_DIR` is this
/// joined with its context-relative directory.
pub const BUILD_DIR: &str = "/app";

/// One package of the resolved graph.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Resolved {
    pub name: String,
    pub version: String,
    pub features: Vec<String>,
    /// Indexes into [`Workspace::resolved`] of its normal and build dependencies.
    pub deps: Vec<usize>,
    /// Its manifest's `rust-version`: cargo refuses to compile it with an older rustc.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rust_version: Option<String>,
}

/// One local package.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// A workspace member (as opposed to a path dependency or a `[patch]` path outside it).
    pub member: bool,
    /// The package directory ("" for a root package at the context root).
    pub dir: String,
    /// The manifest's original text (the skeleton masks it; see [`crate::skeleton`]).
    pub manifest: String,
    pub description: Option<String>,
    pub license: Option<String>,
    pub repository: Option<String>,
    pub homepage: Option<String>,
    pub targets: Vec<Target>,
    /// Local packages this one depends on, with the kinds of the edge.
    pub deps: Vec<LocalDep>,
    /// `[package.metadata.image]` of this package.
    pub config: PackageConfig,
    /// The context paths this package's compile reads, as they exist in the build context
    /// (after `.dockerignore`): its directory, or, when other packages are nested in it (a
    /// root package), its entries outside theirs; plus the directories of targets outside
    /// it. Empty: derived from the targets (models built without a file tree).
    #[serde(default)]
    pub sources: Vec<String>,
    /// The features the package defines (`[features]`, and optional dependencies'
    /// implicit ones).
    #[serde(default)]
    pub features: Vec<String>,
    /// The optional dependencies (package names) each feature enables, directly or through
    /// other features; only features that enable one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_deps: BTreeMap<String, Vec<String>>,
    /// `build.target` of the package's own `.cargo/config.toml` (or `.cargo/config`): the
    /// target its authors build it for from its directory (zellij's plugins:
    /// `wasm32-wasip1`), which a build from the workspace root does not apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_target: Option<String>,
    /// `default-run`: the binary `cargo run` starts where the package has several (nushell's
    /// `nu` among its test programs), the one a dev image should run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_run: Option<String>,
    /// The package's own features its `default` feature turns on, directly or through
    /// others (`default` itself not among them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_features: Vec<String>,
    /// The calls its program code makes that detach into the background
    /// (`Daemonize::new`), by source file, when its command line declares a flag that keeps
    /// it in the foreground: it detaches by default ([`crate::subcommands`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub daemon_calls: BTreeMap<String, String>,
    /// That flag (spotifyd's `--no-daemon`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreground_flag: Option<String>,
    /// Binaries whose command line needs a subcommand ([`crate::subcommands`]), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub needs_subcommand: BTreeMap<String, NeedsSubcommand>,
    /// Binaries whose command line requires arguments, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub needs_arguments: BTreeMap<String, NeedsArguments>,
    /// Environment variables its compile reads that neither cargo nor its own build script
    /// sets ([`crate::build_env`]), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env_reads: BTreeMap<String, EnvRead>,
    /// Loopback addresses its program code listens on ([`crate::listen`]), by source file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub loopback: BTreeMap<String, Vec<crate::listen::Loopback>>,
    /// What its program code says about the ports it listens on ([`crate::listen`]), by
    /// source file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub listen: BTreeMap<String, crate::listen::ListenFacts>,
    /// What its program code says about the signals it handles ([`crate::signals`]), by
    /// source file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signals: BTreeMap<String, crate::signals::SignalFacts>,
    /// The variables its program code reads from its environment when it runs
    /// ([`crate::build_env::run_env_reads`]), by source file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub run_env: BTreeMap<String, Vec<String>>,
    /// The paths its program code writes to when it runs, relative to its working
    /// directory ([`crate::reads::written_paths`]), by source file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub writes: BTreeMap<String, Vec<crate::reads::Written>>,
    /// The first call that creates a file at a path it computes
    /// ([`crate::reads::computed_create`]: dufs's `File::create(path)`), by source file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub creates: BTreeMap<String, String>,
    /// The absolute paths of its own configuration and state its program code names
    /// ([`crate::reads::system_paths`]), by source file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub system_paths: BTreeMap<String, Vec<crate::reads::SystemPath>>,
    /// Programs its program code starts ([`crate::spawn`]), by source file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spawns: BTreeMap<String, Vec<String>>,
    /// The first source that asks git while compiling, and how ([`crate::build_env::git_use`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_use: Option<(String, String)>,
    /// Paths its build script watches (`cargo:rerun-if-changed=.git`) that the compile
    /// steps may not see: a `.dockerignore` rule leaves them out, or they are in the
    /// repository's `.git` (bound only with `git = true`); each with the script. Cargo
    /// counts a missing path as changed, so every build re-runs the script and recompiles
    /// the package (vaultwarden's `.git`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unseen_watches: Vec<UnseenWatch>,
    /// `compile_error!`s under a `#[cfg]` naming a feature ([`crate::cfg::feature_guards`]),
    /// by source file (its build script's too).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub feature_guards: BTreeMap<String, Vec<crate::cfg::FeatureGuard>>,
}

/// A path a build script watches that the build context leaves out ([`Package::unseen_watches`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct UnseenWatch {
    /// The build script, context-relative.
    pub script: String,
    /// The path as the script names it (relative to its package).
    pub path: String,
    /// The path, context-relative.
    pub in_context: String,
    /// The `.dockerignore` rule that leaves it out; `None`: in `.git`, which only
    /// `git = true` brings.
    pub rule: Option<String>,
}

/// Where a package's compile reads an environment variable.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnvRead {
    /// The first source file that reads it.
    pub file: String,
    pub how: crate::build_env::How,
}

/// A program whose derived command line requires arguments ([`crate::subcommands::RequiredArg`]):
/// started with none, it prints its usage and exits.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NeedsArguments {
    /// The type it parses (`Cli`) and the file that declares it.
    pub parser: String,
    pub file: String,
    pub args: Vec<crate::subcommands::RequiredArg>,
    /// Configuration-file options defaulting to an absolute path: as shown, and the path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_defaults: Vec<(String, String)>,
}

/// A program whose derived command line needs a subcommand: started with no arguments,
/// it prints its usage and exits.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NeedsSubcommand {
    /// The type it parses (`Args`) and the file that declares it.
    pub parser: String,
    pub file: String,
    /// Its subcommands, as typed (`serve`, `generate-config`); empty when not found.
    pub subcommands: Vec<String>,
}

/// A compilation target of a package (lib, bin, test, ...), explicit or auto-discovered.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    pub kind: TargetKind,
    pub name: String,
    /// Path of the crate root, relative to the build context.
    pub src_path: String,
    pub required_features: Vec<String>,
}

/// What a target is; decides the dummy source the skeleton gets for it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    Lib,
    ProcMacro,
    Bin,
    Example,
    Test,
    Bench,
    BuildScript,
}

/// An edge to another local package.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalDep {
    pub package: String,
    pub kind: DepKind,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum DepKind {
    Normal,
    Build,
    Dev,
}

impl Workspace {
    /// The binaries of the workspace members, as `(package, bin target)`, sorted by bin name.
    pub fn binaries(&self) -> Vec<(&Package, &Target)> {
        let mut bins: Vec<_> = self
            .packages
            .iter()
            .filter(|p| p.member)
            .flat_map(|p| {
                p.targets
                    .iter()
                    .filter(|t| t.kind == TargetKind::Bin)
                    .map(move |t| (p, t))
            })
            .collect();
        bins.sort_by(|a, b| a.1.name.cmp(&b.1.name).then(a.0.name.cmp(&b.0.name)));
        bins
    }

    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    /// Where the workspace keys go, as notes name it: `[workspace.metadata.image] in
    /// Cargo.toml`, or a single-package project's `[package.metadata.image]` (a root
    /// manifest without `[workspace]`, hyperfine's), which takes them too.
    pub fn workspace_table(&self) -> String {
        let workspace = (self.root_manifest.parse::<toml::Table>())
            .map_or(true, |t| t.contains_key("workspace"));
        format!(
            "[{}.metadata.image] in {}",
            if workspace { "workspace" } else { "package" },
            self.in_root("Cargo.toml")
        )
    }

    /// Joins a path relative to the workspace root onto the context-relative root.
    pub fn in_root(&self, rel: &str) -> String {
        join(&self.root, rel)
    }

    /// A context-relative path as relative to the workspace root ([`Self::in_root`]'s
    /// inverse), for what the user reads.
    pub fn from_root<'a>(&self, path: &'a str) -> &'a str {
        path.strip_prefix(self.root.as_str())
            .unwrap_or(path)
            .trim_start_matches('/')
    }
}

/// Joins two `/`-separated relative paths, where "" means "here".
pub fn join(base: &str, rel: &str) -> String {
    match (base.is_empty(), rel.is_empty()) {
        (true, _) => rel.to_string(),
        (false, true) => base.to_string(),
        (false, false) => format!("{base}/{rel}"),
    }
}

/// Whether `name` can be an environment variable's name in a Dockerfile and a shell (and
/// so in `env!`): letters, digits and `_`, not starting with a digit.
pub fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Where cargo reads its configuration in a directory, the first one there winning
/// (`.cargo/config` is the name before cargo 1.39).
pub const CARGO_CONFIGS: [&str; 2] = [".cargo/config.toml", ".cargo/config"];

/// Whether `path` is `dir` or lies below it ("" contains everything).
pub fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path == dir
        || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

/// POSIX `cksum`: CRC-32 (polynomial 0x04C11DB7, most significant bit first) over the
/// data and then its length, complemented. The same number as
/// `printf %s DATA | cksum` prints.
pub fn cksum(data: &[u8]) -> u32 {
    fn feed(crc: u32, byte: u8) -> u32 {
        let mut c = crc ^ (u32::from(byte) << 24);
        for _ in 0..8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04C1_1DB7
            } else {
                c << 1
            };
        }
        c
    }
    let mut crc = data.iter().fold(0, |crc, &b| feed(crc, b));
    let mut len = data.len() as u64;
    while len != 0 {
        crc = feed(crc, len as u8);
        len >>= 8;
    }
    !crc
}

/// The offline query data sqlx's query macros read, by the sqlx versions `resolved` holds:
/// `.sqlx/` (0.7+); `sqlx-data.json` (0.5 and 0.6), and only with sqlx's `offline`
/// feature on (without it they always ask a database). Both when no sqlx is resolved.
pub fn sqlx_data_names(resolved: &[Resolved]) -> Vec<&'static str> {
    let mut names = Vec::new();
    let mut any = false;
    for sqlx in resolved.iter().filter(|r| r.name == "sqlx") {
        any = true;
        if version_key(&sqlx.version) >= vec![0, 7] {
            names.push(".sqlx");
        } else if sqlx.features.iter().any(|f| f == "offline") {
            names.push("sqlx-data.json");
        }
    }
    if !any {
        names = vec![".sqlx", "sqlx-data.json"];
    }
    names.sort();
    names.dedup();
    names
}

/// A resolved sqlx older than 0.7 without its `offline` feature: its version. Its query
/// macros never read `sqlx-data.json`, so a build with no database fails however the
/// data is committed.
pub fn sqlx_without_offline(resolved: &[Resolved]) -> Option<&str> {
    resolved
        .iter()
        .find(|r| {
            r.name == "sqlx"
                && version_key(&r.version) < vec![0, 7]
                && !r.features.iter().any(|f| f == "offline")
        })
        .map(|r| r.version.as_str())
}

/// The numeric components of a version, for ordering: `1.100` above `1.96`, `0.39.1` →
/// [0, 39, 1]; a pre-release or build suffix ends the component it is on
/// (`300.5.5+3.5.5` → [300, 5, 5]).
pub fn version_key(version: &str) -> Vec<u64> {
    let mut key = Vec::new();
    for part in version.split('.') {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        let Ok(n) = digits.parse() else { break };
        key.push(n);
        if digits.len() < part.len() {
            break;
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cksum_matches_posix_cksum() {
        // `printf %s … | cksum` on Debian 12 (GNU coreutils).
        assert_eq!(cksum(b""), 4_294_967_295);
        assert_eq!(cksum(b"abc"), 1_219_131_554);
        assert_eq!(cksum(b"/work/main/example-workspace"), 1_048_029_541);
    }

    #[test]
    fn versions_compare_numerically() {
        assert!(version_key("1.100") > version_key("1.96"));
        assert!(version_key("1.96") > version_key("1.95.0"));
        assert!(version_key("1.85.1") > version_key("1.85"));
        assert!(version_key("0.20.1") < version_key("0.21.0"));
        assert!(version_key("0.39.1") >= version_key("0.21.0"));
        assert_eq!(version_key("300.5.5+3.5.5"), [300, 5, 5]);
        assert_eq!(version_key("1.0.0-rc.1"), [1, 0, 0]);
    }
}
