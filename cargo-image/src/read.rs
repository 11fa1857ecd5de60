//! Reads a workspace into the [`Workspace`] model: `cargo metadata`, the manifests' text
//! (for masking and for the config tables), and the toolchain and cargo config files.
//!
//! This is the only module before the drivers that does I/O. It writes nothing: in
//! particular it never lets cargo create a missing `Cargo.lock`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_metadata::{DependencyKind, Metadata, MetadataCommand};

use crate::config::{parse_manifest_tables, workspace_strings, PackageConfig, WorkspaceConfig};
use crate::error::Error;
use crate::ignore::{self, IgnoreRules};
use crate::model::{
    version_key, CompileRead, DepKind, LocalDep, Package, SqlxDatabase, Target, TargetKind,
    Workspace,
};

/// Files cargo reads before compiling anything, at the workspace root (and the context
/// root when it is another directory).
const TOOLCHAIN_FILES: [&str; 4] = [
    "rust-toolchain.toml",
    "rust-toolchain",
    ".cargo/config.toml",
    ".cargo/config",
];

/// A workspace as read from disk, with the directories the drivers need.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub workspace: Workspace,
    /// The workspace root directory (absolute).
    pub workspace_dir: PathBuf,
    /// The build context directory (absolute).
    pub context_dir: PathBuf,
}

/// Reads the workspace whose manifest is `manifest_path`.
pub fn read(manifest_path: &Path) -> Result<Loaded, Error> {
    read_with_features(manifest_path, &[])
}

/// [`read`], with the dependency graph resolved for `features` (`feat` or `pkg/feat`, as
/// the build passes them): an optional dependency those features enable is in the graph,
/// so the system packages it needs are inferred.
pub fn read_with_features(manifest_path: &Path, features: &[String]) -> Result<Loaded, Error> {
    if manifest_path.is_dir() {
        return Err(Error::ManifestIsDirectory {
            path: manifest_path.display().to_string(),
        });
    }
    if !manifest_path.is_file() {
        return Err(Error::ManifestNotFound {
            path: manifest_path.display().to_string(),
        });
    }
    let shown = manifest_path.display().to_string();
    let manifest_dir = manifest_path.parent().unwrap_or(Path::new("."));
    let metadata_err = |e: cargo_metadata::Error| {
        let message = match e {
            cargo_metadata::Error::CargoMetadata { stderr } => from_first_error(&stderr),
            other => other.to_string(),
        };
        // A path cargo could not read inside a submodule the clone left empty.
        let submodules: Vec<String> = missing_submodules(manifest_dir, "")
            .into_iter()
            .filter(|s| message.contains(&format!("/{s}/")))
            .collect();
        if submodules.is_empty() {
            Error::Metadata {
                manifest: shown.clone(),
                message,
            }
        } else {
            Error::MissingSubmodule {
                manifest: shown.clone(),
                message,
                submodules,
            }
        }
    };
    // First without resolving, to find the workspace root and check for Cargo.lock before
    // anything could create one.
    let shallow = metadata(manifest_path, &["--no-deps"]).map_err(metadata_err)?;
    let workspace_dir = shallow.workspace_root.clone().into_std_path_buf();
    if !workspace_dir.join("Cargo.lock").is_file() {
        return Err(Error::MissingLockfile {
            workspace: workspace_dir.join("Cargo.toml").display().to_string(),
        });
    }
    let joined = features.join(",");
    let mut options = vec!["--locked"];
    if !features.is_empty() {
        options.extend(["--features", joined.as_str()]);
    }
    // The resolve for each target the images are built for (`--filter-platform`): a
    // dependency for another platform (`[target.'cfg(windows)'.dependencies]`) is never
    // built into an image, so it must not infer packages; the union covers both.
    let mut resolved = Vec::new();
    let mut first = None;
    for triple in crate::plan::TRIPLES {
        let mut options = options.clone();
        options.extend(["--filter-platform", triple]);
        let metadata = metadata(manifest_path, &options).map_err(metadata_err)?;
        resolved = merge_graphs(resolved, resolved_graph(&metadata));
        first.get_or_insert(metadata);
    }
    let metadata = first.expect("TRIPLES is not empty");
    // `cargo metadata` unifies features across platforms even under resolver 2: rathole's
    // `[target.'cfg(target_env = "musl")'.dependencies] openssl = { features =
    // ["vendored"] }` showed openssl-sys `vendored` for glibc, where the build then looked
    // for the system's OpenSSL. `cargo tree --target` resolves them as the build does.
    // A crate it does not list is not built for them (openssl-src there): no edge leads to
    // it.
    if let Some(built) = tree_features(&workspace_dir, features) {
        let keys: Vec<(String, String)> = resolved
            .iter()
            .map(|n| (n.name.clone(), n.version.clone()))
            .collect();
        for node in &mut resolved {
            if let Some(f) = built.get(&(node.name.clone(), node.version.clone())) {
                node.features = f.iter().cloned().collect();
            }
            node.deps.retain(|&d| built.contains_key(&keys[d]));
        }
    }
    from_metadata(&metadata, &workspace_dir, resolved)
}

/// The features each crate is built with for the images' targets, as `cargo tree
/// --target` resolves them (normal and build edges, the build's `features`): (name,
/// version) → features, over both triples. `None` when cargo tree fails (the metadata's
/// features are used then).
fn tree_features(
    workspace_dir: &Path,
    features: &[String],
) -> Option<BTreeMap<(String, String), BTreeSet<String>>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let joined = features.join(",");
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for triple in crate::plan::TRIPLES {
        let run = |toolchain: Option<&str>| {
            let mut command = std::process::Command::new(&cargo);
            command
                .current_dir(workspace_dir)
                .args(["tree", "--locked", "--offline", "--workspace", "--edges"])
                .args(["normal,build", "--prefix", "none", "--format", "{p}|{f}"])
                .args(["--target", triple]);
            if !features.is_empty() {
                command.args(["--features", joined.as_str()]);
            }
            if let Some(t) = toolchain {
                command.env("RUSTUP_TOOLCHAIN", t);
            }
            command.output().ok()
        };
        let (output, _) = with_toolchain_retry(run, |o| o.as_ref().and_then(failed_stderr));
        let output = output.filter(|o| o.status.success())?;
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Some((package, enabled)) = line.split_once('|') else {
                continue;
            };
            let mut words = package.split_whitespace();
            let (Some(name), Some(version)) = (words.next(), words.next()) else {
                continue;
            };
            let Some(version) = version.strip_prefix('v') else {
                continue;
            };
            out.entry((name.to_string(), version.to_string()))
                .or_default()
                .extend(
                    enabled
                        .split(',')
                        .filter(|f| !f.is_empty())
                        .map(String::from),
                );
        }
    }
    Some(out)
}

/// The union of two resolved graphs (nodes by name and version, their features and edges
/// together), sorted like [`resolved_graph`]'s.
fn merge_graphs(
    a: Vec<crate::model::Resolved>,
    b: Vec<crate::model::Resolved>,
) -> Vec<crate::model::Resolved> {
    if a.is_empty() {
        return b;
    }
    /// A crate: name and version.
    type Key = (String, String);
    let key = |g: &[crate::model::Resolved], i: usize| (g[i].name.clone(), g[i].version.clone());
    // Each crate's features and dependencies, from both graphs.
    type Node = (BTreeSet<String>, BTreeSet<Key>, Option<String>);
    let mut nodes: BTreeMap<Key, Node> = BTreeMap::new();
    for g in [&a, &b] {
        for n in g.iter() {
            let entry = nodes
                .entry((n.name.clone(), n.version.clone()))
                .or_default();
            entry.0.extend(n.features.iter().cloned());
            entry.1.extend(n.deps.iter().map(|&d| key(g, d)));
            if entry.2.is_none() {
                entry.2.clone_from(&n.rust_version);
            }
        }
    }
    let index: BTreeMap<Key, usize> = nodes
        .keys()
        .enumerate()
        .map(|(i, k)| (k.clone(), i))
        .collect();
    nodes
        .into_iter()
        .map(
            |((name, version), (features, deps, rust_version))| crate::model::Resolved {
                name,
                version,
                features: features.into_iter().collect(),
                deps: deps.iter().map(|d| index[d]).collect(),
                rust_version,
            },
        )
        .collect()
}

/// `cargo metadata` with `options`. A workspace that pins a toolchain this machine lacks
/// (`rust-toolchain.toml`) makes rustup refuse to run cargo at all, though any cargo reads
/// metadata alike: then once more with the toolchain the caller runs (or `stable`). The
/// pin still picks the builder image.
fn metadata(manifest_path: &Path, options: &[&str]) -> Result<Metadata, cargo_metadata::Error> {
    // From the workspace's directory, as the build runs it: cargo reads `.cargo/config.toml`
    // from the current directory up, not from the manifest's, and a source replacement
    // there (`cargo vendor`) decides where the crates come from.
    // Absolute, since cargo runs in `dir`: a relative `--manifest-path server/Cargo.toml`
    // would name `server/server/Cargo.toml` from there.
    let manifest_path = &std::path::absolute(manifest_path).unwrap_or(manifest_path.into());
    let dir = manifest_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let command = || {
        let mut command = MetadataCommand::new();
        command
            .current_dir(dir)
            .manifest_path(manifest_path)
            .other_options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>());
        command
    };
    let run = |toolchain: Option<&str>| {
        let mut command = command();
        if let Some(t) = toolchain {
            command.env("RUSTUP_TOOLCHAIN", t);
        }
        command.exec()
    };
    let stderr = |r: &Result<Metadata, cargo_metadata::Error>| match r {
        Err(cargo_metadata::Error::CargoMetadata { stderr }) => Some(stderr.clone()),
        _ => None,
    };
    match with_toolchain_retry(run, stderr) {
        // The retry's own failure is the one to show (meilisearch's: a git dependency on
        // an unreachable host), not the pin that made us retry.
        (Err(cargo_metadata::Error::CargoMetadata { stderr }), Some(toolchain)) => {
            Err(cargo_metadata::Error::CargoMetadata {
                stderr: format!("{stderr}\n{}", retried_with(&toolchain)),
            })
        }
        (result, _) => result,
    }
}

/// Runs a cargo command as the workspace asks (`run(None)`) and, when cargo refused because
/// the toolchain the workspace pins is not installed here, once more with
/// [`retry_toolchain`]'s: the outcome that counts, with the toolchain of the retry.
/// `stderr` is what cargo printed when the command failed.
fn with_toolchain_retry<T>(
    run: impl Fn(Option<&str>) -> T,
    stderr: impl Fn(&T) -> Option<String>,
) -> (T, Option<String>) {
    let first = run(None);
    match stderr(&first).as_deref().and_then(retry_toolchain) {
        Some(toolchain) => (run(Some(&toolchain)), Some(toolchain)),
        None => (first, None),
    }
}

/// What a failure after [`with_toolchain_retry`]'s retry adds to cargo's message: that the
/// failure is the retry's, whose cause is cargo's message above (meilisearch's: a git
/// dependency on a host this machine cannot reach), not the toolchain.
fn retried_with(toolchain: &str) -> String {
    format!(
        "(cargo ran with RUSTUP_TOOLCHAIN={toolchain}, since the toolchain the workspace \
         pins is not installed here)"
    )
}

/// Cargo's message from its first `error` line on: the progress lines before it
/// (`Updating git repository ...`) are not the failure.
fn from_first_error(stderr: &str) -> String {
    match stderr.lines().position(|l| l.starts_with("error")) {
        Some(first) => stderr.lines().skip(first).collect::<Vec<_>>().join("\n"),
        None => stderr.to_string(),
    }
}

