#!/bin/sh
# cargo-image-packages: Debian packages for the build and for runtimes without apt.
# Shipped in the generated Dockerfile (stage cargo-image-tools) and linted by shellcheck in
# the tests.
#
#   cargo-image-packages install BUILD... [-- LINK...]
#       In the builder: BUILD packages for the build platform; LINK packages (libraries the
#       binaries link) for the target architecture ($TARGETARCH): as multiarch packages
#       (`libssl-dev:arm64`) when cross-compiling, with the target's C cross-compiler, so
#       -sys crates find the target's headers and libraries without emulation.
#   cargo-image-packages extract DEST PROVIDED... -- PACKAGE...
#       For a runtime without apt (distroless, scratch): PACKAGE and everything it depends
#       on, minus what the runtime already has (PROVIDED), unpacked for $TARGETARCH under
#       DEST, the way distroless images themselves are made. Prints what it unpacked.
set -eu

die() {
    echo "cargo-image-packages: $*" >&2
    exit 1
}

native="$(dpkg --print-architecture 2>/dev/null || uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')"
target="${TARGETARCH:-$native}"

# apt with its lists and downloads in the step's cache mounts (Debian's images delete
# downloads after each install; the mount keeps them for the next build).
apt_ready() {
    command -v apt-get >/dev/null 2>&1 ||
        die "the builder image has no apt-get; build-packages, link-packages and runtime-packages need a Debian-based builder"
    if [ "$target" != "$native" ]; then
        dpkg --add-architecture "$target"
    fi
    rm -f /etc/apt/apt.conf.d/docker-clean
    apt-get update -qq
}

case "${1:-}" in
install)
    shift
    build=""
    link=""
    after=0
    for p in "$@"; do
        if [ "$p" = "--" ]; then
            after=1
        elif [ "$after" = 0 ]; then
            build="$build $p"
        else
            link="$link $p"
        fi
    done
    if [ "$target" != "$native" ]; then
        qualified=""
        for p in $link; do
            qualified="$qualified $p:$target"
        done
        link="$qualified"
        case "$target" in
        arm64) cross="gcc-aarch64-linux-gnu libc6-dev-arm64-cross" gcc=aarch64-linux-gnu-gcc ;;
        amd64) cross="gcc-x86-64-linux-gnu libc6-dev-amd64-cross" gcc=x86_64-linux-gnu-gcc ;;
        *) die "no cross compiler known for architecture $target" ;;
        esac
        command -v "$gcc" >/dev/null 2>&1 || build="$build $cross"
    fi
    apt_ready
    # shellcheck disable=SC2086 # the package lists are meant to split into words
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $build $link
    ;;
extract)
    shift
    dest="$1"
    shift
    provided=" "
    while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do
        provided="$provided$1 "
        shift
    done
    [ "$#" -gt 0 ] && shift
    apt_ready
    wanted=""
    for p in "$@"; do
        wanted="$wanted $p:$target"
    done
    # The Depends closure (no recommends); virtual packages (<name>) are skipped, their
    # providers are listed by apt-cache too.
    # shellcheck disable=SC2086
    closure="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances $wanted |
        sed -n 's/^\([a-z0-9][a-z0-9+.-]*\)\(:[a-z0-9]*\)\{0,1\}$/\1/p' | sort -u)"
    mkdir -p /tmp/cargo-image-debs "$dest"
    cd /tmp/cargo-image-debs
    unpacked=""
    for p in $closure; do
        case "$provided" in
        *" $p "*) continue ;;
        esac
        apt-get download -qq "$p:$target"
        unpacked="$unpacked $p"
    done
    for deb in ./*.deb; do
        [ -e "$deb" ] || continue
        dpkg-deb -x "$deb" "$dest"
    done
    rm -rf "$dest/usr/share/doc" "$dest/usr/share/man" "$dest/usr/share/info" \
        "$dest/usr/share/lintian" "$dest/usr/share/bug"
    echo "cargo-image-packages: unpacked for $target:$unpacked"
    ;;
*)
    echo "usage: cargo-image-packages install BUILD... [-- LINK...] | extract DEST PROVIDED... -- PACKAGE..." >&2
    exit 2
    ;;
esac
