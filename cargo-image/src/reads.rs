//! Paths a crate reads at compile time outside its package directory, found in its Rust
//! sources: a build script's `"../../proto/api.proto"` (prost-build, tonic-build, a
//! hand-written `fs::read`), `include_str!("../../../schema.graphql")`,
//! `sqlx::migrate!("../../migrations")`, rust-embed's `#[folder = "../web/dist"]`,
//! include_dir's `"$CARGO_MANIFEST_DIR/../frontend/dist"`,
//! `concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")`. The
//! read step resolves each against the package, keeps those that exist in the build
//! context, and the planner adds them to `build-files` (shown in `plan` with the line that
//! asked): without them, a compile step sees only its own package directory.
//!
//! Only string literals are read (a path computed from `env!("CARGO_MANIFEST_DIR")` and
//! `.parent()` calls is not seen; a failed build then names `build-files` in its hint).
//!
//! The same literals serve two notes said before a build: a path a reading macro embeds
//! that the build context lacks ([`embedded_literals`]: the compile will fail), and a file
//! program code may open at run time relative to where it starts ([`run_time_literals`]:
//! found from the workspace root, missing in an image that does not carry it).

use std::borrow::Cow;

/// What a literal path is relative to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// The package directory: a build script's working directory, and what
    /// `CARGO_MANIFEST_DIR`-based macros (`sqlx::migrate!`, rust-embed) resolve against.
    Package,
    /// The directory of the source file: `include_str!`, `include_bytes!`, `include!`.
    File,
}

/// The string literals of `source` that name a path above their base (`../`), each with
/// what it is relative to. In a build script every such literal counts; elsewhere only a
/// macro's first argument (`name!("../x")`) or an attribute's value (`#[folder = "../x"]`),
/// since a literal in ordinary code is read when the program runs, not when it compiles.
/// Test modules and items under a `#[cfg]` no Linux build enables are left out.
pub fn upward_literals(source: &str, build_script: bool) -> Vec<(String, Base)> {
    // Not in test modules: sozu's certificate tests `include_str!` another member's PEM
    // files, which no image build reads.
    let source = program_code(source);
    let source = source.as_ref();
    let mut out = Vec::new();
    for (at, literal) in literals(source) {
        let (literal, spelled) = match in_manifest_dir(literal) {
            Some(rest) => (rest, true),
            None => (literal, false),
        };
        let base =
            base_of(&source[..at], build_script).map(|b| if spelled { Base::Package } else { b });
        if let Some(base) = base {
            let path = literal.trim_start_matches('/');
            if path.starts_with("../") && !path.contains(NOT_IN_A_PATH) {
                out.push((path.to_string(), base));
            }
        }
    }
    out
}

/// The paths program code embeds at compile time by name, wherever they are: the first
/// argument of `include_str!`, `include_bytes!`, `include!`, `include_dir!` and
/// `sqlx::migrate!`, and rust-embed's `#[folder = "..."]`, each with what it is relative
/// to, the macro or attribute, and the literal as written. A path missing from the build
/// context fails the compile (kellnr's `include_dir!("$CARGO_MANIFEST_DIR/static")`, which
/// its front-end build fills); other macros' arguments are not known to be paths. Not
/// counted: test modules (`#[cfg(test)] mod`, inline or declared), and an item under a
/// `#[cfg]`.
pub fn embedded_literals(source: &str) -> Vec<(String, Base, &'static str, String)> {
    const MACROS: &[&str] = &[
        "include_str",
        "include_bytes",
        "include",
        "include_dir",
        "migrate",
    ];
    let source = program_code(source);
    let mut out = Vec::new();
    for (at, literal) in literals(&source) {
        let lead = source[..at].trim_end();
        let mut lines = source[..at].rsplit('\n');
        let line = lines.next().unwrap_or("").trim_start();
        // Compiled only under a cfg (docs.rs's `#[cfg(not(font_awesome_out_dir))]
        // include!("fontawesome.rs")`, its build script writing the other branch's file):
        // whether it is, the source does not say.
        let gated = line.starts_with("#[cfg")
            || lines
                .map(str::trim)
                .find(|l| !l.is_empty())
                .is_some_and(|l| l.starts_with("#[cfg"));
        if gated {
            continue;
        }
        let by = if let Some(name) = macro_called(lead) {
            MACROS
                .iter()
                .find(|m| **m == name && !foreign_include(lead, name))
                .copied()
        } else if line.starts_with("#[folder") && lead.ends_with('=') {
            Some("folder")
        } else {
            None
        };
        let Some(by) = by else {
            continue;
        };
        let (path, base) = match in_manifest_dir(literal) {
            Some(rest) => (rest, Base::Package),
            None if by.starts_with("include") && by != "include_dir" => (literal, Base::File),
            None => (literal, Base::Package),
        };
        if !path.is_empty() && !path.starts_with('/') && !path.contains(NOT_IN_A_PATH) {
            out.push((path.to_string(), base, by, literal.to_string()));
        }
    }
    out
}

/// An absolute path program code names for itself outside its working directory
/// ([`system_paths`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SystemPath {
    /// A configuration file under `/etc/<program>/` (ntpd-rs's `/etc/ntpd-rs/ntp.toml`,
    /// which it reads by default and without which it runs doing nothing), with the
    /// workspace's file of that name, which the read step looks for (its `ntp.toml`).
    Config {
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        local: Option<String>,
    },
    /// A directory under `/var/run`, `/run`, `/var/lib`, `/var/cache`, `/var/log` or
    /// `/var/spool` that holds what the program creates (the directory of ntpd-rs's
    /// `/var/run/ntpd-rs/observe` socket), with the literal: no base image has it, and its
    /// user could not create it.
    State { dir: String, literal: String },
}

/// Directories below `/etc` that are the system's, not a program's configuration.
const SYSTEM_ETC: &[&str] = &[
    "ssl",
    "pki",
    "ca-certificates",
    "ssh",
    "systemd",
    "alternatives",
    "apt",
    "default",
    "security",
    "pam.d",
    "profile.d",
    "sysctl.d",
    "udev",
    "dbus-1",
    "fonts",
    "X11",
    "xdg",
    "ld.so.conf.d",
    "letsencrypt",
    "cron.d",
    "logrotate.d",
    "init.d",
];

/// Directories below the state roots that belong to the system or to the container's
/// runtime (`/run/secrets`, Kubernetes' `/var/run/secrets`, systemd's, the Docker socket's).
const SYSTEM_STATE: &[&str] = &[
    "secrets",
    "systemd",
    "user",
    "dbus",
    "docker",
    "containerd",
    "lock",
    "utmp",
    "apt",
    "dpkg",
    "mysqld",
    "postgresql",
    "redis",
    "nginx",
];

