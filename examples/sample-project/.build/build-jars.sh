#!/usr/bin/env bash
# usage: .build/build-jars.sh JDK — compile and package build/sample.jar with that JDK.
# Output: build/** (the `jar` step stashes it; every test cell of the same arch x jdk reuses it).
. "$(dirname "$0")/common.sh"
[ $# -eq 1 ] || die "usage: build-jars.sh JDK (e.g. build-jars.sh 17)"
use_jdk "$1"
echo "build-jars: JDK $1 at $JAVA_HOME"
ant -noinput -q -Drelease="$1" jar
echo "build-jars: wrote build/sample.jar"
