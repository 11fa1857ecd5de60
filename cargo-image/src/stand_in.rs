//! The offline stand-in fallback: on a machine that cannot pull the default base images
//! (this project's CI has no registry), `cargo xtask image` uses local look-alikes named
//! `cargo-image-stand-in/*`, built once per engine by `scripts/stand-in-images.sh` (and
//! `stand-in-images-cross.sh` for arm64). Only default images are replaced, never one the
//! user chose, and each replacement is said.

use anyhow::{bail, Context, Result};
use bollard::Docker;

use crate::drive::engine;
use crate::image::{ImageOptions, ImageTarget};
use crate::plan::{Plan, PlanOptions, Runtime};

/// The cross-compiling stand-in builder (see `scripts/stand-in-images-cross.sh`).
const CROSS_STAND_IN: &str = "cargo-image-stand-in/rust-cross:trixie";

/// The local stand-in for a default base image.
fn stand_in_for(image: &str) -> Option<String> {
    if let Some(tag) = image.strip_prefix("rust:") {
        let version = tag.split('-').next().unwrap_or("");
        return Some(format!("cargo-image-stand-in/rust:{version}"));
    }
    [
        Runtime::DistrolessCc,
        Runtime::DistrolessStatic,
        Runtime::DebianSlim,
    ]
    .iter()
    .find(|r| r.default_image() == Some(image))
    .and_then(|r| r.keyword())
    .map(|k| format!("cargo-image-stand-in/{k}:trixie"))
}

/// The images a build of `opts.target` starts from, with the `--base-image` keyword of
/// each runtime base (`None`: the builder): the builder, and for runtime images their bases
/// (scratch is none).
pub fn needed_bases(plan: &Plan, opts: &ImageOptions) -> Vec<(String, Option<String>)> {
    let mut needed: Vec<(String, Option<String>)> = vec![(plan.builder.clone(), None)];
    if opts.target == ImageTarget::Runtime {
        for i in &plan.images {
            if i.runtime != Runtime::Scratch {
                needed.push((i.base.clone(), i.runtime.keyword().map(String::from)));
            }
        }
    }
    needed.sort();
    needed.dedup();
    needed
}

/// Makes sure every base image the plan needs is in the engine, pulling what is missing.
/// A default image that cannot be pulled is replaced by its local stand-in (built with
/// `stand_in_script` if needed), saying so once. Returns whether the options changed.
pub async fn resolve_base_images(
    docker: &Docker,
    plan: &Plan,
    opts: &ImageOptions,
    cross: bool,
    plan_opts: &mut PlanOptions,
) -> Result<bool> {
    let needed = needed_bases(plan, opts);
    let mut changed = false;
    let mut said = false;
    for (image, keyword) in needed {
        if engine::has_image(docker, &image).await {
            continue;
        }
        let pull_error = match engine::pull(docker, &image).await {
            Ok(()) => continue,
            Err(e) => format!("{e:#}"),
        };
        let is_default = match &keyword {
            None => plan_opts.builder.is_none() && image.starts_with("rust:"),
            Some(k) => !plan_opts.base_images.contains_key(k),
        };
        let stand_in = stand_in_for(&image).filter(|_| is_default).map(|s| {
            // Foreign platforms need a builder with their standard library and linker.
            if cross && keyword.is_none() {
                CROSS_STAND_IN.to_string()
            } else {
                s
            }
        });
        let Some(stand_in) = stand_in else {
            bail!(
                "base image {image} is not in the engine and cannot be pulled ({pull_error}); \
                 make it available (`docker pull`, `docker load`) or choose another with \
                 --builder-image / --base-image KEYWORD=IMAGE"
            );
        };
        if !engine::has_image(docker, &stand_in).await {
            let script = opts.stand_in_script.as_ref().map(|s| {
                if cross {
                    s.with_file_name("stand-in-images-cross.sh")
                } else {
                    s.clone()
                }
            });
            match &script {
                Some(script) if script.is_file() => {
                    eprintln!(
                        "note: the default base images cannot be pulled here; building local \
                         stand-ins with {} (once per engine)",
                        script.display()
                    );
                    // From the script's directory: the workspace's `rust-toolchain.toml`
                    // would make rustup look for a toolchain this machine may not have
                    // (lemmy pins `channel = "1.95"`, the host has 1.95.0 as `stable`).
                    let script = std::path::absolute(script).unwrap_or_else(|_| script.clone());
                    let mut command = std::process::Command::new("bash");
                    command.arg(&script);
                    if let Some(dir) = script.parent().filter(|d| d.is_dir()) {
                        command.current_dir(dir);
                    }
                    let status = command
                        .status()
                        .with_context(|| format!("running {}", script.display()))?;
                    if !status.success() {
                        bail!("{} failed; run it by hand to see why", script.display());
                    }
                }
                _ => bail!(
                    "base image {image} cannot be pulled ({pull_error}); build local stand-ins \
                     with `bash scripts/stand-in-images.sh` or pass --builder-image/--base-image"
                ),
            }
            if !engine::has_image(docker, &stand_in).await {
                bail!("the stand-in script did not produce {stand_in}");
            }
        }
        if !said {
            eprintln!(
                "note: default base images cannot be pulled here; using local stand-ins \
                 (cargo-image-stand-in/*) instead"
            );
            said = true;
        }
        match keyword {
            None => plan_opts.builder = Some(stand_in),
            Some(k) => {
                plan_opts.base_images.insert(k, stand_in);
            }
        }
        changed = true;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::stand_in_for;

    #[test]
    fn only_default_images_have_stand_ins() {
        assert_eq!(
            stand_in_for("rust:1.95.0-slim-bookworm").as_deref(),
            Some("cargo-image-stand-in/rust:1.95.0")
        );
        assert_eq!(
            stand_in_for("gcr.io/distroless/cc-debian12:nonroot").as_deref(),
            Some("cargo-image-stand-in/distroless-cc:trixie")
        );
        assert_eq!(
            stand_in_for("debian:bookworm-slim").as_deref(),
            Some("cargo-image-stand-in/debian-slim:trixie")
        );
        assert_eq!(stand_in_for("registry.local/base:1"), None);
    }
}
