#!/usr/bin/env bash
# Idle-connection benchmark: N concurrent STARTTLS sessions that sit idle after EHLO, against `./postern serve`,
# and what they cost the Postern process in memory (RSS and PSS). Target: 10,000 sessions under 1 GiB RSS.
# Loopback only. See bench/README.md ("Idle connections"). Stops everything it started on exit.
#
# Environment (defaults in brackets):
#   SESSIONS [10000]       idle sessions to open
#   PROVIDERS ["auto jdk"] [tls] provider of each run ("auto" picks Conscrypt: one configured certificate)
#   CERT [ec]              the listener's certificate: ec (P-256) or rsa (2048)
#   SETTLE [10]            seconds to wait after the last session is up before sampling
#   PARALLEL [64]          connections the client sets up at once
#   LIMIT_MIB [1024]       the target: RSS below this many MiB with all sessions up
#   NMT [0]                1: run with -XX:NativeMemoryTracking=summary and print VM.native_memory summary.diff
#                          (sessions up vs. before the first session)
#   HISTO [0]              1: print the top of GC.class_histogram with the sessions up (after the RSS sample: it
#                          runs a full GC)
#   POSTERN_JAVA_OPTS [""] extra JVM options, passed on to ./postern
#   KEEP [0]               1: keep the temporary directory (config, logs, NMT and histogram output)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
SESSIONS=${SESSIONS:-10000}
PROVIDERS=${PROVIDERS:-"auto jdk"}
CERT=${CERT:-ec}
SETTLE=${SETTLE:-10}
PARALLEL=${PARALLEL:-64}
LIMIT_MIB=${LIMIT_MIB:-1024}
NMT=${NMT:-0}
HISTO=${HISTO:-0}
KEEP=${KEEP:-0}

BENCH_NAME=connections
. "$here/lib.sh"

for tool in python3 openssl ss; do command -v "$tool" >/dev/null || die "$tool not found"; done
. "$repo/scripts/java-home.sh"

# Descriptors: one per session on the client's side; on Postern's, one per session with the JDK's TLS and three with
# Conscrypt's (its native code opens a pipe for every SSL object). Raise the soft limit, and the hard one too if we
# may (root, with CAP_SYS_RESOURCE). Where that is not enough, a Conscrypt run opens as many sessions as fit and
# extrapolates its RSS to SESSIONS from the cost per session.
want=$((3 * SESSIONS + 2000))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$want" ]; then
  ulimit -Hn "$want" 2>/dev/null || true
fi
fds=$(ulimit -Hn)
[ "$fds" = unlimited ] && fds=$want
[ "$fds" -gt "$want" ] && fds=$want
ulimit -Sn "$fds"

dir=$(mktemp -d "${TMPDIR:-/tmp}/postern-connections.XXXXXX")
gw_pid= client_pid=
stop_client() {
  exec 4>&- 2>/dev/null || true # the client sends QUIT on every session when its stdin closes
  [ -n "$client_pid" ] || return 0
  for ((i = 0; i < 100; i++)); do kill -0 "$client_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$client_pid" 2>/dev/null || true
  wait "$client_pid" 2>/dev/null || true
  client_pid=
}
stop_gateway() {
  [ -n "$gw_pid" ] || return 0
  kill -TERM "$gw_pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do kill -0 "$gw_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$gw_pid" 2>/dev/null || true
  wait "$gw_pid" 2>/dev/null || true
  gw_pid=
}
cleanup() {
  stop_client
  stop_gateway
  if [ "$KEEP" = 1 ]; then note "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case $CERT in
  ec) keyopt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
  rsa) keyopt=(-newkey rsa:2048) ;;
  *) die "CERT must be ec or rsa, got $CERT" ;;
esac
openssl req -x509 "${keyopt[@]}" -nodes -days 30 -subj /CN=postern.bench -addext subjectAltName=DNS:postern.bench \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null || die "openssl req failed"

kib() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# Source addresses: at most 3/4 of the ephemeral port range per address.
read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
per_source=$(((hi - lo + 1) * 3 / 4))

note "java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1); $SESSIONS sessions, $CERT certificate"
printf '%-9s %-10s %8s %6s %7s %9s %8s %8s %8s %12s  %s\n' provider chose sessions failed setup_s base_MiB \
  RSS_MiB PSS_MiB heap_MiB MiB/1000sess verdict
results=()
for provider in $PROVIDERS; do
  per=1
  [ "$provider" != jdk ] && per=3 # auto picks Conscrypt here (one configured certificate)
  n=$SESSIONS
  if [ $((per * n + 2000)) -gt "$fds" ]; then
    n=$(((fds - 2000) / per))
    note "$provider: $SESSIONS sessions need $((per * SESSIONS + 2000)) descriptors, ulimit -n allows $fds: opening $n and extrapolating"
  fi
  port=$(free_port)
  run=$dir/$provider
  mkdir -p "$run"
  cat > "$run/postern.toml" <<EOF
hostname = "postern.bench"
data_dir = "$run/data"
local_domains = ["postern.bench"]
relay_domains = []

