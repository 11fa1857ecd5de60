//! What a workspace's own Dockerfile (one we did not generate) gives the image of its last
//! stage: environment, ports, working directory, volumes, stop signal, healthcheck, and the
//! program it starts. A
//! project moving to generated images had its runtime settings there (rustypaste's
//! `ENV SERVER__ADDRESS=0.0.0.0:8000`, `EXPOSE 8000`, `WORKDIR /app`), and an image without
//! them does not serve as the project documents; the planner names the ones the generated
//! image lacks, with the keys that carry them over.
//!
//! Its `STOPSIGNAL` and `HEALTHCHECK` are read too, the files it copies in from the
//! build context (a healthcheck script), and the features every stage's `cargo build` or
//! `cargo install` asks for (the build is in a builder stage).
//!
//! Instructions are read, not evaluated: a value with a `$` (an `ARG` or `ENV` expansion)
//! is left out, as are `PATH` and `HOME`, which every base sets for itself, and
//! `DEBIAN_FRONTEND`, which only apt reads (vaultwarden's).

use serde::{Deserialize, Serialize};

/// The last stage's runtime settings, in the order written.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct OwnDockerfile {
    /// The file, relative to the workspace root.
    pub path: String,
    pub env: Vec<(String, String)>,
    pub ports: Vec<u16>,
    /// `EXPOSE 53/udp`.
    pub udp_ports: Vec<u16>,
    pub workdir: Option<String>,
    pub volumes: Vec<String>,
    /// Directories its `RUN mkdir` makes (atuin's `mkdir /config && chown …`, the
    /// directory its `ENV ATUIN_CONFIG_DIR=/config` names): the program writes there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub made_dirs: Vec<String>,
    /// `USER` (the last one); none runs as root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The file names of the programs `ENTRYPOINT` and `CMD` name (`rustypaste` for
    /// `CMD ["./rustypaste"]`): which binary's image the stage is.
    pub programs: Vec<String>,
    /// `ENTRYPOINT`'s and `CMD`'s words (w4/bin's `ENTRYPOINT ["/pastebin", "0.0.0.0:8000"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    /// `STOPSIGNAL SIGINT` (pgcat's graceful drain; SIGTERM closes its clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// `HEALTHCHECK CMD ...`'s command, as words (not `HEALTHCHECK NONE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub healthcheck: Vec<String>,
    /// Files the stage copies in from the build context (`COPY docker/healthcheck.sh /`,
    /// no `--from`): source → the path it lands at (vaultwarden's `/healthcheck.sh`, which
    /// its `HEALTHCHECK` runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<(String, String)>,
    /// What the stage copies from another image or from a stage that compiles nothing of
    /// the workspace (vaultwarden's `COPY --from=vault /web-vault ./web-vault`, `vault`
    /// being its pinned `web-vault` image): the generated image holds none of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_copies: Vec<ForeignCopy>,
    /// What the file's `cargo build` or `cargo install` runs, in any stage: the build is
    /// in a builder stage, not the last (websocat's `--features=workaround1,seqpacket`).
    #[serde(default, skip_serializing_if = "CargoFlags::is_empty")]
    pub cargo: CargoFlags,
    /// What the stages that compile (not the last) and the stages they are built on set
    /// with `ENV` for the compile, in the file's order (rustus's
    /// `JEMALLOC_SYS_WITH_MALLOC_CONF`, `CMAKE_POLICY_VERSION_MINIMUM`). Left out beyond
    /// the last stage's exclusions: what the generated build sets itself or that only fits
    /// the file's own toolchain (`own_build_setting`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_env: Vec<(String, String)>,
}

/// A `COPY --from` of the last stage that brings something other than the workspace's
/// build output.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ForeignCopy {
    /// The instruction as written.
    pub instruction: String,
    /// Where it copies from: an image reference (a stage that only names an image is that
    /// image), or the name of a stage that runs commands but compiles nothing of ours (a
    /// web front end's `npm run build`).
    pub from: String,
    /// Whether `from` is such a stage (else an image).
    pub stage: bool,
    /// For a stage: it and every stage it is built on or copies from, in the file's order
    /// (rustpad's `frontend` copies from its `wasm`): what the user's own file needs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    /// The sources, as written.
    pub sources: Vec<String>,
    /// The destination as written: a relative one is taken from the working directory,
    /// which is where the program looks for it (rustpad's `dist`), in any image.
    pub dest: String,
}

