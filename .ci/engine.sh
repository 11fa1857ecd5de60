#!/usr/bin/env bash
# Provision and run a local Docker engine (dockerd + containerd + buildx) on a
# Debian 12 host without systemd and without a reachable container registry.
#
#   .ci/engine.sh install   install Docker Engine >= 26, buildx and the compose plugin
#                           from Debian 13 (trixie) packages, via a private apt configuration
#   .ci/engine.sh start     start dockerd in the background (no-op if an engine answers)
#   .ci/engine.sh stop      stop dockerd, only if this script started it
#
# Idempotent and non-interactive. See /work/shared/ENVIRONMENT.md (or the
# project's docs) for why trixie packages are used.
#
# Environment overrides:
#   CARGO_IMAGE_CI_STATE   state dir           (default /var/lib/cargo-image-ci)
#   DEBIAN_MIRROR          Debian mirror URL   (default: the one the system uses)
#   ENGINE_LOG             dockerd log file    (default /var/log/cargo-image-dockerd.log)
#   ENGINE_START_TIMEOUT   seconds to wait for `docker info` (default 60)
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

STATE_DIR=${CARGO_IMAGE_CI_STATE:-/var/lib/cargo-image-ci}
APT_DIR=$STATE_DIR/apt-trixie
ENGINE_STATE=$STATE_DIR/engine-started-by-script
PIDFILE=$STATE_DIR/dockerd.pid
ENGINE_LOG=${ENGINE_LOG:-/var/log/cargo-image-dockerd.log}
START_TIMEOUT=${ENGINE_START_TIMEOUT:-60}
MIN_DOCKERD_MAJOR=26
DAEMON_JSON=/etc/docker/daemon.json

log() { printf 'engine: %s\n' "$*" >&2; }
die() { printf 'engine: error: %s\n' "$*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "'$1' must run as root"
}

# --- mirror detection --------------------------------------------------------

