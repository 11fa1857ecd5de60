//! Property test over the configuration tables (issue 15): arbitrary TOML values for every
//! key of `[workspace.metadata.image]` and `[package.metadata.image]` (odd, empty, unicode,
//! spaced, `$`, quoted and multi-line strings; zero, negative and huge integers; booleans,
//! arrays, inline tables; values of the wrong shape; misplaced and unknown keys).
//!
//! The workspace is read once (`cargo metadata` costs about a second); each case writes its
//! tables into the manifest text of that model and parses them as the reader does
//! ([`cargo_image::config::parse_manifest_tables`]), then plans in memory: a case costs
//! microseconds, so the keys the reader checks against the file system (`context`,
//! `dockerfile-append`) are left to `errors.rs`, and `files`/`build-files` sources name
//! paths that exist in the fixture or odd ones the planner must refuse by their shape.
//!
//! Properties:
//! 1. nothing panics: every input gives a plan or a typed error whose message names a key
//!    the case set (the reader's TOML errors quote the offending line, the planner's say
//!    "key `…`");
//! 2. every accepted configuration renders a Dockerfile that Docker reads as the user
//!    meant: `ENV` and `LABEL` values written in Docker's own double-quoted form (a JSON
//!    escape such as `\n` would reach the container as two characters), paths in
//!    `WORKDIR`/`VOLUME` free of what Docker would expand or unquote, no control character
//!    on any line; and hadolint accepts it (a sample: hadolint costs ~0.3 s a call).

// The fixture builder, shared with the end-to-end tests (the `e2e` crate in `tests/`).
#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use proptest::prelude::*;
use toml::{Table, Value};

use cargo_image::config::{error_message, parse_manifest_tables};
use cargo_image::model::Workspace;
use cargo_image::plan::{plan, PlanOptions};
use cargo_image::Error;
use support::Fixture;

/// Generated cases per run: planning is in memory, so hadolint is what costs.
const CASES: u32 = 128;
/// The most hadolint calls in one run (accepted cases beyond it are checked without it).
const HADOLINT_CAP: usize = 40;

/// Keys every level takes.
const COMMON_KEYS: [&str; 22] = [
    "runtime",
    "static",
    "features",
    "default-features",
    "ports",
    "user",
    "env",
    "labels",
    "healthcheck",
    "tags",
    "registry",
    "skip",
    "runtime-packages",
    "files",
    "workdir",
    "volumes",
    "args",
    "entrypoint",
    "stop-signal",
    "tzdata",
    "init",
    "run-env",
];

/// Keys only the workspace table takes, minus `context` and `dockerfile-append`, which
/// only the reader uses (they name directories and files on disk).
const WORKSPACE_KEYS: [&str; 12] = [
    "builder",
    "profile",
    "strip",
    "max-layers",
    "base-images",
    "ca-certificates",
    "build-files",
    "build-packages",
    "infer-packages",
    "link-packages",
    "build-env",
    "dev",
];

/// Strings that have broken tools before: empty, blank, shell and Dockerfile
/// metacharacters, escapes, control characters, non-ASCII, placeholders, paths.
const ODD: &[&str] = &[
    "",
    " ",
    "a b",
    "$HOME",
    "${X}",
    "$5",
    "\"",
    "'",
    "\\",
    "\\n",
    "\n",
    "a\nb",
    "a\r\nb",
    "\t",
    "\u{1}",
    "\u{7f}",
    "é",
    "日本語",
    "🦀",
    "-rf",
    "--help",
    "#",
    "a=b",
    ",",
    "a,b",
    "{bin}",
    "{nope}",
    "}",
    "/",
    "//",
    "/a/../b",
    "/a b",
    "/a$b",
    "/a\"b",
    "/a'b",
    "/a\\b",
    "/a,b",
    "/app",
    "..",
    "EOF",
    "'EOF'",
    "x\n[package]\nname = \"evil\"",
];

fn odd_string() -> BoxedStrategy<String> {
    prop_oneof![
        6 => prop::sample::select(ODD).prop_map(String::from),
        1 => "\\PC{0,10}",
        1 => "[ -~]{0,10}",
        1 => prop::collection::vec(any::<char>(), 0..5).prop_map(|c| c.into_iter().collect()),
        1 => Just("x".repeat(300)),
    ]
    .boxed()
}

