//! The planner: turns a [`Workspace`] into a [`Plan`] — what each stage of the Dockerfile
//! does — without touching the filesystem, processes or Docker.
//!
//! **Invariant:** `plan` is a pure function of its inputs, and its output is sorted and
//! deterministic: the same workspace, whatever order `cargo metadata` listed it in, gives
//! a byte-identical plan (and so a byte-identical Dockerfile and a stable layer cache).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::{HealthcheckConfig, ImageConfig};
use crate::error::Error;
use crate::model::{is_within, join, DepKind, Package, TargetKind, Workspace};
use crate::skeleton::{self, Skeleton};

/// The default cap on crate layers in the build stage.
pub const DEFAULT_MAX_LAYERS: usize = 60;
/// The most `max-layers` may say: Docker's overlay storage caps an image at about 125
/// layers, and the builder image and our stages take some.
pub const MAX_LAYERS_LIMIT: usize = 100;
/// The cap on leaf stages: they run side by side, and each cargo already uses every core,
/// so more would only add memory.
pub const MAX_LEAF_STAGES: usize = 8;
/// The user every runtime image runs as unless configured: distroless' `nonroot`.
pub const DEFAULT_USER: &str = "65532:65532";
const DEFAULT_TAGS: [&str; 2] = ["{bin}:{version}", "{bin}:latest"];

/// Inputs that do not come from the workspace: the caller's choices.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Binaries to plan images for; empty means every binary not marked `skip`.
    pub bins: Vec<String>,
    /// Overrides the builder image.
    pub builder: Option<String>,
    /// Overrides the images behind runtime keywords (`distroless-cc` = ...).
    pub base_images: BTreeMap<String, String>,
    /// Where the steps that download crates find extra CA certificates, when there are any.
    pub ca_source: CaSource,
    /// The caller has CA certificates besides the workspace's `ca-certificates`
    /// (`cargo xtask image --ca-cert`).
    pub extra_ca: bool,
}

/// How extra CA certificates reach the steps that download crates (and nothing else).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CaSource {
    /// None are needed: the steps mount nothing. The planner picks this when neither the
    /// workspace (`ca-certificates`) nor the caller ([`PlanOptions::extra_ca`]) has any: a
    /// secret mount costs its step a late start in BuildKit (about 2 s in a cold build).
    None,
    /// A build secret `cargo-image-ca` (`docker buildx build --secret id=cargo-image-ca,src=...`).
    #[default]
    Secret,
    /// A file the driver puts into its own build context at [`CA_CONTEXT_PATH`], bind-mounted
    /// for the one step: the Engine API's BuildKit session offers no secrets.
    ContextFile,
}

/// Where the `image` driver puts its files inside the build context it sends.
pub const DRIVER_DIR: &str = ".cargo-image";
/// The extra CA bundle inside the driver's build context.
pub const CA_CONTEXT_PATH: &str = ".cargo-image/ca.pem";

/// Everything the renderers need.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    /// The workspace root relative to the build context ("" when they coincide).
    pub workspace_root: String,
    /// The Rust image every builder stage starts from.
    pub builder: String,
    pub skeleton: Skeleton,
    /// Members whose versions the skeleton masks (also masked in Cargo.lock in the build).
    pub masked_members: Vec<String>,
    /// Real manifests, Cargo.lock and verbatim files, copied together after the
    /// dependency stage (the lockfile only agrees with all manifests at once).
    pub manifests: Vec<String>,
    /// The chain of crate layers, dependencies first: the packages another planned
    /// package depends on.
    pub layers: Vec<Layer>,
    /// Stages side by side on top of the chain: the packages no other one needs, and the
    /// binaries each installs.
    pub leaves: Vec<Leaf>,
    /// The one cargo invocation every layer of the build stage runs.
    pub build: Build,
    /// Directories of every local package (touched before the dev and test builds).
    pub local_dirs: Vec<String>,
    /// `build-env`: the environment of every compile step.
    pub build_env: BTreeMap<String, String>,
    /// The user's own `.dockerignore` rules, kept after our block.
    pub dockerignore: Option<String>,
    /// `dockerfile-append`: the user's own stages, appended verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appended: Option<Appended>,
    pub images: Vec<ImagePlan>,
    pub dev: DevPlan,
    /// Extra CA certificate files to pass as a build secret (paths relative to the
    /// workspace root); never part of a plan's images.
    pub ca_certificates: Vec<String>,
    pub ca_source: CaSource,
}

/// One cached layer of the build stage: copy these packages' sources, then build.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Layer {
    pub packages: Vec<String>,
    /// Paths to copy (directories or files), relative to the build context.
    pub copy: Vec<String>,
}

/// A stage on top of the chain of layers: copy these packages' sources, build, install
/// these binaries. Leaves are independent of each other, so BuildKit builds them side by
/// side and an edit to one leaves the others cached. A leaf without packages installs the
/// binaries of packages in the chain.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Leaf {
    pub packages: Vec<String>,
    /// Paths to copy (directories or files), relative to the build context.
    pub copy: Vec<String>,
    /// The shipped binaries this stage installs, sorted.
    pub bins: Vec<String>,
}

/// The shared build command.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Build {
    /// The workspace's own rustflags per target triple (`.cargo/config.toml`:
    /// `[target.<triple>] rustflags`, else `[build] rustflags`): static linking sets
    /// RUSTFLAGS, which would otherwise replace them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config_rustflags: BTreeMap<String, Vec<String>>,
    /// `build-packages`: Debian packages for the build platform (with the inferred ones).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_packages: Vec<String>,
    /// Build packages inferred from the workspace, each with the reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inferred_packages: BTreeMap<String, String>,
    /// Link packages inferred from the dependency graph, each with the reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inferred_link_packages: BTreeMap<String, String>,
    /// `link-packages`: Debian libraries for the target architecture.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_packages: Vec<String>,
    pub profile: String,
    /// The directory under `target/<triple>/` the profile writes to.
    pub profile_dir: String,
    /// Features as `package/feature`, sorted.
    pub features: Vec<String>,
    /// Binaries built, sorted.
    pub bins: Vec<String>,
    /// `-C target-feature=+crt-static` (a `*-linux-gnu` std links statically with it).
    pub static_link: bool,
    /// With `static_link`: the binaries linked dynamically all the same, by a second cargo
    /// command with a target dir of its own (`target/dynamic`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_bins: Vec<String>,
    pub strip: bool,
}

/// The dev image: the toolchain, dependencies prebuilt for the dev profile, and a loop
/// that rebuilds and restarts a binary when a source changes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DevPlan {
    pub profile: String,
    pub profile_dir: String,
    /// The binary `docker run` of the dev image starts.
    pub bin: String,
    pub poll_seconds: u32,
}

