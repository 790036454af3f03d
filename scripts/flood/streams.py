"""Stage 3 of the flood (see flood.py): the per-user cap on open event streams.

listo (its own instance, LISTO_MAX_CONNECTIONS = FLOOD_STREAMS_SLOTS, sessions of 600 s) caps
the event streams each user holds open (LISTO_STREAMS_PER_USER, 8 by default): a new stream
past the cap ends that user's oldest with a final `event: stream_replaced`, then ends its body.
Before the cap, one token could hold every connection slot and other users timed out.

Two users sign in. A opens streams `cap` at a time (each batch waits until its streams are open
and every stream older than the newest `cap` has ended) until it has opened FLOOD_STREAMS_A
rounded up to whole batches (default: one more than the slots, so 304: A would take every slot
if nothing ended its streams, as before the cap; 3x the cap at least). A's client closes a
stream once listo ends it, as a client told not to reconnect does. Meanwhile B lists its tasks
every FLOOD_STREAMS_PROBE_EVERY s. Then B lists again, opens its own stream, creates a task and
waits for that change on its stream.

Asserted: every stream A asked for opened (200); exactly `opened - cap` were replaced, each
ending with `event: stream_replaced` whose data is JSON with code "stream_replaced", and its
body ended within FLOOD_STREAMS_LIMIT s of that event; no stream ended otherwise; the ones left
open are A's newest `cap`; after each batch listo holds at most `cap` of A's connections (its fd
table); each of B's requests, and B's change reaching B's stream, within FLOOD_STREAMS_LIMIT
(2) s, throughout.
"""

from __future__ import annotations

import json
import selectors
import threading
import time

from client import ApiError, EventStream, call, pump, sign_in
from common import Listo, Report, env_num, log, ms, raise_nofile

PASSWORD = "correct horse battery"
BATCH_LIMIT = 5.0  # seconds a batch of A's streams may take to open and to end the replaced ones
HELD_SETTLE = 1.0  # seconds listo may take to drop the connections A's client closed


class Prober:
    """B's `GET /v1/tasks`, every `every` s in a thread until stopped: each answer's time."""

    def __init__(self, port: int, token: str, every: float, limit: float):
        self.port, self.token, self.every, self.limit = port, token, every, limit
        self.times: list[float] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        for _ in range(10_000):  # bound; the stage stops it
            if self.stop.is_set():
                return
            t0 = time.monotonic()
            try:
                status, body, taken = call(self.port, "GET", "/v1/tasks", token=self.token, timeout=self.limit)
                self.times.append(taken)
                if status != 200:
                    self.failures.append(f"{status} {body}")
            except OSError as e:  # socket.timeout included
                self.times.append(time.monotonic() - t0)
                self.failures.append(e.__class__.__name__)
            self.stop.wait(self.every)


def held_by_listo(listo: Listo, streams: list[EventStream]) -> int:
    ports = {s.port for s in streams if s.port}
    return sum(1 for p in listo.client_ports() if p in ports)


