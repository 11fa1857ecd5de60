#!/usr/bin/env bash
# Provisions what multi-platform tests need beyond the engine: QEMU user emulation with
# binfmt_misc (only to *run* foreign-architecture images; nothing compiles under it) and
# Debian's docker-registry (a real OCI registry the tests start on 127.0.0.1); also
# Podman, whose Docker-compatible API a test starts to see it refused at once; and sshd.
# Idempotent, non-interactive.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
log() { printf 'cross: %s\n' "$*" >&2; }

need=()
command -v qemu-aarch64-static >/dev/null 2>&1 || need+=(qemu-user-static binfmt-support)
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v podman >/dev/null 2>&1 || need+=(podman)
# sshd serves a git repository to a build that fetches a dependency over SSH (its agent
# forwarded by buildx); the package starts no daemon here (no init system).
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    apt-get update -q >/dev/null
    # The packaged registry service must not start (no systemd here anyway): the tests
    # run their own registry with their own configuration.
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { log "qemu-aarch64 is not registered with binfmt_misc"; exit 1; }
log "qemu-aarch64 registered; docker-registry at $(command -v docker-registry || echo /usr/bin/docker-registry)"
