//! The engine side of the bench: `docker buildx build --load --progress plain` for every
//! variant, the command line spelled by cargo-image's buildx driver
//! ([`cargo_image::drive::buildx::args`]) and run and timed here; per-run aliases of the
//! builder image; and a cache wipe that touches only the bench's own build-cache records.
//!
//! Other builds may share the engine (tests, people), so the bench never prunes the whole
//! cache. Instead every variant of every run builds on its own alias of the builder image:
//! the builder plus one tiny layer naming the run. Nothing in BuildKit's cache is keyed on
//! a fresh alias (a cold build), and every record a build makes on it descends from that
//! layer's record, so "the builder cache wiped" means pruning exactly those descendants
//! (and the bench's cache mounts, whose ids carry the run id).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use cargo_image::drive::buildx::{self, BuildxRequest};
use serde::Deserialize;
use xshell::{cmd, Shell};

/// The label on every image (and alias) the bench builds: `LABEL=<run id>`.
pub const LABEL: &str = "org.cargo-image.bench";
/// Where an alias records its run in the image; also how its cache record is recognised.
const ALIAS_DIR: &str = "/etc/cargo-image-bench";
/// The alias Dockerfile's one stage (every build names its target stage).
const ALIAS_STAGE: &str = "alias";

/// Whether the bench was interrupted, and the process id of the build running now: the
/// Ctrl-C handler ([`interrupt`]) and a build starting take this lock, so a build never
/// starts after the handler has looked for one to stop.
static RUNNING: Mutex<(bool, Option<u32>)> = Mutex::new((false, None));

/// Stops the running build (if any) and lets no other start: the caller cleans up and
/// exits while holding the returned guard.
pub fn interrupt() -> std::sync::MutexGuard<'static, (bool, Option<u32>)> {
    let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    running.0 = true;
    if let Some(pid) = running.1.take() {
        // `docker buildx build` cancels its build on SIGTERM.
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        // Wait for it to end: a build that was exporting when stopped still names its
        // image, and the caller's clean-up must come after that, not before (CI saw an
        // alias image left behind). The build loop reaps the child; an exited one is a
        // zombie (state `Z`) until then.
        let stat = format!("/proc/{pid}/stat");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            match std::fs::read_to_string(&stat) {
                Ok(text)
                    if !text
                        .rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z') =>
                {
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => break,
            }
        }
    }
    running
}

/// Hears about a running build: seconds so far, the step BuildKit last started.
pub type Heartbeat<'a> = &'a dyn Fn(f64, &str);

/// One `docker buildx build`.
pub struct BuildRequest<'a> {
    /// A directory holding `Dockerfile` (and `Dockerfile.dockerignore`).
    pub dockerfile_dir: &'a Path,
    pub context: &'a Path,
    /// Named contexts (`--build-context NAME=DIR`): ours takes its `.cargo-image/` files
    /// from beside its Dockerfile.
    pub build_contexts: Vec<(String, std::path::PathBuf)>,
    /// The stage to build (`--target`).
    pub target: &'a str,
    pub tag: &'a str,
    /// `--cache-to type=local,dest=DIR,mode=max`.
    pub cache_to: Option<&'a Path>,
    /// `--cache-from type=local,src=DIR`.
    pub cache_from: Option<&'a Path>,
    /// `--build-arg KEY=VALUE`s.
    pub build_args: Vec<(String, String)>,
    /// Names the log file.
    pub what: String,
    /// Called about every minute while the build runs, with the seconds so far and the
    /// step BuildKit last started.
    pub heartbeat: Option<Heartbeat<'a>>,
}

/// A finished build: wall-clock seconds (client start to image loaded) and its steps.
#[derive(Clone, Debug)]
pub struct Built {
    pub seconds: f64,
    pub steps: Vec<Step>,
    /// The build's whole plain-progress output.
    pub text: String,
}

/// One step of BuildKit's plain progress output.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub name: String,
    pub cached: bool,
    pub seconds: Option<f64>,
}

impl Built {
    /// The steps that ran (not cached) for at least `min` seconds, longest first.
    pub fn ran(&self, min: f64) -> Vec<&Step> {
        let mut ran: Vec<&Step> = self
            .steps
            .iter()
            .filter(|s| !s.cached && s.seconds.unwrap_or(0.0) >= min)
            .collect();
        ran.sort_by(|a, b| b.seconds.partial_cmp(&a.seconds).unwrap());
        ran
    }
}

/// The bench's handle on the engine.
pub struct Engine {
    sh: Shell,
    docker: PathBuf,
    runid: String,
    logs: PathBuf,
    count: usize,
}

