//! The planner: turns a [`Workspace`] into a [`Plan`] — what each stage of the Dockerfile
//! does — without touching the filesystem, processes or Docker.
//!
//! **Invariant:** `plan` is a pure function of its inputs, and its output is sorted and
//! deterministic: the same workspace, whatever order `cargo metadata` listed it in, gives
//! a byte-identical plan (and so a byte-identical Dockerfile and a stable layer cache).
//!
//! This module owns the [`Plan`] and its parts and puts them together in [`plan`]; the
//! concerns it draws on each have a module of their own, re-exported here so that every
//! item keeps its `plan::` path:
//! - `image`: each binary's image, from its layered configuration (runtime, user, ports,
//!   healthcheck, labels, tags, runtime keys), with the checks of what a user typed;
//! - `graph`: the crate graph (which packages are needed, leaves, layer order, grouping,
//!   what to copy);
//! - `packages`: the Debian packages the build needs, inferred, and the workspace's own
//!   rustflags;
//! - `stages`: stage names, ours, the images' and the user's appended ones.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::build_env::How;
use crate::config::WorkspaceConfig;
use crate::error::Error;
use crate::model::{join, CompileRead, DepKind, SqlxDatabase, TargetKind, Workspace};
use crate::skeleton::{self, Skeleton};

mod graph;
mod image;
mod packages;
mod stages;

pub use graph::{closure, copy_paths, group_layers, leaves_of, order_layers};
pub use image::{
    docker_reference, fill_tag, fill_template, is_image_reference, provided_packages,
    user_owns_workdir, Extras, Healthcheck, Libc, PackagesBy, Runtime, Timing, DEFAULT_USER,
    LIBC_SONAMES,
};
pub use packages::{infer_from_graph, TRIPLES};
pub use stages::{declared_stages, stage_name, Appended, INTERNAL_PREFIXES, INTERNAL_STAGES};

use image::{
    check_dockerfile_word, check_env_names, check_image_references, check_mount_source,
    image_config, missing_read_notes, mount_source_problem, plan_images, run_time_notes,
};
use packages::{cargo_config, config_rustflags, system_packages};
use stages::{plan_appended, resolve_stage_names};

/// The default cap on crate layers in the build stage.
pub const DEFAULT_MAX_LAYERS: usize = 60;
/// The most `max-layers` may say: Docker's overlay storage caps an image at about 125
/// layers, and the builder image and our stages take some.
pub const MAX_LAYERS_LIMIT: usize = 100;
/// The cap on leaf stages: they run side by side, and each cargo already uses every core,
/// so more would only add memory.
pub const MAX_LEAF_STAGES: usize = 8;

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

// The caller picks a `CaSource` by driver (`image.rs`: the buildx driver passes secrets,
// the Engine API driver a context file), yet the enum lives in the plan and not in
// `drive/`: it is serialized as `Plan::ca_source`, and the Dockerfile renderer, which is
// pure and does not depend on the drivers, matches on it to write the mount. The two paths
// after it are shared the same way: the renderer names them in the Dockerfile (the CA
// mount) and the `cargo-image` script (which drops the directory from a copied context),
// the reader leaves `DRIVER_DIR` out of a package's sources, and the Engine API driver
// puts its Dockerfile and CA bundle there.
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
    /// Directory sources of the cargo configuration (`vendor/`), context-relative: copied
    /// into the fetch stage, so every offline step has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendor_dirs: Vec<String>,
    /// `[patch]` path packages no build resolves, context-relative: copied beside the
    /// vendored crates, since cargo reads them to load the workspace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patch_dirs: Vec<String>,
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
    /// Directories the incremental step binds as one, sorted: all the build context holds
    /// in them is bound anyway (a `crates/` of members only), so one line binds the same
    /// files as one per member.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub whole_dirs: Vec<String>,
    /// `build-files` the sources asked for (paths read at compile time outside their
    /// package, see [`crate::reads`]) that `build-files` did not list: path → why.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inferred_build_files: BTreeMap<String, String>,
    /// `build-env`: the environment of every compile step, with what the sources asked
    /// for ([`Plan::inferred_build_env`]).
    pub build_env: BTreeMap<String, String>,
    /// Variables of `build_env` that `build-env` did not set and the workspace asked for:
    /// name → why (sqlx's `DATABASE_URL` from a `.env` naming a SQLite database).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inferred_build_env: BTreeMap<String, String>,
    /// `build-args`: build arguments every compile step declares, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_args: Vec<BuildArg>,
    /// `git = true`: the repository's `.git` (context path), bound into every compile step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<String>,
    /// Git dependencies fetched over SSH with the caller's agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<SshPlan>,
    /// `registry-tokens`: private registries whose tokens the downloading steps get as
    /// build secrets, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registry_tokens: Vec<RegistryToken>,
    /// The user's own `.dockerignore` rules, kept after our block.
    pub dockerignore: Option<String>,
    /// What the workspace's state may break, said by every command: a git submodule that is
    /// not checked out. Always in `plan`'s JSON, `[]` when there are none, so that a script
    /// reading `.notes[]` needs no guard.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Test targets' sources the `.dockerignore` leaves out (context-relative, sorted): the
    /// `test` target fails when the context lacks one, since the skeleton's stand-in in
    /// its place would pass without running it (zero2prod's rules leave out `tests/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests_left_out: Vec<String>,
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

/// The steps that fetch crates get the caller's SSH agent (`RUN --mount=type=ssh`) and
/// these hosts' keys.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SshPlan {
    /// The `git+ssh://` repositories of Cargo.lock (none with `ssh = true` alone).
    pub sources: Vec<String>,
    /// `ssh-known-hosts`: `known_hosts` lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_hosts: Vec<String>,
}

/// A private registry's token: the build secret `secret` holds what cargo reads as the
/// environment variable `env` (`CARGO_REGISTRIES_<NAME>_TOKEN`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct RegistryToken {
    pub registry: String,
    pub secret: String,
    pub env: String,
}

/// A build argument of the compile steps (`build-args`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct BuildArg {
    pub name: String,
    /// `NAME={revision}`: the commit being built, when no value is given.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revision: bool,
}

/// Build arguments the generated Dockerfile declares itself (or BuildKit predefines): a
/// `build-args` entry cannot take their names.
pub const RESERVED_BUILD_ARGS: [&str; 13] = [
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "SOURCE_DATE_EPOCH",
    "REVISION",
    "CARGO_IMAGE_BUILD",
    "CARGO_IMAGE_CACHE_KEY",
    "CARGO_HOME",
];

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
    /// Features as `package/feature` (the root package's bare, see `image_features`),
    /// sorted: every image's (what the resolve is read with).
    pub features: Vec<String>,
    /// Binaries built, sorted.
    pub bins: Vec<String>,
    /// When the images ask for different features (or some for no default features): one
    /// cargo command per set, so no image ships a feature only another one asked for
    /// (cargo unifies the features of one command's packages). Empty when one command
    /// with `features` builds every binary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<FeatureGroup>,
    /// `-C target-feature=+crt-static` (a `*-linux-gnu` std links statically with it).
    pub static_link: bool,
    /// With `static_link`: the binaries linked dynamically all the same, by a second cargo
    /// command with a target dir of its own (`target/dynamic`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_bins: Vec<String>,
    /// The binaries built against musl (`libc = "musl"`, or a musl runtime): a third cargo
    /// command, for `*-unknown-linux-musl`, static by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub musl_bins: Vec<String>,
    pub strip: bool,
}

/// Binaries that share their features, built by one cargo command.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeatureGroup {
    /// Features as `package/feature` (the root package's bare), sorted.
    pub features: Vec<String>,
    /// Packages built without their default features (`default-features = false`), sorted:
    /// the command selects them with `--package` (with `--workspace`,
    /// `--no-default-features` would apply to every member).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub no_default_features: Vec<String>,
    /// Binaries, sorted.
    pub bins: Vec<String>,
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
    /// Packages the dev and test targets leave out (`--workspace --exclude`), sorted:
    /// desktop and browser applications that get no image and that no other member
    /// needs (rqbit's Tauri app: its toolkit needs GTK and WebKit to compile).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
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
    /// The C library the binary is built against (`libc`).
    pub libc: Libc,
    pub user: String,
    /// The runtime user's home directory when the image adds it (owned by the user, and
    /// the working directory unless `workdir` is set): every runtime then starts a program
    /// where it may write, as distroless does for its own `nonroot` user; scratch and
    /// Debian slim would start it in `/`, which only root may write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    /// TCP ports: the healthcheck's and the dev image's.
    pub ports: Vec<u16>,
    /// `ports` given as `"53/udp"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub udp_ports: Vec<u16>,
    /// Where `ports` came from when no `ports` key sets them: the code that names each
    /// (`plan::image::inferred_ports`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports_inferred_from: Vec<String>,
    /// Why the stop signal is SIGINT when no `stop-signal` key sets it: the code that waits
    /// for Ctrl-C and handles no SIGTERM (`plan::image::inferred_stop_signal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal_inferred_from: Option<String>,
    /// Why the image runs the program under our init when no `init` key asks for it: it
    /// listens and handles no signal (`plan::image::inferred_init`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_inferred_from: Option<String>,
    pub env: BTreeMap<String, String>,
    /// `run-env`: variables the container gets when it runs, not the image (sorted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub healthcheck: Option<Healthcheck>,
    /// Tags, with placeholders filled in.
    pub tags: Vec<String>,
    /// What the image gets beside the binary (`runtime-packages`, `files`, `workdir`,
    /// `volumes`, `args`, `entrypoint`, `stop-signal`, `tzdata`, `init`).
    #[serde(default, skip_serializing_if = "Extras::is_empty")]
    pub extras: Extras,
    /// What the planner changed to make a name Docker accepts (a lowercased repository, a
    /// `+` in a tag), said once per command by the driver.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Plan {
    /// Whether an image has our static HTTP probe (an HTTP healthcheck).
    pub fn uses_probe(&self) -> bool {
        (self.images.iter()).any(|i| matches!(i.healthcheck, Some(Healthcheck::Http { .. })))
    }

    /// Whether an image runs its program under our init.
    pub fn uses_init(&self) -> bool {
        self.images.iter().any(|i| i.extras.init)
    }
}

impl ImagePlan {
    /// Every port as `EXPOSE` and compose write it: `8080`, then `53/udp`.
    pub fn exposed(&self) -> Vec<String> {
        let tcp = self.ports.iter().map(u16::to_string);
        tcp.chain(self.udp_ports.iter().map(|p| format!("{p}/udp")))
            .collect()
    }
}