/// A runtime image for one binary.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ImagePlan {
    pub bin: String,
    pub package: String,
    pub version: String,
    /// The Dockerfile stage (`docker build --target`).
    pub stage: String,
    pub runtime: Runtime,
    /// The image the stage starts `FROM`.
    pub base: String,
    pub user: String,
    pub ports: Vec<u16>,
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub healthcheck: Option<Healthcheck>,
    /// Tags, with placeholders filled in.
    pub tags: Vec<String>,
    /// What the image gets beside the binary (`runtime-packages`, `files`, `workdir`,
    /// `volumes`, `args`, `entrypoint`, `stop-signal`, `tzdata`).
    #[serde(default, skip_serializing_if = "Extras::is_empty")]
    pub extras: Extras,
}

/// The user's own stages (`dockerfile-append`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Appended {
    /// The file, relative to the build context.
    pub path: String,
    pub text: String,
    /// The stage names it declares (`FROM … AS name`), which `image --target` and bake know.
    pub stages: Vec<String>,
}

/// The stage names a Dockerfile text declares (`FROM image AS name`).
pub fn declared_stages(text: &str) -> Vec<String> {
    let mut stages = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("FROM"))
        {
            if let Some(i) = words.iter().position(|w| w.eq_ignore_ascii_case("AS")) {
                if let Some(name) = words.get(i + 1) {
                    stages.push(name.to_ascii_lowercase());
                }
            }
        }
    }
    stages
}

/// The runtime keys of one image, checked.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Extras {
    /// Debian packages for the runtime (with `tzdata` when asked and the runtime lacks it).
    pub packages: Vec<String>,
    /// How they arrive: apt in the runtime image, or unpacked in a build stage.
    pub packages_by: PackagesBy,
    /// Context path → absolute path in the image.
    pub files: BTreeMap<String, String>,
    pub workdir: Option<String>,
    pub volumes: Vec<String>,
    pub args: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub stop_signal: Option<String>,
    /// A dynamically linked binary: the shared libraries it needs that the runtime lacks
    /// are copied from the builder (ELF `NEEDED`, recursively).
    #[serde(default)]
    pub shared_libs: bool,
}

/// The shared libraries every runtime with a C library has (glibc and libgcc), never
/// copied into an image.
pub const LIBC_SONAMES: [&str; 11] = [
    "ld-linux-aarch64.so.1",
    "ld-linux-x86-64.so.2",
    "libc.so.6",
    "libdl.so.2",
    "libgcc_s.so.1",
    "libm.so.6",
    "libpthread.so.0",
    "libresolv.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libanl.so.1",
];

impl Extras {
    pub fn is_empty(&self) -> bool {
        *self == Extras::default()
    }

    /// Whether a build stage prepares files for the image (unpacked packages, `files`,
    /// the working directory, volumes owned by the runtime user).
    pub fn needs_stage(&self) -> bool {
        (!self.packages.is_empty() && self.packages_by == PackagesBy::Unpack)
            || self.shared_libs
            || !self.files.is_empty()
            || self.workdir.is_some()
            || !self.volumes.is_empty()
    }
}

/// How runtime packages reach an image.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PackagesBy {
    /// `apt-get install` in the runtime image (Debian slim, or an image with apt).
    #[default]
    Apt,
    /// Unpacked from the `.deb`s with their dependencies in a build stage (distroless,
    /// scratch: no package manager, no shell).
    Unpack,
}

/// What each runtime without apt already holds, as Debian packages: never unpacked again.
pub fn provided_packages(runtime: &Runtime) -> &'static [&'static str] {
    // Packages no runtime needs, which Depends closures drag in (maintainer tooling).
    const TOOLING: [&str; 8] = [
        "base-files",
        "debconf",
        "dpkg",
        "install-info",
        "libc-bin",
        "perl-base",
        "tzdata-legacy",
        "usr-is-merged",
    ];
    match runtime {
        Runtime::DistrolessCc => &[
            "base-files",
            "ca-certificates",
            "debconf",
            "dpkg",
            "gcc-12-base",
            "gcc-14-base",
            "install-info",
            "libc-bin",
            "libc6",
            "libgcc-s1",
            "netbase",
            "perl-base",
            "tzdata",
            "tzdata-legacy",
            "usr-is-merged",
        ],
        Runtime::DistrolessStatic => &[
            "base-files",
            "ca-certificates",
            "debconf",
            "dpkg",
            "install-info",
            "libc-bin",
            "netbase",
            "perl-base",
            "tzdata",
            "tzdata-legacy",
            "usr-is-merged",
        ],
        _ => &TOOLING,
    }
}

/// Whether `name` is a Debian package name (lowercase letters, digits, `+ - .`).
fn is_debian_package(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

/// Checks a list of Debian package names given under `key`.
fn packages(key: &str, names: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for name in names {
        if !is_debian_package(name) {
            return Err(format!(
                "key `{key}`: `{name}` is not a Debian package name (e.g. \"libssl-dev\"; \
                 the architecture is chosen for you)"
            ));
        }
        out.push(name.clone());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Whether `path` is absolute, normalized and not the root (`/app`, `/srv/static`).
fn is_image_path(path: &str) -> bool {
    path.starts_with('/')
        && path.len() > 1
        && !path.contains("//")
        && !path
            .split('/')
            .any(|c| c == ".." || c == "." || c.contains(char::is_whitespace))
}

/// The runtime keys of one image, checked against its runtime.
fn plan_extras(
    cfg: &ImageConfig,
    runtime: &Runtime,
    base: &str,
    root: &str,
) -> Result<Extras, String> {
    let mut pkgs = packages(
        "runtime-packages",
        cfg.runtime_packages.as_deref().unwrap_or(&[]),
    )?;
    let packages_by = match runtime {
        Runtime::DebianSlim => PackagesBy::Apt,
        Runtime::Scratch | Runtime::DistrolessStatic | Runtime::DistrolessCc => PackagesBy::Unpack,
        Runtime::Custom => {
            if !pkgs.is_empty() && (base.contains("alpine") || base.contains("musl")) {
                return Err(format!(
                    "key `runtime-packages`: `{base}` has no apt and is no Debian image, so \
                     Debian packages cannot be added to it; use a Debian-based runtime \
                     (debian-slim, distroless-cc) or install them in a stage of your own"
                ));
            }
            PackagesBy::Apt
        }
    };
    if cfg.tzdata == Some(true) && !provided_packages(runtime).contains(&"tzdata") {
        pkgs.push("tzdata".into());
        pkgs.sort();
        pkgs.dedup();
    }
    let mut files = BTreeMap::new();
    for (src, dest) in cfg.files.clone().unwrap_or_default() {
        let rel = src.trim_end_matches('/');
        if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c == "..") {
            return Err(format!(
                "key `files`: `{src}` must be a path in the workspace, relative to its root"
            ));
        }
        if !is_image_path(&dest) {
            return Err(format!(
                "key `files`: `{dest}` (for `{src}`) must be an absolute path in the image, \
                 e.g. \"/app/config\""
            ));
        }
        files.insert(join(root, rel), dest);
    }
    let workdir = match &cfg.workdir {
        Some(dir) if !is_image_path(dir) => {
            return Err(format!(
                "key `workdir`: `{dir}` must be an absolute path, e.g. \"/app\""
            ))
        }
        other => other.clone(),
    };
    let mut volumes = cfg.volumes.clone().unwrap_or_default();
    if let Some(bad) = volumes.iter().find(|v| !is_image_path(v)) {
        return Err(format!(
            "key `volumes`: `{bad}` must be an absolute path, e.g. \"/data\""
        ));
    }
    volumes.sort();
    volumes.dedup();
    let entrypoint = match &cfg.entrypoint {
        Some(e) if e.is_empty() || e[0].is_empty() => {
            return Err(
                "key `entrypoint`: give the program and its arguments, e.g. \
                        [\"/usr/local/bin/app\", \"serve\"]"
                    .into(),
            )
        }
        other => other.clone(),
    };
    let stop_signal = match &cfg.stop_signal {
        Some(sig) => {
            let named = sig.strip_prefix("SIG").is_some_and(|n| {
                !n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'+')
            });
            let numbered = !sig.is_empty() && sig.bytes().all(|b| b.is_ascii_digit());
            if !named && !numbered {
                return Err(format!(
                    "key `stop-signal`: `{sig}` is not a signal; use a name such as \"SIGINT\" \
                     or a number"
                ));
            }
            Some(sig.clone())
        }
        None => None,
    };
    Ok(Extras {
        packages_by: if pkgs.is_empty() {
            PackagesBy::default()
        } else {
            packages_by
        },
        packages: pkgs,
        files,
        workdir,
        volumes,
        args: cfg.args.clone().unwrap_or_default(),
        entrypoint,
        stop_signal,
        shared_libs: false,
    })
}

/// What a runtime keyword means.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// Empty image: the tool supplies `/etc/passwd`, `/etc/group`, CA certificates, `/tmp`.
    Scratch,
    DistrolessStatic,
    DistrolessCc,
    /// Debian slim: has a libc and a shell, but no CA certificates; the tool adds them.
    DebianSlim,
    /// Any other image, used as it is.
    Custom,
}

