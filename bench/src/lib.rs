//! `cargo xtask bench`: builds one workspace five ways in one run and compares them. A
//! crate of its own (the xtask runs its binary, `src/main.rs`), so that the chart and the
//! signal handler are compiled only for the bench.
//!
//! Variants: `host` (`cargo build` on this machine, the physical limit), `single-stage`
//! (`COPY . .` + `cargo build`), `chef` (the cargo-chef pattern), `cache-mount` (the
//! `docker init` pattern) and `ours` (the Dockerfile cargo-image generates). Every Docker
//! variant is built the same way (`docker buildx build --load --progress plain
//! --provenance=false`, cargo-image's own buildx command line), from the same builder and
//! runtime images, with the same cargo flags (taken from our plan).
//!
//! Scenarios, variants interleaved within each: cold (nothing cached), warm after editing
//! the binary's crate, warm after editing a library in the middle of the graph, warm after
//! a version bump, and CI-warm after each edit (the previous build's cache exported with
//! `--cache-to type=local,mode=max`, the builder cache wiped, the rebuild importing only
//! that export); plus each runtime image's size. Edits are real edits, made and undone in a
//! scratch copy of the workspace. With `--runs N`, every figure is the median of N.
//!
//! The bench is a command, never a timed test: it prints what it measured and whether the
//! issue's targets hold (see [`report::BenchReport::targets`]). It never prunes the whole
//! build cache (other builds may share the engine): see [`docker`] for how a cold build
//! and a wiped cache are obtained for the bench's builds alone.

pub mod chart;
pub mod docker;
pub mod dockerfiles;
pub mod edits;
pub mod report;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

use cargo_image::image::BuildMode;
use cargo_image::model::{DepKind, TargetKind, Workspace};
use cargo_image::plan::{closure, Plan, PlanOptions};
use cargo_image::render;

pub use report::{BenchReport, Details, Figures};

use docker::{BuildRequest, Built, Engine};
use dockerfiles::BuildFacts;

/// The builder image the bench uses unless told otherwise: the local stand-in (no registry
/// is needed; see `scripts/stand-in-images.sh`).
pub const DEFAULT_BUILDER: &str = "cargo-image-stand-in/rust:latest";

/// The runtime images behind the keywords unless told otherwise: the local stand-ins.
pub fn default_base_images() -> BTreeMap<String, String> {
    [
        ("distroless-cc", "cargo-image-stand-in/distroless-cc:trixie"),
        (
            "distroless-static",
            "cargo-image-stand-in/distroless-static:trixie",
        ),
        ("debian-slim", "cargo-image-stand-in/debian-slim:trixie"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A way of building the workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    Host,
    SingleStage,
    Chef,
    CacheMount,
    Ours,
}

impl Variant {
    pub const ALL: [Variant; 5] = [
        Variant::Host,
        Variant::SingleStage,
        Variant::Chef,
        Variant::CacheMount,
        Variant::Ours,
    ];

    /// The name used on the command line, in the JSON and in the table.
    pub fn name(&self) -> &'static str {
        match self {
            Variant::Host => "host",
            Variant::SingleStage => "single-stage",
            Variant::Chef => "chef",
            Variant::CacheMount => "cache-mount",
            Variant::Ours => "ours",
        }
    }

    pub fn parse(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }

    fn is_docker(&self) -> bool {
        *self != Variant::Host
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    Cold,
    WarmBin,
    WarmLib,
    Bump,
    CiWarmBin,
    CiWarmLib,
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Scenario::Cold,
        Scenario::WarmBin,
        Scenario::WarmLib,
        Scenario::Bump,
        Scenario::CiWarmBin,
        Scenario::CiWarmLib,
    ];

    /// The column title.
    pub fn title(&self) -> &'static str {
        match self {
            Scenario::Cold => "cold",
            Scenario::WarmBin => "warm bin",
            Scenario::WarmLib => "warm lib",
            Scenario::Bump => "bump",
            Scenario::CiWarmBin => "CI-warm bin",
            Scenario::CiWarmLib => "CI-warm lib",
        }
    }

    /// Short name for logs.
    fn slug(&self) -> &'static str {
        match self {
            Scenario::Cold => "cold",
            Scenario::WarmBin => "warm-bin",
            Scenario::WarmLib => "warm-lib",
            Scenario::Bump => "bump",
            Scenario::CiWarmBin => "ci-warm-bin",
            Scenario::CiWarmLib => "ci-warm-lib",
        }
    }
}

