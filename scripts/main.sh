#!/usr/bin/env bash
# The README's main command: set up, then compile and validate the repo's own pipeline.yaml and run the
# small built-in sample project locally.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh
pipelinegen compile
pipelinegen plan --profile pre-commit | tail -n 3