/// The absolute paths of a program's own configuration and state its code names
/// ([`SystemPath`]), in the source's order, without repeats. A configuration file has an
/// extension configurations use; a state path names a file or directory inside the
/// program's own directory (`/var/run/ntpd-rs/observe`: `/var/run/ntpd-rs`), not a file
/// directly in the root (`/var/run/docker.sock`, which belongs to another program).
pub fn system_paths(source: &str) -> Vec<SystemPath> {
    const CONFIG: &[&str] = &[
        "toml", "yaml", "yml", "json", "conf", "ini", "cfg", "hjson", "ron",
    ];
    const STATE_ROOTS: &[&str] = &[
        "/var/run/",
        "/run/",
        "/var/lib/",
        "/var/cache/",
        "/var/log/",
        "/var/spool/",
    ];
    let program = program_code(source);
    let mut out: Vec<SystemPath> = Vec::new();
    for (at, literal) in literals(&program) {
        if literal.contains(|c: char| c.is_whitespace() || "{}$*?%".contains(c)) {
            continue;
        }
        // A route's path is a URL's (lemmy's `web::resource("/data/export")`), no file's.
        let line_start = program[..at].rfind('\n').map_or(0, |i| i + 1);
        let line = program[line_start..at].to_ascii_lowercase();
        let route = [
            "route(",
            "resource(",
            "scope(",
            "nest(",
            "#[get(",
            "#[post(",
            ".at(",
        ]
        .iter()
        .any(|w| line.contains(w));
        if route {
            continue;
        }
        let found = if let Some(rest) = literal.strip_prefix("/etc/") {
            let mut parts = rest.split('/');
            let dir = parts.next().unwrap_or("");
            let file = rest.rsplit('/').next().unwrap_or("");
            let extension = file.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
            (rest.contains('/') && !SYSTEM_ETC.contains(&dir) && CONFIG.contains(&extension)).then(
                || SystemPath::Config {
                    path: literal.to_string(),
                    local: None,
                },
            )
        } else if let Some(dir) = data_root_dir(literal) {
            Some(SystemPath::State {
                dir,
                literal: literal.to_string(),
            })
        } else {
            STATE_ROOTS.iter().find_map(|root| {
                let rest = literal.strip_prefix(root)?;
                let (dir, inside) = rest.split_once('/')?;
                (!dir.is_empty() && !inside.is_empty() && !SYSTEM_STATE.contains(&dir)).then(|| {
                    SystemPath::State {
                        dir: format!("{root}{dir}"),
                        literal: literal.to_string(),
                    }
                })
            })
        };
        if let Some(path) = found.filter(|p| !out.contains(p)) {
            out.push(path);
        }
    }
    out
}

/// The data directory a literal names under the roots services keep data in, the way
/// their images mount volumes there: `/data` and what is below it (`/data`), or a
/// directory of `/mnt` or `/srv` (pict-rs's `"/mnt/sled-repo"`, `"/mnt/files"`), not a
/// file directly in one. Absent from distroless and scratch images, and only root could
/// create them.
fn data_root_dir(literal: &str) -> Option<String> {
    let literal = literal.trim_end_matches('/');
    if literal == "/data" || literal.starts_with("/data/") {
        return Some("/data".to_string());
    }
    ["/mnt/", "/srv/"].iter().find_map(|root| {
        let rest = literal.strip_prefix(root)?;
        let dir = rest.split('/').next()?;
        let file = !rest.contains('/') && dir.contains('.');
        let plain = dir
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        (!dir.is_empty() && plain && !file).then(|| format!("{root}{dir}"))
    })
}

/// The string literals of program code (not a build script's) that may name a file the
/// program opens when it runs, relative to its working directory: a literal in ordinary
/// code or a command-line attribute (`#[arg(default_value = "pgcat.toml")]`), spelled as a
/// plain relative path (`"./config.toml"`, `"config/app.hjson"`), `./` dropped. A bare
/// word (no `.` or `/`) counts only as what a path call takes (`.join("configuration")`,
/// `Path::new("data")`): as anything else it is far more often a subcommand, an option or
/// a match arm that happens to share a directory's name. Macro arguments and other
/// attributes are compile-time reads; a literal with spaces, placeholders or a scheme is
/// not a path; a test module (`#[cfg(test)] mod`, inline or declared) is not the
/// program's. The read step keeps those that exist in the workspace.
pub fn run_time_literals(source: &str) -> Vec<String> {
    const PATH_CALLS: &[&str] = &[
        "join(",
        "Path::new(",
        "PathBuf::from(",
        "File::open(",
        "read_to_string(",
        "read_dir(",
    ];
    let program = program_code(source);
    let mut out = Vec::new();
    for (at, literal) in literals(&program) {
        let before = &program[..at];
        let line = before.rsplit('\n').next().unwrap_or("").trim_start();
        let cli_attribute = cli_attribute(line);
        if base_of(before, false).is_some() && !cli_attribute {
            continue;
        }
        // `"./static/root/"`: a directory's trailing `/` is the same path.
        let path = literal.trim_start_matches("./").trim_end_matches('/');
        let bare = !path.contains(['.', '/']);
        if plain(path) && (!bare || PATH_CALLS.iter().any(|c| before.trim_end().ends_with(c))) {
            out.push(path.to_string());
        }
    }
    out
}

/// The paths program code opens at run time through the package's directory as it was
/// when it compiled, `env!("CARGO_MANIFEST_DIR")` (actix's tera example:
/// `Tera::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/**/*"))`,
/// `Path::new(env!("CARGO_MANIFEST_DIR")).join("static")`): each relative to the package
/// (up to a glob's first component), with how the code spells it. That directory is the
/// build stage's, absent from a runtime image. Not counted: the argument of a macro
/// (`include_str!(concat!(..))` reads at compile time), a path above the package (a
/// compile-time read, [`upward_literals`]), and test modules.
pub fn manifest_dir_paths(source: &str) -> Vec<(String, String)> {
    const DIR: &str = "env!(\"CARGO_MANIFEST_DIR\")";
    let program = program_code(source);
    let literals = literals(&program);
    let mut out = Vec::new();
    for (at, _) in program.match_indices(DIR) {
        let before = program[..at].trim_end();
        let after = &program[at + DIR.len()..];
        // concat!(env!(..), "/rest") as a call's argument, not a macro's.
        let concat = before.strip_suffix("concat!(").map(str::trim_end);
        let (written, rest_at) = if let Some(lead) = concat {
            if lead.ends_with("!(") {
                continue;
            }
            let Some(comma) = after.trim_start().strip_prefix(',') else {
                continue;
            };
            let at = program.len() - comma.trim_start().len();
            let Some(end) = program[at..].find(')') else {
                continue;
            };
            (&program[before.len() - "concat!(".len()..at + end + 1], at)
        } else if !before.ends_with("!(") {
            // Path::new(env!(..)).join("rest"), PathBuf::from(env!(..)).join("rest").
            let closed = after.trim_start_matches([')', ' ']);
            let Some(join) = closed.strip_prefix(".join(") else {
                continue;
            };
            let at = program.len() - join.trim_start().len();
            let Some(end) = program[at..].find(')') else {
                continue;
            };
            // From the call that wraps it (`Path::new`).
            let call = before.strip_suffix('(').unwrap_or(before);
            let start = call
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(0, |s| s + 1);
            (&program[start..at + end + 1], at)
        } else {
            continue;
        };
        let Some((_, rest)) = literals.iter().find(|(l, _)| *l == rest_at) else {
            continue;
        };
        let path: Vec<&str> = rest
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .take_while(|c| !c.contains(NOT_IN_A_PATH))
            .collect();
        if !path.is_empty() && !path.contains(&"..") {
            out.push((path.join("/"), written.to_string()));
        }
    }
    out
}

