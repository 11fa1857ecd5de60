#!/usr/bin/env bash
# Multi-platform stand-ins for the default base images, for machines that cannot pull
# (see stand-in-images.sh for the single-platform ones, which this script needs first):
#
#   cargo-image-stand-in/rust-cross:trixie         Debian's rustc + cargo, the arm64 standard
#                                                  library and cross gcc, the host CA bundle;
#                                                  runs on the build platform (amd64) and
#                                                  cross-compiles for linux/amd64 and linux/arm64
#   cargo-image-stand-in/distroless-static:trixie  rebuilt for linux/amd64 + linux/arm64
#   cargo-image-stand-in/distroless-cc:trixie      rebuilt for linux/amd64 + linux/arm64
#
# Nothing compiles under emulation: the runtimes are files from Debian packages of each
# architecture, unpacked on the build platform. Idempotent; --force rebuilds.
set -euo pipefail

PREFIX=cargo-image-stand-in
DEBIAN_IMAGE=$PREFIX/debian:trixie
CROSS_IMAGE=$PREFIX/rust-cross:trixie
PLATFORMS=linux/amd64,linux/arm64
LABEL=org.cargo-image.stand-in=true
MULTI_LABEL=org.cargo-image.platforms
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

multi() { [ "$(docker image inspect -f "{{index .Config.Labels \"$MULTI_LABEL\"}}" "$1" 2>/dev/null)" = "$PLATFORMS" ]; }
if [ "$FORCE" -eq 1 ] || ! multi "$PREFIX/distroless-static:trixie" || ! multi "$PREFIX/distroless-cc:trixie"; then
    log "building two-platform distroless stand-ins ($PLATFORMS)"
    mkdir -p "$WORK/distroless"
    cat >"$WORK/distroless/Dockerfile" <<EOF
FROM --platform=\$BUILDPLATFORM $DEBIAN_IMAGE AS debs
ARG TARGETARCH
WORKDIR /debs
RUN set -eu; \\
    [ "\$TARGETARCH" = "\$(dpkg --print-architecture)" ] || dpkg --add-architecture "\$TARGETARCH"; \\
    apt-get update; apt-get install -y --no-install-recommends ca-certificates; \\
    apt-get download "libc6:\$TARGETARCH" "libgcc-s1:\$TARGETARCH" ca-certificates tzdata; \\
    rm -rf /var/lib/apt/lists/*

FROM debs AS base-root
RUN set -eu; r=/rootfs; \\
    mkdir -p \$r/etc/ssl/certs \$r/var/lib/dpkg/status.d \$r/root \$r/home/nonroot \$r/tmp; \\
    for p in ca-certificates tzdata; do \\
      dpkg-deb -x ./\${p}_*.deb \$r; dpkg-deb -f ./\${p}_*.deb >\$r/var/lib/dpkg/status.d/\$p; \\
    done; \\
    cp /etc/ssl/certs/ca-certificates.crt \$r/etc/ssl/certs/ca-certificates.crt; \\
    printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \\
      'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \\
      'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >\$r/etc/passwd; \\
    printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >\$r/etc/group; \\
    chmod 0700 \$r/root; chown 65532:65532 \$r/home/nonroot; chmod 0700 \$r/home/nonroot; \\
    chmod 1777 \$r/tmp; rm -rf \$r/usr/share/doc \$r/usr/share/man \$r/usr/share/lintian

FROM base-root AS cc-root
RUN set -eu; r=/rootfs; \\
    for p in libc6 libgcc-s1; do \\
      dpkg-deb -x ./\${p}_*.deb \$r; dpkg-deb -f ./\${p}_*.deb >\$r/var/lib/dpkg/status.d/\$p; \\
    done; \\
    rm -rf \$r/usr/share/doc \$r/usr/share/man \$r/usr/share/lintian \$r/usr/share/locale \$r/usr/share/i18n; \\
    for d in bin lib lib64 sbin; do [ -e \$r/\$d ] || [ ! -d \$r/usr/\$d ] || ln -s usr/\$d \$r/\$d; done; \\
    ls \$r/lib/ld-linux-aarch64.so.1 \$r/lib64/ld-linux-x86-64.so.2 2>/dev/null | grep -q . \\
      || { echo 'no dynamic loader' >&2; exit 1; }

FROM scratch AS distroless-static
COPY --from=base-root /rootfs/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot

FROM scratch AS distroless-cc
COPY --from=cc-root /rootfs/ /
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /home/nonroot
EOF
    for kind in static cc; do
        docker buildx build --progress=plain --provenance=false --platform "$PLATFORMS" --load \
            --label "$LABEL" --label "$MULTI_LABEL=$PLATFORMS" \
            --target "distroless-$kind" -t "$PREFIX/distroless-$kind:trixie" "$WORK/distroless"
    done
else
    log "two-platform distroless stand-ins exist, skipping (--force rebuilds)"
fi
log "done"
