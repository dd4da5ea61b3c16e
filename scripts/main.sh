#!/usr/bin/env bash
# The README's main command: set up a fresh machine, then run the main job on the repo's own pipeline.yaml
# (compile + validate) and a local run of the small built-in sample project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. scripts/env.sh

echo "== compile pipeline.yaml -> generated/"
pipelinegen compile
echo "== validate pipeline.yaml and generated/"
pipelinegen validate
echo "== plan: Cassandra trunk pre-commit"
pipelinegen plan --profile pre-commit | tail -n 1

# The sample project's jdk axis lists 11 and 17; run the cells of the JDK this machine has (the others
# would be reported as skipped, never as green). The seed makes the sample's deliberately flaky test pass,
# so this demo is deterministic; `pipelinegen run --repeat` is how to hunt it.
jdk_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
echo "== local run of examples/sample-project (profile smoke, jdk ${jdk_major})"
pipelinegen -C examples/sample-project run --profile smoke -j 2 --jdk "${jdk_major}" --env SAMPLE_FLAKY_SEED=1