impl Runtime {
    fn parse(keyword: &str) -> Runtime {
        match keyword {
            "scratch" => Runtime::Scratch,
            "distroless-static" => Runtime::DistrolessStatic,
            "distroless-cc" => Runtime::DistrolessCc,
            "debian-slim" => Runtime::DebianSlim,
            _ => Runtime::Custom,
        }
    }

    /// The image behind a keyword when nothing overrides it.
    pub fn default_image(&self) -> Option<&'static str> {
        match self {
            Runtime::Scratch => Some("scratch"),
            Runtime::DistrolessStatic => Some("gcr.io/distroless/static-debian12:nonroot"),
            Runtime::DistrolessCc => Some("gcr.io/distroless/cc-debian12:nonroot"),
            Runtime::DebianSlim => Some("debian:bookworm-slim"),
            Runtime::Custom => None,
        }
    }

    /// Runtimes without a libc need a static binary.
    pub fn needs_static(&self) -> bool {
        matches!(self, Runtime::Scratch | Runtime::DistrolessStatic)
    }
}

/// How Docker checks a container's health.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Healthcheck {
    /// Our static probe GETs `http://127.0.0.1:{port}{path}`; no shell needed.
    Http {
        port: u16,
        path: String,
        #[serde(flatten)]
        timing: Timing,
    },
    /// An exec-form command.
    Cmd {
        cmd: Vec<String>,
        #[serde(flatten)]
        timing: Timing,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Timing {
    pub interval: String,
    pub timeout: String,
    pub start_period: String,
    pub retries: u32,
}

/// Plans the images of `ws`.
pub fn plan(ws: &Workspace, opts: &PlanOptions) -> Result<Plan, Error> {
    let root_manifest = ws.in_root("Cargo.toml");
    let invalid = |message: String| Error::InvalidConfig {
        manifest: root_manifest.clone(),
        message,
    };
    let wcfg = &ws.config;
    let ws_image = wcfg.common();
    for (keyword, image) in &wcfg.base_images {
        if Runtime::parse(keyword) == Runtime::Custom {
            return Err(invalid(format!(
                "key `base-images`: `{keyword}` is not a runtime keyword; use scratch, \
                 distroless-static, distroless-cc or debian-slim"
            )));
        }
        if !is_image_reference(image) {
            return Err(invalid(format!(
                "key `base-images.{keyword}`: `{image}` is not an image reference (e.g. \
                 \"registry.local/distroless/cc:nonroot\")"
            )));
        }
    }
    if let Some(builder) = &wcfg.builder {
        if !is_image_reference(builder) {
            return Err(invalid(format!(
                "key `builder`: `{builder}` is not an image reference (e.g. \
                 \"rust:1.85-slim-bookworm\")"
            )));
        }
    }

    // Which binaries get an image.
    let all_bins = ws.binaries();
    if all_bins.is_empty() {
        return Err(Error::NoBinaries {
            workspace: root_manifest.clone(),
        });
    }
    let available: Vec<String> = all_bins.iter().map(|(_, t)| t.name.clone()).collect();
    for name in &opts.bins {
        if !available.contains(name) {
            return Err(Error::UnknownBin {
                name: name.clone(),
                available: available.clone(),
            });
        }
    }
    let mut images = Vec::new();
    for (pkg, bin) in &all_bins {
        let cfg = ws_image
            .overlay(&pkg.config.common())
            .overlay(&pkg.config.bin.get(&bin.name).cloned().unwrap_or_default());
        let selected = if opts.bins.is_empty() {
            !cfg.skip.unwrap_or(false)
        } else {
            opts.bins.contains(&bin.name)
        };
        if selected {
            images.push(plan_image(ws, pkg, &bin.name, &cfg, opts).map_err(|m| {
                Error::InvalidConfig {
                    manifest: skeleton::manifest_path(pkg),
                    message: m,
                }
            })?);
        }
    }
    for (pkg, _) in &all_bins {
        for name in pkg.config.bin.keys() {
            if !pkg
                .targets
                .iter()
                .any(|t| t.kind == TargetKind::Bin && &t.name == name)
            {
                return Err(Error::InvalidConfig {
                    manifest: skeleton::manifest_path(pkg),
                    message: format!(
                        "key `package.metadata.image.bin.{name}`: the package has no binary `{name}`"
                    ),
                });
            }
        }
    }
    if images.is_empty() {
        return Err(Error::NoBinaries {
            workspace: root_manifest.clone(),
        });
    }
    resolve_stage_names(&mut images);

    // The shared build command.
    let profile = wcfg.profile.clone().unwrap_or_else(|| "release".into());
    let dev_profile = wcfg.dev.profile.clone().unwrap_or_else(|| "dev".into());
    for (key, name) in [("profile", &profile), ("dev.profile", &dev_profile)] {
        if !defines_profile(&ws.root_manifest, name) {
            return Err(invalid(format!(
                "key `{key}`: the workspace defines no profile `{name}`; use dev or release, \
                 or add a [profile.{name}] table (with `inherits`) to the root Cargo.toml"
            )));
        }
    }
    let mut features = BTreeSet::new();
    for img in &images {
        let pkg = ws.package(&img.package).expect("image of a known package");
        let cfg = ws_image
            .overlay(&pkg.config.common())
            .overlay(&pkg.config.bin.get(&img.bin).cloned().unwrap_or_default());
        for f in cfg.features.iter().flatten() {
            // `feat` is the binary's package's; `pkg/feat` checked when `pkg` is local.
            let (owner, feature) = match f.split_once('/') {
                Some((p, feat)) => (ws.package(p), feat),
                None => (Some(pkg), f.as_str()),
            };
            if let Some(owner) = owner {
                if !owner.features.iter().any(|x| x == feature) {
                    return Err(Error::InvalidConfig {
                        manifest: join(&pkg.dir, "Cargo.toml"),
                        message: format!(
                            "key `features` of `{}`: package `{}` defines no feature \
                             `{feature}`{}",
                            img.bin,
                            owner.name,
                            if owner.features.is_empty() {
                                String::new()
                            } else {
                                format!("; it defines {}", owner.features.join(", "))
                            }
                        ),
                    });
                }
            }
        }
        // A binary's `required-features` are enabled for its image: cargo skips (or, named
        // with --bin, refuses) a binary whose required features are off.
        let required = pkg
            .targets
            .iter()
            .filter(|t| t.kind == TargetKind::Bin && t.name == img.bin)
            .flat_map(|t| t.required_features.iter().cloned());
        for f in cfg.features.unwrap_or_default().into_iter().chain(required) {
            features.insert(if f.contains('/') {
                f
            } else {
                format!("{}/{f}", img.package)
            });
        }
    }
    // One command for every binary: if one needs a static binary, all get one (a static
    // binary runs on any runtime; two commands double the build), except the binaries that
    // say `static = false` or need runtime packages (shared libraries): a second command
    // links those dynamically.
    let static_of = |i: &ImagePlan| {
        let pkg = ws.package(&i.package).expect("known package");
        ws_image
            .overlay(&pkg.config.common())
            .overlay(&pkg.config.bin.get(&i.bin).cloned().unwrap_or_default())
            .static_link
    };
    let static_link = images
        .iter()
        .any(|i| i.runtime.needs_static() || static_of(i) == Some(true));
    let dynamic_bins: Vec<String> = if static_link {
        images
            .iter()
            .filter(|i| {
                !i.runtime.needs_static()
                    && (static_of(i) == Some(false)
                        || (static_of(i).is_none() && !i.extras.packages.is_empty()))
            })
            .map(|i| i.bin.clone())
            .collect()
    } else {
        Vec::new()
    };
    let config_rustflags = config_rustflags(ws);
    let mut build_packages = packages(
        "build-packages",
        wcfg.build_packages.as_deref().unwrap_or(&[]),
    )
    .map_err(invalid)?;
    let infer = wcfg.infer_packages.unwrap_or(true);
    let (mut inferred_packages, inferred_link) = if infer {
        infer_from_graph(ws, images.iter().map(|i| i.package.as_str()))
    } else {
        (BTreeMap::new(), BTreeMap::new())
    };
    if infer {
        for (package, why) in infer_build_packages(ws, &config_rustflags) {
            inferred_packages.entry(package).or_insert(why);
        }
    }
    // Explicit lists are kept as written; inference only adds what they lack.
    inferred_packages.retain(|p, _| !build_packages.contains(p));
    build_packages.extend(inferred_packages.keys().cloned());
    build_packages.sort();
    let mut link_packages = packages(
        "link-packages",
        wcfg.link_packages.as_deref().unwrap_or(&[]),
    )
    .map_err(invalid)?;
    let mut inferred_link = inferred_link;
    inferred_link.retain(|p, _| !link_packages.contains(p));
    link_packages.extend(inferred_link.keys().cloned());
    link_packages.sort();
    let build = Build {
        inferred_packages,
        inferred_link_packages: inferred_link,
        config_rustflags,
        build_packages,
        link_packages,
        profile_dir: profile_dir(&profile),
        profile,
        features: features.into_iter().collect(),
        bins: images.iter().map(|i| i.bin.clone()).collect(),
        static_link,
        dynamic_bins,
        strip: wcfg.strip.unwrap_or(true),
    };

    // Dynamically linked binaries get the shared libraries their runtime lacks.
    for img in &mut images {
        let dynamic = !build.static_link || build.dynamic_bins.contains(&img.bin);
        img.extras.shared_libs =
            dynamic && !matches!(img.runtime, Runtime::Scratch | Runtime::DistrolessStatic);
    }

    // Crate layers: only the local packages the shipped binaries need. The packages no
    // other one needs (the binaries' crates) are leaves, each built in a stage of its own
    // on top of the chain of the others: an edit to one leaf rebuilds that leaf alone.
    let needed = closure(
        ws,
        images.iter().map(|i| i.package.as_str()),
        &[DepKind::Normal, DepKind::Build],
    );
    let max_layers = wcfg.max_layers.unwrap_or(DEFAULT_MAX_LAYERS);
    if max_layers == 0 {
        return Err(invalid("key `max-layers`: must be at least 1".into()));
    }
    if max_layers > MAX_LAYERS_LIMIT {
        return Err(invalid(format!(
            "key `max-layers`: {max_layers} is above {MAX_LAYERS_LIMIT}; Docker caps an image at \
             about 125 layers in all, and the builder image brings its own"
        )));
    }
    let leaf_packages = leaves_of(ws, &needed);
    let chain: BTreeSet<String> = needed.difference(&leaf_packages).cloned().collect();
    // `build-files`: context paths every compile step sees, beside the packages' own.
    let mut build_files: Vec<String> = Vec::new();
    for file in wcfg.build_files.iter().flatten() {
        let rel = file.trim_end_matches('/');
        if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c == "..") {
            return Err(invalid(format!(
                "key `build-files`: `{file}` must be a path inside the workspace, relative to \
                 its root (e.g. \"proto\")"
            )));
        }
        build_files.push(ws.in_root(rel));
    }
    build_files.sort();
    build_files.dedup();
    for name in wcfg.build_env.keys() {
        if !is_env_name(name) {
            return Err(invalid(format!(
                "key `build-env`: `{name}` is not a variable name (letters, digits and `_`, \
                 not starting with a digit)"
            )));
        }
    }
    let copy_of = |packages: &[String]| {
        let mut copy: Vec<String> = packages
            .iter()
            .flat_map(|p| copy_paths(ws, ws.package(p).expect("known package")))
            .chain(build_files.iter().cloned())
            .collect();
        copy.sort();
        copy.dedup();
        copy
    };
    // Ordered over every needed package, so that dependents among the leaves count too;
    // leaves never precede another package, so dropping them keeps the others' order.
    let ordered: Vec<Vec<String>> = order_layers(ws, &needed)
        .into_iter()
        .map(|c| c.into_iter().filter(|p| chain.contains(p)).collect())
        .filter(|c: &Vec<String>| !c.is_empty())
        .collect();
    let layers = group_layers(ordered, max_layers)
        .into_iter()
        .map(|packages| Layer {
            copy: copy_of(&packages),
            packages,
        })
        .collect();
    let leaf_groups = group_layers(
        leaf_packages.iter().map(|p| vec![p.clone()]).collect(),
        max_layers.min(MAX_LEAF_STAGES),
    );
    // The shipped binaries of the packages `planned_here` picks, sorted.
    let bins_of = |planned_here: &dyn Fn(&str) -> bool| -> Vec<String> {
        let mut bins: Vec<String> = images
            .iter()
            .filter(|i| planned_here(&i.package))
            .map(|i| i.bin.clone())
            .collect();
        bins.sort();
        bins
    };
    let mut leaves: Vec<Leaf> = Vec::new();
    // Binaries of packages in the chain (another shipped crate depends on theirs): the
    // chain builds them, a stage of their own installs them.
    let chain_bins = bins_of(&|p| chain.contains(p));
    if !chain_bins.is_empty() {
        leaves.push(Leaf {
            packages: Vec::new(),
            copy: Vec::new(),
            bins: chain_bins,
        });
    }
    leaves.extend(leaf_groups.into_iter().map(|packages| Leaf {
        copy: copy_of(&packages),
        bins: bins_of(&|p| packages.iter().any(|q| q == p)),
        packages,
    }));

    let skeleton = skeleton::derive(ws).map_err(|e| Error::InvalidConfig {
        manifest: e.manifest,
        message: e.message,
    })?;
    let mut manifests: Vec<String> = ws.packages.iter().map(skeleton::manifest_path).collect();
    manifests.push(root_manifest.clone());
    manifests.push(ws.in_root("Cargo.lock"));
    manifests.extend(ws.extra_files.keys().cloned());
    manifests.sort();
    manifests.dedup();

    let dev_bin = match &wcfg.dev.bin {
        Some(b) if available.contains(b) => b.clone(),
        Some(b) => {
            return Err(invalid(format!(
                "key `dev.bin`: no binary `{b}`; available: {}",
                available.join(", ")
            )))
        }
        None => images
            .iter()
            .find(|i| !i.ports.is_empty())
            .unwrap_or(&images[0])
            .bin
            .clone(),
    };
    let dev = DevPlan {
        profile_dir: profile_dir(&dev_profile),
        profile: dev_profile,
        bin: dev_bin,
        poll_seconds: wcfg.dev.poll_seconds.unwrap_or(1).max(1),
    };

    let mut local_dirs: Vec<String> = ws
        .packages
        .iter()
        .flat_map(|p| copy_paths(ws, p))
        .chain(build_files.iter().cloned())
        .collect();
    local_dirs.sort();
    local_dirs.dedup();

    let mut masked_members: Vec<String> = ws
        .packages
        .iter()
        .filter(|p| p.member)
        .map(|p| p.name.clone())
        .collect();
    masked_members.sort();

    let appended = match &ws.dockerfile_append {
        Some((path, text)) => {
            let stages = declared_stages(text);
            for stage in &stages {
                let generated = INTERNAL_STAGES.contains(&stage.as_str())
                    || INTERNAL_PREFIXES.iter().any(|p| stage.starts_with(p))
                    || images.iter().any(|i| i.stage == *stage);
                if generated {
                    return Err(invalid(format!(
                        "key `dockerfile-append`: `{path}` declares the stage `{stage}`, which \
                         the generated Dockerfile has; rename it (e.g. `{stage}-custom`)"
                    )));
                }
            }
            Some(Appended {
                path: path.clone(),
                text: text.clone(),
                stages,
            })
        }
        None => None,
    };
    let ca_certificates = wcfg.ca_certificates.clone().unwrap_or_default();
    Ok(Plan {
        workspace_root: ws.root.clone(),
        builder: opts
            .builder
            .clone()
            .or_else(|| wcfg.builder.clone())
            .unwrap_or_else(|| format!("rust:{}-slim-bookworm", ws.rust_version)),
        skeleton,
        masked_members,
        manifests,
        layers,
        leaves,
        build,
        local_dirs,
        build_env: wcfg.build_env.clone(),
        dockerignore: ws.dockerignore.clone(),
        appended,
        images,
        dev,
        ca_source: if opts.extra_ca || !ca_certificates.is_empty() {
            opts.ca_source
        } else {
            CaSource::None
        },
        ca_certificates,
    })
}

