#!/usr/bin/env bash
# Relay benchmark: load source -> gateway (Postern, or Postfix 3.7 as the reference) -> sink, on loopback.
# Runs both gateways back to back, ROUNDS times, and prints messages/s end to end and the gateway's CPU per message.
# See bench/README.md. Needs root and Postfix (apt-get install postfix); stops everything it started on exit.
#
# Environment (defaults in brackets):
#   ROUNDS [3]  MESSAGES [3000]  WARMUP [500]  SESSIONS [20]  SIZE [4096]
#   MODES ["plain tls-out tls"]   plain:   smtp-source -> gateway -> smtp-sink (no TLS anywhere)
#                                 tls-out: smtp-source -> gateway -STARTTLS-> SmtpLoad sink
#                                 tls:     SmtpLoad source -STARTTLS-> gateway -STARTTLS-> SmtpLoad sink
#   GATEWAYS ["postern postfix"]  GW_PORT [10025]  SINK_PORT [10026]
#   POSTERN_JAVA_OPTS [""]        extra JVM options for Postern (e.g. a JFR recording)
#   TLS_PROVIDER [jdk]            Postern's [tls] provider: jdk or conscrypt
#   BENCH_DIR [/var/tmp]          where the temporary directory goes (same file system for both queues)
#   KEEP [0]                      1: keep the temporary directory (logs, queues) for a look afterwards
#   TIMEOUT [600]                 seconds one measured phase may take
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
ROUNDS=${ROUNDS:-3}
MESSAGES=${MESSAGES:-3000}
WARMUP=${WARMUP:-500}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-4096}
MODES=${MODES:-"plain tls-out tls"}
GATEWAYS=${GATEWAYS:-"postern postfix"}
GW_PORT=${GW_PORT:-10025}
SINK_PORT=${SINK_PORT:-10026}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
KEEP=${KEEP:-0}
TIMEOUT=${TIMEOUT:-600}

BENCH_NAME=relay-bench
. "$here/lib.sh"

[ "$(id -u)" -eq 0 ] || die "run as root (the postfix command is for the superuser)"
for tool in postfix smtp-source smtp-sink openssl timeout; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || die "$tool not found (apt-get install postfix openssl)"
done
PATH=$PATH:/usr/sbin
. "$repo/scripts/java-home.sh"
JAVA=$JAVA_HOME/bin/java

jar=$repo/target/postern.jar
if [ ! -f "$jar" ]; then
  note "building $jar"
  (cd "$repo" && ./mvnw -B -o -q package -DskipTests) || die "build failed"
fi

work=$(mktemp -d "$BENCH_DIR/relay-bench.XXXXXX")
chmod 755 "$work"  # Postfix's daemons run as the postfix user and must reach into it
started=()         # pids of everything we started, stopped in reverse order on exit
postfix_etc=""     # config directory of the running Postfix instance, if any