/// Options of `cargo xtask bench`.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub manifest_path: PathBuf,
    /// The binary whose image is built; default: the plan's first.
    pub bin: Option<String>,
    /// The library edited for the "warm lib" figures; default: the local library (in the
    /// binary's dependencies, not its own package) with the most dependents.
    pub lib: Option<String>,
    pub runs: usize,
    pub variants: Vec<Variant>,
    /// Default: [`DEFAULT_BUILDER`].
    pub builder_image: Option<String>,
    /// Override [`default_base_images`] per keyword.
    pub base_images: BTreeMap<String, String>,
    pub json: Option<PathBuf>,
    pub chart: Option<PathBuf>,
    /// Keep every build's log here (default: a temporary directory, removed).
    pub logs: Option<PathBuf>,
    /// Builds missing stand-in images (`scripts/stand-in-images.sh`).
    pub stand_in_script: Option<PathBuf>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            manifest_path: PathBuf::from("Cargo.toml"),
            bin: None,
            lib: None,
            runs: 1,
            variants: Variant::ALL.to_vec(),
            builder_image: None,
            base_images: BTreeMap::new(),
            json: None,
            chart: None,
            logs: None,
            stand_in_script: None,
        }
    }
}

/// Progress lines on stderr, stamped with the time since the bench started.
struct Progress {
    started: Instant,
}

impl Progress {
    fn say(&self, msg: impl fmt::Display) {
        let s = self.started.elapsed().as_secs();
        eprintln!("[{:>3}:{:02}] {msg}", s / 60, s % 60);
    }
}

/// Everything a run needs, fixed for the whole bench.
struct Setup {
    runid: String,
    /// The scratch copy of the build context, and the workspace root in it.
    context: PathBuf,
    manifest: PathBuf,
    plan_options: PlanOptions,
    facts: BuildFacts,
    /// Absolute paths of the sources the edits touch.
    bin_source: PathBuf,
    /// The edited library: its name and crate root.
    lib: Option<(String, PathBuf)>,
    package_manifest: PathBuf,
    manifests: Vec<PathBuf>,
    work: PathBuf,
    host_target: PathBuf,
}

/// Raw measurements, before medians.
#[derive(Default)]
struct Samples {
    seconds: BTreeMap<(Variant, Scenario), Vec<f64>>,
    image_bytes: BTreeMap<Variant, Vec<u64>>,
    /// Ours' image unpacked, and the binary in it.
    unpacked_bytes: Vec<u64>,
    binary_bytes: Vec<u64>,
    /// A rebuild with nothing changed, per variant: the fixed cost of a build.
    noop: BTreeMap<Variant, Vec<f64>>,
    /// Seconds ours' CI-warm builds spent unpacking imported cache layers.
    ci_import: Vec<f64>,
}

/// A run whose warm state was pruned from the build cache by someone else: its figures
/// would be cold builds. The run is repeated.
#[derive(Debug)]
struct Disturbed(String);

impl fmt::Display for Disturbed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the build cache of `{}` was pruned during the bench (another `docker builder \
             prune`, or BuildKit's garbage collection)",
            self.0
        )
    }
}

impl std::error::Error for Disturbed {}

/// How often a disturbed run is repeated before the bench gives up.
const MAX_REPEATS: usize = 2;

