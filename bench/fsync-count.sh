#!/usr/bin/env bash
# Counts what relaying costs in flushes: smtp-source -> Postern -> smtp-sink on loopback, plain SMTP, 20 sessions,
# one 4 KiB message per connection, bench/postern-bench.toml. After a warm-up of 200 messages (fully delivered and
# removed), relays MESSAGES more and prints, for that window only, the disk's flush requests (/proc/diskstats: the
# 16th statistics field, "flush requests completed", of DISK) per message and, with STRACE=1, the gateway's
# fsync/fdatasync calls per message by file (strace -f -y). The disk count includes whatever else writes to DISK.
# See bench/README.md. Needs smtp-source/smtp-sink (apt-get install postfix) and, for STRACE=1, strace.
#
# Environment (defaults in brackets): JAR [target/postern.jar, with its lib/ beside it]  MESSAGES [2000]
#   STRACE [0]  BENCH_DIR [/var/tmp]  DISK [the device holding BENCH_DIR]  GW_PORT [12025]  SINK_PORT [12026]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
JAR=${JAR:-$repo/target/postern.jar}
MESSAGES=${MESSAGES:-2000}
STRACE=${STRACE:-0}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
DISK=${DISK:-$(basename "$(df --output=source "$BENCH_DIR" | tail -n 1)")}
GW_PORT=${GW_PORT:-12025}
SINK_PORT=${SINK_PORT:-12026}
PATH=$PATH:/usr/sbin
. "$repo/scripts/java-home.sh"
[ -f "$JAR" ] || { echo "fsync-count: $JAR not found (./mvnw -B -q package -DskipTests)" >&2; exit 1; }

w=$(mktemp -d "$BENCH_DIR/fsync-count.XXXXXX")
sed -e "s|^data_dir = .*|data_dir = \"$w/data\"|" -e "s|127.0.0.1:10025|127.0.0.1:$GW_PORT|" \
    -e "s|127.0.0.1\\]:10026|127.0.0.1]:$SINK_PORT|" "$here/postern-bench.toml" >"$w/postern.toml"
gw="" sink=""
cleanup() {
  set +e
  if [ -n "$gw" ]; then
    [ "$STRACE" = 1 ] && kill -TERM $(pgrep -P "$gw" java) 2>/dev/null
    kill -TERM "$gw" 2>/dev/null; wait "$gw"
  fi
  [ -n "$sink" ] && { kill "$sink" 2>/dev/null; wait "$sink" 2>/dev/null; }
  rm -rf "$w"
}
trap cleanup EXIT
smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 256 >"$w/sink.out" 2>&1 & sink=$!
java=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -Xss512k -jar "$JAR" serve
      --config "$w/postern.toml")
if [ "$STRACE" = 1 ]; then
  strace -f --seccomp-bpf -y -e trace=fsync,fdatasync -o "$w/strace.txt" "${java[@]}" >"$w/postern.log" 2>&1 & gw=$!
else
  "${java[@]}" >"$w/postern.log" 2>&1 & gw=$!
fi
for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$GW_PORT") 2>/dev/null && break; sleep 0.2; done

send() { smtp-source -4 -s 20 -m "$1" -l 4096 -f bench@source.test -t user@sink.test -M source.test "127.0.0.1:$GW_PORT"; }
queued() { find "$w/data/queue/messages" -type f 2>/dev/null | wc -l; }
received() {
  local n; n=$(tail -c 64 "$w/sink.out" | tr '\r' '\n' | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -n 1)
  echo "${n:-0}"
}
flushes() { awk -v d="$DISK" '$3 == d { print $19 }' /proc/diskstats; }

send 200
while [ "$(received)" -lt 200 ] || [ "$(queued)" -gt 0 ]; do sleep 0.2; done
sleep 1
base=$(received)
[ "$STRACE" = 1 ] && s0=$(wc -l <"$w/strace.txt")
f0=$(flushes)
send "$MESSAGES"
while [ "$(received)" -lt $((base + MESSAGES)) ] || [ "$(queued)" -gt 0 ]; do sleep 0.1; done
f1=$(flushes)
echo "messages=$MESSAGES disk=$DISK flushes=$((f1 - f0)) per_message=$(echo "scale=2; ($f1 - $f0) / $MESSAGES" | bc)"
if [ "$STRACE" = 1 ]; then
  s1=$(wc -l <"$w/strace.txt")
  sed -n "$((s0 + 1)),${s1}p" "$w/strace.txt" >"$w/window.txt"
  calls=$(grep -cE '(fsync|fdatasync)\(' "$w/window.txt" || true)
  echo "fsync+fdatasync calls=$calls per_message=$(echo "scale=2; $calls / $MESSAGES" | bc)"
  grep -oE '(fsync|fdatasync)\([0-9]+<[^>]*>' "$w/window.txt" | sed -E "s/\\([0-9]+</ /; s/>\$//; s#$w/##" \
    | sed -E 's#/[0-9A-Z]{26}\.(eml|env)$#/ID.\1#' | sort | uniq -c | sort -rn
fi
