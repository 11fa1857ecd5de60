//! The build context the engine driver sends: the context directory filtered by
//! `.dockerignore` (the workspace's own, or the one we generate when there is none),
//! plus the driver's files under `.cargo-image/` (the Dockerfile, extra CA certificates).
//! Nothing is written into the user's workspace.

use std::path::Path;

use anyhow::{Context, Result};

/// `.dockerignore` rules, matched the way Docker does: the last matching pattern wins,
/// `!` re-includes, `**` spans directories, and a pattern matching a directory excludes
/// everything below it.
#[derive(Clone, Debug, Default)]
pub struct IgnoreRules {
    rules: Vec<(bool, Vec<String>)>,
}

impl IgnoreRules {
    pub fn parse(text: &str) -> IgnoreRules {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (negate, pat) = match l.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, l),
                };
                let segments = pat
                    .trim_start_matches('/')
                    .trim_end_matches('/')
                    .split('/')
                    .filter(|s| !s.is_empty() && *s != ".")
                    .map(String::from)
                    .collect();
                (negate, segments)
            })
            .collect();
        IgnoreRules { rules }
    }

    /// Whether `path` (relative, `/`-separated) is left out of the context.
    pub fn excluded(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for (negate, pattern) in &self.rules {
            // A pattern matches the path itself or any of its parent directories.
            let hit = (1..=parts.len()).any(|n| segments_match(pattern, &parts[..n]));
            if hit {
                excluded = !negate;
            }
        }
        excluded
    }

    fn has_negations(&self) -> bool {
        self.rules.iter().any(|(n, _)| *n)
    }
}

fn segments_match(pattern: &[String], path: &[&str]) -> bool {
    match (pattern.first(), path.first()) {
        (None, None) => true,
        (Some(p), _) if p == "**" => {
            segments_match(&pattern[1..], path)
                || (!path.is_empty() && segments_match(pattern, &path[1..]))
        }
        (Some(p), Some(s)) => {
            glob(p.as_bytes(), s.as_bytes()) && segments_match(&pattern[1..], &path[1..])
        }
        _ => false,
    }
}

/// One path segment against a glob with `*` and `?`.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

/// Builds the context tar: every file under `dir` that `rules` keep (sorted, so the same
/// tree gives the same archive), then `extra` files (path, contents).
pub fn tar_context(
    dir: &Path,
    rules: &IgnoreRules,
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
            if path == crate::plan::DRIVER_DIR {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_rules_exclude_what_they_say() {
        let rules = IgnoreRules::parse(&crate::render::dockerignore::render());
        for path in [
            "target",
            "target/release/x",
            "crates/a/target/debug/y",
            ".git/HEAD",
            ".env",
            "crates/a/.env.local",
            "src/main.rs.swp",
        ] {
            assert!(rules.excluded(path), "{path} should be excluded");
        }
        for path in [
            "Cargo.toml",
            "crates/a/src/lib.rs",
            ".env.example",
            "crates/targets/x.rs",
        ] {
            assert!(!rules.excluded(path), "{path} should be kept");
        }
    }

    #[test]
    fn last_rule_wins_and_globs_match_one_segment() {
        let rules = IgnoreRules::parse("docs/*.md\n!docs/keep.md\n");
        assert!(rules.excluded("docs/a.md"));
        assert!(!rules.excluded("docs/keep.md"));
        assert!(!rules.excluded("docs/sub/a.md"));
    }
}
