//! Stage names: the ones the generated Dockerfile uses for itself ([`INTERNAL_STAGES`],
//! [`INTERNAL_PREFIXES`]), each image's runtime stage ([`stage_name`]), and the user's
//! appended stages ([`Appended`]). Names must not clash, since `docker build --target`,
//! bake and `image --target` pick a stage by name: a binary named like one of ours gets
//! `<bin>-runtime`, and an appended stage named like any generated one is refused.

use serde::{Deserialize, Serialize};

use super::ImagePlan;

/// Names of the stages the renderer uses for itself (and `scratch`, which BuildKit reserves
/// for the empty image); a binary with one of these names gets `<bin>-runtime` as its stage.
pub const INTERNAL_STAGES: [&str; 13] = [
    "scratch",
    "cargo-image-tools",
    "base",
    "skeleton",
    "fetch",
    "deps",
    "build-layers",
    "build-incremental",
    "build",
    "rootfs",
    "dev-deps",
    "dev",
    "test",
];

/// Prefixes of stage names the renderer uses for itself (numbered stages).
pub const INTERNAL_PREFIXES: [&str; 3] = ["test-", "build-layers-", "cargo-image-"];

/// The runtime stage of binary `bin`: its name as BuildKit takes a stage name (lowercase,
/// starting with a letter, then `a-z 0-9 - _ .`: other characters become `-`, and a name
/// that starts otherwise gets `bin-` in front), unless the renderer uses that name (or its
/// prefix) for a stage of its own.
pub fn stage_name(bin: &str) -> String {
    let mut lower: String = bin
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !lower.starts_with(|c: char| c.is_ascii_lowercase()) {
        lower.insert_str(0, "bin-");
    }
    let internal = INTERNAL_STAGES.contains(&lower.as_str())
        || INTERNAL_PREFIXES.iter().any(|p| lower.starts_with(p));
    if internal {
        format!("{lower}-runtime")
    } else {
        lower
    }
}

/// Gives every image its runtime stage ([`stage_name`]); two binaries whose names give the
/// same stage (`Api` and `api`, `a+b` and `a-b`) are refused, naming both: `--target` could
/// pick only one of them.
pub(super) fn resolve_stage_names(images: &mut [ImagePlan]) -> Result<(), String> {
    for img in images.iter_mut() {
        img.stage = stage_name(&img.bin);
    }
    for (i, a) in images.iter().enumerate() {
        if let Some(b) = images[i + 1..].iter().find(|b| b.stage == a.stage) {
            return Err(format!(
                "binaries `{}` (package `{}`) and `{}` (package `{}`) would both get the \
                 Dockerfile stage `{}` (stage names are lowercase, `a-z 0-9 - _ .`); rename \
                 one, or skip one (`skip = true`)",
                a.bin, a.package, b.bin, b.package, a.stage
            ));
        }
    }
    Ok(())
}

/// The user's own stages (`dockerfile-append`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Appended {
    /// The file, relative to the build context.
    pub path: String,
    pub text: String,
    /// The stage names it declares (`FROM … AS name`), which `image --target` and bake know.
    pub stages: Vec<String>,
}

/// The stage names a Dockerfile text declares (`FROM image AS name`).
pub fn declared_stages(text: &str) -> Vec<String> {
    let mut stages = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words
            .first()
            .is_some_and(|w| w.eq_ignore_ascii_case("FROM"))
        {
            if let Some(i) = words.iter().position(|w| w.eq_ignore_ascii_case("AS")) {
                if let Some(name) = words.get(i + 1) {
                    stages.push(name.to_ascii_lowercase());
                }
            }
        }
    }
    stages
}

/// Whether the generated Dockerfile has a stage named `stage`: one of ours, or an image's.
pub(super) fn generated_stage(stage: &str, images: &[ImagePlan]) -> bool {
    INTERNAL_STAGES.contains(&stage)
        || INTERNAL_PREFIXES.iter().any(|p| stage.starts_with(p))
        || images.iter().any(|i| i.stage == stage)
}

/// `dockerfile-append` (the file's path and text), checked: none of its stages may take a
/// name the generated Dockerfile has, ours or an image's.
pub(super) fn plan_appended(
    append: Option<&(String, String)>,
    images: &[ImagePlan],
) -> Result<Option<Appended>, String> {
    let Some((path, text)) = append else {
        return Ok(None);
    };
    let stages = declared_stages(text);
    for stage in &stages {
        if generated_stage(stage, images) {
            return Err(format!(
                "key `dockerfile-append`: `{path}` declares the stage `{stage}`, which \
                 the generated Dockerfile has; rename it (e.g. `own-{stage}`)"
            ));
        }
    }
    Ok(Some(Appended {
        path: path.clone(),
        text: text.clone(),
        stages,
    }))
}

#[cfg(test)]
mod tests {
    use super::stage_name;

    #[test]
    fn runtime_stages_avoid_the_renderers_own_names() {
        for (bin, stage) in [
            ("api", "api"),
            ("Api", "api"),
            ("build", "build-runtime"),
            ("cargo-image-tools", "cargo-image-tools-runtime"),
            ("build-layers", "build-layers-runtime"),
            ("build-layers-bin-1", "build-layers-bin-1-runtime"),
            ("test-deps", "test-deps-runtime"),
            ("builder", "builder"),
            // BuildKit's stage names: `^[a-z][a-z0-9-_.]*$`, and `scratch` is reserved.
            ("9lives", "bin-9lives"),
            ("_private", "bin-_private"),
            ("a+b", "a-b"),
            ("scratch", "scratch-runtime"),
            ("v1.2_x", "v1.2_x"),
        ] {
            assert_eq!(stage_name(bin), stage, "{bin}");
        }
    }
}
