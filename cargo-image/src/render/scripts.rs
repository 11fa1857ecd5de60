//! The files the Dockerfile writes into its builder stages: the `cargo-image` script (the
//! one place the cargo command lines live), the awk program that masks member versions in
//! `Cargo.lock`, and the source of the static HTTP health probe.

use std::fmt::Write as _;

use crate::plan::Plan;

/// Path of the build script inside the builder.
pub const SCRIPT_PATH: &str = "/usr/local/bin/cargo-image";
/// Where the target architecture is recorded in the `base` stage.
pub const ARCH_FILE: &str = "/usr/local/share/cargo-image/arch";
pub const MASK_LOCK_PATH: &str = "/usr/local/share/cargo-image/mask-lock.awk";
pub const PROBE_SRC_PATH: &str = "/usr/local/share/cargo-image/probe.rs";
/// Where the probe lands in runtime images.
pub const PROBE_BIN: &str = "/usr/local/bin/cargo-image-probe";

/// Masks the versions of workspace members in `Cargo.lock` to 0.0.0, as the skeleton's
/// manifests are masked. Reads the file twice: first to learn which `[[package]]` blocks
/// are local members (no `source` line), then to print it with those versions (and the
/// `"name version"` references to them) replaced.
pub const MASK_LOCK_AWK: &str = include_str!("../../templates/mask-lock.awk");

/// A static HTTP probe for HEALTHCHECK on images without a shell or curl: exits 0 when
/// `GET url` answers 2xx within five seconds. `no_std` with raw system calls: the binary is
/// a few kilobytes, where std with a static glibc weighs over a megabyte (more than the
/// rest of a scratch image).
pub const PROBE_RS: &str = include_str!("../../templates/probe.rs");

/// Quotes a word for `sh` when it needs it.
pub fn sh_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=+@,%".contains(&b))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The `cargo-image` script: every cargo invocation of every stage, so that the build
/// command is written once and is the same string in every layer.
pub fn cargo_image_script(plan: &Plan) -> String {
    let b = &plan.build;
    let mut release_flags = format!("--profile {}", sh_quote(&b.profile));
    if !b.features.is_empty() {
        write!(
            release_flags,
            " --features {}",
            sh_quote(&b.features.join(","))
        )
        .unwrap();
    }
    let bin_flags = |bins: &mut dyn Iterator<Item = &String>| -> String {
        bins.map(|bin| format!(" --bin {}", sh_quote(bin)))
            .collect()
    };
    let bins = bin_flags(&mut b.bins.iter().filter(|bin| !b.dynamic_bins.contains(bin)));
    let dynamic_build = if b.dynamic_bins.is_empty() {
        String::new()
    } else {
        format!(
            "    # Linked dynamically beside the static ones (`static = false`, runtime\n    \
             # packages): a target dir of their own, since their flags differ.\n    \
             (\n        export CARGO_TARGET_DIR=/app/target/dynamic\n        \
             cargo_ws build \"$1\" {release_flags} --target \"$(rust_target)\" --workspace{}\n    )\n",
            bin_flags(&mut b.dynamic_bins.iter())
        )
    };
    let dynamic_list = b.dynamic_bins.join(" ");
    let features = if b.features.is_empty() {
        String::new()
    } else {
        format!(" --features {}", sh_quote(&b.features.join(",")))
    };
    let static_env = if b.static_link {
        "        # A *-linux-gnu std links statically with crt-static; --target keeps the flag\n        \
         # away from build scripts and proc-macros, which must stay dynamic.\n        \
         export RUSTFLAGS=\"${RUSTFLAGS:-$(config_rustflags)} -C target-feature=+crt-static\"\n"
    } else {
        ""
    };
    // RUSTFLAGS replaces the rustflags of .cargo/config.toml: the static build adds to them.
    let mut config_rustflags = String::new();
    for (triple, flags) in &b.config_rustflags {
        writeln!(
            config_rustflags,
            "    {triple}) echo {} ;;",
            sh_quote(&flags.join(" "))
        )
        .unwrap();
    }
    let strip_env = if b.strip {
        format!(
            "    export CARGO_PROFILE_{}_STRIP=symbols\n",
            b.profile.to_ascii_uppercase().replace('-', "_")
        )
    } else {
        String::new()
    };
    let shipped = b
        .bins
        .iter()
        .map(|s| sh_quote(s))
        .collect::<Vec<_>>()
        .join(" ");
    let local_dirs = plan
        .local_dirs
        .iter()
        .map(|s| sh_quote(if s.is_empty() { "." } else { s }))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        r#"#!/bin/sh
# Written by `cargo xtask dockerfile`. Every stage runs cargo through this script, so the
# build command (profile, --target, features, binaries, RUSTFLAGS) is one string in every
# layer: artifact hashes never change between layers and cargo reuses what lower layers built.
set -eu
cd /app

# cargo runs from the workspace root, where it finds .cargo/config.toml; paths given to this
# script are relative to the build context, which is /app.
cargo_ws() {{
    (cd {ws_dir} && cargo "$@")
}}

rust_target() {{
    # The file `base` writes; the incremental step, which runs without it, has TARGETARCH.
    arch="$(cat {ARCH_FILE} 2>/dev/null || echo "${{TARGETARCH:-$(uname -m)}}")"
    case "$arch" in
    amd64 | x86_64) echo x86_64-unknown-linux-gnu ;;
    arm64 | aarch64) echo aarch64-unknown-linux-gnu ;;
    *)
        echo "cargo-image: no Rust target known for architecture $arch" >&2
        exit 1
        ;;
    esac
}}

