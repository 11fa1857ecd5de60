//! Renders the CI pipelines that build and push the images: `.github/workflows/images.yml`
//! (GitHub Actions) and `.gitlab-ci.yml` (GitLab CI), both at the repository root.
//!
//! Both do the same: check that the generated files are current, then, on pushes to `main`
//! and `v*` tags, cross-compile every image for every platform, push it with a registry
//! layer cache, and smoke-run it on each platform (QEMU only for that run: compiling never
//! emulates). A pull request (merge request) builds for the runner's own platform, loads
//! the images into the runner's engine and smoke-runs them; it pushes nothing.
//!
//! What each file says lives in `templates/ci/` as real files that their linters read as
//! they are (actionlint, GitLab's schema, shellcheck: `tests/ci_templates.rs`): the
//! workflow `github.yml`, the pipeline `gitlab.yml`, and `smoke.sh`, the smoke run both
//! embed. This module fills their `@@NAME@@` markers (`render/template.rs`) with what
//! depends on the parameters and the plan: the `cargo xtask` commands, the images, and the
//! steps and lines only some registries and platform lists have.

use std::fmt::Write as _;

use crate::plan::Plan;
use crate::render::bake::DEFAULT_PLATFORMS;
use crate::render::quote::{dq, sh_quote};
use crate::render::template::fill;

/// The platform of the hosted runners (GitHub's `ubuntu-24.04`, GitLab's shared runners).
pub const RUNNER_PLATFORM: &str = "linux/amd64";

/// `templates/ci/github.yml`: the workflow, with `@@NAME@@` markers (`template::fill`).
/// The actions it pins (there and in the steps below) are the oldest major of each that
/// runs on Node 24 (the Node 20 majors — checkout@v4, the docker actions @v3 — are
/// deprecated and flagged by actionlint).
pub const GITHUB_TEMPLATE: &str = include_str!("../../templates/ci/github.yml");
/// `templates/ci/gitlab.yml`: the pipeline. Its jobs run the Docker CLI with buildx
/// (`docker:27-cli`) against a `docker:27-dind` service.
pub const GITLAB_TEMPLATE: &str = include_str!("../../templates/ci/gitlab.yml");
/// `templates/ci/smoke.sh`: the smoke run of both pipelines, after the lines that set
/// `$platforms`.
pub const SMOKE_TEMPLATE: &str = include_str!("../../templates/ci/smoke.sh");

/// GitHub, without a configured registry: the repository owner's ghcr.io namespace.
const GITHUB_REGISTRY_STEP: &str = r#"# Image names are lowercase; an owner's name may not be.
- name: Registry
  run: |
    echo "REGISTRY=ghcr.io/${GITHUB_REPOSITORY_OWNER,,}" >>"$GITHUB_ENV"

"#;

/// GitHub, pushing to ghcr.io: GITHUB_TOKEN can read the repository's packages on any
/// event (a pull request's cache import included) and write them on a push.
const GITHUB_LOGIN_GHCR: &str = r#"- name: Log in to ghcr.io
  uses: docker/login-action@v4
  with:
    registry: ghcr.io
    username: ${{ github.actor }}
    password: ${{ secrets.GITHUB_TOKEN }}
"#;

/// GitHub, pushing elsewhere: repository secrets are withheld from pull requests of forks,
/// so it logs in to push only.
const GITHUB_LOGIN_SECRETS: &str = r#"- name: Log in to the registry
  if: github.event_name == 'push'
  uses: docker/login-action@v4
  with:
    # @@REGISTRY@@
    username: ${{ secrets.REGISTRY_USERNAME }}
    password: ${{ secrets.REGISTRY_PASSWORD }}
"#;

/// GitHub, with platforms other than the runner's: QEMU for the smoke run (a pull request
/// needs it only when it builds for a foreign platform).
const GITHUB_QEMU_STEP: &str = r#"# QEMU runs the @@FOREIGN@@ images in the smoke run below; the build cross-compiles.
- name: Set up QEMU
  # @@IF@@
  uses: docker/setup-qemu-action@v4
  with:
    platforms: @@FOREIGN_LIST@@

