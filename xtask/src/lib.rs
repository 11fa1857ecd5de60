//! Puts every binary of a Cargo workspace into a small, non-root container image, with a
//! Dockerfile whose layers rebuild at host speed after an edit.
//!
//! Data flows one way (see ARCHITECTURE.md):
//! [`read`] (cargo metadata + manifests) → [`model::Workspace`] → [`plan::plan`] (pure) →
//! [`render`] (pure, one function per artifact) → [`artifacts`] / drivers (files, Docker).
//!
//! The binary in `main.rs` only parses arguments; every command is a function in
//! [`tasks`], so another repository's xtask can depend on this library and offer the same.

pub mod artifacts;
pub mod bench;
pub mod config;
pub mod drive;
pub mod error;
pub mod image;
pub mod model;
pub mod plan;
pub mod read;
pub mod render;
pub mod skeleton;
pub mod tasks;

pub use error::Error;
pub use plan::{Plan, PlanOptions};
