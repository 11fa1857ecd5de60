//! `cargo xtask`: container images for every binary of this workspace (cargo-image).
//! To add commands of your own, mount `cargo_image::cli::Command` in your clap enum.

fn main() -> std::process::ExitCode {
    cargo_image::cli::main()
}
