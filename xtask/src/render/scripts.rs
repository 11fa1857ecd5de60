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
pub const MASK_LOCK_AWK: &str = r#"# Written by `cargo xtask dockerfile`: masks workspace members' versions in Cargo.lock
# the way the skeleton's manifests are masked, so a version bump keeps the dependency
# stage cached. Usage: awk -v members="a b" -f mask-lock.awk Cargo.lock Cargo.lock
function unquote(s) { gsub(/"/, "", s); return s }
function flush() { if (block && (name in member) && !source) local[name " " version] = 1 }
BEGIN {
    n = split(members, list, " ")
    for (i = 1; i <= n; i++) member[list[i]] = 1
}
FNR == 1 { if (pass == 1) flush(); pass++; block = 0 }
/^\[/ {
    if (pass == 1) flush()
    block = ($0 == "[[package]]"); name = ""; version = ""; source = 0
}
block && /^name = / { name = unquote($3) }
block && /^source = / { source = 1 }
pass == 1 { if (block && /^version = /) version = unquote($3); next }
block && /^version = / {
    version = unquote($3)
    if ((name " " version) in local) { print "version = \"0.0.0\""; next }
}
/^ *"[^" ]+ [^" ]+",?$/ {
    dep = $0; gsub(/^ *"|",?$/, "", dep)
    if (dep in local) { line = $0; sub(/ [^ "]+"/, " 0.0.0\"", line); print line; next }
}
{ print }
"#;

/// A static HTTP probe for HEALTHCHECK on images without a shell or curl: exits 0 when
/// `GET url` answers 2xx within five seconds.
pub const PROBE_RS: &str = r#"//! cargo-image-probe: a health probe for images that have no shell. Written by
//! `cargo xtask dockerfile`. Exits 0 when `GET <url>` answers with a 2xx status.
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

fn check(url: &str) -> std::io::Result<bool> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = host.to_socket_addrs()?.next().ok_or(std::io::ErrorKind::NotFound)?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")?;
    let mut status = [0u8; 12];
    stream.read_exact(&mut status)?;
    Ok(status.starts_with(b"HTTP/1.") && status[9] == b'2')
}

fn main() {
    let url = std::env::args().nth(1).unwrap_or_default();
    match check(&url) {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("unhealthy: {url} answered without a 2xx status");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("unhealthy: {url}: {e}");
            std::process::exit(1);
        }
    }
}
"#;

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
    let mut bins = String::new();
    for bin in &b.bins {
        write!(bins, " --bin {}", sh_quote(bin)).unwrap();
    }
    let features = if b.features.is_empty() {
        String::new()
    } else {
        format!(" --features {}", sh_quote(&b.features.join(",")))
    };
    let static_env = if b.static_link {
        "    # A *-linux-gnu std links statically with crt-static; --target keeps the flag\n    \
         # away from build scripts and proc-macros, which must stay dynamic.\n    \
         export RUSTFLAGS=\"${RUSTFLAGS:-} -C target-feature=+crt-static\"\n"
    } else {
        ""
    };
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
    arch="$(cat {ARCH_FILE})"
    case "$arch" in
    amd64 | x86_64) echo x86_64-unknown-linux-gnu ;;
    arm64 | aarch64) echo aarch64-unknown-linux-gnu ;;
    *)
        echo "cargo-image: no Rust target known for architecture $arch" >&2
        exit 1
        ;;
    esac
}}

case "${{1:-}}" in
fetch)
    # The only step that uses the network. Extra CA certificates (for a TLS-intercepting
    # proxy) arrive as a build secret and live in a tmpfs: they never reach a layer.
    if [ -s /run/secrets/cargo-image-ca ]; then
        cat /etc/ssl/certs/ca-certificates.crt /run/secrets/cargo-image-ca >/tmp/cargo-image-ca.pem
        export CARGO_HTTP_CAINFO=/tmp/cargo-image-ca.pem SSL_CERT_FILE=/tmp/cargo-image-ca.pem
    fi
    cargo_ws fetch --locked
    ;;
build)
{static_env}{strip_env}    cargo_ws build --frozen {release_flags} --target "$(rust_target)"{bins}
    ;;
install)
    # Collect the shipped binaries where the runtime stages copy them from.
    mkdir -p /out
    for bin in {shipped}; do
        cp "target/$(rust_target)/{profile_dir}/$bin" "/out/$bin"
    done
    ;;
probe)
    mkdir -p /out
    rustc --edition 2021 -C opt-level=s -C panic=abort -C strip=symbols \
        -C target-feature=+crt-static --target "$(rust_target)" \
        -o /out/cargo-image-probe {PROBE_SRC_PATH}
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
    echo "usage: cargo-image fetch|build|install|probe|copy PATH...|copy-context|build-dev|test-deps|test|watch [BIN]" >&2
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
