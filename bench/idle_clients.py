#!/usr/bin/env python3
"""Idle STARTTLS sessions for bench/connections.sh.

Opens N connections to an SMTP server on loopback, each: greeting, EHLO, STARTTLS, TLS handshake, EHLO again; then
keeps every session open and silent. Prints "ready ESTABLISHED FAILED SECONDS" on stdout once all attempts are done,
then holds the sessions until stdin closes (or the process is killed), and sends QUIT on the way out.

Clients are spread over source addresses 127.0.0.1, .2, ... (PER_SOURCE sessions each), so N may exceed the
ephemeral port range. No certificate check: the server's certificate is self-signed, and only its cost is measured.
"""
import argparse
import asyncio
import ssl
import sys
import time


async def reply(reader):
    """One SMTP reply (all its lines); returns its code."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3])


async def session(host, port, source, context, sessions, gate, timeout):
    async with gate:  # bounded handshakes in flight; the idle sessions themselves are not bounded
        async with asyncio.timeout(timeout):  # a server that stops accepting must not hang the bench
            await dialogue(host, port, source, context, sessions)


async def dialogue(host, port, source, context, sessions):
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0), limit=4096)
    try:
        if await reply(reader) != 220:
            raise ConnectionError("no 220 greeting")
        writer.write(b"EHLO idle.bench\r\n")
        if await reply(reader) != 250:
            raise ConnectionError("EHLO refused")
        writer.write(b"STARTTLS\r\n")
        if await reply(reader) != 220:
            raise ConnectionError("STARTTLS refused")
        await writer.start_tls(context, server_hostname="postern.bench")
        writer.write(b"EHLO idle.bench\r\n")
        if await reply(reader) != 250:
            raise ConnectionError("EHLO after STARTTLS refused")
    except BaseException:
        writer.close()
        raise
    sessions.append((reader, writer))


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("-n", type=int, default=10000)
    p.add_argument("--parallel", type=int, default=64, help="connections being set up at once")
    p.add_argument("--per-source", type=int, default=20000, help="sessions per source address 127.0.0.x")
    p.add_argument("--timeout", type=float, default=120, help="seconds one session may take to get idle")
    a = p.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    sessions, gate, started = [], asyncio.Semaphore(a.parallel), time.monotonic()
    tasks = [session(a.host, a.port, "127.0.0.%d" % (1 + i // a.per_source), context, sessions, gate, a.timeout)
             for i in range(a.n)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = {}
    for r in results:
        if isinstance(r, BaseException):
            errors[repr(r)[:120]] = errors.get(repr(r)[:120], 0) + 1
    for what, count in sorted(errors.items(), key=lambda e: -e[1])[:5]:
        print("idle_clients: %d x %s" % (count, what), file=sys.stderr)
    print("ready %d %d %.1f" % (len(sessions), a.n - len(sessions), time.monotonic() - started), flush=True)

    # Hold until stdin closes: the bench script keeps the pipe open while it samples the server.
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for _, writer in sessions:
        try:
            writer.write(b"QUIT\r\n")
            writer.close()
        except Exception:
            pass


if __name__ == "__main__":
    asyncio.run(main())