# Cross-compiling (the builder runs on the build platform): point cargo at the target's C
# linker, which links the final binaries, when the builder has one.
cross_env() {{
    target="$(rust_target)"
    host="$(rustc -vV | sed -n 's/^host: //p')"
    if [ "$target" != "$host" ]; then
        gcc="$(echo "$target" | sed 's/-unknown-/-/')-gcc"
        var="CARGO_TARGET_$(echo "$target" | tr 'a-z-' 'A-Z_')_LINKER"
        if command -v "$gcc" >/dev/null 2>&1; then
            export "$var=$gcc"
        fi
        # -sys crates find the target's libraries (link-packages, multiarch) through
        # pkg-config; the build scripts' own host libraries stay out of it.
        multiarch="$(echo "$target" | sed 's/-unknown-/-/')"
        triple_var="$(echo "$target" | tr '-' '_')"
        export PKG_CONFIG_ALLOW_CROSS=1
        export "PKG_CONFIG_LIBDIR_$triple_var=/usr/lib/$multiarch/pkgconfig:/usr/share/pkgconfig"
    fi
}}

# Steps that use the network: extra CA certificates (for a TLS-intercepting proxy) arrive
# as a build secret and live in a tmpfs, so they never reach a layer.
ca_env() {{
    if [ -s /run/secrets/cargo-image-ca ]; then
        cat /etc/ssl/certs/ca-certificates.crt /run/secrets/cargo-image-ca >/tmp/cargo-image-ca.pem
        export CARGO_HTTP_CAINFO=/tmp/cargo-image-ca.pem SSL_CERT_FILE=/tmp/cargo-image-ca.pem
    fi
}}

# The workspace's own rustflags (.cargo/config.toml) for the target: setting RUSTFLAGS for
# a static build would otherwise drop them.
config_rustflags() {{
    case "$(rust_target)" in
{config_rustflags}    *) ;;
    esac
}}

# The build every layer and mode runs; $1 is --frozen (offline) or --locked. --workspace:
# the binaries may lie outside `default-members` (in a root package's workspace, only the
# root package is a default one).
release_build() {{
{strip_env}    cross_env
    (
{static_env}        cargo_ws build "$1" {release_flags} --target "$(rust_target)" --workspace{bins}
    )
{dynamic_build}}}

case "${{1:-}}" in
check-target)
    # The target's standard library must be in the builder: rustup adds it where there is
    # rustup; otherwise say what is missing.
    target="$(rust_target)"
    if [ ! -d "$(rustc --print sysroot)/lib/rustlib/$target/lib" ]; then
        if command -v rustup >/dev/null 2>&1; then
            rustup target add "$target"
        else
            echo "cargo-image: the builder has no Rust standard library for $target and no rustup to add it; use a builder image that has it (Debian: libstd-rust-dev for the target architecture, and gcc-$(echo "$target" | sed 's/-unknown-/-/'))" >&2
            exit 1
        fi
    fi
    ;;
fetch)
    # Downloads every crate, for the stages that build --frozen.
    ca_env
    cargo_ws fetch --locked
    ;;
build)
    release_build --frozen
    ;;
build-online)
    # Mode `incremental`: one cargo run downloads what the build needs (into a cache
    # mount) and builds; with everything downloaded, it needs no network. The step runs
    # on the builder image itself, so the target's standard library may still be missing.
    "$0" check-target
    ca_env
    release_build --locked
    ;;
