//! Image configuration: the `[workspace.metadata.image]`, `[package.metadata.image]` and
//! `[package.metadata.image.bin.<name>]` tables, and how they layer.
//!
//! The tables are deserialized straight from the manifest text with `toml`, so that an
//! unknown key or a wrong type is reported with the manifest's path, the key and the line
//! (serde's `deny_unknown_fields`). Layering is workspace → package → binary: a scalar set
//! closer to the binary wins, maps (`env`, `labels`) merge key by key.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Declares a config struct with the keys accepted at every level (workspace, package,
/// binary) plus its own. A macro rather than `#[serde(flatten)]`, because serde cannot
/// combine `flatten` with `deny_unknown_fields`, and rejecting unknown keys matters more.
macro_rules! image_config {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct $name {
            /// `scratch`, `distroless-static`, `distroless-cc`, `debian-slim`, or an image reference.
            pub runtime: Option<String>,
            /// Link statically even on a runtime that has a libc (always on `scratch` and
            /// `distroless-static`).
            #[serde(rename = "static")]
            pub static_link: Option<bool>,
            /// `gnu` (glibc, the default) or `musl`: the C library the binary is built
            /// against (`*-unknown-linux-musl`, always static). A musl runtime (Alpine)
            /// implies `musl`.
            pub libc: Option<String>,
            /// Cargo features to enable (`feature` of the binary's package, or `pkg/feature`).
            pub features: Option<Vec<String>>,
            /// `false`: the binary's package is built without its default features.
            pub default_features: Option<bool>,
            /// `EXPOSE`d ports: a number (TCP) or `"53/udp"`, `"8080/tcp"`.
            pub ports: Option<Vec<Port>>,
            /// `uid[:gid]` or a user name the runtime image knows; never root.
            pub user: Option<String>,
            pub env: Option<BTreeMap<String, String>>,
            pub labels: Option<BTreeMap<String, String>>,
            pub healthcheck: Option<HealthcheckConfig>,
            /// Tag templates with `{bin}` and `{version}` placeholders.
            pub tags: Option<Vec<String>>,
            /// Registry and repository prefix for tags that have none, e.g. `ghcr.io/acme`.
            pub registry: Option<String>,
            /// Leave this binary (or every binary of the package) without an image.
            pub skip: Option<bool>,
            /// Debian packages in the runtime image for the target architecture: installed
            /// with apt where the runtime has it, unpacked with their dependencies on
            /// distroless and scratch.
            pub runtime_packages: Option<Vec<String>>,
            /// Context paths (relative to the workspace root) copied into the image at
            /// absolute paths: `{ "config" = "/app/config" }`.
            pub files: Option<BTreeMap<String, String>>,
            /// The process's working directory (created, readable).
            pub workdir: Option<String>,
            /// Directories created writable by the runtime user and declared `VOLUME`.
            pub volumes: Option<Vec<String>>,
            /// Arguments after the binary (`CMD`).
            pub args: Option<Vec<String>>,
            /// Replaces `ENTRYPOINT` (exec form).
            pub entrypoint: Option<Vec<String>>,
            /// `STOPSIGNAL`, e.g. `SIGINT`.
            pub stop_signal: Option<String>,
            /// Time zone data in the image (zoneinfo on scratch too).
            pub tzdata: Option<bool>,
            /// `true`: a small init runs the program as its child (signals passed on,
            /// orphans reaped); unset, for a program that listens and handles no signal.
            pub init: Option<bool>,
            /// Variables the container is given when it runs, never in the image (secrets):
            /// compose.yaml requires them from the environment of `docker compose up`.
            pub run_env: Option<Vec<String>>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            /// The keys shared by every level, as an [`ImageConfig`].
            pub fn common(&self) -> ImageConfig {
                ImageConfig {
                    runtime: self.runtime.clone(),
                    static_link: self.static_link,
                    libc: self.libc.clone(),
                    features: self.features.clone(),
                    default_features: self.default_features,
                    ports: self.ports.clone(),
                    user: self.user.clone(),
                    env: self.env.clone(),
                    labels: self.labels.clone(),
                    healthcheck: self.healthcheck.clone(),
                    tags: self.tags.clone(),
                    registry: self.registry.clone(),
                    skip: self.skip,
                    runtime_packages: self.runtime_packages.clone(),
                    files: self.files.clone(),
                    workdir: self.workdir.clone(),
                    volumes: self.volumes.clone(),
                    args: self.args.clone(),
                    entrypoint: self.entrypoint.clone(),
                    stop_signal: self.stop_signal.clone(),
                    tzdata: self.tzdata,
                    init: self.init,
                    run_env: self.run_env.clone(),
                }
            }
        }
    };
}

