#!/usr/bin/env bash
# Crash and restart under load (issue 17): SmtpLoad source -> postern serve -> SmtpLoad sink, all on loopback. A steady
# load of MESSAGES messages, in one phase per entry of SESSIONS (concurrent sessions of the source); in each phase the
# gateway is SIGKILLed at random moments and restarted on the same data directory, and the sink is SIGKILLed in the
# middle of a DATA transfer and restarted. At the end, once the spool is empty, crash-check.py compares what the
# source read a 250 for with what the sink recorded: exit 1 on a lost, cut or unknown message, or on a duplicate that
# no kill explains. See bench/README.md and docs/reliability.md ("Crash and restart").
#
# Environment (defaults in brackets):
#   MESSAGES [5000]       messages in all, split evenly over the phases
#   SESSIONS ["20 200"]   one phase per entry: the source's concurrent sessions
#   KILLS [24]            gateway SIGKILLs in all, split evenly over the phases
#   SINK_KILLS [2]        sink SIGKILLs per phase, each in the middle of a DATA transfer
#   UPTIME ["0.4 1.6"]    a gateway runs a random time in this range (seconds, after it listens) before its kill
#   RATE [auto]           messages per second of the source; auto: the phase's messages over its planned uptime
#   SEED [random]         seeds the kill schedule ($RANDOM), printed so a run can be repeated
#   SINK_WINDOW [1000]    ms: a sink record this close before a sink kill may not have been answered (see the check)
#   DRAIN [300]           seconds to wait for the spool to empty after the last phase
#   BENCH_DIR [/var/tmp]  where the temporary directory goes (data directory, logs, records)
#   KEEP [0]              1: keep the temporary directory (its path is printed)
#   JAR [target/postern.jar]  the gateway; POSTERN_CLASSPATH instead runs dev.postern.cli.Main from that class path
#                         (the JUnit test, which runs before the jar exists)
set -euo pipefail
BENCH_NAME=crash
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib.sh"
. "$repo/scripts/java-home.sh"
. "$repo/scripts/launch.sh"

MESSAGES=${MESSAGES:-5000}
read -r -a phases <<<"${SESSIONS:-20 200}"
KILLS=${KILLS:-24}
SINK_KILLS=${SINK_KILLS:-2}
read -r up_min up_max <<<"${UPTIME:-0.4 1.6}"
RATE=${RATE:-auto}
SEED=${SEED:-$((RANDOM * 32768 + RANDOM))}
SINK_WINDOW=${SINK_WINDOW:-1000}
DRAIN=${DRAIN:-300}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
KEEP=${KEEP:-0}
JAR=${JAR:-$repo/target/postern.jar}
RANDOM=$SEED

if [ -z "${POSTERN_CLASSPATH:-}" ] && [ ! -f "$JAR" ]; then
  die "$JAR not found (./mvnw -B -q package -DskipTests), or set POSTERN_CLASSPATH"
