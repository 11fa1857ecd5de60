#!/usr/bin/env bash
# Build local stand-in base images for tests, once per engine. No registry is
# reachable on the build machines, so nothing here is ever pulled (no --pull):
# every image is made from Debian packages and the host's Rust toolchain.
#
#   cargo-image-stand-in/debian:trixie              debootstrap --variant=minbase, docker import
#   cargo-image-stand-in/debian-slim:trixie         tag of the above (shell, no CA bundle)
#   cargo-image-stand-in/rust:<host rustc version>  (also :latest, :<major.minor>) debian + gcc libc6-dev
#                                                   ca-certificates + host CA bundle + host toolchain
#   cargo-image-stand-in/distroless-cc:trixie       scratch + libc6 libgcc-s1 tzdata CA bundle, nonroot
#   cargo-image-stand-in/distroless-static:trixie   scratch + tzdata CA bundle, nonroot
#
# Usage: scripts/stand-in-images.sh [--force] [--verify]
#   --force   rebuild every image even if it exists
#   --verify  run the checks (cargo builds, binaries in the runtimes) even for
#             images that already existed (they always run after a build)
#
# Environment: DEBIAN_MIRROR (default: the mirror the host's apt uses),
#              HOST_CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt),
#              STAND_IN_TMPDIR (default /var/tmp).
# Requires root (debootstrap), a running engine (.ci/engine.sh start) and rustc on the host.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

PREFIX=cargo-image-stand-in
LABEL_KEY=org.cargo-image.stand-in
DEBIAN_IMAGE=$PREFIX/debian:trixie
SLIM_IMAGE=$PREFIX/debian-slim:trixie
CC_IMAGE=$PREFIX/distroless-cc:trixie
# The distroless stand-ins carry both platforms, so multi-platform builds can use them.
PLATFORMS=linux/amd64,linux/arm64
MULTI_LABEL=org.cargo-image.platforms
STATIC_IMAGE=$PREFIX/distroless-static:trixie
RUST_LATEST=$PREFIX/rust:latest
HOST_CA_BUNDLE=${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
SUITE=trixie

FORCE=0
VERIFY=0
for arg in "$@"; do
    case $arg in
        --force) FORCE=1 ;;
        --verify) VERIFY=1 ;;
        -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "stand-in: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { printf 'stand-in: %s\n' "$*" >&2; }
die() { printf 'stand-in: error: %s\n' "$*" >&2; exit 1; }

# Print the Debian mirror the system already uses (not the security archive).
detect_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then
        printf '%s\n' "${DEBIAN_MIRROR%/}"
        return
    fi
    local uri="" f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk '
            function flush() {
                if (uris != "" && suites !~ /-security/ && (types == "" || types ~ /(^|[ \t])deb([ \t]|$)/))
                    { split(uris, u, /[ \t]+/); print u[1]; found = 1; exit }
                uris = ""; suites = ""; types = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]*#/ { next }
            tolower($1) == "uris:"   { $1 = ""; sub(/^[ \t]+/, ""); uris = $0 }
            tolower($1) == "suites:" { $1 = ""; sub(/^[ \t]+/, ""); suites = $0 }
            tolower($1) == "types:"  { $1 = ""; sub(/^[ \t]+/, ""); types = $0 }
            END { if (!found) flush() }
        ' "$f" | grep -E '/debian/?$' | head -n1 || true)
        [ -n "$uri" ] && break
    done
    if [ -z "$uri" ]; then
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -f "$f" ] || continue
            uri=$(sed -E -n 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+)[[:space:]]+([^[:space:]]+).*/\2 \3/p' "$f" \
                | awk '$2 !~ /-security/ { print $1 }' | grep -E '/debian/?$' | head -n1 || true)
            [ -n "$uri" ] && break
        done
    fi
    uri=${uri:-http://deb.debian.org/debian}
    printf '%s\n' "${uri%/}"
}

exists() { docker image inspect "$1" >/dev/null 2>&1; }

# True when an image must be (re)built.
wanted() {
    if [ "$FORCE" -eq 1 ]; then
        return 0
    fi
    if exists "$1"; then
        log "$1 exists, skipping (--force rebuilds)"
        return 1
    fi
    return 0
}