/// The standard error of a command that failed.
fn failed_stderr(output: &std::process::Output) -> Option<String> {
    (!output.status.success()).then(|| String::from_utf8_lossy(&output.stderr).into_owned())
}

/// When cargo refused to run because the workspace pins a toolchain this machine lacks:
/// the toolchain to run it with instead (the caller's, else `stable`).
fn retry_toolchain(stderr: &str) -> Option<String> {
    (stderr.contains("toolchain") && stderr.contains("is not installed"))
        .then(|| std::env::var("RUSTUP_TOOLCHAIN").unwrap_or_else(|_| "stable".into()))
}

/// The manifest of the workspace around the current directory, found as cargo finds it
/// (`cargo locate-project --workspace`): the default target of every command.
pub fn locate_workspace() -> Result<PathBuf, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let failed = |message: String| Error::NoWorkspace { message };
    let locate = |toolchain: Option<&str>| {
        let mut command = Command::new(&cargo);
        command.args(["locate-project", "--workspace", "--message-format", "plain"]);
        if let Some(t) = toolchain {
            command.env("RUSTUP_TOOLCHAIN", t);
        }
        command
            .output()
            .map_err(|e| failed(format!("running `{}`: {e}", Path::new(&cargo).display())))
    };
    let (out, retried) = with_toolchain_retry(locate, |r| r.as_ref().ok().and_then(failed_stderr));
    let out = out?;
    if let Some(stderr) = failed_stderr(&out) {
        let note = retried
            .map(|t| format!("\n{}", retried_with(&t)))
            .unwrap_or_default();
        return Err(failed(format!("{}{note}", stderr.trim())));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::Metadata {
        manifest: path.display().to_string(),
        message: format!("cannot read it: {e}"),
    })
}