/// A note on what the workspace's own Dockerfile gives the image of its last stage that the
/// generated image of the same program lacks (rustypaste's `ENV SERVER__ADDRESS=0.0.0.0:8000`,
/// `EXPOSE 8000`, `WORKDIR /app`: without them it listens on loopback and writes where its
/// volume is not), with the keys that carry them over. The program is the one its
/// `ENTRYPOINT` or `CMD` names, else the only image's.
fn own_dockerfile_note(ws: &Workspace, images: &[ImagePlan]) -> Option<String> {
    let (own, img) = own_dockerfile_image(ws, images)?;
    let mut lacks: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    let env: Vec<&(String, String)> = own
        .env
        .iter()
        .filter(|(k, v)| img.env.get(k) != Some(v))
        .collect();
    if !env.is_empty() {
        lacks.extend(env.iter().map(|(k, v)| format!("`ENV {k}={v}`")));
        let mut all: BTreeMap<&String, &String> = img.env.iter().collect();
        all.extend(env.iter().map(|(k, v)| (k, v)));
        let pairs: Vec<String> = all.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
        keys.push(format!("`env = {{ {} }}`", pairs.join(", ")));
    }
    let tcp: Vec<u16> = own
        .ports
        .iter()
        .filter(|p| !img.ports.contains(p))
        .copied()
        .collect();
    let udp: Vec<u16> = (own.udp_ports.iter())
        .filter(|p| !img.udp_ports.contains(p))
        .copied()
        .collect();
    if !tcp.is_empty() || !udp.is_empty() {
        lacks.extend(tcp.iter().map(|p| format!("`EXPOSE {p}`")));
        lacks.extend(udp.iter().map(|p| format!("`EXPOSE {p}/udp`")));
        let mut all: Vec<String> = img.ports.iter().chain(&tcp).map(u16::to_string).collect();
        all.extend((img.udp_ports.iter().chain(&udp)).map(|p| format!("\"{p}/udp\"")));
        keys.push(format!("`ports = [{}]`", all.join(", ")));
    }
    let workdir = img.extras.workdir.as_ref().or(img.home.as_ref());
    if let Some(dir) = own.workdir.as_ref().filter(|d| Some(*d) != workdir) {
        lacks.push(format!("`WORKDIR {dir}`"));
        keys.push(format!("`workdir = {dir:?}`"));
    }
    let volumes: Vec<&String> = own
        .volumes
        .iter()
        .filter(|v| !img.extras.volumes.contains(v))
        .collect();
    // A directory its `RUN mkdir` makes for the program to write in (atuin's `/config`,
    // which its `ATUIN_CONFIG_DIR` names): in the generated image, a volume makes it, owned
    // by the image's user (without it the server stopped: `failed to create directory
    // `/config`: Permission denied`).
    let laid_out = |dir: &str| {
        (img.extras.volumes.iter())
            .chain(img.extras.files.values())
            .chain(img.extras.workdir.iter())
            .chain(img.home.iter())
            .any(|d| crate::model::is_within(dir, d.trim_end_matches('/')))
    };
    let made: Vec<&String> = (own.made_dirs.iter())
        .filter(|d| !laid_out(d) && !volumes.contains(d))
        .collect();
    lacks.extend(made.iter().map(|d| format!("`RUN mkdir {d}`")));
    let volumes: Vec<&String> = volumes.into_iter().chain(made).collect();
    if !volumes.is_empty() {
        lacks.extend(
            (volumes.iter())
                .filter(|v| own.volumes.contains(v))
                .map(|v| format!("`VOLUME {v}`")),
        );
        let all: Vec<String> = img
            .extras
            .volumes
            .iter()
            .chain(volumes.iter().copied())
            .map(|v| format!("{v:?}"))
            .collect();
        keys.push(format!("`volumes = [{}]`", all.join(", ")));
    }
    // w4/bin's `ENTRYPOINT ["/pastebin", "0.0.0.0:8000"]` (its binary `bin`, renamed):
    // without them it listens on loopback. The program is the image's, or, for the only
    // image, one that is no wrapper whose arguments are another command line (a script,
    // tini).
    let given = !img.extras.args.is_empty() || img.extras.entrypoint.is_some();
    let wrapper = |p: &str| {
        p.contains('.')
            || ["sh", "bash", "tini", "dumb-init", "gosu", "su-exec", "env"].contains(&p)
    };
    if let Some((_, args)) = own.program_args().filter(|(program, args)| {
        (*program == img.bin || (images.len() == 1 && !wrapper(program)))
            && !args.is_empty()
            && !given
    }) {
        lacks.push(format!("the arguments `{}`", args.join(" ")));
        let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
        keys.push(format!("`args = [{}]`", quoted.join(", ")));
    }
    let default_signal = |s: &str| s.trim_start_matches("SIG").eq_ignore_ascii_case("TERM");
    if let Some(signal) =
        own.stop_signal
            .as_ref()
            .filter(|own| match img.extras.stop_signal.as_ref() {
                Some(set) => !set.eq_ignore_ascii_case(own),
                None => !default_signal(own),
            })
    {
        lacks.push(format!("`STOPSIGNAL {signal}`"));
        keys.push(format!("`stop-signal = {signal:?}`"));
    }
    if !own.healthcheck.is_empty() && img.healthcheck.is_none() {
        lacks.push(format!("`HEALTHCHECK CMD {}`", own.healthcheck.join(" ")));
        keys.push(match local_url(&own.healthcheck) {
            // `curl -f http://localhost:8080/settings`: the static probe does it without
            // curl, which distroless and scratch lack.
            Some((port, path)) => format!("`healthcheck = {{ http = {path:?}, port = {port} }}`"),
            None => {
                // Exec form: no shell strips the quotes or expands `${PORT:-8888}`.
                let words: Vec<String> = own
                    .healthcheck
                    .iter()
                    .map(|w| format!("{:?}", shell_word(w)))
                    .collect();
                // vaultwarden's `/healthcheck.sh`, copied in from `docker/`: the
                // generated image holds it only through `files`, and a script only runs
                // where a shell is.
                let program = own.healthcheck.first().map(String::as_str).unwrap_or("");
                let copied = own.copies.iter().find(|(_, to)| to == program);
                match copied {
                    Some((src, to)) => {
                        let script = src.ends_with(".sh") && img.runtime.without_shell();
                        format!(
                            "`healthcheck = {{ cmd = [{}] }}` with `files = {{ {src:?} = {to:?} }}`{}",
                            words.join(", "),
                            if script {
                                " and `runtime = \"debian-slim\"` (a script needs a shell), or \
                                 an HTTP check the image's probe runs without one, \
                                 `healthcheck = { http = \"/…\", port = … }`"
                            } else {
                                ""
                            }
                        )
                    }
                    None => format!(
                        "`healthcheck = {{ cmd = [{}] }}` (a program the image holds)",
                        words.join(", ")
                    ),
                }
            }
        });
    }
    if let Some(pkg) = ws.package(&img.package) {
        let cfg = image::image_config(ws, pkg, &img.bin);
        let set = cfg.features.unwrap_or_default();
        // `json` and `paste/json` are one feature of package `paste`.
        let own_name = format!("{}/", pkg.name);
        let bare = |f: &str| f.strip_prefix(own_name.as_str()).unwrap_or(f).to_string();
        let mut set_bare: BTreeSet<String> = set.iter().map(|f| bare(f)).collect();
        // What `default` turns on is on in both builds unless either turns defaults off
        // (shadowsocks-rust's `--features full`, which its `default` holds).
        if cfg.default_features != Some(false) && !own.cargo.no_default_features {
            set_bare.extend(pkg.default_features.iter().cloned());
        }
        let missing: Vec<&String> = (own.cargo.features.iter())
            .filter(|f| !set_bare.contains(&bare(f)))
            .collect();
        if !missing.is_empty() {
            let listed: Vec<&str> = missing.iter().map(|f| f.as_str()).collect();
            lacks.push(format!("`--features {}`", listed.join(",")));
            let all: Vec<String> = (set.iter().chain(missing.iter().copied()))
                .map(|f| format!("{f:?}"))
                .collect();
            keys.push(format!("`features = [{}]`", all.join(", ")));
        }
        if own.cargo.no_default_features && cfg.default_features != Some(false) {
            lacks.push("`--no-default-features`".into());
            keys.push("`default-features = false`".into());
        }
        if own.cargo.all_features {
            lacks.push("`--all-features`".into());
            keys.push(format!(
                "`features` listing `{}`'s features: {}",
                pkg.name,
                ticked(&pkg.features)
            ));
        }
    }
    if lacks.is_empty() {
        return None;
    }
    Some(format!(
        "your own {} gives `{}`'s image {}, which the generated image lacks: if it needs \
         them, set {} under {}",
        ws.in_root(&own.path),
        img.bin,
        lacks.join(", "),
        keys.join(", "),
        image_table(ws, img),
    ))
}

/// A note on what the workspace's own Dockerfile sets with `ENV` for its compile that
/// `build-env` and `build-args` do not (rustus's `JEMALLOC_SYS_WITH_MALLOC_CONF` and
/// `CMAKE_POLICY_VERSION_MINIMUM`, which its jemalloc and C builds need): the generated build
/// compiles without them, silently, with the key that carries them over.
fn own_dockerfile_build_env_note(ws: &Workspace) -> Option<String> {
    let own = ws.own_dockerfile.as_ref()?;
    let wcfg = &ws.config;
    let arg =
        |name: &str| (wcfg.build_args.iter().flatten()).any(|a| a.split('=').next() == Some(name));
    let lacks: Vec<&(String, String)> = (own.build_env.iter())
        .filter(|(k, _)| !wcfg.build_env.contains_key(k) && !arg(k))
        .collect();
    if lacks.is_empty() {
        return None;
    }
    let mut all: BTreeMap<&String, &String> = wcfg.build_env.iter().collect();
    all.extend(lacks.iter().map(|(k, v)| (k, v)));
    let pairs: Vec<String> = all.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
    Some(format!(
        "your own {} sets {} where it compiles, which the generated build does not: if the \
         build needs them, add `build-env = {{ {} }}` under {}",
        own.path,
        ticked(lacks.iter().map(|(k, v)| format!("ENV {k}={v}"))),
        pairs.join(", "),
        ws.workspace_table()
    ))
}

/// A note for each image whose program the workspace's own compose file runs with data
/// directories mounted (rustypaste's `./upload/:/app/upload`) where the generated image has
/// no volume: what it writes there goes with its container (the uploads were gone after
/// `docker rm`). The service is the program's when it has the binary's name or its image
/// does (`orhunp/rustypaste:latest`), or, for the only image, when it builds the project
/// (no `image:`).
fn own_compose_notes(ws: &Workspace, images: &[ImagePlan]) -> Vec<String> {
    let Some(own) = &ws.own_compose else {
        return Vec::new();
    };
    let file = &own.file;
    let mut notes = Vec::new();
    for img in images {
        // Whether a service of the file runs `img`'s program: named after it, or its image
        // is; a service that builds (no `image:`) when there is one program.
        let runs = |service: &str, image: Option<&str>| {
            let image_name = image.map(|i| {
                let name = i.rsplit('/').next().unwrap_or(i);
                name.split([':', '@']).next().unwrap_or(name)
            });
            service == img.bin
                || image_name == Some(img.bin.as_str())
                || (image.is_none() && images.len() == 1)
        };
        let lacks: Vec<&crate::own_compose::ComposeVolume> = (own.volumes.iter())
            .filter(|v| runs(&v.service, v.image.as_deref()))
            .filter(|v| !img.extras.in_volume(&v.target))
            .collect();
        if let Some(first) = lacks.first() {
            let all: Vec<String> = (img.extras.volumes.iter())
                .chain(lacks.iter().map(|v| &v.target))
                .map(|v| format!("{v:?}"))
                .collect();
            // A host directory mounted as the file does keeps its owner (rustypaste's
            // `./upload`, root's, refused user 65532).
            let binds: Vec<&str> = (lacks.iter())
                .filter_map(|v| v.entry.split(':').next())
                .filter(|source| source.starts_with(['.', '/', '~']))
                .map(|source| source.trim_end_matches('/'))
                .collect();
            let chown = match binds.is_empty() {
                true => String::new(),
                false => format!(
                    "; a host directory mounted there, as your file does, must be writable by \
                     it too (`chown -R {} {}`)",
                    img.user,
                    binds.join(" ")
                ),
            };
            notes.push(format!(
                "your own {file} mounts {} into service `{}`, where `{}` keeps data, and the \
                 generated image has no volume there: what it writes goes with the container; \
                 set `volumes = [{}]` under {} (each is created writable by {}{chown})",
                ticked(lacks.iter().map(|v| &v.entry)),
                first.service,
                img.bin,
                all.join(", "),
                image_table(ws, img),
                img.user,
            ));
        }
        // The ports it publishes that the image does not expose (pgcat's 6432, in its
        // configuration file): without them the generated compose.yaml publishes none.
        let exposed = |p: &crate::own_compose::ComposePort| match p.udp {
            true => img.udp_ports.contains(&p.target),
            false => img.ports.contains(&p.target),
        };
        let unexposed: Vec<&crate::own_compose::ComposePort> = (own.ports.iter())
            .filter(|p| runs(&p.service, p.image.as_deref()) && !exposed(p))
            .collect();
        if let Some(first) = unexposed.first() {
            let them = if unexposed.len() == 1 { "it" } else { "them" };
            let port = |number: u16, udp: bool| match udp {
                true => format!("\"{number}/udp\""),
                false => number.to_string(),
            };
            let all: Vec<String> = (img.ports.iter().map(|&n| port(n, false)))
                .chain(img.udp_ports.iter().map(|&n| port(n, true)))
                .chain(unexposed.iter().map(|p| port(p.target, p.udp)))
                .collect();
            notes.push(format!(
                "your own {file} publishes {} for service `{}`, where `{}` runs, and the \
                 generated image does not expose {them}, so its compose.yaml does not publish \
                 {them}; set `ports = [{}]` under {}",
                ticked(unexposed.iter().map(|p| &p.entry)),
                first.service,
                img.bin,
                all.join(", "),
                image_table(ws, img),
            ));
        }
    }
    notes
}

/// The workspace's own Dockerfile and the image of the program its last stage starts
/// (`ENTRYPOINT` or `CMD`), else the only image.
fn own_dockerfile_image<'a>(
    ws: &'a Workspace,
    images: &'a [ImagePlan],
) -> Option<(&'a crate::own_dockerfile::OwnDockerfile, &'a ImagePlan)> {
    let own = ws.own_dockerfile.as_ref()?;
    let img = images
        .iter()
        .find(|i| own.programs.contains(&i.bin))
        .or_else(|| (images.len() == 1).then(|| &images[0]))?;
    Some((own, img))
}

