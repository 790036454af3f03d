"""Stage 4 of the flood (see flood.py): request heads are capped at 32 KiB.

listo answers 431 to a request head (request line and headers) over 32 KiB (hyper's
`max_buf_size`), so a half-sent head holds little memory: before the cap, hyper let each one grow
its read buffer to ~400 KB (387 KB per connection measured, held for the 10 s header timeout).
Run on a fresh listo (its own instance), in three parts, each well inside the header timeout:

a. FLOOD_HEADS (200) connections each send a request line and headers up to FLOOD_HEAD_BYTES
   (30,000) bytes in all, without the blank line, and hang. Once listo has read every byte (no
   connection has unread bytes in its receive queue, /proc/net/tcp), listo's VmRSS is read
   (/proc/<pid>/status) and compared with its value before: memory per half-sent head
   = (RSS while they hang - RSS before) / FLOOD_HEADS. Asserted: listo still holds every one of
   them when RSS is read, and each holds at most FLOOD_HEAD_KB (64) KiB. This is the most a
   half-sent head can hold under the cap; it does not tell whether the cap is there (a listo
   built without it measured 45.9 KiB here, against 38.1 KiB with it): b and c do.
b. One connection sends FLOOD_HEAD_BIG (40,960) bytes of head: listo answers `HTTP/1.1 431`.
c. FLOOD_HEADS_OVER (200) connections each offer FLOOD_HEAD_OVER_BYTES (393,216) bytes of head
   (as much as listo reads). Asserted: each is answered 431 and closed within
   FLOOD_HEAD_ANSWER (3) s, long before the header timeout, and listo's RSS grows by at most
   FLOOD_HEAD_KB per connection at its peak. Without the cap, these are the ~387 KB each (a
   listo built without it: no 431, all 200 held, 393 KiB each).
listo's header timeout stays at its default (10 s): each part is over within 5 s of its first
byte, and part a checks that listo still holds every connection when it reads the RSS.
"""

from __future__ import annotations

import errno
import selectors
import socket
import time

from common import Listo, Report, env_num, fmt, log, raise_nofile

SEND_LIMIT = 5.0  # seconds to get every head in place (listo's header timeout is 10 s)
RSS_EVERY = 0.05  # seconds between RSS samples


def head_bytes(size: int, tag: str) -> bytes:
    """A request line and headers of `size` bytes in all, without the blank line."""
    out = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: {tag}\r\n".encode()
    n = 0
    while len(out) < size:
        line = f"X-Pad-{n}: ".encode()
        room = size - len(out) - len(line) - 2
        if room < 1:
            out += b"X" * (size - len(out))  # a few bytes of a header line left unfinished
            break
        out += line + b"a" * min(room, 1000) + b"\r\n"
        n += 1
    return out[:size]


class HeadConn:
    __slots__ = ("sock", "port", "payload", "sent", "state", "answer", "t_closed", "how")

    def __init__(self, payload: bytes):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.port = 0
        self.payload = payload
        self.sent = 0
        self.state = "connecting"  # connecting -> sending -> hanging -> closed | failed
        self.answer = b""  # what listo sent (its first 64 bytes)
        self.t_closed: float | None = None
        self.how = ""

    def start(self, sel: selectors.BaseSelector, port: int) -> None:
        rc = self.sock.connect_ex(("127.0.0.1", port))
        if rc not in (0, errno.EINPROGRESS):
            self.state, self.how = "failed", errno.errorcode.get(rc, str(rc))
            self.sock.close()
            return
        self.port = self.sock.getsockname()[1]
        sel.register(self.sock, selectors.EVENT_WRITE, self)

    def on_ready(self, sel: selectors.BaseSelector, mask: int) -> None:
        if self.state == "connecting":
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.finish(sel, "failed", errno.errorcode.get(err, str(err)))
                return
            self.state = "sending"
            sel.modify(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, self)
        if mask & selectors.EVENT_READ:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                data = None
            except OSError:
                self.finish(sel, "closed", "reset")
                return
            if data == b"":
                self.finish(sel, "closed", "eof")
                return
            if data and len(self.answer) < 64:
                self.answer += data[: 64 - len(self.answer)]
        if self.state == "sending" and mask & selectors.EVENT_WRITE:
            try:
                self.sent += self.sock.send(self.payload[self.sent:self.sent + 65536])
            except BlockingIOError:
                return
            except OSError:  # listo closed while we were still sending (EPIPE, ECONNRESET)
                self.drain()
                self.finish(sel, "closed", "reset while sending")
                return
            if self.sent >= len(self.payload):
                self.state = "hanging"
                sel.modify(self.sock, selectors.EVENT_READ, self)

    def drain(self) -> None:
        """Whatever answer listo queued before it closed."""
        try:
            while len(self.answer) < 64:
                data = self.sock.recv(4096)
                if not data:
                    return
                self.answer += data[: 64 - len(self.answer)]
        except OSError:
            return

    def finish(self, sel: selectors.BaseSelector, state: str, how: str) -> None:
        self.state, self.how, self.t_closed = state, how, time.monotonic()
        try:
            sel.unregister(self.sock)
        except (KeyError, ValueError):
            pass
        self.sock.close()