/// The directory a Cargo profile writes to: `dev` and `test` write to `debug`.
fn profile_dir(profile: &str) -> String {
    match profile {
        "dev" | "test" => "debug".into(),
        "bench" => "release".into(),
        p => p.into(),
    }
}

fn plan_image(
    ws: &Workspace,
    pkg: &Package,
    bin: &str,
    cfg: &ImageConfig,
    opts: &PlanOptions,
) -> Result<ImagePlan, String> {
    let keyword = cfg
        .runtime
        .clone()
        .unwrap_or_else(|| "distroless-cc".into());
    let runtime = Runtime::parse(&keyword);
    let base = match runtime.default_image() {
        Some(default) => opts
            .base_images
            .get(&keyword)
            .or_else(|| ws.config.base_images.get(&keyword))
            .cloned()
            .unwrap_or_else(|| default.to_string()),
        None => keyword.clone(),
    };
    if runtime == Runtime::Custom && !is_image_reference(&keyword) {
        return Err(format!("key `runtime`: `{keyword}` is neither a runtime keyword (scratch, distroless-static, distroless-cc, debian-slim) nor an image reference"));
    }
    let user = cfg.user.clone().unwrap_or_else(|| DEFAULT_USER.into());
    check_user(&user)?;
    let uid = user.split(':').next().unwrap_or("");
    if runtime == Runtime::Scratch && !uid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "key `user`: a scratch image has no user database for `{user}`; use a numeric `uid:gid`"
        ));
    }
    let ports = cfg.ports.clone().unwrap_or_default();
    let mut seen = BTreeSet::new();
    for port in &ports {
        if *port == 0 {
            return Err("key `ports`: 0 is not a port; use 1-65535".into());
        }
        if !seen.insert(port) {
            return Err(format!("key `ports`: {port} is listed twice"));
        }
    }
    let healthcheck = match &cfg.healthcheck {
        None => None,
        Some(HealthcheckConfig::Keyword(k)) if k == "none" => None,
        Some(HealthcheckConfig::Keyword(k)) => {
            return Err(format!(
                "key `healthcheck`: `{k}` is not valid; use \"none\", {{ http = \"/health\", port = 8080 }} or {{ cmd = [...] }}"
            ))
        }
        Some(HealthcheckConfig::Spec(s)) => {
            let timing = Timing {
                interval: s.interval.clone().unwrap_or_else(|| "10s".into()),
                timeout: s.timeout.clone().unwrap_or_else(|| "3s".into()),
                start_period: s.start_period.clone().unwrap_or_else(|| "5s".into()),
                retries: s.retries.unwrap_or(3),
            };
            for (key, value) in [
                ("interval", &timing.interval),
                ("timeout", &timing.timeout),
                ("start-period", &timing.start_period),
            ] {
                if !is_duration(value) {
                    return Err(format!(
                        "key `healthcheck.{key}`: `{value}` is not a duration; write a number \
                         with a unit and no space, e.g. \"30s\", \"1m30s\", \"500ms\""
                    ));
                }
            }
            if s.port == Some(0) {
                return Err("key `healthcheck.port`: 0 is not a port; use 1-65535".into());
            }
            if let (Some(cmd), true) = (&s.cmd, matches!(runtime, Runtime::Scratch | Runtime::DistrolessStatic | Runtime::DistrolessCc)) {
                let program = cmd.first().map(String::as_str).unwrap_or("");
                if !program.starts_with('/') || program.starts_with("/bin/") || program.starts_with("/usr/bin/") {
                    return Err(format!(
                        "key `healthcheck.cmd`: `{program}` is not in a {keyword} image, which \
                         has no shell or tools; use {{ http = \"/health\", port = … }} (a probe \
                         is added) or a program the image holds, by absolute path"
                    ));
                }
            }
            match (&s.http, &s.cmd) {
                (Some(_), Some(_)) => {
                    return Err("key `healthcheck`: set either `http` or `cmd`, not both".into())
                }
                (Some(path), None) => {
                    let port = s.port.or(ports.first().copied()).ok_or_else(|| {
                        "key `healthcheck.port`: an HTTP healthcheck needs a port (or `ports`)"
                            .to_string()
                    })?;
                    if !path.starts_with('/') {
                        return Err(format!(
                            "key `healthcheck.http`: `{path}` must be a path starting with `/`"
                        ));
                    }
                    Some(Healthcheck::Http {
                        port,
                        path: path.clone(),
                        timing,
                    })
                }
                (None, Some(cmd)) if !cmd.is_empty() => Some(Healthcheck::Cmd {
                    cmd: cmd.clone(),
                    timing,
                }),
                _ => return Err("key `healthcheck`: needs `http` (with `port`) or `cmd`".into()),
            }
        }
    };
    let mut tags = Vec::new();
    for template in cfg
        .tags
        .clone()
        .unwrap_or_else(|| DEFAULT_TAGS.map(String::from).to_vec())
    {
        let tag =
            fill_template(&template, bin, &pkg.version).map_err(|m| format!("key `tags`: {m}"))?;
        tags.push(match &cfg.registry {
            Some(r) if !tag.contains('/') => format!("{}/{tag}", r.trim_end_matches('/')),
            _ => tag,
        });
    }
    let mut labels = BTreeMap::new();
    let oci = |k: &str| format!("org.opencontainers.image.{k}");
    labels.insert(oci("title"), bin.to_string());
    labels.insert(oci("version"), pkg.version.clone());
    for (key, value) in [
        ("description", &pkg.description),
        ("licenses", &pkg.license),
        ("source", &pkg.repository),
        ("url", &pkg.homepage),
    ] {
        if let Some(v) = value {
            labels.insert(oci(key), v.clone());
        }
    }
    labels.extend(cfg.labels.clone().unwrap_or_default());
    let env = cfg.env.clone().unwrap_or_default();
    if let Some(bad) = env.keys().find(|k| !is_env_name(k)) {
        return Err(format!(
            "key `env`: `{bad}` is not a variable name (letters, digits and `_`, not starting \
             with a digit)"
        ));
    }
    let extras = plan_extras(cfg, &runtime, &base, &ws.root)?;
    Ok(ImagePlan {
        bin: bin.to_string(),
        package: pkg.name.clone(),
        version: pkg.version.clone(),
        stage: bin.to_string(),
        runtime,
        base,
        user,
        ports,
        env,
        labels,
        healthcheck,
        tags,
        extras,
    })
}