/// A note on what the workspace's own Dockerfile copies into its last stage from another
/// image or from a stage that compiles nothing of the workspace (vaultwarden's
/// `COPY --from=vault /web-vault ./web-vault`: without its web vault the service exits
/// unless `WEB_VAULT_ENABLED=false`). No key brings files from an image; a stage of the
/// user's own in `dockerfile-append`, built on the generated one, does.
fn own_dockerfile_copies_note(ws: &Workspace, images: &[ImagePlan]) -> Option<String> {
    let (own, img) = own_dockerfile_image(ws, images)?;
    // Not once the user's own stages copy it (by what and from where; a stage renamed
    // as below counts).
    let appended = ws.dockerfile_append.as_ref().map(|(_, text)| text.as_str());
    let copied = |c: &&crate::own_dockerfile::ForeignCopy| {
        appended.is_some_and(|text| {
            (text.contains(&format!("--from={}", c.from))
                || text.contains(&format!("--from=own-{}", c.from)))
                && c.sources.iter().all(|s| text.contains(s.as_str()))
        })
    };
    let foreign: Vec<&crate::own_dockerfile::ForeignCopy> =
        own.foreign_copies.iter().filter(|c| !copied(c)).collect();
    if foreign.is_empty() {
        return None;
    }
    let said: Vec<String> = (foreign.iter())
        .map(|c| {
            let from = if c.stage {
                format!("its stage `{}`", c.from)
            } else {
                format!("image `{}`", c.from)
            };
            format!("`{}` (from {from})", c.instruction)
        })
        .collect();
    // Every stage the copies need, in the file's order.
    let mut stages: Vec<&str> = Vec::new();
    for stage in foreign.iter().flat_map(|c| &c.stages) {
        if !stages.contains(&stage.as_str()) {
            stages.push(stage);
        }
    }
    // A stage of theirs named as one of ours (feroxbuster's `build`) is refused in the
    // appended file: renamed (`own-build`: `build-custom` would take a prefix of ours,
    // `test-`), in its `COPY --from` too.
    let renamed = |stage: &str| {
        if stages::generated_stage(stage, images) {
            format!("own-{stage}")
        } else {
            stage.to_string()
        }
    };
    let stage_list: Vec<String> = (stages.iter())
        .map(|s| match renamed(s) {
            new if new != **s => format!(
                "`{s}` (as `{new}`, where the stages use it too: the generated file has a `{s}`)"
            ),
            _ => format!("`{s}`"),
        })
        .collect();
    let target = format!("{}-full", img.stage);
    let copies: Vec<String> = (foreign.iter())
        .map(|c| {
            let from = if c.stage {
                renamed(&c.from)
            } else {
                c.from.clone()
            };
            format!("`COPY --from={from} {} {}`", c.sources.join(" "), c.dest)
        })
        .collect();
    let file = match &ws.dockerfile_append {
        Some((path, _)) => format!("your `dockerfile-append` file, {}", ws.in_root(path)),
        None => format!(
            "a file of yours that `dockerfile-append` names under {}",
            ws.workspace_table()
        ),
    };
    Some(format!(
        "your own {} copies into `{}`'s image {}, which the generated image lacks and no key \
         gives: if it needs them, add to {file}: {}`FROM {} AS {target}` and {}; then build \
         that stage (`cargo xtask image --target {target}`)",
        ws.in_root(&own.path),
        img.bin,
        said.join(", "),
        match stage_list.len() {
            0 => String::new(),
            n => format!(
                "the stage{} {} from it, then ",
                if n == 1 { "" } else { "s" },
                stage_list.join(", ")
            ),
        },
        img.stage,
        copies.join(" and "),
    ))
}

/// A note when the workspace's own Dockerfile runs the program as another user than the
/// generated image (as root, for vaultwarden: no `USER`) and the image keeps data in
/// volumes (its `VOLUME /data`): what the old image wrote there is that user's, and the
/// program as 65532 cannot write it (`Permission denied` on its database) until it is
/// chowned once. A user named otherwise than root or `nonroot` counts as another. Not for
/// a volume only the generated image declares: the old image wrote nothing there.
fn own_dockerfile_user_note(ws: &Workspace, images: &[ImagePlan]) -> Option<String> {
    let (own, img) = own_dockerfile_image(ws, images)?;
    // The old image's volumes only: one of ours alone held none of its data (rustus's
    // new `/data`, where its old image wrote under its home directory).
    let mut volumes: Vec<&String> = own.volumes.iter().collect();
    volumes.sort();
    volumes.dedup();
    let ours = img.user.split(':').next().unwrap_or(&img.user);
    if own.user_id().as_deref() == Some(ours) || volumes.is_empty() {
        return None;
    }
    let mounts: String = volumes
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                " -v VOLUME{}:{v}",
                if volumes.len() == 1 {
                    String::new()
                } else {
                    (i + 1).to_string()
                }
            )
        })
        .collect();
    let paths: Vec<&str> = volumes.iter().map(|v| v.as_str()).collect();
    Some(format!(
        "your own {} runs `{}` as {}, the generated image as {}: what the old image \
         wrote into {} is not that user's, and the program cannot write it; before the \
         switch, chown it once: `docker run --rm -u 0{mounts} debian:bookworm-slim chown -R {} {}`",
        ws.in_root(&own.path),
        img.bin,
        match &own.user {
            Some(user) => format!("`USER {user}`"),
            None => "root (no `USER`)".to_string(),
        },
        img.user,
        ticked(&paths),
        img.user,
        paths.join(" "),
    ))
}

/// The port and path of the `http://` URL on the container's own host in a healthcheck
/// command (`wget --spider http://localhost:8080/settings`): 80 when it names none.
fn local_url(words: &[String]) -> Option<(u16, String)> {
    words.iter().find_map(|w| {
        let word = shell_word(w);
        let rest = word.strip_prefix("http://")?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && !port.contains(']') => {
                (host, port.parse().ok()?)
            }
            _ => (authority, 80),
        };
        ["localhost", "127.0.0.1", "0.0.0.0", "[::1]"]
            .contains(&host)
            .then(|| (port, if path.is_empty() { "/" } else { path }.to_string()))
    })
}

/// A word of a shell-form command as the shell would pass it, for the common cases: its
/// quotes dropped and each `${NAME:-default}` (or `${NAME-default}`) given its default, as
/// when the variable is unset (atuin's `"http://localhost:${ATUIN_PORT:-8888}/healthz"`).
fn shell_word(word: &str) -> String {
    let mut out = word.trim_matches(|c| c == '"' || c == '\'').to_string();
    while let Some(start) = out.find("${") {
        let Some(end) = out[start..].find('}').map(|e| start + e) else {
            break;
        };
        let inner = &out[start + 2..end];
        let Some(default) = inner
            .split_once(":-")
            .or_else(|| inner.split_once('-'))
            .map(|(_, d)| d.to_string())
        else {
            break;
        };
        out.replace_range(start..=end, &default);
    }
    out
}

/// A note for each image whose program needs a subcommand, one of which serves (`serve`,
/// `server`, `run`, `start`, `daemon`), and gets none (no `args`, no `entrypoint`): it
/// would print its usage and exit (rauthy's `serve`, kanidmd's `server`, each in the
/// project's own Dockerfile's `CMD`). A command-line tool (the example's `products`, whose
/// users pass `list`) is run with a subcommand: not said.
fn subcommand_notes(ws: &Workspace, images: &[ImagePlan]) -> Vec<String> {
    let mut notes = Vec::new();
    for img in images {
        let Some(pkg) = ws.package(&img.package) else {
            continue;
        };
        let Some(need) = pkg.needs_subcommand.get(&img.bin) else {
            continue;
        };
        if !img.extras.args.is_empty() || img.extras.entrypoint.is_some() {
            continue;
        }
        let Some(service) = need
            .subcommands
            .iter()
            .find(|s| ["serve", "server", "run", "start", "daemon"].contains(&s.as_str()))
        else {
            continue;
        };
        const SHOWN: usize = 6;
        let mut listed = ticked(need.subcommands.iter().take(SHOWN));
        if need.subcommands.len() > SHOWN {
            listed.push_str(", …");
        }
        notes.push(format!(
            "`{}` needs a subcommand (its command line `{}`, in {}: {listed}), and its image \
             starts it with none, so it prints its usage and exits: if the image is to serve, set \
             `args = [\"{}\"]` under {} (a command-line tool is run with one \
             instead: `docker run IMAGE <subcommand>`)",
            img.bin,
            need.parser,
            need.file,
            service,
            image_table(ws, img),
        ));
    }
    notes
}

/// A note for a package whose images all expose the same ports, read from code they all
/// link rather than from one program's own file (ntpd-rs: statime's PTP ports 319 and 320
/// went to `ntp-daemon`, to the metrics exporter, and to `ntp-ctl`, a command-line tool):
/// which of them listens there the code does not tell, and one that does not still gets
/// `EXPOSE` and the init a server gets. Ports from `args` or `env` are the user's, and not
/// said.
fn shared_port_notes(ws: &Workspace, images: &[ImagePlan]) -> Vec<String> {
    let from_code = |img: &ImagePlan| {
        !img.ports_inferred_from.is_empty()
            && img
                .ports_inferred_from
                .iter()
                .all(|why| !why.starts_with("args:") && !why.starts_with("env:"))
    };
    let mut notes = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for img in images.iter().filter(|img| from_code(img)) {
        if !seen.insert(img.package.as_str()) {
            continue;
        }
        let siblings: Vec<&ImagePlan> =
            images.iter().filter(|i| i.package == img.package).collect();
        let same = |i: &&ImagePlan| {
            from_code(i)
                && i.ports == img.ports
                && i.udp_ports == img.udp_ports
                && i.ports_inferred_from == img.ports_inferred_from
        };
        if siblings.len() < 2 || !siblings.iter().all(same) {
            continue;
        }
        let Some(pkg) = ws.package(&img.package) else {
            continue;
        };
        let ports = (img.ports.iter().map(|p| p.to_string()))
            .chain(img.udp_ports.iter().map(|p| format!("{p}/udp")));
        notes.push(format!(
            "{} all expose {}, which code each of them links names ({}): the code does not \
             tell which of them listens there, and one that does not still gets `EXPOSE` and \
             an init; give each its own `ports` (`ports = []` for one that does not listen) \
             under [package.metadata.image.bin.NAME] in {}",
            ticked(siblings.iter().map(|i| &i.bin)),
            ticked(ports),
            img.ports_inferred_from.join("; "),
            skeleton::manifest_path(pkg),
        ));
    }
    notes
}

/// A note for each image whose program routes a health path (zero2prod's
/// `/health_check`, axum's `/healthz`; [`crate::listen::ListenFacts::health_routes`]) and
/// that has a TCP port but no healthcheck, unset: `healthcheck = "/health_check"` has
/// Docker probe it, with our static probe on runtimes without curl. Noted, not set: a
/// route under a prefix (`.nest("/api", …)`) would fail the probe of the bare path. Not
/// said once the key is set, `"none"` included.
fn health_route_notes(
    ws: &Workspace,
    images: &[ImagePlan],
    reach: &[BTreeSet<String>],
) -> Vec<String> {
    let mut notes = Vec::new();
    for (img, reached) in images.iter().zip(reach) {
        let Some(pkg) = ws.package(&img.package) else {
            continue;
        };
        let Some(port) = img.ports.first() else {
            continue;
        };
        if img.healthcheck.is_some() || image::image_config(ws, pkg, &img.bin).healthcheck.is_some()
        {
            continue;
        }
        let Some((file, route)) = image_code(ws, img, reached, |p| &p.listen)
            .find_map(|(file, f)| f.health_routes.first().map(|r| (file, r)))
        else {
            continue;
        };
        notes.push(format!(
            "`{}` answers `{route}` ({}), and its image has no healthcheck: `healthcheck = \
             \"{route}\"` under {} has Docker probe it on port {port} (a static probe, no \
             curl needed), so `docker ps` shows when it stops answering",
            img.bin,
            ws.from_root(file),
            image_table(ws, img),
        ));
    }
    notes
}

/// The images whose program's command line needs something to start
/// ([`crate::model::NeedsArguments`]) and that give it no `args` or `entrypoint`.
fn started_without_arguments<'a>(
    ws: &'a Workspace,
    images: &'a [ImagePlan],
) -> impl Iterator<Item = (&'a ImagePlan, &'a crate::model::NeedsArguments)> {
    images
        .iter()
        .filter(|img| img.extras.args.is_empty() && img.extras.entrypoint.is_none())
        .filter_map(|img| {
            let need = ws.package(&img.package)?.needs_arguments.get(&img.bin)?;
            Some((img, need))
        })
}

/// A note for each image whose program requires arguments ([`crate::model::NeedsArguments`])
/// and gets none (no `args`, no `entrypoint`, no `env` setting the variable an argument
/// may come from): it would print its usage and exit (rathole's `<CONFIG>`, realworld's
/// `--database-url`). Said for a program that listens (it has ports) and for a
/// configuration file's argument: a command-line tool (ripgrep's `<PATTERN>`) is run with
/// its arguments.
fn argument_notes(ws: &Workspace, images: &[ImagePlan]) -> Vec<String> {
    let mut notes = Vec::new();
    for (img, need) in started_without_arguments(ws, images) {
        let config = |a: &crate::subcommands::RequiredArg| {
            a.names
                .iter()
                .any(|n| n.to_ascii_lowercase().contains("conf"))
        };
        let missing: Vec<&crate::subcommands::RequiredArg> = need
            .args
            .iter()
            .filter(|a| !a.env.as_ref().is_some_and(|v| img.env.contains_key(v)))
            .filter(|a| !img.ports.is_empty() || !img.udp_ports.is_empty() || config(a))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let listed: Vec<String> = missing
            .iter()
            .map(|a| {
                let names: Vec<String> = a.names.iter().map(|n| format!("`{n}`")).collect();
                match &a.env {
                    Some(var) => format!("{} (or the variable `{var}`)", names.join(" or ")),
                    None => names.join(" or "),
                }
            })
            .collect();
        // Variables are often secrets (realworld's HMAC key): given at run time, not baked in.
        let mut fixes = Vec::new();
        if missing.iter().any(|a| a.env.is_some()) {
            fixes.push(
                "pass the variables when it runs (`docker run -e`, compose's `environment`)"
                    .to_string(),
            );
        }
        fixes.push(format!(
            "set `args` under {}{}",
            image_table(ws, img),
            if missing.iter().any(|a| config(a)) {
                " (with `files` copying the configuration file in)"
            } else {
                ""
            }
        ));
        notes.push(format!(
            "`{}` cannot start without {} (its command line `{}`, in {}), and its image \
             gives none, so it prints its usage and exits: {}",
            img.bin,
            listed.join(", "),
            need.parser,
            need.file,
            fixes.join(", or "),
        ));
    }
    notes
}

