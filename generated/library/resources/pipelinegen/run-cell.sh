#!/usr/bin/env bash
# Runs one cell's command (from $PIPELINEGEN_COMMAND, rendered and shell-quoted by pipelinegen) and keeps
# its console as $PIPELINEGEN_RESULTS_DIR/console.log. CI-agnostic: `pipelinegen run` uses the same contract.
# When the command fails and its console has a known infrastructure message ($PIPELINEGEN_INFRA_SIGNATURES,
# extended regexps one per line: pipelinegen/model/outcome.py), the matching line goes to infra-signature.txt.
set -uo pipefail
mkdir -p "$PIPELINEGEN_RESULTS_DIR"
echo "pipelinegen: cell ${PIPELINEGEN_CELL} attempt ${PIPELINEGEN_ATTEMPT:-1}: ${PIPELINEGEN_COMMAND}"
bash -c "$PIPELINEGEN_COMMAND" 2>&1 | tee "$PIPELINEGEN_RESULTS_DIR/console.log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ] && [ -n "${PIPELINEGEN_INFRA_SIGNATURES:-}" ]; then
  grep -E -m 1 -f <(printf '%s\n' "$PIPELINEGEN_INFRA_SIGNATURES") "$PIPELINEGEN_RESULTS_DIR/console.log" \
    > "$PIPELINEGEN_RESULTS_DIR/infra-signature.txt" || rm -f "$PIPELINEGEN_RESULTS_DIR/infra-signature.txt"
fi
exit "$status"
