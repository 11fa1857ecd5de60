//! `cargo xtask`: the command line. Parses arguments (clap) into the library's option
//! structs, runs the task, prints the error chain with `{:#}` and picks the exit code.

mod flags;

use std::process::ExitCode;

fn main() -> ExitCode {
    match flags::Cli::parse_args().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