/// A stage of the file, for resolving `COPY --from`.
#[derive(Default)]
struct Stage {
    name: String,
    /// The `FROM` image or stage, its `ARG`s expanded.
    base: String,
    runs: bool,
    /// A `RUN` compiles Rust (`cargo`, `xx-cargo`, `cross`).
    compiles: bool,
    /// What its `COPY --from`s name.
    copies_from: Vec<String>,
    /// Its `ENV`s (no `$`, none of [`own_build_setting`]'s).
    env: Vec<(String, String)>,
}

/// Whether a builder stage's variable belongs to that file's own build rather than to what
/// the crates need: cargo's and rustup's locations, the target and its cross tools
/// (`CARGO_TARGET_<TRIPLE>_LINKER`, `CC_<triple>`, `PKG_CONFIG_*`), `RUSTFLAGS` (the
/// generated build picks its own for static linking), and the shell's locale and terminal.
fn own_build_setting(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "CARGO_HOME",
        "RUSTUP_HOME",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_INCREMENTAL",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUST_VERSION",
        "TARGET",
        "CC",
        "CXX",
        "AR",
        "LANG",
        "TZ",
        "TERM",
        "USER",
    ];
    const PREFIXES: &[&str] = &[
        "CARGO_TARGET_",
        "CARGO_TERM_",
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_REGISTRIES_",
        "CARGO_REGISTRY_",
        "CC_",
        "CXX_",
        "AR_",
        "CFLAGS_",
        "PKG_CONFIG",
        "LC_",
        "RUSTUP_",
    ];
    BASE_SET.contains(&name)
        || EXACT.contains(&name)
        || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Variables every base sets for itself (`PATH`, `HOME`), and `DEBIAN_FRONTEND`, which
/// only apt reads: left out of what a stage's `ENV` gives the image or the compile.
const BASE_SET: [&str; 3] = ["PATH", "HOME", "DEBIAN_FRONTEND"];

/// The absolute directories the `mkdir` commands of a `RUN` line make (`mkdir -p /config
/// /data`), not one built from a `$` expansion nor a system directory's (`/tmp`, `/var/run`).
fn made_dirs(run: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_mkdir = false;
    for word in run.split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|') {
        let word = word.trim_matches(|c| c == '"' || c == '\'');
        if word.is_empty() {
            continue;
        }
        if word == "mkdir" {
            in_mkdir = true;
        } else if in_mkdir && (word.starts_with('-') || word.bytes().all(|b| b.is_ascii_digit())) {
            // `-p`, `-m 755`'s flag: the mode after it is not absolute, so it is skipped too.
        } else if in_mkdir && word.starts_with('/') && !word.contains('$') {
            let dir = word.trim_end_matches('/');
            let system = ["/tmp", "/usr", "/proc", "/sys", "/dev"]
                .iter()
                .any(|s| crate::model::is_within(dir, s));
            if !dir.is_empty() && !system && !out.iter().any(|d| d == dir) {
                out.push(dir.to_string());
            }
        } else {
            in_mkdir = false;
        }
    }
    out
}

/// Whether a word of a `RUN` line starts a cargo build: `cargo`, tonistiigi/xx's
/// `xx-cargo` (vaultwarden's), `cross`.
fn is_cargo(word: &str) -> bool {
    let word = word.trim_matches(|c| c == '"' || c == '\'');
    let name = word.rsplit('/').next().unwrap_or(word);
    matches!(name, "cargo" | "xx-cargo" | "cross")
}

/// The feature flags of a Dockerfile's `cargo build` / `cargo install` commands.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CargoFlags {
    /// `--features a,b`, `--features=a`, `-F a`, in the order written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_default_features: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_features: bool,
}

impl CargoFlags {
    pub fn is_empty(&self) -> bool {
        self.features.is_empty() && !self.no_default_features && !self.all_features
    }

