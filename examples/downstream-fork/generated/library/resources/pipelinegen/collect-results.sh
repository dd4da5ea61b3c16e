#!/usr/bin/env bash
# Copies the files matching the cell's result and archive globs ($PIPELINEGEN_COLLECT, one per line) under
# $PIPELINEGEN_RESULTS_DIR/, keeping their relative paths, so cells of the same step never overwrite each
# other's files; then compresses the console log (xz) as Cassandra's CI archives it.
set -uo pipefail
shopt -s globstar nullglob
mkdir -p "$PIPELINEGEN_RESULTS_DIR"
while IFS= read -r pattern; do
  [ -n "$pattern" ] || continue
  for file in $pattern; do
    [ -f "$file" ] || continue
    mkdir -p "$PIPELINEGEN_RESULTS_DIR/$(dirname "$file")"
    cp -p "$file" "$PIPELINEGEN_RESULTS_DIR/$file"
  done
done <<< "${PIPELINEGEN_COLLECT:-}"
if [ -f "$PIPELINEGEN_RESULTS_DIR/console.log" ] && command -v xz >/dev/null 2>&1; then
  xz -f "$PIPELINEGEN_RESULTS_DIR/console.log"
fi
exit 0