/// Builds the model from metadata plus the files it points at.
fn from_metadata(
    metadata: &Metadata,
    workspace_dir: &Path,
    resolved: Vec<crate::model::Resolved>,
) -> Result<Loaded, Error> {
    let root_manifest_path = workspace_dir.join("Cargo.toml");
    let root_manifest = read_text(&root_manifest_path)?;
    let root_shown = root_manifest_path.display().to_string();
    let invalid = |path: &Path, text: &str, e: toml::de::Error| {
        let mut message = crate::config::error_message(text, &e);
        // A workspace key in a package's table (the workspace table takes them all): say
        // where it belongs.
        if let Some(key) = crate::config::WORKSPACE_ONLY_KEYS
            .iter()
            .find(|k| message.contains(&format!("unknown field `{k}`")))
        {
            message.push_str(&format!(
                "; `{key}` is a workspace key: it goes in [workspace.metadata.image] of \
                 `{root_shown}` (in a single-package project, [package.metadata.image] of it)"
            ));
        }
        Error::InvalidConfig {
            manifest: path.display().to_string(),
            message,
        }
    };
    let (ws_config, _) = parse_manifest_tables(&root_manifest, true)
        .map_err(|e| invalid(&root_manifest_path, &root_manifest, e))?;
    let config: WorkspaceConfig = ws_config.unwrap_or_default();
    // `.cargo-image/` beside the Dockerfile must not become a member through a glob.
    if let Some(pattern) = toml::from_str::<toml::Table>(&root_manifest)
        .ok()
        .and_then(|t| crate::render::tools::manifest_pattern_taking_dir(&t))
    {
        return Err(Error::InvalidConfig {
            manifest: root_manifest_path.display().to_string(),
            message: format!(
                "key `workspace.members`: the pattern `{pattern}` would make the generated \
                 `.cargo-image/` directory (the Dockerfile's programs) a member, and cargo \
                 would fail to load it; add `exclude = [\".cargo-image\"]` to [workspace]"
            ),
        });
    }

    let context_dir = workspace_dir.join(config.context.as_deref().unwrap_or("."));
    let context_dir = context_dir
        .canonicalize()
        .map_err(|e| Error::InvalidConfig {
            manifest: root_manifest_path.display().to_string(),
            message: format!("key `context`: `{}`: {e}", context_dir.display()),
        })?;
    let workspace_dir = workspace_dir
        .canonicalize()
        .unwrap_or_else(|_| workspace_dir.to_path_buf());
    // The context is sent to the engine (and bound into steps) whole: `/` would be the
    // machine's file system, a directory above the repository someone else's files. The
    // outermost repository counts (a workspace in a submodule may use its superproject).
    let repository = workspace_dir
        .ancestors()
        .filter(|d| d.join(".git").exists())
        .last();
    let outside = match repository {
        Some(repo) => !context_dir.starts_with(repo),
        None => context_dir.parent().is_none(),
    };
    if outside {
        return Err(Error::InvalidConfig {
            manifest: root_manifest_path.display().to_string(),
            message: format!(
                "key `context`: `{}` is {}, and the whole build context goes to the engine; \
                 use a directory inside the repository (the default, `.`, is the workspace root)",
                context_dir.display(),
                match repository {
                    Some(repo) => format!("outside the repository `{}`", repo.display()),
                    None => "the file system's root".to_string(),
                }
            ),
        });
    }
    let rel = |path: &Path, package: &str| -> Result<String, Error> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let stripped =
            canonical
                .strip_prefix(&context_dir)
                .map_err(|_| Error::UnreachablePath {
                    package: package.to_string(),
                    path: canonical.display().to_string(),
                    context: context_dir.display().to_string(),
                })?;
        Ok(stripped
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"))
    };
    let root = rel(&workspace_dir, "(workspace root)")?;

    let members: BTreeSet<_> = metadata.workspace_members.iter().collect();
    let local_ids: BTreeMap<_, _> = metadata
        .packages
        .iter()
        .filter(|p| p.source.is_none())
        .map(|p| (&p.id, p.name.to_string()))
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<LocalDep>> = BTreeMap::new();
    if let Some(resolve) = &metadata.resolve {
        for node in &resolve.nodes {
            let Some(from) = local_ids.get(&node.id) else {
                continue;
            };
            for dep in &node.deps {
                let Some(to) = local_ids.get(&dep.pkg) else {
                    continue;
                };
                for k in &dep.dep_kinds {
                    let kind = match k.kind {
                        DependencyKind::Development => DepKind::Dev,
                        DependencyKind::Build => DepKind::Build,
                        _ => DepKind::Normal,
                    };
                    edges.entry(from.clone()).or_default().insert(LocalDep {
                        package: to.clone(),
                        kind,
                    });
                }
            }
        }
    }

    let mut packages = Vec::new();
    let mut links = BTreeMap::new();
    // Local packages whose own code uses sqlx (not only their tests): its query macros
    // read the offline query data at compile time.
    let mut sqlx_users = BTreeSet::new();
    for p in metadata.packages.iter().filter(|p| p.source.is_none()) {
        let name = p.name.to_string();
        if p.dependencies
            .iter()
            .any(|d| d.name == "sqlx" && d.kind != DependencyKind::Development)
        {
            sqlx_users.insert(name.clone());
        }
        let manifest_path = p.manifest_path.clone().into_std_path_buf();
        if let Some(dir) = manifest_path.parent() {
            links.extend(links_on_the_way(dir, &context_dir, &name)?);
        }
        let manifest = read_text(&manifest_path)?;
        let (_, pkg_config) = parse_manifest_tables(&manifest, manifest_path == root_manifest_path)
            .map_err(|e| invalid(&manifest_path, &manifest, e))?;
        let dir = rel(manifest_path.parent().unwrap_or(Path::new(".")), &name)?;
        let own_target = if dir == root {
            None
        } else {
            own_target(&context_dir, &dir)
        };
        let mut targets = Vec::new();
        for t in &p.targets {
            use cargo_metadata::TargetKind as K;
            let kind = if t.kind.contains(&K::ProcMacro) {
                TargetKind::ProcMacro
            } else if t.kind.contains(&K::CustomBuild) {
                TargetKind::BuildScript
            } else if t.kind.contains(&K::Bin) {
                TargetKind::Bin
            } else if t.kind.contains(&K::Example) {
                TargetKind::Example
            } else if t.kind.contains(&K::Test) {
                TargetKind::Test
            } else if t.kind.contains(&K::Bench) {
                TargetKind::Bench
            } else {
                TargetKind::Lib
            };
            targets.push(Target {
                kind,
                name: t.name.clone(),
                src_path: rel(t.src_path.as_std_path(), &name)?,
                required_features: t.required_features.clone(),
            });
        }
        targets.sort();
        packages.push(Package {
            member: members.contains(&p.id),
            version: p.version.to_string(),
            dir,
            manifest,
            description: p.description.clone(),
            license: p.license.clone(),
            repository: p.repository.clone(),
            homepage: p.homepage.clone(),
            targets,
            deps: edges
                .remove(&name)
                .unwrap_or_default()
                .into_iter()
                .collect(),
            config: pkg_config.unwrap_or_else(PackageConfig::default),
            sources: Vec::new(),
            features: p.features.keys().cloned().collect(),
            feature_deps: feature_deps(p),
            own_target,
            default_run: p.default_run.clone(),
            default_features: default_features(p),
            needs_subcommand: BTreeMap::new(),
            needs_arguments: BTreeMap::new(),
            env_reads: BTreeMap::new(),
            loopback: BTreeMap::new(),
            listen: BTreeMap::new(),
            spawns: BTreeMap::new(),
            git_use: None,
            unseen_watches: Vec::new(),
            daemon_calls: BTreeMap::new(),
            foreground_flag: None,
            signals: BTreeMap::new(),
            run_env: BTreeMap::new(),
            writes: BTreeMap::new(),
            creates: BTreeMap::new(),
            system_paths: BTreeMap::new(),
            feature_guards: BTreeMap::new(),
            name,
        });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));

    // Files cargo reads before compiling anything: they belong in the skeleton verbatim.
    let mut extra_files = BTreeMap::new();
    let mut dirs = vec![workspace_dir.clone()];
    if context_dir != workspace_dir {
        dirs.push(context_dir.clone());
    }
    for dir in &dirs {
        for name in TOOLCHAIN_FILES {
            let path = dir.join(name);
            if path.is_file() {
                extra_files.insert(rel(&path, "(cargo configuration)")?, read_text(&path)?);
            }
        }
    }

    // A path dependency from another workspace (the axum examples depend on `../axum`)
    // inherits keys from that workspace's root manifest (`rust-version.workspace = true`):
    // cargo reads it while loading the package, so it goes wherever the toolchain files go.
    for p in packages.iter().filter(|p| !p.member) {
        let dir = context_dir.join(&p.dir);
        if let Some(foreign) = foreign_workspace_root(&dir, &context_dir, &root_manifest_path) {
            let text = read_text(&foreign)?;
            extra_files.insert(
                rel(&foreign, "(workspace root of a path dependency)")?,
                text,
            );
        }
    }

    let vendor_dirs = vendor_dirs(&extra_files, &context_dir)?;
    let patch_dirs =
        unused_patch_dirs(&root_manifest, &root, &extra_files, &context_dir, &packages)?;

    // What the build context holds: the effective .dockerignore rules decide which paths
    // exist there, and only those are bound or copied (binding a missing path fails).
    let dockerignore_path = context_dir.join(".dockerignore");
    let dockerignore = std::fs::read_to_string(&dockerignore_path)
        .ok()
        .and_then(|text| ignore::users_rules(&text));
    let found_git = git_dir(&workspace_dir, &context_dir, &root_manifest_path);
    let git_ignored_by = found_git.as_ref().ok().and_then(|git| {
        let users = IgnoreRules::parse(dockerignore.as_deref()?);
        users.excluding_rule(git).map(str::to_string)
    });
    let git_dir = match (config.git, &found_git) {
        (Some(true), Ok(git)) => Some(git.clone()),
        (Some(true), Err(e)) => return Err(e.clone()),
        _ => None,
    };
    let rules = IgnoreRules::parse(&ignore::render(
        dockerignore.as_deref(),
        &vendor_dirs,
        git_dir.as_deref(),
        &crate::render::tools::context_dir_for(&root),
    ));
    // A toolchain file or cargo configuration the user's rules leave out stays out of the
    // build, as they meant (git-cliff's .dockerignore excludes rust-toolchain.toml, whose
    // `stable` would make rustup fetch a toolchain in the builder): binding it failed.
    extra_files.retain(|path, _| {
        let name = path.strip_prefix(&format!("{root}/")).unwrap_or(path);
        !(TOOLCHAIN_FILES.contains(&name) && rules.excluded(path))
    });
    let excluded = |path: &str, what: &str| -> Result<(), Error> {
        match rules.excluding_rule(path) {
            Some(rule) => Err(Error::ExcludedFromContext {
                path: path.to_string(),
                what: what.to_string(),
                rule: rule.to_string(),
                dockerignore: dockerignore_path.display().to_string(),
            }),
            None => Ok(()),
        }
    };
    // The Dockerfile's generated programs reach the build through the context.
    excluded(
        &format!(
            "{}/{}",
            crate::render::tools::context_dir_for(&root),
            crate::render::tools::SCRIPT
        ),
        "the Dockerfile's generated programs (`.cargo-image/`)",
    )?;
    if let Some(git) = &git_dir {
        excluded(git, "the repository's git data (`git = true`)")?;
    }
    // Vendored crates reach the build through the fetch stage and links through the
    // skeleton: they are no package's sources (a root package would otherwise take them).
    let dirs: Vec<String> = packages
        .iter()
        .map(|p| p.dir.clone())
        .chain(vendor_dirs.iter().cloned())
        .chain(patch_dirs.iter().cloned())
        .chain(links.keys().cloned())
        .chain(git_dir.iter().cloned())
        .collect();
    for dir in &vendor_dirs {
        for file in files_under(&context_dir, dir) {
            excluded(
                &file,
                &format!("a vendored crate's file (directory source `{dir}`)"),
            )?;
        }
    }
    for dir in &patch_dirs {
        excluded(
            &crate::model::join(dir, "Cargo.toml"),
            &format!("the manifest of the `[patch]` package `{dir}`, which cargo reads to load the workspace"),
        )?;
    }
    let mut tests_left_out = BTreeMap::new();
    for p in &mut packages {
        for t in &p.targets {
            if matches!(
                t.kind,
                TargetKind::Lib | TargetKind::ProcMacro | TargetKind::Bin | TargetKind::BuildScript
            ) {
                excluded(&t.src_path, &format!("a source of package `{}`", p.name))?;
            } else if let Some(rule) = rules
                .excluding_rule(&t.src_path)
                .filter(|_| t.kind == TargetKind::Test)
            {
                tests_left_out.insert(t.src_path.clone(), rule.to_string());
            }
        }
        p.sources = package_sources(&context_dir, p, &dirs, &rules);
    }
    let context_dirs = context_dirs(&context_dir, &packages, &rules);
    let SourceReads {
        compile: mut compile_reads,
        run: run_reads,
        missing: missing_reads,
        subcommands,
        arguments,
        mut env_reads,
        mut loopbacks,
        mut listens,
        mut signals,
        mut run_envs,
        mut writes,
        mut creates,
        mut systems,
        mut spawns,
        mut detaches,
        mut git_uses,
        mut guards,
        mut watches,
    } = source_reads(&context_dir, &root, &packages, &dirs, &rules);
    for p in &mut packages {
        if let Some((bin, need)) = subcommands.get(&p.name) {
            p.needs_subcommand.insert(bin.clone(), need.clone());
        }
        if let Some((bin, need)) = arguments.get(&p.name) {
            p.needs_arguments.insert(bin.clone(), need.clone());
        }
        p.env_reads = env_reads.remove(&p.name).unwrap_or_default();
        p.loopback = loopbacks.remove(&p.name).unwrap_or_default();
        p.listen = listens.remove(&p.name).unwrap_or_default();
        p.signals = signals.remove(&p.name).unwrap_or_default();
        p.run_env = run_envs.remove(&p.name).unwrap_or_default();
        p.writes = writes.remove(&p.name).unwrap_or_default();
        p.creates = creates.remove(&p.name).unwrap_or_default();
        p.system_paths = systems.remove(&p.name).unwrap_or_default();
        p.spawns = spawns.remove(&p.name).unwrap_or_default();
        if let Some((calls, flag)) = detaches.remove(&p.name) {
            p.daemon_calls = calls;
            p.foreground_flag = Some(flag);
        }
        p.git_use = git_uses.remove(&p.name);
        p.feature_guards = guards.remove(&p.name).unwrap_or_default();
        p.unseen_watches = watches.remove(&p.name).unwrap_or_default();
    }
    compile_reads.extend(sqlx_offline_data(
        &context_dir,
        &root,
        &packages,
        &sqlx_users,
        &rules,
    ));
    let missing_submodules = missing_submodules(&context_dir, &root);
    let run_loopbacks = run_loopbacks(&context_dir, &run_reads);
    let sqlx_online = sqlx_online(
        &context_dir,
        &root,
        &packages,
        &sqlx_users,
        &rules,
        &crate::model::sqlx_data_names(&resolved),
    );
    // A `.env` naming a SQLite database in the context (rustdesk-server's committed
    // `DATABASE_URL=sqlite://./db_v2.sqlite3`): the build checks the queries against it.
    let sqlx_database = sqlx_dotenv_database(&context_dir, &root, &packages, &sqlx_online, &rules);
    let sqlx_online: Vec<String> = match &sqlx_database {
        Some(db) => sqlx_online
            .into_iter()
            .filter(|p| !db.readers.contains(p))
            .collect(),
        None => sqlx_online,
    };
    // `files` of every level: each must be in the build context.
    let mut file_keys: Vec<(String, String)> = config
        .files
        .iter()
        .flatten()
        .map(|(src, _)| (src.clone(), root_manifest_path.display().to_string()))
        .collect();
    for p in &packages {
        let manifest = context_dir.join(crate::model::join(&p.dir, "Cargo.toml"));
        let tables =
            std::iter::once(&p.config.files).chain(p.config.bin.values().map(|b| &b.files));
        for files in tables.flatten() {
            for src in files.keys() {
                file_keys.push((src.clone(), manifest.display().to_string()));
            }
        }
    }
    // A path a key names (relative to the workspace root) must exist in the build context.
    let in_context = |key: &str, given: &str, manifest: String| -> Result<(), Error> {
        let path = crate::model::join(&root, given.trim_end_matches('/'));
        if !context_dir.join(&path).exists() {
            return Err(Error::InvalidConfig {
                manifest,
                message: format!(
                    "key `{key}`: `{given}` does not exist (paths are relative to the \
                     workspace root); fix the path or remove it"
                ),
            });
        }
        excluded(&path, &format!("listed in `{key}`"))
    };
    let shipped: BTreeSet<String> = (file_keys.iter())
        .map(|(src, _)| crate::model::join(&root, src.trim_end_matches('/')))
        .collect();
    for (src, manifest) in file_keys {
        in_context("files", &src, manifest)?;
    }
    let (shipped_secrets, shipped_ports) = shipped_config(&context_dir, &shipped);
    for file in config.build_files.iter().flatten() {
        in_context(
            "build-files",
            file,
            root_manifest_path.display().to_string(),
        )?;
    }
    // A Dockerfile of the project's own where ours would go: its runtime settings, for the
    // note on what the generated images lack.
    let own_dockerfile = std::fs::read_to_string(workspace_dir.join("Dockerfile"))
        .ok()
        .filter(|text| !text.contains(crate::artifacts::MARKER))
        .map(|text| crate::own_dockerfile::last_stage("Dockerfile", &text));
    // A compose file of the project's own: the data directories its services mount, the
    // ports they publish.
    let own_compose = crate::own_compose::FILES.iter().find_map(|name| {
        let text = std::fs::read_to_string(workspace_dir.join(name)).ok()?;
        (!text.contains(crate::artifacts::MARKER)).then(|| crate::own_compose::read(name, &text))
    });
    let dockerfile_append = match &config.dockerfile_append {
        Some(file) => {
            let path = workspace_dir.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| Error::InvalidConfig {
                manifest: root_manifest_path.display().to_string(),
                message: format!(
                    "key `dockerfile-append`: cannot read `{}`: {e}; the path is relative to \
                     the workspace root",
                    path.display()
                ),
            })?;
            Some((rel(&path, "(dockerfile-append)")?, text))
        }
        None => None,
    };

    // The builder's Rust: the toolchain file's, else this machine's, raised to the highest
    // `rust-version` of the local packages (cargo refuses a package whose rust-version is
    // above the compiler's, and the builder need not be as old as this machine).
    let pinned = extra_files
        .iter()
        .filter(|(k, _)| k.ends_with("rust-toolchain.toml") || k.ends_with("rust-toolchain"))
        .find_map(|(_, text)| toolchain_version(text));
    let rust_version = match pinned {
        Some(version) => version,
        None => {
            let wanted = metadata
                .packages
                .iter()
                .filter(|p| p.source.is_none())
                .filter_map(|p| p.rust_version.as_ref().map(|v| v.to_string()));
            std::iter::once(host_rust_version().unwrap_or_else(|| "1".to_string()))
                .chain(wanted)
                .max_by_key(|v| version_key(v))
                .unwrap_or_else(|| "1".to_string())
        }
    };

    Ok(Loaded {
        workspace: Workspace {
            root,
            packages,
            extra_files,
            root_manifest,
            config,
            rust_version,
            dockerignore,
            dockerfile_append,
            own_dockerfile,
            own_compose,
            resolved,
            vendor_dirs,
            patch_dirs,
            links,
            git_available: git_dir.is_some() || found_git.is_ok(),
            git_ignored_by,
            git_dir,
            ssh_sources: ssh_sources(metadata),
            compile_reads,
            run_reads,
            missing_reads,
            missing_submodules,
            sqlx_online,
            sqlx_database,
            tests_left_out,
            context_dirs,
            run_loopbacks,
            shipped_secrets,
            shipped_ports,
        },
        workspace_dir,
        context_dir,
    })
}

/// The repositories of the `git+ssh://` sources among the packages, sorted.
fn ssh_sources(metadata: &Metadata) -> Vec<String> {
    let sources: BTreeSet<String> = metadata
        .packages
        .iter()
        .filter_map(|p| p.source.as_ref())
        .filter_map(|s| ssh_repository(&s.repr))
        .collect();
    sources.into_iter().collect()
}

/// `git+ssh://git@host/repo?branch=x#commit` → `ssh://git@host/repo`.
fn ssh_repository(source: &str) -> Option<String> {
    let url = source.strip_prefix("git+")?;
    if !url.starts_with("ssh://") {
        return None;
    }
    let end = url.find(['?', '#']).unwrap_or(url.len());
    Some(url[..end].to_string())
}