    /// Reads the flags of each `cargo build` / `cargo install` in a `RUN` line.
    fn read(&mut self, run: &str) {
        let words: Vec<&str> = run
            .split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|')
            .filter(|w| !w.is_empty())
            .collect();
        let mut in_cargo = false;
        let mut i = 0;
        while i < words.len() {
            let word = words[i].trim_matches(|c| c == '"' || c == '\'');
            if is_cargo(word) {
                in_cargo = matches!(words.get(i + 1), Some(&"build" | &"install"));
            } else if in_cargo {
                let value = match word {
                    "--features" | "-F" => {
                        i += 1;
                        words.get(i).copied()
                    }
                    _ => word
                        .strip_prefix("--features=")
                        .or_else(|| word.strip_prefix("-F").filter(|v| !v.is_empty())),
                };
                if let Some(first) = value {
                    // `--features "tls metrics"`: one quoted word across spaces.
                    let mut value = first.to_string();
                    if let Some(q) = first.chars().next().filter(|c| *c == '"' || *c == '\'') {
                        while (value.len() == 1 || !value.ends_with(q)) && i + 1 < words.len() {
                            i += 1;
                            value.push(',');
                            value.push_str(words[i]);
                        }
                    }
                    let value = value.trim_matches(|c| c == '"' || c == '\'');
                    for feature in value
                        .split(',')
                        .filter(|f| !f.is_empty() && !f.contains('$'))
                    {
                        if !self.features.iter().any(|f| f == feature) {
                            self.features.push(feature.to_string());
                        }
                    }
                }
                self.no_default_features |= word == "--no-default-features";
                self.all_features |= word == "--all-features";
            }
            i += 1;
        }
    }
}

