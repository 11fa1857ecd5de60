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
#   cargo-image-stand-in/rust-musl:trixie          like the official rust:*-slim image after
#                                                  `rustup target add x86_64-unknown-linux-musl`:
#                                                  Rust with the musl standard library (built
#                                                  from Debian's rust-src, see
#                                                  stand-in-musl/Dockerfile), the native gcc,
#                                                  no musl-tools
#   cargo-image-stand-in/debian-slim:trixie        replaces stand-in-images.sh's tag with a
#                                                  two-platform image: its amd64 tree and an
#                                                  arm64 one (debootstrap --foreign, second
#                                                  stage under QEMU), as the real
#                                                  debian:*-slim carries both
#
# The two-platform distroless runtimes come from stand-in-images.sh. Idempotent; --force
# rebuilds. Needs root (debootstrap) and QEMU registered for aarch64 (.ci/cross.sh).
set -euo pipefail

PREFIX=cargo-image-stand-in
DEBIAN_IMAGE=$PREFIX/debian:trixie
CROSS_IMAGE=$PREFIX/rust-cross:trixie
NATIVE_GCC_IMAGE=$PREFIX/rust-native-gcc:trixie
MUSL_IMAGE=$PREFIX/rust-musl:trixie
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

if [ "$FORCE" -eq 1 ] || ! exists "$MUSL_IMAGE"; then
    log "building $MUSL_IMAGE (Rust with the musl std, built from Debian's rust-src)"
    mkdir -p "$WORK/musl"
    cp "$here/stand-in-musl/Dockerfile" "$here/stand-in-musl/glibc-fortify.c" "$WORK/musl/"
    cp "$HOST_CA_BUNDLE" "$WORK/musl/host-ca-bundle.crt"
    docker build --progress=plain --provenance=false --label "$LABEL" \
        --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" -t "$MUSL_IMAGE" "$WORK/musl"
else
    log "$MUSL_IMAGE exists, skipping (--force rebuilds)"
fi

SLIM_IMAGE=$PREFIX/debian-slim:trixie
PLATFORMS=linux/amd64,linux/arm64
MULTI_LABEL=org.cargo-image.platforms
multi() { [ "$(docker image inspect -f "{{index .Config.Labels \"$MULTI_LABEL\"}}" "$1" 2>/dev/null)" = "$PLATFORMS" ]; }
if [ "$FORCE" -eq 1 ] || ! multi "$SLIM_IMAGE"; then
    log "building $SLIM_IMAGE for $PLATFORMS"
    t0=$SECONDS
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] \
        || die "QEMU is not registered for aarch64 (run .ci/cross.sh)"
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing (stand-in-images.sh installs it)"
    # The mirror the amd64 tree came from (debootstrap wrote it there).
    mirror=$(docker run --rm "$DEBIAN_IMAGE" sed -n 's/^deb \([^ ]*\) trixie .*/\1/p' /etc/apt/sources.list | head -n 1)
    [ -n "$mirror" ] || die "no trixie mirror in $DEBIAN_IMAGE's /etc/apt/sources.list"
    ctx=$WORK/slim
    rootfs=$WORK/slim-arm64
    mkdir -p "$ctx"
    log "debootstrap --foreign --arch=arm64 --variant=minbase trixie ($mirror)"
    debootstrap --foreign --arch=arm64 --variant=minbase trixie "$rootfs" "$mirror" \
        >"$WORK/debootstrap-arm64.log" 2>&1 \
        || { tail -n 40 "$WORK/debootstrap-arm64.log" >&2; die "debootstrap (first stage) failed"; }
    log "debootstrap --second-stage (arm64, under QEMU)"
    chroot "$rootfs" /debootstrap/debootstrap --second-stage >>"$WORK/debootstrap-arm64.log" 2>&1 \
        || { tail -n 40 "$WORK/debootstrap-arm64.log" >&2; die "debootstrap (second stage) failed"; }
    # The second stage mounts /proc and /sys in the tree and unmounts them on exit; never
    # archive or delete while a mount remains.
    if awk -v t="$rootfs/" 'index($2, t) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
        die "file systems are still mounted under $rootfs"
    fi
    rm -rf "${rootfs:?}"/var/lib/apt/lists/* "${rootfs:?}"/var/cache/apt/*.bin \
        "${rootfs:?}"/var/cache/apt/archives/*.deb "${rootfs:?}"/var/log/*.log "${rootfs:?}"/debootstrap
    tar --numeric-owner -C "$rootfs" \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        --exclude='./run/*' --exclude='./tmp/*' -cf "$ctx/rootfs-arm64.tar" .
    rm -rf --one-file-system "$rootfs"
    # The amd64 tree as it is in the amd64 stand-in (docker export adds an empty
    # /.dockerenv and device nodes under /dev, left out).
    c=$(docker create "$DEBIAN_IMAGE" /bin/true)
    docker export "$c" | tar --delete --wildcards .dockerenv 'dev/?*' >"$ctx/rootfs-amd64.tar"
    docker rm "$c" >/dev/null
    # shellcheck disable=SC2016 # the Dockerfile expands ${TARGETARCH}
    printf '%s\n' 'FROM scratch' 'ARG TARGETARCH' 'ADD rootfs-${TARGETARCH}.tar /' \
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        'CMD ["bash"]' >"$ctx/Dockerfile"
    docker buildx build --progress=plain --provenance=false --platform "$PLATFORMS" --load \
        --label "$LABEL" --label "$MULTI_LABEL=$PLATFORMS" -t "$SLIM_IMAGE" "$ctx"
    rm -rf "$ctx"
    arch=$(docker run --rm --platform linux/arm64 "$SLIM_IMAGE" dpkg --print-architecture)
    [ "$arch" = arm64 ] || die "$SLIM_IMAGE for linux/arm64 runs dpkg for '$arch'"
    arch=$(docker run --rm --platform linux/amd64 "$SLIM_IMAGE" dpkg --print-architecture)
    [ "$arch" = amd64 ] || die "$SLIM_IMAGE for linux/amd64 runs dpkg for '$arch'"
    log "$SLIM_IMAGE built in $((SECONDS - t0))s"
else
    log "$SLIM_IMAGE has both platforms, skipping (--force rebuilds)"
fi

log "done"
