//! Puts every binary of a Cargo workspace into a small, non-root container image, with a
//! Dockerfile whose layers rebuild at host speed after an edit.
//!
//! Data flows one way (see ARCHITECTURE.md):
//! [`read`] (cargo metadata + manifests) → [`model::Workspace`] → [`plan::plan`] (pure) →
//! [`render`] (pure, one function per artifact) → [`artifacts`] / drivers (files, Docker).
//!
//! The whole command line is in [`cli`]; every command is also a function in [`tasks`] /
//! [`image`] taking plain structs. A repository's xtask is one line:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     cargo_image::cli::main()
//! }
//! ```
//!
//! `cargo image init` writes that xtask (see [`init`]); the `cargo-image` binary offers the
//! same commands as `cargo image …` for repositories that want no xtask.

pub mod artifacts;
pub mod build_env;
pub mod cfg;
pub mod cli;
pub mod config;
pub mod drive;
pub mod error;
mod fields;
pub mod ignore;
pub mod image;
pub mod init;
pub mod listen;
pub mod model;
pub mod own_compose;
pub mod own_dockerfile;
pub mod plan;
pub mod read;
pub mod reads;
pub mod render;
pub mod signals;
pub mod skeleton;
pub mod spawn;
pub mod stand_in;
pub mod subcommands;
pub mod tasks;

pub use error::Error;
pub use plan::{Plan, PlanOptions};