/// The settings of the last stage of Dockerfile `text` (at `path`).
pub fn last_stage(path: &str, text: &str) -> OwnDockerfile {
    let mut out = OwnDockerfile {
        path: path.to_string(),
        ..OwnDockerfile::default()
    };
    // ARG defaults, which `$NAME` in a RUN line expands to.
    let mut args: Vec<(String, String)> = Vec::new();
    let expand = |text: &str, args: &[(String, String)]| {
        let mut text = text.to_string();
        for (name, value) in args {
            text = text
                .replace(&format!("${{{name}}}"), value)
                .replace(&format!("${name}"), value);
        }
        text
    };
    let mut stages: Vec<Stage> = Vec::new();
    // The last stage's `COPY --from`s: from, the instruction, sources, destination.
    let mut from_copies: Vec<(String, String, Vec<String>, String)> = Vec::new();
    for line in instructions(text) {
        let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let rest = rest.trim();
        match word.to_ascii_uppercase().as_str() {
            "FROM" => {
                out = OwnDockerfile {
                    path: path.to_string(),
                    cargo: std::mem::take(&mut out.cargo),
                    ..OwnDockerfile::default()
                };
                from_copies.clear();
                let parts: Vec<&str> = (rest.split_whitespace())
                    .filter(|w| !w.starts_with("--"))
                    .collect();
                stages.push(Stage {
                    base: expand(parts.first().copied().unwrap_or(""), &args),
                    name: match parts[..] {
                        [_, as_, name, ..] if as_.eq_ignore_ascii_case("AS") => {
                            name.to_ascii_lowercase()
                        }
                        _ => String::new(),
                    },
                    ..Stage::default()
                });
            }
            // `ARG CARGO_OPTS="--features=..."` then `cargo build $CARGO_OPTS` (websocat's):
            // the default is what a plain `docker build` runs.
            "ARG" => {
                for (name, value) in env_pairs(rest) {
                    args.retain(|(n, _)| *n != name);
                    args.push((name, value));
                }
            }
            "RUN" => {
                let run = expand(rest, &args);
                out.cargo.read(&run);
                for dir in made_dirs(&run) {
                    if !out.made_dirs.contains(&dir) {
                        out.made_dirs.push(dir);
                    }
                }
                if let Some(stage) = stages.last_mut() {
                    stage.runs = true;
                    stage.compiles |= run
                        .split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|')
                        .any(is_cargo);
                }
            }
            "COPY" | "ADD" => {
                let mut parts = words(rest);
                let from = parts
                    .iter()
                    .find_map(|w| w.strip_prefix("--from="))
                    .map(|f| expand(f, &args));
                parts.retain(|w| !w.starts_with("--"));
                // A stage that copies files in has content of its own (a stage of assets).
                if let Some(stage) = stages.last_mut() {
                    stage.runs = true;
                    stage
                        .copies_from
                        .extend(from.iter().map(|f| f.to_ascii_lowercase()));
                }
                if let Some(from) = from {
                    if let Some(dest) = parts.pop() {
                        from_copies.push((from, format!("{word} {rest}"), parts, dest));
                    }
                    continue;
                }
                let Some(dest) = parts.pop() else {
                    continue;
                };
                let into_dir = dest.ends_with('/') || parts.len() > 1;
                for src in parts.iter().filter(|s| !s.contains(['$', '*', '?'])) {
                    let file = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
                    // `COPY conf/ /etc/app/` copies the directory's entries.
                    let to = if into_dir && !src.ends_with('/') {
                        format!("{}/{file}", dest.trim_end_matches('/'))
                    } else {
                        dest.clone()
                    };
                    out.copies
                        .push((src.trim_start_matches("./").to_string(), to));
                }
            }
            "USER" if !rest.is_empty() => out.user = Some(rest.to_string()),
            "STOPSIGNAL" if !rest.is_empty() && !rest.contains('$') => {
                out.stop_signal = Some(rest.to_string());
            }
            "HEALTHCHECK" => {
                // Options first (`--interval=30s`), then `CMD ...` or `NONE`.
                let command = (rest.split_whitespace())
                    .skip_while(|w| w.starts_with("--"))
                    .collect::<Vec<_>>()
                    .join(" ");
                out.healthcheck = match command.split_once(char::is_whitespace) {
                    Some((cmd, command)) if cmd.eq_ignore_ascii_case("CMD") => words(command),
                    _ => Vec::new(),
                };
            }
            "ENV" => {
                let pairs = env_pairs(rest);
                if let Some(stage) = stages.last_mut() {
                    for (name, value) in &pairs {
                        if !value.contains('$') && !own_build_setting(name) {
                            stage.env.retain(|(n, _)| n != name);
                            stage.env.push((name.clone(), value.clone()));
                        }
                    }
                }
                for (name, value) in pairs {
                    if !value.contains('$') && !BASE_SET.contains(&name.as_str()) {
                        out.env.retain(|(n, _)| *n != name);
                        out.env.push((name, value));
                    }
                }
            }
            "EXPOSE" => {
                // `EXPOSE ${LDAP_PORT} ${HTTP_PORT}` after `ENV LDAP_PORT=3890` (lldap's):
                // the stage's ENV first, as Docker lets it win over an ARG.
                let vars: Vec<(String, String)> = (stages.last().into_iter())
                    .flat_map(|stage| stage.env.iter().cloned())
                    .chain(args.iter().cloned())
                    .collect();
                for port in expand(rest, &vars).split_whitespace() {
                    let (number, protocol) = port.split_once('/').unwrap_or((port, "tcp"));
                    let list = match protocol.to_ascii_lowercase().as_str() {
                        "tcp" => &mut out.ports,
                        "udp" => &mut out.udp_ports,
                        _ => continue,
                    };
                    if let Ok(n) = number.parse::<u16>() {
                        if n > 0 && !list.contains(&n) {
                            list.push(n);
                        }
                    }
                }
            }
            "WORKDIR" if rest.starts_with('/') && !rest.contains('$') => {
                // `WORKDIR /` counts: vaultwarden's relative `data/` is `/data` from there.
                let dir = rest.trim_end_matches('/');
                out.workdir = Some(if dir.is_empty() { "/" } else { dir }.to_string());
            }
            "VOLUME" => {
                for volume in words(rest) {
                    if volume.starts_with('/')
                        && !volume.contains('$')
                        && !out.volumes.contains(&volume)
                    {
                        out.volumes.push(volume);
                    }
                }
            }
            "ENTRYPOINT" | "CMD" => {
                let command = words(rest);
                if let Some(program) = command.first() {
                    let name = program.rsplit('/').next().unwrap_or(program).to_string();
                    if !name.is_empty() && !out.programs.contains(&name) {
                        out.programs.push(name);
                    }
                }
                if word.eq_ignore_ascii_case("ENTRYPOINT") {
                    out.entrypoint = command;
                } else {
                    out.cmd = command;
                }
            }
            _ => {}
        }
    }
    // The program the stage starts is the workspace's build, wherever it comes from
    // (feroxbuster's Dockerfile downloads its release binary in a stage of its own).
    let name = |path: &str| {
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .map(str::to_string)
    };
    let program = |path: &str| name(path).is_some_and(|n| out.programs.contains(&n));
    out.build_env = build_env(&stages);
    out.foreign_copies = from_copies
        .into_iter()
        .filter(|(_, _, sources, dest)| !program(dest) && !sources.iter().any(|s| program(s)))
        .filter_map(|(from, instruction, sources, dest)| {
            let (from, stage) = foreign_source(&stages, &from)?;
            Some(ForeignCopy {
                instruction,
                stages: if stage {
                    stage_closure(&stages, &from)
                } else {
                    Vec::new()
                },
                from,
                stage,
                sources,
                dest,
            })
        })
        .collect();
    out
}

