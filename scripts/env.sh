# Sourced by the other scripts: JAVA_HOME from the java on PATH (Groovy needs it), and the venv first on PATH.
if [ -z "${JAVA_HOME:-}" ] && command -v java >/dev/null 2>&1; then
  JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  export JAVA_HOME
fi
export PATH="$PWD/.venv/bin:$PATH"
