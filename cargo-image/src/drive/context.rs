//! The build context the engine driver sends: the context directory filtered by the
//! effective `.dockerignore` rules (see [`crate::ignore`]),
//! plus the driver's files under `.cargo-image/` (the Dockerfile, extra CA certificates,
//! the generated programs and skeleton as rendered for this build).
//! Nothing is written into the user's workspace.

use std::path::Path;

use anyhow::{Context, Result};

use crate::ignore::IgnoreRules;

/// Builds the context tar: every file under `dir` that `rules` keep (sorted, so the same
/// tree gives the same archive) except the `replaced` directories, then `extra` files
/// (path, contents).
pub fn tar_context(
    dir: &Path,
    rules: &IgnoreRules,
    replaced: &[String],
    extra: &[(String, Vec<u8>)],
) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let abs = if rel.is_empty() {
            dir.to_path_buf()
        } else {
            dir.join(&rel)
        };
        let mut entries: Vec<_> = std::fs::read_dir(&abs)
            .with_context(|| format!("reading {}", abs.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("reading {}", abs.display()))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries.into_iter().rev() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if replaced.contains(&path) {
                continue;
            }
            let kind = entry.file_type()?;
            let excluded = rules.excluded(&path);
            if kind.is_dir() {
                // An excluded directory is still walked when a `!` rule may re-include
                // something below it.
                if !excluded || rules.has_negations() {
                    if !excluded {
                        builder.append_dir(&path, entry.path())?;
                    }
                    stack.push(path);
                }
            } else if !excluded {
                builder
                    .append_path_with_name(entry.path(), &path)
                    .with_context(|| format!("adding {} to the build context", path))?;
            }
        }
    }
    for (path, contents) in extra {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, path, contents.as_slice())?;
    }
    Ok(builder.into_inner()?)
}