/// Whether `path` is spelled as a plain relative path below the working directory
/// (`config/app.hjson`, `data`): no leading `/`, `-` or `.`, no empty, `.` or `..` part, only
/// letters, digits and `._-/`.
fn plain(path: &str) -> bool {
    !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        && !path.starts_with(['/', '-', '.'])
        && !path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
}

/// A path program code writes to when it runs, relative to its working directory
/// ([`written_paths`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Written {
    /// As the code names it, `./` and a trailing `/` dropped.
    pub path: String,
    /// A directory (created, or a data directory option), else a file.
    pub dir: bool,
    /// The code that names it: `create_dir_all("uploads")`, `data_dir`'s default.
    pub how: String,
    /// The variable that sets it instead, when the code lets one (clap's `env = "X"`).
    pub env: Option<String>,
}

/// Option fields whose default names where a program keeps its data (microbin's
/// `data_dir`, `upload_path`, `db_file`).
const DATA_FIELD_WORDS: &[&str] = &[
    "dir", "data", "storage", "upload", "db", "database", "store",
];

/// The paths program code writes to when it runs, relative to its working directory: in
/// a container they live in its writable layer, gone when it is removed (microbin keeps
/// its pastes in `microbin_data`). Found: a directory created by name
/// (`create_dir_all("uploads")`), a file created or written by name (`File::create`,
/// `fs::write`, rusqlite's `Connection::open`), a SQLite URL (`"sqlite://data.db?mode=rwc"`),
/// and the default of a command-line option whose field names data (`#[clap(env = "MICROBIN_DATA_DIR",
/// default_value = "microbin_data")] data_dir`), with its variable. Not found: a path
/// built at run time, an absolute one (its own Dockerfile's `VOLUME` business), scratch
/// space (`tmp/`, `temp/`), test modules.
pub fn written_paths(source: &str) -> Vec<Written> {
    let program = program_code(source);
    let mut out: Vec<Written> = Vec::new();
    for (at, literal) in literals(&program) {
        let before = &program[..at];
        let line = before.rsplit('\n').next().unwrap_or("").trim_start();
        let called = callee(before).map(|c| c.rsplit("::").take(2).collect::<Vec<_>>());
        // A URL may sit in code that a raw string holds (lldap's derive_builder default
        // `r#"DatabaseUrl::from("sqlite://users.db?mode=rwc")"#`).
        let nested =
            (literal.split_once("\"sqlite:")).map(|(_, rest)| rest.split('"').next().unwrap_or(""));
        let url = nested.or_else(|| literal.strip_prefix("sqlite:"));
        // The working directory itself, as a served or data directory's default (dufs's
        // `fn default_serve_path() -> PathBuf { PathBuf::from(".") }`, a clap
        // `default_value = "."` on `root`): it counts where the program creates files at
        // paths it computes ([`computed_create`]), which the planner checks.
        let here =
            (literal == "." || literal == "./").then(|| working_dir_default(&program, at, line));
        let found = if let Some(Some(how)) = here {
            Some((".", true, how, None))
        } else if let Some(url) = url {
            let rest = url.strip_prefix("//").unwrap_or(url);
            let path = rest.split('?').next().unwrap_or("");
            Some((path, false, format!("\"sqlite:{url}\""), None))
        } else if let Some(called) = called {
            let dir = matches!(called[0], "create_dir_all" | "create_dir");
            let file = matches!(
                called[..],
                ["create", "File"] | ["open", "Connection"] | ["write", "fs"]
            );
            let name = called.iter().rev().copied().collect::<Vec<_>>().join("::");
            (dir || file).then(|| (literal, dir, format!("{name}(\"{literal}\")"), None))
        } else if cli_attribute(line)
            && before
                .trim_end()
                .strip_suffix('=')
                .is_some_and(|b| b.trim_end().ends_with("default_value"))
        {
            option_field(&program[at..]).and_then(|field| {
                let lower = field.to_ascii_lowercase();
                // A bare word is a path only for a field that says so (`data_dir`): rustus's
                // `storage` default "file-storage" is a kind of storage.
                let bare = !literal.contains(['/', '.']);
                let says_path = ["dir", "path", "folder", "file"]
                    .iter()
                    .any(|w| lower.split('_').any(|part| part == *w));
                DATA_FIELD_WORDS
                    .iter()
                    .any(|w| lower.split('_').any(|part| part == *w))
                    .then_some(())
                    .filter(|()| !bare || says_path)
                    .map(|()| {
                        let whole = format!("{line}{}", program[at..].lines().next().unwrap_or(""));
                        let env = attribute_env(&whole);
                        let dir = lower.contains("dir")
                            || !literal.rsplit('/').next().unwrap_or("").contains('.');
                        (
                            literal,
                            dir,
                            format!("`{field}`'s default \"{literal}\""),
                            env,
                        )
                    })
            })
        } else {
            None
        };
        let Some((path, dir, how, env)) = found else {
            continue;
        };
        if path == "." {
            if !out.iter().any(|w| w.path == ".") {
                out.push(Written {
                    path: path.to_string(),
                    dir,
                    how,
                    env,
                });
            }
            continue;
        }
        let path = path.trim_start_matches("./").trim_end_matches('/');
        // Scratch space, meant to go with the container (actix's multipart `./tmp`).
        let scratch = matches!(path.split('/').next(), Some("tmp" | "temp"));
        // Source code, which only a build writes (rustdesk's hbb_common `gen_version()`,
        // called from its build script, creates `./src/version.rs`).
        let source = path.starts_with("src/") || path.ends_with(".rs");
        let known = out.iter().any(|w| w.path == path && w.env == env);
        if plain(path) && !scratch && !source && !known {
            out.push(Written {
                path: path.to_string(),
                dir,
                how,
                env,
            });
        }
    }
    out
}

/// Where the literal `"."` at `at` in `program` (on `line`) is the default of a directory
/// a program serves or keeps data in, how the code says so: returned by a `default_…`
/// function named for a path (`default_serve_path()`), or clap's `default_value` of a
/// field named for one (`root`, `serve_path`, `data_dir`).
fn working_dir_default(program: &str, at: usize, line: &str) -> Option<String> {
    let names_a_path = |name: &str| {
        let lower = name.to_ascii_lowercase();
        (lower.split('_')).any(|w| ["path", "dir", "root", "folder", "directory"].contains(&w))
    };
    let before = program[..at].trim_end_matches('"');
    if cli_attribute(line) {
        let default = before.trim_end().strip_suffix('=')?.trim_end();
        if !default.ends_with("default_value") {
            return None;
        }
        let field = option_field(&program[at..])?;
        return names_a_path(field).then(|| format!("`{field}`'s default \".\""));
    }
    let called = callee(before)?;
    if !["PathBuf::from", "Path::new", "from", "new"]
        .iter()
        .any(|c| called.ends_with(c))
    {
        return None;
    }
    // The function it is in: `fn default_serve_path() -> PathBuf {`.
    let head = program[..at].rfind("fn ").map(|i| &program[i + 3..at])?;
    let name = head.split('(').next()?.trim();
    let returns = head.split_once("->").map(|(_, r)| r)?;
    let body_between = returns.contains('{') && !returns.contains('}');
    (name.starts_with("default") && names_a_path(name) && body_between)
        .then(|| format!("`{name}()` returns \".\""))
}

