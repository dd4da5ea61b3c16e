#!/usr/bin/env bash
# usage: .build/run-tests.sh -a STEP -c K/N -j JDK [-p PYTHON]
#   STEP   unit (JUnit via ant) or pytest (the python tests in sample-dtest/, the dtest shape)
#   K/N    run split K of N: the list generated/splits/STEP/KofN.txt when present (one test class or file per
#          line, '#' comments), otherwise round-robin over the sorted test classes / files
#   JDK    the JDK the tests run with (JAVA_HOME must be that JDK, or unset to search /usr/lib/jvm)
#   PYTHON python version for the pytest step (python$PYTHON must be on PATH)
# Results: JUnit XML under build/test/output/STEP/ (TEST-*.xml). Needs build/ from build-jars.sh.
. "$(dirname "$0")/common.sh"

step="" split="1/1" jdk="" python=""
while getopts "a:c:j:p:h" opt; do
  case $opt in
    a) step=$OPTARG ;;
    c) split=$OPTARG ;;
    j) jdk=$OPTARG ;;
    p) python=$OPTARG ;;
    *) die "usage: run-tests.sh -a STEP -c K/N -j JDK [-p PYTHON]" ;;
  esac
done
[ -n "$step" ] || die "-a STEP is required (unit or pytest)"
[ -n "$jdk" ] || die "-j JDK is required"
[[ "$split" =~ ^([0-9]+)/([0-9]+)$ ]] || die "-c must be K/N (e.g. 1/2), got '$split'"
k=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]}
{ [ "$k" -ge 1 ] && [ "$k" -le "$n" ]; } || die "-c $split: K must be between 1 and N"
use_jdk "$jdk"
[ -f build/sample.jar ] || die "build/sample.jar is missing: run .build/build-jars.sh $jdk first (the jar step)"

# select_split LIST_CMD: prints this split's entries, one per line
select_split() {
  local listed="generated/splits/$step/${k}of${n}.txt"
  if [ -f "$listed" ]; then
    echo "run-tests: split $k/$n from $listed" >&2
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$listed"
  else
    echo "run-tests: split $k/$n round-robin over sorted names" >&2
    "$@" | LC_ALL=C sort | awk -v k="$k" -v n="$n" '(NR - 1) % n == k - 1'
  fi
}

output="build/test/output/$step"
mkdir -p "$output"
case $step in
  unit)
    includes="build/test/includes-$k-of-$n.txt"
    mkdir -p build/test
    # entries are class names (org.example.FooTest) or source paths; ant wants paths under test/unit
    select_split sh -c 'cd test/unit && find . -name "*Test.java" | sed -e "s|^\./||" -e "s|\.java$||" -e "s|/|.|g"' \
      | sed -e 's|^test/unit/||' -e 's|\.java$||' -e 's|/|.|g' -e 's|\.|/|g' -e 's|$|.java|' > "$includes"
    [ -s "$includes" ] || { echo "run-tests: split $k/$n is empty, nothing to run"; exit 0; }
    echo "run-tests: $(wc -l < "$includes") test classes: $(tr '\n' ' ' < "$includes")"
    ant -noinput -q -Drelease="$jdk" -Dtest.name="$step" -Dtest.includes="$SAMPLE_ROOT/$includes" test
    ;;
  pytest)
    py="python${python:-3}"
    command -v "$py" >/dev/null && "$py" -c "import pytest" 2>/dev/null \
      || die "$py with pytest is not available: install it or choose another python axis value"
    mapfile -t files < <(select_split sh -c 'cd sample-dtest && ls test_*.py')
    [ "${#files[@]}" -gt 0 ] || { echo "run-tests: split $k/$n is empty, nothing to run"; exit 0; }
    echo "run-tests: ${files[*]}"
    export SAMPLE_JAR="$SAMPLE_ROOT/build/sample.jar"
    (cd sample-dtest && "$py" -m pytest -q -p no:cacheprovider \
      --junitxml="$SAMPLE_ROOT/$output/TEST-pytest-${k}of${n}.xml" "${files[@]##*/}")
    ;;
  *) die "unknown step '$step' (this project has: unit, pytest)" ;;
esac