install)
    # Each shipped binary (or those named) as a tree the runtime stage copies onto `/`: the
    # directory entries come from here too (with clamped times), so the layer is reproducible.
    shift
    [ $# -gt 0 ] || set -- {shipped}
    dynamic=" {dynamic_list} "
    for bin; do
        dir=target
        case "$dynamic" in
        *" $bin "*) dir=target/dynamic ;;
        esac
        mkdir -p "/out/$bin/usr/local/bin"
        cp "$dir/$(rust_target)/{profile_dir}/$bin" "/out/$bin/usr/local/bin/$bin"
    done
    "$0" clamp-times /out
    ;;
place)
    # `place SRC DEST`: a context file or directory (bind-mounted under /ctx) at DEST in the
    # image's extra files (/extras), readable by every user; owned by root.
    if [ -d "/ctx/$2" ]; then
        mkdir -p "/extras$3"
        cp -R "/ctx/$2/." "/extras$3/"
    else
        mkdir -p "$(dirname "/extras$3")"
        cp "/ctx/$2" "/extras$3"
    fi
    chmod -R a+rX "/extras$3"
    ;;
clamp-times)
    # Reproducible images: files that reach a runtime image get SOURCE_DATE_EPOCH as their
    # time (BuildKit already uses it for the image's own timestamps).
    shift
    if [ -n "${{SOURCE_DATE_EPOCH:-}}" ]; then
        find "$@" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {{}} +
    fi
    ;;
probe)
    mkdir -p /out/probe/usr/local/bin
    # no_std, no libc: linked without start files or libraries, as a non-PIE static binary.
    cross_env
    linker="$(env | sed -n 's/^CARGO_TARGET_[A-Z0-9_]*_LINKER=//p')"
    rustc ${{linker:+-C linker=$linker}} --edition 2021 -C opt-level=s -C panic=abort -C strip=symbols \
        -C relocation-model=static -C target-feature=+crt-static \
        -C link-arg=-nostartfiles -C link-arg=-nostdlib --target "$(rust_target)" \
        -o /out/probe/usr/local/bin/cargo-image-probe {PROBE_SRC_PATH}
    ;;
copy)
    # Copy sources from the bind-mounted context. `cp` without -p gives them fresh mtimes:
    # copied files can be older than the skeleton's dummy artifacts, and then cargo would
    # keep (and ship) the dummy.
    shift
    for path; do
        rm -rf "/app/$path"
        mkdir -p "$(dirname "/app/$path")"
        cp -R "/ctx/$path" "/app/$path"
    done
    ;;
copy-context)
    # The whole context, fresh mtimes included, minus the image driver's own files
    # (they may hold CA certificates, which must reach no layer).
    cp -R /ctx/. /app/
    rm -rf /app/{driver_dir}
    ;;
build-dev)
    cargo_ws build --frozen --profile {dev_profile} --workspace --bins{features}
    ;;
test-deps)
    cargo_ws test --frozen --workspace --no-run{features}
    ;;
test)
    cargo_ws test --frozen --workspace{features}
    ;;
watch)
    # Rebuild and restart a binary whenever a source file changes (polling: works on every
    # bind mount, needs no tool in the image).
    bin="${{2:-{dev_bin}}}"
    pid=""
    stop() {{
        if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    }}
    trap 'stop; exit 0' TERM INT
    while :; do
        touch /tmp/cargo-image-stamp
        if cargo_ws build --locked --offline --profile {dev_profile} --workspace --bins{features}; then
            "target/{dev_profile_dir}/$bin" &
            pid=$!
        fi
        while [ -z "$(find {local_dirs} -path ./target -prune -o -type f -newer /tmp/cargo-image-stamp -print | head -n 1)" ]; do
            sleep {poll}
        done
        echo "cargo-image: sources changed, rebuilding $bin" >&2
        stop
        pid=""
    done
    ;;
*)
    echo "usage: cargo-image check-target|fetch|build|build-online|install [BIN...]|probe|copy PATH...|copy-context|build-dev|test-deps|test|watch [BIN]" >&2
    exit 2
    ;;
esac
"#,
        profile_dir = b.profile_dir,
        dev_profile = sh_quote(&plan.dev.profile),
        dev_profile_dir = plan.dev.profile_dir,
        dev_bin = plan.dev.bin,
        poll = plan.dev.poll_seconds,
        driver_dir = crate::plan::DRIVER_DIR,
        ws_dir = sh_quote(&crate::model::join("/app", &plan.workspace_root)),
    )
}