impl Engine {
    /// Finds `docker` (with buildx); logs go to `logs`.
    pub fn new(runid: &str, logs: &Path) -> Result<Engine> {
        let sh = Shell::new()?;
        let docker = buildx::docker_with_buildx(&sh)?;
        std::fs::create_dir_all(logs).with_context(|| format!("creating {}", logs.display()))?;
        Ok(Engine {
            sh,
            docker,
            runid: runid.to_string(),
            logs: logs.to_path_buf(),
            count: 0,
        })
    }

    pub fn has_image(&self, image: &str) -> bool {
        let docker = &self.docker;
        let format = "{{.Id}}";
        cmd!(self.sh, "{docker} image inspect --format {format} {image}")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run()
            .is_ok()
    }

    /// Builds `tag`: `base` plus one layer naming `name` (unique within the run).
    pub fn alias(&mut self, base: &str, tag: &str, name: &str) -> Result<()> {
        let dir = self.logs.join("alias").join(name);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("Dockerfile"),
            format!(
                "FROM {base} AS {ALIAS_STAGE}\n\
                 RUN mkdir -p {ALIAS_DIR} && echo {name} >{ALIAS_DIR}/{runid}-{name}\n",
                runid = self.runid
            ),
        )?;
        std::fs::write(dir.join("Dockerfile.dockerignore"), "*\n")?;
        self.build(&BuildRequest {
            dockerfile_dir: &dir,
            context: &dir,
            build_contexts: Vec::new(),
            target: ALIAS_STAGE,
            tag,
            cache_to: None,
            cache_from: None,
            build_args: Vec::new(),
            what: format!("alias-{name}"),
            heartbeat: None,
        })?;
        Ok(())
    }

    /// Whether the cache record of alias `name` is still there. Only a prune by someone
    /// else (`docker builder prune`) or BuildKit's garbage collection removes it; then
    /// every record built on the alias went too, and a "warm" build would be a cold one.
    pub fn alias_alive(&self, name: &str) -> Result<bool> {
        let marker = format!("{ALIAS_DIR}/{}-{name}", self.runid);
        Ok(self
            .records()?
            .iter()
            .any(|r| r.description.contains(&marker)))
    }

    /// Runs one build and times it.
    pub fn build(&mut self, req: &BuildRequest<'_>) -> Result<Built> {
        let args = buildx_args(req, &self.runid);
        self.count += 1;
        let log = self
            .logs
            .join(format!("{:03}-{}.log", self.count, req.what));
        let docker = &self.docker;
        let mut command: std::process::Command = cmd!(self.sh, "{docker} {args...}").into();
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = {
            let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
            if running.0 {
                bail!("interrupted");
            }
            let child = command.spawn().context("running docker buildx build")?;
            running.1 = Some(child.id());
            child
        };
        // BuildKit's plain progress arrives on stderr; a thread collects it (and notes the
        // latest step) so that the build can be watched while it runs.
        let shared = Arc::new(Mutex::new((String::new(), String::new())));
        let reader = {
            let shared = Arc::clone(&shared);
            let stderr = child.stderr.take().expect("stderr is piped");
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut s = shared.lock().unwrap();
                    if let Some(step) = step_title(&line) {
                        s.1 = step.to_string();
                    }
                    s.0.push_str(&line);
                    s.0.push('\n');
                }
            })
        };
        let stdout_reader = {
            let mut out = child.stdout.take().expect("stdout is piped");
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = out.read_to_string(&mut text);
                text
            })
        };
        let mut next_beat = 60.0;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            std::thread::sleep(Duration::from_millis(200));
            let elapsed = started.elapsed().as_secs_f64();
            if elapsed >= next_beat {
                next_beat += 60.0;
                if let Some(beat) = req.heartbeat {
                    let step = shared.lock().unwrap().1.clone();
                    beat(elapsed, &step);
                }
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        RUNNING.lock().unwrap_or_else(|e| e.into_inner()).1 = None;
        let _ = reader.join();
        let mut text = std::mem::take(&mut shared.lock().unwrap().0);
        text.push_str(&stdout_reader.join().unwrap_or_default());
        std::fs::write(&log, &text).with_context(|| format!("writing {}", log.display()))?;
        if !status.success() {
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "docker buildx build ({}) failed:\n{}\n(full log: {})",
                req.what,
                tail.join("\n"),
                log.display()
            );
        }
        Ok(Built {
            seconds,
            steps: parse_steps(&text),
            text,
        })
    }

    /// The image's size as the engine reports it (`docker image inspect`).
    pub fn image_size(&self, tag: &str) -> Result<u64> {
        let docker = &self.docker;
        let format = "{{.Size}}";
        let out = cmd!(self.sh, "{docker} image inspect --format {format} {tag}")
            .quiet()
            .read()
            .with_context(|| format!("inspecting {tag}"))?;
        out.trim()
            .parse()
            .with_context(|| format!("docker image inspect {tag}: size `{out}`"))
    }

    /// The image's unpacked size: the sum of its layers as `docker image history` lists
    /// them (uncompressed, what a container's file system holds).
    pub fn unpacked_size(&self, tag: &str) -> Result<u64> {
        let docker = &self.docker;
        let format = "{{.Size}}";
        let out = cmd!(
            self.sh,
            "{docker} image history --human=false --format {format} {tag}"
        )
        .quiet()
        .read()
        .with_context(|| format!("listing the layers of {tag}"))?;
        out.split_whitespace()
            .map(|n| {
                n.parse::<u64>()
                    .with_context(|| format!("docker image history {tag}: size `{n}`"))
            })
            .sum()
    }

    /// The size of one file inside an image (copied out of a created, never started
    /// container).
    pub fn file_size(&self, tag: &str, path: &str, scratch: &Path) -> Result<u64> {
        let docker = &self.docker;
        let label = format!("{LABEL}={}", self.runid);
        let id = cmd!(self.sh, "{docker} create --label {label} {tag}")
            .quiet()
            .read()
            .with_context(|| format!("creating a container of {tag}"))?;
        let dest = scratch.join("binary-from-image");
        let copied = cmd!(self.sh, "{docker} cp {id}:{path} {dest}")
            .quiet()
            .ignore_stdout()
            .run();
        let _ = cmd!(self.sh, "{docker} rm {id}")
            .quiet()
            .ignore_stdout()
            .run();
        copied.with_context(|| format!("copying {path} out of {tag}"))?;
        let size = std::fs::metadata(&dest)?.len();
        std::fs::remove_file(&dest)?;
        Ok(size)
    }

    /// Removes images by tag (missing ones are fine).
    pub fn remove_images(&self, tags: &[String]) {
        if tags.is_empty() {
            return;
        }
        let docker = &self.docker;
        let _ = cmd!(self.sh, "{docker} image rm --force {tags...}")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run();
    }

    /// Removes every image and container carrying this run's label.
    pub fn remove_labelled(&self) -> Result<usize> {
        let docker = &self.docker;
        let filter = format!("label={LABEL}={}", self.runid);
        let containers = cmd!(
            self.sh,
            "{docker} container ls --all --quiet --filter {filter}"
        )
        .quiet()
        .read()?;
        let containers: Vec<&str> = containers.split_whitespace().collect();
        if !containers.is_empty() {
            let _ = cmd!(self.sh, "{docker} container rm --force {containers...}")
                .quiet()
                .ignore_stdout()
                .run();
        }
        let images = cmd!(
            self.sh,
            "{docker} image ls --quiet --no-trunc --filter {filter}"
        )
        .quiet()
        .read()?;
        let mut images: Vec<&str> = images.split_whitespace().collect();
        images.sort();
        images.dedup();
        let count = images.len();
        if !images.is_empty() {
            cmd!(self.sh, "{docker} image rm --force {images...}")
                .quiet()
                .ignore_stdout()
                .run()
                .context("removing the bench's images")?;
        }
        Ok(count)
    }

    fn records(&self) -> Result<Vec<Record>> {
        let docker = &self.docker;
        let format = "{{json .BuildCache}}";
        let json = cmd!(self.sh, "{docker} system df --verbose --format {format}")
            .quiet()
            .read()
            .context("listing the build cache (docker system df --verbose)")?;
        let records: Vec<Record> = serde_json::from_str(json.trim())
            .context("reading `docker system df --verbose` build-cache JSON")?;
        Ok(records)
    }

    /// Prunes the build-cache records this run made (see the module docs): everything
    /// built on the run's aliases, and its cache mounts. With `keep_aliases`, the aliases'
    /// own layers stay (they are the base image a CI runner already has). Returns how many
    /// records were pruned.
    pub fn wipe(&self, keep_aliases: bool) -> Result<usize> {
        let mut pruned = 0;
        for _pass in 0..4 {
            let records = self.records()?;
            let ids = owned(&records, &self.runid, keep_aliases);
            if ids.is_empty() {
                break;
            }
            let before = ids.len();
            for chunk in ids.chunks(40) {
                let filter = format!("id={}", chunk.join("|"));
                let docker = &self.docker;
                cmd!(
                    self.sh,
                    "{docker} buildx prune --all --force --filter {filter}"
                )
                .quiet()
                .ignore_stdout()
                .run()
                .context("pruning the bench's build-cache records")?;
            }
            let left = owned(&self.records()?, &self.runid, keep_aliases).len();
            pruned += before.saturating_sub(left);
            if left == 0 || left == before {
                break;
            }
        }
        Ok(pruned)
    }
}

