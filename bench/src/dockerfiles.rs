//! The Dockerfiles of the patterns the bench compares ours with: single-stage, cargo-chef
//! and cache mounts (`docker init`). Pure: rendered from the same build facts as our plan
//! (builder, profile, `--target` triple, features, binaries, RUSTFLAGS, strip, runtime), so
//! every variant compiles exactly what ours compiles and ships it on the same runtime.
//!
//! No `# syntax=` line (it would pull an image); `RUN --mount` needs BuildKit, which every
//! variant is built with.

use std::fmt::Write as _;

use cargo_image::plan::{ImagePlan, Plan};

/// What every variant builds, taken from our plan so that the cargo flags agree.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildFacts {
    /// The builder image (for the bench: a per-run alias of it, see `bench::docker`).
    pub builder: String,
    /// The explicit `--target` triple.
    pub triple: String,
    pub profile: String,
    /// The directory under `target/<triple>/` the profile writes to.
    pub profile_dir: String,
    /// `package/feature`, sorted.
    pub features: Vec<String>,
    pub bins: Vec<String>,
    /// The binary whose runtime image is measured.
    pub bin: String,
    pub static_link: bool,
    pub strip: bool,
    /// The runtime stage's base image (`scratch` allowed).
    pub runtime_base: String,
    pub user: String,
    /// The workspace root inside the build context ("" when they coincide).
    pub workspace_root: String,
}

impl BuildFacts {
    /// The facts of `plan` for the image of `bin`.
    pub fn from_plan(plan: &Plan, image: &ImagePlan, triple: &str) -> BuildFacts {
        BuildFacts {
            builder: plan.builder.clone(),
            triple: triple.to_string(),
            profile: plan.build.profile.clone(),
            profile_dir: plan.build.profile_dir.clone(),
            features: plan.build.features.clone(),
            bins: plan.build.bins.clone(),
            bin: image.bin.clone(),
            static_link: plan.build.static_link,
            strip: plan.build.strip,
            runtime_base: image.base.clone(),
            user: image.user.clone(),
            workspace_root: plan.workspace_root.clone(),
        }
    }

    /// Environment variables every cargo invocation gets, as `(name, value)`: the same
    /// RUSTFLAGS and strip setting our `cargo-image build` exports.
    pub fn cargo_env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        if self.static_link {
            env.push((
                "RUSTFLAGS".to_string(),
                "-C target-feature=+crt-static".to_string(),
            ));
        }
        if self.strip {
            let profile = self.profile.to_ascii_uppercase().replace('-', "_");
            env.push((
                format!("CARGO_PROFILE_{profile}_STRIP"),
                "symbols".to_string(),
            ));
        }
        env
    }

    /// `cargo build` arguments after `build`: profile, target, features, binaries.
    pub fn cargo_args(&self) -> Vec<String> {
        let mut args = vec![
            "--locked".to_string(),
            "--profile".to_string(),
            self.profile.clone(),
            "--target".to_string(),
            self.triple.clone(),
        ];
        if !self.features.is_empty() {
            args.push("--features".to_string());
            args.push(self.features.join(","));
        }
        for b in &self.bins {
            args.push("--bin".to_string());
            args.push(b.clone());
        }
        args
    }

    /// Where cargo leaves the measured binary, relative to the target directory.
    pub fn binary_path(&self) -> String {
        format!("{}/{}/{}", self.triple, self.profile_dir, self.bin)
    }

    /// The environment as a shell prefix (`A='x' B='y' `).
    fn env_prefix(&self) -> String {
        self.cargo_env()
            .iter()
            .map(|(k, v)| format!("{k}={} ", sh_quote(v)))
            .collect()
    }

    fn build_line(&self) -> String {
        format!(
            "{}cargo build {}",
            self.env_prefix(),
            self.cargo_args()
                .iter()
                .map(|a| sh_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        )
    }

    /// Copies the binary out of `target/` to `/out`, where the runtime stage takes it.
    fn install_line(&self) -> String {
        format!(
            "mkdir -p /out && cp target/{} /out/{}",
            self.binary_path(),
            self.bin
        )
    }

    /// Where cargo runs: the workspace root under `/app`.
    fn workdir(&self) -> String {
        if self.workspace_root.is_empty() {
            "/app".to_string()
        } else {
            format!("/app/{}", self.workspace_root)
        }
    }

    /// A `WORKDIR` line for the workspace root when it is not the context root.
    fn root_workdir_line(&self) -> String {
        if self.workspace_root.is_empty() {
            String::new()
        } else {
            format!("WORKDIR {}\n", self.workdir())
        }
    }

    fn runtime_stage(&self, out: &mut String, from_stage: &str) {
        writeln!(
            out,
            "FROM {} AS runtime\n\
             COPY --from={from_stage} /out/{bin} /usr/local/bin/{bin}\n\
             USER {}\n\
             ENTRYPOINT [\"/usr/local/bin/{bin}\"]",
            self.runtime_base,
            self.user,
            bin = self.bin,
        )
        .unwrap();
    }
}

/// The stage each variant's image is built from.
pub const RUNTIME_STAGE: &str = "runtime";

/// `COPY . .` and one `cargo build` in the builder: every edit rebuilds everything,
/// crates.io downloads included.
pub fn single_stage(f: &BuildFacts) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "# cargo xtask bench: the single-stage pattern (COPY . . and one cargo build).\n\
         FROM {} AS build\n\
         WORKDIR /app\n\
         COPY . .\n\
         {}RUN {} \\\n    && {}\n",
        f.builder,
        f.root_workdir_line(),
        f.build_line(),
        f.install_line()
    )
    .unwrap();
    f.runtime_stage(&mut out, "build");
    out
}

