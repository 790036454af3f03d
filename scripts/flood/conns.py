"""Stages 1 and 2 of the flood (see flood.py): half-sent requests, then idle connections, against
a listo started under `ulimit -n 1024`. Asserts that listo closes them within its header and idle
timeouts, stays under 50 % of a core and keeps serving a new client.
"""

from __future__ import annotations

import errno
import selectors
import socket
import threading
import time

from common import Listo, Report, env_num, fmt, log, raise_nofile

HALF_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
FULL_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
TRACK_EVERY = 0.25  # seconds between reads of listo's fd table
CPU_EVERY = 1.0  # seconds between CPU samples
CONNECT_LIMIT = 10.0  # seconds a flood connection may take to connect before it counts as failed
BATCH = 32  # connections opened at once, when listo's accept backlog has room for them
CLIENT_CONNECT = 2.0  # seconds the well-behaved client's connect may take before it tries anew
SETTLE = 0.5  # the flood is in place once listo's count of held connections is this long unchanged
OPENED_WAIT = 8.0  # ... or this many seconds after it started, whichever comes first


class Conn:
    __slots__ = ("sock", "port", "state", "opened", "connected", "accepted", "closed", "how", "first_bytes")

    def __init__(self, sock: socket.socket, opened: float):
        self.sock = sock
        self.port = 0
        self.state = "connecting"  # connecting -> open -> closed | failed
        self.opened = opened
        self.connected: float | None = None
        self.accepted: float | None = None  # first seen in listo's fd table
        self.closed: float | None = None  # EOF or reset seen by the client
        self.how = ""  # "eof" | "reset" | connect error
        self.first_bytes = b""  # anything listo sent before closing (e.g. a 408)


class CpuSampler:
    """utime+stime over wall time, one sample a second."""

    def __init__(self, listo: Listo):
        self.listo = listo
        self.samples: list[float] = []
        self.start_cpu = listo.cpu_seconds() or 0.0
        self.start_wall = time.monotonic()
        self.last_cpu = self.start_cpu
        self.last_wall = self.start_wall

    def maybe_sample(self, now: float, force: bool = False) -> None:
        if now - self.last_wall < (0.2 if force else CPU_EVERY):
            return
        cpu = self.listo.cpu_seconds()
        if cpu is None:
            return
        self.samples.append(100.0 * (cpu - self.last_cpu) / (now - self.last_wall))
        self.last_cpu, self.last_wall = cpu, now

    def average(self) -> float:
        wall = self.last_wall - self.start_wall
        return 100.0 * (self.last_cpu - self.start_cpu) / wall if wall > 0 else 0.0

    def maximum(self) -> float:
        return max(self.samples, default=0.0)


