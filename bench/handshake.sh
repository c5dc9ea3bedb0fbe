#!/usr/bin/env bash
# Handshake-rate benchmark: full TLS handshakes per second against Postern's implicit-TLS listener (role
# "submissions") and against `openssl s_server` with the same certificate and key, measured with
# `openssl s_time -new` on the same machine. Target: Postern at 80 % of s_server or more.
# Loopback only. See bench/README.md ("Handshake rate"). Stops everything it started on exit.
#
# Environment (defaults in brackets):
#   CERTS ["ec rsa"]       certificates to measure with: ec (ECDSA P-256), rsa (RSA 2048)
#   PROVIDERS ["auto jdk"] Postern's [tls] provider per run ("auto" picks Conscrypt: one configured certificate)
#   SECONDS_PER_RUN [10]   s_time -time, per measured run
#   WARMUP [20]            s_time -time of an unmeasured run first, against each server (Postern's JIT: with 5 s
#                          its CPU per handshake still fell by half over the measured rounds)
#   ROUNDS [3]             measured runs of each server, alternating; the median is reported
#   POSTERN_JAVA_OPTS [""] extra JVM options, passed on to ./postern (e.g. an -agentpath profiler)
#   KEEP [0]               1: keep the temporary directory (configs, logs)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
CERTS=${CERTS:-"ec rsa"}
PROVIDERS=${PROVIDERS:-"auto jdk"}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
WARMUP=${WARMUP:-20}
ROUNDS=${ROUNDS:-3}
KEEP=${KEEP:-0}

BENCH_NAME=handshake
. "$here/lib.sh"

for tool in python3 openssl; do command -v "$tool" >/dev/null || die "$tool not found"; done
. "$repo/scripts/java-home.sh"

dir=$(mktemp -d "${TMPDIR:-/tmp}/postern-handshake.XXXXXX")
pids=()
stop() {  # pid: TERM, then KILL after 20 s
  kill -TERM "$1" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  for pid in "${pids[@]}"; do stop "$pid"; done
  if [ "$KEEP" = 1 ]; then note "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)

# One s_time run against port: prints "connections seconds cpu_ticks_of_pid".
s_time() {  # port, seconds, server pid
  local start end before after out
  before=$(cpu_ticks "$3")
  start=$(date +%s.%N)
  out=$(openssl s_time -connect "127.0.0.1:$1" -new -time "$2" 2>&1) || { echo "$out" >&2; die "s_time failed"; }
  end=$(date +%s.%N)
  after=$(cpu_ticks "$3")
  local n
  n=$(sed -n 's/^\([0-9]*\) connections in [0-9.]*s;.*/\1/p' <<< "$out" | head -1)
  [ -n "$n" ] || { echo "$out" >&2; die "cannot read s_time's output"; }
  echo "$n $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }') $((after - before))"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

note "$(openssl version); java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
printf '%-4s %-9s %-10s %5s %14s %14s %9s %16s %16s  %s\n' cert provider chose round postern_hs/s \
  s_server_hs/s ratio postern_cpu_ms/hs s_server_cpu_ms/hs verdict
for cert in $CERTS; do
  case $cert in
    ec) keyopt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
    rsa) keyopt=(-newkey rsa:2048) ;;
    *) die "CERTS: expected ec or rsa, got $cert" ;;
  esac
  openssl req -x509 "${keyopt[@]}" -nodes -days 30 -subj /CN=postern.bench \
    -addext subjectAltName=DNS:postern.bench -keyout "$dir/$cert.key" -out "$dir/$cert.crt" 2>/dev/null \
    || die "openssl req failed"

  sport=$(free_port)
  openssl s_server -accept "127.0.0.1:$sport" -cert "$dir/$cert.crt" -key "$dir/$cert.key" -quiet \
    < /dev/null > "$dir/s_server-$cert.log" 2>&1 &
  s_pid=$!
  pids+=("$s_pid")
  await_port "$sport" "openssl s_server" "$s_pid" 90

  for provider in $PROVIDERS; do
    run=$dir/$cert-$provider
    mkdir -p "$run"
    pport=$(free_port)
    cat > "$run/postern.toml" <<EOF
hostname = "postern.bench"
data_dir = "$run/data"
local_domains = ["postern.bench"]
relay_networks = ["127.0.0.0/8"]

[[listeners]]
address = "127.0.0.1:$pport"
role = "submissions"

[tls]
certificate = "$dir/$cert.crt"
key = "$dir/$cert.key"
provider = "$provider"

[limits]
max_connections_per_ip = 500   # s_time reconnects at once; the previous session may not have ended yet

[dns]
servers = []   # so loopback clients get no reverse DNS lookup
EOF
    "$repo/postern" serve --config "$run/postern.toml" > "$run/postern.out" 2> "$run/postern.log" &
    p_pid=$!
    pids+=("$p_pid")
    await_port "$pport" "postern (see $run/postern.log; KEEP=1 keeps it)" "$p_pid" 90
    chose=$(sed -n 's/.*\[tls\] provider = "auto": \([a-z]*\).*/\1/p' "$run/postern.log" | head -1)
    chose=${chose:-$provider}
    [ "$WARMUP" -gt 0 ] && { s_time "$pport" "$WARMUP" "$p_pid" > /dev/null; s_time "$sport" "$WARMUP" "$s_pid" > /dev/null; }
    : > "$run/rounds"
    for ((r = 1; r <= ROUNDS; r++)); do
      read -r pn ps pt < <(s_time "$pport" "$SECONDS_PER_RUN" "$p_pid")
      read -r sn ss st < <(s_time "$sport" "$SECONDS_PER_RUN" "$s_pid")
      line=$(awk -v pn="$pn" -v ps="$ps" -v pt="$pt" -v sn="$sn" -v ss="$ss" -v st="$st" -v hz="$ticks_per_s" 'BEGIN {
        pr = pn / ps; sr = sn / ss
        printf "%.1f %.1f %.3f %.3f %.3f", pr, sr, pr / sr, pt * 1000 / hz / pn, st * 1000 / hz / sn }')
      echo "$line" >> "$run/rounds"
      read -r prate srate ratio pcpu scpu <<< "$line"
      printf '%-4s %-9s %-10s %5s %14s %14s %9s %16s %16s\n' "$cert" "$provider" "$chose" "$r" "$prate" "$srate" \
        "$ratio" "$pcpu" "$scpu"
    done
    med() { awk -v c="$1" '{ print $c }' "$run/rounds" | median; }
    ratio=$(med 3)
    verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.8) ? "pass" : "FAIL" }')
    printf '%-4s %-9s %-10s %5s %14s %14s %9s %16s %16s  %s\n' "$cert" "$provider" "$chose" median "$(med 1)" \
      "$(med 2)" "$ratio" "$(med 4)" "$(med 5)" "$verdict"
    echo "     JVM: $(tr '\0' ' ' < "/proc/$p_pid/cmdline" | sed 's/^[^ ]* //; s/ -jar .*//')"
    stop "$p_pid"
  done
  stop "$s_pid"
done
