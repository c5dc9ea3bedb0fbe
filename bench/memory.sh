#!/usr/bin/env bash
# Peak memory (PSS) and CPU of one Postern under STARTTLS load (docs/performance.md, "Memory"), without Postfix:
# starts ./postern serve with the shared rig's template (../shared/bench/gateway-bench/gateways/postern.toml.in)
# rendered on its own ports, smtp-tls-sink as next hop, smtp-tls-source -T as load: WARMUP messages, 3 s pause, then
# MSGS messages while /proc/PID/smaps_rollup is sampled every 0.2 s.
#
# Usage: bench/memory.sh TAG SESSIONS [MSGS=2000] [WARMUP=500]
# env:   POSTERN_JAVA_OPTS (flags to try), PROV=auto|jdk|conscrypt, SIZE=4096 (body bytes), MAXSIZE=60MB (limit),
#        NMT=summary|detail (with -XX:NativeMemoryTracking=... in POSTERN_JAVA_OPTS), HEAP=1 (GC.heap_info),
#        IN=11045 SK=11046 (ports), WAITDEL=1 (seconds before stopping), RIG=/work/shared/bench
# Output: /tmp/postern-memory/TAG/ (report, smaps, nmt.txt, heap.txt, console, load generator JSON).
set -u
TAG=$1 SESS=$2 MSGS=${3:-2000} WARMUP=${4:-500} SIZE=${SIZE:-4096} PROV=${PROV:-auto}
PW=$(cd "$(dirname "$0")/.." && pwd)
RIG=${RIG:-/work/shared/bench}
B=$RIG/postfix/instance/bin T=$RIG/postfix/instance/tls
IN=${IN:-11045} SK=${SK:-11046}
D=/tmp/postern-memory/$TAG; rm -rf "$D"; mkdir -p "$D"
export DATA_DIR=$D RELAY_DOMAIN=example.test CLIENT_NET=127.0.0.0/8 IN_HOST=127.0.0.1 IN_PORT=$IN SINK_HOST=127.0.0.1
export SINK_PORT=$SK CERT=$T/relay-ecdsa-p256.crt KEY=$T/relay-ecdsa-p256.key POSTERN_TLS_PROVIDER=$PROV
export REQUIRE_TLS=false TLS_LEVEL=may
envsubst < "$RIG/gateway-bench/gateways/postern.toml.in" > "$D/postern.toml"
[ -n "${MAXSIZE:-}" ] && sed -i "s/^\[limits\]/[limits]\nmax_message_size = \"$MAXSIZE\"/" "$D/postern.toml"
"$B/smtp-tls-sink" -u nobody -c "$T/sink-ecdsa-p256.crt" -k "$T/sink-ecdsa-p256.key" "127.0.0.1:$SK" \
  > "$D/sink.counter" 2> "$D/sink.err" &
SINKPID=$!
(cd "$PW" && exec ./postern serve --config "$D/postern.toml") > "$D/gw.console" 2>&1 &
GWPID=$!
for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$IN") 2>/dev/null && break; sleep 0.1; done
JPID=$GWPID   # ./postern execs java
sleep 1
. "$PW/scripts/java-home.sh"
pss() { awk '/^Pss:/{print $2}' "/proc/$JPID/smaps_rollup"; }
cpu() { awk '{print $14+$15}' "/proc/$JPID/stat"; }
echo "startup PSS $(( $(pss) / 1024 )) MiB" > "$D/report"
"$B/smtp-tls-source" -T -s "$SESS" -m "$WARMUP" -l "$SIZE" -w 105 -g 5 "127.0.0.1:$IN" > "$D/warmup.out" 2>&1
sleep 3
( while kill -0 "$JPID" 2>/dev/null; do p=$(pss); [ -n "$p" ] && echo "$p"; sleep 0.2; done ) > "$D/pss.samples" &
SAMP=$!
c0=$(cpu)
"$B/smtp-tls-source" -T -s "$SESS" -m "$MSGS" -l "$SIZE" -w 105 -g 5 "127.0.0.1:$IN" > "$D/run.out" 2>&1
sleep "${WAITDEL:-1}"
c1=$(cpu)
[ -n "${NMT:-}" ] && "$JAVA_HOME/bin/jcmd" "$JPID" VM.native_memory "$NMT" > "$D/nmt.txt" 2>&1
[ -n "${HEAP:-}" ] && "$JAVA_HOME/bin/jcmd" "$JPID" GC.heap_info > "$D/heap.txt" 2>&1
cp "/proc/$JPID/smaps_rollup" "$D/smaps_rollup"; cp "/proc/$JPID/smaps" "$D/smaps"
kill "$SAMP"; wait "$SAMP" 2>/dev/null
peak=$(sort -n "$D/pss.samples" | tail -1)
ms=$(awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$MSGS" 'BEGIN{printf "%.2f", c * 1000 / hz / n}')
echo "$TAG sessions=$SESS peak PSS $((peak / 1024)) MiB, CPU $ms ms/msg; load: $(tail -1 "$D/run.out" | cut -c1-300)" \
  | tee -a "$D/report"
kill "$GWPID" 2>/dev/null; wait "$GWPID" 2>/dev/null
kill "$SINKPID"; wait "$SINKPID" 2>/dev/null
echo "sink: $(tail -c 200 "$D/sink.counter" | tr '\r' '\n' | tail -1)" >> "$D/report"