/// A note for each image whose program reads a configuration file at an absolute path by
/// default (hickory-dns's `--config`, `/etc/named.toml`, which it fails to start without)
/// that the image does not lay out (no `files` entry or volume holds it) and whose `args`
/// give nothing: the file is needed, or another path in `args`.
fn config_default_notes(ws: &Workspace, images: &[ImagePlan]) -> Vec<String> {
    let mut notes = Vec::new();
    for (img, need) in started_without_arguments(ws, images) {
        let laid_out = |path: &str| {
            (img.extras.files.values().chain(&img.extras.volumes))
                .any(|d| path == d || path.starts_with(&format!("{}/", d.trim_end_matches('/'))))
        };
        for (option, path) in need.config_defaults.iter().filter(|(_, p)| !laid_out(p)) {
            let name = path.rsplit('/').next().unwrap_or(path);
            notes.push(format!(
                "`{}` reads its configuration from `{path}` by default (its `{option}` option, \
                 {}), which its image does not hold: if it needs one, copy it in with `files = \
                 {{ \"<your {name}>\" = \"{path}\" }}`, or give `{option}` another path in `args`, \
                 under {}",
                img.bin,
                need.file,
                image_table(ws, img),
            ));
        }
    }
    notes
}

/// A note for each image whose program detaches into the background by default (a call in
/// its code, [`crate::model::Package::daemon_calls`], in a package whose command line
/// declares a flag to stay in the foreground) and is not given that flag: as the
/// container's main process it would fork and end, and the container with it (spotifyd:
/// `Daemonize::new` unless `--no-daemon`; its official image passes the flag). The flag
/// is not added for the user: it is read from field names, not run.
fn detach_notes(ws: &Workspace, images: &[ImagePlan], reach: &[BTreeSet<String>]) -> Vec<String> {
    images
        .iter()
        .zip(reach)
        .filter_map(|(img, reach)| {
            let (file, call) = image_code(ws, img, reach, |p| &p.daemon_calls).next()?;
            let flag = code_of(ws, &img.package, &img.bin, reach, |p| &p.daemon_calls)
                .find_map(|(p, _, _)| p.foreground_flag.as_ref())?;
            let given = img
                .extras
                .args
                .iter()
                .chain(img.extras.entrypoint.iter().flatten())
                .any(|a| a == flag || a.starts_with(&format!("{flag}=")));
            if given {
                return None;
            }
            let args: Vec<String> = img
                .extras
                .args
                .iter()
                .chain(std::iter::once(flag))
                .map(|a| format!("{a:?}"))
                .collect();
            Some(format!(
                "`{}` detaches into the background unless started with `{flag}` ({file} calls \
                 `{call}`): as the container's main process it would fork and end, and the \
                 container with it; set `args = [{}]` under {}",
                img.bin,
                args.join(", "),
                image_table(ws, img),
            ))
        })
        .collect()
}

/// A note for the images' crates that ask git while compiling ([`crate::build_env::git_use`])
/// when `git = true` does not give the build the repository: lemmy's `git_version!` falls
/// back to the package version, a build script running `git` fails. Not said when the build
/// context holds no `.git` (a source tarball), where the key would be refused.
fn git_note(ws: &Workspace, compiled: &BTreeSet<String>) -> Option<String> {
    if ws.config.git == Some(true) || !ws.git_available {
        return None;
    }
    let users: Vec<(&String, &(String, String))> = ws
        .packages
        .iter()
        .filter(|p| compiled.contains(&p.name))
        .filter_map(|p| p.git_use.as_ref().map(|g| (&p.name, g)))
        .collect();
    let ((name, (file, how)), more) = users.split_first()?;
    let others = match more.len() {
        0 => String::new(),
        1 => format!(" and `{}`", more[0].0),
        n => format!(" and {n} more crates"),
    };
    let rule = match &ws.git_ignored_by {
        Some(rule) => format!(
            ", and drop the rule `{rule}` from your .dockerignore, which leaves the `.git` out \
             of the build context"
        ),
        None => String::new(),
    };
    Some(format!(
        "`{name}`{others} {} git while compiling ({file}: {how}), and the image build has no \
         repository: a version string falls back without the commit, or the build fails; set \
         `git = true` under {} to give its compile steps git and the `.git`{rule}",
        if more.is_empty() { "asks" } else { "ask" },
        ws.workspace_table()
    ))
}

/// The source files of the packages `img`'s binary compiles (`reach`) that `facts` holds
/// something for, with it: every file except another binary's own (`src/bin/tool.rs` is
/// not in this image's program).
fn image_code<'a, T: 'a>(
    ws: &'a Workspace,
    img: &'a ImagePlan,
    reach: &'a BTreeSet<String>,
    facts: impl Fn(&'a crate::model::Package) -> &'a BTreeMap<String, T> + 'a,
) -> impl Iterator<Item = (&'a String, &'a T)> + 'a {
    code_of(ws, &img.package, &img.bin, reach, facts).map(|(_, file, t)| (file, t))
}