fi
nphases=${#phases[@]}
per_phase=$((MESSAGES / nphases))
kills_per_phase=$(((KILLS + nphases - 1) / nphases))

w=$(mktemp -d "$BENCH_DIR/crash.XXXXXX")
gw="" sink="" source=""
cleanup() {
  set +e
  for p in $source $gw $sink; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if [ "$KEEP" = 1 ]; then note "kept $w"; else rm -rf "$w"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
event() { echo "$*" >>"$w/events.log"; }
# a random number of milliseconds between $1 and $2 seconds
random_ms() { awk -v a="$1" -v b="$2" -v r="$RANDOM" 'BEGIN { printf "%d", (a + (b - a) * r / 32767) * 1000 }'; }
sleep_ms() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }

"$JAVA_HOME/bin/javac" -d "$w/classes" "$here/SmtpLoad.java" || die "javac SmtpLoad.java failed"
GW_PORT=$(free_port)
SINK_PORT=$(free_port)
max_sessions=0
for s in "${phases[@]}"; do [ "$s" -gt "$max_sessions" ] && max_sessions=$s; done
cat >"$w/postern.toml" <<EOF
# Written by bench/crash.sh: a relay for sink.test to the sink on loopback, with retries scaled down so that what a
# kill defers is tried again within a second or two.
hostname = "gw.crash.test"
data_dir = "$w/data"
local_domains = []
relay_domains = ["sink.test"]

[[listeners]]
address = "127.0.0.1:$GW_PORT"
role = "mx"

[limits]
max_connections = $((max_sessions * 2 + 100))
max_connections_per_ip = $((max_sessions * 2 + 100))
max_active_sessions = $((max_sessions + 50))
shutdown_grace = "5s"

[queue]
retry_first = "250ms"
retry_max = "1s"

[delivery]
connect_timeout = "5s"
command_timeout = "30s"
data_timeout = "30s"

[routes]
"sink.test" = "[127.0.0.1]:$SINK_PORT"

# Nothing here needs DNS (the route is an address) nor the admin server; both would only slow each restart down.
[dns]
dnssec = "off"

[admin]
listen = ""

[probes]
enabled = false
EOF

# Class data sharing: the first gateway, stopped in order, writes an archive of the classes it loaded, which every
# restart maps instead of loading them again (half the start-up time on this machine). A SIGKILL writes nothing.
export POSTERN_JAVA_OPTS="${POSTERN_JAVA_OPTS:-} -XX:SharedArchiveFile=$w/postern.jsa -XX:+AutoCreateSharedArchive"
# postern serve in the background, its output appended to the file $1; sets gw.
launch_gateway() {
  if [ -n "${POSTERN_CLASSPATH:-}" ]; then
    postern_jvm
    "${postern_jvm_args[@]}" -cp "$POSTERN_CLASSPATH" dev.postern.cli.Main serve --config "$w/postern.toml" \
      >>"$1" 2>&1 &
  else
    (postern_exec "$JAR" serve --config "$w/postern.toml") >>"$1" 2>&1 &
  fi
  gw=$!
}
warm_up() {
  launch_gateway "$w/warm-up.log"
  await_port "$GW_PORT" "the first gateway" "$gw" 300
  kill -TERM "$gw"
  wait "$gw" || true
  gw=""
  [ -s "$w/postern.jsa" ] || note "no class data archive was written; every start loads its classes"
}

generation=0
start_gateway() {
  generation=$((generation + 1))
  event "gwstart $generation $(now_ms)"
  launch_gateway "$w/gateway.log"
  await_port "$GW_PORT" "gateway $generation" "$gw" 120
  event "gwlistening $generation $(now_ms)"
}

kill_gateway() {
  event "gwkill $generation $(now_ms)"
  kill -KILL "$gw"
  wait "$gw" 2>/dev/null || true
  gw=""
  # What the killed gateway left in the spool is what recovery will find: the page cache survives a SIGKILL.
  { for d in active deferred hold; do ls "$w/data/queue/$d" 2>/dev/null || true; done; } \
    | sed -n 's/\.env$//p' >"$w/spool-at-kill-$generation.txt"
}

sink_generation=0
start_sink() {
  sink_generation=$((sink_generation + 1))
  event "sinkstart $sink_generation $(now_ms)"
  "$JAVA_HOME/bin/java" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$w/classes" SmtpLoad sink --port "$SINK_PORT" \
    --record "$w/sink.log" --generation "$sink_generation" --stall "$w/stall" >"$w/sink-$sink_generation.out" 2>&1 &
  sink=$!
  await_port "$SINK_PORT" "sink $sink_generation" "$sink" 60
}

# Kills the sink while it has a DATA transfer under way: the sink takes the stall file at its next DATA, says so and
# reads no more of that message; then it is SIGKILLed, down a moment (deliveries fail and are deferred), restarted.
kill_sink_mid_data() {
  local out="$w/sink-$sink_generation.out" i
  touch "$w/stall"
  for ((i = 0; i < 1200; i++)); do grep -q "mid-data " "$out" && break; sleep 0.05; done
  if ! grep -q 'mid-data ' "$out"; then
    rm -f "$w/stall"
    event "sinkkill $sink_generation $(now_ms) idle"
    note "sink $sink_generation: no DATA transfer within 60 s; killed without one"
  else
    event "sinkkill $sink_generation $(now_ms) mid-data"
  fi
  kill -KILL "$sink"
  wait "$sink" 2>/dev/null || true
  sleep_ms "$(random_ms 0.2 1.0)"
  start_sink
}

note "seed $SEED; $MESSAGES messages, sessions ${phases[*]}, $KILLS gateway kills, $SINK_KILLS sink kills per phase;" \
  "work directory $w"
t0=$(date +%s)
warm_up
start_sink
start_gateway
phase=0
for sessions in "${phases[@]}"; do
  phase=$((phase + 1))
  messages=$per_phase
  [ "$phase" = "$nphases" ] && messages=$((MESSAGES - per_phase * (nphases - 1)))
  rate=$RATE
  # Spread the phase's messages over its kills, with a margin (a cycle takes longer than its planned uptime: noticing
  # the listener, the kill, the listing of the spool), so that the source is still sending when the last kill comes.
  [ "$rate" = auto ] && rate=$(awk -v m="$messages" -v k="$kills_per_phase" -v a="$up_min" -v b="$up_max" \
    'BEGIN { printf "%.1f", m / ((k + 2) * 1.25 * (a + b) / 2) }')
  event "phase $phase sessions $sessions messages $messages rate $rate $(now_ms)"
  note "phase $phase: $sessions sessions, $messages messages at $rate/s, $kills_per_phase gateway kills"
  "$JAVA_HOME/bin/java" -XX:+UseSerialGC -cp "$w/classes" SmtpLoad source --port "$GW_PORT" --record "$w/source.log" \
    --id-prefix "p$phase" --sessions "$sessions" --messages "$messages" --rate "$rate" --deadline "$((DRAIN + 600))" \
    >"$w/source-$phase.out" 2>&1 &
  source=$!
  # sink kills at evenly spread kill numbers of the phase, before the gateway's kill of that number
  declare -A sink_kill_at=()
  for ((j = 1; j <= SINK_KILLS; j++)); do sink_kill_at[$((j * kills_per_phase / (SINK_KILLS + 1) + 1))]=1; done
  for ((k = 1; k <= kills_per_phase; k++)); do
    up=$(random_ms "$up_min" "$up_max")
    if [ -n "${sink_kill_at[$k]:-}" ]; then
      sleep_ms $((up / 2))
      kill_sink_mid_data
      sleep_ms $((up - up / 2))
    else
      sleep_ms "$up"
    fi
    kill -0 "$source" 2>/dev/null || note "phase $phase: the source ended before kill $k"
    kill_gateway
    start_gateway
  done
  wait "$source" || die "phase $phase: the source did not send all its messages: $(cat "$w/source-$phase.out")"
  source=""
  note "phase $phase: source $(tail -n 1 "$w/source-$phase.out")"
done

# Everything acknowledged must now be delivered: wait for the spool to empty, then stop the gateway in order.
spooled() { find "$w/data/queue/messages" "$w/data/queue/active" "$w/data/queue/deferred" -type f 2>/dev/null | wc -l; }
for ((i = 0; i < DRAIN * 10; i++)); do [ "$(spooled)" = 0 ] && break; sleep 0.1; done
[ "$(spooled)" = 0 ] || note "the spool still holds $(spooled) files after $DRAIN s"
kill -TERM "$gw"
wait "$gw" || true
gw=""
sleep 0.5 # deliveries the sink was still answering are recorded
kill -KILL "$sink"
wait "$sink" 2>/dev/null || true
sink=""
note "ran $(($(date +%s) - t0)) s"
python3 "$here/crash-check.py" "$w" "$SINK_WINDOW"
