//! Renderers: pure functions from a [`crate::plan::Plan`] to the text of each generated
//! artifact. **Invariant:** nothing here reads files, runs processes or talks to Docker.

pub mod bake;
pub mod build_sh;
pub mod ci;
pub mod compose;
pub mod dockerfile;
pub mod dockerignore;
pub mod quote;
pub mod scripts;
mod template;
pub mod tools;