/// The arguments of `docker` for one build of run `runid`: cargo-image's own command line
/// (`drive::buildx`), as `cargo xtask image` runs it through buildx (`--load --progress
/// plain --provenance=false`), plus the run's label and the local caches.
fn buildx_args(req: &BuildRequest<'_>, runid: &str) -> Vec<String> {
    let tags = [req.tag.to_string()];
    let labels = [(LABEL.to_string(), runid.to_string())];
    let cache_to: Vec<String> = req
        .cache_to
        .map(|dir| format!("type=local,dest={},mode=max", dir.display()))
        .into_iter()
        .collect();
    let cache_from: Vec<String> = req
        .cache_from
        .map(|dir| format!("type=local,src={}", dir.display()))
        .into_iter()
        .collect();
    buildx::args(&BuildxRequest {
        dockerfile_dir: req.dockerfile_dir,
        context: req.context,
        build_contexts: &req.build_contexts,
        target: req.target,
        tags: &tags,
        build_args: &req.build_args,
        labels: &labels,
        secret_file: None,
        ssh: &[],
        secrets: &[],
        no_cache: false,
        platforms: &[],
        push: false,
        cache_to: &cache_to,
        cache_from: &cache_from,
        builder_name: None,
        annotations: &[],
        source_date_epoch: None,
    })
}

