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
/// `GET url` answers 2xx within five seconds. `no_std` with raw system calls: the binary is
/// a few kilobytes, where std with a static glibc weighs over a megabyte (more than the
/// rest of a scratch image).
pub const PROBE_RS: &str = r#"//! cargo-image-probe: a health probe for images that have no shell. Written by
//! `cargo xtask dockerfile`. Exits 0 when `GET <url>` answers with a 2xx status within
//! five seconds. `url` is `http://<IPv4 or localhost>:<port><path>`.
//!
//! No std and no libc: raw Linux system calls (x86_64, aarch64), so the static binary is a
//! few kilobytes (with std and a static glibc it would weigh over a megabyte).
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};

#[cfg(target_arch = "x86_64")]
mod sys {
    pub const READ: usize = 0;
    pub const WRITE: usize = 1;
    pub const SOCKET: usize = 41;
    pub const CONNECT: usize = 42;
    pub const SETSOCKOPT: usize = 54;
    pub const EXIT_GROUP: usize = 231;
}
#[cfg(target_arch = "aarch64")]
mod sys {
    pub const READ: usize = 63;
    pub const WRITE: usize = 64;
    pub const SOCKET: usize = 198;
    pub const CONNECT: usize = 203;
    pub const SETSOCKOPT: usize = 208;
    pub const EXIT_GROUP: usize = 94;
}

#[cfg(target_arch = "x86_64")]
global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {main}",
    main = sym probe_main,
);
#[cfg(target_arch = "aarch64")]
global_asm!(
    ".globl _start",
    "_start:",
    "mov x29, #0",
    "mov x30, #0",
    "mov x0, sp",
    "bl {main}",
    main = sym probe_main,
);

#[cfg(target_arch = "x86_64")]
unsafe fn syscall(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a, in("rsi") b,
         in("rdx") c, in("r10") d, in("r8") e, lateout("rcx") _, lateout("r11") _,
         options(nostack));
    ret
}
#[cfg(target_arch = "aarch64")]
unsafe fn syscall(n: usize, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    asm!("svc 0", in("x8") n, inlateout("x0") a as isize => ret, in("x1") b, in("x2") c,
         in("x3") d, in("x4") e, options(nostack));
    ret
}

fn exit(code: usize) -> ! {
    unsafe { syscall(sys::EXIT_GROUP, code, 0, 0, 0, 0) };
    loop {}
}

fn write(fd: usize, bytes: &[u8]) -> bool {
    let mut done = 0;
    while done < bytes.len() {
        let rest = &bytes[done..];
        let n = unsafe { syscall(sys::WRITE, fd, rest.as_ptr() as usize, rest.len(), 0, 0) };
        if n <= 0 {
            return false;
        }
        done += n as usize;
    }
    true
}

fn fail(url: &[u8], why: &[u8]) -> ! {
    write(2, b"unhealthy: ");
    write(2, url);
    write(2, why);
    write(2, b"\n");
    exit(1)
}

/// `a.b.c.d:port` or `localhost:port` → (address in network byte order, port).
fn parse_host(host: &[u8]) -> Option<([u8; 4], u16)> {
    let colon = host.iter().rposition(|&b| b == b':')?;
    let (name, port) = (&host[..colon], &host[colon + 1..]);
    let mut p: u32 = 0;
    for &d in port {
        if !d.is_ascii_digit() || p > 65535 {
            return None;
        }
        p = p * 10 + (d - b'0') as u32;
    }
    if port.is_empty() || p > 65535 {
        return None;
    }
    if name == b"localhost" {
        return Some(([127, 0, 0, 1], p as u16));
    }
    let mut ip = [0u8; 4];
    let mut parts = name.split(|&b| b == b'.');
    for octet in ip.iter_mut() {
        let part = parts.next()?;
        let mut v: u32 = 0;
        for &d in part {
            if !d.is_ascii_digit() || v > 255 {
                return None;
            }
            v = v * 10 + (d - b'0') as u32;
        }
        if part.is_empty() || v > 255 {
            return None;
        }
        *octet = v as u8;
    }
    if parts.next().is_some() {
        return None;
    }
    Some((ip, p as u16))
}

#[no_mangle]
unsafe extern "C" fn probe_main(sp: *const usize) -> ! {
    let argc = *sp;
    if argc < 2 {
        fail(b"", b"usage: cargo-image-probe http://127.0.0.1:PORT/PATH");
    }
    let arg = *sp.add(2) as *const u8;
    let mut len = 0;
    // A volatile read: the plain loop would become a call to `strlen`, which is not here.
    while core::ptr::read_volatile(arg.add(len)) != 0 {
        len += 1;
    }
    let url = core::slice::from_raw_parts(arg, len);
    let rest = url.strip_prefix(b"http://").unwrap_or(url);
    let slash = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
    let (host, path) = (&rest[..slash], &rest[slash..]);
    let path: &[u8] = if path.is_empty() { b"/" } else { path };
    let Some((ip, port)) = parse_host(host) else {
        fail(url, b": expected http://<IPv4 or localhost>:<port>/<path>");
    };

    // socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), with 5 s send (and connect) and
    // receive timeouts.
    let fd = syscall(sys::SOCKET, 2, 1 | 0o2000000, 0, 0, 0);
    if fd < 0 {
        fail(url, b": cannot create a socket");
    }
    let fd = fd as usize;
    let timeout: [u64; 2] = [5, 0];
    for option in [20, 21] {
        syscall(
            sys::SETSOCKOPT,
            fd,
            1,
            option,
            timeout.as_ptr() as usize,
            16,
        );
    }
    let mut addr = [0u8; 16];
    addr[0] = 2; // AF_INET, little-endian u16 on both architectures
    addr[2] = (port >> 8) as u8;
    addr[3] = port as u8;
    addr[4] = ip[0];
    addr[5] = ip[1];
    addr[6] = ip[2];
    addr[7] = ip[3];
    if syscall(sys::CONNECT, fd, addr.as_ptr() as usize, 16, 0, 0) < 0 {
        fail(url, b": connection failed");
    }
    let sent = write(fd, b"GET ")
        && write(fd, path)
        && write(fd, b" HTTP/1.1\r\nHost: ")
        && write(fd, host)
        && write(fd, b"\r\nConnection: close\r\n\r\n");
    if !sent {
        fail(url, b": sending the request failed");
    }
    let mut status = [0u8; 12];
    let mut got = 0;
    while got < status.len() {
        let n = syscall(
            sys::READ,
            fd,
            status.as_mut_ptr() as usize + got,
            status.len() - got,
            0,
            0,
        );
        if n <= 0 {
            fail(url, b": no HTTP answer");
        }
        got += n as usize;
    }
    if status.starts_with(b"HTTP/1.") && status[9] == b'2' {
        exit(0)
    }
    fail(url, b" answered without a 2xx status")
}

/// Referenced by the prebuilt `core` (built with unwinding); never called with panic=abort.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(2)
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