/// A string from `good` (values the planner should accept) or an odd one.
fn string_from(good: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(good).prop_map(String::from),
        1 => odd_string(),
    ]
    .boxed()
}

fn integer() -> BoxedStrategy<i64> {
    prop_oneof![
        3 => prop::sample::select(&[0i64, -1, 1, 2, 60, 80, 100, 101, 8080, 65_535, 65_536, 4_294_967_296, i64::MAX, i64::MIN][..]),
        1 => any::<i64>(),
    ]
    .boxed()
}

/// Any TOML value, nested two deep: the wrong shape for most keys.
fn any_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        odd_string().prop_map(Value::String),
        integer().prop_map(Value::Integer),
        any::<bool>().prop_map(Value::Boolean),
        Just(Value::Float(1.5)),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(string_from(&["a", "http", "port"]), inner, 0..3)
                .prop_map(|m| Value::Table(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn strings(good: &'static [&'static str], max: usize) -> BoxedStrategy<Value> {
    prop::collection::vec(string_from(good), 0..=max)
        .prop_map(|v| Value::Array(v.into_iter().map(Value::String).collect()))
        .boxed()
}

fn string_map(
    keys: &'static [&'static str],
    values: &'static [&'static str],
) -> BoxedStrategy<Value> {
    prop::collection::btree_map(string_from(keys), string_from(values), 0..3)
        .prop_map(|m| Value::Table(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()))
        .boxed()
}

/// A table of some of `fields`, each with its value strategy.
fn sub_table(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let n = fields.len();
    prop::collection::vec(any::<bool>(), n)
        .prop_flat_map(move |picks| {
            let chosen: Vec<_> = fields
                .iter()
                .zip(picks)
                .filter(|(_, p)| *p)
                .map(|((k, s), _)| (Just(k.to_string()), s.clone()))
                .collect();
            chosen.prop_map(|kv| Value::Table(kv.into_iter().collect()))
        })
        .boxed()
}

/// A value of the key's own shape, mostly from values that plan, sometimes odd.
fn typed_value(key: &'static str) -> BoxedStrategy<Value> {
    let s = |good: &'static [&'static str]| string_from(good).prop_map(Value::String).boxed();
    let b = || any::<bool>().prop_map(Value::Boolean).boxed();
    let i = || integer().prop_map(Value::Integer).boxed();
    match key {
        "runtime" => s(&[
            "scratch",
            "distroless-static",
            "distroless-cc",
            "debian-slim",
            "debian:bookworm-slim",
            "alpine:3.20",
            "registry.local/app/base:1",
        ]),
        "user" => s(&["1000", "1000:1000", "app", "65532:65532", "nobody"]),
        "registry" => s(&["ghcr.io/acme", "localhost:5000", "registry.local/team/"]),
        "workdir" => s(&["/app", "/srv/data"]),
        "stop-signal" => s(&["SIGINT", "SIGTERM", "9"]),
        "builder" => s(&["rust:1.85-slim-bookworm", "rust:latest"]),
        "profile" => s(&["release", "dev", "dist", "bench"]),
        "static" | "skip" | "tzdata" | "init" | "strip" | "infer-packages" | "default-features" => {
            b()
        }
        "max-layers" => i(),
        "ports" => prop::collection::vec(
            prop_oneof![
                3 => integer().prop_map(Value::Integer),
                1 => string_from(&["53/udp", "8080/tcp", "8080", "53/UDP"]).prop_map(Value::String),
            ],
            0..3,
        )
        .prop_map(Value::Array)
        .boxed(),
        "features" => strings(&["turbo", "svc/turbo", "worker/fast", "other/x"], 2),
        "tags" => strings(
            &["{bin}:{version}", "{bin}:latest", "registry.local/{bin}:v1"],
            2,
        ),
        "runtime-packages" | "build-packages" | "link-packages" => {
            strings(&["libssl3", "zlib1g", "clang", "libssl-dev"], 2)
        }
        "volumes" => strings(&["/data", "/var/lib/x"], 2),
        "run-env" => strings(&["SERVICE_DB_URL", "a b", "TOKEN"], 2),
        "args" => strings(&["serve", "--port", "8080"], 3),
        "entrypoint" => strings(&["/usr/local/bin/svc", "serve"], 2),
        "ca-certificates" => strings(&["conf/app.toml"], 1),
        "build-files" => strings(&["proto", "proto/a.proto"], 2),
        "env" | "build-env" => string_map(&["A", "RUST_LOG", "_x"], &["1", "info", "a b"]),
        "labels" => string_map(&["com.example.team", "a b"], &["ops", "a b"]),
        "files" => string_map(
            &["conf", "conf/app.toml", "proto"],
            &["/app/conf", "/etc/x"],
        ),
        "base-images" => string_map(
            &["distroless-cc", "scratch", "debian-slim"],
            &["registry.local/cc:nonroot", "debian:bookworm-slim"],
        ),
        "healthcheck" => prop_oneof![
            1 => s(&["none"]),
            3 => sub_table(vec![
                ("http", s(&["/health", "/"])),
                ("port", i()),
                ("cmd", strings(&["/usr/local/bin/svc", "health"], 2)),
                ("interval", s(&["30s", "1m30s", "500ms"])),
                ("timeout", s(&["3s"])),
                ("start-period", s(&["5s"])),
                ("retries", i()),
            ]),
        ]
        .boxed(),
        "dev" => sub_table(vec![
            ("profile", s(&["dev", "release", "dist"])),
            ("bin", s(&["svc", "nope"])),
            ("poll-seconds", i()),
        ]),
        other => panic!("no strategy for key `{other}`"),
    }
}