/// The first call in program code that creates a file at a path it computes
/// (`File::create(path)`, `fs::write(&dest, …)`, `OpenOptions` with `.create(true)`), as
/// written: a program that writes where a request or its options say (dufs's uploads,
/// into the directory it serves).
pub fn computed_create(source: &str) -> Option<String> {
    let program = program_code(source);
    let found = ["File::create(", "fs::write(", ".create(true)"]
        .iter()
        .filter_map(|call| {
            program.match_indices(call).find_map(|(at, _)| {
                if call.ends_with(')') {
                    return Some((at, call.to_string()));
                }
                let args = program[at + call.len()..].trim_start();
                let literal = ["\"", "r\"", "r#"].iter().any(|q| args.starts_with(q));
                let end = args.find([')', ',', '\n']).unwrap_or(args.len());
                (!literal && end > 0).then(|| (at, format!("{call}{})", args[..end].trim_end())))
            })
        })
        .min_by_key(|(at, _)| *at);
    found.map(|(_, call)| call)
}

/// Whether a line opens a command-line parser's field attribute (clap, structopt, argh),
/// where a literal is an option's default rather than a path the code builds on.
fn cli_attribute(line: &str) -> bool {
    ["#[arg(", "#[clap(", "#[structopt(", "#[argh("]
        .iter()
        .any(|a| line.starts_with(a))
}

/// The name of the field an attribute that `rest` is inside of is on: the first line
/// after it that is not an attribute or a comment (`pub data_dir: String,`).
fn option_field(rest: &str) -> Option<&str> {
    let decl = rest.lines().skip(1).map(str::trim).find(|l| {
        !(l.is_empty() || l.starts_with("#[") || l.starts_with("//") || l.starts_with(')'))
    })?;
    let decl = decl
        .strip_prefix("pub(crate) ")
        .or_else(|| decl.strip_prefix("pub "))
        .unwrap_or(decl);
    let (name, _) = decl.split_once(':')?;
    let name = name.trim();
    name.chars()
        .all(|c| c.is_alphanumeric() || c == '_')
        .then_some(name)
}

/// The variable a clap attribute line lets set the option (`env = "MICROBIN_DATA_DIR"`).
fn attribute_env(line: &str) -> Option<String> {
    line.match_indices("env").find_map(|(at, _)| {
        // The word `env` (not `envfile`), then `= "NAME"`.
        let word = !line[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let rest = line[at + 3..].trim_start().strip_prefix('=')?;
        let rest = rest.trim_start().strip_prefix('"')?;
        let (name, _) = rest.split_once('"')?;
        (word && crate::model::is_env_name(name)).then(|| name.to_string())
    })
}

/// The function a call whose arguments start after `lead` names, with its path
/// (`std::env::var`), if `lead` ends a call's opening.
pub(crate) fn callee(lead: &str) -> Option<&str> {
    lead.trim_end().strip_suffix('(').map(|c| {
        c.trim_end()
            .rsplit(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == ':'))
            .next()
            .unwrap_or("")
    })
}

/// Characters that make a literal a template, a glob or an escape rather than a path.
const NOT_IN_A_PATH: [char; 7] = ['{', '}', '*', '$', '\\', '\n', '?'];

/// The rest of a literal that spells out the package's directory (include_dir!'s and
/// rust-embed's `"$CARGO_MANIFEST_DIR/../web"`).
fn in_manifest_dir(literal: &str) -> Option<&str> {
    ["$CARGO_MANIFEST_DIR/", "${CARGO_MANIFEST_DIR}/"]
        .iter()
        .find_map(|prefix| literal.strip_prefix(prefix))
}

/// The name of the macro whose first argument follows `lead` (`sqlx::migrate!(` gives
/// `migrate`), if `lead` ends a macro call's opening.
pub(crate) fn macro_called(lead: &str) -> Option<&str> {
    let call = lead.trim_end().strip_suffix("!(")?;
    call.rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
}

/// Whether the macro call `lead` ends names the standard library's `include*!` (`name`)
/// through another crate: miniserve's `grass::include!("data/style.scss")` compiles Sass
/// from the package's directory, not the file's, and is no macro we know.
fn foreign_include(lead: &str, name: &str) -> bool {
    let call = lead.trim_end().trim_end_matches("!(");
    let qualifier = call[..call.len() - name.len()]
        .strip_suffix("::")
        .and_then(|path| {
            path.rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
        });
    name.starts_with("include")
        && name != "include_dir"
        && qualifier.is_some_and(|c| c != "std" && c != "core")
}

/// `source` as a Linux image's program build compiles it: without the items under a
/// `#[cfg]` that build never enables ([`never_in_a_linux_build`]): test modules, inline or
/// declared, wherever they stand (a `#[cfg(test)] mod tests;` near the top of a `lib.rs`,
/// garage's `db/lib.rs`, must not hide the code below it; other attributes may stand
/// between, lemmy's `#[cfg(test)]\n#[expect(clippy::indexing_slicing)]\nmod test`), and
/// another system's code (atuin's `#[cfg(not(unix))] fn kill_process` starting
/// `taskkill`). They are blanked (spaces, newlines kept), so offsets and line numbers stay
/// the source's. Nothing of a file whose own attributes open with `#![cfg(test)]` (lemmy's
/// `schema_setup/diff_check.rs`).
pub(crate) fn program_code(source: &str) -> Cow<'_, str> {
    let test_file = source
        .lines()
        .map(str::trim)
        .take_while(|l| l.is_empty() || l.starts_with("//") || l.starts_with("#!["))
        .any(|l| l == "#![cfg(test)]");
    if test_file {
        return Cow::Borrowed("");
    }
    let mut blanked: Option<Vec<u8>> = None;
    let mut from = 0;
    while let Some(found) = source[from..].find("#[") {
        let at = from + found;
        from = at + 2;
        // An attribute opens its line: not one quoted in a comment or a string.
        let line_start = source[..at].rfind('\n').map_or(0, |n| n + 1);
        if !source[line_start..at].trim().is_empty() {
            continue;
        }
        let close = if let Some(test) = test_attribute(&source[at..]) {
            at + test - 1
        } else if source[at..].starts_with("#[cfg(") {
            let open = at + "#[cfg".len();
            let Some(close) = closing(source, open, b'(', b')') else {
                break;
            };
            if !never_in_a_linux_build(&source[open + 1..close]) {
                continue;
            }
            close
        } else {
            continue;
        };
        // The item after this attribute and any others.
        let mut rest =
            source[close + 1..].trim_start_matches(|c: char| c == ']' || c.is_whitespace());
        while rest.starts_with("#[") {
            let attr = source.len() - rest.len() + 1;
            rest = closing(source, attr, b'[', b']')
                .map_or("", |end| &source[end + 1..])
                .trim_start();
        }
        let end = item_end(source, source.len() - rest.len());
        let bytes = blanked.get_or_insert_with(|| source.as_bytes().to_vec());
        for b in &mut bytes[at..end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
        from = end.max(from);
    }
    match blanked {
        // Every byte blanked is a whole character's (ASCII, or all of a multi-byte one).
        Some(bytes) => Cow::Owned(String::from_utf8(bytes).unwrap_or_default()),
        None => Cow::Borrowed(source),
    }
}

