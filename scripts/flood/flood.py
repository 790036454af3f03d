#!/usr/bin/env python3
"""Flood tests for a running listo (Python 3.9+, standard library only).

Started by scripts/flood/run.sh, once per group of stages, each against a listo of its own
(`--stages conns|streams|heads`, with its pid and port). Everything goes to 127.0.0.1 only.
Each stage lives in a module beside this file:

conns.py, under `ulimit -n 1024`:
1. Half-sent requests. FLOOD_HALF (1,100) connections each send
   `GET /healthz HTTP/1.1\\r\\nHost: x\\r\\n` and nothing more, and stay open. They are opened in
   batches as listo's accept backlog has room (a burst past it has SYNs dropped and retried
   seconds later). As soon as the flood is in place (all connected, or the backlog full, and
   listo holding all it will take), a well-behaved client asks for GET /healthz (full request)
   and retries until it gets `HTTP/1.1 200`. While the flood hangs, listo's CPU use is sampled
   from /proc/<pid>/stat every second. Asserted:
     - every connection listo accepted is closed by listo (EOF or reset) within
       FLOOD_HEADER_LIMIT (15) s of being accepted; connections still in the accept backlog are
       accepted as slots free and closed the same way; all are closed by FLOOD_ALL_CLOSED (35) s;
     - listo's average CPU over the hanging period is under FLOOD_CPU_LIMIT (50) % of one core;
     - the well-behaved client gets `HTTP/1.1 200` within FLOOD_SERVE_LIMIT (20) s of the flood.
2. Idle connections (FLOOD_IDLE=500, 0 skips the stage). They send nothing; each must be closed
   by listo within FLOOD_IDLE_LIMIT (75) s of being accepted (all by FLOOD_IDLE_DEADLINE, 80 s).

streams.py, with LISTO_MAX_CONNECTIONS=FLOOD_STREAMS_SLOTS (300) and LISTO_SESSION_TTL=600:
3. The per-user stream cap (LISTO_STREAMS_PER_USER, 8 by default). Users A and B sign in
   (register, login, the code from the newest .eml in the outbox, verify). A opens event streams
   (`GET /v1/tasks/events`) `cap` at a time until it has opened FLOOD_STREAMS_A (default: enough
   batches to pass the slots, 304; at least 3x the cap), closing each one listo ends; B lists its
   tasks every FLOOD_STREAMS_PROBE_EVERY (0.1) s meanwhile, then lists, opens its own stream,
   creates a task and waits for it there. Asserted: exactly `opened - cap` of A's streams end,
   each with `event: stream_replaced` (data JSON code "stream_replaced") and its body ended
   within FLOOD_STREAMS_LIMIT (2) s; A's newest `cap` stay open; listo holds at most `cap` of A's
   connections after each batch; every request of B, and B's change on B's stream, within
   FLOOD_STREAMS_LIMIT s. FLOOD_STREAMS_CAP is the cap asserted (default LISTO_STREAMS_PER_USER
   when set and not 0, else 8): `LISTO_STREAMS_PER_USER=0` turns listo's cap off, and the stage
   must fail.

heads.py, on a fresh listo (header timeout 10 s; each part ends within 5 s):
4. Request heads capped at 32 KiB. a) FLOOD_HEADS (200) connections each send FLOOD_HEAD_BYTES
   (30,000) bytes of head with no blank line and hang: memory per half-sent head, from VmRSS
   before and while they hang once listo has read every byte, at most FLOOD_HEAD_KB (64) KiB
   (the most a half-sent head holds under the cap; this alone does not tell the cap is there),
   all still held when measured. b) A FLOOD_HEAD_BIG (40,960) byte head
   is answered `HTTP/1.1 431`. c) FLOOD_HEADS_OVER (200) connections offering
   FLOOD_HEAD_OVER_BYTES (393,216) bytes each are all answered 431 and closed within
   FLOOD_HEAD_ANSWER (3) s, listo's RSS growing at most FLOOD_HEAD_KB per connection at its peak
   (387 KB each before the cap).

When listo accepted a connection is read from listo's side: its fd table (/proc/<pid>/fd) joined
with /proc/net/tcp gives the client ports of the sockets listo holds (and the bytes each has not
read yet). Every loop is bounded in count and time. Exit status 0 only if every assertion holds.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Listo, log  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--stages", choices=("conns", "streams", "heads"), required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--outbox", help="listo's LISTO_OUTBOX (the streams stage reads sign-in codes there)")
    args = ap.parse_args()

    listo = Listo(args.pid, args.port)
    if not listo.alive():
        log("FAIL: listo is not running")
        return 2
    if args.stages == "conns":
        import conns
        reports = conns.run(listo)
    elif args.stages == "streams":
        if not args.outbox:
            ap.error("--stages streams needs --outbox")
        import streams
        reports = streams.run(listo, args.outbox)
    else:
        import heads
        reports = heads.run(listo)

    failures = [f for r in reports for f in r.failures]
    passed = sum(len(r.passed) for r in reports)
    print(flush=True)
    for f in failures:
        log(f"FAIL: {f}")
    # The plain closing line CI reads: assertions that held and that failed.
    print(f"flood: {args.stages}: {passed} passed, {len(failures)} failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