/// Runs the bench and returns the report (also written to `json`/`chart` when given).
pub fn bench(opts: &BenchOptions) -> Result<BenchReport> {
    let progress = Progress {
        started: Instant::now(),
    };
    if opts.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let variants: Vec<Variant> = Variant::ALL
        .into_iter()
        .filter(|v| opts.variants.contains(v))
        .collect();
    if variants.is_empty() {
        bail!(
            "no variant to run; choose among {}",
            Variant::ALL.map(|v| v.name()).join(", ")
        );
    }
    let runid = run_id();
    let sh = Shell::new()?;
    let work_dir = sh.create_temp_dir()?;
    let work = work_dir.path().to_path_buf();
    let setup = prepare(opts, &runid, &work)?;
    let logs = opts.logs.clone().unwrap_or_else(|| work.join("logs"));
    progress.say(format_args!(
        "bench {runid}: {}, bin {}, lib {}, variants {}, {} run{}; logs in {}",
        opts.manifest_path.display(),
        setup.facts.bin,
        setup
            .lib
            .as_ref()
            .map(|(name, _)| name.clone())
            .unwrap_or_else(|| "none (no warm-lib figures)".into()),
        variants
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(","),
        opts.runs,
        if opts.runs == 1 { "" } else { "s" },
        logs.display()
    ));

    let mut engine = if variants.iter().any(|v| v.is_docker()) {
        let engine = Engine::new(&runid, &logs)?;
        // Ctrl-C (or a SIGTERM from CI) would leave this run's images and build-cache
        // records behind: the handler removes them, as a finished run does, then exits.
        let (cleanup_runid, cleanup_logs) = (runid.clone(), logs.clone());
        ctrlc::set_handler(move || {
            // Held until the process exits: no build starts after the one stopped here.
            let _stopped = crate::docker::interrupt();
            eprintln!("\ninterrupted: removing this bench's images and build-cache records");
            if let Ok(engine) = Engine::new(&cleanup_runid, &cleanup_logs) {
                let images = engine.remove_labelled().unwrap_or(0);
                let records = engine.wipe(false).unwrap_or(0);
                eprintln!(
                    "cleaned up: {images} images, {records} build-cache records of this bench"
                );
            }
            std::process::exit(130);
        })
        .context("installing the bench's Ctrl-C handler")?;
        check_images(&engine, &setup, opts, &progress)?;
        Some(engine)
    } else {
        None
    };

    let mut samples = Samples::default();
    let mut outcome = Ok(());
    // `pass` names the aliases and cache mounts: a repeated run gets fresh ones.
    let mut pass = 0;
    let mut repeats = 0;
    let mut run = 0;
    while run < opts.runs {
        let mut run_samples = Samples::default();
        let result = run_once(
            &setup,
            &variants,
            (run, pass),
            opts.runs,
            engine.as_mut(),
            &mut run_samples,
            &progress,
        );
        pass += 1;
        match result {
            Ok(()) => {
                samples.merge(run_samples);
                run += 1;
            }
            Err(e) if e.downcast_ref::<Disturbed>().is_some() && repeats < MAX_REPEATS => {
                repeats += 1;
                progress.say(format_args!(
                    "warning: {e}; repeating run {} (a quiet engine gives better figures)",
                    run + 1
                ));
            }
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    if let Some(engine) = &engine {
        let images = engine.remove_labelled().unwrap_or(0);
        let records = engine.wipe(false).unwrap_or(0);
        progress.say(format_args!(
            "cleaned up: {images} images, {records} build-cache records of this bench"
        ));
    }
    outcome?;

    let report = BenchReport {
        workspace: shown_path(&opts.manifest_path),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        variants: variants
            .iter()
            .map(|v| {
                let mut f = Figures::default();
                for s in Scenario::ALL {
                    f.set_seconds(
                        s,
                        samples
                            .seconds
                            .get(&(*v, s))
                            .and_then(|x| report::median(x))
                            // Centiseconds: more would be noise.
                            .map(|m| (m * 100.0).round() / 100.0),
                    );
                }
                f.image_bytes = samples.image_bytes.get(v).and_then(|x| median_u64(x));
                (*v, f)
            })
            .collect(),
        details: Details {
            bin: setup.facts.bin.clone(),
            lib: setup.lib.as_ref().map(|(name, _)| name.clone()),
            runs: opts.runs,
            binary_bytes: median_u64(&samples.binary_bytes),
            image_unpacked_bytes: median_u64(&samples.unpacked_bytes),
            binary_stripped: setup.facts.strip,
            noop_s: samples
                .noop
                .iter()
                .filter_map(|(v, x)| Some((*v, report::median(x)?)))
                .collect(),
            ci_import_s: report::median(&samples.ci_import),
            total_seconds: progress.started.elapsed().as_secs_f64(),
        },
    };
    if let Some(path) = &opts.json {
        write_file(path, &report.json())?;
        progress.say(format_args!("wrote {}", path.display()));
    }
    if let Some(path) = &opts.chart {
        write_file(path, &chart::svg(&report)?)?;
        progress.say(format_args!("wrote {}", path.display()));
    }
    drop(work_dir);
    Ok(report)
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        for (k, v) in other.seconds {
            self.seconds.entry(k).or_default().extend(v);
        }
        for (k, v) in other.image_bytes {
            self.image_bytes.entry(k).or_default().extend(v);
        }
        self.unpacked_bytes.extend(other.unpacked_bytes);
        self.binary_bytes.extend(other.binary_bytes);
        for (k, v) in other.noop {
            self.noop.entry(k).or_default().extend(v);
        }
        self.ci_import.extend(other.ci_import);
    }
}

/// Copies the workspace, plans it for one binary, and finds what the edits touch.
fn prepare(opts: &BenchOptions, runid: &str, work: &Path) -> Result<Setup> {
    let mut base_images = default_base_images();
    base_images.extend(opts.base_images.clone());
    let mut plan_options = PlanOptions {
        bins: opts.bin.iter().cloned().collect(),
        builder: Some(
            opts.builder_image
                .clone()
                .unwrap_or_else(|| DEFAULT_BUILDER.to_string()),
        ),
        base_images,
        ..PlanOptions::default()
    };
    let (loaded, plan) = cargo_image::tasks::load(&opts.manifest_path, &plan_options)?;
    let bin = match &opts.bin {
        Some(b) => b.clone(),
        None => plan.images[0].bin.clone(),
    };
    plan_options.bins = vec![bin.clone()];

    let context = work.join("context");
    edits::copy_context(&loaded.context_dir, &context)
        .context("copying the workspace to a scratch directory")?;
    let rel = loaded
        .workspace_dir
        .strip_prefix(&loaded.context_dir)
        .unwrap_or(Path::new(""));
    let manifest = context.join(rel).join("Cargo.toml");
    let (loaded, plan) = cargo_image::tasks::load(&manifest, &plan_options)?;
    let image = plan
        .images
        .iter()
        .find(|i| i.bin == bin)
        .context("the plan has no image for the binary")?;
    let ws = &loaded.workspace;
    let package = ws.package(&image.package).context("the binary's package")?;
    let bin_target = package
        .targets
        .iter()
        .find(|t| t.kind == TargetKind::Bin && t.name == bin)
        .context("the binary's target")?;
    let lib = choose_lib(ws, &package.name, opts.lib.as_deref())?;
    let triple = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let facts = BuildFacts::from_plan(&plan, image, &triple);
    let mut manifests: Vec<PathBuf> = ws
        .packages
        .iter()
        .map(|p| context.join(cargo_image::skeleton::manifest_path(p)))
        .filter(|p| p.is_file())
        .collect();
    manifests.push(manifest.clone());
    manifests.sort();
    manifests.dedup();
    Ok(Setup {
        runid: runid.to_string(),
        bin_source: context.join(&bin_target.src_path),
        lib: lib.map(|(name, src)| (name, context.join(src))),
        package_manifest: context.join(cargo_image::skeleton::manifest_path(package)),
        manifests,
        context,
        manifest,
        plan_options,
        facts,
        work: work.to_path_buf(),
        host_target: work.join("host-target"),
    })
}

/// The library to edit: `requested`, or the local library the binary's package depends
/// on (directly or not) with the most dependents in the workspace. Returns its name and
/// crate root (context-relative).
pub fn choose_lib(
    ws: &Workspace,
    bin_package: &str,
    requested: Option<&str>,
) -> Result<Option<(String, String)>> {
    let needed = closure(
        ws,
        std::iter::once(bin_package),
        &[DepKind::Normal, DepKind::Build],
    );
    let lib_source = |name: &str| {
        ws.package(name).and_then(|p| {
            p.targets
                .iter()
                .find(|t| matches!(t.kind, TargetKind::Lib | TargetKind::ProcMacro))
                .map(|t| t.src_path.clone())
        })
    };
    if let Some(name) = requested {
        if ws.package(name).is_none() {
            bail!("--lib {name}: no local package of that name");
        }
        if !needed.contains(name) {
            bail!(
                "--lib {name}: not a dependency of `{bin_package}`, so editing it rebuilds nothing"
            );
        }
        let Some(src) = lib_source(name) else {
            bail!("--lib {name}: the package has no library target");
        };
        return Ok(Some((name.to_string(), src)));
    }
    let dependents = |name: &str| {
        ws.packages
            .iter()
            .filter(|q| q.name != name && q.deps.iter().any(|d| d.package == name))
            .count()
    };
    Ok(needed
        .iter()
        .filter(|n| n.as_str() != bin_package)
        .filter_map(|n| lib_source(n).map(|src| (n.clone(), src)))
        .max_by(|a, b| {
            dependents(&a.0)
                .cmp(&dependents(&b.0))
                .then_with(|| b.0.cmp(&a.0))
        }))
}

/// Makes sure the builder and runtime images are in the engine; never pulls. Missing
/// stand-ins are built with the stand-in script when there is one.
fn check_images(
    engine: &Engine,
    setup: &Setup,
    opts: &BenchOptions,
    progress: &Progress,
) -> Result<()> {
    let mut images = vec![setup.facts.builder.clone()];
    if setup.facts.runtime_base != "scratch" {
        images.push(setup.facts.runtime_base.clone());
    }
    for image in images {
        if engine.has_image(&image) {
            continue;
        }
        match &opts.stand_in_script {
            Some(script) if image.starts_with("cargo-image-stand-in/") && script.is_file() => {
                progress.say(format_args!(
                    "{image} is missing: building the stand-ins with {}",
                    script.display()
                ));
                let status = std::process::Command::new("bash")
                    .arg(script)
                    .status()
                    .with_context(|| format!("running {}", script.display()))?;
                if !status.success() || !engine.has_image(&image) {
                    bail!("{} did not produce {image}", script.display());
                }
            }
            _ => bail!(
                "{image} is not in the engine, and the bench never pulls; build the stand-ins \
                 (`bash scripts/stand-in-images.sh`), `docker load` it, or choose others with \
                 --builder-image / --base-image KEYWORD=IMAGE"
            ),
        }
    }
    Ok(())
}

/// One Docker variant within a run.
struct DockerVariant {
    variant: Variant,
    /// `<variant>-r<pass>`: names the alias.
    name: String,
    alias: String,
    tag: String,
    dir: PathBuf,
    cache: PathBuf,
}

/// One full pass over every scenario.
fn run_once(
    setup: &Setup,
    variants: &[Variant],
    (run, pass): (usize, usize),
    runs: usize,
    mut engine: Option<&mut Engine>,
    samples: &mut Samples,
    progress: &Progress,
) -> Result<()> {
    // Interleaved, and rotated between runs so that no variant always goes first.
    let mut order = variants.to_vec();
    let rotation = run % order.len();
    order.rotate_left(rotation);
    let label = format!("run {}/{runs}", run + 1);

    let mut dockers = Vec::new();
    if let Some(engine) = engine.as_deref_mut() {
        progress.say(format_args!(
            "{label}: builder aliases (a fresh cache key per variant: cold builds)"
        ));
        for v in order.iter().filter(|v| v.is_docker()) {
            let name = format!("{}-r{pass}", v.name());
            let alias = format!("cargo-image-bench/{}-builder:{name}", setup.runid);
            engine.alias(&setup.facts.builder, &alias, &name)?;
            let dir = setup.work.join("dockerfiles").join(&name);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(
                dir.join("Dockerfile.dockerignore"),
                cargo_image::ignore::render(None, &[], None, cargo_image::render::tools::DIR),
            )?;
            let facts = BuildFacts {
                builder: alias.clone(),
                ..setup.facts.clone()
            };
            let cache_id = format!("bench-{}-r{pass}-{}", setup.runid, v.name());
            let text = match v {
                Variant::SingleStage => Some(dockerfiles::single_stage(&facts)),
                Variant::Chef => Some(dockerfiles::chef(&facts)),
                Variant::CacheMount => Some(dockerfiles::cache_mount(&facts, &cache_id)),
                _ => None, // ours: rendered before every build, from the edited workspace
            };
            if let Some(text) = text {
                std::fs::write(dir.join("Dockerfile"), text)?;
            }
            dockers.push(DockerVariant {
                variant: *v,
                name: name.clone(),
                alias,
                tag: format!("cargo-image-bench/{}:{}", setup.runid, v.name()),
                dir,
                cache: setup.work.join("cache").join(&name),
            });
        }
    }
    let host = order.contains(&Variant::Host);
    if host {
        progress.say(format_args!("{label} host: first build (not measured)"));
        let t = host_build(setup, "first")?;
        progress.say(format_args!("{label} host: first build {t:.1} s"));
    }

    // One scenario: build every variant (in order) on the current sources.
    let measure = |scenario: Scenario,
                   engine: &mut Option<&mut Engine>,
                   samples: &mut Samples,
                   ci: bool|
     -> Result<()> {
        for v in &order {
            if *v == Variant::Host {
                if ci || scenario == Scenario::Cold {
                    continue;
                }
                let t = host_build(setup, scenario.slug())?;
                progress.say(format_args!(
                    "{label} {:<12} {:<13} {t:>7.1} s",
                    scenario.title(),
                    "host"
                ));
                samples
                    .seconds
                    .entry((Variant::Host, scenario))
                    .or_default()
                    .push(t);
                continue;
            }
            let engine = engine
                .as_deref_mut()
                .expect("docker variants have an engine");
            let d = dockers
                .iter()
                .find(|d| d.variant == *v)
                .expect("every docker variant is set up");
            if scenario != Scenario::Cold && !engine.alias_alive(&d.name)? {
                return Err(Disturbed(d.variant.name().to_string()).into());
            }
            let built = docker_build(
                engine,
                setup,
                d,
                scenario,
                None,
                ci.then_some(d.cache.as_path()),
                pass,
                progress,
            )?;
            progress.say(format_args!(
                "{label} {:<12} {:<13} {:>7.1} s   ran: {}",
                scenario.title(),
                v.name(),
                built.seconds,
                ran_summary(&built)
            ));
            samples
                .seconds
                .entry((*v, scenario))
                .or_default()
                .push(built.seconds);
            if ci && *v == Variant::Ours {
                samples.ci_import.push(docker::extract_seconds(&built.text));
            }
            if scenario == Scenario::Cold {
                let size = engine.image_size(&d.tag)?;
                samples.image_bytes.entry(*v).or_default().push(size);
                if *v == Variant::Ours {
                    samples.unpacked_bytes.push(engine.unpacked_size(&d.tag)?);
                    let bin = &setup.facts.bin;
                    let b =
                        engine.file_size(&d.tag, &format!("/usr/local/bin/{bin}"), &setup.work)?;
                    samples.binary_bytes.push(b);
                }
            }
        }
        Ok(())
    };
    let stamp = |what: &str| format!("cargo xtask bench {} pass {pass}: {what}", setup.runid);

    if !dockers.is_empty() {
        measure(Scenario::Cold, &mut engine, samples, false)?;
    }
    // The floor: a rebuild with nothing changed (client start, context check, cached
    // solve, image export), which every warm figure pays on top of compiling.
    for v in &order {
        let t = if *v == Variant::Host {
            host_build(setup, "noop")?
        } else {
            let engine = engine
                .as_deref_mut()
                .expect("docker variants have an engine");
            let d = dockers.iter().find(|d| d.variant == *v).expect("set up");
            docker_build(engine, setup, d, Scenario::Cold, None, None, pass, progress)?.seconds
        };
        progress.say(format_args!(
            "{label} {:<12} {:<13} {t:>7.1} s",
            "no-op",
            v.name()
        ));
        samples.noop.entry(*v).or_default().push(t);
    }
    let edit = edits::append_comment(&setup.bin_source, &stamp("edit the binary"))?;
    let r = measure(Scenario::WarmBin, &mut engine, samples, false);
    edit.undo()?;
    r?;
    if let Some((_, lib)) = &setup.lib {
        let edit = edits::append_comment(lib, &stamp("edit the library"))?;
        let r = measure(Scenario::WarmLib, &mut engine, samples, false);
        edit.undo()?;
        r?;
    }
    let root_manifest = setup.manifest.clone();
    let (edit, bump) = edits::bump_version(
        &root_manifest,
        &setup.package_manifest,
        &setup.manifests,
        &cargo_update,
    )?;
    progress.say(format_args!(
        "{label} bump: {} → {} in {}",
        bump.old,
        bump.new,
        bump.manifest
            .strip_prefix(&setup.context)
            .unwrap_or(&bump.manifest)
            .display()
    ));
    let r = measure(Scenario::Bump, &mut engine, samples, false);
    edit.undo()?;
    r?;

    let Some(engine_ref) = engine.as_deref_mut() else {
        return Ok(());
    };
    // CI-warm: export each variant's cache from a build of the unedited sources (not
    // measured), then wipe the bench's build cache before each edited rebuild.
    for d in &dockers {
        let built = docker_build(
            engine_ref,
            setup,
            d,
            Scenario::Cold,
            Some(&d.cache),
            None,
            pass,
            progress,
        )?;
        progress.say(format_args!(
            "{label} cache export {:<13} {:>7.1} s (not measured)",
            d.variant.name(),
            built.seconds
        ));
    }
    let tags: Vec<String> = dockers.iter().map(|d| d.tag.clone()).collect();
    let wipe = |engine: &mut Engine| -> Result<()> {
        engine.remove_images(&tags);
        let n = engine.wipe(true)?;
        progress.say(format_args!(
            "{label} builder cache wiped ({n} records of this bench; cache mounts included)"
        ));
        Ok(())
    };
    wipe(engine_ref)?;
    let edit = edits::append_comment(&setup.bin_source, &stamp("edit the binary for CI"))?;
    let r = measure(Scenario::CiWarmBin, &mut engine, samples, true);
    edit.undo()?;
    r?;
    if let Some((_, lib)) = &setup.lib {
        wipe(engine.as_deref_mut().expect("engine"))?;
        let edit = edits::append_comment(lib, &stamp("edit the library for CI"))?;
        let r = measure(Scenario::CiWarmLib, &mut engine, samples, true);
        edit.undo()?;
        r?;
    }
    let engine_ref = engine.expect("engine");
    wipe(engine_ref)?;
    let aliases: Vec<String> = dockers.iter().map(|d| d.alias.clone()).collect();
    engine_ref.remove_images(&aliases);
    for d in &dockers {
        let _ = std::fs::remove_dir_all(&d.cache);
    }
    Ok(())
}

/// Builds one Docker variant on the current sources; `progress` hears about long builds.
#[allow(clippy::too_many_arguments)]
fn docker_build(
    engine: &mut Engine,
    setup: &Setup,
    d: &DockerVariant,
    scenario: Scenario,
    cache_to: Option<&Path>,
    cache_from: Option<&Path>,
    run: usize,
    progress: &Progress,
) -> Result<Built> {
    let mut target = dockerfiles::RUNTIME_STAGE.to_string();
    let mut build_contexts = Vec::new();
    if d.variant == Variant::Ours {
        // As a user would: the Dockerfile regenerated from the workspace as it is now (a
        // version bump changes the runtime stage's version label).
        let plan = ours_plan(setup, &d.alias)?;
        let image = plan
            .images
            .iter()
            .find(|i| i.bin == setup.facts.bin)
            .context("ours: the plan lost the binary")?;
        target = image.stage.clone();
        std::fs::write(d.dir.join("Dockerfile"), render::dockerfile::render(&plan))?;
        cargo_image::artifacts::write_all(&cargo_image::artifacts::tool_artifacts(&plan, &d.dir))?;
        build_contexts.push((
            render::tools::STAGE.to_string(),
            d.dir.join(render::tools::DIR),
        ));
    }
    // Ours runs as our tooling runs it: `cargo xtask image` (and the CI templates) pick
    // the `layers` mode when a cache is exported or imported, as on a CI runner; a
    // laptop's builds use the default `incremental` mode.
    let mut build_args = Vec::new();
    if d.variant == Variant::Ours && (cache_to.is_some() || cache_from.is_some()) {
        build_args.push((
            render::dockerfile::BUILD_MODE_ARG.to_string(),
            BuildMode::Layers.arg(true).to_string(),
        ));
    }
    let what = format!(
        "r{run}-{}{}-{}",
        scenario.slug(),
        if cache_to.is_some() { "-export" } else { "" },
        d.variant.name()
    );
    engine.build(&BuildRequest {
        dockerfile_dir: &d.dir,
        context: &setup.context,
        build_contexts,
        target: &target,
        tag: &d.tag,
        cache_to,
        cache_from,
        build_args,
        what: what.clone(),
        heartbeat: Some(&|seconds: f64, step: &str| {
            let step: String = step.chars().take(90).collect();
            progress.say(format_args!("  … {what}: {seconds:.0} s, at {step}"));
        }),
    })
}

fn ours_plan(setup: &Setup, alias: &str) -> Result<Plan> {
    let opts = PlanOptions {
        builder: Some(alias.to_string()),
        ..setup.plan_options.clone()
    };
    let (_, plan) = cargo_image::tasks::load(&setup.manifest, &opts)?;
    Ok(plan)
}

/// `cargo build` on the host with the variants' flags, in the scratch copy, timed.
fn host_build(setup: &Setup, what: &str) -> Result<f64> {
    let sh = Shell::new()?;
    let manifest = &setup.manifest;
    let args = setup.facts.cargo_args();
    let mut command = cmd!(sh, "cargo build {args...} --manifest-path {manifest}")
        .env("CARGO_TARGET_DIR", &setup.host_target)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .quiet()
        .ignore_status();
    for (k, v) in setup.facts.cargo_env() {
        command = command.env(k, v);
    }
    let started = Instant::now();
    let output = command
        .output()
        .context("running cargo build on the host")?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        bail!(
            "host cargo build ({what}) failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(seconds)
}

/// Brings Cargo.lock in line with bumped manifests, offline.
fn cargo_update(manifest: &Path) -> Result<()> {
    let sh = Shell::new()?;
    cmd!(
        sh,
        "cargo update --workspace --offline --manifest-path {manifest}"
    )
    .quiet()
    .ignore_stdout()
    .ignore_stderr()
    .run()
    .context("cargo update --workspace --offline")?;
    Ok(())
}

/// The steps that ran for a second or more, longest first: what an edit rebuilt.
fn ran_summary(built: &Built) -> String {
    let ran = built.ran(1.0);
    if ran.is_empty() {
        return "nothing over 1 s".into();
    }
    ran.iter()
        .take(4)
        .map(|s| {
            let name: String = s.name.chars().take(60).collect();
            format!("{name} {:.1}s", s.seconds.unwrap_or(0.0))
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn median_u64(values: &[u64]) -> Option<u64> {
    let v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
    report::median(&v).map(|m| m.round() as u64)
}

/// A run id unique on this engine: lowercase (it goes into image names).
fn run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("b{:x}{:x}", now.as_secs(), std::process::id())
}

/// The path as given, or relative to the current directory when it lies below it.
fn shown_path(path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    match std::env::current_dir()
        .ok()
        .and_then(|cwd| abs.strip_prefix(cwd).ok().map(Path::to_path_buf))
    {
        Some(rel) => rel.display().to_string(),
        None => path.display().to_string(),
    }
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
