#!/usr/bin/env bash
# usage: .build/run-tests.sh -a STEP -c K/N -j JDK [-p PYTHON]
#   STEP   unit (JUnit via ant) or pytest (the python tests in sample-dtest/, the dtest shape)
#   K/N    run split K of N: the list generated/splits/STEP/KofN.txt when present (one test class or file per
#          line, '#' comments), otherwise round-robin over the sorted test classes / files
#   JDK    the JDK the tests run with (JAVA_HOME must be that JDK, or unset to search /usr/lib/jvm)
#   PYTHON python version for the pytest step (python$PYTHON must be on PATH)
# Results: JUnit XML under build/test/output/STEP/ (TEST-*.xml). Needs build/ from build-jars.sh.
# Repeat mode (pipelinegen's contract for every CI-agnostic test script): when PIPELINEGEN_REPEAT_TESTS is set,
# the split is ignored and the tests whose name matches that regexp (extended grep) run
# PIPELINEGEN_REPEAT_COUNT times, stopping at the first failing run when PIPELINEGEN_REPEAT_STOP_ON_FAILURE
# is true; each run's reports go to build/test/output/STEP/repeat-I/.
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
    strip_list() { sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$@"; }
    local existing
    existing=$("$@" | LC_ALL=C sort)
    # a listed test that no longer exists is skipped (a stale list must not fail the split)
    strip_list "$listed" | normalise | grep -x -F -f <(echo "$existing") || true
    # tests added since the lists were written are in no list: deal them round-robin, so none is skipped
    local unlisted
    unlisted=$(echo "$existing" | grep -v -x -F -f <(strip_list "generated/splits/$step/"*"of${n}.txt" | normalise) || true)
    if [ -n "$unlisted" ]; then
      echo "run-tests: not in any split list, dealt round-robin: $(echo "$unlisted" | tr '\n' ' ')" >&2
      echo "$unlisted" | awk -v k="$k" -v n="$n" '(NR - 1) % n == k - 1'
    fi
  else
    echo "run-tests: split $k/$n round-robin over sorted names" >&2
    "$@" | LC_ALL=C sort | awk -v k="$k" -v n="$n" '(NR - 1) % n == k - 1'
  fi
}

output="build/test/output/$step"
mkdir -p "$output"

# normalise: split-list entries in the form the step's lister prints (class names / test file names)
normalise() {
  case $step in
    unit) sed -e 's|^test/unit/||' -e 's|\.java$||' -e 's|/|.|g' ;;
    *) sed -e 's|.*/||' ;;
  esac
}

# run_repeated RUN_ONCE: repeat mode; RUN_ONCE I runs the matching tests once, reports under repeat-I/
run_repeated() {
  local count=${PIPELINEGEN_REPEAT_COUNT:-1} stop=${PIPELINEGEN_REPEAT_STOP_ON_FAILURE:-true} failed=0 i
  for ((i = 1; i <= count; i++)); do
    echo "run-tests: repeat $i/$count of '$PIPELINEGEN_REPEAT_TESTS'"
    if ! "$@" "$i"; then
      failed=$((failed + 1))
      if [ "$stop" = true ]; then
        echo "run-tests: failed on repeat $i/$count; stopping (PIPELINEGEN_REPEAT_STOP_ON_FAILURE=true)"
        return 1
      fi
    fi
  done
  echo "run-tests: $failed of $count repeats failed"
  [ "$failed" -eq 0 ]
}

unit_once() {  # unit_once INCLUDES [I]: one ant run; with I, reports under repeat-I/
  local dir="$output${2:+/repeat-$2}"
  ant -noinput -q -Drelease="$jdk" -Dtest.name="$step" -Dtest.output="$SAMPLE_ROOT/$dir" \
    -Dtest.includes="$SAMPLE_ROOT/$1" test
}

pytest_once() {  # pytest_once [I]: the selected files once; with I, the report is TEST-pytest-repeat-I.xml
  local report="TEST-pytest-${k}of${n}.xml"
  [ -n "${1:-}" ] && report="repeat-$1/TEST-pytest.xml" && mkdir -p "$SAMPLE_ROOT/$output/repeat-$1"
  (cd sample-dtest && "$py" -m pytest -q -p no:cacheprovider \
    --junitxml="$SAMPLE_ROOT/$output/$report" "${files[@]##*/}")
}

repeating=${PIPELINEGEN_REPEAT_TESTS:+yes}
case $step in
  unit)
    includes="build/test/includes-$k-of-$n.txt"
    mkdir -p build/test
    list_classes='cd test/unit && find . -name "*Test.java" | sed -e "s|^\./||" -e "s|\.java$||" -e "s|/|.|g"'
    to_paths() { sed -e 's|^test/unit/||' -e 's|\.java$||' -e 's|/|.|g' -e 's|\.|/|g' -e 's|$|.java|'; }
    if [ -n "$repeating" ]; then
      # entries are class names (org.example.FooTest); the regexp matches the class name
      sh -c "$list_classes" | LC_ALL=C sort | { grep -E -- "$PIPELINEGEN_REPEAT_TESTS" || true; } | to_paths > "$includes"
      [ -s "$includes" ] || { echo "run-tests: no $step test matches '$PIPELINEGEN_REPEAT_TESTS'"; exit 0; }
      echo "run-tests: repeating $(tr '\n' ' ' < "$includes")"
      run_repeated unit_once "$includes"
      exit
    fi
    # entries are class names (org.example.FooTest) or source paths; ant wants paths under test/unit
    select_split sh -c "$list_classes" | to_paths > "$includes"
    [ -s "$includes" ] || { echo "run-tests: split $k/$n is empty, nothing to run"; exit 0; }
    echo "run-tests: $(wc -l < "$includes") test classes: $(tr '\n' ' ' < "$includes")"
    unit_once "$includes"
    ;;
  pytest)
    py="python${python:-3}"
    command -v "$py" >/dev/null && "$py" -c "import pytest" 2>/dev/null \
      || die "$py with pytest is not available: install it or choose another python axis value"
    export SAMPLE_JAR="$SAMPLE_ROOT/build/sample.jar"
    if [ -n "$repeating" ]; then
      mapfile -t files < <(cd sample-dtest && ls test_*.py | { grep -E -- "$PIPELINEGEN_REPEAT_TESTS" || true; })
      [ "${#files[@]}" -gt 0 ] || { echo "run-tests: no $step test matches '$PIPELINEGEN_REPEAT_TESTS'"; exit 0; }
      echo "run-tests: repeating ${files[*]}"
      run_repeated pytest_once
      exit
    fi
    mapfile -t files < <(select_split sh -c 'cd sample-dtest && ls test_*.py')
    [ "${#files[@]}" -gt 0 ] || { echo "run-tests: split $k/$n is empty, nothing to run"; exit 0; }
    echo "run-tests: ${files[*]}"
    pytest_once
    ;;
  *) die "unknown step '$step' (this project has: unit, pytest)" ;;
esac