[[listeners]]
address = "127.0.0.1:$port"
role = "mx"

[tls]
certificate = "$dir/cert.pem"
key = "$dir/key.pem"
provider = "$provider"

[limits]
# Long enough that no idle session is closed while it is measured.
command_timeout = "2h"
session_timeout = "2h"
max_connections = $((SESSIONS + 100))
max_connections_per_ip = $((SESSIONS + 100))
max_active_sessions = $((SESSIONS + 100))   # every idle session is being served (greeted, TLS up)

[dns]
servers = []   # so loopback clients get no reverse DNS lookup
EOF
  opts=${POSTERN_JAVA_OPTS:-}
  [ "$NMT" = 1 ] && opts="$opts -XX:NativeMemoryTracking=summary"
  POSTERN_JAVA_OPTS=$opts "$repo/postern" serve --config "$run/postern.toml" > "$run/postern.out" 2> "$run/postern.log" &
  gw_pid=$!
  await_port "$port" "postern (see $run/postern.log; KEEP=1 keeps it)" "$gw_pid" 60
  chose=$(sed -n 's/.*\[tls\] provider = "auto": \([a-z]*\).*/\1/p' "$run/postern.log" | head -1)
  chose=${chose:-$provider}
  jvm_opts=$(tr '\0' ' ' < "/proc/$gw_pid/cmdline" | sed 's/^[^ ]* //; s/ -jar .*//')
  sleep 2
  base_kib=$(kib "/proc/$gw_pid/status" VmRSS:)
  [ "$NMT" = 1 ] && "$JAVA_HOME/bin/jcmd" "$gw_pid" VM.native_memory baseline > /dev/null

  mkfifo "$run/hold"
  python3 "$here/idle_clients.py" --port "$port" -n "$n" --parallel "$PARALLEL" --per-source "$per_source" \
    < "$run/hold" > "$run/clients.out" 2> "$run/clients.err" &
  client_pid=$!
  exec 4> "$run/hold"
  until grep -q '^ready' "$run/clients.out" 2>/dev/null; do
    kill -0 "$client_pid" 2>/dev/null || { cat "$run/clients.err" >&2; die "the client exited early"; }
    kill -0 "$gw_pid" 2>/dev/null || die "postern exited (see $run/postern.log)"
    sleep 0.5
  done
  read -r _ established failed setup < <(grep '^ready' "$run/clients.out")
  [ -s "$run/clients.err" ] && sed 's/^/  /' "$run/clients.err" >&2
  sleep "$SETTLE"
  server_side=$(ss -Htn state established "( sport = :$port )" | wc -l)
  rss_kib=$(kib "/proc/$gw_pid/status" VmRSS:)
  pss_kib=$(kib "/proc/$gw_pid/smaps_rollup" Pss:)
  heap_kib=$("$JAVA_HOME/bin/jcmd" "$gw_pid" GC.heap_info 2>/dev/null \
    | sed -n 's/.*total \([0-9]*\)K, used \([0-9]*\)K.*/\2/p' | awk '{ s += $1 } END { print s + 0 }')
  per1000=$(awk -v r="$rss_kib" -v b="$base_kib" -v n="$established" \
    'BEGIN { if (n > 0) printf "%.1f", (r - b) / 1024 / n * 1000; else print "-" }')
  # At SESSIONS: measured, or (when fewer were opened) extrapolated from the cost per session.
  at_n=$(awk -v r="$rss_kib" -v b="$base_kib" -v e="$established" -v n="$SESSIONS" \
    'BEGIN { printf "%.0f", (e >= n || e == 0) ? r / 1024 : (b + (r - b) / e * n) / 1024 }')
  verdict=$([ "$at_n" -lt "$LIMIT_MIB" ] && [ "$established" -eq "$n" ] && echo pass || echo FAIL)
  [ "$n" -lt "$SESSIONS" ] && verdict="$verdict (extrapolated to $SESSIONS: $at_n MiB)"
  line=$(printf '%-9s %-10s %8s %6s %7s %9s %8s %8s %8s %12s  %s' "$provider" "$chose" "$established" "$failed" \
    "$setup" "$(mib "$base_kib")" "$(mib "$rss_kib")" "$(mib "$pss_kib")" "$(mib "$heap_kib")" "$per1000" "$verdict")
  echo "$line"
  echo "          JVM: $jvm_opts; server-side established sockets: $server_side"
  results+=("$line")
  if [ "$NMT" = 1 ]; then
    "$JAVA_HOME/bin/jcmd" "$gw_pid" VM.native_memory summary.diff scale=MB > "$run/nmt.txt" || true
    sed -n '/^Total/p; /^-  *[A-Z]/,+1p' "$run/nmt.txt" | grep -v '^--$' | sed 's/^/  nmt /'
  fi
  if [ "$HISTO" = 1 ]; then
    "$JAVA_HOME/bin/jcmd" "$gw_pid" GC.class_histogram > "$run/histogram.txt" || true
    sed -n '1,28p' "$run/histogram.txt" | sed 's/^/  histo /'
  fi
  stop_client
  stop_gateway
done