/// Fills `{bin}` and `{version}`; any other placeholder is an error.
pub fn fill_template(template: &str, bin: &str, version: &str) -> Result<String, String> {
    let filled = template.replace("{bin}", bin).replace("{version}", version);
    if filled.contains('{') || filled.contains('}') {
        return Err(format!(
            "`{template}` has a placeholder other than {{bin}} and {{version}}"
        ));
    }
    if filled.is_empty() || filled.contains(char::is_whitespace) {
        return Err(format!("`{template}` does not give a valid image tag"));
    }
    Ok(filled)
}

/// Names of the stages the renderer uses for itself; a binary with one of these names
/// gets `<bin>-runtime` as its stage.
pub const INTERNAL_STAGES: [&str; 13] = [
    "cargo-image-tools",
    "base",
    "skeleton",
    "fetch",
    "deps",
    "build-layers",
    "build-incremental",
    "build",
    "rootfs",
    "probe",
    "dev-deps",
    "dev",
    "test",
];

/// Prefixes of stage names the renderer uses for itself (numbered stages).
pub const INTERNAL_PREFIXES: [&str; 3] = ["test-", "build-layers-", "cargo-image-"];

fn resolve_stage_names(images: &mut [ImagePlan]) {
    for img in images.iter_mut() {
        img.stage = stage_name(&img.bin);
    }
}

