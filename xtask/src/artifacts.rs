//! Generated files: which ones a plan yields and where they go, writing them atomically,
//! and `--check` (compare with what is on disk and show a diff).

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::plan::Plan;
use crate::read::Loaded;
use crate::render;

/// One generated file.
#[derive(Clone, Debug, PartialEq)]
pub struct Artifact {
    pub path: PathBuf,
    pub contents: String,
    pub executable: bool,
}

impl Artifact {
    fn new(path: PathBuf, contents: String) -> Self {
        Artifact {
            path,
            contents,
            executable: false,
        }
    }
}

/// The files `cargo xtask dockerfile` keeps in the workspace: the Dockerfile and
/// compose.yaml at the workspace root, `.dockerignore` at the build context root.
pub fn workspace_artifacts(loaded: &Loaded, plan: &Plan) -> Vec<Artifact> {
    let context_from_ws = relative(&loaded.workspace_dir, &loaded.context_dir);
    let dockerfile_in_context = crate::model::join(&plan.workspace_root, "Dockerfile");
    vec![
        Artifact::new(
            loaded.workspace_dir.join("Dockerfile"),
            render::dockerfile::render(plan),
        ),
        Artifact::new(
            loaded.context_dir.join(".dockerignore"),
            render::dockerignore::render(),
        ),
        Artifact::new(
            loaded.workspace_dir.join("compose.yaml"),
            render::compose::render(plan, &context_from_ws, &dockerfile_in_context),
        ),
    ]
}

/// The build-context supplement `--out DIR` writes: the Dockerfile with its own ignore
/// file (BuildKit reads `<Dockerfile>.dockerignore` beside it), `build.sh` with the exact
/// `docker buildx build` commands, the plan, and the skeleton's files for inspection.
pub fn out_dir_artifacts(loaded: &Loaded, plan: &Plan, out: &Path) -> Result<Vec<Artifact>> {
    let out_abs = absolute(out)?;
    let mut files = vec![
        Artifact::new(out.join("Dockerfile"), render::dockerfile::render(plan)),
        Artifact::new(
            out.join("Dockerfile.dockerignore"),
            render::dockerignore::render(),
        ),
        Artifact {
            path: out.join("build.sh"),
            contents: render::build_sh::render(plan, &relative(&out_abs, &loaded.context_dir)),
            executable: true,
        },
        Artifact::new(out.join("plan.json"), plan_json(plan)),
    ];
    let sk = &plan.skeleton;
    for (path, text) in &sk.files {
        files.push(Artifact::new(out.join("skeleton").join(path), text.clone()));
    }
    for path in &sk.empty_sources {
        files.push(Artifact::new(
            out.join("skeleton").join(path),
            String::new(),
        ));
    }
    for path in &sk.main_sources {
        files.push(Artifact::new(
            out.join("skeleton").join(path),
            crate::skeleton::DUMMY_MAIN.to_string(),
        ));
    }
    Ok(files)
}

/// The plan as pretty JSON (what `cargo xtask plan` prints).
pub fn plan_json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).expect("a plan serializes");
    s.push('\n');
    s
}

/// Writes every artifact: each goes to a temporary file beside its target first and is
/// renamed over it, so an interrupted run leaves old files whole, never half-written.
pub fn write_all(files: &[Artifact]) -> Result<()> {
    let mut staged = Vec::new();
    for f in files {
        let dir = f.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let name = f.path.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!(".{name}.cargo-image-tmp"));
        std::fs::write(&tmp, &f.contents).with_context(|| format!("writing {}", tmp.display()))?;
        #[cfg(unix)]
        if f.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("making {} executable", tmp.display()))?;
        }
        staged.push((tmp, &f.path));
    }
    for (tmp, path) in staged {
        std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    }
    Ok(())
}

/// Fails, with a diff per file and the command that regenerates them, when any artifact
/// differs from the file on disk.
pub fn check_all(files: &[Artifact], regenerate: &str) -> Result<()> {
    let mut report = String::new();
    for f in files {
        let on_disk = std::fs::read_to_string(&f.path).unwrap_or_default();
        if on_disk != f.contents {
            writeln!(
                report,
                "--- {p} (on disk)\n+++ {p} (generated)\n{}",
                line_diff(&on_disk, &f.contents),
                p = f.path.display()
            )
            .unwrap();
        }
    }
    if !report.is_empty() {
        bail!("generated files are stale; run `{regenerate}` to update them\n{report}");
    }
    Ok(())
}

/// A minimal line diff (longest common subsequence), enough to see what changed.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Deletions first on a tie, as diff(1) prints them.
            writeln!(out, "-{}", a[i]).unwrap();
            i += 1;
        } else {
            writeln!(out, "+{}", b[j]).unwrap();
            j += 1;
        }
    }
    out
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

/// The path from directory `from` to `to` (both absolute), `.` when they are the same.
pub fn relative(from: &Path, to: &Path) -> String {
    let norm = |p: &Path| -> Vec<String> {
        let mut parts: Vec<String> = Vec::new();
        for c in p.components() {
            match c {
                Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
                Component::ParentDir => {
                    parts.pop();
                }
                _ => {}
            }
        }
        parts
    };
    let (f, t) = (norm(from), norm(to));
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); f.len() - common];
    parts.extend(t[common..].iter().cloned());
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a/b")), ".");
        assert_eq!(relative(Path::new("/a/b"), Path::new("/a")), "..");
        assert_eq!(
            relative(Path::new("/a/b/out"), Path::new("/a/c")),
            "../../c"
        );
    }

    #[test]
    fn diff_shows_changed_lines() {
        assert_eq!(line_diff("a\nb\nc\n", "a\nx\nc\n"), "-b\n+x\n");
    }
}
