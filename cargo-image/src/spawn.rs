//! Programs a program starts, found in its Rust sources: the literal a
//! `Command::new("ffmpeg")` names (std's, tokio's or async-process's, however qualified).
//! A service that runs `git`, `ffmpeg` or `sh -c` works on the laptop it was written on and
//! fails in a distroless or scratch image with "No such file or directory", at the first
//! request that needs it. The planner says so for the images that compile one, and which
//! runtimes have it ([`DEBIAN_SLIM_HAS`]).
//!
//! clap's `Command::new("serve")` builds a subcommand, not a process: a `Command` the file
//! imports from clap (and not from a `process` module), or one qualified through clap, is
//! not a program.
//!
//! Literals only: a program named by a variable, a constant or the configuration (`$PAGER`,
//! `std::env::current_exe()`) is not seen. Programs of another desktop or operating system
//! (`cmd`, `open`, `xdg-open`), which code starts under a `cfg` a Linux container never
//! compiles or only on a desktop, are left out.

use crate::reads::{blanked, literals, program_code};

/// Programs no Linux container starts: another system's (`cmd`, macOS's `open`), or a
/// desktop's (a browser opener, the clipboard).
const NOT_IN_A_CONTAINER: &[&str] = &[
    "clip",
    "cmd",
    "explorer",
    "open",
    "osascript",
    "pbcopy",
    "pbpaste",
    "powershell",
    "pwsh",
    "start",
    "taskkill",
    "wl-copy",
    "wl-paste",
    "xclip",
    "xdg-open",
    "xsel",
];

/// Commands of `debian:bookworm-slim` (its Essential and required packages: coreutils,
/// dash, bash, grep, sed, findutils, tar, gzip, diffutils, mawk, util-linux, debianutils,
/// hostname, login, perl-base), which a `debian-slim` runtime starts without a package.
/// Not `kill`: Debian's is procps's, which the slim image lacks (atuin's daemon stops
/// its child with it).
pub const DEBIAN_SLIM_HAS: &[&str] = &[
    "awk",
    "base64",
    "basename",
    "bash",
    "cat",
    "chmod",
    "chown",
    "cmp",
    "cp",
    "cut",
    "date",
    "dd",
    "df",
    "diff",
    "dirname",
    "du",
    "echo",
    "env",
    "expr",
    "false",
    "find",
    "getent",
    "grep",
    "gunzip",
    "gzip",
    "head",
    "hostname",
    "id",
    "install",
    "ln",
    "ls",
    "md5sum",
    "mkdir",
    "mktemp",
    "mount",
    "mv",
    "nice",
    "nohup",
    "nproc",
    "perl",
    "printf",
    "pwd",
    "readlink",
    "realpath",
    "rm",
    "rmdir",
    "sed",
    "seq",
    "sh",
    "sha1sum",
    "sha256sum",
    "sleep",
    "sort",
    "split",
    "stat",
    "stty",
    "su",
    "sync",
    "tac",
    "tail",
    "tar",
    "tee",
    "test",
    "timeout",
    "touch",
    "tr",
    "true",
    "umount",
    "uname",
    "uniq",
    "wc",
    "which",
    "whoami",
    "xargs",
    "yes",
    "zcat",
];

/// The programs `source` starts (its test modules left out), as named (a path keeps
/// its directories: `/usr/bin/git`), in order, each once.
pub fn spawned_programs(source: &str) -> Vec<String> {
    let code = program_code(source);
    let lits = literals(&code);
    let mut out: Vec<String> = Vec::new();
    for &(at, literal) in &lits {
        let lead = code[..at].trim_end();
        if !lead.ends_with("::new(") || !is_process_command(&code, lead) {
            continue;
        }
        if is_program_name(literal) && !out.iter().any(|p| p == literal) {
            out.push(literal.to_string());
        }
    }
    // A shell kept in a constant (hyperfine's `const DEFAULT_SHELL: &str = "sh"`, which
    // runs every benchmarked command through it): the program starts it, whichever way
    // the constant reaches a `Command`.
    for &(at, literal) in &lits {
        let lead = code[..at].trim_end();
        let Some(declared) = lead.strip_suffix('=').map(str::trim_end) else {
            continue;
        };
        let Some(item) = declared.rsplit_once("const ").map(|(_, item)| item) else {
            continue;
        };
        let name = item.split(':').next().unwrap_or("").trim();
        if name.contains("SHELL")
            && name.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            && SHELLS.contains(&command_name(literal))
            && !out.iter().any(|p| p == literal)
        {
            out.push(literal.to_string());
        }
    }
    out
}

