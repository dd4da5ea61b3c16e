# Sourced by the .build scripts: project root, and a JAVA_HOME that really is the requested JDK.
# CI-agnostic: no Jenkins variable is read; the caller (Jenkins, `pipelinegen run`, a developer) sets JAVA_HOME.
set -euo pipefail
SAMPLE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$SAMPLE_ROOT"

die() { echo "$(basename "$0"): error: $*" >&2; exit 2; }

# java_major JAVA_HOME -> prints the feature version (8, 11, 17, 21, ...) read from JAVA_HOME/release
java_major() {
  local version
  version=$(sed -n 's/^JAVA_VERSION="\(.*\)"$/\1/p' "$1/release" 2>/dev/null || true)
  [ -n "$version" ] || version=$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
  version=${version#1.}
  echo "${version%%[.+-]*}"
}

# use_jdk JDK: check JAVA_HOME is that JDK (or find it under /usr/lib/jvm when JAVA_HOME is unset)
use_jdk() {
  local want=$1 home=${JAVA_HOME:-}
  if [ -z "$home" ]; then
    for candidate in /usr/lib/jvm/*; do
      if [ -x "$candidate/bin/javac" ] && [ "$(java_major "$candidate")" = "$want" ]; then home=$candidate; break; fi
    done
    [ -n "$home" ] || die "JDK $want not found: set JAVA_HOME to a JDK $want"
  fi
  [ -x "$home/bin/javac" ] || die "JAVA_HOME=$home has no bin/javac: point it at a JDK $want"
  local have
  have=$(java_major "$home")
  [ "$have" = "$want" ] || die "asked for JDK $want but JAVA_HOME=$home is JDK $have: set JAVA_HOME to a JDK $want"
  export JAVA_HOME=$home
  export PATH="$JAVA_HOME/bin:$PATH"
}