"#;

/// What the pipelines need beyond the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct CiParams {
    /// The workspace's `Cargo.toml` relative to the repository root (`/`-separated); every
    /// `cargo xtask` command in the pipeline passes it as `--manifest-path`.
    pub manifest: String,
    /// Where the images go (`registry.example.com/team`); `None`: the CI system's own
    /// registry (`ghcr.io/<owner>`, GitLab's `$CI_REGISTRY_IMAGE`).
    pub registry: Option<String>,
    /// The platforms pushed images are built for.
    pub platforms: Vec<String>,
}

impl CiParams {
    fn default_platforms(&self) -> bool {
        self.platforms
            .iter()
            .map(String::as_str)
            .eq(DEFAULT_PLATFORMS)
    }

    /// The platform a pull request builds and loads: the runner's, when it is one of the
    /// configured platforms.
    fn pr_platform(&self) -> &str {
        if self.platforms.len() == 1 || !self.platforms.iter().any(|p| p == RUNNER_PLATFORM) {
            self.platforms
                .first()
                .map(String::as_str)
                .unwrap_or(RUNNER_PLATFORM)
        } else {
            RUNNER_PLATFORM
        }
    }

    fn foreign(&self) -> Vec<&str> {
        self.platforms
            .iter()
            .map(String::as_str)
            .filter(|p| *p != RUNNER_PLATFORM)
            .collect()
    }

    /// `--manifest-path M`, plus `--platform` when it is not the default.
    fn common_args(&self, platform: bool) -> String {
        let mut out = format!(" --manifest-path {}", sh_quote(&self.manifest));
        if platform && !self.default_platforms() {
            write!(out, " --platform {}", sh_quote(&self.platforms.join(","))).unwrap();
        }
        out
    }

    /// The commands that fail when a generated file is stale.
    fn checks(&self, ci_flag: &str) -> Vec<String> {
        let mut ci = format!("cargo xtask ci {ci_flag} --check{}", self.common_args(true));
        if let Some(r) = &self.registry {
            write!(ci, " --registry {}", sh_quote(r)).unwrap();
        }
        vec![
            format!("cargo xtask dockerfile --check{}", self.common_args(false)),
            format!("cargo xtask bake --check{}", self.common_args(true)),
            ci,
        ]
    }

    /// `cargo xtask image` for a push (`push`) or a pull request, with `tags` (shell words).
    fn image_command(&self, push: bool, tags: &str) -> String {
        let cache = "type=registry,ref=$REGISTRY/{bin}:buildcache";
        let mut out = format!("cargo xtask image{}", self.common_args(false));
        if push {
            write!(
                out,
                " --platform {} --push {tags} \\\n  --cache-from \"{cache}\" \\\n  --cache-to \"{cache},mode=max\"",
                sh_quote(&self.platforms.join(","))
            )
            .unwrap();
        } else {
            write!(
                out,
                " --platform {} {tags} \\\n  --cache-from \"{cache}\"",
                sh_quote(self.pr_platform())
            )
            .unwrap();
        }
        out
    }
}

/// The registry host of an image prefix (images are `<prefix>/<bin>`), `None` for Docker
/// Hub (`team`, `docker.io/team`).
pub fn registry_host(registry: &str) -> Option<&str> {
    let first = registry.split('/').next().unwrap_or(registry);
    let is_host = first.contains('.') || first.contains(':') || first == "localhost";
    (is_host && first != "docker.io" && first != "index.docker.io").then_some(first)
}

/// The smoke run: each binary has to start on each platform. `sha` is the variable holding
/// the commit (`$GITHUB_SHA`), `error_prefix` how the CI system marks an error line.
fn smoke_script(plan: &Plan, sha: &str, error_prefix: &str) -> String {
    let bins: Vec<String> = plan.images.iter().map(|i| sh_quote(&i.bin)).collect();
    fill(
        SMOKE_TEMPLATE,
        &[
            ("BINS", &bins.join(" ")),
            ("SHA", sha),
            ("ERROR_PREFIX", error_prefix),
        ],
    )
}