/// The `ENV`s a compile of the file sees: those of each stage before the last that
/// compiles and of the stages it is built on, the latest setting of a name winning, in
/// the order first set.
fn build_env(stages: &[Stage]) -> Vec<(String, String)> {
    let before_last = &stages[..stages.len().saturating_sub(1)];
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, _) in before_last.iter().enumerate().filter(|(_, s)| s.compiles) {
        // The chain of bases: `FROM rust AS chef` … `FROM chef AS builder`.
        let mut chain = Vec::new();
        let mut at = Some(i);
        while let Some(j) = at {
            chain.push(j);
            let base = before_last[j].base.to_ascii_lowercase();
            at = before_last[..j]
                .iter()
                .rposition(|s| !s.name.is_empty() && s.name == base);
        }
        for j in chain.into_iter().rev() {
            for (name, value) in &before_last[j].env {
                match out.iter_mut().find(|(n, _)| n == name) {
                    Some(set) => set.1 = value.clone(),
                    None => out.push((name.clone(), value.clone())),
                }
            }
        }
    }
    out
}

/// Where a `COPY --from=name` brings files from when it is not the workspace's build: the
/// image a stage that runs nothing names (followed through stages it is built on), a
/// stage that runs commands none of which compiles Rust (`true`), or an image named
/// directly. None for a stage that compiles, or one built on a stage that does.
fn foreign_source(stages: &[Stage], from: &str) -> Option<(String, bool)> {
    let by_name = |name: &str| -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        match name.parse::<usize>() {
            Ok(i) if i + 1 < stages.len() => Some(i),
            _ => stages[..stages.len().saturating_sub(1)]
                .iter()
                .position(|s| !s.name.is_empty() && s.name == lower),
        }
    };
    // An image named directly has a registry, tag or digest (`nginx:1`): a bare word no
    // stage defines is more likely a stage of another file than `docker.io/library/word`.
    let Some(mut i) = by_name(from) else {
        return (!from.contains('$') && from.contains(['/', ':', '@']))
            .then(|| (from.to_string(), false));
    };
    let named = i;
    let mut runs = false;
    loop {
        let stage = &stages[i];
        if stage.compiles {
            return None;
        }
        runs |= stage.runs;
        match by_name(&stage.base).filter(|b| *b < i) {
            Some(base) => i = base,
            // An unnamed stage (`COPY --from=0`) by its number, as the file names it.
            None if runs && stages[named].name.is_empty() => {
                return Some((named.to_string(), true))
            }
            None if runs => return Some((stages[named].name.clone(), true)),
            None => {
                return (!stage.base.contains('$') && !stage.base.eq_ignore_ascii_case("scratch"))
                    .then(|| (stage.base.clone(), false))
            }
        }
    }
}