class Stage:
    """Opens `count` connections, sends `payload` on each, then watches them until listo has
    closed them all or `deadline` seconds have passed.

    Connections are opened in batches, each only once listo's accept backlog has room for it
    (counting every connection not yet seen in listo's fd table as queued): a burst past the
    backlog has its SYNs dropped and retried a second or more later, so a client started "after
    the flood" could overtake part of it. Connections with no room yet are opened as listo frees
    slots (listo closing connections lets it accept queued ones, which makes room)."""

    def __init__(self, name: str, listo: Listo, count: int, payload: bytes):
        self.name = name
        self.listo = listo
        self.count = count
        self.payload = payload
        self.conns: list[Conn] = []
        self.by_port: dict[int, Conn] = {}
        self.held = 0  # this stage's connections listo holds now
        self.max_held = 0  # most of them listo held at once
        self.max_fds = 0  # most fds listo had open at once
        self.t0 = 0.0
        self.t_end = 0.0
        self.t_open = 0.0  # when the flood was in place (see run)
        self.t_all_opened: float | None = None  # when the last connection was opened
        self.backlog = listo.backlog()
        self.cpu: CpuSampler | None = None

    def open_batch(self, sel: selectors.BaseSelector, n: int) -> None:
        addr = ("127.0.0.1", self.listo.port)
        for _ in range(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            conn = Conn(sock, time.monotonic())
            self.conns.append(conn)
            rc = sock.connect_ex(addr)
            if rc not in (0, errno.EINPROGRESS):
                conn.state, conn.how, conn.closed = "failed", errno.errorcode.get(rc, str(rc)), time.monotonic()
                sock.close()
                continue
            conn.port = sock.getsockname()[1]
            self.by_port[conn.port] = conn
            sel.register(sock, selectors.EVENT_WRITE, conn)

    def open_count(self) -> int:
        return sum(1 for c in self.conns if c.state in ("connecting", "open"))

    def track(self, now: float) -> None:
        held = self.listo.client_ports()
        mine = 0
        for port in held:
            conn = self.by_port.get(port)
            if conn is not None and conn.state in ("connecting", "open"):
                mine += 1
                if conn.accepted is None:
                    conn.accepted = now
        self.held = mine
        self.max_held = max(self.max_held, mine)
        self.max_fds = max(self.max_fds, self.listo.fd_count())

    def on_event(self, sel: selectors.BaseSelector, conn: Conn, now: float) -> None:
        sock = conn.sock
        if conn.state == "connecting":
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.finish(sel, conn, now, "failed", errno.errorcode.get(err, str(err)))
                return
            conn.state, conn.connected = "open", now
            if self.payload:
                try:
                    sock.send(self.payload)
                except OSError as e:
                    self.finish(sel, conn, now, "closed", f"send: {e.__class__.__name__}")
                    return
            sel.modify(sock, selectors.EVENT_READ, conn)
            return
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            self.finish(sel, conn, now, "closed", "reset")
            return
        if not data:
            self.finish(sel, conn, now, "closed", "eof")
        elif len(conn.first_bytes) < 64:
            conn.first_bytes += data[: 64 - len(conn.first_bytes)]

    def finish(self, sel: selectors.BaseSelector, conn: Conn, now: float, state: str, how: str) -> None:
        conn.state, conn.how, conn.closed = state, how, now
        try:
            sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()

    def run(self, sel: selectors.BaseSelector, deadline: float, when_open=None) -> None:
        """Opens the connections and watches them until every one is closed or failed, or
        `deadline` s from the start. `when_open` is called once the flood is in place: the
        number of connections listo holds unchanged for SETTLE s (it has taken all it will take)
        and either every connection opened, connected and its payload sent, or the backlog full
        with the rest; or OPENED_WAIT s after the start, whichever comes first."""
        self.t0 = time.monotonic()
        self.cpu = CpuSampler(self.listo)
        next_track = 0.0
        last_held, held_since = -1, self.t0
        loops = 0
        while loops < 10_000_000:  # bound; time is the real limit below
            loops += 1
            now = time.monotonic()
            opening = len(self.conns) < self.count
            if now - self.t0 > deadline or (not opening and self.open_count() == 0):
                break
            if not self.listo.alive():
                log(f"{self.name}: listo is no longer running")
                break
            backlog_full = False
            if opening:
                queued = sum(1 for c in self.conns if c.accepted is None and c.state in ("connecting", "open"))
                n = min(BATCH, self.count - len(self.conns), self.backlog - queued)
                if n > 0:
                    self.open_batch(sel, n)
                    next_track = min(next_track, now + 0.02)
                    if len(self.conns) == self.count:
                        self.t_all_opened = time.monotonic()
                else:
                    backlog_full = True
            for key, _ in sel.select(timeout=0.02 if when_open is not None else 0.05):
                self.on_event(sel, key.data, time.monotonic())
            now = time.monotonic()
            connecting = 0
            for conn in self.conns:  # connections that never completed their handshake
                if conn.state == "connecting":
                    if now - conn.opened > CONNECT_LIMIT:
                        self.finish(sel, conn, now, "failed", "connect timeout")
                    else:
                        connecting += 1
            if now >= next_track:
                self.track(now)
                if self.held != last_held:
                    last_held, held_since = self.held, now
                next_track = now + (0.05 if when_open is not None or opening else TRACK_EVERY)
            in_place = now - held_since >= SETTLE and (
                backlog_full or (len(self.conns) == self.count and connecting == 0))
            if when_open is not None and (in_place or now - self.t0 > OPENED_WAIT):
                self.t_open = now
                when_open()
                when_open = None
            self.cpu.maybe_sample(now)
        self.t_end = time.monotonic()
        self.cpu.maybe_sample(self.t_end, force=True)  # close the window at the end

    def not_opened(self) -> int:
        return self.count - len(self.conns)

    def close_rest(self, sel: selectors.BaseSelector) -> int:
        left = 0
        for conn in self.conns:
            if conn.state in ("connecting", "open"):
                left += 1
                self.finish(sel, conn, time.monotonic(), "abandoned", "still open")
        return left

    # Figures -----------------------------------------------------------------------------
    def connected(self) -> list[Conn]:
        return [c for c in self.conns if c.connected is not None]

    def closed_by_listo(self) -> list[Conn]:
        return [c for c in self.conns if c.state == "closed"]

    def time_to_close(self) -> list[float]:
        """Seconds from being accepted (first seen in listo's fd table) to being closed."""
        return [c.closed - c.accepted for c in self.conns if c.state == "closed" and c.accepted is not None]


def well_behaved_client(port: int, t0: float, limit: float, result: dict) -> None:
    """Full GET /healthz, retried until `HTTP/1.1 200` or `limit` s after t0. Each connect may
    take CLIENT_CONNECT s (a full backlog drops SYNs, and the kernel's own retries back off to
    seconds apart); once connected it waits for the answer until the limit."""
    attempts = 0
    outcomes: dict[str, int] = {}
    while attempts < 400:
        remaining = limit - (time.monotonic() - t0)
        if remaining <= 0:
            break
        attempts += 1
        outcome = "?"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=min(CLIENT_CONNECT, remaining)) as s:
                s.settimeout(max(0.05, limit - (time.monotonic() - t0)))
                s.sendall(FULL_REQUEST)
                data = b""
                while b"\r\n" not in data and len(data) < 4096:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"HTTP/1.1 200"):
                    result["served_after"] = time.monotonic() - t0
                    result["attempts"] = attempts
                    result["outcomes"] = outcomes
                    return
                outcome = "eof" if not data else data.split(b"\r\n", 1)[0].decode(errors="replace")
        except socket.timeout:
            outcome = "timeout"
        except OSError as e:
            outcome = e.__class__.__name__
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome != "timeout":
            time.sleep(0.25)
    result["attempts"] = attempts
    result["outcomes"] = outcomes