/// A value for `key`: its own shape mostly (a case sets several keys, and one value of a
/// wrong shape refuses the whole case before planning), any shape otherwise.
fn key_value(key: &'static str) -> BoxedStrategy<Value> {
    prop_oneof![12 => typed_value(key), 1 => any_value()].boxed()
}

fn table_of(keys: Vec<&'static str>, max: usize) -> BoxedStrategy<Table> {
    prop::sample::subsequence(keys, 0..=max)
        .prop_flat_map(|keys| {
            keys.into_iter()
                .map(|k| (Just(k.to_string()), key_value(k)))
                .collect::<Vec<_>>()
        })
        .prop_map(|kv| kv.into_iter().collect())
        .boxed()
}

/// `[workspace.metadata.image]`: common and workspace keys.
fn workspace_table() -> BoxedStrategy<Table> {
    let keys: Vec<&'static str> = COMMON_KEYS.iter().chain(&WORKSPACE_KEYS).copied().collect();
    table_of(keys, 5)
}

/// `[package.metadata.image]`: common keys, sometimes a `bin` table (for `svc`, or for a
/// binary the package lacks), a misplaced workspace key or an unknown one.
fn package_table() -> BoxedStrategy<Table> {
    (
        table_of(COMMON_KEYS.to_vec(), 3),
        prop::option::weighted(
            0.2,
            (
                string_from(&["svc", "nope"]),
                table_of(COMMON_KEYS.to_vec(), 2),
            ),
        ),
        prop::option::weighted(
            0.05,
            (
                prop::sample::select(&["max-layers", "runtme", "bin"][..]),
                any_value(),
            ),
        ),
    )
        .prop_map(|(mut t, bin, stray)| {
            if let Some((name, table)) = bin {
                let mut bins = Table::new();
                bins.insert(name, Value::Table(table));
                t.insert("bin".into(), Value::Table(bins));
            }
            if let Some((key, value)) = stray {
                t.entry(key).or_insert(value);
            }
            t
        })
        .boxed()
}

/// The fixture, read once: a root package `svc` (a binary, feature `turbo`) with a library
/// member `worker` (feature `fast`), a custom profile `dist`, and files for `files` and
/// `build-files`.
struct Base {
    workspace: Workspace,
    manifest: Table,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let built = Fixture::new("fuzz")
            .root_package("svc", |p| {
                p.main()
                    .dep_path("worker", "crates/worker")
                    .toml("[features]\nturbo = []\n")
            })
            .members(&["crates/worker"])
            .package("crates/worker", |p| p.lib().toml("[features]\nfast = []\n"))
            .workspace_toml("[profile.dist]\ninherits = \"release\"\n")
            .file("conf/app.toml", "x = 1\n")
            .file("proto/a.proto", "syntax = \"proto3\";\n")
            .build();
        let loaded = cargo_image::read::read(&built.manifest)
            .unwrap_or_else(|e| panic!("reading the fixture failed: {e}"));
        let manifest = loaded
            .workspace
            .root_manifest
            .parse()
            .expect("the root manifest parses");
        Base {
            workspace: loaded.workspace,
            manifest,
        }
    })
}