/// The length of a test function's attribute that `text` opens with: `#[test]`, or a
/// test runtime's (`#[tokio::test]`, `#[tokio::test(flavor = "multi_thread")]`,
/// `#[actix_web::test]`, `#[sqlx::test]`): kanidm's `#[test] fn` in `backup.rs` names
/// `/var/lib/kanidm/backups/…` outside any `#[cfg(test)]` module.
fn test_attribute(text: &str) -> Option<usize> {
    let inner = text.strip_prefix("#[")?;
    let path_len = inner
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(inner.len());
    let path = &inner[..path_len];
    if path != "test" && !path.ends_with("::test") {
        return None;
    }
    match inner[path_len..].chars().next()? {
        ']' => Some(2 + path_len + 1),
        '(' => {
            let close = closing(text, 2 + path_len, b'(', b')')?;
            text[close + 1..].starts_with(']').then_some(close + 2)
        }
        _ => None,
    }
}

/// Whether a `cfg` predicate is false in every Linux image's program build (gnu or musl,
/// any architecture, any features, not a test): `test`, another system (`windows`,
/// `not(unix)`, `target_os = "macos"`, `target_env = "msvc"`, wasm), and `any`/`all` of such.
fn never_in_a_linux_build(predicate: &str) -> bool {
    crate::cfg::eval(predicate, None) == Some(false)
}

/// The end of the item (or statement, field, match arm) starting at `start`: past its `;`
/// (or a statement's, field's or arm's `,`), or its `{ .. }` block; before the `}` of the
/// block around it. Parentheses and brackets nest; strings, characters and comments are
/// skipped.
fn item_end(source: &str, start: usize) -> usize {
    // An item's commas are its generics' (`-> Result<(), E>`), not its end.
    const ITEMS: &[&str] = &[
        "fn",
        "async",
        "unsafe",
        "const",
        "static",
        "impl",
        "struct",
        "enum",
        "trait",
        "mod",
        "type",
        "use",
        "extern",
        "union",
        "macro_rules!",
    ];
    let mut words = source[start..].split_whitespace();
    let mut first = words.next().unwrap_or("");
    if first.starts_with("pub") {
        first = words.next().unwrap_or("");
    }
    let item = ITEMS.contains(&first);
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => return i + 1,
            b',' if depth == 0 && !item => return i + 1,
            b'{' if depth == 0 => {
                return closing(source, i, b'{', b'}').map_or(source.len(), |c| c + 1)
            }
            b'}' if depth == 0 => return i,
            _ => i = skip_literal(bytes, i),
        }
        i += 1;
    }
    source.len()
}

/// Past a comment, string or character starting at `i`: the offset of its last byte (`i`
/// itself when none starts there).
fn skip_literal(bytes: &[u8], mut i: usize) -> usize {
    match bytes[i] {
        b'/' if bytes.get(i + 1) == Some(&b'/') => {
            while i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                i += 1;
            }
        }
        b'/' if bytes.get(i + 1) == Some(&b'*') => {
            i += 2;
            while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                i += 1;
            }
            i += 1;
        }
        b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
        b'\'' if bytes.get(i + 1) == Some(&b'\\') && bytes.get(i + 3) == Some(&b'\'') => i += 3,
        b'"' => {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
        }
        // A raw string (`r#"..."#`, `br"..."`): quotes inside are its text, up to a quote
        // with as many `#` (a test's source in `r#"..."#` holds code, strings and braces).
        b'r' if raw_quote(bytes, i).is_some() => {
            let (quote, hashes) = raw_quote(bytes, i).unwrap_or((i, 0));
            let mut j = quote + 1;
            i = bytes.len();
            while j < bytes.len() {
                if bytes[j] == b'"'
                    && bytes.len() > j + hashes
                    && bytes[j + 1..=j + hashes].iter().all(|b| *b == b'#')
                {
                    i = j + hashes;
                    break;
                }
                j += 1;
            }
        }
        _ => {}
    }
    i.min(bytes.len().saturating_sub(1))
}

/// Where the opening quote of a raw string starting at `bytes[at] == b'r'` is, with its
/// number of `#`: `r"`, `r#"`, `br"` (not the `r` ending a name, `for"` is no raw string).
fn raw_quote(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let before = match at.checked_sub(1).map(|b| bytes[b]) {
        Some(b'b') => at.checked_sub(2).map(|b| bytes[b]),
        other => other,
    };
    if before.is_some_and(ident) {
        return None;
    }
    let hashes = bytes[at + 1..].iter().take_while(|b| **b == b'#').count();
    (bytes.get(at + 1 + hashes) == Some(&b'"')).then_some((at + 1 + hashes, hashes))
}

/// `source` with its comments blanked to spaces (and, with `strings`, its string literals
/// too, quotes and all), newlines and offsets kept: what scans of code read, not a doc
/// comment's example (`SocketAddr::from(([127, 0, 0, 1], 3000))` in ours) nor a
/// string naming what another scan looks for (`"git_version!("`).
pub(crate) fn blanked(source: &str, strings: bool) -> String {
    let mut bytes = source.as_bytes().to_vec();
    let mut i = 0;
    while i < bytes.len() {
        let last = skip_literal(source.as_bytes(), i);
        let comment = bytes[i] == b'/' && last > i;
        let string = bytes[i] == b'"' || (bytes[i] == b'r' && last > i);
        if comment || (strings && string) {
            for b in &mut bytes[i..=last] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
        }
        i = last + 1;
    }
    // Whole characters were blanked (a comment's or string's every byte), so this holds.
    String::from_utf8(bytes).unwrap_or_else(|_| source.to_string())
}

/// The offset of the `close` that closes the `open` at `at`, past strings, characters and
/// comments; `None` when the file ends first.
pub(crate) fn closing(source: &str, at: usize, open: u8, close: u8) -> Option<usize> {
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut i = at;
    while i < bytes.len() {
        match bytes[i] {
            b if b == open => depth += 1,
            b if b == close => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i = skip_literal(bytes, i),
        }
        i += 1;
    }
    None
}

/// Whether `word` (a path like `Daemonize::new(`) is written in `source`'s code, outside
/// comments, strings and chars, not as the tail of a longer name (`my_Daemonize::new(`).
pub(crate) fn in_code(source: &str, word: &str) -> bool {
    !code_offsets(source, word).is_empty()
}

/// The offsets where `word` is written in `source`'s code, as [`in_code`] finds it.
pub(crate) fn code_offsets(source: &str, word: &str) -> Vec<usize> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let last = skip_literal(bytes, i);
        if last == i
            && bytes[i..].starts_with(word.as_bytes())
            && !(i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'))
        {
            out.push(i);
        }
        i = last + 1;
    }
    out
}