/// One build-cache record, as `docker system df --verbose --format json` lists it.
#[derive(Clone, Debug, Deserialize)]
struct Record {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Parent", default)]
    parent: String,
    #[serde(rename = "Description", default)]
    description: String,
}

impl Record {
    fn id(&self) -> &str {
        self.id.trim_end_matches('*')
    }

    fn parents(&self) -> impl Iterator<Item = &str> {
        self.parent
            .split([',', ' '])
            .map(str::trim)
            .filter(|p| !p.is_empty())
    }
}

/// The records of run `runid`: the aliases' layers (their description names the run),
/// cache mounts whose id carries the run id, and every descendant of those. Sorted.
fn owned(records: &[Record], runid: &str, keep_aliases: bool) -> Vec<String> {
    let by_id: BTreeMap<&str, &Record> = records.iter().map(|r| (r.id(), r)).collect();
    let is_alias = |r: &Record| r.description.contains(ALIAS_DIR) && r.description.contains(runid);
    let roots: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.description.contains(runid))
        .map(|r| r.id())
        .collect();
    let mut out = BTreeSet::new();
    for r in records {
        // Walk up the parent chain (breadth-first, guarded against cycles).
        let mut seen = BTreeSet::new();
        let mut queue = vec![r.id()];
        let mut mine = false;
        while let Some(id) = queue.pop() {
            if roots.contains(id) {
                mine = true;
                break;
            }
            if !seen.insert(id) {
                continue;
            }
            if let Some(rec) = by_id.get(id) {
                queue.extend(rec.parents());
            }
        }
        if mine && !(keep_aliases && is_alias(r)) {
            out.insert(r.id().to_string());
        }
    }
    out.into_iter().collect()
}

/// Seconds spent unpacking layers imported from a cache: the sum of BuildKit's
/// `extracting sha256:… 0.7s done` lines (layers it reports without a time are quick).
pub fn extract_seconds(text: &str) -> f64 {
    text.lines()
        .filter_map(|l| {
            let rest = &l[l.find(" extracting sha256:")?..];
            let time = rest.strip_suffix(" done")?.rsplit(' ').next()?;
            time.strip_suffix('s')?.parse::<f64>().ok()
        })
        .sum()
}

/// The title of a step-start line (`#N [stage k/n] INSTRUCTION`), if it is one.
fn step_title(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('#')?;
    let (num, body) = rest.split_once(' ')?;
    num.parse::<u32>().ok()?;
    body.starts_with('[').then_some(body)
}