/// `git = true`: the `.git` directory nearest the workspace root, at or above it and inside
/// the context, relative to the context. A `.git` file (a worktree's or submodule's) points
/// at a directory the build cannot see.
fn git_dir(workspace_dir: &Path, context_dir: &Path, manifest: &Path) -> Result<String, Error> {
    let invalid = |message: String| Error::InvalidConfig {
        manifest: manifest.display().to_string(),
        message: format!("key `git`: {message}"),
    };
    let found = workspace_dir
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|g| g.exists());
    let Some(git) = found else {
        return Err(invalid(
            "no git repository at or above the workspace; remove the key, or pass the values \
             build scripts need as `build-args`"
                .to_string(),
        ));
    };
    if !git.starts_with(context_dir) {
        return Err(invalid(format!(
            "the repository's `{}` is outside the build context `{}`; set `context` to the \
             repository's root (relative to the workspace root, e.g. \"..\")",
            git.display(),
            context_dir.display()
        )));
    }
    if !git.is_dir() {
        return Err(invalid(format!(
            "`{}` is a file pointing at git data elsewhere (a worktree or a submodule), which \
             the build cannot see; build from the main checkout, or pass the values build \
             scripts need as `build-args`",
            git.display()
        )));
    }
    let rel = git.strip_prefix(context_dir).unwrap_or(&git);
    Ok(rel.to_string_lossy().replace('\\', "/"))
}

/// The resolve as [`Resolved`] nodes, sorted by name and version (so the model does not
/// depend on the order cargo lists them), with normal and build edges only: a crate
/// reached through dev-dependencies alone is never built into an image.
fn resolved_graph(metadata: &Metadata) -> Vec<crate::model::Resolved> {
    let Some(resolve) = &metadata.resolve else {
        return Vec::new();
    };
    let package = |id: &cargo_metadata::PackageId| metadata.packages.iter().find(|p| &p.id == id);
    let mut nodes: Vec<(&cargo_metadata::Node, String, String, Option<String>)> = resolve
        .nodes
        .iter()
        .filter_map(|n| {
            let p = package(&n.id)?;
            let rust_version = p.rust_version.as_ref().map(|v| v.to_string());
            Some((n, p.name.to_string(), p.version.to_string(), rust_version))
        })
        .collect();
    nodes.sort_by(|a, b| (&a.1, &a.2).cmp(&(&b.1, &b.2)));
    let index: BTreeMap<&cargo_metadata::PackageId, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (n, _, _, _))| (&n.id, i))
        .collect();
    nodes
        .iter()
        .map(|(node, name, version, rust_version)| {
            let mut deps: Vec<usize> = node
                .deps
                .iter()
                .filter(|d| {
                    d.dep_kinds
                        .iter()
                        .any(|k| k.kind != DependencyKind::Development)
                })
                .filter_map(|d| index.get(&d.pkg).copied())
                .collect();
            deps.sort();
            deps.dedup();
            let mut features: Vec<String> = node.features.iter().map(|f| f.to_string()).collect();
            features.sort();
            crate::model::Resolved {
                name: name.clone(),
                version: version.clone(),
                features,
                deps,
                rust_version: rust_version.clone(),
            }
        })
        .collect()
}

/// The context paths package `p` compiles from (see [`Package::sources`]): its directory
/// when no other package is nested in it; otherwise its entries outside the others' (for a
/// root package: the context's root), walking down only into directories that hold another
/// package. Paths the rules exclude are left out (they are not in the context), and so are
/// `target/`, the generated files and version-control data, which no compile reads: a
/// `.git` the user's rules keep in the context (vaultwarden's `!.git`) is bound with
/// `git = true` only, with git, not as the root package's sources (every compile step
/// would take it, and the notes say it has no repository). A target whose source lies
/// outside the package directory brings its directory (or, when that holds a package, the
/// file).
fn package_sources(
    context: &Path,
    p: &Package,
    dirs: &[String],
    rules: &IgnoreRules,
) -> Vec<String> {
    use crate::model::{is_within, join};
    let others: Vec<&String> = dirs.iter().filter(|d| **d != p.dir).collect();
    let holds_other = |dir: &str| others.iter().any(|o| is_within(o, dir));
    let mut out = BTreeSet::new();
    if !p.dir.is_empty() && !holds_other(&p.dir) {
        out.insert(p.dir.clone());
    } else {
        let mut stack = vec![p.dir.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(context.join(&dir)) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = join(&dir, &name);
                let vcs = matches!(name.as_str(), ".git" | ".hg" | ".svn");
                let generated = dir == p.dir
                    && matches!(
                        name.as_str(),
                        "target"
                            | "Cargo.lock"
                            | "Dockerfile"
                            | "compose.yaml"
                            | "docker-bake.hcl"
                            | ".dockerignore"
                            | ".cargo-image"
                    );
                if generated
                    || vcs
                    || path == crate::plan::DRIVER_DIR
                    || rules.excluded(&path)
                    || others.iter().any(|o| **o == path)
                {
                    continue;
                }
                if entry.file_type().is_ok_and(|t| t.is_dir()) && holds_other(&path) {
                    stack.push(path);
                } else {
                    out.insert(path);
                }
            }
        }
    }
    for t in &p.targets {
        if is_within(&t.src_path, &p.dir) {
            continue;
        }
        let parent = t.src_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let path = if parent.is_empty() || holds_other(parent) || parent == p.dir {
            t.src_path.clone()
        } else {
            parent.to_string()
        };
        if !rules.excluded(&path) {
            out.insert(path);
        }
    }
    // Drop paths inside another listed one.
    let all: Vec<String> = out.iter().cloned().collect();
    out.retain(|x| !all.iter().any(|y| y != x && is_within(x, y)));
    out.into_iter().collect()
}

/// What a walk over configuration files finds, per path given.
type ByPath<T> = BTreeMap<String, Vec<T>>;
type Entry = crate::listen::ConfigEntry;

/// For each run-time read that is a configuration file, or a directory holding some, the
/// first line that listens on loopback ([`crate::listen::config_loopback`]), with its file.
fn run_loopbacks(
    context: &Path,
    run_reads: &BTreeMap<String, crate::model::CompileRead>,
) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    for path in run_reads.keys() {
        let found = config_files(context, path)
            .into_iter()
            .find_map(|(f, text)| {
                let found = crate::listen::config_loopback(&text)?;
                Some(Entry { file: f, ..found })
            });
        if let Some(found) = found {
            out.insert(path.clone(), found);
        }
    }
    out
}

/// For each path `files` ships (context paths) that is a configuration file, or a
/// directory holding some: the lines that set a secret to a literal
/// ([`crate::listen::config_secrets`]), and the ports it sets
/// ([`crate::listen::config_ports`], the first line per port, in the files' order), each
/// with its file. One walk, so each file is read once for both.
fn shipped_config(
    context: &Path,
    shipped: &BTreeSet<String>,
) -> (ByPath<Entry>, ByPath<(u16, Entry)>) {
    let (mut secrets, mut ports) = (BTreeMap::new(), BTreeMap::new());
    for path in shipped {
        let mut found_secrets = Vec::new();
        let mut found_ports: Vec<(u16, Entry)> = Vec::new();
        for (f, text) in config_files(context, path) {
            let tag = |e| Entry {
                file: f.clone(),
                ..e
            };
            found_secrets.extend(crate::listen::config_secrets(&text).into_iter().map(tag));
            for (port, e) in crate::listen::config_ports(&text) {
                if !found_ports.iter().any(|(p, _)| *p == port) {
                    found_ports.push((port, tag(e)));
                }
            }
        }
        if !found_secrets.is_empty() {
            secrets.insert(path.clone(), found_secrets);
        }
        if !found_ports.is_empty() {
            ports.insert(path.clone(), found_ports);
        }
    }
    (secrets, ports)
}

/// The configuration files (by extension) at context path `path`, or under it (the first
/// 64: a directory of data, not of settings, is not read through), with their text.
fn config_files(context: &Path, path: &str) -> Vec<(String, String)> {
    const CONFIG: &[&str] = &[
        ".toml", ".yaml", ".yml", ".json", ".cfg", ".conf", ".ini", ".ron",
    ];
    let mut files = if context.join(path).is_dir() {
        files_under(context, path)
    } else {
        vec![path.to_string()]
    };
    files.retain(|f| CONFIG.iter().any(|e| f.ends_with(e)));
    files.truncate(64);
    files
        .into_iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(context.join(&f)).ok()?;
            Some((f, text))
        })
        .collect()
}

/// Every ancestor directory (below the context root) of the packages' directories and
/// sources, with the entries the rules keep in the context: what the planner needs to
/// bind a directory whole where all it holds is bound anyway. An excluded directory
/// counts as kept when a re-including rule (`!**/.env.example`, in our own block) brings
/// back a file under it.
fn context_dirs(
    context: &Path,
    packages: &[Package],
    rules: &IgnoreRules,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let kept = |path: &str| {
        !rules.excluded(path)
            || (rules.has_negations()
                && context.join(path).is_dir()
                && files_under(context, path)
                    .iter()
                    .any(|f| !rules.excluded(f)))
    };
    for p in packages {
        for path in p.sources.iter().chain(std::iter::once(&p.dir)) {
            let mut dir = path.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                dir = parent;
                if out.contains_key(dir) {
                    continue;
                }
                let Ok(entries) = std::fs::read_dir(context.join(dir)) else {
                    continue;
                };
                let mut kept: Vec<String> = entries
                    .flatten()
                    .map(|e| crate::model::join(dir, &e.file_name().to_string_lossy()))
                    .filter(|e| kept(e))
                    .collect();
                kept.sort();
                out.insert(dir.to_string(), kept);
            }
        }
    }
    out
}

/// Names at the top of a workspace that are its sources, builds, tooling or documents,
/// never what a program opens when it runs: a literal naming one is not noted.
const NOT_RUN_TIME: &[&str] = &[
    "src",
    "tests",
    "test",
    "benches",
    "examples",
    "target",
    "docs",
    "doc",
    "build.rs",
    "Cargo.toml",
    "Cargo.lock",
    "rust-toolchain",
    "rust-toolchain.toml",
    "Dockerfile",
    "compose.yaml",
    "docker-bake.hcl",
    ".dockerignore",
    ".cargo-image",
    ".cargo",
    ".git",
    ".github",
    ".gitignore",
    ".sqlx",
    "README.md",
    "CHANGELOG.md",
];

