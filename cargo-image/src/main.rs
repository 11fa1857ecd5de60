//! `cargo image …`: the commands as a cargo subcommand, for repositories without an xtask
//! (`cargo install` puts `cargo-image` on the PATH; cargo runs it as `cargo-image image …`).

fn main() -> std::process::ExitCode {
    cargo_image::cli::cargo_main()
}