/// Stage `name` and every stage it is built on or copies from, transitively, in the
/// file's order (not the last stage, which is the image itself).
fn stage_closure(stages: &[Stage], name: &str) -> Vec<String> {
    let before_last = &stages[..stages.len().saturating_sub(1)];
    let index = |n: &str| {
        before_last
            .iter()
            .position(|s| !s.name.is_empty() && s.name == n)
    };
    let mut wanted = vec![false; before_last.len()];
    let mut todo: Vec<usize> = index(name).into_iter().collect();
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut wanted[i], true) {
            continue;
        }
        let stage = &before_last[i];
        let base = stage.base.to_ascii_lowercase();
        todo.extend(
            std::iter::once(base.as_str())
                .chain(stage.copies_from.iter().map(String::as_str))
                .filter_map(index),
        );
    }
    (before_last.iter().zip(wanted))
        .filter(|(_, w)| *w)
        .map(|(s, _)| s.name.clone())
        .collect()
}

impl OwnDockerfile {
    /// Whether the stage runs its program as root: no `USER`, or `USER root` / `0`.
    pub fn runs_as_root(&self) -> bool {
        self.user_id().as_deref() == Some("0")
    }

    /// The user id the stage runs its program as: `0` for root (no `USER`), the number
    /// of `USER 1000:1000`, `65532` for distroless's `nonroot`; none for another name,
    /// whose number the base image's `/etc/passwd` holds, or an `ARG`'s.
    pub fn user_id(&self) -> Option<String> {
        let Some(user) = &self.user else {
            return Some("0".into());
        };
        match user.split(':').next().unwrap_or(user) {
            "root" => Some("0".into()),
            "nonroot" => Some("65532".into()),
            id if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => Some(id.into()),
            _ => None,
        }
    }

    /// The program the stage starts (its file name) and the arguments it gets: after the
    /// `ENTRYPOINT`'s program, its words and `CMD`'s; else after `CMD`'s. None when a word
    /// needs a shell's expansion (`$PORT`).
    pub fn program_args(&self) -> Option<(String, Vec<String>)> {
        let command: Vec<&String> = if self.entrypoint.is_empty() {
            self.cmd.iter().collect()
        } else {
            self.entrypoint.iter().chain(&self.cmd).collect()
        };
        let (program, args) = command.split_first()?;
        if command.iter().any(|w| w.contains('$')) {
            return None;
        }
        let name = program.rsplit('/').next().unwrap_or(program);
        Some((
            name.to_string(),
            args.iter().map(|a| a.to_string()).collect(),
        ))
    }
}

/// The instructions of `text`, one per entry: comments and blank lines dropped, lines
/// continued with `\` joined.
fn instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                out.push(std::mem::take(&mut current).trim().to_string());
            }
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// An exec-form JSON list's strings, or the shell form's words.
fn words(rest: &str) -> Vec<String> {
    if rest.starts_with('[') {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(rest) {
            return list;
        }
    }
    rest.split_whitespace().map(str::to_string).collect()
}

/// `ENV` pairs: `A=1 B="two words"`, or the legacy `ENV NAME the rest`.
fn env_pairs(rest: &str) -> Vec<(String, String)> {
    let first = rest.split_whitespace().next().unwrap_or("");
    if !first.contains('=') {
        let value = rest[first.len()..].trim();
        return if first.is_empty() || value.is_empty() {
            Vec::new()
        } else {
            vec![(first.to_string(), unquote(value))]
        };
    }
    let mut pairs = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let name: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        if name.is_empty() || chars.next() != Some('=') {
            break;
        }
        let mut value = String::new();
        let mut quote = None;
        while let Some(c) = chars.peek().copied() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    chars.next();
                    value.extend(chars.peek().copied());
                }
                _ => value.push(c),
            }
            chars.next();
        }
        pairs.push((name, value));
    }
    pairs
}

