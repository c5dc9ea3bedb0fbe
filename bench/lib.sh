# Shared by the bench scripts (sourced, not run): messages, loopback ports, waiting for a server to listen.
# The sourcing script sets BENCH_NAME first (the prefix of its messages).

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
note() { echo "$BENCH_NAME: $*" >&2; }

# A free TCP port on 127.0.0.1 (the kernel's choice).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# await_port PORT WHAT PID [SECONDS]: until 127.0.0.1:PORT accepts; dies if PID exits first or time runs out.
await_port() {
  local i tenths=$(( ${4:-30} * 10 ))
  for ((i = 0; i < tenths; i++)); do
    port_open "$1" && return 0
    kill -0 "$3" 2>/dev/null || die "$2 exited while starting"
    sleep 0.1
  done
  die "$2 did not listen on 127.0.0.1:$1 within ${4:-30} s"
}