/// The runtime stage of binary `bin`: its lowercased name, unless the renderer uses that
/// name (or its prefix) for a stage of its own.
pub fn stage_name(bin: &str) -> String {
    let lower = bin.to_ascii_lowercase();
    let internal = INTERNAL_STAGES.contains(&lower.as_str())
        || INTERNAL_PREFIXES.iter().any(|p| lower.starts_with(p));
    if internal {
        format!("{lower}-runtime")
    } else {
        lower
    }
}

/// The local packages reachable from `roots` over edges of the given kinds, roots included.
pub fn closure<'a>(
    ws: &'a Workspace,
    roots: impl Iterator<Item = &'a str>,
    kinds: &[DepKind],
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<String> = roots.map(String::from).collect();
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(p) = ws.package(&name) {
            for d in &p.deps {
                if kinds.contains(&d.kind) && !seen.contains(&d.package) {
                    stack.push(d.package.clone());
                }
            }
        }
    }
    seen
}

/// The packages in `needed` that no other package in it depends on (normal and build
/// edges): the leaves of the graph `cargo build` compiles.
pub fn leaves_of(ws: &Workspace, needed: &BTreeSet<String>) -> BTreeSet<String> {
    let used: BTreeSet<&str> = needed
        .iter()
        .filter_map(|n| ws.package(n))
        .flat_map(|p| {
            p.deps
                .iter()
                .filter(|d| d.kind != DepKind::Dev && d.package != p.name)
                .map(|d| d.package.as_str())
        })
        .collect();
    needed
        .iter()
        .filter(|n| !used.contains(n.as_str()))
        .cloned()
        .collect()
}