/// The cargo-chef pattern from its README: cargo-chef installed from crates.io in the
/// builder, a planner stage writing `recipe.json`, `cook` compiling the dependencies, then
/// `COPY . .` and the real build.
pub fn chef(f: &BuildFacts) -> String {
    let mut cook = vec![];
    if f.profile == "release" {
        cook.push("--release".to_string());
    } else {
        cook.push("--profile".to_string());
        cook.push(sh_quote(&f.profile));
    }
    cook.push("--target".to_string());
    cook.push(sh_quote(&f.triple));
    if !f.features.is_empty() {
        cook.push("--features".to_string());
        cook.push(sh_quote(&f.features.join(",")));
    }
    // cook takes one --bin; with several binaries it cooks for all of them.
    if let [only] = f.bins.as_slice() {
        cook.push("--bin".to_string());
        cook.push(sh_quote(only));
    }
    let mut out = String::new();
    writeln!(
        out,
        "# cargo xtask bench: the cargo-chef pattern (planner / cook / build).\n\
         FROM {} AS chef\n\
         RUN cargo install cargo-chef --locked\n\
         WORKDIR /app\n\
         \n\
         FROM chef AS planner\n\
         COPY . .\n\
         {root}RUN cargo chef prepare --recipe-path recipe.json\n\
         \n\
         FROM chef AS build\n\
         {root}COPY --from=planner {workdir}/recipe.json recipe.json\n\
         RUN {}cargo chef cook {} --recipe-path recipe.json\n\
         {context}COPY . .\n\
         {root}RUN {} \\\n    && {}\n",
        f.builder,
        f.env_prefix(),
        cook.join(" "),
        f.build_line(),
        f.install_line(),
        root = f.root_workdir_line(),
        workdir = f.workdir(),
        context = if f.workspace_root.is_empty() {
            ""
        } else {
            "WORKDIR /app\n"
        },
    )
    .unwrap();
    f.runtime_stage(&mut out, "build");
    out
}

/// The `docker init` pattern: one stage, the sources bind-mounted, `target/` and cargo's
/// registry and git checkouts on BuildKit cache mounts. `cache_id` names the mounts (a
/// fresh one starts them empty).
pub fn cache_mount(f: &BuildFacts, cache_id: &str) -> String {
    let mut out = String::new();
    // The bind mount is `rw` (writes are thrown away): cache mounts inside a read-only bind
    // mount cannot create their mount points.
    writeln!(
        out,
        "# cargo xtask bench: the cache-mount pattern (docker init: bind-mounted sources,\n\
         # target/ and the cargo registry on cache mounts).\n\
         FROM {} AS build\n\
         WORKDIR {workdir}\n\
         RUN --mount=type=bind,target=/app,rw \\\n    \
             --mount=type=cache,target={workdir}/target,id={cache_id}-target \\\n    \
             --mount=type=cache,target=/usr/local/cargo/git/db,id={cache_id}-git \\\n    \
             --mount=type=cache,target=/usr/local/cargo/registry,id={cache_id}-registry \\\n    \
             {} \\\n    && {}\n",
        f.builder,
        f.build_line(),
        f.install_line(),
        workdir = f.workdir(),
    )
    .unwrap();
    f.runtime_stage(&mut out, "build");
    out
}

/// Single-quotes a word for `sh` when it needs it.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./,=+:@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> BuildFacts {
        BuildFacts {
            builder: "b:1".into(),
            triple: "x86_64-unknown-linux-gnu".into(),
            profile: "release".into(),
            profile_dir: "release".into(),
            features: vec!["app/extra".into()],
            bins: vec!["app".into()],
            bin: "app".into(),
            static_link: true,
            strip: true,
            runtime_base: "scratch".into(),
            user: "65532:65532".into(),
            workspace_root: String::new(),
        }
    }

    #[test]
    fn single_stage_builds_with_the_plan_flags() {
        let text = single_stage(&facts());
        assert_eq!(
            text,
            "# cargo xtask bench: the single-stage pattern (COPY . . and one cargo build).
FROM b:1 AS build
WORKDIR /app
COPY . .
RUN RUSTFLAGS='-C target-feature=+crt-static' CARGO_PROFILE_RELEASE_STRIP=symbols cargo build --locked --profile release --target x86_64-unknown-linux-gnu --features app/extra --bin app \\
    && mkdir -p /out && cp target/x86_64-unknown-linux-gnu/release/app /out/app

FROM scratch AS runtime
COPY --from=build /out/app /usr/local/bin/app
USER 65532:65532
ENTRYPOINT [\"/usr/local/bin/app\"]
"
        );
    }

    #[test]
    fn chef_cooks_with_the_same_flags() {
        let text = chef(&facts());
        assert!(text.contains("RUN cargo install cargo-chef --locked\n"));
        assert!(text.contains(
            "RUN RUSTFLAGS='-C target-feature=+crt-static' CARGO_PROFILE_RELEASE_STRIP=symbols \
             cargo chef cook --release --target x86_64-unknown-linux-gnu --features app/extra \
             --bin app --recipe-path recipe.json\n"
        ));
        assert!(!text.contains("# syntax"));
    }

    #[test]
    fn cache_mount_names_its_mounts() {
        let text = cache_mount(&facts(), "bench-x");
        assert!(text.contains("--mount=type=cache,target=/app/target,id=bench-x-target"));
        assert!(text.contains("id=bench-x-registry"));
        assert!(text.contains("FROM scratch AS runtime\n"));
    }
}