build() { # context-dir image [extra docker build args...]
    local ctx=$1 image=$2
    shift 2
    log "docker build -t $image"
    # No --pull ever (no registry); no provenance attestation (a plain
    # single-platform image, like the official bases it stands in for).
    docker build --progress=plain --provenance=false --label "$LABEL_KEY=true" -t "$image" "$@" "$ctx"
}

# --- preflight ---------------------------------------------------------------

command -v docker >/dev/null 2>&1 || die "docker client not found"
docker info >/dev/null 2>&1 || die "no engine answers 'docker info' (run .ci/engine.sh start)"
docker buildx version >/dev/null 2>&1 || die "'docker buildx' is missing (run .ci/engine.sh install)"
command -v rustc >/dev/null 2>&1 || die "rustc not found on the host"
[ -f "$HOST_CA_BUNDLE" ] || die "host CA bundle $HOST_CA_BUNDLE not found"

RUST_VERSION=$(rustc --version | awk '{print $2}')
RUST_SYSROOT=$(rustc --print sysroot)
RUST_HOST=$(rustc -vV | sed -n 's/^host: //p')
RUST_IMAGE=$PREFIX/rust:$RUST_VERSION
MIRROR=$(detect_mirror)
[ -x "$RUST_SYSROOT/bin/cargo" ] || die "no cargo in $RUST_SYSROOT/bin"

WORK=$(mktemp -d "${STAND_IN_TMPDIR:-/var/tmp}/cargo-image-stand-in.XXXXXX")
cleanup() {
    local rc=$?
    docker rm -f "stand-in-check-$$" >/dev/null 2>&1 || true
    rm -rf --one-file-system "$WORK"
    exit "$rc"
}
trap cleanup EXIT

TOTAL_START=$SECONDS
BUILT=()
log "engine $(docker version --format '{{.Server.Version}}'); mirror $MIRROR; host rustc $RUST_VERSION ($RUST_HOST)"

# --- debian (debootstrap + import) --------------------------------------------

