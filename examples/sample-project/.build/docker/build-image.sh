#!/usr/bin/env bash
# usage: .build/docker/build-image.sh IMAGE — build a cell image named in pipeline.yaml (`sample-build:JDK`).
#   BASE_IMAGE  the Debian bookworm image to build from (default pipelinegen-base:bookworm)
# Skips the build when IMAGE was built from this Dockerfile, JDK and base already (label org.pipelinegen.key).
# apt inside the build needs the network: engines started with --bridge=none build with --network host.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "build-image.sh: error: $*" >&2; exit 2; }

[ $# -eq 1 ] || die "usage: build-image.sh IMAGE (e.g. build-image.sh sample-build:17)"
image=$1
[[ "$image" =~ ^sample-build:([0-9]+)$ ]] || die "unknown image '$image' (this project has sample-build:JDK)"
jdk=${BASH_REMATCH[1]}
base=${BASE_IMAGE:-pipelinegen-base:bookworm}
base_id=$(docker image inspect --format '{{.Id}}' "$base" 2>/dev/null) \
  || die "base image $base is not in the docker engine: build it with scripts/docker.sh base-image (in a pipelinegen checkout), or set BASE_IMAGE to a Debian bookworm image"
key=$( { cat "$here/Dockerfile"; echo "jdk=$jdk base=$base_id"; } | sha256sum | cut -c1-12)
have=$(docker image inspect --format '{{index .Config.Labels "org.pipelinegen.key"}}' "$image" 2>/dev/null || true)
if [ "$have" = "$key" ]; then
  echo "build-image.sh: $image is up to date (key $key)"
  exit 0
fi
echo "build-image.sh: building $image from $base (JDK $jdk, key $key)"
DOCKER_BUILDKIT=0 docker build --force-rm --network host --build-arg "BASE=$base" --build-arg "JDK=$jdk" \
  --label "org.pipelinegen.key=$key" -t "$image" "$here"
# the image this one replaced is now untagged: drop it (only images built by this script carry the label)
docker image prune -f --filter "label=org.pipelinegen.key" >/dev/null