/// Every key name in `table`, nested ones too.
fn key_names(table: &Table, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        out.insert(k.clone());
        match v {
            Value::Table(t) => key_names(t, out),
            Value::Array(items) => {
                for item in items {
                    if let Value::Table(t) = item {
                        key_names(t, out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// A value in Docker's double quotes as its parser reads it back: inside `"…"` a backslash
/// escapes only `"`, `$` and itself and is kept before anything else (BuildKit's shell
/// lexer), so JSON escapes such as `\n` or `\u0001` would reach the container verbatim.
fn docker_quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        if matches!(c, '"' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Characters Docker interprets in an unquoted `WORKDIR` word or a `VOLUME` item
/// (variable expansion, quotes, escapes), and whitespace.
fn docker_special(path: &str) -> bool {
    path.contains(['$', '"', '\'', '\\']) || path.contains(char::is_whitespace)
}

static HADOLINT_CALLS: AtomicUsize = AtomicUsize::new(0);

/// [`HADOLINT_CAP`], or `CONFIG_FUZZ_HADOLINT` when exploring with more cases.
fn hadolint_cap() -> usize {
    std::env::var("CONFIG_FUZZ_HADOLINT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(HADOLINT_CAP)
}

/// Plans one case; `Err` is a property violation, described.
fn check(ws_table: Table, pkg_table: Table) -> Result<(), String> {
    let base = base();
    let mut doc = base.manifest.clone();
    let mut names = BTreeSet::new();
    key_names(&ws_table, &mut names);
    key_names(&pkg_table, &mut names);
    let metadata = |image: Table| {
        let mut m = Table::new();
        m.insert("image".into(), Value::Table(image));
        Value::Table(m)
    };
    for (section, image) in [("workspace", ws_table), ("package", pkg_table)] {
        doc.get_mut(section)
            .and_then(Value::as_table_mut)
            .expect("the root manifest has [workspace] and [package]")
            .insert("metadata".into(), metadata(image));
    }
    let text = toml::to_string(&doc).map_err(|e| format!("serializing the case: {e}"))?;

    // Read, as `read` does.
    let (ws_cfg, pkg_cfg) = match parse_manifest_tables(&text, true) {
        Ok(tables) => tables,
        Err(e) => {
            READER_REFUSED.fetch_add(1, Ordering::Relaxed);
            let message = error_message(&text, &e);
            // The error names the dotted key, and quotes the offending line, where TOML may
            // have escaped a key.
            let quoted = |k: &String| {
                let line = toml::to_string(&Table::from_iter([(k.clone(), Value::Integer(0))]))
                    .unwrap_or_default();
                line.trim_end().trim_end_matches(" = 0").to_string()
            };
            return if names
                .iter()
                .any(|k| message.contains(k.as_str()) || message.contains(&quoted(k)))
            {
                Ok(())
            } else {
                Err(format!(
                    "the reader's error names no key of {names:?}: {message}"
                ))
            };
        }
    };
    let mut ws = base.workspace.clone();
    ws.root_manifest = text.clone();
    ws.config = ws_cfg.unwrap_or_default();
    let svc = ws
        .packages
        .iter_mut()
        .find(|p| p.name == "svc")
        .expect("package svc");
    svc.manifest = text;
    svc.config = pkg_cfg.unwrap_or_default();

    // Plan.
    let plan = match plan(&ws, &PlanOptions::default()) {
        Ok(plan) => plan,
        Err(Error::InvalidConfig { manifest, message }) => {
            PLANNER_REFUSED.fetch_add(1, Ordering::Relaxed);
            let named = names
                .iter()
                .chain([&"package.metadata.image.bin".to_string()])
                .any(|k| message.contains(&format!("key `{k}")));
            return if named && manifest.ends_with("Cargo.toml") {
                Ok(())
            } else {
                Err(format!("the planner's error names no key of {names:?} or no manifest (`{manifest}`): {message}"))
            };
        }
        Err(Error::EveryBinarySkipped { .. }) if names.contains("skip") => {
            PLANNER_REFUSED.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Err(e) => return Err(format!("an error that is not about the configuration: {e}")),
    };

    ACCEPTED.fetch_add(1, Ordering::Relaxed);
    // Render every artifact (a panic is a failure), then read the Dockerfile as Docker would.
    let dockerfile = cargo_image::render::dockerfile::render(&plan);
    let _ = cargo_image::render::tools::files(&plan);
    let _ = cargo_image::render::compose::render(&plan, ".", "Dockerfile");
    let _ = cargo_image::render::bake::render(&plan, ".", "Dockerfile", &[]);
    let _ = cargo_image::render::build_sh::render(&plan, ".");
    let _ = cargo_image::render::dockerignore::render(&plan);
    let _ = cargo_image::artifacts::plan_json(&plan);
    // Below U+0020 JSON has escapes, which Docker's exec form decodes and its quoted words
    // do not; raw, such a character ends or mangles the line (DEL and above pass through).
    let low_control = |c: char| c < ' ';
    if let Some(line) = dockerfile.lines().find(|l| l.contains(low_control)) {
        return Err(format!("a control character on the line {line:?}"));
    }
    let quoted = |what: &str, k: &str, v: &str| -> Result<(), String> {
        let pair = format!("{k}={}", docker_quoted(v));
        let pair_label = format!("{}={}", docker_quoted(k), docker_quoted(v));
        if dockerfile.contains(&pair) || dockerfile.contains(&pair_label) {
            Ok(())
        } else {
            Err(format!("{what} {k:?}={v:?} is not written as Docker reads it back ({pair_label}):\n{dockerfile}"))
        }
    };
    for (k, v) in &plan.build_env {
        quoted("build-env", k, v)?;
    }
    for image in &plan.images {
        for (k, v) in &image.env {
            quoted("env", k, v)?;
        }
        // A label with a control character is carried exactly by bake and the drivers; the
        // Dockerfile's `LABEL` (plain `docker build`) cannot, and writes it escaped.
        let control = |s: &String| s.contains(|c: char| c.is_ascii_control());
        for (k, v) in image
            .labels
            .iter()
            .filter(|(k, v)| !control(k) && !control(v))
        {
            quoted("label", k, v)?;
        }
        let x = &image.extras;
        if let Some(bad) = x
            .workdir
            .iter()
            .chain(&x.volumes)
            .find(|p| docker_special(p))
        {
            return Err(format!(
                "`{bad}` reaches WORKDIR/VOLUME, where Docker interprets it"
            ));
        }
    }
    if HADOLINT_CALLS.fetch_add(1, Ordering::Relaxed) < hadolint_cap() {
        support::hadolint(&dockerfile).map_err(|e| format!("{e}\n{dockerfile}"))?;
    }
    Ok(())
}

/// How the cases ended, printed after the run: a property that accepted nothing would
/// prove nothing about rendering.
static READER_REFUSED: AtomicUsize = AtomicUsize::new(0);
static PLANNER_REFUSED: AtomicUsize = AtomicUsize::new(0);
static ACCEPTED: AtomicUsize = AtomicUsize::new(0);

#[test]
fn any_config_plans_or_names_the_key() {
    use proptest::test_runner::{
        Config, FileFailurePersistence, RngAlgorithm, TestRng, TestRunner,
    };
    // `PROPTEST_CASES` runs more, to explore; the regressions file replays seeds first.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(CASES);
    let config = Config {
        cases,
        // By path: `SourceParallel` looks for the source from the directory the test runs
        // in, which is the package's, and then replays nothing.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/config_fuzz.proptest-regressions"
        )))),
        ..Config::default()
    };
    // The same cases on every run (a test must not pass or fail by chance);
    // `CONFIG_FUZZ_RANDOM=1` draws new ones, to explore.
    let mut runner = if std::env::var_os("CONFIG_FUZZ_RANDOM").is_some() {
        TestRunner::new(config)
    } else {
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
    };
    let started = std::time::Instant::now();
    let result = runner.run(&(workspace_table(), package_table()), |(ws, pkg)| {
        check(ws, pkg).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let [reader, planner, accepted] =
        [&READER_REFUSED, &PLANNER_REFUSED, &ACCEPTED].map(|c| c.load(Ordering::Relaxed));
    eprintln!(
        "{cases} cases in {:.1?}: {reader} refused by the reader, {planner} by the planner, \
         {accepted} accepted ({} linted by hadolint)",
        started.elapsed(),
        HADOLINT_CALLS.load(Ordering::Relaxed).min(hadolint_cap()),
    );
    assert!(
        accepted * 5 >= cases as usize,
        "fewer than one case in five planned: the generators no longer reach the renderer"
    );
}