/// What the local packages' sources read outside their own directory at compile time
/// ([`crate::reads::upward_literals`]), and what their program code may open at run time,
/// named relative to the workspace root ([`crate::reads::run_time_literals`]: a program
/// started there finds it, one in an image does not): each path inside the workspace root
/// that exists in the context and that the rules keep, with the source and literal that
/// name it; none inside another listed one. Scanned: every build script, and the `.rs`
/// files under the directories of the other compiled targets (`src/`), not other
/// packages' directories. Not run-time reads: a path holding a target's source or a
/// package, and the names in [`NOT_RUN_TIME`]. Third: what program code embeds by name
/// ([`crate::reads::embedded_literals`]) that the build context lacks, missing or left out
/// by the rules, with why: its compile fails.
fn source_reads(
    context: &Path,
    root: &str,
    packages: &[Package],
    dirs: &[String],
    rules: &IgnoreRules,
) -> SourceReads {
    use crate::model::is_within;
    use crate::reads::{embedded_literals, resolve, run_time_literals, upward_literals, Base};
    let mut missing: BTreeMap<String, CompileRead> = BTreeMap::new();
    let mut found: BTreeMap<String, CompileRead> = BTreeMap::new();
    let mut at_run_time: BTreeMap<String, CompileRead> = BTreeMap::new();
    // Every path read at compile time, in a package's own directory too: lemmy names the
    // directory its `include_str!`s read in an error message.
    let mut compiled: BTreeSet<String> = BTreeSet::new();
    let mut subcommands = BTreeMap::new();
    let mut arguments = BTreeMap::new();
    let mut package_clis: BTreeMap<String, Vec<(String, crate::subcommands::CliFacts)>> =
        BTreeMap::new();
    let mut env_reads = BTreeMap::new();
    let mut loopbacks = BTreeMap::new();
    let mut listens = BTreeMap::new();
    let mut signals = BTreeMap::new();
    let mut run_envs = BTreeMap::new();
    let mut writes = BTreeMap::new();
    let mut creates = BTreeMap::new();
    let mut systems = BTreeMap::new();
    let mut spawns = BTreeMap::new();
    let mut detaches = BTreeMap::new();
    let mut git_uses = BTreeMap::new();
    let mut guards = BTreeMap::new();
    let mut watches: BTreeMap<String, Vec<crate::model::UnseenWatch>> = BTreeMap::new();
    let config_paths = config_env_paths(context, root);
    for p in packages {
        let others: Vec<&String> = dirs.iter().filter(|d| **d != p.dir).collect();
        // Each source file once, with whether it is build-script code: a target's own
        // file has its target's kind; a file the walks reach is build-script code only when
        // no other target's walk reaches it (a build script in `src/` beside the library
        // must not turn the library's run-time reads into compile-time ones, whichever
        // target cargo lists first).
        let mut walks: BTreeMap<&str, bool> = BTreeMap::new();
        let mut own: BTreeMap<&str, bool> = BTreeMap::new();
        for t in &p.targets {
            let build_script = t.kind == TargetKind::BuildScript;
            if !(build_script
                || matches!(
                    t.kind,
                    TargetKind::Lib | TargetKind::ProcMacro | TargetKind::Bin
                ))
            {
                continue;
            }
            own.insert(&t.src_path, build_script);
            let parent = t.src_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            if parent != p.dir && is_within(parent, &p.dir) {
                *walks.entry(parent).or_insert(build_script) &= build_script;
            }
        }
        // A directory inside another walked one is walked again only to mark its files as
        // not build-script code (`src/bin` inside `src` is not).
        let covered = |dir: &str, build_script: bool| {
            walks
                .iter()
                .any(|(o, o_build)| *o != dir && is_within(dir, o) && (!o_build || build_script))
        };
        let mut files: BTreeMap<String, bool> = BTreeMap::new();
        for (dir, build_script) in walks.iter().filter(|(d, b)| !covered(d, **b)) {
            let skip = |path: &str| {
                // Test modules in files of their own (`src/config/tests.rs`, as
                // hickory-dns has) compile for `cargo test` only, which sees the whole
                // context anyway.
                let name = path.rsplit('/').next().unwrap_or(path);
                matches!(name, "tests" | "test" | "tests.rs" | "test.rs")
                    || rules.excluded(path)
                    || others.iter().any(|o| **o == path)
            };
            for path in files_under_except(context, dir, &skip) {
                if path.ends_with(".rs") {
                    *files.entry(path).or_insert(*build_script) &= *build_script;
                }
            }
        }
        for (file, build_script) in own {
            files.insert(file.to_string(), build_script);
        }
        // A path above the package that exists in the context and the rules keep.
        let mut record = |path: String, why: String| {
            let path = path.trim_end_matches('/').to_string();
            let inside_root = is_within(&path, root) && path != root;
            if !inside_root
                || is_within(&path, &p.dir)
                || !context.join(&path).exists()
                || rules.excluded(&path)
            {
                return;
            }
            add_reader(&mut found, path, why, &p.name);
        };
        // Whether it was kept: a path the package's directory gives is tried when the
        // root's is not.
        let mut run_time = |path: String, why: String, run_as: Option<crate::model::RunAs>| {
            // Under the workspace root or a package's directory: `xtask/src/main.rs` is
            // a source wherever it is.
            let tooling = std::iter::once(root)
                .chain(packages.iter().map(|q| q.dir.as_str()))
                .filter(|dir| is_within(&path, dir) && path != *dir)
                .any(|dir| {
                    let rel = path.strip_prefix(dir).unwrap_or(&path);
                    let top = rel.trim_start_matches('/').split('/').next();
                    NOT_RUN_TIME.contains(&top.unwrap_or(""))
                });
            if path == root
                || !is_within(&path, root)
                || tooling
                || dirs.iter().any(|d| is_within(d, &path))
                || p.targets.iter().any(|t| is_within(&t.src_path, &path))
                || !context.join(&path).exists()
                || rules.excluded(&path)
            {
                return false;
            }
            let read = at_run_time.entry(path).or_insert_with(|| CompileRead {
                why,
                run_as,
                ..CompileRead::default()
            });
            read.readers.insert(p.name.clone());
            true
        };
        let mut clis: Vec<(String, crate::subcommands::CliFacts)> = Vec::new();
        // Variables the compile reads, and those the package's build script sets for it
        // (`None`: any).
        let mut env: BTreeMap<String, crate::model::EnvRead> = BTreeMap::new();
        let mut build_sets: Option<BTreeSet<String>> = Some(BTreeSet::new());
        let mut loopback = BTreeMap::new();
        let mut listen = BTreeMap::new();
        let mut signal = BTreeMap::new();
        let mut run_env = BTreeMap::new();
        let mut system = BTreeMap::new();
        let mut written = BTreeMap::new();
        let mut created = BTreeMap::new();
        let mut spawned: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // The package's own functions that start a program its callers name, and the
        // program files to look for those callers in, in any file.
        let mut spawners: Vec<String> = Vec::new();
        let mut program_texts: Vec<(String, String)> = Vec::new();
        let mut git_use = None;
        let mut guarded = BTreeMap::new();
        for (file, build_script) in files {
            let Ok(text) = std::fs::read_to_string(context.join(&file)) else {
                continue;
            };
            let found = crate::cfg::feature_guards(&text);
            if !found.is_empty() {
                guarded.insert(file.clone(), found);
            }
            if !build_script {
                clis.push((file.clone(), crate::subcommands::cli_facts(&text)));
                let binds = crate::listen::loopback_listens(&text);
                if !binds.is_empty() {
                    loopback.insert(file.clone(), binds);
                }
                let facts = crate::listen::listen_facts(&text);
                if !facts.is_empty() {
                    listen.insert(file.clone(), facts);
                }
                let facts = crate::signals::signal_facts(&text);
                if !facts.is_empty() {
                    signal.insert(file.clone(), facts);
                }
                let vars = crate::build_env::run_env_reads(&text);
                if !vars.is_empty() {
                    run_env.insert(file.clone(), vars);
                }
                let paths = crate::reads::written_paths(&text);
                if !paths.is_empty() {
                    written.insert(file.clone(), paths);
                }
                if let Some(call) = crate::reads::computed_create(&text) {
                    created.insert(file.clone(), call);
                }
                // A default configuration's namesake in the workspace, beside the
                // package or at the root (ntpd-rs's `ntp.toml`): what to ship there.
                let paths: Vec<crate::reads::SystemPath> = crate::reads::system_paths(&text)
                    .into_iter()
                    .map(|sp| match sp {
                        crate::reads::SystemPath::Config { path, .. } => {
                            let name = path.rsplit('/').next().unwrap_or(&path);
                            let local = [p.dir.as_str(), root]
                                .iter()
                                .map(|dir| crate::model::join(dir, name))
                                .find(|f| context.join(f).is_file() && !rules.excluded(f));
                            crate::reads::SystemPath::Config { path, local }
                        }
                        other => other,
                    })
                    .collect();
                if !paths.is_empty() {
                    system.insert(file.clone(), paths);
                }
                let programs = crate::spawn::spawned_programs(&text);
                if !programs.is_empty() {
                    spawned.insert(file.clone(), programs);
                }
                for name in crate::spawn::spawners(&text) {
                    if !spawners.contains(&name) {
                        spawners.push(name);
                    }
                }
                program_texts.push((file.clone(), text.clone()));
            }
            if let Some(how) = crate::build_env::git_use(&text, build_script) {
                git_use.get_or_insert((file.clone(), how.to_string()));
            }
            for (var, how) in crate::build_env::env_reads(&text, build_script) {
                env.entry(var).or_insert(crate::model::EnvRead {
                    file: file.clone(),
                    how,
                });
            }
            if build_script {
                build_sets = build_sets
                    .zip(crate::build_env::rustc_env_set(&text))
                    .map(|(a, b)| a.union(&b).cloned().collect());
                for path in crate::build_env::watched_paths(&text) {
                    let Some(in_context) = resolve(&p.dir, &path) else {
                        continue;
                    };
                    // On disk but left out: a path no checkout has is the project's own
                    // re-run everywhere, not the image build's.
                    if !context.join(&in_context).exists() {
                        continue;
                    }
                    // `.git`: the generated block leaves it out; `git = true` brings it
                    // (refused while a rule of the user's leaves it out).
                    let in_git = is_within(&in_context, &crate::model::join(root, ".git"));
                    let rule = (!in_git)
                        .then(|| rules.excluding_rule(&in_context).map(str::to_string))
                        .flatten();
                    if rule.is_some() || in_git {
                        let list = watches.entry(p.name.clone()).or_default();
                        if !list.iter().any(|w| w.in_context == in_context) {
                            list.push(crate::model::UnseenWatch {
                                script: file.clone(),
                                path,
                                in_context,
                                rule,
                            });
                        }
                    }
                }
            }
            let file_dir = file.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            for (literal, base) in upward_literals(&text, build_script) {
                let from = if base == Base::File { file_dir } else { &p.dir };
                if let Some(path) = resolve(from, &literal) {
                    compiled.insert(path.clone());
                    record(path, format!("{file} reads \"{literal}\""));
                }
            }
            if !build_script {
                for (rel, base, by, literal) in embedded_literals(&text) {
                    let from = if base == Base::File { file_dir } else { &p.dir };
                    let Some(path) = resolve(from, &rel) else {
                        continue;
                    };
                    let call = if by == "folder" {
                        format!("#[folder = \"{literal}\"]")
                    } else {
                        format!("{by}!(\"{literal}\")")
                    };
                    let why = if !context.join(&path).exists() {
                        format!("{file} embeds it with {call}")
                    } else if let Some(rule) = rules.excluding_rule(&path) {
                        format!(
                            "{file} embeds it with {call}, and the rule `{rule}` in \
                             .dockerignore leaves it out"
                        )
                    } else {
                        continue;
                    };
                    add_reader(&mut missing, path, why, &p.name);
                }
                for literal in run_time_literals(&text) {
                    let why = format!("{file} names \"{literal}\"");
                    let at_root = resolve(root, &literal)
                        .is_some_and(|path| run_time(path, why.clone(), None));
                    // Not there but in the package's directory, where `cargo run` in that
                    // directory starts it (actix's examples serve `./static/` from theirs).
                    if !at_root && p.dir != root {
                        if let Some(path) = resolve(&p.dir, &literal) {
                            let why = format!("{why}, found from its package's directory");
                            let run_as = crate::model::RunAs::FromWorkdir(literal.clone());
                            run_time(path, why, Some(run_as));
                        }
                    }
                }
                for (rel, written) in crate::reads::manifest_dir_paths(&text) {
                    if let Some(path) = resolve(&p.dir, &rel) {
                        let why = format!(
                            "{file} names it as {written}, the build stage's directory \
                             fixed as it compiled"
                        );
                        run_time(path, why, Some(crate::model::RunAs::BuildStage));
                    }
                }
            }
        }
        if let Some(need) = needs_subcommand(p, &clis) {
            subcommands.insert(p.name.clone(), need);
        }
        if let Some(need) = needs_arguments(p, &clis) {
            arguments.insert(p.name.clone(), need);
        }
        // Calls that detach, and a flag declared to keep it from doing so: it does by
        // default (a program with a `--daemon` flag instead stays in the foreground).
        let calls: BTreeMap<String, String> = clis
            .iter()
            .filter_map(|(file, f)| f.daemon_call.clone().map(|c| (file.clone(), c)))
            .collect();
        let flag = clis.iter().find_map(|(_, f)| f.foreground_flags.first());
        if let (false, Some(flag)) = (calls.is_empty(), flag) {
            detaches.insert(p.name.clone(), (calls, flag.clone()));
        }
        package_clis.insert(p.name.clone(), clis);
        env.retain(|var, read| {
            read.how == crate::build_env::How::BuildScript
                || build_sets.as_ref().is_some_and(|set| !set.contains(var))
        });
        if !env.is_empty() {
            env_reads.insert(p.name.clone(), env);
        }
        if !loopback.is_empty() {
            loopbacks.insert(p.name.clone(), loopback);
        }
        if !listen.is_empty() {
            listens.insert(p.name.clone(), listen);
        }
        if !signal.is_empty() {
            signals.insert(p.name.clone(), signal);
        }
        // A variable `[env]` sets to a path in the workspace names a run-time read as a
        // literal would (rust-web-app's `SERVICE_WEB_FOLDER = "web-folder/"`): the image
        // needs the files as much as the variable.
        for (file, vars) in &run_env {
            for var in vars {
                if let Some((config, value)) = config_paths.get(var) {
                    if let Some(path) = resolve(root, value) {
                        let why = format!(
                            "{file} reads `{var}`, which {config}'s [env] sets to \"{value}\""
                        );
                        run_time(path, why, None);
                    }
                }
            }
        }
        if !run_env.is_empty() {
            run_envs.insert(p.name.clone(), run_env);
        }
        if !written.is_empty() {
            writes.insert(p.name.clone(), written);
        }
        if !created.is_empty() {
            creates.insert(p.name.clone(), created);
        }
        if !system.is_empty() {
            systems.insert(p.name.clone(), system);
        }
        for (file, text) in program_texts.iter().filter(|_| !spawners.is_empty()) {
            for program in crate::spawn::wrapped_programs(text, &spawners) {
                let list = spawned.entry(file.clone()).or_default();
                if !list.contains(&program) {
                    list.push(program);
                }
            }
        }
        if !spawned.is_empty() {
            spawns.insert(p.name.clone(), spawned);
        }
        if let Some(git) = git_use {
            git_uses.insert(p.name.clone(), git);
        }
        if !guarded.is_empty() {
            guards.insert(p.name.clone(), guarded);
        }
        // askama's (and rinja's) template directories, relative to the package:
        // `[general] dirs = ["../shared/templates"]` in its askama.toml.
        for config in ["askama.toml", "rinja.toml"] {
            let file = crate::model::join(&p.dir, config);
            let Ok(text) = std::fs::read_to_string(context.join(&file)) else {
                continue;
            };
            let Ok(table) = text.parse::<toml::Table>() else {
                continue;
            };
            let dirs = table
                .get("general")
                .and_then(|g| g.get("dirs"))
                .and_then(|d| d.as_array());
            for dir in dirs.into_iter().flatten().filter_map(|d| d.as_str()) {
                if let Some(path) = resolve(&p.dir, dir) {
                    record(path, format!("{file} lists \"{dir}\""));
                }
            }
        }
    }
    // A command line a library declares and parses in a function (kellnr's
    // `settings::parse_cli()`) is that of a program whose own file calls the function:
    // the program's package's files and the library's together.
    for p in packages {
        let bins: Vec<String> = p
            .targets
            .iter()
            .filter(|t| t.kind == TargetKind::Bin)
            .filter_map(|t| std::fs::read_to_string(context.join(&t.src_path)).ok())
            .collect();
        if subcommands.contains_key(&p.name) || bins.is_empty() {
            continue;
        }
        // The library named in the program's file (`settings::`, `use settings`), and one
        // of its parsing functions called there (a whole word: `renew(` is not `new(`).
        let calls = |library: &str, f: &str| {
            let krate = library.replace('-', "_");
            bins.iter().any(|text| {
                (text.contains(&format!("{krate}::")) || text.contains(&format!("use {krate}")))
                    && text.match_indices(&format!("{f}(")).any(|(at, _)| {
                        !text[..at]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_')
                    })
            })
        };
        let libraries = p.deps.iter().filter(|d| {
            d.kind == crate::model::DepKind::Normal
                && package_clis.get(&d.package).is_some_and(|clis| {
                    clis.iter()
                        .flat_map(|(_, f)| &f.parsing_fns)
                        .any(|f| calls(&d.package, f))
                })
        });
        let clis: Vec<(String, crate::subcommands::CliFacts)> = std::iter::once(&p.name)
            .chain(libraries.map(|l| &l.package))
            .filter_map(|name| package_clis.get(name))
            .flatten()
            .cloned()
            .collect();
        if let Some(need) = needs_subcommand(p, &clis) {
            subcommands.insert(p.name.clone(), need);
        }
        if let Some(need) = needs_arguments(p, &clis) {
            arguments.insert(p.name.clone(), need);
        }
    }
    // Compile-time reads (every `found` key among them) are not run-time ones
    // (`sqlx::migrate!` embeds what it reads).
    at_run_time.retain(|path, _| {
        !compiled
            .iter()
            .any(|c| is_within(path, c) || is_within(c, path))
    });
    SourceReads {
        compile: outermost(found),
        run: outermost(at_run_time),
        missing,
        subcommands,
        arguments,
        env_reads,
        loopbacks,
        listens,
        signals,
        run_envs,
        writes,
        creates,
        systems,
        spawns,
        detaches,
        git_uses,
        guards,
        watches,
    }
}