/// A legacy `ENV` value without its surrounding quotes.
fn unquote(value: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::last_stage;

    /// rustypaste's shape: a builder stage, then the runtime stage's settings.
    #[test]
    fn the_last_stage_settings_are_read() {
        let text = "FROM rust:1.93-alpine AS builder\nWORKDIR /build\nENV CARGO_HOME=/cargo\n\
                    EXPOSE 9999\nRUN cargo build --release\n\n\
                    FROM scratch\n# the service\nWORKDIR /app/\n\
                    ENV SERVER__ADDRESS=0.0.0.0:8000 \\\n    GREETING=\"hello world\" PATH=/bin\n\
                    ENV LEGACY_NAME some value\nENV FROM_ARG=$VERSION\n\
                    expose 8000 8000/tcp 53/udp $PORT\nVOLUME [\"/app/upload\", \"/data\"]\n\
                    VOLUME /cache\nUSER 1000:1000\nCMD [\"./rustypaste\"]\n";
        let own = last_stage("Dockerfile", text);
        assert_eq!(
            own.env,
            [
                ("SERVER__ADDRESS".to_string(), "0.0.0.0:8000".to_string()),
                ("GREETING".into(), "hello world".into()),
                ("LEGACY_NAME".into(), "some value".into()),
            ]
        );
        assert_eq!(own.ports, [8000]);
        assert_eq!(own.workdir.as_deref(), Some("/app"));
        assert_eq!(own.volumes, ["/app/upload", "/data", "/cache"]);
        assert_eq!(own.programs, ["rustypaste"]);
        assert_eq!(own.user.as_deref(), Some("1000:1000"));
        assert!(!own.runs_as_root());
        // vaultwarden's: the root directory is a working directory too; apt's variable
        // is no program's.
        let own = last_stage(
            "Dockerfile",
            "FROM debian:bookworm-slim\nENV DEBIAN_FRONTEND=noninteractive ROCKET_PORT=80\n\
             WORKDIR /\n",
        );
        assert_eq!(own.workdir.as_deref(), Some("/"));
        assert!(own.runs_as_root());
        assert!(last_stage("Dockerfile", "FROM x\nUSER root:root\n").runs_as_root());
        assert_eq!(own.env, [("ROCKET_PORT".to_string(), "80".to_string())]);
        // lldap's: ports through the stage's ENV (over an ARG of the same name) and an ARG.
        let own = last_stage(
            "Dockerfile",
            "ARG LDAP_PORT=389\nARG METRICS=9100\nFROM alpine:3.21\nARG METRICS\n\
             ENV LDAP_PORT=3890\nENV HTTP_PORT=17170\n\
             EXPOSE ${LDAP_PORT} ${HTTP_PORT} $METRICS/udp\n",
        );
        assert_eq!(own.ports, [3890, 17170]);
        assert_eq!(own.udp_ports, [9100]);
    }

    /// The last stage's `COPY --from`s that bring something other than the workspace's
    /// build: from an image (named directly, or by a stage that only names one, its `ARG`
    /// expanded), or from a stage that compiles nothing of ours (a front end's, assets);
    /// not from a stage that compiles, nor one built on it, nor the program itself (the
    /// file `CMD` starts). Destinations stay as written.
    #[test]
    fn copies_from_other_images_and_stages_are_read() {
        let text = "ARG WEB=docker.io/web-vault@sha256:abc\n\
                    FROM --platform=linux/amd64 ${WEB} AS vault\n\
                    FROM rust:1 AS wasm\nRUN wasm-pack build --target web\n\
                    FROM node:20 AS Front\nCOPY --from=wasm /pkg /wasm\nRUN npm ci && npm run build\n\
                    FROM rust:1 AS chef\nRUN cargo install cargo-chef\n\
                    FROM chef AS build\nRUN xx-cargo build --release\n\
                    FROM build AS stripped\nRUN strip target/release/app\n\
                    FROM alpine AS assets\nCOPY static /static\n\
                    FROM debian:trixie-slim\nCOPY --from=0 /web-vault /web-vault\nWORKDIR /app\n\
                    COPY --from=builder /app/app /usr/bin/app\n\
                    COPY --from=vault /web-vault ./web-vault\n\
                    COPY --from=front /src/dist /srv/dist\n\
                    COPY --from=stripped /app/target/release/app /usr/bin/\n\
                    COPY --from=build /app/target/release/app .\n\
                    COPY --link --from=nginx:1 /etc/nginx/mime.types /etc/nginx/fastcgi.conf /etc/\n\
                    COPY --from=assets /static static\n\
                    COPY --from=front /out/app /usr/local/bin/app\nCMD [\"app\"]\n";
        let own = last_stage("Dockerfile", text);
        let read: Vec<(&str, bool, Vec<&str>, &str)> = (own.foreign_copies.iter())
            .map(|c| {
                let sources = c.sources.iter().map(String::as_str).collect();
                (c.from.as_str(), c.stage, sources, c.dest.as_str())
            })
            .collect();
        let web = "docker.io/web-vault@sha256:abc";
        assert_eq!(
            read,
            [
                (web, false, vec!["/web-vault"], "/web-vault"),
                (web, false, vec!["/web-vault"], "./web-vault"),
                ("front", true, vec!["/src/dist"], "/srv/dist"),
                (
                    "nginx:1",
                    false,
                    vec!["/etc/nginx/mime.types", "/etc/nginx/fastcgi.conf"],
                    "/etc/"
                ),
                ("assets", true, vec!["/static"], "static"),
            ]
        );
        assert_eq!(
            own.foreign_copies[1].instruction,
            "COPY --from=vault /web-vault ./web-vault"
        );
        // The stages a stage needs come with it, in the file's order.
        assert_eq!(own.foreign_copies[2].stages, ["wasm", "front"]);
        assert_eq!(own.foreign_copies[4].stages, ["assets"]);
        assert!(own.foreign_copies[0].stages.is_empty());
        let unnamed = last_stage(
            "Dockerfile",
            "FROM node:20\nRUN npm run build\nFROM scratch\nCOPY --from=0 /dist /dist\n",
        );
        assert_eq!(
            (
                unnamed.foreign_copies[0].from.as_str(),
                unnamed.foreign_copies[0].stage
            ),
            ("0", true)
        );
        // `xx-cargo build` is a cargo build: its flags count.
        let own = last_stage(
            "Dockerfile",
            "FROM rust AS build
ARG DB=sqlite,mysql
RUN xx-cargo build --features ${DB}
",
        );
        assert_eq!(own.cargo.features, ["sqlite", "mysql"]);
    }

    /// What the stop signal, healthcheck and cargo flags are read as.
    #[test]
    fn stop_signal_healthcheck_and_cargo_flags_are_read() {
        let text = "FROM rust:1 AS build\nARG OPTS=\"--features=extra\"\n\
                    RUN cargo fetch && cargo build --release --features \"tls metrics\" \\\n\
                    \x20   --no-default-features && cargo test --features=nope\n\
                    RUN cargo install --path . -Fjson --all-features ${OPTS}\n\
                    FROM scratch\nSTOPSIGNAL SIGINT\n\
                    HEALTHCHECK --interval=30s --timeout=3s CMD [\"/bin/probe\", \"http://127.0.0.1/\"]\n";
        let own = last_stage("Dockerfile", text);
        assert_eq!(own.stop_signal.as_deref(), Some("SIGINT"));
        let copies = last_stage(
            "Dockerfile",
            "FROM x\nCOPY a.sh /old\nFROM debian\nCOPY --from=build /b /b\n\
             COPY docker/healthcheck.sh ./docker/start.sh /\nCOPY --chmod=0755 run.sh /usr/bin/run\n\
             ADD conf/ /etc/app/\nCOPY *.toml /etc/\n",
        )
        .copies;
        assert_eq!(
            copies,
            [
                ("docker/healthcheck.sh".into(), "/healthcheck.sh".into()),
                ("docker/start.sh".into(), "/start.sh".into()),
                ("run.sh".into(), "/usr/bin/run".into()),
                ("conf/".into(), "/etc/app/".into()),
            ]
        );
        assert_eq!(own.healthcheck, ["/bin/probe", "http://127.0.0.1/"]);
        assert_eq!(own.cargo.features, ["tls", "metrics", "json", "extra"]);
        assert!(own.cargo.no_default_features && own.cargo.all_features);
        let none = last_stage(
            "Dockerfile",
            "FROM x\nHEALTHCHECK NONE\nRUN cargo test -F x\n",
        );
        assert!(
            none.healthcheck.is_empty() && none.cargo.is_empty(),
            "{none:?}"
        );
    }
}
