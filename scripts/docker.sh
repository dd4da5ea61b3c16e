#!/usr/bin/env bash
# The docker engine and the base image `pipelinegen run --docker` and its tests use; no registry needed.
#
#   scripts/docker.sh engine [--started-pidfile FILE]
#       Install docker.io when dockerd is missing (a docker client alone, e.g. /usr/local/bin/docker, is not
#       an engine) and start `dockerd --iptables=false --bridge=none` when no engine answers. Idempotent.
#       When it starts the engine it writes dockerd's pid to FILE, so that whoever asked (CI) stops only an
#       engine it started. Log: $PIPELINEGEN_DOCKER_STATE/dockerd.log.
#   scripts/docker.sh stop FILE
#       Stop the engine whose pid FILE holds (written by `engine --started-pidfile FILE`), if any.
#   scripts/docker.sh base-image
#       Print the tag of the Debian bookworm base image, building it first when it is missing:
#       debootstrap --variant=minbase bookworm from the mirror apt is configured with, then `docker import`.
#       The tag carries a key of everything the image is made from, so a change rebuilds it and an unchanged
#       recipe never does. Also tagged pipelinegen-base:bookworm (the latest one built here).
set -euo pipefail

STATE=${PIPELINEGEN_DOCKER_STATE:-/var/tmp/pipelinegen-docker}
BASE_REPO=pipelinegen-base
SUITE=bookworm
VARIANT=minbase
# Bump when the recipe below changes in a way the key does not see.
RECIPE_VERSION=1

if [ "$(id -u)" = 0 ]; then sudo=(); else sudo=(sudo -n); fi

say() { echo "docker.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

engine_answers() { timeout 20 docker info >/dev/null 2>&1; }

apt_install() {
  say "installing Debian packages: $*"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
         "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
}

cmd_engine() {
  local started_pidfile=""
  while (($#)); do
    case $1 in
      --started-pidfile) started_pidfile=$2; shift 2 ;;
      *) die "engine: unknown argument '$1'" ;;
    esac
  done
  # the client may be a lone binary (/usr/local/bin/docker): what matters is the daemon
  command -v dockerd >/dev/null && command -v docker >/dev/null || apt_install docker.io
  if engine_answers; then
    say "docker engine already running ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
    return 0
  fi
  "${sudo[@]}" mkdir -p "$STATE"
  local log="$STATE/dockerd.log" pidfile="$STATE/dockerd.pid"
  say "starting dockerd --iptables=false --bridge=none (log: $log)"
  # setsid: the engine outlives this script (setup.sh) and is not in the caller's process group (Ctrl-C)
  "${sudo[@]}" setsid dockerd --iptables=false --bridge=none --pidfile "$pidfile" \
    </dev/null >>"$log" 2>&1 &
  local launched=$! i wait_s=${PIPELINEGEN_DOCKERD_WAIT_S:-60}
  for ((i = 0; i < wait_s; i++)); do
    if engine_answers; then
      local pid
      pid=$(cat "$pidfile")
      [ -z "$started_pidfile" ] || echo "$pid" > "$started_pidfile"
      say "docker engine up after ${i}s (pid $pid)"
      return 0
    fi
    if ! kill -0 "$launched" 2>/dev/null; then
      tail -n 20 "$log" >&2 || true
      die "dockerd exited instead of starting (log: $log)"
    fi
    sleep 1
  done
  tail -n 20 "$log" >&2 || true
  die "dockerd did not answer within ${wait_s} s (log: $log)"
}

cmd_stop() {
  local file=${1:?usage: docker.sh stop PIDFILE}
  [ -s "$file" ] || return 0
  local pid i
  pid=$(cat "$file")
  rm -f "$file"
  "${sudo[@]}" kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || { say "stopped the docker engine this run started (pid $pid)"; return 0; }
    sleep 0.2
  done
  say "dockerd (pid $pid) did not stop within 30 s"
}

# The Debian mirror apt is configured with (a proxy or snapshot mirror keeps working), else deb.debian.org.
apt_mirror() {
  local uri
  uri=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Identifier: Packages' 2>/dev/null \
        | awk -v suite="$SUITE" '$1 == suite { print $2; exit }')
  echo "${uri:-http://deb.debian.org/debian/}"
}

cmd_base_image() {
  command -v debootstrap >/dev/null || apt_install debootstrap
  local mirror key tag
  mirror=$(apt_mirror)
  key=$(printf '%s\n' "recipe=$RECIPE_VERSION" "suite=$SUITE" "variant=$VARIANT" "mirror=$mirror" "arch=$(dpkg --print-architecture)" \
        | sha256sum | cut -c1-12)
  tag="$BASE_REPO:$SUITE-$key"
  "${sudo[@]}" mkdir -p "$STATE"
  # two setups at once build it once
  exec 9>"$STATE/base-image.lock"
  flock 9
  if docker image inspect "$tag" >/dev/null 2>&1; then
    say "base image $tag is up to date"
  else
    local root started
    root=$(mktemp -d /var/tmp/pipelinegen-rootfs.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    started=$SECONDS
    say "building base image $tag: debootstrap --variant=$VARIANT $SUITE from $mirror"
    "${sudo[@]}" debootstrap --variant="$VARIANT" "$SUITE" "$root" "$mirror" > "$STATE/debootstrap.log" 2>&1 \
      || { tail -n 20 "$STATE/debootstrap.log" >&2; die "debootstrap failed (log: $STATE/debootstrap.log)"; }
    "${sudo[@]}" rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    "${sudo[@]}" tar -C "$root" -c . | docker import --change "LABEL org.pipelinegen.key=$key" \
      --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' - "$tag" >/dev/null
    "${sudo[@]}" rm -rf "$root"
    trap - EXIT
    say "built $tag in $((SECONDS - started)) s"
  fi
  docker tag "$tag" "$BASE_REPO:$SUITE"
  echo "$tag"
}

case ${1:-} in
  engine) shift; cmd_engine "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  base-image) shift; cmd_base_image "$@" ;;
  *) die "usage: docker.sh engine [--started-pidfile FILE] | stop FILE | base-image" ;;
esac
