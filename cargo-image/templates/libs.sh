#!/bin/sh
# cargo-image-libs DEST BINARY PROVIDED...
#   The shared libraries BINARY needs (ELF NEEDED, recursively) that the runtime does not
#   provide (PROVIDED: sonames such as libc.so.6) and DEST does not hold yet (runtime
#   packages unpacked there), copied from the builder (where link-packages installed them,
#   for the target architecture $TARGETARCH) into DEST/usr/lib/<multiarch>. A library the
#   builder lacks fails the build with its name, never the container's start.
# Shipped in the generated Dockerfile (stage cargo-image-tools) and linted by shellcheck in
# the tests.
set -eu

die() {
    echo "cargo-image-libs: $*" >&2
    exit 1
}

target="${TARGETARCH:-$(dpkg --print-architecture 2>/dev/null || uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')}"
case "$target" in
amd64) dir=x86_64-linux-gnu ;;
arm64) dir=aarch64-linux-gnu ;;
*) die "no multiarch directory known for architecture $target" ;;
esac
[ "$#" -ge 2 ] || die "usage: cargo-image-libs DEST BINARY PROVIDED..."
dest="$1"
todo="$2"
shift 2
provided=" $* "
command -v readelf >/dev/null 2>&1 || die "the builder has no readelf (binutils)"
done_list=" "
added=""
while [ -n "$todo" ]; do
    # shellcheck disable=SC2086 # a list of paths without spaces, split on purpose
    set -- $todo
    file="$1"
    shift
    todo="$*"
    for lib in $(readelf -d "$file" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        case "$done_list$provided" in
        *" $lib "*) continue ;;
        esac
        done_list="$done_list$lib "
        present=""
        for d in "/lib/$dir" "/usr/lib/$dir"; do
            if [ -e "$dest$d/$lib" ]; then
                present=1
            fi
        done
        [ -n "$present" ] && continue
        found=""
        for d in "/usr/lib/$dir" "/lib/$dir"; do
            if [ -e "$d/$lib" ]; then
                found="$d/$lib"
                break
            fi
        done
        [ -n "$found" ] || die "$(basename "$file") needs $lib, which neither the runtime image nor the builder has; add the Debian -dev package that provides it to link-packages (or its runtime package to runtime-packages)"
        mkdir -p "$dest/usr/lib/$dir"
        cp -L "$found" "$dest/usr/lib/$dir/$lib"
        added="$added $lib"
        todo="$todo $dest/usr/lib/$dir/$lib"
    done
done
echo "cargo-image-libs: shared libraries added for $target:${added:- none}"
