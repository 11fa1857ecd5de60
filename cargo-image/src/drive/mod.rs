//! Drivers: the only code that talks to Docker. They take a [`crate::plan::Plan`] and the
//! rendered Dockerfile and turn them into images.
//!
//! - [`engine`]: the Docker Engine API through bollard, with a BuildKit session.
//! - [`buildx`]: `docker buildx build` through xshell (found with `which`).
//! - [`context`]: the build context tar the engine driver sends.
//! - [`hints`]: what a failed build's output says about the configuration.
//! - [`progress`]: BuildKit progress as an indicatif display or plain lines.

pub mod buildx;
pub mod context;
pub mod engine;
pub mod hints;
pub mod progress;
