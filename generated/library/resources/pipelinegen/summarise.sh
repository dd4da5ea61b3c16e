#!/usr/bin/env bash
# The summary stage's one command, on one agent: a pinned pipelinegen turns the unstashed per-cell results
# ($PIPELINEGEN_RESULTS_ROOT/<cell>/status-*.json, JUnit, console.log.xz, and plan.json written by the library)
# into the certified bundle, the HTML summary (ci_summary.html) and the merged JUnit.
# pipelinegen: the one on PATH when it is exactly $PIPELINEGEN_VERSION (the version that compiled this library),
# else installed into a venv here from $PIPELINEGEN_PIP_SPEC (a wheel, a checkout directory, an index URL
# requirement), by default `pipelinegen==$PIPELINEGEN_VERSION` from the package index. Needs python3 >= 3.11.
set -euo pipefail
root="${PIPELINEGEN_RESULTS_ROOT:-ci-results}"
want="${PIPELINEGEN_VERSION:?the library sets PIPELINEGEN_VERSION}"
pg=""
if command -v pipelinegen >/dev/null 2>&1 && [ "$(pipelinegen --version 2>/dev/null | awk '{print $NF}')" = "$want" ]; then
  pg="$(command -v pipelinegen)"
else
  venv=".pipelinegen/venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${PIPELINEGEN_PIP_SPEC:-pipelinegen==$want}"
  pg="$venv/bin/pipelinegen"
  got="$("$pg" --version | awk '{print $NF}')"
  if [ "$got" != "$want" ]; then
    echo "pipelinegen: installed pipelinegen $got, but this library was compiled by $want" >&2
    exit 2
  fi
fi
echo "pipelinegen: summary with $("$pg" --version)"
# the commit: the summary's own checkout ($PIPELINEGEN_COMMIT), else the one the cells' status records name
commit="${PIPELINEGEN_COMMIT:-}"
if [ -z "$commit" ]; then
  commit="$(sed -n 's/.*"commit":"\([0-9a-f]\{7,64\}\)".*/\1/p' "$root"/*/status-*.json 2>/dev/null | head -n 1 || true)"
fi
# the pipeline definition of that commit: the bundle records its identity (results verify --pipeline)
identity=()
if [ -n "${PIPELINEGEN_SOURCE:-}" ] && [ -f "$PIPELINEGEN_SOURCE/pipeline.yaml" ]; then
  identity=(--pipeline "$PIPELINEGEN_SOURCE/pipeline.yaml")
fi
"$pg" results collect "$root" --commit "${commit:-0000000}" --producer-kind jenkins ${identity[@]+"${identity[@]}"} \
  -o "$root/bundle.tar.zst"
"$pg" results summary "$root/bundle.tar.zst" --html "$root/ci_summary.html" --junit "$root/TEST-merged.xml"
