#!/usr/bin/env bash
# Installs everything pipelinegen and its tests need on a fresh Debian machine (as root), then the
# package itself into .venv. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt_packages=(groovy ant ant-optional junit4 chromium openssh-client git)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v -E "^WARNING: Location|Running pip as the 'root'" || true
.venv/bin/pipelinegen --version

# Docker: an engine (started when none answers; CI passes PIPELINEGEN_DOCKERD_STARTED to stop only one it
# started), the base image and the sample's cell image, both built once and then reused (content keys).
# Without an engine the docker tests skip, except under CI=true, where that is a failure.
started_pidfile=()
[ -z "${PIPELINEGEN_DOCKERD_STARTED:-}" ] || started_pidfile=(--started-pidfile "$PIPELINEGEN_DOCKERD_STARTED")
if bash scripts/docker.sh engine "${started_pidfile[@]}"; then
  SECONDS=0
  base=$(bash scripts/docker.sh base-image)
  BASE_IMAGE=$base examples/sample-project/.build/docker/build-image.sh sample-build:17
  echo "setup: docker images ready in ${SECONDS} s (base $base, sample-build:17)"
elif [ "${CI:-}" = true ]; then
  echo "setup: error: no docker engine could be started, and CI=true needs one (the docker tests)" >&2
  exit 1
else
  echo "setup: no docker engine could be started: the docker tests will be skipped" >&2
fi
