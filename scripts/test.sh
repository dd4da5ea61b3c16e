#!/usr/bin/env bash
# The README's test command: lint, import layering, the generated files are up to date, then the test suite.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
set -e
ruff check --quiet .
lint-imports --no-cache --no-logo  # layers + no cycles (pyproject.toml [tool.importlinter])
pipelinegen compile --check
set +e
pytest "$@"
rc=$?
# pytest exits 5 when it collected no test: that is a broken suite here, never a pass.
if [ "$rc" = 5 ]; then echo "test.sh: pytest collected no tests" >&2; exit 1; fi
exit "$rc"