/// The binary of `p` whose command line needs a subcommand, by the facts of its files
/// (`clis`).
fn needs_subcommand(
    p: &Package,
    clis: &[(String, crate::subcommands::CliFacts)],
) -> Option<(String, crate::model::NeedsSubcommand)> {
    let facts: Vec<&crate::subcommands::CliFacts> = clis.iter().map(|(_, f)| f).collect();
    let (parser, declared, subcommands) = crate::subcommands::required_subcommand(&facts)?;
    let bin = parsing_bin(p, clis, &parser)?;
    let file = clis[declared].0.clone();
    Some((
        bin,
        crate::model::NeedsSubcommand {
            parser,
            file,
            subcommands,
        },
    ))
}

/// The binary of `p` whose command line requires arguments, by the facts of its files.
fn needs_arguments(
    p: &Package,
    clis: &[(String, crate::subcommands::CliFacts)],
) -> Option<(String, crate::model::NeedsArguments)> {
    let facts: Vec<&crate::subcommands::CliFacts> = clis.iter().map(|(_, f)| f).collect();
    let (parser, declared) = crate::subcommands::needing_arguments(&facts)?;
    let bin = parsing_bin(p, clis, &parser)?;
    let (file, f) = &clis[declared];
    Some((
        bin,
        crate::model::NeedsArguments {
            args: f.required_args.get(&parser).cloned().unwrap_or_default(),
            config_defaults: f.config_defaults.get(&parser).cloned().unwrap_or_default(),
            parser,
            file: file.clone(),
        },
    ))
}

/// The binary of `p` that parses the command line `parser`: the one whose own file parses
/// it, else the package's only binary.
fn parsing_bin(
    p: &Package,
    clis: &[(String, crate::subcommands::CliFacts)],
    parser: &str,
) -> Option<String> {
    let parsed_in = |t: &&&Target| {
        clis.iter()
            .any(|(file, f)| *file == t.src_path && f.parsed.contains(parser))
    };
    let bins: Vec<&Target> = p
        .targets
        .iter()
        .filter(|t| t.kind == TargetKind::Bin)
        .collect();
    match bins.iter().find(parsed_in) {
        Some(bin) => Some(bin.name.clone()),
        None if bins.len() == 1 => Some(bins[0].name.clone()),
        None => None,
    }
}

/// What [`source_reads`] finds, each path with its readers ([`Workspace`]'s
/// `compile_reads`, `run_reads` and `missing_reads`).
struct SourceReads {
    compile: BTreeMap<String, CompileRead>,
    /// Per package, the binary whose command line needs a subcommand.
    subcommands: BTreeMap<String, (String, crate::model::NeedsSubcommand)>,
    /// Per package, the binary whose command line requires arguments.
    arguments: BTreeMap<String, (String, crate::model::NeedsArguments)>,
    /// Per package, the environment variables its compile reads ([`Package::env_reads`]).
    env_reads: BTreeMap<String, BTreeMap<String, crate::model::EnvRead>>,
    /// Per package, the loopback addresses its files listen on ([`Package::loopback`]).
    loopbacks: BTreeMap<String, BTreeMap<String, Vec<crate::listen::Loopback>>>,
    /// Per package, what its files say about the ports they listen on ([`Package::listen`]).
    listens: BTreeMap<String, BTreeMap<String, crate::listen::ListenFacts>>,
    /// Per package, the signals its files handle ([`Package::signals`]).
    signals: BTreeMap<String, BTreeMap<String, crate::signals::SignalFacts>>,
    /// Per package, the variables its files read when it runs ([`Package::run_env`]).
    run_envs: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Per package, the paths its files write to when it runs ([`Package::writes`]).
    writes: BTreeMap<String, BTreeMap<String, Vec<crate::reads::Written>>>,
    /// Per package, the first call per file that creates a file at a computed path
    /// ([`Package::creates`]).
    creates: BTreeMap<String, BTreeMap<String, String>>,
    /// Per package, its own configuration and state paths ([`Package::system_paths`]).
    systems: BTreeMap<String, BTreeMap<String, Vec<crate::reads::SystemPath>>>,
    /// Per package, the programs its files start ([`Package::spawns`]).
    spawns: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Per package, the calls that detach it by default and the flag that keeps it in the
    /// foreground ([`Package::daemon_calls`]).
    detaches: BTreeMap<String, (BTreeMap<String, String>, String)>,
    /// Per package, the first source that asks git while compiling, and how.
    git_uses: BTreeMap<String, (String, String)>,
    /// Per package, the watched paths the context leaves out ([`Package::unseen_watches`]).
    watches: BTreeMap<String, Vec<crate::model::UnseenWatch>>,
    /// Per package, its feature guards ([`Package::feature_guards`]).
    guards: BTreeMap<String, BTreeMap<String, Vec<crate::cfg::FeatureGuard>>>,
    run: BTreeMap<String, CompileRead>,
    missing: BTreeMap<String, CompileRead>,
}

/// `reader` reads `path`; `why` is kept from the first reader found.
fn add_reader(reads: &mut BTreeMap<String, CompileRead>, path: String, why: String, reader: &str) {
    reads
        .entry(path)
        .or_insert_with(|| CompileRead {
            why,
            ..CompileRead::default()
        })
        .readers
        .insert(reader.to_string());
}

/// A path inside another listed one goes; its readers read part of the outermost one (the
/// first found: sorted, a directory comes before what is inside it, and stays).
fn outermost(mut found: BTreeMap<String, CompileRead>) -> BTreeMap<String, CompileRead> {
    use crate::model::is_within;
    let all: Vec<String> = found.keys().cloned().collect();
    for inner in &all {
        if let Some(outer) = all.iter().find(|y| *y != inner && is_within(inner, y)) {
            let readers = found.remove(inner).map(|r| r.readers).unwrap_or_default();
            if let Some(o) = found.get_mut(outer) {
                o.readers.extend(readers);
            }
        }
    }
    found
}