image_config! {
    /// Keys accepted at every level: a binary's table has exactly these.
    pub struct ImageConfig {}
}

/// One of `ports`: `8080` or `"8080/tcp"` (TCP), `"53/udp"`. A DNS or QUIC server needs
/// UDP, which a bare number cannot say; the text form is Docker's own (`EXPOSE 53/udp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Port {
    pub number: u16,
    pub udp: bool,
}

impl Port {
    pub fn tcp(number: u16) -> Port {
        Port { number, udp: false }
    }
}

impl std::fmt::Display for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.udp {
            true => write!(f, "{}/udp", self.number),
            false => write!(f, "{}", self.number),
        }
    }
}

impl Serialize for Port {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.udp {
            true => s.collect_str(self),
            false => s.serialize_u16(self.number),
        }
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Port, D::Error> {
        struct Visitor;
        const EXPECTED: &str = "a port: 8080, \"8080/tcp\" or \"53/udp\"";
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Port;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Port, E> {
                u16::try_from(v)
                    .map(Port::tcp)
                    .map_err(|_| E::custom(format!("{v} is not a port; use 1-65535")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Port, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Port, E> {
                let (number, protocol) = v.split_once('/').unwrap_or((v, "tcp"));
                match (
                    number.parse::<u16>(),
                    protocol.to_ascii_lowercase().as_str(),
                ) {
                    (Ok(number), "tcp") => Ok(Port::tcp(number)),
                    (Ok(number), "udp") => Ok(Port { number, udp: true }),
                    _ => Err(E::custom(format!("`{v}` is not {EXPECTED}"))),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// `healthcheck = "none"`, `{ http = "/health", port = 8080 }` or `{ cmd = [...] }`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum HealthcheckConfig {
    Keyword(String),
    Spec(HealthcheckSpec),
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HealthcheckSpec {
    /// HTTP path probed on `127.0.0.1:port`; healthy on a 2xx answer.
    pub http: Option<String>,
    pub port: Option<u16>,
    /// An exec-form command run inside the container instead of the HTTP probe.
    pub cmd: Option<Vec<String>>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub retries: Option<u32>,
}

image_config! {
    /// `[package.metadata.image]`: the common keys plus per-binary tables.
    pub struct PackageConfig {
        #[serde(default)]
        pub bin: BTreeMap<String, ImageConfig>,
    }
}

/// The keys only `[workspace.metadata.image]` takes (the [`WorkspaceConfig`] fields beside
/// the common ones): found in a package's table, they are named as misplaced.
pub const WORKSPACE_ONLY_KEYS: [&str; 19] = [
    "builder",
    "profile",
    "strip",
    "max-layers",
    "context",
    "base-images",
    "ca-certificates",
    "build-files",
    "dockerfile-append",
    "build-packages",
    "infer-packages",
    "link-packages",
    "build-env",
    "build-args",
    "git",
    "ssh",
    "ssh-known-hosts",
    "registry-tokens",
    "dev",
];

/// Declares [`WorkspaceConfig`] and [`RootPackageConfig`] from one list of the
/// workspace-wide keys: a single-package project's `[package.metadata.image]` takes them too.
macro_rules! workspace_config {
    ($($(#[$fmeta:meta])* pub $field:ident: $ty:ty,)*) => {
        image_config! {
            /// `[workspace.metadata.image]`: the common keys plus the workspace-wide settings.
            pub struct WorkspaceConfig { $($(#[$fmeta])* pub $field: $ty,)* }
        }
        image_config! {
            /// `[package.metadata.image]` of a single-package project (a root manifest without
            /// `[workspace]`): the package's keys and the workspace-wide ones, in one table.
            pub struct RootPackageConfig {
                #[serde(default)]
                pub bin: BTreeMap<String, ImageConfig>,
                $($(#[$fmeta])* pub $field: $ty,)*
            }
        }
    };
}

workspace_config! {
    /// The Rust builder image; default `rust:<toolchain version>-slim-bookworm`.
    pub builder: Option<String>,
    /// Cargo profile of the runtime images; default `release`.
    pub profile: Option<String>,
    /// Strip symbols from shipped binaries; default true.
    pub strip: Option<bool>,
    /// The most crate layers the build stage may have; default 60 (Docker caps an image
    /// at about 125 layers, and the builder image brings its own).
    pub max_layers: Option<usize>,
    /// The build context, relative to the workspace root; default `.`. Widen it when path
    /// dependencies live outside the workspace.
    pub context: Option<String>,
    /// Overrides of the images behind the runtime keywords, e.g.
    /// `distroless-cc = "registry.local/distroless/cc:nonroot"`.
    #[serde(default)]
    pub base_images: BTreeMap<String, String>,
    /// PEM files (relative to the workspace root) trusted by the builder stages when they
    /// download crates, e.g. behind a TLS-intercepting proxy. Never part of an image.
    pub ca_certificates: Option<Vec<String>>,
    /// More context paths (relative to the workspace root) every compile step sees: files a
    /// build script or macro reads outside every package directory, e.g. `proto/`.
    pub build_files: Option<Vec<String>>,
    /// A file of the user's own Dockerfile stages (relative to the workspace root),
    /// appended verbatim after the generated ones.
    pub dockerfile_append: Option<String>,
    /// Debian packages installed in the builder for the build platform, e.g. `clang`,
    /// `protobuf-compiler`, `pkg-config`.
    pub build_packages: Option<Vec<String>>,
    /// Infer build packages the workspace evidently needs (a linker that
    /// `.cargo/config.toml` names); default true.
    pub infer_packages: Option<bool>,
    /// Debian libraries the binaries link, installed for the target architecture, e.g.
    /// `libssl-dev`.
    pub link_packages: Option<Vec<String>>,
    /// Environment of every compile step (all build modes, dev, test), e.g.
    /// `SQLX_OFFLINE = "true"`; never part of a runtime image.
    #[serde(default)]
    pub build_env: BTreeMap<String, String>,
    /// Build arguments every compile step sees as environment variables (for `env!`,
    /// `option_env!` and build scripts): `"NAME"` takes its value from `--build-arg NAME=V`
    /// or the environment of `cargo xtask image`; `"NAME={revision}"` defaults to the
    /// commit being built.
    pub build_args: Option<Vec<String>>,
    /// The repository's `.git` visible to the compile steps (never to a runtime image), and
    /// `git` in the builder: for build scripts that run git (vergen, git-version, built).
    pub git: Option<bool>,
    /// Fetch git dependencies over SSH with the caller's agent (`RUN --mount=type=ssh`);
    /// default: when Cargo.lock has `git+ssh://` sources.
    pub ssh: Option<bool>,
    /// `known_hosts` lines of the SSH git hosts beyond GitHub, GitLab and Bitbucket (whose
    /// keys cargo knows), e.g. `git.example.com ssh-ed25519 AAAA...`.
    pub ssh_known_hosts: Option<Vec<String>>,
    /// Cargo registries (`[registries.NAME]` of `.cargo/config.toml`) whose token the
    /// downloading steps get as a build secret, from `CARGO_REGISTRIES_<NAME>_TOKEN`.
    pub registry_tokens: Option<Vec<String>>,
    #[serde(default)]
    pub dev: DevConfig,
}

/// `[workspace.metadata.image.dev]`: the development image.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DevConfig {
    /// Cargo profile of the dev image; default `dev`.
    pub profile: Option<String>,
    /// The binary the dev image runs by default; default: the first binary with ports, else
    /// the first of a package no other package depends on.
    pub bin: Option<String>,
    /// Seconds between two looks for changed sources; default 1.
    pub poll_seconds: Option<u32>,
}

/// Only the parts of a manifest the config lives in; every other key is ignored. `P`: the
/// package table's type ([`PackageConfig`], or [`RootPackageConfig`] in a single-package
/// project).
#[derive(Deserialize, Default)]
pub(crate) struct ManifestTables<P> {
    #[serde(default)]
    pub package: Option<Section<P>>,
    #[serde(default)]
    pub workspace: Option<Section<WorkspaceConfig>>,
}

impl RootPackageConfig {
    /// The workspace-wide keys as a [`WorkspaceConfig`], the rest as the package's
    /// [`PackageConfig`] (a round trip through TOML values: both are plain serde structs
    /// whose keys this one holds).
    fn split(&self) -> (WorkspaceConfig, PackageConfig) {
        let mut table = toml::Table::try_from(self).expect("a config serializes to a table");
        let bin = table.remove("bin");
        let mut workspace = toml::Table::new();
        for key in WORKSPACE_ONLY_KEYS {
            if let Some(value) = table.remove(key) {
                workspace.insert(key.to_string(), value);
            }
        }
        if let Some(bin) = bin {
            table.insert("bin".into(), bin);
        }
        (
            workspace
                .try_into()
                .expect("workspace keys make a WorkspaceConfig"),
            table.try_into().expect("package keys make a PackageConfig"),
        )
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct Section<T> {
    #[serde(default)]
    pub metadata: Option<MetadataTable<T>>,
}

#[derive(Deserialize, Default)]
pub(crate) struct MetadataTable<T> {
    #[serde(default)]
    pub image: Option<T>,
}

/// The strings of `[workspace] <key>` (`members`, `exclude`) in a parsed manifest; empty
/// when the table, the key or the list is missing (non-strings are skipped).
pub fn workspace_strings(manifest: &toml::Table, key: &str) -> Vec<String> {
    manifest
        .get("workspace")
        .and_then(|w| w.get(key))
        .and_then(toml::Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Parses the image tables out of a manifest's text: (`[workspace.metadata.image]`,
/// `[package.metadata.image]`). Public so that tests which build a [`crate::model::Workspace`]
/// in memory parse a manifest exactly as [`crate::read`] does.
///
/// `root`: the text is the workspace's root manifest. Without a `[workspace]` table it is
/// a single-package project's, whose `[package.metadata.image]` takes the workspace keys
/// too (returned as the workspace's config); a member's manifest never does.
pub fn parse_manifest_tables(
    text: &str,
    root: bool,
) -> Result<(Option<WorkspaceConfig>, Option<PackageConfig>), toml::de::Error> {
    fn image<T>(s: Option<Section<T>>) -> Option<T> {
        s.and_then(|s| s.metadata).and_then(|m| m.image)
    }
    if root {
        let tables: ManifestTables<RootPackageConfig> = toml::from_str(text)?;
        if tables.workspace.is_none() {
            return Ok(match image(tables.package) {
                Some(config) => {
                    let (ws, pkg): (WorkspaceConfig, PackageConfig) = config.split();
                    (Some(ws), Some(pkg))
                }
                None => (None, None),
            });
        }
    }
    let tables: ManifestTables<PackageConfig> = toml::from_str(text)?;
    Ok((image(tables.workspace), image(tables.package)))
}

/// What a TOML error in a manifest's `text` says, with the dotted key it points at: the
/// error quotes the line it points at, which lacks the key when the value spans several
/// lines.
pub fn error_message(text: &str, e: &toml::de::Error) -> String {
    let mut message = e.to_string().trim_end().to_string();
    if let Some(key) = e.span().and_then(|span| key_at(text, span.start)) {
        message.push_str(&format!(" (key `{key}`)"));
    }
    message
}

/// The dotted key at byte `offset` of a manifest (where a TOML error points), e.g.
/// `workspace.metadata.image.build-packages`: a value written over several lines leaves
/// the error's quoted line without its key.
fn key_at(text: &str, offset: usize) -> Option<String> {
    use toml::de::{DeTable, DeValue};
    use toml::Spanned;
    fn walk(value: &DeValue<'_>, offset: usize, path: &mut Vec<String>) -> bool {
        let within = |span: std::ops::Range<usize>| span.contains(&offset);
        match value {
            DeValue::Table(table) => table.iter().any(|(key, value)| {
                path.push(key.get_ref().to_string());
                // A table opened by a header spans only the header: look inside anyway.
                if walk(value.get_ref(), offset, path) || within(key.span()) || within(value.span())
                {
                    return true;
                }
                path.pop();
                false
            }),
            DeValue::Array(items) => items
                .iter()
                .any(|item: &Spanned<DeValue<'_>>| walk(item.get_ref(), offset, path)),
            _ => false,
        }
    }
    let table = DeTable::parse(text).ok()?.into_inner();
    let mut path = Vec::new();
    walk(&DeValue::Table(table), offset, &mut path).then(|| path.join("."))
}

impl ImageConfig {
    /// `self` overlaid with `over`: scalars from `over` win, maps merge.
    pub fn overlay(&self, over: &ImageConfig) -> ImageConfig {
        fn merge(
            a: &Option<BTreeMap<String, String>>,
            b: &Option<BTreeMap<String, String>>,
        ) -> Option<BTreeMap<String, String>> {
            match (a, b) {
                (None, None) => None,
                (a, b) => {
                    let mut m = a.clone().unwrap_or_default();
                    m.extend(b.clone().unwrap_or_default());
                    Some(m)
                }
            }
        }
        ImageConfig {
            runtime: over.runtime.clone().or_else(|| self.runtime.clone()),
            static_link: over.static_link.or(self.static_link),
            libc: over.libc.clone().or_else(|| self.libc.clone()),
            features: over.features.clone().or_else(|| self.features.clone()),
            default_features: over.default_features.or(self.default_features),
            ports: over.ports.clone().or_else(|| self.ports.clone()),
            user: over.user.clone().or_else(|| self.user.clone()),
            env: merge(&self.env, &over.env),
            labels: merge(&self.labels, &over.labels),
            healthcheck: over
                .healthcheck
                .clone()
                .or_else(|| self.healthcheck.clone()),
            tags: over.tags.clone().or_else(|| self.tags.clone()),
            registry: over.registry.clone().or_else(|| self.registry.clone()),
            skip: over.skip.or(self.skip),
            runtime_packages: over
                .runtime_packages
                .clone()
                .or_else(|| self.runtime_packages.clone()),
            files: merge(&self.files, &over.files),
            workdir: over.workdir.clone().or_else(|| self.workdir.clone()),
            volumes: over.volumes.clone().or_else(|| self.volumes.clone()),
            args: over.args.clone().or_else(|| self.args.clone()),
            entrypoint: over.entrypoint.clone().or_else(|| self.entrypoint.clone()),
            stop_signal: over
                .stop_signal
                .clone()
                .or_else(|| self.stop_signal.clone()),
            tzdata: over.tzdata.or(self.tzdata),
            init: over.init.or(self.init),
            run_env: over.run_env.clone().or_else(|| self.run_env.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_the_key_and_line() {
        let err = parse_manifest_tables(
            "[package]\nname = \"a\"\n[package.metadata.image]\nruntme = \"scratch\"\n",
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("runtme"), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = parse_manifest_tables("[workspace.metadata.image]\nports = \"8080\"\n", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("ports") || err.contains("line 2"), "{err}");
    }

    #[test]
    fn ports_are_numbers_or_docker_s_number_slash_protocol() {
        let (ws, _) = parse_manifest_tables(
            "[workspace.metadata.image]\nports = [8080, \"8443/tcp\", \"53/udp\"]\n",
            true,
        )
        .unwrap();
        let ports = ws.unwrap().common().ports.unwrap();
        let shown: Vec<String> = ports.iter().map(Port::to_string).collect();
        assert_eq!(shown, ["8080", "8443", "53/udp"]);
        assert_eq!(
            ports[2],
            Port {
                number: 53,
                udp: true
            }
        );
        // Written back as the user writes them: TCP as a number.
        let json = serde_json::to_string(&ports).unwrap();
        assert_eq!(json, r#"[8080,8443,"53/udp"]"#);
        for bad in [
            "\"53/sctp\"",
            "\"udp\"",
            "\"/udp\"",
            "-1",
            "65536",
            "\"70000/udp\"",
        ] {
            let text = format!("[workspace.metadata.image]\nports = [{bad}]\n");
            let err = parse_manifest_tables(&text, true).unwrap_err();
            let message = error_message(&text, &err);
            assert!(message.contains("is not a port"), "{bad}: {message}");
            assert!(message.contains("ports"), "{bad}: {message}");
        }
    }

    #[test]
    fn key_at_names_the_key_of_a_multi_line_value() {
        let text = "[workspace.metadata.image]\nbuild-packages = [\"\"\"\nx\"\"\", 0]\n";
        let err = parse_manifest_tables(text, true).unwrap_err();
        let offset = err.span().expect("a span").start;
        assert_eq!(
            key_at(text, offset).as_deref(),
            Some("workspace.metadata.image.build-packages")
        );
    }

    #[test]
    fn overlay_merges_maps_and_overrides_scalars() {
        let base = ImageConfig {
            runtime: Some("distroless-cc".into()),
            env: Some([("A".into(), "1".into()), ("B".into(), "1".into())].into()),
            ..Default::default()
        };
        let over = ImageConfig {
            runtime: Some("scratch".into()),
            env: Some([("B".into(), "2".into())].into()),
            ..Default::default()
        };
        let got = base.overlay(&over);
        assert_eq!(got.runtime.as_deref(), Some("scratch"));
        assert_eq!(
            got.env.unwrap(),
            BTreeMap::from([("A".into(), "1".into()), ("B".into(), "2".into())])
        );
    }
}

#[cfg(test)]
mod workspace_only_keys {
    /// Every key the list names is a workspace key that a package table refuses.
    #[test]
    fn are_workspace_keys_and_not_package_keys() {
        for key in super::WORKSPACE_ONLY_KEYS {
            let value = match key {
                "strip" | "infer-packages" | "git" | "ssh" => "true",
                "max-layers" => "10",
                "base-images" | "build-env" | "dev" => "{}",
                "build-files" | "build-packages" | "link-packages" | "ca-certificates"
                | "build-args" | "ssh-known-hosts" | "registry-tokens" => "[]",
                _ => "\"x\"",
            };
            let ws = format!("{key} = {value}");
            assert!(
                toml::from_str::<super::WorkspaceConfig>(&ws).is_ok(),
                "workspace: {ws}"
            );
            assert!(
                toml::from_str::<super::PackageConfig>(&ws).is_err(),
                "package: {ws}"
            );
        }
    }
}
