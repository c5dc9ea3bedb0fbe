#!/usr/bin/env bash
# Fuzz one target (or all) for longer than CI does, with the settings of the pom's "fuzz" surefire execution, and
# print each target's executions. See docs/reliability.md ("Fuzzing").
#
#   bench/fuzz.sh [TARGET|all] [DURATION]      e.g. bench/fuzz.sh SmtpInputFuzzTest 10m, bench/fuzz.sh all 2m
#
# TARGET is a *FuzzTest class name (simple or qualified); DURATION in Jazzer's form (30s, 10m, 1h). The corpus Jazzer
# grows is kept in .cifuzz-corpus/ (not committed) and the next run starts from it; a crash is written as an input
# to src/test/resources/<package>/<Target>Inputs/<method>/ (or target/test-classes/... when that exists: copy it
# to src/test/resources): fix Postern, then commit that file (it runs as a regression test in every build). Offline (-o): the dependencies must be in ~/.m2 (any earlier build).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
target=${1:-all}
duration=${2:-10m}
# Classes Jazzer instruments for coverage: ours; FUZZ_INSTRUMENT='dev.postern.**,org.xbill.DNS.**' adds dnsjava's
# wire parsing (slower to start: every class loaded is instrumented)
instrument=${FUZZ_INSTRUMENT:-dev.postern.**}
cd "$repo"

log=target/fuzz-console.log
./mvnw -B -o -q test-compile
if [ "$target" = all ]; then
  # the pom's execution: every target, two JVMs at a time
  ./mvnw -B -o surefire:test@fuzz -Dfuzz.duration="$duration" -Dfuzz.instrument="$instrument" > "$log" 2>&1 || true
else
  # the same settings as the pom's execution, for one class in the default surefire run
  JAZZER_FUZZ=1 ./mvnw -B -o surefire:test -Dtest="$target" -Djazzer.max_duration="$duration" \
      -Djazzer.instrument="$instrument" -Djazzer.additional_classes_excludes='java.**:javax.**:jdk.**:sun.**:com.sun.**' \
      -DargLine='--enable-native-access=ALL-UNNAMED -Xmx768m' > "$log" 2>&1 || true
fi
# libFuzzer writes to the JVM's native stderr, which Maven prints: each target's "#N DONE ... exec/s" line comes just
# before its "Tests run: ... in CLASS" line; findings as "Test unit written to ..." and "<<< ERROR".
awk '/^#[0-9]+[ \t]+DONE/ { done = $0 }
     /Test unit written to/ { print "FINDING: " $0 }
     /Tests run:.* in dev\.postern\./ { n = split($0, w, " "); printf "%-45s %s%s\n", w[n], done ? done : "(no DONE line)", /FAIL|ERROR/ ? "  FAILED" : ""; done = "" }' "$log"
echo "Maven's output: $log"