/// Indents every non-empty line of `text` by `n` spaces.
fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("{pad}{l}\n")
            }
        })
        .collect()
}

fn describe_platforms(platforms: &[String]) -> String {
    platforms.join(", ")
}

/// `.github/workflows/images.yml`.
pub fn github(plan: &Plan, params: &CiParams) -> String {
    let ghcr = match &params.registry {
        None => true,
        Some(r) => registry_host(r) == Some("ghcr.io"),
    };
    let pr = params.pr_platform();
    let env = match &params.registry {
        Some(r) => format!("env:\n  REGISTRY: {}\n", dq(r)),
        None => String::new(),
    };
    let login = if ghcr {
        GITHUB_LOGIN_GHCR.to_string()
    } else {
        let registry = match params.registry.as_deref().and_then(registry_host) {
            Some(host) => format!("registry: {}\n", dq(host)),
            None => String::new(),
        };
        fill(GITHUB_LOGIN_SECRETS, &[("REGISTRY", &registry)])
    };
    let foreign = params.foreign();
    let qemu = if foreign.is_empty() {
        String::new()
    } else {
        let condition = if pr == RUNNER_PLATFORM {
            "if: github.event_name == 'push'\n"
        } else {
            ""
        };
        fill(
            GITHUB_QEMU_STEP,
            &[
                ("FOREIGN", &foreign.join(", ")),
                ("IF", condition),
                ("FOREIGN_LIST", &foreign.join(",")),
            ],
        )
    };
    let smoke_platforms = if params.platforms.len() == 1 {
        format!("platforms={}\n", sh_quote(pr))
    } else {
        format!(
            "if [[ \"$GITHUB_EVENT_NAME\" == push ]]; then\n  platforms={}\n\
             else\n  platforms={}\nfi\n",
            sh_quote(&params.platforms.join(" ")),
            sh_quote(pr),
        )
    };
    let push = params.image_command(true, "\"${tags[@]}\"");
    let pr_build = params.image_command(false, "--tag \"$REGISTRY/{bin}:sha-$GITHUB_SHA\"");
    fill(
        GITHUB_TEMPLATE,
        &[
            ("MANIFEST", &params.manifest),
            ("PLATFORMS", &describe_platforms(&params.platforms)),
            (
                "REGISTRY",
                params
                    .registry
                    .as_deref()
                    .unwrap_or("ghcr.io/<owner>, with the workflow's GITHUB_TOKEN"),
            ),
            ("PR_PLATFORM", pr),
            (
                "PACKAGES_PERMISSION",
                if ghcr { "packages: write\n" } else { "" },
            ),
            ("ENV", &env),
            ("CHECKS", &lines(&params.checks("--github"))),
            (
                "REGISTRY_STEP",
                if params.registry.is_none() {
                    GITHUB_REGISTRY_STEP
                } else {
                    ""
                },
            ),
            ("LOGIN_STEP", &login),
            ("PUSH", &lines(&[push])),
            ("PR_BUILD", &lines(&[pr_build])),
            ("QEMU_STEP", &qemu),
            ("SMOKE_PLATFORMS", &smoke_platforms),
            ("SMOKE", &smoke_script(plan, "$GITHUB_SHA", "::error::")),
        ],
    )
}

