//! Renders the CI pipelines that build and push the images: `.github/workflows/images.yml`
//! (GitHub Actions) and `.gitlab-ci.yml` (GitLab CI), both at the repository root.
//!
//! Both do the same: check that the generated files are current, then, on pushes to `main`
//! and `v*` tags, cross-compile every image for every platform, push it with a registry
//! layer cache, and smoke-run it on each platform (QEMU only for that run: compiling never
//! emulates). A pull request (merge request) builds for the runner's own platform, loads
//! the images into the runner's engine and smoke-runs them; it pushes nothing.

use std::fmt::Write as _;

use crate::plan::Plan;
use crate::render::bake::DEFAULT_PLATFORMS;
use crate::render::scripts::sh_quote;

/// The platform of the hosted runners (GitHub's `ubuntu-24.04`, GitLab's shared runners).
pub const RUNNER_PLATFORM: &str = "linux/amd64";

/// Pinned action versions: the oldest major of each that runs on Node 24 (the Node 20
/// majors — checkout@v4, the docker actions @v3 — are deprecated and flagged by actionlint).
const CHECKOUT: &str = "actions/checkout@v5";
const RUST_TOOLCHAIN: &str = "dtolnay/rust-toolchain@stable";
const SETUP_BUILDX: &str = "docker/setup-buildx-action@v4";
const LOGIN: &str = "docker/login-action@v4";
const SETUP_QEMU: &str = "docker/setup-qemu-action@v4";
/// GitLab: the job image (the Docker CLI with buildx) and the engine it talks to.
const DOCKER_CLI_IMAGE: &str = "docker:27-cli";
const DOCKER_DIND_IMAGE: &str = "docker:27-dind";

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

