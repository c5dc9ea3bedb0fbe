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

if [ "$target" = all ]; then
  # the pom's execution: every target, two JVMs at a time
  ./mvnw -B -o -q test-compile
  ./mvnw -B -o surefire:test@fuzz -Dfuzz.duration="$duration" -Dfuzz.instrument="$instrument" | grep -E 'Tests run|FAIL|ERROR' || true
  reports=target/fuzz-reports
else
  ./mvnw -B -o -q test-compile
  # the same settings as the pom's execution, for one class in the default surefire run
  JAZZER_FUZZ=1 ./mvnw -B -o surefire:test -Dtest="$target" -Djazzer.max_duration="$duration" \
      -Djazzer.instrument="$instrument" -Djazzer.additional_classes_excludes='java.**:javax.**:jdk.**:sun.**:com.sun.**' \
      -DargLine='--enable-native-access=ALL-UNNAMED -Xmx768m' | grep -E 'Tests run|FAIL|ERROR' || true
  reports=target/surefire-reports
fi
# Jazzer's last status line per target: "#N DONE cov: ... exec/s: ..."
for out in "$reports"/*FuzzTest-output.txt; do
  [ -e "$out" ] || continue
  name=$(basename "$out" -output.txt)
  done_line=$(grep -a -E '^#[0-9]+[[:space:]]+DONE' "$out" | tail -1 || true)
  crash=$(grep -a -m1 -E '== Java Exception|Crash|crash-' "$out" || true)
  printf '%-45s %s %s\n' "$name" "${done_line:-(no DONE line)}" "${crash:+CRASH: $crash}"
done