/// sqlx's offline query data at the workspace root (`.sqlx/`, `sqlx-data.json` before
/// sqlx 0.7), with the package whose query macros read it there: those macros look in the
/// package directory, then in the workspace root (docs.rs keeps one `.sqlx/` for all its
/// crates), and without it a build that has no database fails. None when every package
/// that uses sqlx has the root inside its own directory (a root package), whose compile
/// steps see it anyway.
fn sqlx_offline_data(
    context: &Path,
    root: &str,
    packages: &[Package],
    sqlx_users: &BTreeSet<String>,
    rules: &IgnoreRules,
) -> BTreeMap<String, CompileRead> {
    let mut out = BTreeMap::new();
    let readers: BTreeSet<String> = packages
        .iter()
        .filter(|p| sqlx_users.contains(&p.name) && !crate::model::is_within(root, &p.dir))
        .map(|p| p.name.clone())
        .collect();
    let Some(first) = readers.first() else {
        return out;
    };
    for path in sqlx_data(context, root, rules) {
        let why =
            format!("sqlx's query macros in `{first}` read the workspace's offline query data");
        out.insert(
            path,
            CompileRead {
                why,
                readers: readers.clone(),
                run_as: None,
            },
        );
    }
    out
}

/// sqlx's offline query data in directory `dir` that the build can read: `.sqlx/` (sqlx
/// 0.7+), `sqlx-data.json` (0.5 and 0.6).
fn sqlx_data(context: &Path, dir: &str, rules: &IgnoreRules) -> Vec<String> {
    [".sqlx", "sqlx-data.json"]
        .iter()
        .map(|name| crate::model::join(dir, name))
        .filter(|path| context.join(path).exists() && !rules.excluded(path))
        .collect()
}

/// The packages among `sqlx_users` whose library or binaries call a query macro
/// (`query!`, `query_as!`, `query_file!` …: each checks its query against a database
/// while compiling) with no offline query data the build can read and their sqlx reads
/// (`readable`: `.sqlx/` or `sqlx-data.json`, by version and features), beside the
/// package or at the workspace root; sorted. realworld-axum-sqlx (sqlx 0.5, no `sqlx-data.json`)
/// failed minutes into its build.
fn sqlx_online(
    context: &Path,
    root: &str,
    packages: &[Package],
    sqlx_users: &BTreeSet<String>,
    rules: &IgnoreRules,
    readable: &[&str],
) -> Vec<String> {
    const MACROS: [&str; 6] = [
        "query!(",
        "query_as!(",
        "query_scalar!(",
        "query_file!(",
        "query_file_as!(",
        "query_file_scalar!(",
    ];
    let readable_in = |dir: &str| {
        sqlx_data(context, dir, rules)
            .iter()
            .any(|path| readable.iter().any(|name| path.ends_with(name)))
    };
    if readable_in(root) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for p in packages.iter().filter(|p| sqlx_users.contains(&p.name)) {
        if readable_in(&p.dir) {
            continue;
        }
        let calls = p
            .targets
            .iter()
            .filter(|t| matches!(t.kind, TargetKind::Lib | TargetKind::Bin))
            .map(|t| t.src_path.rsplit_once('/').map(|(d, _)| d).unwrap_or(""))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .flat_map(|dir| files_under_except(context, dir, &|path| rules.excluded(path)))
            .filter(|f| f.ends_with(".rs"))
            .any(|f| {
                std::fs::read_to_string(context.join(&f))
                    .is_ok_and(|text| MACROS.iter().any(|m| text.contains(m)))
            });
        if calls {
            out.push(p.name.clone());
        }
    }
    out
}

/// The SQLite database a `.env` names for sqlx's query macros in the `online` packages
/// (those with no offline data): the `.env` in the package directory, else at the
/// workspace root (the macros load the package's, then search up from where cargo runs
/// rustc, the root). Its `DATABASE_URL=sqlite://PATH` must name a file in the context,
/// relative to the root (where cargo runs rustc, the path's base); an absolute path, a
/// server's URL or an in-memory database is none. The `.env` itself stays out of the
/// context (it may hold secrets): the plan gives the build its `DATABASE_URL` instead.
fn sqlx_dotenv_database(
    context: &Path,
    root: &str,
    packages: &[Package],
    online: &[String],
    rules: &IgnoreRules,
) -> Option<SqlxDatabase> {
    let mut found: Option<SqlxDatabase> = None;
    for p in packages.iter().filter(|p| online.contains(&p.name)) {
        let Some(env_file) = [p.dir.as_str(), root]
            .iter()
            .map(|dir| crate::model::join(dir, ".env"))
            .find(|path| context.join(path).is_file())
        else {
            continue;
        };
        let text = std::fs::read_to_string(context.join(&env_file)).unwrap_or_default();
        let Some(url) = dotenv_value(&text, "DATABASE_URL") else {
            continue;
        };
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .map(|path| path.split('?').next().unwrap_or(path))
            .filter(|path| {
                !(path.is_empty() || path.starts_with('/') || path.starts_with(":memory:"))
            });
        let Some(file) = path.and_then(|path| crate::reads::resolve(root, path)) else {
            continue;
        };
        if !context.join(&file).is_file() || rules.excluded(&file) {
            continue;
        }
        match &mut found {
            // Two `.env`s naming different databases: the first package's counts, the
            // others keep their note.
            Some(db) if db.url != url || db.file != file => {}
            Some(db) => {
                db.readers.insert(p.name.clone());
            }
            None => {
                found = Some(SqlxDatabase {
                    url,
                    env_file,
                    file,
                    readers: BTreeSet::from([p.name.clone()]),
                });
            }
        }
    }
    found
}

/// The value a `.env` gives `key` (`KEY=value`, `export KEY="value"`), as dotenv reads it.
fn dotenv_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let (name, value) = line.split_once('=')?;
        if name.trim() != key {
            return None;
        }
        let value = value.trim();
        let value = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.split(*q).next()))
            .unwrap_or_else(|| value.split(" #").next().unwrap_or(value).trim());
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The string values of the `[env]` table of the cargo configuration at the workspace
/// root that could name a path (relative, with no `://` or spaces), by variable, with the
/// configuration's context path: `relative = true` values too, which cargo resolves from
/// the same directory the workspace's `cargo run` starts in.
fn config_env_paths(context: &Path, root: &str) -> BTreeMap<String, (String, String)> {
    let Some((config, text)) = crate::model::CARGO_CONFIGS.iter().find_map(|f| {
        let path = crate::model::join(root, f);
        Some((
            path.clone(),
            std::fs::read_to_string(context.join(&path)).ok()?,
        ))
    }) else {
        return BTreeMap::new();
    };
    let Some(env) = text
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| match t.get("env") {
            Some(toml::Value::Table(env)) => Some(env.clone()),
            _ => None,
        })
    else {
        return BTreeMap::new();
    };
    env.iter()
        .filter_map(|(var, v)| {
            let value = match v {
                toml::Value::String(s) => s.as_str(),
                toml::Value::Table(t) => t.get("value")?.as_str()?,
                _ => return None,
            };
            let pathish = !value.is_empty()
                && !value.starts_with('/')
                && !value.contains("://")
                && !value.contains(char::is_whitespace);
            pathish.then(|| (var.clone(), (config.clone(), value.to_string())))
        })
        .collect()
}

/// `build.target` of the cargo configuration in package directory `dir` (not the
/// workspace root's, which every package shares): a string, or an array's first entry.
fn own_target(context: &Path, dir: &str) -> Option<String> {
    crate::model::CARGO_CONFIGS.iter().find_map(|f| {
        let text = std::fs::read_to_string(context.join(crate::model::join(dir, f))).ok()?;
        let table = text.parse::<toml::Table>().ok()?;
        match table.get("build")?.get("target")? {
            toml::Value::String(t) => Some(t.clone()),
            toml::Value::Array(a) => a.first()?.as_str().map(String::from),
            _ => None,
        }
    })
}

/// The submodules `.gitmodules` lists (at the workspace root, else the context root) whose
/// directory is missing or empty, context-relative and sorted: lemmy's build script read
/// `translations/` from one, and a clone without `--recursive` failed minutes into the
/// build with a bare `NotFound`.
fn missing_submodules(context: &Path, root: &str) -> Vec<String> {
    let mut out = Vec::new();
    for base in [root, ""] {
        let Ok(text) =
            std::fs::read_to_string(context.join(crate::model::join(base, ".gitmodules")))
        else {
            continue;
        };
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if key.trim() != "path" {
                continue;
            }
            let path = crate::model::join(base, value.trim().trim_end_matches('/'));
            let empty = std::fs::read_dir(context.join(&path))
                .map(|mut entries| entries.next().is_none())
                .unwrap_or(true);
            if empty && !path.split('/').any(|c| c == "..") {
                out.push(path);
            }
        }
        break;
    }
    out.sort();
    out.dedup();
    out
}

/// The root manifest of the workspace a path package outside ours belongs to, as cargo
/// finds it: the package's own manifest when it has `[workspace]` (then nothing to add),
/// else the nearest `Cargo.toml` above it with a `[workspace]` that does not `exclude` it,
/// searched up to the context root (a build sees nothing higher). `None` when that is our
/// own root manifest or there is none.
fn foreign_workspace_root(package_dir: &Path, context_dir: &Path, ours: &Path) -> Option<PathBuf> {
    // A manifest (parsed) that has a `[workspace]` table.
    let workspace_root = |manifest: &Path| -> Option<toml::Table> {
        let text = std::fs::read_to_string(manifest).ok()?;
        let table = text.parse::<toml::Table>().ok()?;
        table.get("workspace")?.is_table().then_some(table)
    };
    if workspace_root(&package_dir.join("Cargo.toml")).is_some() {
        return None;
    }
    let same = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
    for dir in package_dir.ancestors().skip(1) {
        if !dir.starts_with(context_dir) {
            break;
        }
        let manifest = dir.join("Cargo.toml");
        let Some(table) = workspace_root(&manifest) else {
            continue;
        };
        // Cargo's rule: a path under an `exclude` entry and under no `members` entry (as
        // written, not expanded) is not this workspace's; the search goes on above it.
        let under = |entry: &String| package_dir.starts_with(dir.join(entry));
        let excluded = workspace_strings(&table, "exclude").iter().any(under);
        if excluded && !workspace_strings(&table, "members").iter().any(under) {
            continue;
        }
        return (!same(&manifest, ours)).then_some(manifest);
    }
    None
}

/// The directory sources (`[source.<name>] directory = "vendor"`) of the cargo
/// configuration files read into `extra_files` (context-relative paths), that exist. Cargo
/// takes such a path relative to the directory holding `.cargo/`.
fn vendor_dirs(
    extra_files: &BTreeMap<String, String>,
    context_dir: &Path,
) -> Result<Vec<String>, Error> {
    let mut out = BTreeSet::new();
    for (path, text) in extra_files {
        let Some(base) = path
            .strip_suffix(".cargo/config.toml")
            .or_else(|| path.strip_suffix(".cargo/config"))
        else {
            continue;
        };
        let Ok(table) = text.parse::<toml::Table>() else {
            continue;
        };
        let sources = table.get("source").and_then(toml::Value::as_table);
        for (name, source) in sources.into_iter().flatten() {
            let Some(dir) = source.get("directory").and_then(toml::Value::as_str) else {
                continue;
            };
            let full = context_dir.join(base).join(dir);
            if !full.is_dir() {
                // Unused, or cargo metadata would have failed: nothing to ship.
                continue;
            }
            let canonical = full.canonicalize().unwrap_or(full);
            let rel = canonical
                .strip_prefix(context_dir)
                .map_err(|_| Error::InvalidConfig {
                    manifest: context_dir.join(path).display().to_string(),
                    message: format!(
                        "key `source.{name}.directory`: `{}` lies outside the build context `{}`, \
                     so the build cannot see the vendored crates; vendor them inside the \
                     repository (`cargo vendor` writes `vendor/` by default), or set \
                     `context` in [workspace.metadata.image] to a directory that holds them",
                        canonical.display(),
                        context_dir.display()
                    ),
                })?;
            out.insert(path_to_slash(rel));
        }
    }
    Ok(out.into_iter().collect())
}