/// The smoke run: each binary has to start on each platform. `$platforms` (shell words) and
/// the image tag suffix come from the caller; POSIX sh, so GitLab's Alpine shell runs it.
fn smoke_script(plan: &Plan, sha_var: &str, error_prefix: &str) -> String {
    let bins: Vec<String> = plan.images.iter().map(|i| sh_quote(&i.bin)).collect();
    format!(
        "# `--help` is answered (0) or refused (1, 2), or the program serves until the timeout\n\
         # (124, 137); anything else, such as 126 or 255 for \"exec format error\", fails.\n\
         status=0\n\
         for platform in $platforms; do\n\
         \x20 for bin in {bins}; do\n\
         \x20   image=\"$REGISTRY/$bin:sha-${sha_var}\"\n\
         \x20   code=0\n\
         \x20   timeout --kill-after=10 30 docker run --rm --name cargo-image-smoke --platform \"$platform\" \"$image\" --help || code=$?\n\
         \x20   docker rm --force cargo-image-smoke >/dev/null 2>&1 || true\n\
         \x20   case \"$code\" in\n\
         \x20     0|1|2|124|137) echo \"$image ($platform) starts (exit $code)\" ;;\n\
         \x20     *) echo \"{error_prefix}$image ($platform) does not start (exit $code)\"; status=1 ;;\n\
         \x20   esac\n\
         \x20 done\n\
         done\n\
         test \"$status\" -eq 0\n",
        bins = bins.join(" ")
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

fn yaml_quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
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
    let mut out = format!(
        "# Generated by `cargo xtask ci --github`: do not edit by hand.\n\
         # Builds the images of {manifest} for {platforms},\n\
         # pushes them to {registry}\n\
         # on pushes to main and v* tags, and runs them. A pull request builds them for {pr}\n\
         # only, runs them, and pushes nothing.\n\
         name: images\n\
         \n\
         on:\n\
         \x20 push:\n\
         \x20   branches: [main]\n\
         \x20   tags: [\"v*\"]\n\
         \x20 pull_request:\n\
         \n\
         permissions:\n\
         \x20 contents: read\n",
        manifest = params.manifest,
        platforms = describe_platforms(&params.platforms),
        registry = params
            .registry
            .as_deref()
            .unwrap_or("ghcr.io/<owner>, with the workflow's GITHUB_TOKEN"),
        pr = params.pr_platform(),
    );
    if ghcr {
        out.push_str("  packages: write\n");
    }
    out.push_str(
        "\n\
         concurrency:\n\
         \x20 group: images-${{ github.ref }}\n\
         \x20 cancel-in-progress: ${{ github.event_name == 'pull_request' }}\n\
         \n\
         jobs:\n\
         \x20 images:\n\
         \x20   runs-on: ubuntu-24.04\n\
         \x20   timeout-minutes: 90\n\
         \x20   defaults:\n\
         \x20     run:\n\
         \x20       shell: bash\n",
    );
    if let Some(r) = &params.registry {
        write!(out, "    env:\n      REGISTRY: {}\n", yaml_quote(r)).unwrap();
    }
    out.push_str("    steps:\n");
    // Steps are separated by a blank line.
    let step = |out: &mut String, text: &str| {
        if !out.ends_with("steps:\n") {
            out.push('\n');
        }
        out.push_str(&indent(text, 6));
    };
    let run_step = |out: &mut String, head: &str, script: &str| {
        step(out, &format!("{head}run: |\n{}", indent(script, 4)));
    };
    step(&mut out, &format!("- name: Check out\n  uses: {CHECKOUT}"));
    step(
        &mut out,
        &format!(
            "# The toolchain for `cargo xtask` (rust-toolchain.toml wins when there is one).\n\
             - name: Rust toolchain\n  uses: {RUST_TOOLCHAIN}"
        ),
    );
    run_step(
        &mut out,
        "- name: Generated files are current\n  ",
        &(params.checks("--github").join("\n") + "\n"),
    );
    if params.registry.is_none() {
        run_step(
            &mut out,
            "# Image names are lowercase; an owner's name may not be.\n\
             - name: Registry\n  ",
            "echo \"REGISTRY=ghcr.io/${GITHUB_REPOSITORY_OWNER,,}\" >>\"$GITHUB_ENV\"\n",
        );
    }
    step(
        &mut out,
        &format!(
            "# A docker-container builder: multi-platform builds and registry cache export.\n\
             - name: Set up buildx\n  uses: {SETUP_BUILDX}"
        ),
    );
    let login = if ghcr {
        // GITHUB_TOKEN can read the repository's packages on any event (a pull request's
        // cache import included) and write them on a push.
        format!(
            "- name: Log in to ghcr.io\n  uses: {LOGIN}\n  with:\n    registry: ghcr.io\n    \
             username: ${{{{ github.actor }}}}\n    password: ${{{{ secrets.GITHUB_TOKEN }}}}"
        )
    } else {
        // Repository secrets are withheld from pull requests of forks: log in to push only.
        let registry = match params.registry.as_deref().and_then(registry_host) {
            Some(host) => format!("\n    registry: {}", yaml_quote(host)),
            None => String::new(),
        };
        format!(
            "- name: Log in to the registry\n  if: github.event_name == 'push'\n  uses: {LOGIN}\n  \
             with:{registry}\n    username: ${{{{ secrets.REGISTRY_USERNAME }}}}\n    \
             password: ${{{{ secrets.REGISTRY_PASSWORD }}}}"
        )
    };
    step(&mut out, &login);
    run_step(
        &mut out,
        "# A registry cache rather than type=gha: `cargo xtask image` runs buildx itself, and the\n\
         # gha cache needs the Actions runtime token, which only actions get, not `run` steps;\n\
         # a registry cache is also what GitLab uses, and is not evicted at 10 GB.\n\
         - name: Build and push the images\n  if: github.event_name == 'push'\n  ",
        &format!(
            "tags=(--tag \"$REGISTRY/{{bin}}:sha-$GITHUB_SHA\")\n\
             if [[ \"$GITHUB_REF\" == refs/tags/v* ]]; then\n\
             \x20 tags+=(--tag \"$REGISTRY/{{bin}}:{{version}}\" --tag \"$REGISTRY/{{bin}}:latest\")\n\
             else\n\
             \x20 tags+=(--tag \"$REGISTRY/{{bin}}:main\")\n\
             fi\n\
             {}\n",
            params.image_command(true, "\"${tags[@]}\"")
        ),
    );
    run_step(
        &mut out,
        &format!(
            "- name: Build the images for {} (nothing is pushed)\n  \
             if: github.event_name != 'push'\n  ",
            params.pr_platform()
        ),
        &(params.image_command(false, "--tag \"$REGISTRY/{bin}:sha-$GITHUB_SHA\"") + "\n"),
    );
    let pr_foreign = params.pr_platform() != RUNNER_PLATFORM;
    let foreign = params.foreign();
    if !foreign.is_empty() {
        let condition = if pr_foreign {
            String::new()
        } else {
            "\n  if: github.event_name == 'push'".into()
        };
        step(
            &mut out,
            &format!(
                "# QEMU runs the {} images in the smoke run below; the build cross-compiles.\n\
                 - name: Set up QEMU{condition}\n  uses: {SETUP_QEMU}\n  with:\n    platforms: {}",
                foreign.join(", "),
                foreign.join(",")
            ),
        );
    }
    run_step(
        &mut out,
        "- name: Smoke-run the images\n  ",
        &format!(
            "{}{}",
            if params.platforms.len() == 1 {
                format!("platforms={}\n", sh_quote(params.pr_platform()))
            } else {
                format!(
                    "if [[ \"$GITHUB_EVENT_NAME\" == push ]]; then\n\
                     \x20 platforms={}\n\
                     else\n\
                     \x20 platforms={}\n\
                     fi\n",
                    sh_quote(&params.platforms.join(" ")),
                    sh_quote(params.pr_platform()),
                )
            },
            smoke_script(plan, "GITHUB_SHA", "::error::")
        ),
    );
    out
}

/// `.gitlab-ci.yml`.
pub fn gitlab(plan: &Plan, params: &CiParams) -> String {
    let mut out = format!(
        "# Generated by `cargo xtask ci --gitlab`: do not edit by hand.\n\
         # Builds the images of {manifest} for {platforms},\n\
         # pushes them to {registry}\n\
         # on pushes to main and v* tags, and runs them. A merge request builds them for {pr}\n\
         # only, runs them, and pushes nothing.\n\
         workflow:\n\
         \x20 rules:\n\
         \x20   - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n\
         \x20   - if: $CI_COMMIT_BRANCH == \"main\"\n\
         \x20   - if: $CI_COMMIT_TAG =~ /^v/\n\
         \n\
         variables:\n\
         \x20 # The job talks to the docker:dind service over plain TCP: the xtask's Engine API\n\
         \x20 # client has no TLS, and the service is reachable from this job only.\n\
         \x20 DOCKER_HOST: tcp://docker:2375\n\
         \x20 DOCKER_TLS_CERTDIR: \"\"\n\
         \x20 REGISTRY: {registry_value}\n\
         \n",
        manifest = params.manifest,
        platforms = describe_platforms(&params.platforms),
        registry = params
            .registry
            .as_deref()
            .unwrap_or("the project's container registry ($CI_REGISTRY_IMAGE)"),
        pr = params.pr_platform(),
        registry_value = match &params.registry {
            Some(r) => yaml_quote(r),
            None => "$CI_REGISTRY_IMAGE".into(),
        },
    );
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
    let (shared_login, push_login) = match &params.registry {
        None => (vec![login], vec![]),
        Some(_) => (vec![], vec![login]),
    };
    let mut before = vec![
        "# The Rust toolchain for `cargo xtask` (rust-toolchain.toml wins when there is one)."
            .to_string(),
        "apk add --no-cache coreutils gcc git musl-dev rustup".into(),
        "rustup-init -y --no-modify-path --profile minimal --default-toolchain stable".into(),
        "export PATH=\"$HOME/.cargo/bin:$PATH\"".into(),
        "# A docker-container builder: multi-platform builds and registry cache export.".into(),
        "docker buildx create --name cargo-image --driver docker-container --use".into(),
        "docker buildx inspect --bootstrap".into(),
    ];
    before.extend(shared_login);
    out.push_str(
        ".images:\n\
         \x20 stage: build\n",
    );
    writeln!(
        out,
        "  image: {DOCKER_CLI_IMAGE}\n  services:\n    - {DOCKER_DIND_IMAGE}\n  timeout: 90m"
    )
    .unwrap();
    out.push_str("  before_script:\n");
    out.push_str(&script_items(&before));

    let checks = params.checks("--gitlab");
    let foreign = params.foreign();
    let qemu = |platforms: &[&str]| -> Vec<String> {
        if platforms.is_empty() {
            return vec![];
        }
        let archs: Vec<&str> = platforms
            .iter()
            .map(|p| p.rsplit('/').next().unwrap_or(p))
            .collect();
        vec![
            "# QEMU runs the foreign-platform images in the smoke run; the build cross-compiles."
                .into(),
            format!(
                "docker run --rm --privileged tonistiigi/binfmt --install {}",
                archs.join(",")
            ),
        ]
    };
    let smoke = |platforms: &str| -> String {
        format!(
            "platforms={}\n{}",
            sh_quote(platforms),
            smoke_script(plan, "CI_COMMIT_SHA", "error: ")
        )
    };

    // Pushes: main and v* tags.
    let mut push = checks.clone();
    push.extend(push_login);
    push.push(format!(
        "tags=\"--tag $REGISTRY/{{bin}}:sha-$CI_COMMIT_SHA\"\n\
         if [ -n \"$CI_COMMIT_TAG\" ]; then\n\
         \x20 tags=\"$tags --tag $REGISTRY/{{bin}}:{{version}} --tag $REGISTRY/{{bin}}:latest\"\n\
         else\n\
         \x20 tags=\"$tags --tag $REGISTRY/{{bin}}:main\"\n\
         fi\n\
         # $tags is split into words on purpose; a registry path has no spaces.\n\
         # shellcheck disable=SC2086\n\
         {}",
        params.image_command(true, "$tags")
    ));
    push.extend(qemu(&foreign));
    push.push(smoke(&params.platforms.join(" ")));
    out.push_str(
        "\n# Pushes to main and v* tags: every platform, pushed with a registry cache, then run.\n\
         images:\n\
         \x20 extends: .images\n\
         \x20 rules:\n\
         \x20   - if: $CI_PIPELINE_SOURCE != \"merge_request_event\"\n\
         \x20 script:\n",
    );
    out.push_str(&script_items(&push));

    // Merge requests: the runner's platform, loaded and run, nothing pushed.
    let mut mr = checks;
    mr.push(params.image_command(false, "--tag \"$REGISTRY/{bin}:sha-$CI_COMMIT_SHA\""));
    let pr = params.pr_platform();
    if pr != RUNNER_PLATFORM {
        mr.extend(qemu(&[pr]));
    }
    mr.push(smoke(pr));
    writeln!(
        out,
        "\n# Merge requests: {pr} only, loaded into the job's engine and run; nothing is pushed.\n\
         images:merge-request:\n\
         \x20 extends: .images\n\
         \x20 rules:\n\
         \x20   - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n\
         \x20 script:"
    )
    .unwrap();
    out.push_str(&script_items(&mr));
    out
}

/// A YAML sequence of shell commands at 4 spaces: `# ...` items become YAML comments,
/// single lines stay plain when YAML reads them verbatim, anything else is a literal block.
fn script_items(items: &[String]) -> String {
    let mut out = String::new();
    for item in items {
        if let Some(comment) = item.strip_prefix("# ").filter(|c| !c.contains('\n')) {
            writeln!(out, "    # {comment}").unwrap();
        } else if plain_safe(item) {
            writeln!(out, "    - {item}").unwrap();
        } else {
            out.push_str("    - |\n");
            out.push_str(&indent(item, 6));
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