/// Steps from BuildKit's plain progress: `#N [stage k/n] INSTRUCTION`, `#N CACHED`,
/// `#N DONE 1.2s`; in order of first appearance.
pub fn parse_steps(text: &str) -> Vec<Step> {
    let mut order: Vec<u32> = Vec::new();
    let mut steps: BTreeMap<u32, Step> = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let Some((num, body)) = rest.split_once(' ') else {
            continue;
        };
        let Ok(num) = num.parse::<u32>() else {
            continue;
        };
        let step = steps.entry(num).or_insert_with(|| {
            order.push(num);
            Step {
                name: String::new(),
                cached: false,
                seconds: None,
            }
        });
        if step.name.is_empty() && !body.starts_with(|c: char| c.is_ascii_digit()) {
            step.name = body.to_string();
        }
        if body == "CACHED" {
            step.cached = true;
        } else if let Some(t) = body.strip_prefix("DONE ") {
            step.seconds = t.trim_end_matches('s').parse().ok();
        }
    }
    order.into_iter().filter_map(|n| steps.remove(&n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extraction_times_add_up() {
        let text = "#20 extracting sha256:86f8 0.9s done\n\
                    #20 extracting sha256:3341 done\n\
                    #20 sha256:968c 40.16MB / 40.16MB 0.5s done\n\
                    #21 extracting sha256:968c 0.7s done\n";
        assert!((extract_seconds(text) - 1.6).abs() < 1e-9);
    }

    #[test]
    fn plain_progress_parses_into_steps() {
        let text = "#1 [internal] load build definition from Dockerfile\n\
                    #1 transferring dockerfile: 2B done\n\
                    #1 DONE 0.0s\n\
                    \n\
                    #5 [build 2/3] RUN cargo build\n\
                    #5 0.512 Compiling x\n\
                    #5 DONE 12.5s\n\
                    #4 [build 1/3] WORKDIR /app\n\
                    #4 CACHED\n\
                    #8 exporting to image\n\
                    #8 DONE 0.3s\n";
        let steps = parse_steps(text);
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[1].name, "[build 2/3] RUN cargo build");
        assert_eq!(steps[1].seconds, Some(12.5));
        assert!(steps[2].cached);
        assert_eq!(steps[3].name, "exporting to image");
    }

    #[test]
    fn builds_use_cargo_images_command_line_with_the_runs_label_and_caches() {
        let dir = Path::new("/w/ours");
        let req = BuildRequest {
            dockerfile_dir: dir,
            context: Path::new("/w/context"),
            build_contexts: vec![("cargo-image-tools".into(), dir.join(".cargo-image"))],
            target: "product-api",
            tag: "cargo-image-bench/r1:ours",
            cache_to: Some(Path::new("/w/cache")),
            cache_from: None,
            build_args: vec![("CARGO_IMAGE_BUILD".into(), "layers".into())],
            what: "w".into(),
            heartbeat: None,
        };
        let args = buildx_args(&req, "r1");
        let has = |pair: [&str; 2]| args.windows(2).any(|w| w == pair);
        assert_eq!(&args[..2], ["buildx", "build"]);
        assert!(has(["--file", "/w/ours/Dockerfile"]), "{args:?}");
        assert!(has(["--target", "product-api"]), "{args:?}");
        assert!(has(["--progress", "plain"]), "{args:?}");
        assert!(args.iter().any(|a| a == "--load"), "{args:?}");
        assert!(has(["--tag", "cargo-image-bench/r1:ours"]), "{args:?}");
        assert!(has(["--label", "org.cargo-image.bench=r1"]), "{args:?}");
        assert!(
            has(["--cache-to", "type=local,dest=/w/cache,mode=max"]),
            "{args:?}"
        );
        assert!(!args.iter().any(|a| a == "--cache-from"), "{args:?}");
        assert!(has(["--build-arg", "CARGO_IMAGE_BUILD=layers"]), "{args:?}");
        assert!(
            has(["--build-context", "cargo-image-tools=/w/ours/.cargo-image"]),
            "{args:?}"
        );
        assert_eq!(args.last().map(String::as_str), Some("/w/context"));
    }

    #[test]
    fn only_the_runs_records_are_owned() {
        let rec = |id: &str, parent: &str, description: &str| Record {
            id: id.into(),
            parent: parent.into(),
            description: description.into(),
        };
        let records = vec![
            rec("base", "", "pulled layer"),
            rec(
                "alias",
                "base",
                "mount / from exec /bin/sh -c mkdir -p /etc/cargo-image-bench && echo x >/etc/cargo-image-bench/r1-x",
            ),
            rec("mine1", "alias", "mount / from exec cargo build"),
            rec("mine2*", "mine1", "mount / from exec cp"),
            rec("theirs", "base", "mount / from exec cargo build"),
            rec("cm", "", "cached mount /app/target with id \"/bench-r1-x-target\""),
            rec("other-alias", "base", "echo x >/etc/cargo-image-bench/r2-x"),
        ];
        assert_eq!(owned(&records, "r1", true), ["cm", "mine1", "mine2"]);
        assert_eq!(
            owned(&records, "r1", false),
            ["alias", "cm", "mine1", "mine2"]
        );
    }
}