/// The package's own features `default` turns on, directly or through other features,
/// sorted (`default` itself left out).
fn default_features(p: &cargo_metadata::Package) -> Vec<String> {
    let mut on = BTreeSet::new();
    let mut stack = vec!["default"];
    while let Some(f) = stack.pop() {
        for value in p.features.get(f).into_iter().flatten() {
            if p.features.contains_key(value.as_str()) && on.insert(value.clone()) {
                stack.push(value);
            }
        }
    }
    on.into_iter().collect()
}

/// For each feature of `p` that enables optional dependencies, their package names:
/// directly (`dep:x`, `x` naming an optional dependency, `x/f`) or through other features;
/// `x?/f` enables nothing.
fn feature_deps(p: &cargo_metadata::Package) -> BTreeMap<String, Vec<String>> {
    // Optional dependencies by the name features use for them (the rename, if any).
    let optional: BTreeMap<&str, &str> = p
        .dependencies
        .iter()
        .filter(|d| d.optional)
        .map(|d| (d.rename.as_deref().unwrap_or(&d.name), d.name.as_str()))
        .collect();
    let mut out = BTreeMap::new();
    for feature in p.features.keys() {
        let mut enabled = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![feature.as_str()];
        while let Some(f) = stack.pop() {
            if !seen.insert(f) {
                continue;
            }
            for value in p.features.get(f).into_iter().flatten() {
                let (name, weak) = match value.split_once('/') {
                    Some((dep, _)) => (dep.trim_end_matches('?'), dep.ends_with('?')),
                    None => (value.strip_prefix("dep:").unwrap_or(value), false),
                };
                if value.contains('/')
                    || value.starts_with("dep:")
                    || !p.features.contains_key(name)
                {
                    if let (Some(package), false) = (optional.get(name), weak) {
                        enabled.insert(package.to_string());
                    }
                } else {
                    stack.push(name);
                }
            }
        }
        if !enabled.is_empty() {
            out.insert(feature.clone(), enabled.into_iter().collect());
        }
    }
    out
}

/// The `[patch]` path packages of the root manifest and of the cargo configuration files
/// read into `extra_files` that are no package of the resolve, context-relative and sorted:
/// cargo reads each to load the workspace even when nothing enables it. atuin patches
/// axoasset, a dependency of a feature off by default; `cargo metadata` leaves it out, and
/// the build failed on its missing `Cargo.toml`.
fn unused_patch_dirs(
    root_manifest: &str,
    root: &str,
    extra_files: &BTreeMap<String, String>,
    context_dir: &Path,
    packages: &[Package],
) -> Result<Vec<String>, Error> {
    let mut out = BTreeSet::new();
    // Each file with the directory its paths are relative to: the root manifest's, and
    // the one holding `.cargo/`.
    let configs = extra_files.iter().filter_map(|(path, text)| {
        let base = path
            .strip_suffix(".cargo/config.toml")
            .or_else(|| path.strip_suffix(".cargo/config"))?;
        Some((path.clone(), base.trim_end_matches('/'), text.as_str()))
    });
    let sources = std::iter::once((crate::model::join(root, "Cargo.toml"), root, root_manifest))
        .chain(configs);
    for (file, base, text) in sources {
        let Ok(table) = text.parse::<toml::Table>() else {
            continue;
        };
        let patches = table.get("patch").and_then(toml::Value::as_table);
        for (registry, crates) in patches.into_iter().flatten() {
            for (name, spec) in crates.as_table().into_iter().flatten() {
                let Some(path) = spec.get("path").and_then(toml::Value::as_str) else {
                    continue;
                };
                let outside = || Error::InvalidConfig {
                    manifest: context_dir.join(&file).display().to_string(),
                    message: format!(
                        "key `patch.{registry}.{name}.path`: `{path}` lies outside the build \
                         context `{}`, so the build cannot read the patched package; move it \
                         inside, or set `context` in [workspace.metadata.image] to a \
                         directory that holds it",
                        context_dir.display()
                    ),
                };
                let dir = crate::reads::resolve(base, path).ok_or_else(outside)?;
                let known = packages.iter().any(|p| p.dir == dir);
                if !known && context_dir.join(&dir).join("Cargo.toml").is_file() {
                    out.insert(dir);
                }
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// The symlinks (inside the build context) on the way to a package directory as cargo
/// reports it (`crates/*` expanded: `crates/api`, a link to `../elsewhere/api`), each with
/// its target relative to the link's own directory. A build context carries the link, not
/// what it points to, so the build must recreate it beside the resolved directory.
fn links_on_the_way(
    dir: &Path,
    context_dir: &Path,
    package: &str,
) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for link in dir.ancestors() {
        if !link
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            continue;
        }
        let (Some(parent), Some(name)) = (link.parent(), link.file_name()) else {
            continue;
        };
        // A link above the context (a symlinked home or temporary directory) is the
        // host's business: the context itself is resolved.
        let parent = parent
            .canonicalize()
            .unwrap_or_else(|_| parent.to_path_buf());
        let Ok(parent) = parent.strip_prefix(context_dir) else {
            continue;
        };
        let parent = path_to_slash(parent);
        let shown = crate::model::join(&parent, &name.to_string_lossy());
        let target = link.canonicalize().unwrap_or_else(|_| link.to_path_buf());
        let Ok(target) = target.strip_prefix(context_dir) else {
            return Err(Error::SymlinkOutside {
                package: package.to_string(),
                link: shown,
                target: target.display().to_string(),
                context: context_dir.display().to_string(),
            });
        };
        let up = parent.split('/').filter(|c| !c.is_empty()).count();
        let relative: Vec<String> = std::iter::repeat_n("..".to_string(), up)
            .chain(
                target
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned()),
            )
            .collect();
        out.push((shown, relative.join("/")));
    }
    Ok(out)
}

/// Every file under a context-relative directory, context-relative (no links followed).
fn files_under(context_dir: &Path, dir: &str) -> Vec<String> {
    files_under_except(context_dir, dir, &|_| false)
}

/// The files under `dir`, sorted, leaving out every file and directory `skip` names.
fn files_under_except(context_dir: &Path, dir: &str, skip: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_string()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(context_dir.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = crate::model::join(&dir, &entry.file_name().to_string_lossy());
            if skip(&path) {
                continue;
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn path_to_slash(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The version a toolchain file pins, when it pins a numbered one (`1.85` or `1.85.0`).
pub fn toolchain_version(text: &str) -> Option<String> {
    let channel = match text.parse::<toml::Table>() {
        Ok(doc) => doc
            .get("toolchain")
            .and_then(|t| t.get("channel"))
            .and_then(|c| c.as_str())
            .map(str::to_string),
        // The legacy `rust-toolchain` file holds just the channel.
        Err(_) => Some(text.trim().to_string()),
    }?;
    let numbered = channel.split('.').count() >= 2
        && channel
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    numbered.then_some(channel)
}

/// `rustc -V` → `1.95.0`.
fn host_rust_version() -> Option<String> {
    let out = Command::new("rustc").arg("-V").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.split_whitespace()
        .nth(1)
        .map(|v| v.split('-').next().unwrap_or(v).to_string())
}

#[cfg(test)]
mod tests {
    use super::{from_first_error, source_reads, ssh_repository, toolchain_version};
    use crate::ignore::IgnoreRules;
    use crate::model::{Package, Target, TargetKind};
    use std::collections::BTreeMap;

    /// A failed `cargo metadata` is shown from its first `error` line (meilisearch's began
    /// with cargo's progress), and as printed when it has none.
    #[test]
    fn cargo_errors_are_shown_from_the_first_error_line() {
        let stderr = "    Updating git repository `https://example.invalid/x`\nerror: failed to \
                      load source for dependency `x`\n\nCaused by:\n  unreachable\n";
        assert_eq!(
            from_first_error(stderr),
            "error: failed to load source for dependency `x`\n\nCaused by:\n  unreachable"
        );
        assert_eq!(from_first_error("no such file\n"), "no such file\n");
    }

    /// Whether a file the walks reach is build-script code does not depend on the order
    /// cargo lists targets in: with the build script (`src/build.rs`) listed first, the
    /// library's module beside it (`src/conf.rs`) still reads `../config` at run time; the
    /// script reads `../proto` at compile time.
    #[test]
    fn a_file_is_build_script_code_only_when_no_other_target_reaches_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |path: &str, text: &str| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
            std::fs::write(path, text).expect("write");
        };
        write(
            "svc/src/build.rs",
            "fn main() { let _ = std::fs::read(\"../proto/a\"); }",
        );
        write("svc/src/lib.rs", "mod conf;");
        write(
            "svc/src/conf.rs",
            "fn c() { let _ = std::fs::read(\"../config/b\"); }",
        );
        write("proto/a", "");
        write("config/b", "");
        let target = |kind, path: &str| Target {
            kind,
            name: "svc".into(),
            src_path: path.into(),
            required_features: Vec::new(),
        };
        let package = Package {
            name: "svc".into(),
            version: "0.1.0".into(),
            member: true,
            dir: "svc".into(),
            manifest: String::new(),
            description: None,
            license: None,
            repository: None,
            homepage: None,
            targets: vec![
                target(TargetKind::BuildScript, "svc/src/build.rs"),
                target(TargetKind::Lib, "svc/src/lib.rs"),
            ],
            deps: Vec::new(),
            config: Default::default(),
            sources: Vec::new(),
            features: Vec::new(),
            feature_deps: BTreeMap::new(),
            own_target: None,
            default_run: None,
            default_features: Vec::new(),
            needs_subcommand: BTreeMap::new(),
            needs_arguments: BTreeMap::new(),
            env_reads: BTreeMap::new(),
            loopback: BTreeMap::new(),
            listen: BTreeMap::new(),
            spawns: BTreeMap::new(),
            git_use: None,
            unseen_watches: Vec::new(),
            daemon_calls: BTreeMap::new(),
            foreground_flag: None,
            signals: BTreeMap::new(),
            run_env: BTreeMap::new(),
            writes: BTreeMap::new(),
            creates: BTreeMap::new(),
            system_paths: BTreeMap::new(),
            feature_guards: BTreeMap::new(),
        };
        let dirs = ["svc".to_string()];
        let reads = source_reads(dir.path(), "", &[package], &dirs, &IgnoreRules::default());
        assert_eq!(reads.compile.keys().collect::<Vec<_>>(), ["proto/a"]);
    }

    #[test]
    fn ssh_sources_are_their_repositories() {
        assert_eq!(
            ssh_repository("git+ssh://git@git.example.com/acme/core.git?branch=main#0123abc")
                .as_deref(),
            Some("ssh://git@git.example.com/acme/core.git")
        );
        assert_eq!(
            ssh_repository("git+ssh://git@host:2222/srv/dep#ffff").as_deref(),
            Some("ssh://git@host:2222/srv/dep")
        );
        assert_eq!(
            ssh_repository("git+https://github.com/acme/core#0123abc"),
            None
        );
        assert_eq!(
            ssh_repository("registry+https://github.com/rust-lang/crates.io-index"),
            None
        );
    }

    #[test]
    fn toolchain_versions() {
        assert_eq!(
            toolchain_version("[toolchain]\nchannel = \"1.85.0\"\n").as_deref(),
            Some("1.85.0")
        );
        assert_eq!(
            toolchain_version("[toolchain]\nchannel = \"stable\"\n"),
            None
        );
        assert_eq!(toolchain_version("1.80\n").as_deref(), Some("1.80"));
        assert_eq!(toolchain_version("nightly-2024-01-01\n"), None);
    }
}