/// `.gitlab-ci.yml`.
pub fn gitlab(plan: &Plan, params: &CiParams) -> String {
    let login = match &params.registry {
        None => "echo \"$CI_REGISTRY_PASSWORD\" | docker login --username \"$CI_REGISTRY_USER\" \
                 --password-stdin \"$CI_REGISTRY\""
            .to_string(),
        Some(r) => format!(
            "echo \"$REGISTRY_PASSWORD\" | docker login --username \"$REGISTRY_USERNAME\" \
             --password-stdin{}",
            registry_host(r)
                .map(|h| format!(" {}", sh_quote(h)))
                .unwrap_or_default()
        ),
    };
    // The project's own registry is readable with the job token in merge requests too (the
    // cache import); other credentials are usually protected variables: log in to push only.
    let login = script_items(&[login]);
    let (shared_login, push_login) = match &params.registry {
        None => (login, String::new()),
        Some(_) => (String::new(), login),
    };
    let registry_value = match &params.registry {
        Some(r) => dq(r),
        None => "$CI_REGISTRY_IMAGE".into(),
    };
    let qemu = |platforms: &[&str]| -> String {
        if platforms.is_empty() {
            return String::new();
        }
        let archs: Vec<&str> = platforms
            .iter()
            .map(|p| p.rsplit('/').next().unwrap_or(p))
            .collect();
        script_items(&[
            "# QEMU runs the foreign-platform images in the smoke run; the build cross-compiles."
                .into(),
            format!(
                "docker run --rm --privileged tonistiigi/binfmt --install {}",
                archs.join(",")
            ),
        ])
    };
    let pr = params.pr_platform();
    let push = params.image_command(true, "$tags");
    let pr_build = params.image_command(false, "--tag \"$REGISTRY/{bin}:sha-$CI_COMMIT_SHA\"");
    fill(
        GITLAB_TEMPLATE,
        &[
            ("MANIFEST", &params.manifest),
            ("PLATFORMS", &describe_platforms(&params.platforms)),
            (
                "REGISTRY",
                params
                    .registry
                    .as_deref()
                    .unwrap_or("the project's container registry ($CI_REGISTRY_IMAGE)"),
            ),
            ("PR_PLATFORM", pr),
            (
                "REGISTRY_VARIABLE",
                &format!("REGISTRY: {registry_value}\n"),
            ),
            ("SHARED_LOGIN", &shared_login),
            ("CHECKS", &script_items(&params.checks("--gitlab"))),
            ("PUSH_LOGIN", &push_login),
            ("PUSH", &lines(&[push])),
            ("PUSH_QEMU", &qemu(&params.foreign())),
            ("PUSH_PLATFORMS", &sh_quote(&params.platforms.join(" "))),
            ("SMOKE", &smoke_script(plan, "$CI_COMMIT_SHA", "error: ")),
            ("PR_BUILD", &lines(&[pr_build])),
            (
                "PR_QEMU",
                &if pr == RUNNER_PLATFORM {
                    String::new()
                } else {
                    qemu(&[pr])
                },
            ),
            ("PR_PLATFORM_WORD", &sh_quote(pr)),
        ],
    )
}

/// Strings as lines: each followed by a newline.
fn lines(items: &[String]) -> String {
    items.iter().map(|item| format!("{item}\n")).collect()
}

/// A YAML sequence of shell commands (unindented; the template's marker says how deep):
/// `# ...` items become YAML comments, single lines stay plain when YAML reads them
/// verbatim, anything else is a literal block.
fn script_items(items: &[String]) -> String {
    let mut out = String::new();
    for item in items {
        if let Some(comment) = item.strip_prefix("# ").filter(|c| !c.contains('\n')) {
            writeln!(out, "# {comment}").unwrap();
        } else if plain_safe(item) {
            writeln!(out, "- {item}").unwrap();
        } else {
            out.push_str("- |\n");
            out.push_str(&indent(item, 2));
        }
    }
    out
}

/// Whether a one-line string reads back verbatim as a plain YAML scalar.
fn plain_safe(s: &str) -> bool {
    let first = s.chars().next();
    !s.is_empty()
        && !s.contains('\n')
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && s.trim() == s
        && first.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '/' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_hosts() {
        assert_eq!(registry_host("ghcr.io/team"), Some("ghcr.io"));
        assert_eq!(registry_host("localhost:5000/x"), Some("localhost:5000"));
        assert_eq!(registry_host("team"), None);
        assert_eq!(registry_host("docker.io/team"), None);
        assert_eq!(
            registry_host("registry.example.com"),
            Some("registry.example.com")
        );
    }

    #[test]
    fn plain_yaml_only_when_verbatim() {
        assert!(plain_safe(
            "cargo xtask bake --check --manifest-path a/Cargo.toml"
        ));
        assert!(!plain_safe("echo a: b"));
        assert!(!plain_safe("\"quoted\""));
        assert!(!plain_safe("a #b"));
    }
}
