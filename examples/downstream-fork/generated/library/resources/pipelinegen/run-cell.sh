#!/usr/bin/env bash
# Runs one cell's command (from $PIPELINEGEN_COMMAND, rendered and shell-quoted by pipelinegen) and keeps
# its console as $PIPELINEGEN_RESULTS_DIR/console.log. CI-agnostic: `pipelinegen run` uses the same contract.
set -uo pipefail
mkdir -p "$PIPELINEGEN_RESULTS_DIR"
echo "pipelinegen: cell ${PIPELINEGEN_CELL} attempt ${PIPELINEGEN_ATTEMPT:-1}: ${PIPELINEGEN_COMMAND}"
bash -c "$PIPELINEGEN_COMMAND" 2>&1 | tee "$PIPELINEGEN_RESULTS_DIR/console.log"
exit "${PIPESTATUS[0]}"