/// Every string literal of `source` outside comments, with the offset of its opening
/// quote (a raw string's text too, between its quotes). A char literal (`'"'`) opens no
/// string; lifetimes have no closing `'`.
pub(crate) fn literals(source: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let last = skip_literal(bytes, i);
        if let Some((quote, hashes)) = (bytes[i] == b'r')
            .then(|| raw_quote(bytes, i))
            .flatten()
            .filter(|_| last > i)
        {
            let end = (last + 1).saturating_sub(hashes + 1).max(quote + 1);
            out.push((quote, &source[quote + 1..end]));
        } else if bytes[i] == b'"' {
            // Up to the closing quote, or the end of an unterminated literal.
            let end = if last > i && bytes[last] == b'"' {
                last
            } else {
                bytes.len()
            };
            out.push((i, &source[i + 1..end]));
        }
        i = last + 1;
    }
    out
}

/// What a literal right after `before` is relative to, if it is read at compile time.
fn base_of(before: &str, build_script: bool) -> Option<Base> {
    let line = before.rsplit('\n').next().unwrap_or("").trim_start();
    let lead = before.trim_end();
    if let Some(name) = macro_called(lead) {
        return Some(match name {
            "include_str" | "include_bytes" | "include" => Base::File,
            _ => Base::Package,
        });
    }
    // `concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")`, inside include_str! and the
    // like: the package's directory.
    let after_manifest_dir = lead
        .strip_suffix(',')
        .is_some_and(|l| l.trim_end().ends_with("env!(\"CARGO_MANIFEST_DIR\")"));
    if build_script || after_manifest_dir {
        return Some(Base::Package);
    }
    if line.starts_with("#[") && lead.ends_with('=') {
        return Some(Base::Package);
    }
    // An attribute spread over lines (graphql_client's `#[graphql(` with `query_path =
    // "queries/x.graphql"` below it, lldap's): a derive's input, read while compiling. A
    // command line's (`#[arg(` above `default_value = "app.toml"`) is a run-time default.
    let start = before.rfind("#[")?;
    let open = before[start..].matches('[').count() > before[start..].matches(']').count();
    let first = before[start..].lines().next().unwrap_or("");
    (open && lead.ends_with('=') && !cli_attribute(first)).then_some(Base::Package)
}