cleanup() {
  local rc=$? pid
  if [ -n "$postfix_etc" ]; then postfix -c "$postfix_etc" stop >/dev/null 2>&1 || true; fi
  # Only processes that are still our children: a pid we started may have ended and been reused since.
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    pid=${started[i]}
    ours "$pid" && kill_tree "$pid" TERM
  done
  sleep 0.3
  for pid in "${started[@]}"; do ours "$pid" && kill_tree "$pid" KILL; done
  if [ "$KEEP" = 1 ]; then note "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
ours() {
  local line rest ppid
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
  rest=${line##*) }
  read -r _ ppid _ <<<"$rest"
  [ "$ppid" = "$$" ]
}
# Signals a process and all its descendants (children first found, then the process itself).
kill_tree() {
  local pid=$1 sig=$2 child
  [ -d "/proc/$pid" ] || return 0
  for child in $(children "$pid"); do kill_tree "$child" "$sig"; done
  kill -"$sig" "$pid" 2>/dev/null || true
}
children() {  # pids whose parent is $1
  local want=$1 f line rest
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    rest=${line##*) }
    read -r _ ppid _ <<<"$rest"
    [ "$ppid" = "$want" ] && echo "${line%% *}"
  done
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU ticks (utime+stime+cutime+cstime) of $1 and all its live descendants. Children that ended were reaped by
# their parent (Postfix's master), so their time is in the parent's cutime/cstime: nothing is lost or counted twice.
cpu_ticks_tree() {
  local root=$1 f line rest pid total=0 p
  local -A parent ticks
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    pid=${line%% *}
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    parent[$pid]=$2
    ticks[$pid]=$((${12} + ${13} + ${14} + ${15}))
  done
  for pid in "${!ticks[@]}"; do
    p=$pid
    while [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$root" ]; do p=${parent[$p]:-}; done
    [ "$p" = "$root" ] && total=$((total + ticks[$pid]))
  done
  echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)

port_free() {
  local i
  for ((i = 0; i < 100; i++)); do port_open "$1" || return 0; sleep 0.1; done
  die "127.0.0.1:$1 is in use"
}

# ---------------------------------------------------------------- shared material

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 30 \
  -subj "/CN=gateway.bench" >/dev/null 2>&1 || die "openssl req failed"
chmod 644 "$work/key.pem" "$work/cert.pem"  # postfix reads the key as root anyway; the Java sink as root too
mkdir -p "$work/classes"
"$JAVA_HOME/bin/javac" -d "$work/classes" "$here/SmtpLoad.java" || die "javac SmtpLoad.java failed"

# ---------------------------------------------------------------- gateways

gw_pid=""    # the process whose CPU is counted: Postern's JVM, or Postfix's master
gw_queue=""  # directories that hold queued messages, for the "queue empty afterwards" check

start_postern() {
  local dir=$work/postern
  rm -rf "$dir"
  mkdir -p "$dir"
  sed -e "s|^data_dir = .*|data_dir = \"$dir/data\"|" \
      -e "s|^address = \"127.0.0.1:10025\"|address = \"127.0.0.1:$GW_PORT\"|" \
      -e "s|^\"sink.test\" = .*|\"sink.test\" = \"[127.0.0.1]:$SINK_PORT\"|" \
      "$here/postern-bench.toml" >"$dir/postern.toml"
  printf '\n[tls]\nprovider = "%s"\ncertificate = "%s"\nkey = "%s"\n' "${TLS_PROVIDER:-jdk}" "$work/cert.pem" \
    "$work/key.pem" >>"$dir/postern.toml"
  # The flags of ./postern (the project's launcher: scripts/jvm.options), plus whatever POSTERN_JAVA_OPTS adds.
  local jvm_options
  mapfile -t jvm_options < <(sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' \
    "$here/../scripts/jvm.options" | grep -v '^$')
  # shellcheck disable=SC2086
  MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX:-2} "$JAVA" --enable-native-access=ALL-UNNAMED "${jvm_options[@]}" \
    ${POSTERN_JAVA_OPTS:-} \
    -jar "$jar" serve --config "$dir/postern.toml" >"$dir/postern.log" 2>&1 &
  gw_pid=$!
  started+=("$gw_pid")
  await_port "$GW_PORT" "postern (see $dir/postern.log)" "$gw_pid"
  gw_queue="$dir/data/queue/incoming $dir/data/queue/active $dir/data/queue/deferred"
}

stop_postern() {
  kill -TERM "$gw_pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$gw_pid" 2>/dev/null || true
  wait "$gw_pid" 2>/dev/null || true
}

start_postfix() {
  local dir=$work/postfix etc
  rm -rf "$dir"
  etc=$dir/etc
  mkdir -p "$etc" "$dir/spool"
  chmod 755 "$dir"
  cat >"$etc/main.cf" <<EOF
# private Postfix instance for bench/relay-bench.sh (see PostfixInstance in the interop tests)
compatibility_level = 3.6
config_directory = $etc
queue_directory = $dir/spool
data_directory = $dir/data
maillog_file_prefixes = $dir
maillog_file = $dir/maillog
myhostname = postfix.bench
mydomain = postfix.bench
myorigin = \$myhostname
mydestination =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
biff = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
relay_domains = sink.test
transport_maps = texthash:$etc/transport
default_transport = error:this bench instance sends only to its transport map
# TLS as Debian's default main.cf has it, with our self-signed certificate.
smtpd_tls_cert_file = $work/cert.pem
smtpd_tls_key_file = $work/key.pem
smtpd_tls_security_level = may
smtp_tls_security_level = may
smtp_tls_session_cache_database = btree:\${data_directory}/smtp_scache
EOF
  echo "sink.test smtp:[127.0.0.1]:$SINK_PORT" >"$etc/transport"
  cat >"$etc/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:$GW_PORT inet n - n - - smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  postfix -c "$etc" start-fg </dev/null >"$dir/start-fg.out" 2>&1 &
  local fg=$!
  started+=("$fg")
  postfix_etc=$etc
  local i
  for ((i = 0; i < 300; i++)); do
    grep -q "postfix/master\[[0-9]*\]: daemon started" "$dir/maillog" 2>/dev/null && break
    kill -0 "$fg" 2>/dev/null || die "postfix exited while starting: $(cat "$dir/start-fg.out" "$dir/maillog" 2>/dev/null)"
    sleep 0.1
  done
  gw_pid=$(tr -d ' ' <"$dir/spool/pid/master.pid")
  [ -d "/proc/$gw_pid" ] || die "no postfix master (pid file says '$gw_pid')"
  await_port "$GW_PORT" "postfix (see $dir/maillog)" "$gw_pid"
  gw_queue="$dir/spool/incoming $dir/spool/active $dir/spool/deferred $dir/spool/maildrop"
  postfix_fg=$fg
}

stop_postfix() {
  postfix -c "$postfix_etc" stop >/dev/null 2>&1 || true
  local i
  for ((i = 0; i < 150; i++)); do kill -0 "$postfix_fg" 2>/dev/null || break; sleep 0.1; done
  kill_tree "$postfix_fg" KILL
  wait "$postfix_fg" 2>/dev/null || true
  postfix_etc=""
}

# ---------------------------------------------------------------- load source and sink

# The sink runs for a whole gateway run (warm-up and measured phase) and writes "mesg=N\r" to sink.out each time it
# has received a message: smtp-sink -c does that, and so does SmtpLoad sink.
start_sink() {
  local mode=$1
  port_free "$SINK_PORT"
  : >"$work/sink.out"
  if [ "$mode" = plain ]; then
    smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 256 >"$work/sink.out" 2>&1 &
  else
    "$JAVA" -XX:+UseSerialGC -cp "$work/classes" SmtpLoad sink --port "$SINK_PORT" \
      --starttls --cert "$work/cert.pem" --key "$work/key.pem" >"$work/sink.out" 2>&1 &
  fi
  sink_pid=$!
  started+=("$sink_pid")
  await_port "$SINK_PORT" "sink (see $work/sink.out)" "$sink_pid"
}
stop_sink() { kill_tree "$sink_pid" TERM; wait "$sink_pid" 2>/dev/null || true; }
sink_count() {
  local n
  n=$(tail -c 64 "$work/sink.out" | tr '\r' '\n' | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -n 1)
  echo "${n:-0}"
}

# The TLS source (SmtpLoad) also stays up for a whole gateway run, so its JIT is warm: it sends one batch per count
# written to its fifo. smtp-source is started per phase.
start_java_source() {
  rm -f "$work/source.fifo"
  mkfifo "$work/source.fifo"
  : >"$work/source.out"
  "$JAVA" -XX:+UseSerialGC -cp "$work/classes" SmtpLoad source --port "$GW_PORT" --sessions "$SESSIONS" \
    --size "$SIZE" --from bench@source.test --to user@sink.test --starttls --stdin \
    <"$work/source.fifo" >"$work/source.out" 2>&1 &
  java_source_pid=$!
  started+=("$java_source_pid")
  exec 7>"$work/source.fifo"
}
stop_java_source() { exec 7>&-; wait "$java_source_pid" 2>/dev/null || true; }

# Sends $2 messages and waits until the sink's count reaches $3. Sets phase_secs: from just before the source
# starts until the sink's counter file was last written (the moment the target count was reached).
phase() {
  local mode=$1 count=$2 target=$3 t0 t1 rc batches src=""
  t0=$EPOCHREALTIME
  if [ "$mode" = tls ]; then
    batches=$(grep -c '^done ' "$work/source.out" || true)
    echo "$count" >&7
  else
    smtp-source -4 -s "$SESSIONS" -m "$count" -l "$SIZE" -f bench@source.test -t user@sink.test -M source.test \
      "127.0.0.1:$GW_PORT" >"$work/source.out" 2>&1 &
    src=$!
    started+=("$src")
  fi
  while :; do
    sleep 0.1
    if [ "$(sink_count)" -ge "$target" ]; then
      t1=$(date -r "$work/sink.out" +%s.%N)
      break
    fi
    kill -0 "$sink_pid" 2>/dev/null || die "the sink died: $(tail -c 300 "$work/sink.out")"
    if [ -n "$src" ] && ! kill -0 "$src" 2>/dev/null; then
      rc=0; wait "$src" || rc=$?
      [ "$rc" = 0 ] || die "smtp-source failed (exit $rc): $(tail -5 "$work/source.out")"
      src=""
    fi
    if [ "$mode" = tls ]; then
      kill -0 "$java_source_pid" 2>/dev/null || die "the load source died: $(tail -5 "$work/source.out")"
      grep -q 'failed=[1-9]' "$work/source.out" && die "the load source failed: $(tail -8 "$work/source.out")"
    fi
    awk -v a="$t0" -v b="$EPOCHREALTIME" -v t="$TIMEOUT" 'BEGIN { exit !(b - a > t) }' \
      && die "phase of $count messages not done in $TIMEOUT s (sink count $(sink_count) of $target)"
  done
  # The source is done once its last QUIT is answered.
  if [ -n "$src" ]; then
    rc=0; wait "$src" || rc=$?
    [ "$rc" = 0 ] || die "smtp-source failed (exit $rc): $(tail -5 "$work/source.out")"
  elif [ "$mode" = tls ]; then
    while [ "$(grep -c '^done ' "$work/source.out" || true)" -le "$batches" ]; do sleep 0.1; done
    grep -q 'failed=[1-9]' "$work/source.out" && die "the load source failed: $(tail -8 "$work/source.out")"
  fi
  phase_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

results=$work/results.txt
: >"$results"

run_one() {
  local gw=$1 mode=$2 round=$3 c0 c1 left
  "start_$gw"
  start_sink "$mode"
  [ "$mode" = tls ] && start_java_source
  if [ "$WARMUP" -gt 0 ]; then
    phase "$mode" "$WARMUP" "$WARMUP"
    sleep 1
  fi
  c0=$(cpu_ticks_tree "$gw_pid")
  phase "$mode" "$MESSAGES" "$((WARMUP + MESSAGES))"
  sleep 1  # the gateway finishes its bookkeeping after the sink's last 250 (removing queue files, logging)
  c1=$(cpu_ticks_tree "$gw_pid")
  # shellcheck disable=SC2086
  left=$(find $gw_queue -type f 2>/dev/null | wc -l)
  [ "$left" = 0 ] || note "$gw $mode round $round: $left file(s) left in the queue"
  [ "$mode" = tls ] && stop_java_source
  stop_sink
  "stop_$gw"
  awk -v gw="$gw" -v mode="$mode" -v r="$round" -v n="$MESSAGES" -v s="$phase_secs" -v t="$((c1 - c0))" \
    -v hz="$CLK_TCK" 'BEGIN { printf "%-8s %-8s %5s %6d %8.2f %8.1f %8.2f\n", gw, mode, r, n, s, n / s, t * 1000 / hz / n }' \
    | tee -a "$results"
}

note "work dir $work; $ROUNDS round(s) of $MESSAGES messages (+$WARMUP warm-up) x $SESSIONS sessions x $SIZE bytes"
note "java $("$JAVA" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.runtime.version = //p'); $(postconf -d mail_version 2>/dev/null)"
printf '%-8s %-8s %5s %6s %8s %8s %8s\n' gateway mode round msgs seconds 'msg/s' 'CPUms/msg'
for round in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    for gw in $GATEWAYS; do
      run_one "$gw" "$mode" "$round"
    done
  done
done

# Medians per gateway and mode, and the ratios Postern/Postfix.
echo
echo "median of $ROUNDS round(s):"
printf '%-8s %-8s %8s %10s %10s %10s\n' mode gateway 'msg/s' 'CPUms/msg' 'ratio msg/s' 'ratio CPU'
for mode in $MODES; do
  for gw in $GATEWAYS; do
    awk -v gw="$gw" -v mode="$mode" '$1 == gw && $2 == mode { print $6, $7 }' "$results" \
      | sort -n -k1,1 | awk '{ r[NR] = $1 } END { printf "%s ", r[int((NR + 1) / 2)] }'
    awk -v gw="$gw" -v mode="$mode" '$1 == gw && $2 == mode { print $7 }' "$results" \
      | sort -n | awk '{ c[NR] = $1 } END { print c[int((NR + 1) / 2)] }'
  done >"$work/med.txt"
  paste -d' ' <(echo $GATEWAYS | tr ' ' '\n') "$work/med.txt" | awk -v mode="$mode" '
    { gw[NR] = $1; rate[$1] = $2; cpu[$1] = $3 }
    END {
      for (i = 1; i <= NR; i++) {
        g = gw[i]
        if (g == "postern" && ("postfix" in rate) && rate["postfix"] > 0 && cpu["postfix"] > 0)
          printf "%-8s %-8s %8.1f %10.2f %10.2f %10.2f\n", mode, g, rate[g], cpu[g], rate[g] / rate["postfix"], cpu[g] / cpu["postfix"]
        else
          printf "%-8s %-8s %8.1f %10.2f %10s %10s\n", mode, g, rate[g], cpu[g], "", ""
      }
    }'
done
