#!/usr/bin/env bash
# Multi-platform stand-ins for the default base images, for machines that cannot pull
# (see stand-in-images.sh for the single-platform ones, which this script needs first):
#
#   cargo-image-stand-in/rust-cross:trixie         Debian's rustc + cargo, the arm64 standard
#                                                  library and cross gcc, the host CA bundle;
#                                                  runs on the build platform (amd64) and
#                                                  cross-compiles for linux/amd64 and linux/arm64
#   cargo-image-stand-in/rust-native-gcc:trixie    like the official rust:*-slim image after
#                                                  `rustup target add aarch64-unknown-linux-gnu`:
#                                                  Rust with the arm64 standard library, the
#                                                  native gcc only (no cross gcc), the host CA
#                                                  bundle; proves the Dockerfile brings the
#                                                  cross linker itself
#
# The two-platform distroless runtimes come from stand-in-images.sh. Idempotent; --force
# rebuilds.
set -euo pipefail

PREFIX=cargo-image-stand-in
DEBIAN_IMAGE=$PREFIX/debian:trixie
CROSS_IMAGE=$PREFIX/rust-cross:trixie
NATIVE_GCC_IMAGE=$PREFIX/rust-native-gcc:trixie
LABEL=org.cargo-image.stand-in=true
HOST_CA_BUNDLE=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { printf 'stand-in-cross: %s\n' "$*" >&2; }
die() { printf 'stand-in-cross: error: %s\n' "$*" >&2; exit 1; }
exists() { docker image inspect "$1" >/dev/null 2>&1; }

here=$(cd "$(dirname "$0")" && pwd)
exists "$DEBIAN_IMAGE" || bash "$here/stand-in-images.sh"
exists "$DEBIAN_IMAGE" || die "$DEBIAN_IMAGE is missing after stand-in-images.sh"

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/cargo-image-cross.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

if [ "$FORCE" -eq 1 ] || ! exists "$CROSS_IMAGE"; then
    log "building $CROSS_IMAGE (Debian's Rust with the arm64 std and cross gcc)"
    mkdir -p "$WORK/cross"
    cp "$HOST_CA_BUNDLE" "$WORK/cross/host-ca-bundle.crt"
    cat >"$WORK/cross/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
RUN dpkg --add-architecture arm64 \\
 && apt-get update \\
 && apt-get install -y --no-install-recommends rustc cargo gcc libc6-dev ca-certificates \\
      libstd-rust-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
COPY host-ca-bundle.crt /usr/local/share/ca-certificates/cargo-image-host-bundle.crt
RUN update-ca-certificates
ENV CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin && chmod -R a+w /usr/local/cargo && rustc --version && cargo --version \\
 && test -d "\$(rustc --print sysroot)/lib/rustlib/aarch64-unknown-linux-gnu/lib"
EOF
    docker build --progress=plain --provenance=false --label "$LABEL" -t "$CROSS_IMAGE" "$WORK/cross"
else
    log "$CROSS_IMAGE exists, skipping (--force rebuilds)"
fi

if [ "$FORCE" -eq 1 ] || ! exists "$NATIVE_GCC_IMAGE"; then
    log "building $NATIVE_GCC_IMAGE (Rust with the arm64 std, the native gcc only)"
    mkdir -p "$WORK/native-gcc"
    cp "$HOST_CA_BUNDLE" "$WORK/native-gcc/host-ca-bundle.crt"
    cat >"$WORK/native-gcc/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
RUN dpkg --add-architecture arm64 \\
 && apt-get update \\
 && apt-get install -y --no-install-recommends rustc cargo gcc libc6-dev ca-certificates \\
      libstd-rust-dev:arm64 \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
COPY host-ca-bundle.crt /usr/local/share/ca-certificates/cargo-image-host-bundle.crt
RUN update-ca-certificates
ENV CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin && chmod -R a+w /usr/local/cargo \\
 && test -d "\$(rustc --print sysroot)/lib/rustlib/aarch64-unknown-linux-gnu/lib" \\
 && ! command -v aarch64-linux-gnu-gcc
EOF
    docker build --progress=plain --provenance=false --label "$LABEL" -t "$NATIVE_GCC_IMAGE" "$WORK/native-gcc"
else
    log "$NATIVE_GCC_IMAGE exists, skipping (--force rebuilds)"
fi

log "done"