# Print the Debian mirror the system already uses (not the security archive).
detect_mirror() {
    if [ -n "${DEBIAN_MIRROR:-}" ]; then
        printf '%s\n' "${DEBIAN_MIRROR%/}"
        return
    fi
    local uri="" f
    # deb822 sources: take the URIs of a stanza whose Suites are not *-security.
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
    # One-line sources.list format.
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

# --- install -----------------------------------------------------------------

dockerd_major() {
    command -v dockerd >/dev/null 2>&1 || { echo 0; return; }
    dockerd --version 2>/dev/null | sed -E -n 's/^Docker version ([0-9]+)\..*/\1/p' | head -n1 | grep . || echo 0
}

buildx_works() {
    docker buildx version >/dev/null 2>&1
}

# `docker compose` (the v2 plugin; the e2e tests run the generated compose.yaml with it).
compose_works() {
    docker compose version >/dev/null 2>&1
}

# Make `docker NAME` (a CLI plugin: buildx, compose) work for whichever `docker` client is
# first on PATH.
ensure_cli_plugin() { # name
    local name=$1
    if docker "$name" version >/dev/null 2>&1; then
        return 0
    fi
    local plugin="" p
    for p in /usr/libexec/docker/cli-plugins/docker-"$name" /usr/lib/docker/cli-plugins/docker-"$name"; do
        if [ -x "$p" ]; then plugin=$p; break; fi
    done
    [ -n "$plugin" ] || die "docker-$name plugin binary not found after install"
    log "'$(command -v docker)' does not find $name; linking $plugin into /usr/local/lib/docker/cli-plugins"
    mkdir -p /usr/local/lib/docker/cli-plugins
    ln -sf "$plugin" /usr/local/lib/docker/cli-plugins/docker-"$name"
    if ! docker "$name" version >/dev/null 2>&1; then
        log "still not found; also linking into ~/.docker/cli-plugins"
        mkdir -p "$HOME/.docker/cli-plugins"
        ln -sf "$plugin" "$HOME/.docker/cli-plugins/docker-$name"
    fi
    docker "$name" version >/dev/null 2>&1 \
        || die "docker $name still does not work: $(docker "$name" version 2>&1 | tail -n1)"
}

ensure_buildx_plugin() { ensure_cli_plugin buildx; }

# Merge {"features":{"containerd-snapshotter":true}} into /etc/docker/daemon.json.
write_daemon_json() {
    mkdir -p "$(dirname "$DAEMON_JSON")"
    if [ -s "$DAEMON_JSON" ]; then
        if command -v python3 >/dev/null 2>&1; then
            python3 - "$DAEMON_JSON" <<'PY'
import json, sys
path = sys.argv[1]
with open(path) as f:
    cfg = json.load(f)
if cfg.get("features", {}).get("containerd-snapshotter") is True:
    sys.exit(0)
cfg.setdefault("features", {})["containerd-snapshotter"] = True
with open(path + ".tmp", "w") as f:
    json.dump(cfg, f, indent=2)
    f.write("\n")
import os
os.replace(path + ".tmp", path)
print("engine: merged containerd-snapshotter into " + path, file=sys.stderr)
PY
        elif command -v jq >/dev/null 2>&1; then
            jq '.features["containerd-snapshotter"] = true' "$DAEMON_JSON" >"$DAEMON_JSON.tmp"
            mv "$DAEMON_JSON.tmp" "$DAEMON_JSON"
        else
            die "$DAEMON_JSON exists and neither python3 nor jq is available to merge it"
        fi
    else
        printf '{\n  "features": {\n    "containerd-snapshotter": true\n  }\n}\n' >"$DAEMON_JSON"
        log "wrote $DAEMON_JSON"
    fi
}

cmd_install() {
    need_root install
    local major
    major=$(dockerd_major)
    if [ "$major" -ge "$MIN_DOCKERD_MAJOR" ] && buildx_works && compose_works; then
        log "dockerd $(dockerd --version | sed 's/^Docker version //'), buildx $(docker buildx version | awk '{print $2}') and compose $(docker compose version --short) already installed"
        write_daemon_json
        return 0
    fi
    if [ "$major" -ge "$MIN_DOCKERD_MAJOR" ] && [ -x /usr/libexec/docker/cli-plugins/docker-buildx ] \
        && { compose_works || [ -x /usr/libexec/docker/cli-plugins/docker-compose ]; }; then
        log "dockerd $major is installed; only the plugin lookup (buildx, compose) needs fixing"
        ensure_buildx_plugin
        ensure_cli_plugin compose
        write_daemon_json
        return 0
    fi

    local mirror keyring
    mirror=$(detect_mirror)
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$keyring" ] || die "$keyring missing (install debian-archive-keyring)"
    log "installing Docker Engine from Debian trixie packages (mirror $mirror)"

    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/debs"
    printf 'deb [signed-by=%s] %s trixie main\n' "$keyring" "$mirror" >"$APT_DIR/sources.list"
    local -a private_apt=(
        -o "Dir::Etc::SourceList=$APT_DIR/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$APT_DIR/lists"
        -o "Dir::Cache=$APT_DIR/cache"
        -o "APT::Get::List-Cleanup=0"
    )
    log "apt-get update (private trixie configuration in $APT_DIR)"
    apt-get -q "${private_apt[@]}" update </dev/null

    local debs=$APT_DIR/debs
    rm -f "$debs"/*.deb
    log "apt-get download docker.io containerd docker-buildx docker-cli docker-compose (trixie)"
    (cd "$debs" && apt-get -q "${private_apt[@]}" download docker.io containerd docker-buildx docker-cli docker-compose </dev/null)

    # No init system here: keep package scripts from trying to start services.
    local policy_added=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        policy_added=1
        # shellcheck disable=SC2064 # expand now: remove only what we added
        trap "rm -f /usr/sbin/policy-rc.d" EXIT
    fi

    log "apt-get update (system sources)"
    apt-get -q update </dev/null
    log "apt-get install ./*.deb runc tini"
    (cd "$debs" && apt-get -q install -y --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        ./*.deb runc tini </dev/null)

    if [ "$policy_added" -eq 1 ]; then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi

    major=$(dockerd_major)
    [ "$major" -ge "$MIN_DOCKERD_MAJOR" ] || die "dockerd is version $major after install, need >= $MIN_DOCKERD_MAJOR"
    ensure_buildx_plugin
    ensure_cli_plugin compose
    write_daemon_json
    log "installed: $(dockerd --version); buildx $(docker buildx version | awk '{print $2}'); compose $(docker compose version --short); client $(command -v docker)"
}

# --- start / stop ------------------------------------------------------------

engine_answers() {
    timeout 10 docker info >/dev/null 2>&1
}

cmd_start() {
    if engine_answers; then
        log "an engine already answers (server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?')); nothing to start"
        return 0
    fi
    need_root start
    command -v dockerd >/dev/null 2>&1 || die "dockerd not installed; run '$0 install' first"
    mkdir -p "$STATE_DIR" "$(dirname "$ENGINE_LOG")"

    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
        log "dockerd (pid $(cat "$PIDFILE")) is running but does not answer yet; waiting"
    else
        # Leftover pidfile from dockerd itself (crash, reboot of the container).
        if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
            rm -f /var/run/docker.pid
        fi
        log "starting dockerd (log: $ENGINE_LOG)"
        {
            printf '\n===== %s: engine.sh start =====\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
        } >>"$ENGINE_LOG"
        # dockerd starts and supervises its own containerd when no system
        # containerd is running; it is stopped together with dockerd.
        setsid dockerd >>"$ENGINE_LOG" 2>&1 </dev/null &
        echo $! >"$PIDFILE"
        echo "$!" >"$ENGINE_STATE"
    fi

    local pid i
    pid=$(cat "$PIDFILE")
    for ((i = 0; i < START_TIMEOUT; i++)); do
        if engine_answers; then
            log "dockerd (pid $pid) is up after ${i}s: server $(docker version --format '{{.Server.Version}}'), storage driver $(docker info --format '{{.Driver}}')"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "dockerd exited; last log lines:"
            tail -n 40 "$ENGINE_LOG" >&2 || true
            rm -f "$PIDFILE" "$ENGINE_STATE"
            die "dockerd failed to start"
        fi
        sleep 1
    done
    log "docker info did not answer within ${START_TIMEOUT}s; last log lines:"
    tail -n 40 "$ENGINE_LOG" >&2 || true
    die "dockerd did not come up"
}

wait_gone() { # pid seconds
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

cmd_stop() {
    if [ ! -f "$ENGINE_STATE" ]; then
        log "dockerd was not started by this script; leaving any running engine alone"
        return 0
    fi
    need_root stop
    local pid ctr_pid=""
    pid=$(cat "$ENGINE_STATE")
    # containerd supervised by this dockerd (stopped by dockerd itself; checked below).
    if [ -f /var/run/docker/containerd/containerd.pid ]; then
        ctr_pid=$(cat /var/run/docker/containerd/containerd.pid)
    fi
    if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
        log "stopping dockerd (pid $pid)"
        kill -TERM "$pid"
        if ! wait_gone "$pid" 30; then
            log "dockerd did not exit in 30s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone "$pid" 5 || true
        fi
    else
        log "dockerd (pid $pid) is no longer running"
    fi
    if [ -n "$ctr_pid" ] && kill -0 "$ctr_pid" 2>/dev/null \
        && [ "$(cat "/proc/$ctr_pid/comm" 2>/dev/null)" = containerd ]; then
        log "stopping containerd started by that dockerd (pid $ctr_pid)"
        kill -TERM "$ctr_pid"
        wait_gone "$ctr_pid" 15 || kill -KILL "$ctr_pid" 2>/dev/null || true
    fi
    rm -f "$ENGINE_STATE" "$PIDFILE"
    log "stopped"
}

usage() {
    echo "usage: $0 install|start|stop" >&2
    exit 2
}

[ $# -eq 1 ] || usage
case $1 in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    -h | --help) usage ;;
    *) usage ;;
esac
