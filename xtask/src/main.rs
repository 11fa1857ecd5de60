//! This repository's own xtask: a user of cargo-image like any other. It mounts cargo-image's
//! commands (on `example-workspace/` by default, through [`Settings`]) beside a command of
//! its own, `bench`, which measures cargo-image against other ways of building images. The
//! bench is the `bench` crate, run through cargo with the arguments passed on untouched: its
//! chart and signal handling are compiled only when it runs, never with the xtask.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use cargo_image::cli::{self, Settings};
use clap::{Args, Parser};

/// The workspace every command targets without `--manifest-path`.
const EXAMPLE_MANIFEST: &str = "example-workspace/Cargo.toml";
/// Builds local stand-ins for base images where no registry is reachable.
const STAND_IN_SCRIPT: &str = "scripts/stand-in-images.sh";

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    about = "Container images for every binary of a Cargo workspace (example-workspace/ by \
             default), and the bench"
)]
enum Xtask {
    #[command(flatten)]
    Image(cli::Command),
    /// Benchmark the generated Dockerfile against host cargo, single-stage, cargo-chef and
    /// cache-mount builds (many minutes; prints a table, the targets, and writes JSON/SVG).
    ///
    /// Runs the `bench` crate (`cargo run --package bench`) with these arguments;
    /// `cargo xtask bench --help` lists its options.
    // `--help` goes to the bench too: only the bench crate knows its options.
    #[command(disable_help_flag = true)]
    Bench(BenchArgs),
}

fn main() -> ExitCode {
    cli::exit(match Xtask::parse() {
        Xtask::Image(command) => command.run(&Settings {
            default_manifest: Some(project_root().join(EXAMPLE_MANIFEST)),
            stand_in_script: Some(project_root().join(STAND_IN_SCRIPT)),
        }),
        Xtask::Bench(args) => args.run(),
    })
}

/// This repository's root: the xtask crate's parent directory.
fn project_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

#[derive(Args, Debug)]
struct BenchArgs {
    /// The bench's arguments, passed on as they are (`--help` lists them).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<OsString>,
}

impl BenchArgs {
    /// Runs the bench binary in place of this process (on Unix), so that Ctrl-C and CI's
    /// SIGTERM reach the bench's own handler, which cleans up the run's images, and its exit
    /// status is the command's. Elsewhere it waits for cargo and exits with its code.
    fn run(self) -> Result<()> {
        // The cargo that runs this xtask (`cargo run` sets CARGO): the same toolchain.
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = bench_command(&cargo, &project_root(), &self.args);
        let shown = format!("{} run --package bench", Path::new(&cargo).display());
        #[cfg(unix)]
        {
            use anyhow::Context;
            use std::os::unix::process::CommandExt;
            // `exec` returns only when it failed; `cargo run` itself execs the bench.
            Err(command.exec()).with_context(|| format!("running `{shown}`"))
        }
        #[cfg(not(unix))]
        {
            use anyhow::Context;
            let status = command
                .status()
                .with_context(|| format!("running `{shown}`"))?;
            std::process::exit(status.code().unwrap_or(1))
        }
    }
}

/// `cargo run --quiet --manifest-path ROOT/Cargo.toml --package bench -- ARGS...`: built
/// like the xtask (the `dev` profile, whose cargo-image is already compiled); the current
/// directory stays the caller's, so relative paths in `args` mean what they did.
fn bench_command(cargo: &std::ffi::OsStr, root: &Path, args: &[OsString]) -> std::process::Command {
    let mut command = std::process::Command::new(cargo);
    command
        .args(["run", "--quiet", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .args(["--package", "bench", "--"])
        .args(args);
    command
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Xtask::command().debug_assert();
    }

    /// Everything after `bench` reaches the bench as typed: options, `--help`, values that
    /// look like options.
    #[test]
    fn bench_arguments_pass_through_verbatim() {
        let typed = [
            "bench",
            "--runs",
            "3",
            "--json",
            "bench/results.json",
            "--help",
            "-h",
            "--",
            "--x=y",
        ];
        let Xtask::Bench(args) = Xtask::try_parse_from(["xtask"].iter().chain(&typed)).unwrap()
        else {
            panic!("not the bench");
        };
        assert_eq!(
            args.args,
            typed[1..].iter().map(OsString::from).collect::<Vec<_>>()
        );
        let command = bench_command("cargo".as_ref(), Path::new("/repo"), &args.args);
        let got: Vec<&std::ffi::OsStr> = command.get_args().collect();
        let mut want: Vec<&str> = vec![
            "run",
            "--quiet",
            "--manifest-path",
            "/repo/Cargo.toml",
            "--package",
            "bench",
            "--",
        ];
        want.extend(&typed[1..]);
        assert_eq!(got, want);
        assert_eq!(command.get_program(), "cargo");
        assert_eq!(command.get_current_dir(), None);
    }
}