/// `dir` joined with `rel` (`/`-separated, `..` and `.` resolved); `None` when it climbs
/// above the top ("" is the top).
pub fn resolve(dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::{embedded_literals, resolve, run_time_literals, upward_literals, Base};

    fn paths(source: &str, build_script: bool) -> Vec<(String, Base)> {
        upward_literals(source, build_script)
    }

    #[test]
    fn comments_and_strings_are_blanked_and_raw_strings_are_one_literal() {
        let source = "let a = \"x // y\"; // say \"z\"\n/* é */ let b = r#\"q \"{\" }\"#; f(&b)\n";
        let code = super::blanked(source, false);
        assert_eq!(code.len(), source.len());
        assert_eq!(
            code,
            "let a = \"x // y\";           \n         let b = r#\"q \"{\" }\"#; f(&b)\n"
        );
        let bare = super::blanked(source, true);
        assert_eq!(
            bare.split_whitespace().collect::<Vec<_>>(),
            ["let", "a", "=", ";", "let", "b", "=", ";", "f(&b)"]
        );
        // The raw string's quotes and brace are its text: the block closes where it does.
        let block = "fn t() { let s = r#\"mod m { fn f() { \"#; g(); }\nfn after() {}";
        assert_eq!(
            super::closing(block, 7, b'{', b'}'),
            block.find("g(); }").map(|g| g + 5)
        );
        assert_eq!(
            super::literals(r##"f(r"a\b", br#"c"d"#, "e")"##),
            [(3, "a\\b"), (13, "c\"d"), (21, "e")]
        );
    }

    /// A file created at a path the code computes, not at a literal one, nor in a test.
    #[test]
    fn computed_creates_are_found() {
        let create = |source: &str| super::computed_create(source);
        assert_eq!(
            create("fn f() { File::create(\"a.txt\"); fs::write(req_path, b); }"),
            Some("fs::write(req_path)".to_string())
        );
        assert_eq!(
            create("fn f() { let o = OpenOptions::new().create(true).open(p); }"),
            Some(".create(true)".to_string())
        );
        assert_eq!(create("fn f() { fs::write(r\"x\", b); }"), None);
        let tested = "fn f() {}\n#[cfg(test)]\nmod tests {\n fn t() { File::create(p); }\n}\n";
        assert_eq!(create(tested), None);
    }

    #[test]
    fn program_code_leaves_out_trailing_test_modules_and_test_files() {
        let tail = "fn main() {}\n#[cfg(test)]\n#[expect(clippy::unwrap_used)]\nmod tests {}\n";
        assert_eq!(super::program_code(tail).trim_end(), "fn main() {}");
        let file = "//! Compares the schema.\n#![cfg(test)]\n\nfn diff() {}\n";
        assert_eq!(super::program_code(file), "");
        let gated = "#![cfg(unix)]\nfn run() {}\n";
        assert_eq!(super::program_code(gated), gated);
    }

    /// A test function outside a test module (kanidm's `#[test]` in `backup.rs`), and a
    /// test runtime's, with or without arguments; not another attribute named like one.
    #[test]
    fn program_code_leaves_out_test_functions() {
        let source =
            "fn serve() {}\n#[test]\n\nfn backup() {\n    let p = \"/var/lib/k/b.tar\";\n}\n\
                      #[tokio::test(flavor = \"multi_thread\")]\nasync fn t() { x(); }\n\
                      #[actix_web::test]\nasync fn u() {}\n\
                      #[test_log]\nfn kept() {}\n";
        assert_eq!(
            kept_lines(source),
            ["fn serve() {}", "#[test_log]", "fn kept() {}"]
        );
    }

    /// The non-blank lines of `source`'s program code, trimmed; its offsets and line count
    /// asserted to be the source's.
    fn kept_lines(source: &str) -> Vec<String> {
        let code = super::program_code(source);
        assert_eq!(code.len(), source.len(), "offsets are the source's");
        assert_eq!(code.lines().count(), source.lines().count());
        code.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }

    #[test]
    fn program_code_leaves_out_test_modules_wherever_they_stand() {
        // garage's `db/lib.rs`: a declaration near the top, the library below it; and an
        // inline module in the middle whose strings, chars and comments hold braces.
        let source = "mod config;\n#[cfg(test)]\npub mod test;\n\
                      #[cfg(test)]\nmod tests {\n    const A: &str = \"}\";\n    \
                      const B: char = '}';\n    // }\n    fn t() { let _ = \"x\"; }\n}\n\
                      fn serve() { std::process::Command::new(\"git\"); }\n";
        assert_eq!(
            kept_lines(source),
            [
                "mod config;",
                "fn serve() { std::process::Command::new(\"git\"); }"
            ]
        );
        // A module that never closes is blanked to the end; `mod` without `cfg(test)` stays.
        let open = "fn a() {}\n#[cfg(test)]\nmod tests {\n fn b() {}\n";
        assert_eq!(super::program_code(open).trim_end(), "fn a() {}");
        let plain = "mod tests {}\n#[cfg(unix)]\nfn helper() {}\n/// #[cfg(test)]\nfn doc() {}\n";
        assert_eq!(super::program_code(plain), plain);
    }

    /// ntpd-rs's default configuration and its observation socket's directory; not the
    /// system's files (CA certificates, the Docker socket, Kubernetes' secrets, /proc),
    /// a file directly in a state root, a pattern, nor a test's.
    #[test]
    fn a_program_s_own_configuration_and_state_paths_are_found() {
        use super::{system_paths, SystemPath};
        let source = r#"fn config() { let p = Path::new("/etc/ntpd-rs/ntp.toml"); }
fn observe() -> PathBuf { PathBuf::from("/var/run/ntpd-rs/observe") }
const CA: &str = "/etc/ssl/certs/ca-certificates.crt";
const DOCKER: &str = "/var/run/docker.sock";
const TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";
const DB: &str = "/var/lib/app/app.db";
const LOG: &str = "/var/log/app/{date}.log";
const MOUNTS: &str = "/proc/self/mounts";
const ALSO: &str = "/etc/ntpd-rs/ntp.toml";
#[cfg(test)]
mod tests { const T: &str = "/var/lib/test-only/x"; }
"#;
        assert_eq!(
            system_paths(source),
            [
                SystemPath::Config {
                    path: "/etc/ntpd-rs/ntp.toml".into(),
                    local: None
                },
                SystemPath::State {
                    dir: "/var/run/ntpd-rs".into(),
                    literal: "/var/run/ntpd-rs/observe".into()
                },
                SystemPath::State {
                    dir: "/var/lib/app".into(),
                    literal: "/var/lib/app/app.db".into()
                },
            ]
        );
    }

    /// pict-rs's data directories under `/mnt`, a `/data` default, a `/srv` one; not a
    /// file directly in `/mnt`, a pattern, nor a route's path (lemmy's `/data/export`).
    #[test]
    fn data_directories_under_the_data_roots_are_found() {
        use super::{system_paths, SystemPath};
        let source = r#"fn defaults() {
    let repo = PathBuf::from(String::from("/mnt/sled-repo"));
    let files = PathBuf::from(String::from("/mnt/files/"));
    let data = "/data/db.sqlite";
    let site = "/srv/www/index.html";
    let file = "/mnt/backup.tar";
    let glob = "/mnt/*";
}
fn routes(cfg: &mut ServiceConfig) {
    cfg.service(web::resource("/data/export").route(web::get().to(export)));
}
"#;
        let dirs: Vec<String> = system_paths(source)
            .into_iter()
            .filter_map(|p| match p {
                SystemPath::State { dir, .. } => Some(dir),
                SystemPath::Config { .. } => None,
            })
            .collect();
        assert_eq!(dirs, ["/mnt/sled-repo", "/mnt/files", "/data", "/srv/www"]);
    }

    #[test]
    fn program_code_leaves_out_what_another_system_compiles() {
        // atuin's daemon: `kill` on unix, `taskkill` elsewhere; match arms and fields end
        // at their comma, a statement at its semicolon.
        let source = r#"#[cfg(unix)]
fn stop() { Command::new("kill"); }
#[cfg(not(unix))]
fn stop() -> Result<(), E> { Command::new("taskkill"); Ok(()) }
#[cfg(any(target_os = "macos", windows))]
const OPENER: &str = "open";
#[cfg(all(unix, target_vendor = "apple"))]
use core_foundation::bundle;
fn run() {
    #[cfg(target_env = "msvc")]
    let shell = "cmd";
    match x {
        #[cfg(windows)]
        A => spawn("explorer"),
        B => spawn("ls"),
    }
}
struct S {
    #[cfg(test)]
    probe: &'static str,
    name: String,
}
#[cfg(any(unix, windows))]
fn both() { Command::new("git"); }
"#;
        assert_eq!(
            kept_lines(source),
            [
                "#[cfg(unix)]",
                "fn stop() { Command::new(\"kill\"); }",
                "fn run() {",
                "match x {",
                "B => spawn(\"ls\"),",
                "}",
                "}",
                "struct S {",
                "name: String,",
                "}",
                "#[cfg(any(unix, windows))]",
                "fn both() { Command::new(\"git\"); }",
            ]
        );
    }

    #[test]
    fn a_build_script_counts_every_upward_literal() {
        // The shapes of real build scripts: tonic-build with a proto root, a manifest-dir
        // join, a rerun line (a duplicate is fine), a concat! with a leading slash.
        let source = r#"
fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=../proto");
    tonic_build::configure()
        .compile_protos(&["../proto/streaming.proto"], &["../proto"])?;
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/api.graphql");
    let q = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets");
    // "../commented/out" is not read
    let s = "in this crate";
    Ok(())
}
"#;
        let got: Vec<String> = paths(source, true).into_iter().map(|(p, _)| p).collect();
        assert_eq!(
            got,
            [
                "../proto/streaming.proto",
                "../proto",
                "../../schema/api.graphql",
                "../assets"
            ]
        );
    }

    #[test]
    fn other_sources_count_macro_arguments_and_attribute_values_only() {
        let source = r##"
const README: &str = include_str!("../../../README.md");
static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");
#[derive(RustEmbed)]
#[folder = "../web/dist"]
struct Assets;
fn main() {
    let quote = '"';
    let runtime = std::fs::read_to_string("../at/run/time");
    println!("{}", "../printed");
    let raw = "escaped \" ../not/a/path";
}
"##;
        assert_eq!(
            paths(source, false),
            [
                ("../../../README.md".to_string(), Base::File),
                ("../../migrations".to_string(), Base::Package),
                ("../web/dist".to_string(), Base::Package),
            ]
        );
    }

    /// sozu's certificate tests read another member's PEM files: no image build compiles
    /// them (nor what only another system compiles).
    #[test]
    fn test_modules_read_nothing_for_the_image() {
        let source = "pub fn parse() {}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn cert() {\n        \
                      let pem = include_str!(\"../../lib/assets/cert.pem\");\n    }\n}\n\n\
                      #[cfg(windows)]\nconst ICON: &[u8] = include_bytes!(\"../../res/app.ico\");\n\
                      const LOGO: &[u8] = include_bytes!(\"../../res/logo.png\");\n";
        assert_eq!(
            paths(source, false),
            [("../../res/logo.png".to_string(), Base::File)]
        );
    }

    #[test]
    fn the_package_directory_spelled_out_counts_in_any_source() {
        let source = r#"
static DIST: Dir = include_dir!("$CARGO_MANIFEST_DIR/../frontend/dist");
#[derive(Embed)]
#[folder = "${CARGO_MANIFEST_DIR}/../assets"]
struct Assets;
const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"));
fn main() { let at_run_time = format!("{}/../x", env!("CARGO_MANIFEST_DIR")); }
"#;
        assert_eq!(
            paths(source, false),
            [
                ("../frontend/dist".to_string(), Base::Package),
                ("../assets".to_string(), Base::Package),
                ("../README.md".to_string(), Base::Package),
            ]
        );
    }

    #[test]
    fn embedded_literals_are_the_reading_macros_arguments() {
        let source = r#"
static STATIC_DIR: Dir = include_dir!("$CARGO_MANIFEST_DIR/static");
const LOGO: &[u8] = include_bytes!("../assets/logo.png");
const README: &str = std::include_str!("../README.md");
const CSS: &str = grass::include!("data/style.scss");
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");
#[derive(RustEmbed)]
#[folder = "web/dist/"]
struct Assets;
#[cfg(not(generated))]
include!("generated.rs");
fn main() {
    println!("{}", "web/dist");
    let v = env!("CARGO_PKG_VERSION");
    let g = include_str!(concat!(env!("OUT_DIR"), "/generated.rs"));
}
#[cfg(test)]
mod tests {
    const INDEX: &str = include_str!("../fixtures/index.html");
}
"#;
        let embedded = embedded_literals(source);
        let found: Vec<(String, Base, &str, &str)> = embedded
            .iter()
            .map(|(p, b, by, l)| (p.clone(), *b, *by, l.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "static".to_string(),
                    Base::Package,
                    "include_dir",
                    "$CARGO_MANIFEST_DIR/static"
                ),
                (
                    "../assets/logo.png".to_string(),
                    Base::File,
                    "include_bytes",
                    "../assets/logo.png"
                ),
                // `std::` is the standard macro; `grass::include!` is not.
                (
                    "../README.md".to_string(),
                    Base::File,
                    "include_str",
                    "../README.md"
                ),
                (
                    "./migrations".to_string(),
                    Base::Package,
                    "migrate",
                    "./migrations"
                ),
                (
                    "web/dist/".to_string(),
                    Base::Package,
                    "folder",
                    "web/dist/"
                ),
            ]
        );
    }

    #[test]
    fn run_time_literals_are_plain_relative_paths_outside_macros() {
        // The shapes of zero2prod's, pgcat's and rustypaste's configuration lookups.
        let source = r#"
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");
const README: &str = include_str!("../README.md");
const CSS: &str = grass::include!("data/style.scss");
#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "queries/add_user.graphql",
)]
struct AddUser;
#[derive(Parser)]
struct Args {
    #[arg(default_value = "./pgcat.toml")]
    config: String,
    #[arg(
        long,
        default_value = "settings/app.toml"
    )]
    settings: String,
    #[serde(rename = "not-a-path")]
    x: u8,
}
fn main() {
    let dir = base_path.join("configuration");
    let file = dir.join("config/app.hjson");
    let data = Path::new("data");
    let files = Files::new("/", "./static/root/");
    let url = "postgres://localhost/db";
    println!("{}", "listening on port");
    let skipped = ["", "/etc/passwd", "../up", "{name}.toml", "-v", ".hidden"];
    let words = Arg::new("scripts").long("acl");
    match name { "diagnostics" => {} }
}
#[cfg(test)]
mod tests {
    fn fixture() { let p = Path::new("fixtures/upload.txt"); }
}
"#;
        assert_eq!(
            run_time_literals(source),
            [
                "pgcat.toml",
                "settings/app.toml",
                "configuration",
                "config/app.hjson",
                "data",
                "static/root"
            ]
        );
    }

    #[test]
    fn the_compile_time_package_directory_opened_at_run_time() {
        let source = r#"
fn main() {
    let tera = Tera::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/**/*"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
    const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"));
    let up = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let bare = env!("CARGO_MANIFEST_DIR");
}
#[cfg(test)]
mod tests {
    fn f() { let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"); }
}
"#;
        assert_eq!(
            super::manifest_dir_paths(source),
            [
                (
                    "templates".to_string(),
                    r#"concat!(env!("CARGO_MANIFEST_DIR"), "/templates/**/*")"#.to_string()
                ),
                (
                    "static".to_string(),
                    r#"Path::new(env!("CARGO_MANIFEST_DIR")).join("static")"#.to_string()
                ),
            ]
        );
    }

    #[test]
    fn written_paths_are_created_by_name_or_a_data_options_default() {
        let source = r##"
#[derive(Parser)]
pub struct Args {
    #[clap(long = "data-envdir", env = "MICROBIN_DATA_DIR", default_value = "microbin_data")]
    pub data_dir: String,
    #[arg(long, env = "RUSTUS_STORAGE", default_value = "file-storage")]
    pub storage: String,
    /// Where the pastes' database lives.
    #[arg(long, default_value = "./db/pastes.sqlite")]
    pub(crate) db_file: String,
    #[arg(long, default_value = "config.toml")]
    config: String,
    #[arg(long, default_value = "/var/lib/app")]
    state_dir: String,
}
fn main() {
    std::fs::create_dir_all("uploads/tmp/").unwrap();
    let f = File::create("out.log");
    std::fs::write("state.json", b"{}").unwrap();
    let c = rusqlite::Connection::open("cache.db");
    let pool = SqlitePool::connect("sqlite://data/app.db?mode=rwc");
    #[builder(default = r#"DatabaseUrl::from("sqlite://users.db?mode=rwc")"#)]
    let url = 1;
    let mem = SqlitePool::connect("sqlite::memory:");
    let read = std::fs::read_to_string("settings.toml");
    std::fs::create_dir_all(format!("{}/x", dir)).unwrap();
    std::fs::create_dir_all("./tmp").unwrap();
    let v = File::create("./src/version.rs");
}
#[cfg(test)]
mod tests { fn t() { std::fs::create_dir_all("fixtures").unwrap(); } }
"##;
        let found: Vec<(String, bool, String, Option<String>)> = super::written_paths(source)
            .into_iter()
            .map(|w| (w.path, w.dir, w.how, w.env))
            .collect();
        let s = |x: &str| x.to_string();
        assert_eq!(
            found,
            [
                (
                    s("microbin_data"),
                    true,
                    s("`data_dir`'s default \"microbin_data\""),
                    Some(s("MICROBIN_DATA_DIR"))
                ),
                (
                    s("db/pastes.sqlite"),
                    false,
                    s("`db_file`'s default \"./db/pastes.sqlite\""),
                    None
                ),
                (
                    s("uploads/tmp"),
                    true,
                    s("fs::create_dir_all(\"uploads/tmp/\")"),
                    None
                ),
                (s("out.log"), false, s("File::create(\"out.log\")"), None),
                (s("state.json"), false, s("fs::write(\"state.json\")"), None),
                (
                    s("cache.db"),
                    false,
                    s("Connection::open(\"cache.db\")"),
                    None
                ),
                (
                    s("data/app.db"),
                    false,
                    s("\"sqlite://data/app.db?mode=rwc\""),
                    None
                ),
                (
                    s("users.db"),
                    false,
                    s("\"sqlite://users.db?mode=rwc\""),
                    None
                ),
            ]
        );
    }

    #[test]
    fn templates_and_globs_are_not_paths() {
        let source = r#"fn main() { let a = "../{name}.proto"; let b = "../*.sql"; }"#;
        assert!(paths(source, true).is_empty());
    }

    #[test]
    fn resolving_stays_inside_the_top() {
        assert_eq!(
            resolve("crates/api", "../../proto").as_deref(),
            Some("proto")
        );
        assert_eq!(
            resolve("crates/api/src", "./../../worker/x.txt").as_deref(),
            Some("crates/worker/x.txt")
        );
        assert_eq!(resolve("crates/api", "../..").as_deref(), Some(""));
        assert_eq!(resolve("crates/api", "../../../outside"), None);
    }
}