/// Shells a constant may name ([`spawned_programs`]).
const SHELLS: &[&str] = &["ash", "bash", "dash", "fish", "sh", "zsh"];

/// The functions of `source` that start the program a parameter names: `fn run(command:
/// &str, ..)` whose body makes `Command::new(command)` (pict-rs's `Process::run`, through
/// which it starts `ffprobe`, `magick` and `exiftool`), as `Type::name` for a function of
/// an `impl Type` block, else `name`. [`wrapped_programs`] finds the literals their callers
/// pass.
pub fn spawners(source: &str) -> Vec<String> {
    let code = blanked(&program_code(source), true);
    let mut out: Vec<String> = Vec::new();
    for (i, m) in code.match_indices("::new(") {
        let lead = &code[..i + m.len()];
        if !is_process_command(&code, lead) {
            continue;
        }
        let rest = code[i + m.len()..].trim_start().trim_start_matches('&');
        let arg: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        let after = rest[arg.len()..].trim_start();
        if arg.is_empty()
            || !arg.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            || !(after.starts_with(')') || after.starts_with('.'))
        {
            continue;
        }
        // The function it stands in: the last `fn NAME` before it, if `arg` is one of
        // its parameters.
        let Some(at) = keyword_before(&code, "fn ", i) else {
            continue;
        };
        let head = &code[at + 3..i];
        let name: String = head
            .trim_start()
            .chars()
            .take_while(|c| is_ident(*c))
            .collect();
        let Some(open) = head.find('(').map(|o| at + 3 + o) else {
            continue;
        };
        let close = crate::reads::closing(&code, open, b'(', b')').unwrap_or(i);
        let params = &code[open..close.min(i)];
        let is_param = params.match_indices(arg.as_str()).any(|(p, _)| {
            !params[..p].ends_with(is_ident)
                && (params[p + arg.len()..].trim_start())
                    .strip_prefix(':')
                    .is_some_and(|t| !t.starts_with(':'))
        });
        if !is_param || name.is_empty() {
            continue;
        }
        let name = match impl_type(&code, at) {
            Some(ty) => format!("{ty}::{name}"),
            None => name,
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The end of `text` made of characters `keep` takes (`Process` of `.. Process`).
fn trailing(text: &str, keep: impl Fn(char) -> bool) -> &str {
    &text[text.trim_end_matches(keep).len()..]
}

/// The last `keyword` (`"fn "`, `"impl"`) in `code` before `end` that starts a word.
fn keyword_before(code: &str, keyword: &str, end: usize) -> Option<usize> {
    (code[..end].rmatch_indices(keyword).map(|(at, _)| at))
        .find(|at| *at == 0 || !code[..*at].ends_with(is_ident))
}

/// The type of the `impl` block the function at `at` is in (`Process` for `impl Process`,
/// `Tool` for `impl<T> Runner for Tool<T>`), if it is in one.
fn impl_type(code: &str, at: usize) -> Option<String> {
    let start = keyword_before(code, "impl", at)?;
    let open = start + code[start..].find('{')?;
    let close = crate::reads::closing(code, open, b'{', b'}')?;
    if open > at || close < at {
        return None;
    }
    crate::subcommands::enclosing_impl(&code[..=open]).filter(|ty| !ty.is_empty())
}

/// The programs `source` starts through one of the package's [`spawners`]: the literal a
/// call passes first. A function of `impl Process` is called as `Process::run("ffprobe",
/// ..)`, `Self::run(..)` or `self.run(..)`; a free one as `run_tool("git")` or
/// `util::run_tool(..)`. Another type's function of that name (`Regex::new`) is not ours.
pub fn wrapped_programs(source: &str, spawners: &[String]) -> Vec<String> {
    let code = program_code(source);
    let mut out: Vec<String> = Vec::new();
    for (at, literal) in literals(&code) {
        let Some(lead) = code[..at].trim_end().strip_suffix('(') else {
            continue;
        };
        let called = spawners.iter().any(|spawner| {
            let (ty, name) = spawner
                .rsplit_once("::")
                .map_or((None, spawner.as_str()), |(t, n)| (Some(t), n));
            let Some(before) = lead.strip_suffix(name) else {
                return false;
            };
            if before.ends_with(is_ident) {
                return false;
            }
            let qualifier = trailing(before.strip_suffix("::").unwrap_or(""), is_ident);
            match ty {
                Some(ty) => {
                    qualifier == ty
                        || qualifier == "Self"
                        || before
                            .strip_suffix("self.")
                            .is_some_and(|b| !b.ends_with(is_ident))
                }
                None => {
                    !before.ends_with('.')
                        && !before.trim_end().ends_with("fn")
                        && (qualifier.is_empty() && !before.ends_with("::")
                            || qualifier.starts_with(|c: char| c.is_ascii_lowercase()))
                }
            }
        });
        if called && is_program_name(literal) && !out.iter().any(|p| p == literal) {
            out.push(literal.to_string());
        }
    }
    out
}

/// Whether a literal a program is started by names one a container might have: a plain
/// name or path, not another system's program.
fn is_program_name(literal: &str) -> bool {
    let name = literal.rsplit('/').next().unwrap_or(literal);
    let name = name.strip_suffix(".exe").unwrap_or(name);
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
        && !NOT_IN_A_CONTAINER.contains(&name)
        && !literal.ends_with(".exe")
}

/// Whether the `…::new(` that `lead` ends with makes a process's `Command` (std's, tokio's),
/// not clap's: by its qualification when it has one, else by what the file imports. A name
/// the file imports `Command` as (`use clap::{Command as ClapCommand}`, sccache-dist's
/// subcommands) is judged by that import; any other type's `new` is not a process.
fn is_process_command(code: &str, lead: &str) -> bool {
    let path = trailing(lead.strip_suffix("::new(").unwrap_or(lead), |c| {
        is_ident(c) || c == ':'
    });
    let (qualifier, name) = match path.rfind("::") {
        Some(i) => (&path[..i + 2], &path[i + 2..]),
        None => ("", path),
    };
    // Most `X::new("..")` are no `Command` at all (`Regex::new`): decided before the
    // file's imports are read.
    if name != "Command" && !(qualifier.is_empty() && code.contains("Command as")) {
        return false;
    }
    let words = |item: &str| -> Vec<String> {
        item.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    // Each `use` of the file, to its `;`.
    let uses: Vec<&str> = code
        .match_indices("use ")
        .filter(|(i, _)| {
            *i == 0 || !code[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        })
        .map(|(i, _)| {
            let item = &code[i + 4..];
            &item[..item.find(';').unwrap_or(item.len())]
        })
        .collect();
    if name != "Command" {
        // An alias: the `use` that brings `Command` in as `name` decides.
        return qualifier.is_empty()
            && uses.iter().any(|item| {
                let w = words(item);
                w.windows(3)
                    .any(|t| t[0] == "Command" && t[1] == "as" && t[2] == name)
                    && item.contains("process")
                    && !item.contains("clap")
            });
    }
    if !qualifier.is_empty() {
        return !(qualifier.starts_with("clap::") || qualifier.ends_with("builder::"));
    }
    // The `use`s that bring a `Command` in under its own name.
    let imports_from = |root: &str| {
        uses.iter().any(|item| {
            let w = words(item);
            item.contains(root)
                && w.iter()
                    .enumerate()
                    .any(|(i, x)| x == "Command" && w.get(i + 1).map(String::as_str) != Some("as"))
        })
    };
    imports_from("process") || !imports_from("clap")
}

/// The Debian package (bookworm) that provides a command whose package is named otherwise,
/// or is the usual pick among several: the spawn note names it as the fix, and an image
/// with it in `runtime-packages` has the command (`imagemagick` has `convert`). Sorted by
/// command.
const PACKAGE_OF: &[(&str, &str)] = &[
    ("convert", "imagemagick"),
    ("exiftool", "libimage-exiftool-perl"),
    ("ffprobe", "ffmpeg"),
    ("free", "procps"),
    ("gs", "ghostscript"),
    ("identify", "imagemagick"),
    ("ip", "iproute2"),
    ("kill", "procps"),
    ("lsb_release", "lsb-release"),
    ("mysql", "default-mysql-client"),
    ("mysqldump", "default-mysql-client"),
    ("nc", "netcat-openbsd"),
    ("node", "nodejs"),
    ("pdftoppm", "poppler-utils"),
    ("pdftotext", "poppler-utils"),
    ("pg_dump", "postgresql-client"),
    ("pg_restore", "postgresql-client"),
    ("pgrep", "procps"),
    ("ping", "iputils-ping"),
    ("pkill", "procps"),
    ("ps", "procps"),
    ("psql", "postgresql-client"),
    ("scp", "openssh-client"),
    ("semanage", "policycoreutils-python-utils"),
    ("ssh", "openssh-client"),
    ("tesseract", "tesseract-ocr"),
    ("xz", "xz-utils"),
];

/// The Debian package that provides `command` when the table of commands whose package is
/// named otherwise knows one.
pub fn package_of(command: &str) -> Option<&'static str> {
    PACKAGE_OF
        .binary_search_by_key(&command, |(c, _)| c)
        .ok()
        .map(|i| PACKAGE_OF[i].1)
}

/// The command name of a program as [`spawned_programs`] gives it (`/usr/bin/git` → `git`).
pub fn command_name(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_table_is_sorted_and_names_only_other_packages() {
        assert!(PACKAGE_OF.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(PACKAGE_OF.iter().all(|(c, p)| c != p));
        assert_eq!(package_of("kill"), Some("procps"));
        assert_eq!(package_of("ffmpeg"), None);
    }

    #[test]
    fn literal_programs_however_command_is_qualified() {
        let source = r#"
use std::process::Command;
fn thumbnail() {
    let out = tokio::process::Command::new("ffmpeg").args(["-i", path]).output().await?;
    let sh = Command::new( "sh" ).arg("-c").arg(script).status()?;
    let git = std::process::Command::new("/usr/bin/git").arg("clone").spawn()?;
    Command::new("ffmpeg").arg("-version");
    let pager = Command::new(pager_name).spawn()?;
    let editor = Command::new(&format!("{}", e));
}
"#;
        assert_eq!(spawned_programs(source), ["ffmpeg", "sh", "/usr/bin/git"]);
        // hyperfine's shell, in a constant; another system's is not ours, nor a constant
        // that names no shell.
        let constant = "#[cfg(not(windows))]\npub const DEFAULT_SHELL: &str = \"sh\";\n\
                        #[cfg(windows)]\npub const DEFAULT_SHELL: &str = \"cmd.exe\";\n\
                        const SHELL_NAME: &str = \"prompt\";\nconst HOST: &str = \"bash\";\n";
        assert_eq!(spawned_programs(constant), ["sh"]);
        assert_eq!(command_name("/usr/bin/git"), "git");
    }

    #[test]
    fn clap_commands_are_subcommands_not_programs() {
        let imported = r#"
use clap::{crate_name, Arg, ArgAction, Command};
pub fn build_app() -> Command {
    Command::new(crate_name!()).subcommand(Command::new("cache").about("Modify the cache"))
}
"#;
        assert!(spawned_programs(imported).is_empty());
        let qualified = r#"
use std::process::Command;
fn cli() -> clap::Command { clap::Command::new("serve") }
fn run() { Command::new("git").status(); }
"#;
        assert_eq!(spawned_programs(qualified), ["git"]);
        let both = r#"
use clap::Command as Cli;
use std::process::{Child, Command, Stdio};
fn run() -> Child { Command::new("atuin").stdout(Stdio::piped()).spawn().unwrap() }
"#;
        assert_eq!(spawned_programs(both), ["atuin"]);
        // sccache-dist's subcommands, through an alias of clap's `Command`.
        let aliased = r#"
use clap::{Arg, ArgGroup, Command as ClapCommand, ValueEnum};
use std::process::Command as Process;
fn cli() -> ClapCommand { ClapCommand::new("sccache-dist").subcommand(ClapCommand::new("auth")) }
fn run() { Process::new("bwrap").status(); Builder::new("server"); }
"#;
        assert_eq!(spawned_programs(aliased), ["bwrap"]);
    }

    #[test]
    fn programs_started_through_the_package_s_own_function() {
        // pict-rs's `Process::run`, its callers in other files.
        let process = r#"
use tokio::process::Command;
impl Process {
    pub(crate) async fn run<T>(command: &str, args: &[T], timeout: u64) -> Result<Self, E> {
        let command: Arc<str> = Arc::from(String::from(command));
        let mut cmd = Command::new(command.as_ref());
        cmd.args(args);
    }
    fn exec(&self, mut program: String) { std::process::Command::new(&program).status(); }
    fn fixed(&self, name: &str) { Command::new("git").arg(name); }
    fn other(path: &Path) { let tool = path; Command::new(tool).status(); }
}
"#;
        assert_eq!(spawners(process), ["Process::run", "Process::exec"]);
        let names = spawners(process);
        let caller = r#"
async fn discover() {
    let out = Process::run("ffprobe", &["-v", "quiet"], 30).await?;
    let png = Process::run(
        "magick",
        &args,
    );
    self.exec("exiftool".into());
    runtime.run("main");
    router.exec("/health");
    // Process::run("commented")
    let dir = cwd.run("build");
}
fn run(step: &str) {}
"#;
        assert_eq!(
            wrapped_programs(caller, &names),
            ["ffprobe", "magick", "exiftool"]
        );
        // A constructor that wraps a program: its type's `new` only, not `Regex::new`; a
        // free function, bare or through its module.
        let tool = "use std::process::Command;\n\
                    impl<T> Runner for Tool<T> {\n    \
                    fn new(program: &str) -> Self { Self { cmd: Command::new(program) } }\n}\n\
                    pub fn run_tool(name: &str) { let _ = Command::new(name).status(); }\n";
        let names = spawners(tool);
        assert_eq!(names, ["Tool::new", "run_tool"]);
        let caller = "fn f() {\n    let re = Regex::new(\"abc\");\n    \
                      let git = Tool::new(\"git\");\n    run_tool(\"rsync\");\n    \
                      util::run_tool(\"tar\");\n    x.run_tool(\"no\");\n    \
                      Other::run_tool(\"nope\");\n}\n";
        assert_eq!(wrapped_programs(caller, &names), ["git", "rsync", "tar"]);
        // A clap `Command` built from a parameter makes no spawner.
        let clap = "use clap::Command;\nfn cli(name: &str) -> Command { Command::new(name) }\n";
        assert!(spawners(clap).is_empty());
    }

    #[test]
    fn other_systems_desktops_and_tests_are_not_programs_a_container_starts() {
        let source = r#"
fn open_browser(url: &str) {
    #[cfg(target_os = "macos")]
    Command::new("open").arg(url).spawn();
    #[cfg(windows)]
    Command::new("cmd").args(["/C", "start", url]).spawn();
    #[cfg(windows)]
    Command::new("notepad.exe").spawn();
    #[cfg(target_os = "linux")]
    Command::new("xdg-open").arg(url).spawn();
}
// Command::new("docker") in a comment
#[cfg(test)]
mod tests { fn t() { Command::new("docker").arg("ps"); } }
"#;
        assert!(
            spawned_programs(source).is_empty(),
            "{:?}",
            spawned_programs(source)
        );
    }
}