def run(listo: Listo, outbox: str) -> list[Report]:
    slots = int(env_num("FLOOD_STREAMS_SLOTS", 300))
    per_user = int(env_num("LISTO_STREAMS_PER_USER", 8))
    cap = int(env_num("FLOOD_STREAMS_CAP", per_user if per_user > 0 else 8))
    # A opens a whole number of batches of `cap`, at least 3, past the slots by default.
    total = int(env_num("FLOOD_STREAMS_A", slots + 1))
    total = max(3, -(-total // cap)) * cap
    limit = env_num("FLOOD_STREAMS_LIMIT", 2)
    every = env_num("FLOOD_STREAMS_PROBE_EVERY", 0.1)
    r = Report("stage 3")
    raise_nofile(total + 256)

    try:
        token_a = sign_in(listo.port, outbox, "a@example.com", PASSWORD)
        token_b = sign_in(listo.port, outbox, "b@example.com", PASSWORD)
    except (ApiError, OSError) as e:
        r.check("users A and B signed in", f"no: {e}", "yes", False)
        r.show("per-user stream cap")
        return [r]
    log(f"stage 3: A and B signed in; A opens {total} event streams, {cap} at a time "
        f"(cap {cap}, listo's connection slots {slots}); B lists its tasks every {every:g} s meanwhile")

    prober = Prober(listo.port, token_b, every, limit)
    prober.thread.start()
    sel = selectors.DefaultSelector()
    streams: list[EventStream] = []
    held_after: list[int] = []  # A's connections listo holds once each batch settled
    stuck = ""  # why A stopped opening streams early
    ends_missing = ""  # the first batch after which older streams were still open
    t0 = time.monotonic()
    while len(streams) < total:
        batch = [EventStream(len(streams) + i, listo.port, token_a) for i in range(cap)]
        streams.extend(batch)
        for s in batch:
            s.start(sel, listo.port)
        answered = pump(sel, lambda: all(s.state not in ("connecting", "head") for s in batch), BATCH_LIMIT)
        # Every stream older than the newest `cap` must end; once some did not (no cap), later
        # batches do not wait for them, so that A goes on until it holds every slot.
        older = streams[:-cap]
        if not ends_missing and not pump(sel, lambda: not any(s.live for s in older), limit):
            ends_missing = (f"after batch {len(streams) // cap}, {sum(s.live for s in older)} older streams "
                            f"still open {limit:g} s later")
        deadline = time.monotonic() + HELD_SETTLE
        held = held_by_listo(listo, streams)
        while held > cap and time.monotonic() < deadline:
            pump(sel, lambda: False, 0.05)
            held = held_by_listo(listo, streams)
        held_after.append(held)
        if not answered:
            waiting = sum(1 for s in batch if s.state in ("connecting", "head"))
            stuck = f"batch {len(held_after)}: {waiting} of its streams unanswered after {BATCH_LIMIT:g} s"
            break
        if len(streams) == 3 * cap:
            log(f"stage 3: 3x the cap opened after {time.monotonic() - t0:.1f} s; listo holds {held} of A's connections")
    t_flood = time.monotonic() - t0
    prober.stop.set()
    prober.thread.join(timeout=limit + 5)

    # B after A's flood: list, open a stream, create a task, see it on the stream.
    b_steps: dict[str, float | None] = {"list": None, "stream opened": None, "create": None, "change on stream": None}
    b_why = []
    try:
        status, body, taken = call(listo.port, "GET", "/v1/tasks", token=token_b, timeout=limit)
        b_steps["list"] = taken if status == 200 else None
        if status != 200:
            b_why.append(f"list {status} {body}")
        b_stream = EventStream(-1, listo.port, token_b)
        b_stream.start(sel, listo.port)
        pump(sel, lambda: b_stream.state not in ("connecting", "head"), limit)
        if b_stream.state == "open" and b_stream.status == 200:
            b_steps["stream opened"] = b_stream.t_head - b_stream.opened
            status, body, taken = call(listo.port, "POST", "/v1/tasks", token=token_b, timeout=limit,
                                       body={"date": "2026-12-03", "task": "Flood stage 3", "status": "Incomplete"})
            if status == 201 and isinstance(body, dict):
                b_steps["create"] = taken
                answered = time.monotonic()

                def seen() -> bool:
                    for _, kind, data in b_stream.events:
                        if kind == "upsert" and json.loads(data).get("id") == body["id"]:
                            return True
                    return False

                if pump(sel, seen, limit):
                    b_steps["change on stream"] = next(t for t, k, _ in b_stream.events if k == "upsert") - answered
                else:
                    b_why.append(f"no upsert of task {body['id']} on B's stream within {limit:g} s "
                                 f"(events: {[k for _, k, _ in b_stream.events]}, state {b_stream.state})")
            else:
                b_why.append(f"create {status} {body}")
        else:
            b_why.append(f"B's stream: state {b_stream.state} ({b_stream.how}), status {b_stream.status}")
        b_stream.close(sel)
    except OSError as e:
        b_why.append(f"{e.__class__.__name__} {e}")
    a_saw_b = sum(1 for s in streams for _, kind, _ in s.events if kind in ("upsert", "delete"))
    left_open = [s for s in streams if s.live]
    for s in streams:
        s.close(sel)
    sel.close()

    # Report --------------------------------------------------------------------------------
    opened = [s for s in streams if s.status == 200]
    refused = [s for s in streams if s.t_head is not None and s.status != 200]
    unanswered = [s for s in streams if s.t_head is None]
    ended = [s for s in streams if s.state == "ended"]
    replaced = [s for s in ended if s.last_event() == "stream_replaced"]
    ended_otherwise = [s for s in ended if s.last_event() != "stream_replaced"]
    bad_data, slow_end = [], []
    for s in replaced:
        data = s.events[-1][2]
        try:
            if json.loads(data).get("code") != "stream_replaced":
                bad_data.append(s)
        except ValueError:
            bad_data.append(s)
        if s.t_end - s.t_event["stream_replaced"] > limit:
            slow_end.append(s)
    newest = {s.number for s in streams[-cap:]}
    open_numbers = {s.number for s in left_open}
    expected_replaced = max(0, len(opened) - cap)

    r.info("A's streams asked for / answered 200 / refused / unanswered",
           f"{len(streams)} / {len(opened)} / {len(refused)} / {len(unanswered)} in {t_flood:.1f} s")
    r.check("A's streams opened (200)", f"{len(opened)} of {total}", f"{total}", len(opened) == total and not stuck,
            stuck or (f"first refusal: {refused[0].status}" if refused else ""))
    if ends_missing:
        r.info("older streams not ended", ends_missing)
    r.check("A's streams ended with event: stream_replaced", str(len(replaced)), f"{expected_replaced} (opened - cap)",
            len(replaced) == expected_replaced and expected_replaced > 0)
    r.check("... whose data is JSON with code stream_replaced", f"{len(replaced) - len(bad_data)} of {len(replaced)}",
            "all", not bad_data, repr(bad_data[0].events[-1][2])[:80] if bad_data else "")
    ends = sorted(s.t_end - s.t_event["stream_replaced"] for s in replaced)
    r.check("... body ended after it: median / max", f"{ms(ends[len(ends) // 2] if ends else None)}"
            f" / {ms(max(ends, default=None))}", f"<= {limit:g} s", bool(ends) and not slow_end,
            f"{len(slow_end)} later" if slow_end else "")
    r.check("A's streams ended some other way", str(len(ended_otherwise)), "0", not ended_otherwise,
            ", ".join(sorted({f'{s.how} after {s.last_event() or "no event"}' for s in ended_otherwise})))
    r.check("A's streams still open at the end", f"{len(left_open)}, the newest {cap}: "
            f"{'yes' if open_numbers == newest else 'no'}", f"the newest {cap}", open_numbers == newest)
    r.check("A's connections listo holds after each batch: max", f"{max(held_after, default=0)} "
            f"(batches: {len(held_after)})", f"<= {cap}", bool(held_after) and max(held_after) <= cap)
    r.info("changes A's streams received (B's are B's own)", str(a_saw_b), "0")
    probe = sorted(prober.times)
    r.check("B's GET /v1/tasks during A's streams: n / median / max",
            f"{len(probe)} / {ms(probe[len(probe) // 2] if probe else None)} / {ms(max(probe, default=None))}",
            f"each 200 within {limit:g} s", bool(probe) and not prober.failures and max(probe) <= limit,
            f"{len(prober.failures)} failed: {', '.join(sorted(set(prober.failures)))[:120]}" if prober.failures else "")
    for step, taken in b_steps.items():
        r.check(f"B after A's streams: {step}", ms(taken), f"<= {limit:g} s", taken is not None and taken <= limit,
                "; ".join(b_why))
    r.check("listo still running", "yes" if listo.alive() else "no", "yes", listo.alive())
    r.show("per-user stream cap")
    return [r]
