#!/usr/bin/env python3
"""Where Postern's CPU goes, from async-profiler's collapsed stacks: shares of the samples by area."""
import collections, sys

AREAS = [  # first match wins, checked on the whole stack
    ("JIT compiler (C2)", ("C2Compiler",)),
    ("JIT compiler (C1)", ("C1Compiler", "Compilation::")),
    ("garbage collector", ("GCTaskThread", "SerialHeap", "VM_GenCollect")),
    ("logging", ("ch/qos/logback",)),
    ("audit records (SQLite)", ("dev/postern/audit", "org/sqlite")),
    ("inbound TLS handshake", ("Session.startTls",)),
    ("spool: commit (fsync, rename)", ("Session.commit", "GroupCommitter")),
    ("spool: removal after delivery", ("Spool.delete", "Spool.remove")),
    ("delivery (SMTP client, outbound TLS)", ("Scheduler", "SmtpClient")),
    ("inbound session (SMTP, DATA to spool)", ("inbound/Session",)),
]

total = 0
areas = collections.Counter()
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" ")
    n = int(n)
    total += n
    name = next((a for a, keys in AREAS if any(k in stack for k in keys)), "other")
    areas[name] += n
print(f"{total} samples (1 ms of CPU each)")
for name, n in areas.most_common():
    print(f"{100 * n / total:5.1f}%  {name}")