/// Orders `packages` into layers, dependencies first.
///
/// Only normal and build edges count: they are what `cargo build` compiles. Every real
/// manifest is in place before the first crate layer, so a dev-dependency on a crate in a
/// later layer still resolves, and a cycle through dev-dependencies does not force its
/// crates into one layer (where an edit to either would recompile both). Cargo forbids
/// cycles through normal and build edges, but a strongly connected component stays a
/// layer of its own should one appear. Among the
/// components ready to be placed, the one with the most transitive dependents goes
/// first: shared foundations sink to the bottom, and the crates people edit most (the
/// binaries, on top) invalidate as few unrelated layers as possible.
pub fn order_layers(ws: &Workspace, packages: &BTreeSet<String>) -> Vec<Vec<String>> {
    let names: Vec<&String> = packages.iter().collect();
    let index: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let edges: Vec<BTreeSet<usize>> = names
        .iter()
        .map(|n| {
            ws.package(n)
                .map(|p| {
                    p.deps
                        .iter()
                        .filter(|d| d.kind != DepKind::Dev)
                        .filter_map(|d| index.get(d.package.as_str()).copied())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let comps = tarjan(&edges);
    let mut comp_of = vec![0; names.len()];
    for (c, members) in comps.iter().enumerate() {
        for &m in members {
            comp_of[m] = c;
        }
    }
    // deps[c]: components c depends on; users[c]: components depending on c.
    let mut deps = vec![BTreeSet::new(); comps.len()];
    let mut users = vec![BTreeSet::new(); comps.len()];
    for (from, tos) in edges.iter().enumerate() {
        for &to in tos {
            let (a, b) = (comp_of[from], comp_of[to]);
            if a != b {
                deps[a].insert(b);
                users[b].insert(a);
            }
        }
    }
    let dependents: Vec<usize> = (0..comps.len())
        .map(|c| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![c];
            while let Some(x) = stack.pop() {
                for &u in &users[x] {
                    if seen.insert(u) {
                        stack.push(u);
                    }
                }
            }
            seen.len()
        })
        .collect();
    let comp_name = |c: usize| {
        comps[c]
            .iter()
            .map(|&m| names[m].as_str())
            .min()
            .unwrap_or("")
    };
    let mut placed = vec![false; comps.len()];
    let mut order = Vec::new();
    while order.len() < comps.len() {
        let next = (0..comps.len())
            .filter(|&c| !placed[c] && deps[c].iter().all(|&d| placed[d]))
            .max_by(|&a, &b| {
                dependents[a]
                    .cmp(&dependents[b])
                    .then_with(|| comp_name(b).cmp(comp_name(a)))
            })
            .expect("the component graph is acyclic");
        placed[next] = true;
        let mut members: Vec<String> = comps[next].iter().map(|&m| names[m].clone()).collect();
        members.sort();
        order.push(members);
    }
    order
}

/// Tarjan's strongly connected components; components come out in reverse topological
/// order, members unsorted.
fn tarjan(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in s.edges[v].iter() {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            s.out.push(comp);
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

/// Merges consecutive layers so that there are at most `max` of them, as evenly as the
/// order allows (order is kept, so every layer still only depends on earlier ones).
pub fn group_layers(layers: Vec<Vec<String>>, max: usize) -> Vec<Vec<String>> {
    if layers.len() <= max {
        return layers;
    }
    let n = layers.len();
    let mut out: Vec<Vec<String>> = vec![Vec::new(); max];
    for (i, layer) in layers.into_iter().enumerate() {
        out[i * max / n].extend(layer);
    }
    for group in &mut out {
        group.sort();
    }
    out
}

/// The triples the generated Dockerfile builds for.
pub const TRIPLES: [&str; 2] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

/// The rustflags `.cargo/config.toml` at the workspace root gives each triple, as cargo
/// picks them (`target.<triple>.rustflags` wins over `build.rustflags`; a string is split
/// on spaces). `target.'cfg(..)'` tables are not evaluated.
fn config_rustflags(ws: &Workspace) -> BTreeMap<String, Vec<String>> {
    let text = [".cargo/config.toml", ".cargo/config"]
        .iter()
        .find_map(|f| ws.extra_files.get(&ws.in_root(f)));
    let Some(config) = text.and_then(|t| t.parse::<toml::Table>().ok()) else {
        return BTreeMap::new();
    };
    let flags = |v: Option<&toml::Value>| -> Option<Vec<String>> {
        match v? {
            toml::Value::String(s) => Some(s.split_whitespace().map(String::from).collect()),
            toml::Value::Array(a) => Some(
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
            ),
            _ => None,
        }
    };
    let build = flags(config.get("build").and_then(|b| b.get("rustflags")));
    let mut out = BTreeMap::new();
    for triple in TRIPLES {
        let target = flags(
            config
                .get("target")
                .and_then(|t| t.get(triple))
                .and_then(|t| t.get("rustflags")),
        );
        if let Some(f) = target.or_else(|| build.clone()).filter(|f| !f.is_empty()) {
            out.insert(triple.to_string(), f);
        }
    }
    out
}

/// `user`: `uid[:gid]` (numbers) or a name, never root in any spelling.
fn check_user(user: &str) -> Result<(), String> {
    let parts: Vec<&str> = user.split(':').collect();
    let valid = |p: &str| {
        !p.is_empty()
            && (p.bytes().all(|b| b.is_ascii_digit())
                || (p.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && p.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                    })))
    };
    if parts.len() > 2 || !parts.iter().all(|p| valid(p)) {
        return Err(format!(
            "key `user`: `{user}` is not `uid[:gid]` or a user name; use e.g. `{DEFAULT_USER}`"
        ));
    }
    let uid = parts[0];
    if uid == "root"
        || (uid.bytes().all(|b| b.is_ascii_digit()) && uid.trim_start_matches('0').is_empty())
    {
        return Err(format!(
            "key `user`: `{user}` runs as root; use a non-root user such as `{DEFAULT_USER}`"
        ));
    }
    Ok(())
}

/// A Docker duration as HEALTHCHECK takes it: numbers with units (`30s`, `1m30s`, `500ms`).
fn is_duration(value: &str) -> bool {
    let mut rest = value;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let Some(unit) = ["ms", "us", "ns", "h", "m", "s"]
            .iter()
            .find(|u| rest.starts_with(**u))
        else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    true
}

/// Whether `reference` reads as an image reference (`name[:tag][@digest]`, lowercase
/// repository path, optional registry host with a port).
pub fn is_image_reference(reference: &str) -> bool {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (reference, None),
    };
    if digest.is_some_and(|d| !d.contains(':') || d.contains(char::is_whitespace)) {
        return false;
    }
    let (path, tag) = match name.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, Some(t)),
        _ => (name, None),
    };
    if tag.is_some_and(|t| {
        t.is_empty()
            || t.len() > 128
            || !t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    }) {
        return false;
    }
    let mut components: Vec<&str> = path.split('/').collect();
    if components.len() > 1
        && (components[0].contains('.')
            || components[0].contains(':')
            || components[0] == "localhost")
    {
        components.remove(0);
    }
    !path.is_empty()
        && components.iter().all(|c| {
            !c.is_empty()
                && c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

/// The reviewed table of crates that need Debian packages (`data/sys-crates.toml`).
const SYS_CRATES: &str = include_str!("../../data/sys-crates.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SysCrate {
    #[serde(default)]
    build: Vec<String>,
    #[serde(default)]
    link: Vec<String>,
    /// Any of these features on: not needed.
    #[serde(default)]
    off: Vec<String>,
    /// Needed only when one of these features is on.
    #[serde(default)]
    on: Vec<String>,
    #[allow(dead_code)] // read by people: where the need comes from
    source: String,
}

/// Build and link packages the shipped binaries' dependencies need, from the resolved
/// graph (normal and build edges from the images' packages; features as resolved), each
/// with its reason: `libssl-dev: openssl-sys 0.9.109 via reqwest → native-tls (feature
/// vendored off)`.
pub fn infer_from_graph<'a>(
    ws: &Workspace,
    roots: impl Iterator<Item = &'a str>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let table: BTreeMap<String, SysCrate> =
        toml::from_str(SYS_CRATES).expect("data/sys-crates.toml parses (a unit test checks)");
    let graph = &ws.resolved;
    let roots: BTreeSet<&str> = roots.collect();
    let local: BTreeSet<&str> = ws.packages.iter().map(|p| p.name.as_str()).collect();
    // Breadth first, remembering how each crate was reached (for the reason).
    let mut parent: BTreeMap<usize, Option<usize>> = BTreeMap::new();
    let mut queue: std::collections::VecDeque<usize> = graph
        .iter()
        .enumerate()
        .filter(|(_, n)| roots.contains(n.name.as_str()) && local.contains(n.name.as_str()))
        .map(|(i, _)| i)
        .collect();
    for &i in &queue {
        parent.insert(i, None);
    }
    while let Some(i) = queue.pop_front() {
        for &d in &graph[i].deps {
            if let std::collections::btree_map::Entry::Vacant(e) = parent.entry(d) {
                e.insert(Some(i));
                queue.push_back(d);
            }
        }
    }
    let (mut build, mut link) = (BTreeMap::new(), BTreeMap::new());
    for &i in parent.keys() {
        let node = &graph[i];
        let Some(entry) = table.get(&node.name) else {
            continue;
        };
        let has = |f: &String| node.features.contains(f);
        if entry.off.iter().any(has) || (!entry.on.is_empty() && !entry.on.iter().any(has)) {
            continue;
        }
        let mut path = Vec::new();
        let mut at = parent[&i];
        while let Some(p) = at {
            if !local.contains(graph[p].name.as_str()) {
                path.push(graph[p].name.clone());
            }
            at = parent[&p];
        }
        path.reverse();
        let mut why = format!("{} {}", node.name, node.version);
        if !path.is_empty() {
            why.push_str(&format!(" via {}", path.join(" → ")));
        }
        if !entry.off.is_empty() {
            why.push_str(&format!(" (feature {} off)", entry.off.join("/")));
        } else if !entry.on.is_empty() {
            why.push_str(&format!(" (feature {} on)", entry.on.join("/")));
        }
        for p in &entry.build {
            build.entry(p.clone()).or_insert_with(|| why.clone());
        }
        for p in &entry.link {
            link.entry(p.clone()).or_insert_with(|| why.clone());
        }
    }
    (build, link)
}

/// Build packages the workspace's `.cargo/config.toml` needs: the linker it names
/// (`linker = "clang"`, `-C linker=clang`) and the one `-fuse-ld=` picks (`lld`, `mold`).
/// Without them the build stops at the last link with `linker `clang` not found`.
fn infer_build_packages(
    ws: &Workspace,
    rustflags: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, String> {
    let config = [".cargo/config.toml", ".cargo/config"]
        .iter()
        .find_map(|f| ws.extra_files.get(&ws.in_root(f)))
        .and_then(|t| t.parse::<toml::Table>().ok());
    let mut out = BTreeMap::new();
    let mut note = |program: &str, why: String| {
        let package = match program.rsplit('/').next().unwrap_or(program) {
            p if p == "clang" || p.starts_with("clang-") => "clang",
            "lld" | "ld.lld" => "lld",
            "mold" | "ld.mold" => "mold",
            _ => return,
        };
        out.entry(package.to_string()).or_insert(why);
    };
    for triple in TRIPLES {
        let linker = config.as_ref().and_then(|c| {
            c.get("target")?
                .get(triple)?
                .get("linker")?
                .as_str()
                .map(String::from)
        });
        if let Some(linker) = linker {
            note(
                &linker,
                format!(".cargo/config.toml: target.{triple}.linker = \"{linker}\""),
            );
        }
        let flags = rustflags.get(triple).cloned().unwrap_or_default().join(" ");
        for word in flags.split_whitespace() {
            if let Some(l) = word
                .strip_prefix("linker=")
                .or_else(|| word.strip_prefix("-Clinker="))
            {
                note(l, format!(".cargo/config.toml rustflags: {word}"));
            }
            if let Some(ld) = word.split("-fuse-ld=").nth(1) {
                note(ld, format!(".cargo/config.toml rustflags: {word}"));
            }
        }
    }
    out
}

/// Whether cargo knows profile `name` here: a built-in one, or `[profile.<name>]` in the
/// root manifest.
fn defines_profile(root_manifest: &str, name: &str) -> bool {
    matches!(name, "dev" | "release" | "test" | "bench")
        || root_manifest
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("profile")?.get(name).cloned())
            .is_some()
}

/// Whether `name` can be an environment variable's name in a Dockerfile and a shell.
fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// What to copy for a package: the sources the reader found in the build context
/// ([`Package::sources`]). Without them (a model built by hand): its directory when that
/// holds no other local package; otherwise its manifest, build script and the directories
/// holding its targets' sources.
pub fn copy_paths(ws: &Workspace, p: &Package) -> Vec<String> {
    if !p.sources.is_empty() {
        return p.sources.clone();
    }
    let nests_others = |dir: &str| {
        ws.packages
            .iter()
            .any(|o| o.name != p.name && is_within(&o.dir, dir))
    };
    if !p.dir.is_empty() && !nests_others(&p.dir) {
        return vec![p.dir.clone()];
    }
    let mut paths = BTreeSet::new();
    paths.insert(join(&p.dir, "Cargo.toml"));
    for t in &p.targets {
        let parent = t.src_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        if parent == p.dir || nests_others(parent) || parent.is_empty() {
            paths.insert(t.src_path.clone());
        } else {
            paths.insert(parent.to_string());
        }
    }
    // Drop paths inside another listed directory.
    let all: Vec<String> = paths.iter().cloned().collect();
    paths.retain(|x| !all.iter().any(|y| y != x && is_within(x, y)));
    paths.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::stage_name;

    #[test]
    fn runtime_stages_avoid_the_renderers_own_names() {
        for (bin, stage) in [
            ("api", "api"),
            ("Api", "api"),
            ("build", "build-runtime"),
            ("cargo-image-tools", "cargo-image-tools-runtime"),
            ("build-layers", "build-layers-runtime"),
            ("build-layers-bin-1", "build-layers-bin-1-runtime"),
            ("test-deps", "test-deps-runtime"),
            ("builder", "builder"),
        ] {
            assert_eq!(stage_name(bin), stage, "{bin}");
        }
    }
}