def run(listo: Listo) -> list[Report]:
    """Stages 1 and 2 against `listo`; the reports of the stages run."""
    half = int(env_num("FLOOD_HALF", 1100))
    idle = int(env_num("FLOOD_IDLE", 500))
    header_limit = env_num("FLOOD_HEADER_LIMIT", 15)
    all_closed = env_num("FLOOD_ALL_CLOSED", 35)
    serve_limit = env_num("FLOOD_SERVE_LIMIT", 20)
    cpu_limit = env_num("FLOOD_CPU_LIMIT", 50)
    idle_limit = env_num("FLOOD_IDLE_LIMIT", 75)
    idle_deadline = env_num("FLOOD_IDLE_DEADLINE", 80)

    r1 = Report("stage 1")
    nofile = raise_nofile(half + idle + 256)
    if nofile < half + 64:
        r1.check("this client's fd limit", str(nofile), f">= {half + 64}", False, f"too low for {half} connections")
        return [r1]
    try:
        with open(f"/proc/{listo.pid}/limits") as f:
            limit_line = next((l for l in f if l.startswith("Max open files")), "").split()
        log(f"listo pid {listo.pid} on 127.0.0.1:{listo.port}, its open-files limit {limit_line[3] if limit_line else '?'}"
            f"; this client's {nofile}")
    except OSError:
        pass

    sel = selectors.DefaultSelector()

    # Stage 1 -------------------------------------------------------------------------------
    log(f"stage 1: {half} half-sent requests, held open; then a well-behaved GET /healthz")
    s1 = Stage("half-sent", listo, half, HALF_REQUEST)
    served: dict = {}
    # The new client starts once the flood is in place (every connection connected, its half
    # request sent, listo holding all it will take); its 20 s count from the start of the flood.
    clients: list[threading.Thread] = []

    def start_client() -> None:
        client = threading.Thread(target=well_behaved_client, args=(listo.port, s1.t0, serve_limit, served), daemon=True)
        client.start()
        clients.append(client)

    s1.run(sel, all_closed, when_open=start_client)
    left1 = s1.close_rest(sel)
    for client in clients:
        client.join(timeout=serve_limit + 5)
    listo_alive_1 = listo.alive()

    ttc1 = s1.time_to_close()
    conn1 = s1.connected()
    closed1 = s1.closed_by_listo()
    accepted1 = [c for c in s1.conns if c.accepted is not None]
    late1 = [t for t in ttc1 if t > header_limit]
    unseen1 = [c for c in closed1 if c.accepted is None]  # accepted and closed between two samples
    failed1 = [c for c in s1.conns if c.state == "failed"]
    answered1 = [c for c in closed1 if c.first_bytes]
    last_close1 = max((c.closed - s1.t0 for c in closed1), default=None)

    # Stage 2 -------------------------------------------------------------------------------
    s2 = None
    if idle > 0 and listo_alive_1:
        log(f"stage 2: {idle} idle connections that send nothing")
        s2 = Stage("idle", listo, idle, b"")
        s2.run(sel, idle_deadline)
        left2 = s2.close_rest(sel)
    sel.close()

    # Report --------------------------------------------------------------------------------
    avg1, max1 = s1.cpu.average(), s1.cpu.maximum()
    hang1 = s1.t_end - s1.t0
    r1.info("listen backlog / flood in place after", f"{s1.backlog} / {fmt(s1.t_open - s1.t0 if s1.t_open else None)}")
    r1.info("connections opened / connected / last opened at",
            f"{len(s1.conns)} / {len(conn1)} / {fmt(s1.t_all_opened - s1.t0 if s1.t_all_opened else None)}")
    r1.check("connections never opened (backlog stayed full)", str(s1.not_opened()), "0", s1.not_opened() == 0,
             "listo never made room to accept them")
    r1.check("connections that failed to connect", str(len(failed1)), "0", not failed1,
             ", ".join(sorted({c.how for c in failed1})))
    r1.info("accepted by listo (seen in its fd table)", f"{len(accepted1)} (+{len(unseen1)} between samples)")
    r1.info("most held by listo at once / its most fds", f"{s1.max_held} / {s1.max_fds}")
    r1.info("closed by listo: eof / reset / answered first",
            f"{sum(c.how == 'eof' for c in closed1)} / {sum(c.how == 'reset' for c in closed1)} / {len(answered1)}")
    r1.check("time to close after accept: median / max",
             f"{fmt(sorted(ttc1)[len(ttc1) // 2] if ttc1 else None)} / {fmt(max(ttc1, default=None))}",
             f"<= {header_limit:g} s", bool(ttc1) and not late1,
             f"{len(late1)} closed later than that" if late1 else ("none was closed" if not ttc1 else ""))
    r1.check("still open at the deadline", f"{left1} after {hang1:.1f} s", f"0 by {all_closed:g} s", left1 == 0,
             "listo never closed them")
    r1.info("last one closed", fmt(last_close1), f"<= {all_closed:g} s")
    r1.check("listo CPU avg over the hang (max sample)", f"{avg1:.1f} % ({max1:.1f} %)", f"< {cpu_limit:g} % of a core",
             avg1 < cpu_limit)
    sa = served.get("served_after")
    r1.check("new client served HTTP/1.1 200 after", fmt(sa) + f" (attempts: {served.get('attempts', 0)})",
             f"<= {serve_limit:g} s", sa is not None,
             "no 200 in time; attempts ended in " + ", ".join(f"{k} x{v}" for k, v in served.get("outcomes", {}).items()))
    r1.check("listo still running", "yes" if listo_alive_1 else "no", "yes", listo_alive_1)
    if answered1:
        r1.info("first bytes listo sent before closing", repr(answered1[0].first_bytes[:40]))
    r1.show("half-sent requests")
    log("stage 1: listo CPU % each second: " + " ".join(f"{x:.0f}" for x in s1.cpu.samples))

    if s2 is None:
        if idle > 0:
            r1.failures.append("stage 2 (idle connections) not run: listo was not running after stage 1")
        else:
            log("stage 2 skipped (FLOOD_IDLE=0)")
        return [r1]
    r2 = Report("stage 2")
    ttc2 = s2.time_to_close()
    failed2 = [c for c in s2.conns if c.state == "failed"]
    late2 = [t for t in ttc2 if t > idle_limit]
    accepted2 = [c for c in s2.conns if c.accepted is not None]
    unseen2 = [c for c in s2.closed_by_listo() if c.accepted is None]
    r2.info("connections opened / connected", f"{len(s2.conns)} / {len(s2.connected())}")
    r2.check("connections never opened (backlog stayed full)", str(s2.not_opened()), "0", s2.not_opened() == 0,
             "listo never made room to accept them")
    r2.check("connections that failed to connect", str(len(failed2)), "0", not failed2,
             ", ".join(sorted({c.how for c in failed2})))
    r2.info("accepted by listo (seen in its fd table)", f"{len(accepted2)} (+{len(unseen2)} between samples)")
    r2.check("time to close after accept: median / max",
             f"{fmt(sorted(ttc2)[len(ttc2) // 2] if ttc2 else None)} / {fmt(max(ttc2, default=None))}",
             f"<= {idle_limit:g} s", bool(ttc2) and not late2,
             f"{len(late2)} closed later than that" if late2 else ("none was closed" if not ttc2 else ""))
    r2.check("still open at the deadline", f"{left2} after {s2.t_end - s2.t0:.1f} s", f"0 by {idle_deadline:g} s",
             left2 == 0, "listo never closed them")
    r2.info("listo CPU avg (max sample)", f"{s2.cpu.average():.1f} % ({s2.cpu.maximum():.1f} %)")
    r2.check("listo still running", "yes" if listo.alive() else "no", "yes", listo.alive())
    r2.show("idle connections")
    return [r1, r2]