if wanted "$DEBIAN_IMAGE"; then
    t0=$SECONDS
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap"
        apt-get -q install -y --no-install-recommends debootstrap </dev/null \
            || { apt-get -q update </dev/null && apt-get -q install -y --no-install-recommends debootstrap </dev/null; }
    fi
    rootfs=$WORK/rootfs
    log "debootstrap --variant=minbase $SUITE $rootfs $MIRROR"
    debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -n 40 "$WORK/debootstrap.log" >&2; die "debootstrap failed"; }
    # debootstrap may bind-mount host devices under the target; it unmounts
    # them on exit. Never delete or archive anything while a mount remains.
    if awk -v t="$rootfs/" 'index($2, t) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
        die "file systems are still mounted under $rootfs"
    fi
    # Slim the tree like Debian's own images do.
    rm -rf "${rootfs:?}"/var/lib/apt/lists/* "${rootfs:?}"/var/cache/apt/*.bin \
        "${rootfs:?}"/var/cache/apt/archives/*.deb "${rootfs:?}"/var/log/*.log
    log "docker import -> $DEBIAN_IMAGE"
    tar --numeric-owner -C "$rootfs" \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        --exclude='./run/*' --exclude='./tmp/*' -c . | docker import \
        --change "LABEL $LABEL_KEY=true" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --message "debootstrap --variant=minbase $SUITE $MIRROR" \
        - "$DEBIAN_IMAGE" >/dev/null
    rm -rf --one-file-system "$rootfs"
    BUILT+=("$DEBIAN_IMAGE")
    FORCE_SLIM=1
    log "$DEBIAN_IMAGE built in $((SECONDS - t0))s"
fi

# --- debian-slim (a tag) --------------------------------------------------------

if [ "${FORCE_SLIM:-0}" -eq 1 ] || wanted "$SLIM_IMAGE"; then
    docker tag "$DEBIAN_IMAGE" "$SLIM_IMAGE"
    log "tagged $SLIM_IMAGE"
fi

# --- rust (Debian gcc/libc + host toolchain) ------------------------------------

RUST_BUILT=0
if wanted "$RUST_IMAGE"; then
    t0=$SECONDS
    ctx=$WORK/rust
    mkdir -p "$ctx/rust"
    log "copying host toolchain $RUST_SYSROOT (without docs, sources, shell completions)"
    tar -C "$RUST_SYSROOT" \
        --exclude=./share/doc --exclude=./share/zsh --exclude=./share/man \
        --exclude=./etc/bash_completion.d --exclude=./lib/rustlib/src \
        --exclude=./lib/rustlib/rust-analyzer --exclude='./lib/rustlib/manifest-rust-docs-*' \
        -cf - . | tar -C "$ctx/rust" -xf -
    cp "$HOST_CA_BUNDLE" "$ctx/host-ca-bundle.crt"
    cat >"$ctx/Dockerfile" <<EOF
FROM $DEBIAN_IMAGE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends gcc libc6-dev ca-certificates \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
# The host's CA bundle (it includes the TLS-re-signing gateway's CA), registered
# with update-ca-certificates so it survives later runs of it; the whole file is
# appended to /etc/ssl/certs/ca-certificates.crt.
COPY host-ca-bundle.crt /usr/local/share/ca-certificates/cargo-image-host-bundle.crt
RUN update-ca-certificates
COPY --link rust/ /usr/local/rust/
ENV RUST_VERSION=$RUST_VERSION \\
    CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin && chmod -R a+w /usr/local/cargo \\
 && rustc --version && cargo --version
CMD ["bash"]
EOF
    build "$ctx" "$RUST_IMAGE"
    rm -rf "$ctx"
    BUILT+=("$RUST_IMAGE")
    RUST_BUILT=1
    log "$RUST_IMAGE built in $((SECONDS - t0))s"
fi
# Also as `rust:latest` and `rust:<major.minor>`: a toolchain file's `channel = "1.95"`
# asks for rust:1.95-slim-bookworm, which is the newest 1.95.x.
for tag in "$RUST_LATEST" "$PREFIX/rust:${RUST_VERSION%.*}"; do
    if [ "$RUST_BUILT" -eq 1 ] || ! exists "$tag" \
        || [ "$(docker image inspect -f '{{.Id}}' "$tag")" != "$(docker image inspect -f '{{.Id}}' "$RUST_IMAGE")" ]; then
        docker tag "$RUST_IMAGE" "$tag"
        log "tagged $tag"
    fi
done

# --- distroless-like runtimes -----------------------------------------------------

DISTROLESS_BUILT=0
# Rebuilt when a single-platform one from an older version of this script is found.
multi() { [ "$(docker image inspect -f "{{index .Config.Labels \"$MULTI_LABEL\"}}" "$1" 2>/dev/null)" = "$PLATFORMS" ]; }
if [ "$FORCE" -eq 1 ] || ! multi "$CC_IMAGE" || ! multi "$STATIC_IMAGE"; then
    t0=$SECONDS
    ctx=$WORK/distroless
    mkdir -p "$ctx"
    # Both platforms: the files come from Debian packages of each architecture, unpacked
    # on the build platform (nothing runs under emulation).
    cat >"$ctx/Dockerfile" <<EOF
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
    for target in distroless-static distroless-cc; do
        image=$PREFIX/$target:trixie
        log "docker buildx build --platform $PLATFORMS -t $image"
        docker buildx build --progress=plain --provenance=false --platform "$PLATFORMS" --load \
            --label "$LABEL_KEY=true" --label "$MULTI_LABEL=$PLATFORMS" \
            --target "$target" -t "$image" "$ctx"
    done
    rm -rf "$ctx"
    BUILT+=("$STATIC_IMAGE" "$CC_IMAGE")
    DISTROLESS_BUILT=1
    log "distroless stand-ins built in $((SECONDS - t0))s"
else
    log "$CC_IMAGE and $STATIC_IMAGE exist, skipping (--force rebuilds)"
fi

# --- checks ---------------------------------------------------------------------

# Files of an image (no shell needed inside it).
image_files() {
    local c
    c=$(docker create "$1" /nonexistent)
    docker export "$c" | tar -t
    docker rm "$c" >/dev/null
}

# Run a binary from the host inside an image that has no shell.
run_binary_in() { # image binary
    local name=stand-in-check-$$
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker create --name "$name" "$1" /home/nonroot/hello >/dev/null
    docker cp "$2" "$name:/home/nonroot/hello" >/dev/null
    docker start -a "$name"
    docker rm "$name" >/dev/null
}

if [ "$VERIFY" -eq 1 ] || [ "$RUST_BUILT" -eq 1 ] || [ "$DISTROLESS_BUILT" -eq 1 ]; then
    t0=$SECONDS
    log "check: cargo in $RUST_IMAGE builds a crate with a crates.io dependency (dynamic and +crt-static)"
    out=$WORK/check-out
    mkdir -p "$out"
    docker run --rm -i -v "$out:/out" "$RUST_IMAGE" bash -euo pipefail -s "$RUST_HOST" <<'EOF'
target=$1
cargo --version
rustc --version
command -v rustup >/dev/null && { echo "rustup must not be in the image" >&2; exit 1; }
cargo new --quiet --bin /tmp/hello
cd /tmp/hello
printf '%s\n' 'itoa = "1"' >>Cargo.toml
cat >src/main.rs <<'RS'
fn main() {
    let mut buf = itoa::Buffer::new();
    println!("hello from {} {}", std::env::consts::ARCH, buf.format(42u32));
}
RS
cargo build --quiet --release --target "$target"
./target/$target/release/hello
cp target/$target/release/hello /out/hello-dynamic
RUSTFLAGS='-C target-feature=+crt-static' cargo build --quiet --release --target "$target"
bin=./target/$target/release/hello
if readelf -d "$bin" | grep -q NEEDED; then echo "not static:" >&2; readelf -d "$bin" >&2; exit 1; fi
readelf -l "$bin" | grep -q 'Requesting program interpreter' && { echo "has an interpreter" >&2; exit 1; }
"$bin"
cp "$bin" /out/hello-static
echo "static binary: OK"
EOF
    for img in "$CC_IMAGE" "$STATIC_IMAGE"; do
        if image_files "$img" | grep -Eq '^(\./)?(usr/)?s?bin/(sh|bash|dash)$'; then
            die "$img contains a shell"
        fi
        user=$(docker image inspect -f '{{.Config.User}}' "$img")
        [ "$user" = 65532:65532 ] || die "$img runs as '$user', expected 65532:65532"
    done
    log "check: no shell in the distroless stand-ins, user 65532:65532"
    log "check: static binary in $STATIC_IMAGE"
    run_binary_in "$STATIC_IMAGE" "$out/hello-static"
    log "check: dynamic (glibc) binary in $CC_IMAGE"
    run_binary_in "$CC_IMAGE" "$out/hello-dynamic"
    log "check: static binary in $CC_IMAGE"
    run_binary_in "$CC_IMAGE" "$out/hello-static"
    rm -rf "$out"
    log "checks passed in $((SECONDS - t0))s"
fi

# Images replaced by a rebuild stay behind untagged; drop ours.
if [ "${#BUILT[@]}" -gt 0 ]; then
    docker image prune -f --filter "label=$LABEL_KEY=true" >/dev/null
fi

# --- summary --------------------------------------------------------------------

log "done in $((SECONDS - TOTAL_START))s; built: ${BUILT[*]:-nothing}"
printf '%-48s %-14s %10s %12s\n' IMAGE ID SIZE COMPRESSED
for img in "$DEBIAN_IMAGE" "$SLIM_IMAGE" "$RUST_IMAGE" "$RUST_LATEST" "$CC_IMAGE" "$STATIC_IMAGE"; do
    id=$(docker image inspect -f '{{.Id}}' "$img" | sed 's/^sha256://' | cut -c1-12)
    size=$(docker image ls --format '{{.Size}}' "$img" | head -n1)
    content=$(docker image inspect -f '{{.Size}}' "$img")
    printf '%-48s %-14s %10s %12s\n' "$img" "$id" "$size" "$(numfmt --to=iec --suffix=B "$content" 2>/dev/null || echo "$content")"
done
