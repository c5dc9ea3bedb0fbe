#!/usr/bin/env python3
"""The verdict of bench/crash.sh: what the source read a 250 for against what the sink recorded.

crash-check.py WORKDIR SINK_WINDOW_MS. Reads WORKDIR/source.log ("sent ID", "acked ID QUEUEID MS", "refused ID
CODE"), WORKDIR/sink.log ("ID QUEUEID SINKGEN MS whole|cut", one per copy received), WORKDIR/events.log and the
spool listings WORKDIR/spool-at-kill-G.txt (the queue ids of the envelopes the gateway G left when it was killed).
Prints one summary line and exits 1 on any of: an acknowledged message the sink never got (lost), a copy cut short,
a copy of an id the source never sent, a copy whose queue id is not the one of the source's 250, a duplicate no kill
explains, a message left in the spool, or a file in the spool's corrupt/.

A later copy of a message is explained by
- a gateway kill G when the envelope was still in the spool the killed gateway left (its queue id is listed in
  spool-at-kill-G.txt), the previous copy reached the sink before the next gateway was started, and this copy after:
  the sink had answered 250 but the gateway had not yet made the removal of the envelope durable, so recovery
  delivered the message again (docs/architecture.md, "The spool");
- a sink kill when the previous copy was recorded by that sink process within SINK_WINDOW ms before it was killed:
  the sink records a message before it answers 250, so the gateway may never have read that 250 and deferred it.
"""
import os
import sys
from collections import defaultdict


def main():
    work, sink_window = sys.argv[1], int(sys.argv[2])
    sent, acked, refused = set(), {}, 0
    for line in open(os.path.join(work, "source.log")):
        f = line.split()
        if not f:
            continue
        if f[0] == "sent":
            sent.add(f[1])
        elif f[0] == "acked":
            acked[f[1]] = f[2]
        elif f[0] == "refused":
            refused += 1
    copies = defaultdict(list)  # id -> [(ms, queue id, sink generation, whole)]
    sink_log = os.path.join(work, "sink.log")
    for line in open(sink_log) if os.path.exists(sink_log) else []:
        f = line.split()
        if len(f) == 5:
            copies[f[0]].append((int(f[3]), f[1], int(f[2]), f[4] == "whole"))
    gw_start, gw_kill, sink_kill, sink_mid_data, phase_of_kill = {}, {}, {}, 0, {}
    phase_sessions = None
    for line in open(os.path.join(work, "events.log")):
        f = line.split()
        if f[0] == "phase":
            phase_sessions = f[3]
        elif f[0] == "gwstart":
            gw_start[int(f[1])] = int(f[2])
        elif f[0] == "gwkill":
            gw_kill[int(f[1])] = int(f[2])
            phase_of_kill[int(f[1])] = phase_sessions
        elif f[0] == "sinkkill":
            sink_kill[int(f[1])] = int(f[2])
            sink_mid_data += f[3] == "mid-data"
    spool_at_kill = {}
    for g in gw_kill:
        with open(os.path.join(work, "spool-at-kill-%d.txt" % g)) as fh:
            spool_at_kill[g] = set(fh.read().split())

    problems = []

    def problem(text):
        if len(problems) < 20:
            print("crash: " + text, file=sys.stderr)
        problems.append(text)

    lost = [i for i in acked if i not in copies]
    for i in sorted(lost):
        problem("lost: %s (queued as %s) never reached the sink" % (i, acked[i]))
    for i, cs in copies.items():
        if i not in sent:
            problem("the sink got %s, which the source never sent" % i)
        for ms, qid, gen, whole in cs:
            if not whole:
                problem("cut: a copy of %s (queue id %s) did not end with its last line" % (i, qid))
            if i in acked and qid != acked[i]:
                problem("a copy of %s has queue id %s, the 250 said %s" % (i, qid, acked[i]))

    # Messages in flight at each kill: the sink had them, the spool still held them.
    in_flight_gw = set()  # (kill, queue id)
    for g, queued in spool_at_kill.items():
        restart = gw_start.get(g + 1)
        for i, cs in copies.items():
            qid = cs[0][1]
            if qid in queued and any(ms < restart for ms, _, _, _ in cs):
                in_flight_gw.add((g, qid))
    in_flight_sink = sum(1 for cs in copies.values() for ms, _, gen, _ in cs
                         if gen in sink_kill and 0 <= sink_kill[gen] - ms <= sink_window)

    duplicates, extra_copies, by_gw, by_sink, gaps = 0, 0, 0, 0, []
    for i, cs in copies.items():
        if len(cs) < 2:
            continue
        duplicates += 1
        cs.sort()
        for prev, this in zip(cs, cs[1:]):
            extra_copies += 1
            qid = this[1]
            gw = [g for g in spool_at_kill if qid in spool_at_kill[g] and prev[0] < gw_start.get(g + 1, 0) <= this[0]]
            if gw:
                by_gw += 1
                gaps.append(gw_kill[gw[0]] - prev[0])
                continue
            if prev[2] in sink_kill and 0 <= sink_kill[prev[2]] - prev[0] <= sink_window and this[2] > prev[2]:
                by_sink += 1
                continue
            problem("unexplained duplicate: %s (queue id %s) reached the sink at %d and again at %d (sink %d, %d)"
                    % (i, qid, prev[0], this[0], prev[2], this[2]))
    # The check itself: every message in flight at a gateway kill must have come again after the restart.
    for g, qid in sorted(in_flight_gw):
        restart = gw_start[g + 1]
        if not any(ms >= restart for cs in copies.values() if cs[0][1] == qid for ms, _, _, _ in cs):
            problem("queue id %s was in the spool and at the sink at kill %d but was not delivered again" % (qid, g))

    queue = os.path.join(work, "data", "queue")
    for d in ("messages", "active", "deferred", "incoming", "corrupt"):
        p = os.path.join(queue, d)
        n = len(os.listdir(p)) if os.path.isdir(p) else 0
        if n:
            problem("%d files left in the spool's %s/" % (n, d))

    kills_by_phase = defaultdict(int)
    for g in gw_kill:
        kills_by_phase[phase_of_kill[g]] += 1
    unacked_delivered = sum(1 for i in copies if i in sent and i not in acked)
    in_flight_gw_messages = len({qid for _, qid in in_flight_gw})
    print("crash: sent %d, acknowledged %d, delivered %d distinct (%d of them unacknowledged: the 250 died with the"
          " gateway), lost %d, duplicates %d (in flight at a kill: <= %d: %d at gateway kills, %d at sink kills;"
          " explained %d by a gateway kill, %d by a sink kill), unexplained %d; refused %d; gateway kills %d (%s),"
          " sink kills %d (%d mid-DATA); largest gap from a duplicated delivery to the kill %s ms"
          % (len(sent), len(acked), len(copies), unacked_delivered, len(lost), duplicates,
             in_flight_gw_messages + in_flight_sink, in_flight_gw_messages, in_flight_sink, by_gw, by_sink,
             extra_copies - by_gw - by_sink, refused, len(gw_kill),
             ", ".join("%s sessions: %d" % (s, n) for s, n in kills_by_phase.items()),
             len(sink_kill), sink_mid_data, max(gaps) if gaps else "-"))
    if problems:
        print("crash: FAILED, %d problem(s)" % len(problems))
        sys.exit(1)
    print("crash: OK")


if __name__ == "__main__":
    main()