/// [`image_code`] for binary `bin` of `package`, before its image is planned, with each
/// file's package.
fn code_of<'a, T: 'a>(
    ws: &'a Workspace,
    package: &'a str,
    bin: &'a str,
    reach: &'a BTreeSet<String>,
    facts: impl Fn(&'a crate::model::Package) -> &'a BTreeMap<String, T> + 'a,
) -> impl Iterator<Item = (&'a crate::model::Package, &'a String, &'a T)> + 'a {
    ws.packages
        .iter()
        .filter(|p| reach.contains(&p.name))
        .flat_map(move |p| facts(p).iter().map(move |(file, t)| (p, file, t)))
        .filter(move |(p, file, _)| {
            !p.targets.iter().any(|t| {
                t.kind == TargetKind::Bin
                    && t.src_path == **file
                    && !(p.name == package && t.name == bin)
            })
        })
}

/// The table (and manifest) where `img`'s own keys go: `[package.metadata.image]`, or
/// the binary's table in a package with several.
fn image_table(ws: &Workspace, img: &ImagePlan) -> String {
    let Some(p) = ws.package(&img.package) else {
        return ws.workspace_table();
    };
    let bins = p
        .targets
        .iter()
        .filter(|t| t.kind == TargetKind::Bin)
        .count();
    match bins {
        1 => package_table(p),
        _ => format!(
            "[package.metadata.image.bin.{}] in {}",
            img.bin,
            skeleton::manifest_path(p)
        ),
    }
}

/// The table (and manifest) of keys for every image of package `p`.
fn package_table(p: &crate::model::Package) -> String {
    format!("[package.metadata.image] in {}", skeleton::manifest_path(p))
}

/// A note for each image whose program listens on a loopback address ([`crate::listen`]):
/// in a container it answers only itself, and a published port reaches nothing (mini-redis's
/// server binds `127.0.0.1`; zola's `serve` defaults to it). The addresses of the packages
/// the image's binary compiles count, except another binary's own file. Not said when the
/// image's `args` or `env` name a public address.
fn loopback_notes(ws: &Workspace, images: &[ImagePlan], reach: &[BTreeSet<String>]) -> Vec<String> {
    // More than this many images whose own code binds one loopback address get one note
    // (actix/examples: 62 alike notes buried the rest).
    const GROUPED: usize = 3;
    // Each image's note, and the address when the fix is in its code (no option, no
    // healthcheck to mention): those are grouped by address.
    let mut said: Vec<(Option<String>, String, String)> = Vec::new();
    for (img, reach) in images.iter().zip(reach) {
        let public = |v: &String| crate::listen::names_public_address(v);
        if img.extras.args.iter().any(public) || img.env.values().any(public) {
            continue;
        }
        let Some((file, bind)) = image_code(ws, img, reach, |p| &p.loopback)
            .find_map(|(file, binds)| binds.first().map(|b| (file, b)))
        else {
            continue;
        };
        // The variable that overrides the configuration key it is the default of, when
        // the same file lets variables override its keys (atuin's `ATUIN_HOST`).
        let variable = bind.key.as_ref().and_then(|key| {
            let over = (ws.packages.iter())
                .filter_map(|p| p.listen.get(file))
                .find_map(|f| f.env_override.as_ref())?;
            Some((over.variable("", key)?, over.source.clone()))
        });
        let (whose, fix) = match (&bind.option, variable) {
            (Some(option), _) => (
                format!("the default of its `{option}` option, {file}"),
                format!(
                    "give that option `{}` in `args` under {}",
                    ["127.0.0.1", "localhost", "[::1]", "::1"]
                        .iter()
                        .find_map(|h| bind.literal.strip_prefix(h))
                        .map_or("0.0.0.0".to_string(), |port| format!("0.0.0.0{port}")),
                    image_table(ws, img)
                ),
            ),
            (None, Some((variable, source))) => (
                format!(
                    "the default of its `{}` setting, {file}",
                    bind.key.as_deref().unwrap_or_default()
                ),
                format!(
                    "set `env = {{ {variable} = \"0.0.0.0\" }}` under {} (the file's \
                     {source} lets that variable override it)",
                    image_table(ws, img)
                ),
            ),
            (None, None) => (file.clone(), IN_CODE_FIX.to_string()),
        };
        // Said only of an image with a healthcheck (mini-redis's server has none).
        let passes = if img.healthcheck.is_some() {
            "; its healthcheck, run inside, still passes"
        } else {
            ""
        };
        let groups = (bind.option.is_none() && passes.is_empty()).then(|| bind.literal.clone());
        said.push((
            groups,
            img.bin.clone(),
            format!(
                "`{}` listens on `{}` ({whose}), which a published port does not reach (the \
                 container answers only itself{passes}): {fix}",
                img.bin, bind.literal
            ),
        ));
    }
    let mut notes = Vec::new();
    let mut grouped = BTreeSet::new();
    for (address, _, note) in &said {
        let Some(address) = address else {
            notes.push(note.clone());
            continue;
        };
        let bins: Vec<&String> = (said.iter())
            .filter(|(a, _, _)| a.as_ref() == Some(address))
            .map(|(_, bin, _)| bin)
            .collect();
        if bins.len() <= GROUPED {
            notes.push(note.clone());
        } else if grouped.insert(address) {
            notes.push(format!(
                "{} images' programs listen on `{address}` in their code ({}), which a \
                 published port does not reach (each container answers only itself): \
                 {IN_CODE_FIX}",
                bins.len(),
                ticked_at_most(&bins, 10),
            ));
        }
    }
    notes
}

/// The fix for a loopback address in a program's code.
const IN_CODE_FIX: &str = "listen on `0.0.0.0` in the code, or read the address from the \
                           environment and set it in `env`";

/// A note for each image whose program may start a program its runtime lacks
/// ([`crate::spawn`]): `Command::new("ffmpeg")` on distroless fails with "No such file or
/// directory" when it runs, not when the image builds. A runtime package named like the
/// program counts as providing it, a `debian-slim` runtime has its own commands
/// ([`crate::spawn::DEBIAN_SLIM_HAS`]), and an image on a base of the user's own is taken to
/// have what its owner put there.
fn spawn_notes(ws: &Workspace, images: &[ImagePlan], reach: &[BTreeSet<String>]) -> Vec<String> {
    use crate::spawn::{command_name, package_of, DEBIAN_SLIM_HAS};
    let mut notes = Vec::new();
    // Each note's first image, what it says (lacking, files, runtime, "it"/"them", fixes),
    // and the binaries it is said of.
    type Said = (String, String, String, &'static str, String);
    let mut groups: Vec<(&ImagePlan, Said, Vec<&str>)> = Vec::new();
    for (img, reach) in images.iter().zip(reach) {
        if img.runtime == Runtime::Custom {
            continue;
        }
        let has = |program: &String| {
            let name = command_name(program);
            img.extras
                .packages
                .iter()
                .any(|p| p == name || Some(p.as_str()) == package_of(name))
                || (img.runtime == Runtime::DebianSlim && DEBIAN_SLIM_HAS.contains(&name))
        };
        let mut lacking: Vec<&str> = Vec::new();
        let mut files: Vec<&str> = Vec::new();
        for (file, programs) in image_code(ws, img, reach, |p| &p.spawns) {
            for program in programs.iter().filter(|p| !has(p)) {
                if !lacking.contains(&command_name(program)) {
                    lacking.push(command_name(program));
                    if !files.contains(&file.as_str()) {
                        files.push(file);
                    }
                }
            }
        }
        if lacking.is_empty() {
            continue;
        }
        let (slim, packaged): (Vec<&str>, Vec<&str>) =
            lacking.iter().partition(|p| DEBIAN_SLIM_HAS.contains(p));
        let mut fixes = Vec::new();
        if !packaged.is_empty() {
            // The packages known by name first (`procps` for `kill`), then the others'.
            // A command named as a package another command needs is that package's
            // (`ffmpeg` beside `ffprobe`, pict-rs's): one package for both.
            let (known, unknown): (Vec<&str>, Vec<&str>) = packaged.iter().partition(|p| {
                package_of(p).is_some() || packaged.iter().any(|q| package_of(q) == Some(**p))
            });
            let mut by_package: Vec<(&str, Vec<&str>)> = Vec::new();
            for command in known {
                let package = package_of(command).unwrap_or(command);
                match by_package.iter_mut().find(|(p, _)| *p == package) {
                    Some((_, commands)) => commands.push(command),
                    None => by_package.push((package, vec![command])),
                }
            }
            let mut what: Vec<String> = by_package
                .iter()
                .map(|(pkg, commands)| format!("`{pkg}` (for {})", ticked(commands)))
                .collect();
            if !unknown.is_empty() {
                what.push(format!(
                    "the Debian {} {}",
                    if unknown.len() == 1 {
                        "package that provides"
                    } else {
                        "packages that provide"
                    },
                    ticked(&unknown)
                ));
            }
            fixes.push(format!("add {} to `runtime-packages`", what.join(" and ")));
        }
        if !slim.is_empty() {
            fixes.push(format!(
                "set `runtime = \"debian-slim\"` (it has {})",
                ticked(&slim)
            ));
        }
        // One note for a package's images that lack the same (rustdesk-server's three
        // binaries, one library that may start `which`).
        let said = (
            ticked(&lacking),
            files.join(", "),
            img.runtime.keyword().unwrap_or(&img.base).to_string(),
            if lacking.len() == 1 { "it" } else { "them" },
            fixes.join("; "),
        );
        match groups
            .iter_mut()
            .find(|(first, same, _)| first.package == img.package && *same == said)
        {
            Some((_, _, bins)) => bins.push(img.bin.as_str()),
            None => groups.push((img, said, vec![img.bin.as_str()])),
        }
    }
    for (first, (lacking, files, runtime, them, fixes), bins) in groups {
        let (their, it_does, table) = match bins.len() {
            1 => ("its", "it does", image_table(ws, first)),
            _ => (
                "their",
                "they do",
                ws.package(&first.package)
                    .map_or_else(|| image_table(ws, first), package_table),
            ),
        };
        notes.push(format!(
            "{} may start {lacking} (a process started in {files}), which {their} `{runtime}` \
             runtime does not have: the call fails with \"No such file or directory\" when it \
             runs. If {it_does} start {them}, under {table}: {fixes}",
            ticked(&bins),
        ));
    }
    notes
}

/// A note for each `compile_error!` under a feature `cfg` ([`crate::cfg::feature_guards`])
/// that the features cargo resolves for the images set off in a package an image compiles:
/// the build fails where it reaches it, minutes in (vaultwarden's build script asks for a
/// database feature, and it has none by default). The fix names the image's table; a
/// guard that lists features to choose from (`not(any(feature = ..))`) gets the first as an
/// example.
fn feature_guard_notes(ws: &Workspace, images: &[ImagePlan]) -> Vec<String> {
    let mut notes = Vec::new();
    for p in &ws.packages {
        let Some(on) = ws
            .resolved
            .iter()
            .find(|r| r.name == p.name && r.version == p.version)
            .map(|r| r.features.as_slice())
        else {
            continue;
        };
        let users: Vec<&ImagePlan> = images
            .iter()
            .filter(|img| {
                closure(
                    ws,
                    std::iter::once(img.package.as_str()),
                    &[DepKind::Normal, DepKind::Build],
                )
                .contains(&p.name)
            })
            .collect();
        let Some(first) = users.first() else {
            continue;
        };
        // The resolve counts default features; an image that leaves them off builds
        // with others, which it does not say (static-web-server's TLS guards).
        if users.iter().any(|img| {
            ws.package(&img.package)
                .is_some_and(|q| image_config(ws, q, &img.bin).default_features == Some(false))
        }) {
            continue;
        }
        for (file, guard) in p
            .feature_guards
            .iter()
            .flat_map(|(file, guards)| guards.iter().map(move |g| (file, g)))
            .filter(|(_, g)| crate::cfg::eval(&g.predicate, Some(on)) == Some(true))
        {
            let choices: Vec<&str> = guard
                .predicate
                .strip_prefix("not(")
                .map(|rest| {
                    rest.split("feature = \"")
                        .skip(1)
                        .filter_map(|f| f.split('"').next())
                        .collect()
                })
                .unwrap_or_default();
            let own = first.package == p.name;
            let example = |f: &str| {
                if own {
                    format!("features = [\"{f}\"]")
                } else {
                    format!("features = [\"{}/{f}\"]", p.name)
                }
            };
            let table = if own {
                image_table(ws, first)
            } else {
                ws.workspace_table()
            };
            // The example: the feature the message itself asks for when the package has
            // it (vaultwarden's "--features sqlite", beside `sqlite_system` in the guard),
            // else the guard's first.
            let asked = guard
                .message
                .split("--features")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .map(|f| f.trim_matches(|c: char| !(c.is_alphanumeric() || "-_".contains(c))))
                .filter(|f| p.features.iter().any(|g| g == f));
            let fix = match choices.first() {
                Some(f) if choices.len() == 1 => {
                    format!(
                        "turn it on with `{}` in {table}",
                        example(asked.unwrap_or(f))
                    )
                }
                Some(f) => format!(
                    "turn one of {} on, e.g. `{}` in {table}",
                    ticked(&choices),
                    example(asked.unwrap_or(f))
                ),
                None => format!(
                    "the features that meet it come from `features` in {table} or from the \
                     manifests that depend on `{}`: change them so that it no longer holds",
                    p.name
                ),
            };
            let message: String = guard.message.chars().take(100).collect();
            let cut = if message.len() < guard.message.len() {
                "…"
            } else {
                ""
            };
            notes.push(format!(
                "{file}:{} stops the build with `compile_error!(\"{message}{cut}\")` under \
                 `cfg({})`, and that condition holds for the features the build of {} turns \
                 on: the build will fail; {fix}",
                guard.line,
                guard.predicate,
                ticked(users.iter().map(|i| &i.stage)),
            ));
        }
    }
    notes
}

/// A note for each image whose `args` or `env` name an absolute path the image does not
/// have: oxigraph's `serve --location /data` writes its database where only root may
/// create a directory, and a `--config /etc/app/config.toml` nothing copies is missing.
/// Not a path under what the image lays out (`files`, `volumes`, `workdir`, the home, the
/// binary's directory), nor under a system directory that exists in every runtime or
/// comes with packages (`/tmp`, `/dev`, `/proc`, `/sys`, `/usr`, `/lib`, `/bin`,
/// `/etc/ssl`, `/home`). (A root user, who could create it, is refused already.)
fn named_path_notes(ws: &Workspace, images: &[ImagePlan]) -> Vec<String> {
    const PRESENT: [&str; 12] = [
        "/tmp", "/dev", "/proc", "/sys", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc/ssl",
        "/run", "/home",
    ];
    let mut notes = Vec::new();
    for img in images {
        let laid_out: Vec<&str> = img
            .extras
            .files
            .values()
            .chain(&img.extras.volumes)
            .chain(img.extras.workdir.iter())
            .chain(img.home.iter())
            .map(String::as_str)
            .chain(PRESENT)
            .collect();
        let named: Vec<&str> = img
            .extras
            .args
            .iter()
            .chain(img.env.values())
            .map(|v| v.split_once('=').map_or(v.as_str(), |(_, path)| path))
            .filter(|v| {
                v.starts_with('/')
                    && v.len() > 1
                    && !v.contains(|c: char| c.is_whitespace() || matches!(c, ':' | '$' | '*'))
            })
            .map(|v| v.trim_end_matches('/'))
            .filter(|v| !laid_out.iter().any(|dir| crate::model::is_within(v, dir)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let Some(first) = named.first() else {
            continue;
        };
        notes.push(format!(
            "`{}`'s args or env name {}, which its image does not have: the program fails \
             there when it runs (its user `{}` may not create it). Under {}: \
             a directory it writes goes in `volumes = [\"{first}\"]` (created, owned by its \
             user); a file it reads, in `files = {{ \"<path in the build context>\" = \
             \"{first}\" }}`",
            img.stage,
            ticked(&named),
            img.user,
            image_table(ws, img),
        ));
    }
    notes
}

/// A note for each compiled package whose build script watches a path the build context
/// leaves out (`cargo:rerun-if-changed=.git`, vaultwarden's): cargo counts a missing path as
/// changed, so every build re-runs the script and recompiles the package and what depends
/// on it (vaultwarden: 6 minutes after an edit to its README). `.git` is given by
/// `git = true` (and said no more once it is set); another path, by dropping the rule.
fn unseen_watch_notes(ws: &Workspace, compiled: &BTreeSet<String>) -> Vec<String> {
    let git_dir = ws.in_root(".git");
    let in_git = |w: &&crate::model::UnseenWatch| crate::model::is_within(&w.in_context, &git_dir);
    let git = ws.config.git == Some(true);
    let mut notes = Vec::new();
    for p in ws.packages.iter().filter(|p| compiled.contains(&p.name)) {
        // `.git` reaches the compile steps with `git = true`.
        let watches: Vec<&crate::model::UnseenWatch> = p
            .unseen_watches
            .iter()
            .filter(|w| !(git && in_git(w)))
            .collect();
        let Some(first) = watches.first() else {
            continue;
        };
        let (why, fix) = match watches.iter().find_map(|w| w.rule.as_ref().map(|r| (w, r))) {
            Some((w, rule)) => (
                format!("the rule `{rule}` in .dockerignore leaves out of the build context"),
                format!(
                    "drop that rule, or add `!{}` on a line after it",
                    w.in_context
                ),
            ),
            None => (
                "the compile steps do not see (the repository's `.git` reaches them only \
                 with `git = true`)"
                    .to_string(),
                format!(
                    "set `git = true` under {} (they then re-run after a commit only)",
                    ws.workspace_table()
                ),
            ),
        };
        notes.push(format!(
            "{} re-runs when {} change{} (`rerun-if-changed`), which {why}: cargo counts a \
             missing path as changed, so every image build re-runs it and recompiles `{}` \
             (and what depends on it), even after an edit to nothing it reads; {fix}",
            first.script,
            ticked(watches.iter().map(|w| &w.path)),
            if watches.len() == 1 { "s" } else { "" },
            p.name,
        ));
    }
    notes
}

/// The resolved crates the local packages `from` names reach over normal and build edges
/// (themselves included), as indexes into [`Workspace::resolved`].
pub(crate) fn reached(ws: &Workspace, from: impl Fn(&str) -> bool) -> BTreeSet<usize> {
    reach(ws, from, &[]).into_keys().collect()
}

/// The resolved crates that the local packages `from` accepts reach (themselves too), not
/// through the crates named in `skip`, each with the crate it was first reached from:
/// breadth first, so following those back gives a shortest path (for a reason said in a
/// note); `None` for a start.
pub(crate) fn reach(
    ws: &Workspace,
    from: impl Fn(&str) -> bool,
    skip: &[String],
) -> BTreeMap<usize, Option<usize>> {
    let graph = &ws.resolved;
    let mut parent: BTreeMap<usize, Option<usize>> = BTreeMap::new();
    let mut queue: std::collections::VecDeque<usize> = graph
        .iter()
        .enumerate()
        .filter(|(_, n)| from(&n.name) && ws.package(&n.name).is_some())
        .map(|(i, _)| i)
        .collect();
    for &i in &queue {
        parent.insert(i, None);
    }
    while let Some(i) = queue.pop_front() {
        for &d in &graph[i].deps {
            if skip.contains(&graph[d].name) {
                continue;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = parent.entry(d) {
                e.insert(Some(i));
                queue.push_back(d);
            }
        }
    }
    parent
}

/// The tag of `builder` when it is the official Rust image (`rust:1.79-slim-bookworm`,
/// `docker.io/library/rust`), whose tag says its Rust; `latest` when it has none.
fn official_rust_tag(builder: &str) -> Option<&str> {
    let image = builder.rsplit('/').next().unwrap_or(builder);
    let (name, tag) = image.split_once(':').unwrap_or((image, "latest"));
    let official = !builder.contains('/') || builder.starts_with("docker.io/library/");
    (name == "rust" && official).then_some(tag)
}

/// A note when a crate the images compile asks in its `rust-version` for a newer Rust than
/// the builder's tag names (`builder = "rust:1.79-slim-bookworm"` pinned for an old `time`,
/// then a dependency that needs 1.81): cargo refuses it minutes into the build, where the
/// failure's hint would say the same. Not said when a toolchain file pins the toolchain,
/// which rustup in the builder installs whatever the image's own is.
fn old_builder_note(ws: &Workspace, images: &[ImagePlan], builder: &str) -> Option<String> {
    let pinned = ws
        .extra_files
        .keys()
        .any(|k| k.ends_with("rust-toolchain.toml") || k.ends_with("rust-toolchain"));
    let has = crate::model::version_key(official_rust_tag(builder)?);
    if pinned || has.is_empty() {
        return None;
    }
    let graph = &ws.resolved;
    let seen = reached(ws, |name| images.iter().any(|img| img.package == name));
    // Each crate whose rust-version the builder's Rust is below, the highest first.
    let mut above: Vec<(Vec<u64>, &crate::model::Resolved)> = seen
        .iter()
        .map(|&i| &graph[i])
        .filter_map(|r| Some((crate::model::version_key(r.rust_version.as_deref()?), r)))
        .filter(|(wants, _)| wants[..wants.len().min(has.len())] > has[..])
        .collect();
    above.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    let (_, top) = above.first()?;
    let needed = top.rust_version.as_deref().unwrap_or_default();
    // `name version`: rust-version, for the three that ask most.
    let mut listed: Vec<String> = (above.iter().take(3))
        .map(|(_, r)| {
            let wants = r.rust_version.as_deref().unwrap_or_default();
            format!("`{} {}`: {wants}", r.name, r.version)
        })
        .collect();
    if above.len() > 3 {
        listed.push(format!("{} more", above.len() - 3));
    }
    let (crates, ask, them) = match above.len() {
        1 => ("1 crate".to_string(), "asks", "it"),
        n => (format!("{n} crates"), "ask", "them"),
    };
    Some(format!(
        "the builder `{builder}` has an older Rust than {crates} the images compile {ask} for \
         in `rust-version` ({}), so cargo will refuse to compile {them}: set `builder = \
         \"rust:{needed}-slim-bookworm\"` (or newer) in {}, or pass that as `--builder-image`",
        listed.join(", "),
        ws.workspace_table(),
    ))
}

/// A note when the images' build compiles a `time` 0.3 before 0.3.35 with its `formatting`
/// or `parsing` feature and the builder's Rust is 1.80 or later, which cannot compile it
/// (E0282, "type annotations needed for `Box<_>`"):
/// rathole's lockfile failed its first build so. The builder's Rust is read from an
/// official `rust` image's tag (`latest` and other words are today's Rust); another image's
/// is not known, and says nothing.
fn old_time_note(ws: &Workspace, images: &[ImagePlan], builder: &str) -> Option<String> {
    // Only a `time` the images' build compiles (not a dev-dependency's), with the parser
    // its `formatting` or `parsing` feature brings, where the error is.
    let graph = &ws.resolved;
    let seen = reached(ws, |name| images.iter().any(|img| img.package == name));
    let old = seen.iter().map(|&i| &graph[i]).find(|r| {
        let mut v = r
            .version
            .split('.')
            .map(|n| n.parse::<u32>().unwrap_or(u32::MAX));
        r.name == "time"
            && v.next() == Some(0)
            && v.next() == Some(3)
            && v.next() < Some(35)
            && r.features
                .iter()
                .any(|f| f == "formatting" || f == "parsing")
    })?;
    let tag = official_rust_tag(builder)?;
    let mut v = tag.split(['.', '-']).map(|n| n.parse::<u32>().ok());
    let new = match (v.next().flatten(), v.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (1, 80),
        (Some(_), None) => return None,
        _ => true,
    };
    new.then(|| {
        format!(
            "Cargo.lock holds `time` {}, which Rust 1.80 and later cannot compile (E0282, \
             type annotations needed for `Box<_>`), and the builder `{builder}` is newer: the \
             build will fail; run `cargo update -p time` (0.3.35 or later), or set `builder` \
             in {} to a Rust before 1.80 (\"rust:1.79-slim-bookworm\")",
            old.version,
            ws.workspace_table(),
        )
    })
}

/// One note for the environment variables the images' local crates read while compiling
/// ([`crate::build_env`]) that nothing in the build sets: not `build-env`, `build-args`,
/// `.cargo/config.toml`'s `[env]`, nor an argument the Dockerfile declares. kanidm's build
/// script picks its profile from `KANIDM_BUILD_PROFILE`, garage's version string is
/// `option_env!("GIT_VERSION")`: their own Dockerfiles set them, ours would silently not.
fn build_env_note(ws: &Workspace, compiled: &BTreeSet<String>) -> Option<String> {
    let wcfg = &ws.config;
    let mut set: BTreeSet<String> = wcfg.build_env.keys().cloned().collect();
    set.extend(wcfg.build_args.iter().flatten().map(|a| {
        a.split_once('=')
            .map_or(a.as_str(), |(name, _)| name)
            .to_string()
    }));
    set.extend(RESERVED_BUILD_ARGS.iter().map(|a| a.to_string()));
    set.extend(packages::config_env(ws).1.keys().cloned());
    let mut unset: BTreeMap<&String, &crate::model::EnvRead> = BTreeMap::new();
    for p in ws.packages.iter().filter(|p| compiled.contains(&p.name)) {
        for (var, read) in p.env_reads.iter().filter(|(v, _)| !set.contains(*v)) {
            unset.entry(var).or_insert(read);
        }
    }
    if unset.is_empty() {
        return None;
    }
    let listed: Vec<String> = unset
        .iter()
        .map(|(var, read)| format!("`{var}` ({}: {})", read.file, read.how.consequence()))
        .collect();
    let example = unset.keys().next().map_or("NAME", |v| v.as_str());
    // Unset, a build script takes its default and `option_env!` gives `None`: often what the
    // authors meant (bat's `PROJECT_NAME`), so those are said as a question.
    let fails = unset.values().any(|r| r.how == How::Env);
    Some(format!(
        "the images' crates read {} while compiling, which the image build leaves unset: {} \
         with `build-args = [\"{example}\"]` (its value from `--build-arg {example}=…` or the \
         environment of the build command), or fix a value with `build-env = {{ {example} = \
         \"…\" }}`, under {}",
        listed.join(", "),
        match (fails, unset.len()) {
            (true, 1) => "pass it",
            (true, _) => "pass each `env!` one, and any other that matters,",
            (false, 1) => "if a value matters, pass it",
            (false, _) => "pass those whose value matters",
        },
        ws.workspace_table(),
    ))
}

/// One note for the submodules not checked out, naming the first few: bat has 93, and a
/// note each buried everything else the command said.
fn submodules_note(missing: &[String]) -> Option<String> {
    const NAMED: usize = 5;
    let fix = "run `git submodule update --init --recursive`";
    match missing {
        [] => None,
        [path] => Some(format!(
            "git submodule `{path}` is not checked out (its directory is empty): a build that \
             reads it fails; {fix}"
        )),
        _ => {
            let named = ticked_at_most(missing, NAMED);
            Some(format!(
                "{} git submodules are not checked out (their directories are empty): {named}; \
                 a build that reads one fails; {fix}",
                missing.len(),
            ))
        }
    }
}

/// The test targets' sources `.dockerignore` leaves out, by rule: the images build without
/// them; the `test` target fails ([`Plan::tests_left_out`]) rather than pass without
/// running them.
fn tests_left_out_note(left_out: &BTreeMap<String, String>) -> Option<String> {
    const NAMED: usize = 3;
    let mut by_rule: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (path, rule) in left_out {
        by_rule.entry(rule).or_default().push(path);
    }
    let rules: Vec<String> = by_rule
        .iter()
        .map(|(rule, paths)| format!("{} by the rule `{rule}`", ticked_at_most(paths, NAMED)))
        .collect();
    let first = left_out.keys().next()?;
    let dir = first.rsplit_once('/').map_or("", |(d, _)| d);
    Some(format!(
        ".dockerignore leaves tests out of the build context ({}): \
         the images build without them, but the `test` target fails instead of running them; \
         to test in the image, remove the rule, or re-include what the tests need (`!{dir}/`) \
         on a line after it",
        rules.join("; ")
    ))
}

/// The first `at_most` of `names` in backticks, then how many more there are.
fn ticked_at_most<S: std::fmt::Display>(names: &[S], at_most: usize) -> String {
    let mut named = ticked(names.iter().take(at_most));
    if names.len() > at_most {
        named.push_str(&format!(", {} more", names.len() - at_most));
    }
    named
}

/// Names in backticks, joined with `, `, for a note.
fn ticked<S: std::fmt::Display>(names: impl IntoIterator<Item = S>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Plans the images of `ws`.
pub fn plan(ws: &Workspace, opts: &PlanOptions) -> Result<Plan, Error> {
    let root_manifest = ws.in_root("Cargo.toml");
    let invalid = |message: String| Error::InvalidConfig {
        manifest: root_manifest.clone(),
        message,
    };
    let wcfg = &ws.config;
    check_image_references(wcfg).map_err(invalid)?;

    // Which binaries get an image.
    let mut notes: Vec<String> = submodules_note(&ws.missing_submodules)
        .into_iter()
        .chain(tests_left_out_note(&ws.tests_left_out))
        .collect();
    let database_at_build = ["DATABASE_URL", "SQLX_OFFLINE_DIR"].iter().any(|name| {
        wcfg.build_env.contains_key(*name)
            || (wcfg.build_args.iter().flatten()).any(|arg| arg.split('=').next() == Some(*name))
    });
    // A `.env`'s SQLite database for sqlx's query macros ([`Workspace::sqlx_database`]):
    // its file is bound as a compile read; the build gets its URL, not the `.env`.
    let mut build_env = wcfg.build_env.clone();
    let mut inferred_build_env = BTreeMap::new();
    let sqlx_database = ws.sqlx_database.as_ref().filter(|_| !database_at_build);
    if let Some(db) = sqlx_database {
        build_env.insert("DATABASE_URL".to_string(), db.url.clone());
        inferred_build_env.insert(
            "DATABASE_URL".to_string(),
            format!(
                "{}: sqlx's query macros in {} check their queries against `{}` while \
                 compiling; the `.env` itself stays out of the build context",
                db.env_file,
                ticked(&db.readers),
                db.file
            ),
        );
    }
    if !ws.sqlx_online.is_empty() && !database_at_build {
        let data = match crate::model::sqlx_without_offline(&ws.resolved) {
            Some(version) => format!(
                "sqlx {version} reads `sqlx-data.json` only with its `offline` feature, \
                 which this build leaves off: add `features = [\"offline\"]` to the sqlx \
                 dependency, run `cargo sqlx prepare --workspace` against your database and \
                 commit the `sqlx-data.json` it writes"
            ),
            None => "run `cargo sqlx prepare --workspace` against your database and commit \
                     the `.sqlx/` it writes (`sqlx-data.json` with sqlx 0.5/0.6)"
                .to_string(),
        };
        notes.push(format!(
            "sqlx's query macros in {} check each query against a database while compiling, \
             and the build context holds no offline query data they read: the build will \
             fail; {data}, or give the build a database: `build-args = [\"DATABASE_URL\"]` \
             takes its URL from the environment of each build (a password in it stays out of \
             the committed Dockerfile), `build-env = {{ DATABASE_URL = \"…\" }}` writes it \
             there",
            ticked(&ws.sqlx_online)
        ));
    }
    let mut images = plan_images(ws, opts, &mut notes)?;
    resolve_stage_names(&mut images).map_err(invalid)?;
    // The local packages each image's binary links (for the notes on source reads), and
    // those the images' build compiles, build dependencies too (for the notes on the
    // build's environment).
    let reach: Vec<BTreeSet<String>> = images
        .iter()
        .map(|img| {
            closure(
                ws,
                std::iter::once(img.package.as_str()),
                &[DepKind::Normal],
            )
        })
        .collect();
    let compiled = closure(
        ws,
        images.iter().map(|img| img.package.as_str()),
        &[DepKind::Normal, DepKind::Build],
    );
    notes.extend(missing_read_notes(
        &ws.missing_reads,
        &ws.missing_submodules,
        &images,
        &reach,
    ));
    notes.extend(run_time_notes(ws, &images, &reach));
    notes.extend(subcommand_notes(ws, &images));
    notes.extend(shared_port_notes(ws, &images));
    notes.extend(argument_notes(ws, &images));
    notes.extend(config_default_notes(ws, &images));
    notes.extend(detach_notes(ws, &images, &reach));
    notes.extend(own_dockerfile_note(ws, &images));
    notes.extend(own_dockerfile_copies_note(ws, &images));
    notes.extend(own_dockerfile_user_note(ws, &images));
    notes.extend(own_dockerfile_build_env_note(ws));
    notes.extend(own_compose_notes(ws, &images));
    notes.extend(build_env_note(ws, &compiled));
    notes.extend(feature_guard_notes(ws, &images));
    notes.extend(named_path_notes(ws, &images));
    notes.extend(unseen_watch_notes(ws, &compiled));
    notes.extend(git_note(ws, &compiled));
    notes.extend(loopback_notes(ws, &images, &reach));
    notes.extend(health_route_notes(ws, &images, &reach));
    notes.extend(spawn_notes(ws, &images, &reach));

    // The shared build command.
    let (profile, dev_profile) = profiles(ws).map_err(invalid)?;
    let build = plan_build(ws, &images, profile)?;
    let native: Vec<&str> = build
        .config_rustflags
        .iter()
        .filter(|(_, flags)| flags.iter().any(|f| f.ends_with("target-cpu=native")))
        .map(|(triple, _)| triple.as_str())
        .collect();
    if !native.is_empty() {
        notes.push(format!(
            "{} rustflags set `target-cpu=native` for {}: the images' binaries use every \
             instruction of the machine that builds them (a CI runner's), and stop with \
             SIGILL (illegal instruction) on an older CPU; name a baseline instead, per \
             `[target.<triple>]` (`-C target-cpu=x86-64-v2` for x86_64)",
            cargo_config(ws)
                .map(|(path, _)| path)
                .unwrap_or_else(|| ws.in_root(".cargo/config.toml")),
            native.join(" and ")
        ));
    }

    // Dynamically linked binaries get the shared libraries their runtime lacks.
    for img in &mut images {
        let dynamic =
            (!build.static_link || build.dynamic_bins.contains(&img.bin)) && img.libc == Libc::Gnu;
        img.extras.shared_libs =
            dynamic && !matches!(img.runtime, Runtime::Scratch | Runtime::DistrolessStatic);
    }

    // Crate layers, and what every compile step sees beside the packages' own sources.
    let max_layers = max_layers(wcfg).map_err(invalid)?;
    let build_files = build_files(ws, sqlx_database).map_err(invalid)?;
    check_bound_names(ws, &mut notes)?;
    check_build_env(wcfg).map_err(invalid)?;
    let build_args = build_args(wcfg).map_err(invalid)?;
    let ssh = ssh_plan(ws).map_err(invalid)?;
    let registry_tokens = registry_tokens(wcfg).map_err(invalid)?;
    let git = match wcfg.git {
        Some(true) => Some(ws.git_dir.clone().ok_or_else(|| {
            invalid(
                "key `git`: the build context holds no `.git` directory; remove the key, or \
                 pass the values build scripts need as `build-args`"
                    .to_string(),
            )
        })?),
        _ => None,
    };
    let (layers, leaves) = crate_stages(ws, &images, &build_files, max_layers);

    let skeleton = skeleton::derive(ws).map_err(|e| Error::InvalidConfig {
        manifest: e.manifest,
        message: e.message,
    })?;
    let dev = plan_dev(ws, &images, dev_profile).map_err(invalid)?;
    if !dev.exclude.is_empty() {
        let (them, they, its) = match dev.exclude.len() {
            1 => ("it", "it", "its"),
            _ => ("them", "they", "each one's"),
        };
        notes.push(format!(
            "the `dev` and `test` targets leave out {} (`--workspace --exclude`): no container \
             runs {them}, and {they} may not compile in the builder (a desktop toolkit needs \
             system libraries; a browser one, WebAssembly); `skip = false` under \
             [package.metadata.image] in {its} manifest builds images and brings {them} back",
            ticked(&dev.exclude),
        ));
    }
    let builder = opts
        .builder
        .clone()
        .or_else(|| wcfg.builder.clone())
        .unwrap_or_else(|| format!("rust:{}-slim-bookworm", ws.rust_version));
    notes.extend(old_time_note(ws, &images, &builder));
    notes.extend(old_builder_note(ws, &images, &builder));
    let appended = plan_appended(ws.dockerfile_append.as_ref(), &images).map_err(invalid)?;
    let ca_certificates = wcfg.ca_certificates.clone().unwrap_or_default();
    let local_dirs = local_dirs(ws, &build_files.all());
    let manifests = manifests(ws);
    Ok(Plan {
        workspace_root: ws.root.clone(),
        builder,
        skeleton,
        masked_members: masked_members(ws),
        vendor_dirs: ws.vendor_dirs.clone(),
        patch_dirs: ws.patch_dirs.clone(),
        layers,
        leaves,
        build,
        whole_dirs: whole_dirs(ws, &local_dirs, &manifests),
        local_dirs,
        manifests,
        inferred_build_files: build_files.inferred,
        build_env,
        inferred_build_env,
        build_args,
        git,
        ssh,
        registry_tokens,
        dockerignore: ws.dockerignore.clone(),
        tests_left_out: ws.tests_left_out.keys().cloned().collect(),
        notes,
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

/// `profile` (default `release`) and `dev.profile` (default `dev`), each one the workspace
/// defines.
fn profiles(ws: &Workspace) -> Result<(String, String), String> {
    let wcfg = &ws.config;
    let profile = wcfg.profile.clone().unwrap_or_else(|| "release".into());
    let dev_profile = wcfg.dev.profile.clone().unwrap_or_else(|| "dev".into());
    for (key, name) in [("profile", &profile), ("dev.profile", &dev_profile)] {
        if !defines_profile(&ws.root_manifest, name) {
            return Err(format!(
                "key `{key}`: the workspace defines no profile `{name}`; use dev or release, \
                 or add a [profile.{name}] table (with `inherits`) to the root Cargo.toml"
            ));
        }
    }
    Ok((profile, dev_profile))
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

/// The directory a Cargo profile writes to: `dev` and `test` write to `debug`.
fn profile_dir(profile: &str) -> String {
    match profile {
        "dev" | "test" => "debug".into(),
        "bench" => "release".into(),
        p => p.into(),
    }
}

/// The one cargo invocation every layer runs: profile, features, binaries, how they link,
/// and the system packages the builder needs.
fn plan_build(ws: &Workspace, images: &[ImagePlan], profile: String) -> Result<Build, Error> {
    let per_image = image_features(ws, images)?;
    let features: Vec<String> = per_image
        .iter()
        .flat_map(|(_, f, _)| f.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let groups = feature_groups(&per_image);
    let (static_link, dynamic_bins) = link_modes(ws, images);
    let musl_bins: Vec<String> = images
        .iter()
        .filter(|i| i.libc == Libc::Musl)
        .map(|i| i.bin.clone())
        .collect();
    let config_rustflags = config_rustflags(ws);
    let packages =
        system_packages(ws, images, &config_rustflags).map_err(|message| Error::InvalidConfig {
            manifest: ws.in_root("Cargo.toml"),
            message,
        })?;
    Ok(Build {
        inferred_packages: packages.inferred_build,
        inferred_link_packages: packages.inferred_link,
        config_rustflags,
        build_packages: packages.build,
        link_packages: packages.link,
        profile_dir: profile_dir(&profile),
        profile,
        features,
        bins: images.iter().map(|i| i.bin.clone()).collect(),
        groups,
        static_link,
        dynamic_bins,
        musl_bins,
        strip: ws.config.strip.unwrap_or(true),
    })
}

/// Each image's features, as `package/feature`, sorted: its `features` (each one its
/// package defines) and its binary's `required-features`; and whether its package is built
/// without its default features (`default-features = false`). (bin, features, no-default
/// package).
type ImageFeatures = (String, Vec<String>, Option<String>);

fn image_features(ws: &Workspace, images: &[ImagePlan]) -> Result<Vec<ImageFeatures>, Error> {
    let mut out = Vec::new();
    for img in images {
        let mut features = BTreeSet::new();
        let pkg = ws.package(&img.package).expect("image of a known package");
        let cfg = image_config(ws, pkg, &img.bin);
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
        let no_default = (cfg.default_features == Some(false)).then(|| img.package.clone());
        // The root package's own features go bare: cargo reads `pkg/feat` in the root
        // package's directory as a feature of its dependency `pkg` under resolver 1 (an
        // edition 2018 package: websocat's `websocat/workaround1` failed "does not have a
        // dependency named `websocat`"); a bare feature is that package's under both.
        let root_package = |name: &str| ws.package(name).is_some_and(|p| p.dir == ws.root);
        for f in cfg.features.unwrap_or_default().into_iter().chain(required) {
            features.insert(match f.split_once('/') {
                Some((p, feat)) if root_package(p) => feat.to_string(),
                Some(_) => f,
                None if root_package(&img.package) => f,
                None => format!("{}/{f}", img.package),
            });
        }
        out.push((img.bin.clone(), features.into_iter().collect(), no_default));
    }
    Ok(out)
}

/// The cargo commands the images need: one per distinct (features, no-default packages);
/// none (the one default command) when every image asks for the same features with its
/// defaults on.
fn feature_groups(per_image: &[ImageFeatures]) -> Vec<FeatureGroup> {
    let mut groups: BTreeMap<(Vec<String>, Vec<String>), Vec<String>> = BTreeMap::new();
    for (bin, features, no_default) in per_image {
        let no_default: Vec<String> = no_default.iter().cloned().collect();
        groups
            .entry((features.clone(), no_default))
            .or_default()
            .push(bin.clone());
    }
    if groups.len() <= 1 && groups.keys().all(|(_, nd)| nd.is_empty()) {
        return Vec::new();
    }
    groups
        .into_iter()
        .map(|((features, no_default_features), mut bins)| {
            bins.sort();
            FeatureGroup {
                features,
                no_default_features,
                bins,
            }
        })
        .collect()
}

/// Whether the glibc build links statically, and the binaries a second command links
/// dynamically all the same (musl binaries have a command of their own).
fn link_modes(ws: &Workspace, images: &[ImagePlan]) -> (bool, Vec<String>) {
    // One command for every binary: if one needs a static binary, all get one (a static
    // binary runs on any runtime; two commands double the build), except the binaries that
    // say `static = false` or need runtime packages (shared libraries): a second command
    // links those dynamically.
    let static_of = |i: &ImagePlan| {
        let pkg = ws.package(&i.package).expect("known package");
        image_config(ws, pkg, &i.bin).static_link
    };
    let gnu: Vec<&ImagePlan> = images.iter().filter(|i| i.libc == Libc::Gnu).collect();
    let needs_static = |i: &ImagePlan| i.runtime.needs_static();
    let static_link = gnu
        .iter()
        .any(|i| needs_static(i) || static_of(i) == Some(true));
    let dynamic_bins: Vec<String> = if static_link {
        gnu.iter()
            .filter(|i| {
                !needs_static(i)
                    && (static_of(i) == Some(false)
                        || (static_of(i).is_none() && !i.extras.packages.is_empty()))
            })
            .map(|i| i.bin.clone())
            .collect()
    } else {
        Vec::new()
    };
    (static_link, dynamic_bins)
}

/// A runtime image with musl's libc (Alpine, or a name saying musl): a glibc binary finds
/// no loader there (a static one would run, but `libc` keeps the runtime's own libc), so
/// its binaries build for `*-unknown-linux-musl`.
pub(crate) fn musl_base(base: &str) -> bool {
    // The last path component without its tag or digest (a registry's port is no tag).
    let without_digest = base.split('@').next().unwrap_or(base);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let name = last.split(':').next().unwrap_or(last);
    name.starts_with("alpine") || name.contains("musl")
}

/// `max-layers`: at least 1, at most [`MAX_LAYERS_LIMIT`]; default [`DEFAULT_MAX_LAYERS`].
fn max_layers(wcfg: &WorkspaceConfig) -> Result<usize, String> {
    let max_layers = wcfg.max_layers.unwrap_or(DEFAULT_MAX_LAYERS);
    if max_layers == 0 {
        return Err("key `max-layers`: must be at least 1".into());
    }
    if max_layers > MAX_LAYERS_LIMIT {
        return Err(format!(
            "key `max-layers`: {max_layers} is above {MAX_LAYERS_LIMIT}; Docker caps an image at \
             about 125 layers in all, and the builder image brings its own"
        ));
    }
    Ok(max_layers)
}

/// What the compile steps see beside the packages' own directories.
struct BuildFiles {
    /// `build-files`: context paths every compile step sees; sorted.
    every: Vec<String>,
    /// What the sources read outside their package that `every` does not cover: path →
    /// why (shown in `plan`).
    inferred: BTreeMap<String, String>,
    /// The same paths by reading package: a layer binds those of its own packages.
    read_by: BTreeMap<String, Vec<String>>,
}

impl BuildFiles {
    /// Every path, for the steps that compile every package at once; sorted.
    fn all(&self) -> Vec<String> {
        let mut all: Vec<String> = self.every.clone();
        all.extend(self.inferred.keys().cloned());
        all.sort();
        all.dedup();
        all
    }
}

/// `build-files`, and the paths the sources read at compile time that it does not hold,
/// with `sqlx_database`'s file when the build uses it.
fn build_files(ws: &Workspace, sqlx_database: Option<&SqlxDatabase>) -> Result<BuildFiles, String> {
    let mut every: Vec<String> = Vec::new();
    for file in ws.config.build_files.iter().flatten() {
        let rel = file.trim_end_matches('/');
        if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c == "..") {
            return Err(format!(
                "key `build-files`: `{file}` must be a path inside the workspace, relative to \
                 its root (e.g. \"proto\")"
            ));
        }
        check_mount_source("build-files", rel)?;
        every.push(ws.in_root(rel));
    }
    every.sort();
    every.dedup();
    let mut inferred = BTreeMap::new();
    let mut read_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let sqlx_read = sqlx_database.map(|db| {
        let read = CompileRead {
            why: format!(
                "sqlx's query macros in {} check their queries against this SQLite database \
                 ({}: DATABASE_URL={})",
                ticked(&db.readers),
                db.env_file,
                db.url
            ),
            readers: db.readers.clone(),
            run_as: None,
        };
        (db.file.clone(), read)
    });
    for (path, read) in ws
        .compile_reads
        .iter()
        .chain(sqlx_read.iter().map(|(p, r)| (p, r)))
    {
        if every.iter().any(|f| crate::model::is_within(path, f)) {
            continue;
        }
        inferred.insert(path.clone(), read.why.clone());
        for reader in &read.readers {
            read_by
                .entry(reader.clone())
                .or_default()
                .push(path.clone());
        }
    }
    Ok(BuildFiles {
        every,
        inferred,
        read_by,
    })
}

/// Every context path a package compiles from is bound by name in the compile steps (a
/// root package's entries one by one): each must be a name a bind mount can carry. The
/// user's `.dockerignore` has already left out what it excludes; an entry that is not a
/// source is left out with a note ([`graph::left_out`]), one that is is refused.
fn check_bound_names(ws: &Workspace, notes: &mut Vec<String>) -> Result<(), Error> {
    for p in &ws.packages {
        let left: Vec<&String> = p
            .sources
            .iter()
            .filter(|path| graph::left_out(p, path))
            .collect();
        if !left.is_empty() {
            notes.push(format!(
                "{} left out of the compile steps of `{}`: a bind mount of the Dockerfile \
                 cannot carry {} (BuildKit reads a mount source's name as Latin-1 and \
                 splits options on spaces and `,`); a build that reads {} fails: rename it, \
                 or list it in `.dockerignore` to drop this note",
                ticked(&left),
                p.name,
                if left.len() == 1 {
                    "its name"
                } else {
                    "their names"
                },
                if left.len() == 1 { "it" } else { "one" },
            ));
        }
        for path in copy_paths(ws, p) {
            if let Some(problem) = mount_source_problem(&path) {
                return Err(Error::UnbindablePath {
                    package: p.name.clone(),
                    manifest: join(&p.dir, "Cargo.toml"),
                    path,
                    problem,
                });
            }
        }
    }
    Ok(())
}

/// `build-env`: every name must be a variable name in a Dockerfile and a shell, every
/// value a word a Dockerfile line can carry.
fn check_build_env(wcfg: &WorkspaceConfig) -> Result<(), String> {
    check_env_names("build-env", wcfg.build_env.keys())?;
    for (name, value) in &wcfg.build_env {
        check_dockerfile_word("build-env", &format!("the value of `{name}`"), value)?;
    }
    Ok(())
}

/// `build-args`: `NAME` or `NAME={revision}`, each a variable name no generated argument
/// (or `build-env`) takes; sorted.
fn build_args(wcfg: &WorkspaceConfig) -> Result<Vec<BuildArg>, String> {
    let mut out: Vec<BuildArg> = Vec::new();
    for entry in wcfg.build_args.iter().flatten() {
        let (name, revision) = match entry.split_once('=') {
            None => (entry.as_str(), false),
            Some((name, "{revision}")) => (name, true),
            Some((name, _)) => {
                return Err(format!(
                    "key `build-args`: `{entry}`: an argument's value comes from `--build-arg \
                     {name}=VALUE` or the environment; write `\"{name}\"`, or \
                     `\"{name}={{revision}}\"` for the commit, or set a fixed value in \
                     `build-env`"
                ))
            }
        };
        check_env_names("build-args", [name])?;
        if RESERVED_BUILD_ARGS.contains(&name) || name.starts_with("BUILDKIT_") {
            return Err(format!(
                "key `build-args`: `{name}` is an argument the generated Dockerfile or BuildKit \
                 sets itself; pick another name"
            ));
        }
        if wcfg.build_env.contains_key(name) {
            return Err(format!(
                "key `build-args`: `{name}` is set in `build-env` too; keep one of them"
            ));
        }
        if out.iter().any(|a| a.name == name) {
            return Err(format!("key `build-args`: `{name}` is listed twice"));
        }
        out.push(BuildArg {
            name: name.to_string(),
            revision,
        });
    }
    out.sort();
    Ok(out)
}

/// `registry-tokens`: cargo registry names (as `[registries.NAME]` spells them), each
/// once; sorted.
fn registry_tokens(wcfg: &WorkspaceConfig) -> Result<Vec<RegistryToken>, String> {
    let mut out: Vec<RegistryToken> = Vec::new();
    for name in wcfg.registry_tokens.iter().flatten() {
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(format!(
                "key `registry-tokens`: `{name}` is not a registry name (the NAME of a \
                 [registries.NAME] table in .cargo/config.toml: letters, digits, `-`, `_`)"
            ));
        }
        if out.iter().any(|t| t.registry == *name) {
            return Err(format!("key `registry-tokens`: `{name}` is listed twice"));
        }
        out.push(RegistryToken {
            registry: name.clone(),
            secret: format!("cargo-registry-{}", name.to_ascii_lowercase()),
            env: format!(
                "CARGO_REGISTRIES_{}_TOKEN",
                name.to_ascii_uppercase().replace('-', "_")
            ),
        });
    }
    out.sort();
    Ok(out)
}

/// SSH for the fetching steps: with `ssh = true`, or when Cargo.lock has `git+ssh://`
/// sources (unless `ssh = false`); `ssh-known-hosts` checked line by line.
fn ssh_plan(ws: &Workspace) -> Result<Option<SshPlan>, String> {
    let wcfg = &ws.config;
    let known_hosts = wcfg.ssh_known_hosts.clone().unwrap_or_default();
    for line in &known_hosts {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let key_type = fields.get(1).copied().unwrap_or("");
        let typed = ["ssh-", "ecdsa-", "sk-"]
            .iter()
            .any(|p| key_type.starts_with(p));
        if fields.len() < 3 || !typed || line.chars().any(|c| c.is_control()) {
            return Err(format!(
                "key `ssh-known-hosts`: `{line}` is not a known_hosts line (`HOST KEYTYPE \
                 KEY`, e.g. from `ssh-keyscan git.example.com`)"
            ));
        }
    }
    let wanted = match wcfg.ssh {
        Some(on) => on,
        None => !ws.ssh_sources.is_empty(),
    };
    if !wanted {
        if !known_hosts.is_empty() {
            return Err(
                "key `ssh-known-hosts`: no step fetches over SSH (`ssh = false`, or no \
                 git+ssh:// source in Cargo.lock); remove the key or set `ssh = true`"
                    .to_string(),
            );
        }
        return Ok(None);
    }
    Ok(Some(SshPlan {
        sources: ws.ssh_sources.clone(),
        known_hosts,
    }))
}

/// The crate layers and the leaves on top of them.
///
/// Only the local packages the shipped binaries need. The packages no other one needs (the
/// binaries' crates) are leaves, each built in a stage of its own on top of the chain of
/// the others: an edit to one leaf rebuilds that leaf alone.
fn crate_stages(
    ws: &Workspace,
    images: &[ImagePlan],
    build_files: &BuildFiles,
    max_layers: usize,
) -> (Vec<Layer>, Vec<Leaf>) {
    let needed = closure(
        ws,
        images.iter().map(|i| i.package.as_str()),
        &[DepKind::Normal, DepKind::Build],
    );
    let leaf_packages = leaves_of(ws, &needed);
    let chain: BTreeSet<String> = needed.difference(&leaf_packages).cloned().collect();
    let copy_of = |packages: &[String]| {
        let mut copy: Vec<String> = packages
            .iter()
            .flat_map(|p| copy_paths(ws, ws.package(p).expect("known package")))
            .chain(build_files.every.iter().cloned())
            // What a package reads outside its directory, where it compiles: the steps
            // before it need not see it, nor the leaves beside it (an edit to a `.proto`
            // one leaf compiles leaves the others cached).
            .chain(
                packages
                    .iter()
                    .flat_map(|p| build_files.read_by.get(p))
                    .flatten()
                    .cloned(),
            )
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
    (layers, leaves)
}

/// The dev image: `dev.bin` (default: the first image with ports, not a test's, else the first that is its
/// package's `default-run`, else the first named as a server, else the first of a package
/// no other one needs, else the first image),
/// built with the dev profile.
fn plan_dev(ws: &Workspace, images: &[ImagePlan], profile: String) -> Result<DevPlan, String> {
    let wcfg = &ws.config;
    let available: Vec<String> = ws.binaries().iter().map(|(_, t)| t.name.clone()).collect();
    // A package another member needs (not for its tests only).
    let needed = |package: &str| {
        (ws.packages.iter())
            .any(|p| (p.deps.iter()).any(|d| d.package == package && d.kind != DepKind::Dev))
    };
    let dev_bin = match &wcfg.dev.bin {
        Some(b) if available.contains(b) => b.clone(),
        Some(b) => {
            return Err(format!(
                "key `dev.bin`: no binary `{b}`; available: {}",
                available.join(", ")
            ))
        }
        // The service, when one says so by its ports; else the program `cargo run` starts
        // (nushell's `nu`, not its test programs; meilisearch's server, not its fuzzer);
        // else one named as a server; else a program of a package nothing else needs
        // (lemmy's server, not the tool its database library also ships); else the first.
        None => {
            let default_run = |image: &ImagePlan| {
                ws.package(&image.package)
                    .is_some_and(|p| p.default_run.as_deref() == Some(&image.bin))
            };
            // A server by its name: `…server`, `…-daemon`, or `Xd` beside a program `X`
            // (atuin-server beside atuin, kanidmd beside kanidm); not a test's.
            let bins: Vec<&str> = images.iter().map(|i| i.bin.as_str()).collect();
            let test = |image: &ImagePlan| {
                ["test", "mock", "fake", "bench"]
                    .iter()
                    .any(|t| image.bin.contains(t))
            };
            let server = |image: &ImagePlan| {
                let name = image.bin.as_str();
                let daemon_of = name.strip_suffix('d').is_some_and(|x| bins.contains(&x));
                (name.ends_with("server") || name.ends_with("-daemon") || daemon_of) && !test(image)
            };
            // Not a test's server (hickory-dns's conformance `test-server`).
            images
                .iter()
                .find(|i| !i.exposed().is_empty() && !test(i))
                .or_else(|| {
                    images
                        .iter()
                        .find(|i| default_run(i) && !needed(&i.package))
                })
                .or_else(|| images.iter().find(|i| default_run(i)))
                .or_else(|| images.iter().find(|i| server(i)))
                .or_else(|| images.iter().find(|i| !needed(&i.package)))
                .unwrap_or(&images[0])
                .bin
                .clone()
        }
    };
    let exclude = (ws.packages.iter())
        .filter(|p| p.targets.iter().any(|t| t.kind == TargetKind::Bin))
        .filter(|p| !images.iter().any(|i| i.package == p.name))
        .filter(|p| image::not_a_service(ws, p).is_some() && !needed(&p.name))
        .map(|p| p.name.clone())
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    Ok(DevPlan {
        profile_dir: profile_dir(&profile),
        profile,
        bin: dev_bin,
        poll_seconds: wcfg.dev.poll_seconds.unwrap_or(1).max(1),
        exclude,
    })
}

/// Real manifests, Cargo.lock and the verbatim files, sorted.
fn manifests(ws: &Workspace) -> Vec<String> {
    let mut manifests: Vec<String> = ws.packages.iter().map(skeleton::manifest_path).collect();
    manifests.push(ws.in_root("Cargo.toml"));
    manifests.push(ws.in_root("Cargo.lock"));
    manifests.extend(ws.extra_files.keys().cloned());
    manifests.sort();
    manifests.dedup();
    manifests
}

/// What every local package compiles from, with `build-files`, sorted.
fn local_dirs(ws: &Workspace, build_files: &[String]) -> Vec<String> {
    let mut local_dirs: Vec<String> = ws
        .packages
        .iter()
        .flat_map(|p| copy_paths(ws, p))
        .chain(build_files.iter().cloned())
        .collect();
    local_dirs.sort();
    local_dirs.dedup();
    local_dirs
}

/// The directories whose every entry in the build context is bound anyway (a listed path,
/// inside one, or such a directory itself), deepest decided first, sorted; below the
/// workspace root only.
fn whole_dirs(ws: &Workspace, local_dirs: &[String], manifests: &[String]) -> Vec<String> {
    let bound: Vec<&String> = local_dirs
        .iter()
        .chain(manifests)
        .chain(&ws.vendor_dirs)
        .chain(&ws.patch_dirs)
        .chain(ws.links.keys())
        .collect();
    let mut whole: BTreeSet<&str> = BTreeSet::new();
    let mut dirs: Vec<(&String, &Vec<String>)> = ws.context_dirs.iter().collect();
    // Deeper directories first: a parent may count on a child decided whole.
    dirs.sort_by_key(|(d, _)| std::cmp::Reverse(d.matches('/').count()));
    for (dir, entries) in dirs {
        // Never the workspace root or a directory above it: our own files are written
        // there, so binding it whole would change the Dockerfile once they exist.
        if crate::model::is_within(&ws.root, dir) {
            continue;
        }
        let covered = |e: &String| {
            whole.contains(e.as_str()) || bound.iter().any(|b| crate::model::is_within(e, b))
        };
        if !entries.is_empty() && entries.iter().all(covered) {
            whole.insert(dir);
        }
    }
    whole.into_iter().map(str::to_string).collect()
}

/// The members whose versions the skeleton masks, sorted.
fn masked_members(ws: &Workspace) -> Vec<String> {
    let mut masked_members: Vec<String> = ws
        .packages
        .iter()
        .filter(|p| p.member)
        .map(|p| p.name.clone())
        .collect();
    masked_members.sort();
    masked_members
}

#[cfg(test)]
mod tests {
    use super::musl_base;

    #[test]
    fn musl_images_are_known_by_name() {
        for base in [
            "alpine:3.20",
            "alpine@sha256:0123",
            "registry.local:5000/team/alpine-tools:1",
            "ghcr.io/acme/runtime-musl:2",
        ] {
            assert!(musl_base(base), "{base}");
        }
        for base in [
            "debian:bookworm-slim",
            "gcr.io/distroless/cc-debian12:nonroot",
            "registry.local:5000/alpine/debian:12",
        ] {
            assert!(!musl_base(base), "{base}");
        }
    }
}