def drive(sel: selectors.BaseSelector, conns: list[HeadConn], until, limit: float, listo: Listo,
          rss: list[int]) -> bool:
    """Drives the connections until `until()` or `limit` s; samples listo's RSS into `rss`."""
    deadline = time.monotonic() + limit
    next_rss = 0.0
    for _ in range(1_000_000):  # bound; time is the real limit
        now = time.monotonic()
        if now >= next_rss:
            value = listo.rss_kb()
            if value is not None:
                rss.append(value)
            next_rss = now + RSS_EVERY
        if until() or now > deadline:
            break
        for key, mask in sel.select(timeout=0.01):
            key.data.on_ready(sel, mask)
    return until()


def settle_rss(listo: Listo) -> int:
    """listo's RSS once it has stopped moving (two reads 0.2 s apart within 16 KiB; at most 3 s)."""
    last = listo.rss_kb() or 0
    for _ in range(15):
        time.sleep(0.2)
        now = listo.rss_kb() or 0
        if abs(now - last) <= 16:
            return now
        last = now
    return last


def answered_431(c: HeadConn) -> bool:
    return c.answer.startswith(b"HTTP/1.1 431")


def run(listo: Listo) -> list[Report]:
    count = int(env_num("FLOOD_HEADS", 200))
    size = int(env_num("FLOOD_HEAD_BYTES", 30_000))
    per_head_limit = env_num("FLOOD_HEAD_KB", 64)
    big = int(env_num("FLOOD_HEAD_BIG", 40_960))
    over = int(env_num("FLOOD_HEADS_OVER", 200))
    over_size = int(env_num("FLOOD_HEAD_OVER_BYTES", 393_216))
    answer_limit = env_num("FLOOD_HEAD_ANSWER", 3)
    r = Report("stage 4")
    raise_nofile(max(count, over) + 256)
    sel = selectors.DefaultSelector()

    # Warm up: a few whole requests, so that what listo allocates once is not counted.
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", listo.port), timeout=2) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            while s.recv(4096):
                pass

    # a. Half-sent heads just under the cap, held -------------------------------------------
    log(f"stage 4a: {count} connections each send {size:,} bytes of head without the blank line, and hang")
    before = settle_rss(listo)
    conns = [HeadConn(head_bytes(size, f"held-{i}")) for i in range(count)]
    t0 = time.monotonic()
    for c in conns:
        c.start(sel, listo.port)
    ports = {c.port for c in conns if c.port}
    rss: list[int] = []
    held: dict[int, int] = {}

    def in_place() -> bool:
        nonlocal held
        if any(c.state in ("connecting", "sending") for c in conns):
            return False
        held = {p: q for p, q in listo.held_sockets().items() if p in ports}
        return len(held) == len(ports) and not any(held.values())

    placed = drive(sel, conns, in_place, SEND_LIMIT, listo, rss)
    t_placed = time.monotonic() - t0
    samples = []
    for _ in range(5):  # a few reads while they hang, 0.1 s apart
        samples.append(listo.rss_kb() or 0)
        time.sleep(0.1)
    during = max(samples)
    still_held = len([p for p in listo.client_ports() if p in ports])
    t_measured = time.monotonic() - t0
    closed_early = [c for c in conns if c.state in ("closed", "failed")]
    for c in conns:
        if c.state not in ("closed", "failed"):
            c.finish(sel, "closed", "closed by us")
    per_head = (during - before) / count if count else 0.0
    r.info("bytes of head each / listo's limit", f"{size:,} / {32 * 1024:,}")
    r.check("heads in place (sent, read by listo, held)", f"{len(held)} of {count} after {t_placed:.2f} s",
            f"{count} within {SEND_LIMIT:g} s", placed,
            f"{sum(c.state in ('connecting', 'sending') for c in conns)} still sending; "
            f"{sum(1 for q in held.values() if q)} with unread bytes; {len(closed_early)} closed "
            f"({', '.join(sorted({c.how for c in closed_early}))})")
    r.check("still held by listo when RSS was read", f"{still_held} at {t_measured:.2f} s", f"{count}",
            still_held == count, "a closed connection frees its buffer: the figure below would be too low")
    r.info("listo VmRSS before / while they hang", f"{before:,} KiB / {during:,} KiB (+{during - before:,} KiB)")
    r.check("memory per half-sent head", f"{per_head:.1f} KiB", f"<= {per_head_limit:g} KiB",
            placed and still_held == count and per_head <= per_head_limit)

    # b. One head past the cap ---------------------------------------------------------------
    log(f"stage 4b: one connection sends {big:,} bytes of head")
    one = HeadConn(head_bytes(big, "big"))
    t1 = time.monotonic()
    one.start(sel, listo.port)
    drive(sel, [one], lambda: one.state in ("closed", "failed") or answered_431(one), answer_limit, listo, [])
    t_one = time.monotonic() - t1
    if one.state not in ("closed", "failed"):
        one.finish(sel, "closed", "closed by us")
    first_line = one.answer.split(b"\r\n", 1)[0].decode(errors="replace")
    r.check(f"{big:,}-byte head answered", f"{first_line or '(nothing, ' + one.how + ')'} after {t_one:.2f} s",
            "HTTP/1.1 431", answered_431(one))

    # c. Heads far past the cap, offered by many at once -------------------------------------
    log(f"stage 4c: {over} connections each offer {over_size:,} bytes of head")
    before_c = settle_rss(listo)
    many = [HeadConn(head_bytes(over_size, f"over-{i}")) for i in range(over)]
    t2 = time.monotonic()
    for c in many:
        c.start(sel, listo.port)
    rss_c: list[int] = []
    drive(sel, many, lambda: all(c.state in ("closed", "failed") for c in many), answer_limit, listo, rss_c)
    for c in many:
        if c.state not in ("closed", "failed"):
            c.finish(sel, "open", "still open")
    sel.close()
    got_431 = [c for c in many if answered_431(c)]
    still = [c for c in many if c.state == "open"]
    times = sorted(c.t_closed - t2 for c in many if c.state == "closed")
    peak = max(rss_c, default=before_c)
    per_conn = (peak - before_c) / over if over else 0.0
    sent = sorted(c.sent for c in many)
    r.info("bytes each got to send: median / max", f"{sent[len(sent) // 2]:,} / {sent[-1]:,}" if sent else "-")
    r.check("answered HTTP/1.1 431", f"{len(got_431)} of {over}", f"{over}", len(got_431) == over,
            f"others: {', '.join(sorted({repr(c.answer[:20]) + ' ' + c.how for c in many if not answered_431(c)}))[:160]}")
    r.check("closed by listo: max", f"{fmt(times[-1] if times else None)} ({len(still)} still open)",
            f"all within {answer_limit:g} s", not still and bool(times))
    r.info("listo VmRSS before / peak", f"{before_c:,} KiB / {peak:,} KiB (+{peak - before_c:,} KiB)")
    r.check("peak memory per oversized head", f"{per_conn:.1f} KiB",
            f"<= {per_head_limit:g} KiB (387 KB before the cap)",
            per_conn <= per_head_limit)
    r.check("listo still running", "yes" if listo.alive() else "no", "yes", listo.alive())
    r.show("32 KiB request heads")
    return [r]
