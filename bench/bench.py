#!/usr/bin/env python3
"""listo benchmark driver (run through bench/run.sh, which builds first).

Runs the same scenarios on each store: SQLite (a file in a temp folder) and PostgreSQL (a throwaway
cluster from scripts/lib/postgres.sh in a temp folder, stopped at the end even on failure). For
each store it seeds the database with examples/seed.rs, starts the release binary on loopback with
a long session TTL and no login rate limits, signs the seeded users in through the emailed code
(outbox), then runs each scenario with wrk at a fixed concurrency and records requests/s, p50/p99,
errors and listo's peak RSS (VmHWM, reset before each scenario). On PostgreSQL it also starts a
second listo on the same database and compares one process with two. Last, on a fresh listo, it
opens 1,000 Server-Sent Events streams for one user and measures their memory and how long one
change takes to reach all of them. The `lists` group (bench/lists.py) sets lists (issue 24)
beside the default list; the `migration` group (bench/lists_migration.py) times the lists migration
on a database the previous release wrote. Writes BENCHMARKS.md.

  BENCH_STORES=sqlite|postgres   one store only (the report shows "–" for the other)
  BENCH_ONLY=changes,streams     only these scenario groups (session, list, changes, sort, writes,
                                 storm, kept, lists, streams, processes, migration); the report then goes to
                                 $BENCH_REPORT or /tmp/listo-BENCHMARKS.partial.md, not BENCHMARKS.md
  CARGO_TARGET_DIR               where bench/run.sh built listo (default: target/)
"""

import asyncio

import json
import os
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import kept
from pgcluster import Postgres
import lists
import lists_migration

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
if not TARGET.is_absolute():
    TARGET = ROOT / TARGET
BIN = TARGET / "release/listo"
SEED = TARGET / "release/examples/seed"
LUA = ROOT / "bench/request.lua"
PASSWORD = "bench password 1"
DURATION = int(os.environ.get("DURATION", "10"))
CONNECTIONS = 32
THREADS = 2
CREATORS = 32  # creator0..31@bench.example, seeded with empty lists (examples/seed.rs)
# Both PostgreSQL processes must hash tokens with the same key; on SQLite listo keeps its own.
PG_SECRET = "listo-bench-secret-0123456789abcdef0123456789abcdef"
STORES = [("sqlite", "SQLite"), ("postgres", "PostgreSQL")]
# BENCH_STORES=postgres runs one store only (while developing the benchmark); the report shows "–" for the other.
ONLY = [x for x in os.environ.get("BENCH_STORES", "").split(",") if x]
GROUPS = ["session", "list", "changes", "sort", "writes", "storm", "kept", "lists", "streams", "processes",
          "migration"]
LISTS_ROUNDS = int(os.environ.get("LISTS_ROUNDS", str(lists.ROUNDS)))  # rounds of the lists group
# BENCH_ONLY=changes,streams runs only these groups of scenarios (while developing the benchmark).
ONLY_GROUPS = [x for x in os.environ.get("BENCH_ONLY", "").split(",") if x]
for _g in ONLY_GROUPS:
    if _g not in GROUPS:
        raise SystemExit(f"bench: BENCH_ONLY: unknown group {_g!r} (known: {', '.join(GROUPS)})")
REPORT = Path(os.environ.get("BENCH_REPORT") or
              ("/tmp/listo-BENCHMARKS.partial.md" if ONLY_GROUPS else ROOT / "BENCHMARKS.md"))
STREAMS = 1000  # open SSE streams of one user
STREAM_CHANGES = 20  # creates whose fan-out to every stream is timed
STREAM_WAIT = 5.0  # seconds a stream may take to hear a change before it counts as missed


def want(group):
    return not ONLY_GROUPS or group in ONLY_GROUPS

CHILDREN = []  # every process we start, so a failure can end them


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, work: Path, database: str, tag="", secret=None, extra_env=None):
        self.work = work
        self.tag = tag
        self.outbox = work / f"outbox{tag}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(
            os.environ,
            PORT=str(self.port),
            LISTO_ADDR=f"127.0.0.1:{self.port}",
            LISTO_DATABASE=database,
            LISTO_OUTBOX=str(self.outbox),
            LISTO_SESSION_TTL="86400",
            LISTO_LOGIN_LIMIT_PER_EMAIL="0",
            LISTO_LOGIN_LIMIT_PER_ADDR="0",
            RUST_LOG="info",
        )
        env.pop("LISTO_SECRET", None)
        if secret:
            env["LISTO_SECRET"] = secret
        env.update(extra_env or {})
        self.log_path = work / f"server{tag}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([str(BIN)], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        CHILDREN.append(self.proc)
        for _ in range(400):
            if self.proc.poll() is not None:
                break
            try:
                urllib.request.urlopen(self.base + "/readyz", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        sys.stderr.write(self.log_path.read_text()[-3000:])
        raise SystemExit("bench: listo did not become ready")

    def reset_peak_rss(self):
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")

    def peak_rss_mb(self):
        return self.status_kb("VmHWM") / 1024

    def status_kb(self, field):
        """A field of /proc/<pid>/status in kB: VmRSS (now), VmHWM (peak)."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        # What listo complained about, before the work folder (and its log) goes.
        bad = [line for line in self.log_path.read_text(errors="replace").splitlines()
               if re.search(r"\b(WARN|ERROR)\b", line)]
        if bad:
            print(f"bench: listo{self.tag} logged {len(bad)} warnings/errors; the first ones:", flush=True)
            for line in bad[:5]:
                print("  " + line[:300], flush=True)

    def call(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None

    def sign_in(self, email):
        before = set(os.listdir(self.outbox)) if self.outbox.exists() else set()
        challenge = self.call("POST", "/v1/auth/login", {"email": email, "password": PASSWORD})["challenge_id"]
        for _ in range(100):
            new = set(os.listdir(self.outbox)) - before
            for name in new:
                text = (self.outbox / name).read_text().replace("=\n", "")
                if f"To: {email}" in text:
                    code = re.search(r"code is (\d{6})", text).group(1)
                    return self.call("POST", "/v1/auth/verify", {"challenge_id": challenge, "code": code})["access_token"]
            time.sleep(0.02)
        raise SystemExit(f"bench: no code email for {email}")


def wrk(server, path, method="GET", body=None, token=None, tokens=None, duration=DURATION,
        connections=CONNECTIONS, threads=THREADS, body2=None):
    """Starts wrk. With `tokens`, give it as many threads as connections: each thread (so each
    connection) then sends with its own token (bench/request.lua). With `body2`, each thread
    alternates between `body` and `body2`."""
    env = dict(os.environ, METHOD=method, BODY=json.dumps(body) if body is not None else "",
               BODY2=json.dumps(body2) if body2 is not None else "",
               TOKEN=token or "", TOKENS=",".join(tokens or []))
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(LUA), server.base + path]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    CHILDREN.append(proc)
    return proc


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse(output):
    try:
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
        p50 = to_ms(re.search(r"\s50%\s+(\S+)", output).group(1))
        p99 = to_ms(re.search(r"\s99%\s+(\S+)", output).group(1))
    except AttributeError:
        raise SystemExit(f"bench: could not read wrk's output:\n{output}")
    errors = 0
    detail = []
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if m:
        errors += int(m.group(1))
        detail.append(f"{m.group(1)} non-2xx")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if m:
        errors += sum(int(x) for x in m.groups())
        detail += [f"{n} {kind}" for n, kind in zip(m.groups(), ["connect", "read", "write", "timeout (> 2 s)"])
                   if int(n)]
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors, "detail": ", ".join(detail)}


def show(name, row):
    pg = f"  PG server {row['pg_mb']:>5.0f} MB" if row.get("pg_mb") is not None else ""
    print(f"  {name:<46} {row['rps']:>9.0f} req/s  p50 {row['p50']:>7.2f} ms  p99 {row['p99']:>7.2f} ms"
          f"  errors {row['errors']:>4}  peak RSS {row['rss']:>5.1f} MB{pg}", flush=True)
    if row.get("detail"):
        print(f"    errors: {row['detail']}", flush=True)


class Run:
    """One store's pass: its server, its rows in order, and its rows by key."""

    def __init__(self, server, database, pg=None):
        self.server = server
        self.database = database
        self.pg = pg
        self.rows = []
        self.by = {}
        self.figures = []
        self.processes = None
        self.streams = None
        self.kept = None
        self.lists = None
        self.migration = None

    def latest_seq(self, email):
        """The newest position of the user's change feed (users.change_seq), read from the database."""
        query = "SELECT change_seq FROM users WHERE email = "
        if self.pg:
            return int(self.pg.sql(query + f"'{email}'"))
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            return db.execute(query + "?", (email,)).fetchone()[0]

    def scenario(self, key, name, path, **kw):
        self.server.reset_peak_rss()
        proc = wrk(self.server, path, **kw)
        out, _ = proc.communicate()
        return self.record(key, name, parse(out))

    def record(self, key, name, row):
        row["name"] = name
        row["rss"] = self.server.peak_rss_mb()
        row["pg_mb"] = self.pg.pss_mb() if self.pg else None
        self.rows.append(row)
        self.by[key] = row
        show(name, row)
        return row


def ids(server, token, page, per_page):
    return [t["id"] for t in server.call("GET", f"/v1/tasks?page={page}&per_page={per_page}", token=token)["items"]]


def scenarios(run):
    """Every wrk scenario, in report order; the same list for every store."""
    server = run.server
    tok = {u: server.sign_in(f"{u}@bench.example") for u in
           ["list100", "list10k", "list100k", "sort1k", "sort100k", "writer"]}
    run.tokens = tok

    if want("session"):
        print("4. session check vs /healthz")
        run.scenario("healthz", "GET /healthz", "/healthz")
        run.scenario("session", "GET /v1/auth/session (authenticated)", "/v1/auth/session", token=tok["list100"])

    if want("list"):
        print("1. list page 1 (per_page=20)")
        for user in ["list100", "list10k", "list100k"]:
            run.scenario(user, f"GET page 1, {user[4:]} tasks", "/v1/tasks?page=1&per_page=20", token=tok[user])
        for user in ["list100", "list100k"]:
            run.scenario(f"done_{user}", f"GET page 1 status=Completed, {user[4:]} tasks (half of them)",
                         "/v1/tasks?page=1&per_page=20&status=Completed", token=tok[user])
        run.scenario("deep", "GET page 4000 by number, 100k tasks", "/v1/tasks?page=4000&per_page=20",
                     token=tok["list100k"])
        cursor = server.call("GET", "/v1/tasks?page=3999&per_page=20", token=tok["list100k"]).get("next_cursor")
        if cursor:
            run.scenario("cursor", "GET page 4000 by cursor, 100k tasks", f"/v1/tasks?per_page=20&cursor={cursor}",
                         token=tok["list100k"])

    if want("changes"):
        # Before the sort scenarios touch sort1k: every seeded task is one change (the triggers on
        # tasks), so its feed holds changes 1..1,000 and list100k's (never written) 1..100,000.
        print("7. change feed page (limit=100): 1k vs 100k changes")
        for user, label in [("sort1k", "1k"), ("list100k", "100k")]:
            latest = run.latest_seq(f"{user}@bench.example")
            since = max(latest - 100, 0)
            path = f"/v1/tasks/changes?since={since}&limit=100"
            page = server.call("GET", path, token=tok[user])
            got = [c["seq"] for c in page["changes"]]
            print(f"  {user}: latest seq {latest}; since={since} answers {len(got)} changes "
                  f"({got[0] if got else '-'}..{got[-1] if got else '-'}), has_more {page['has_more']}")
            if len(got) != 100 or page["has_more"] or got[-1] != latest:
                raise SystemExit(f"bench: the last page of {user}'s feed is not the 100 changes before {latest}")
            run.scenario(f"changes_tail_{user}", f"GET changes since=latest-100 (last 100), {label} changes",
                         path, token=tok[user])
        for user, label in [("sort1k", "1k"), ("list100k", "100k")]:
            run.scenario(f"changes_start_{user}", f"GET changes since=0 (first 100), {label} changes",
                         "/v1/tasks/changes?since=0&limit=100", token=tok[user])

    if want("sort"):
        print("3. sort a 20-task page / move one task")
        for user in ["sort1k", "sort100k"]:
            page = ids(server, tok[user], 1, 20)
            run.scenario(f"sort_{user}", f"POST sort page 1, {user[4:]} tasks", "/v1/tasks/sort?page=1&per_page=20",
                         method="POST", body={"task_ids": page[::-1]}, token=tok[user])
            middle = ids(server, tok[user], 25, 20)
            run.scenario(f"move_{user}", f"POST move (after_id, mid-list), {user[4:]} tasks",
                         f"/v1/tasks/{middle[0]}/move", method="POST", body={"after_id": middle[10]},
                         token=tok[user])

    if want("writes"):
        print("2. writes")
        creators = [server.sign_in(f"creator{i}@bench.example") for i in range(CREATORS)]
        new_task = {"date": "2026-11-24", "task": "bench write", "status": "Incomplete"}
        run.scenario("create", "POST /v1/tasks, one user", "/v1/tasks", method="POST", body=new_task,
                     token=tok["writer"])
        run.scenario("create_many", f"POST /v1/tasks, {CREATORS} users", "/v1/tasks", method="POST", body=new_task,
                     tokens=creators, threads=CREATORS, connections=CREATORS)
        # Every connection must have written as its own user.
        counts = [server.call("GET", "/v1/tasks?page=1&per_page=1", token=t)["total_items"] for t in creators]
        print(f"  tasks per creator: min {min(counts)}, max {max(counts)}")
        if min(counts) == 0:
            raise SystemExit("bench: a creator wrote nothing: the per-connection tokens did not work")

    if want("storm"):
        print("5. login storm (32 concurrent logins) during list page 1, 10k tasks")
        run.scenario("calm", "GET page 1, 10k tasks (no storm)", "/v1/tasks?page=1&per_page=20", token=tok["list10k"])
        storm = wrk(server, "/v1/auth/login", method="POST",
                    body={"email": "storm@bench.example", "password": PASSWORD},
                    duration=DURATION + 2, connections=32)
        time.sleep(1)
        run.scenario("storm", "GET page 1, 10k tasks (during storm)", "/v1/tasks?page=1&per_page=20",
                     token=tok["list10k"])
        storm_out, _ = storm.communicate()
        s = parse(storm_out)
        print(f"  storm itself: {s['rps']:.0f} logins/s, p99 {s['p99']:.0f} ms, errors {s['errors']}")
        run.record("storm_itself", "POST /v1/auth/login (the storm itself)", s)

    if want("kept"):
        print(f"8. kept answers: {kept.SORTS} sorts of a {kept.TASKS}-task page, without and with Idempotency-Key")
        run.kept = kept.measure(server, run.database, run.pg, PASSWORD)

    if want("lists"):
        run.lists = lists.measure(run, PASSWORD, rounds=LISTS_ROUNDS, duration=DURATION)


def figures(run):
    """The figures with their targets, once every scenario of the store ran; None where a scenario
    did not run (BENCH_ONLY)."""
    by = run.by

    def ratio(slow, fast, field="rps"):
        """How many times slower `slow` is than `fast`, from requests/s (or p99 with field="p99")."""
        if slow not in by or fast not in by:
            return None
        if field == "rps":
            return by[fast]["rps"] / by[slow]["rps"]
        return by[slow][field] / by[fast][field]

    def rps(key):
        return by[key]["rps"] if key in by else None

    st = run.streams
    rss = [r["rss"] for r in run.rows]
    errors = sum(r["errors"] for r in run.rows)
    if run.processes:
        errors += run.processes["one"]["errors"] + run.processes["total"]["errors"]
    if st:
        errors += st["errors"]
    run.figures = [
        ("list page 1: 100k tasks / 100 tasks (time per request)", ratio("list100k", "list100"), "≤ 1.5"),
        ("filtered list page 1 (status): 100k tasks / 100 tasks", ratio("done_list100k", "done_list100"), "≤ 1.5"),
        ("list page 4000 by number / page 1 (100k tasks)", ratio("deep", "list100k"), "measured"),
        ("list page 4000 by cursor / page 1 (100k tasks)", ratio("cursor", "list100k"), "≤ 1.5"),
        ("change feed, last 100 changes: 100k changes / 1k changes",
         ratio("changes_tail_list100k", "changes_tail_sort1k"), "≤ 1.5"),
        ("change feed, first 100 changes (since=0): 100k changes / 1k changes",
         ratio("changes_start_list100k", "changes_start_sort1k"), "≤ 1.5"),
        ("sort: 100k tasks / 1k tasks", ratio("sort_sort100k", "sort_sort1k"), "≤ 1.5"),
        ("move: 100k tasks / 1k tasks", ratio("move_sort100k", "move_sort1k"), "≤ 1.5"),
        ("authenticated session / healthz", ratio("session", "healthz"), "≤ 1.5"),
        ("list page 1 (100 tasks) requests/s ÷ healthz requests/s",
         rps("list100") / rps("healthz") if rps("list100") and rps("healthz") else None, "≥ 0.5"),
        ("list p99 during login storm / without", ratio("storm", "calm", "p99"), "≤ 3"),
        ("creates per second, one user (32 connections)", rps("create"), "≥ 8000"),
        (f"creates per second, {CREATORS} users (one connection each)", rps("create_many"), "≥ 8000"),
        (f"memory per open SSE stream, {STREAMS:,} streams of one user (KB)",
         st and st["kb_per_stream"], "reported"),
        (f"one change reaching {STREAMS:,} SSE streams: median ms", st and st["p50"], "reported"),
        (f"one change reaching {STREAMS:,} SSE streams: p99 ms", st and st["p99"], "reported"),
        (f"SSE deliveries missing after {STREAM_WAIT:.0f} s, or streams lost", st and st["errors"], "0"),
        ("peak RSS of listo, any wrk scenario (MB)", max(rss) if rss else None, "≤ 64"),
        (f"peak RSS of listo with {STREAMS:,} SSE streams open (MB)", st and st["peak_mb"], "≤ 64"),
        ("errors, all scenarios", errors, "0"),
    ]


def two_processes(run, work, database):
    """PostgreSQL only: a second listo (B) on the same database beside the first (A)."""
    a = run.server
    b = Server(work, database, tag="-b", secret=PG_SECRET)
    try:
        token = run.tokens["list100"]
        path = "/v1/tasks?page=1&per_page=20"
        # A token A issued opens B too: same database, same secret.
        if b.call("GET", path, token=token)["total_items"] != 100:
            raise SystemExit("bench: listo B does not see listo A's list")
        print("6. one vs two listo processes on the same PostgreSQL database (GET page 1, 100 tasks)")

        def measure(targets):
            for server, _, _ in targets:
                server.reset_peak_rss()
            procs = [wrk(server, path, token=token, connections=c, threads=t) for server, c, t in targets]
            rows = [parse(p.communicate()[0]) for p in procs]
            for row, (server, _, _) in zip(rows, targets):
                row["rss"] = server.peak_rss_mb()
                row["pg_mb"] = run.pg.pss_mb()
            return rows

        one = measure([(a, CONNECTIONS, THREADS)])[0]
        show("(a) one listo, 32 connections", one)
        two = measure([(a, CONNECTIONS // 2, 1), (b, CONNECTIONS // 2, 1)])
        show("(b) listo A, 16 connections", two[0])
        show("(b) listo B, 16 connections", two[1])
        total = {"rps": sum(r["rps"] for r in two), "p99": max(r["p99"] for r in two),
                 "errors": sum(r["errors"] for r in two)}
        print(f"  (b) total {total['rps']:.0f} req/s, worse p99 {total['p99']:.2f} ms; "
              f"(b) / (a) = {total['rps'] / one['rps']:.2f}", flush=True)
        run.processes = {"one": one, "two": two, "total": total}
    finally:
        b.stop()


class EventStream(asyncio.Protocol):
    """One SSE connection (GET /v1/tasks/events) on a raw asyncio socket: parses the response head,
    decodes the chunked body, splits it into events and notes when each task's upsert arrived. A
    Protocol rather than a StreamReader: with 1,000 sockets in one Python process, the client's own
    work per event is part of every delivery time measured, so it is kept small."""

    def __init__(self, hub):
        self.hub = hub
        self.transport = None
        self.ready = asyncio.get_running_loop().create_future()  # the response head arrived
        self.raw = b""  # bytes not yet decoded
        self.body = b""  # decoded body not yet split into events
        self.chunked = None  # None until the head is read
        self.seen = set()  # task ids of the upserts received
        self.last_seq = 0

    async def open(self, host, port, token):
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, host, port)
        self.transport.write((f"GET /v1/tasks/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                              f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").encode())
        await asyncio.wait_for(self.ready, 30)

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(f"closed before the response head ({exc})"))
        elif not self.hub.closing:
            self.hub.lost += 1

    def data_received(self, data):
        at = time.perf_counter()
        self.raw += data
        if self.chunked is None:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.raw = self.raw[:end].decode(errors="replace"), self.raw[end + 4:]
            status, *lines = head.split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines)}
            if status.split(" ")[1:2] != ["200"] or not headers.get("content-type", "").startswith("text/event-stream"):
                self.ready.set_exception(RuntimeError(f"{status} {headers.get('content-type')}"))
                self.transport.close()
                return
            self.chunked = "chunked" in headers.get("transfer-encoding", "")
            self.ready.set_result(None)
        if self.chunked:
            while True:
                line_end = self.raw.find(b"\r\n")
                if line_end < 0:
                    break
                size = int(self.raw[:line_end].split(b";")[0], 16)
                if len(self.raw) < line_end + 2 + size + 2:
                    break
                self.body += self.raw[line_end + 2:line_end + 2 + size]
                self.raw = self.raw[line_end + 2 + size + 2:]
        else:
            self.body += self.raw
            self.raw = b""
        if b"\r" in self.body:
            self.body = self.body.replace(b"\r\n", b"\n")
        while True:
            end = self.body.find(b"\n\n")
            if end < 0:
                break
            event, self.body = self.body[:end], self.body[end + 2:]
            self.event(event.decode(errors="replace"), at)

    def event(self, raw, at):
        fields = {}
        for line in raw.split("\n"):
            if line and not line.startswith(":"):  # a comment line is the heartbeat
                name, _, value = line.partition(":")
                fields[name] = fields.get(name, "") + value.removeprefix(" ")
        if fields.get("event") != "upsert":
            if fields.get("event"):
                self.hub.other.append(fields["event"])
            return
        seq = int(fields.get("id", "0"))
        task_id = json.loads(fields["data"])["id"]
        if seq <= self.last_seq or task_id in self.seen:
            self.hub.disorder += 1
        self.last_seq = seq
        self.seen.add(task_id)
        self.hub.arrivals.setdefault(task_id, []).append(at)

    def close(self):
        if self.transport:
            self.transport.close()


class StreamHub:
    """What every stream heard, together."""

    def __init__(self):
        self.arrivals = {}  # task id -> perf_counter times its upsert reached each stream
        self.lost = 0  # streams the server closed before we did
        self.closing = False  # we are closing them
        self.disorder = 0  # events repeated or out of order
        self.other = []  # events other than upsert (session_expired ...)


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else None


async def stream_fanout(server, token, n):
    """Opens n streams, then times STREAM_CHANGES creates reaching all of them."""
    host, port = "127.0.0.1", server.port
    loop = asyncio.get_running_loop()
    body = {"date": "2026-11-24", "task": "bench fan-out", "status": "Incomplete"}

    async def create():
        return await loop.run_in_executor(None, lambda: server.call("POST", "/v1/tasks", body, token=token))

    async def open_many(hub, count):
        gate = asyncio.Semaphore(64)  # connections being set up at once

        async def one():
            async with gate:
                stream = EventStream(hub)
                try:
                    await stream.open(host, port, token)
                    return stream, None
                except (OSError, RuntimeError, ValueError, asyncio.TimeoutError) as e:
                    return None, f"{type(e).__name__}: {e}"
        results = await asyncio.gather(*[one() for _ in range(count)])
        return [s for s, _ in results if s], [e for _, e in results if e]

    # Warm-up: a few streams and one change, so one-time allocations are not counted per stream.
    hub = StreamHub()
    warm, _ = await open_many(hub, 10)
    task = await create()
    for _ in range(200):
        if len(hub.arrivals.get(task["id"], [])) >= len(warm):
            break
        await asyncio.sleep(0.01)
    for stream in warm:
        stream.close()
    await asyncio.sleep(1)
    out = {"rss_before_kb": server.status_kb("VmRSS")}
    server.reset_peak_rss()

    hub = StreamHub()
    started = time.monotonic()
    streams, failures = await open_many(hub, n)
    out["open_s"] = time.monotonic() - started
    out["opened"] = len(streams)
    out["failed"] = len(failures)
    if failures:
        print(f"  {len(failures)} streams did not open; the first: {failures[0]}", flush=True)
    await asyncio.sleep(1)
    out["rss_open_kb"] = server.status_kb("VmRSS")
    print(f"  {len(streams)} streams open in {out['open_s']:.1f} s; listo VmRSS {out['rss_before_kb'] / 1024:.1f} → "
          f"{out['rss_open_kb'] / 1024:.1f} MB", flush=True)

    delays = []  # ms, every delivery
    per_change = []
    missing = 0
    cpu = time.process_time()  # bench.py's own CPU: reading 1,000 sockets is part of each delivery
    for i in range(STREAM_CHANGES):
        t0 = time.perf_counter()
        task = await create()
        arrived = hub.arrivals.setdefault(task["id"], [])
        while len(arrived) < len(streams) and time.perf_counter() - t0 < STREAM_WAIT:
            await asyncio.sleep(0.002)
        got = [(t - t0) * 1000 for t in arrived if t - t0 <= STREAM_WAIT]
        missing += len(streams) - len(got)
        delays += got
        per_change.append((pct(got, 50), max(got) if got else None, len(got)))
        await asyncio.sleep(0.15)
    out["client_cpu_ms"] = (time.process_time() - cpu) * 1000 / STREAM_CHANGES
    out["rss_after_kb"] = server.status_kb("VmRSS")
    out["peak_mb"] = server.peak_rss_mb()
    out["lost"] = hub.lost
    hub.closing = True
    for stream in streams:
        stream.close()
    await asyncio.sleep(1)
    out["rss_closed_kb"] = server.status_kb("VmRSS")

    out["deliveries"] = len(delays)
    out["missing"] = missing
    out["disorder"] = hub.disorder
    out["other"] = hub.other
    out["p50"] = pct(delays, 50)
    out["p99"] = pct(delays, 99)
    out["max"] = max(delays) if delays else None
    out["per_change"] = per_change
    return out


def streams_scenario(run, work, database, secret):
    """A fresh listo (no heap left over from the wrk scenarios), 1,000 SSE streams of one user."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = STREAMS + 256
    if hard != resource.RLIM_INFINITY and hard < need:
        raise SystemExit(f"bench: {STREAMS} streams need an open-file limit of at least {need} "
                         f"(ulimit -Hn is {hard}): each stream is a file in bench.py and one in listo")
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(need, 4096), hard), hard))
    print(f"8. {STREAMS:,} open SSE streams of one user (GET /v1/tasks/events), on a fresh listo", flush=True)
    # listo itself raises its soft limit to the hard one and caps connections a little below it;
    # the cap is set here explicitly so the streams fit whatever that limit.
    server = Server(work, database, tag="-streams", secret=secret,
                    extra_env={"LISTO_MAX_CONNECTIONS": str(STREAMS + 512)})
    try:
        token = server.sign_in("writer@bench.example")
        out = asyncio.run(stream_fanout(server, token, STREAMS))
    finally:
        server.stop()
    out["kb_per_stream"] = (out["rss_open_kb"] - out["rss_before_kb"]) / max(out["opened"], 1)
    out["kb_per_stream_after"] = (out["rss_after_kb"] - out["rss_before_kb"]) / max(out["opened"], 1)
    out["errors"] = out["missing"] + out["failed"] + out["lost"]
    out["pg_mb"] = run.pg.pss_mb() if run.pg else None
    run.streams = out
    print(f"  memory per stream {out['kb_per_stream']:.1f} KB open, {out['kb_per_stream_after']:.1f} KB after "
          f"{STREAM_CHANGES} changes; VmRSS after closing them {out['rss_closed_kb'] / 1024:.1f} MB; "
          f"peak RSS {out['peak_mb']:.1f} MB", flush=True)
    print(f"  fan-out over {out['deliveries']:,} deliveries ({STREAM_CHANGES} creates × {out['opened']} streams): "
          f"median {out['p50']:.1f} ms, p99 {out['p99']:.1f} ms, max {out['max']:.1f} ms; "
          f"missing {out['missing']}, streams lost {out['lost']}, repeated/out of order {out['disorder']}; "
          f"bench.py's own CPU {out['client_cpu_ms']:.1f} ms per change"
          + (f", other events {out['other'][:3]}" if out["other"] else ""), flush=True)
    print("  per change (median / slowest ms, streams reached): "
          + ", ".join(f"{a:.0f}/{b:.0f}/{c}" if a is not None else f"-/-/{c}" for a, b, c in out["per_change"]),
          flush=True)


def machine():
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024
    return (f"{os.cpu_count()} cores ({cpu}), {mem / 1024:.0f} GiB RAM; wrk and PostgreSQL on the same machine "
            f"({THREADS} wrk threads, {CONNECTIONS} connections, {DURATION} s per scenario)")


RUNS = {}  # store -> Run
SEEDED = ("0", "0")
PG_SETTINGS = {}


def one_store(store):
    global SEEDED, PG_SETTINGS
    print(f"== {dict(STORES)[store]}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="listo-bench-"))
    pg = None
    try:
        if store == "postgres":
            pg = Postgres()
            database = pg.start()
            PG_SETTINGS = pg.settings
        else:
            database = str(work / "listo.db")
        secret = PG_SECRET if pg else None
        # The migration group builds databases of its own: alone, it needs no seed and no server.
        if any(want(g) for g in GROUPS if g != "migration"):
            seeded = subprocess.run([str(SEED), database], check=True, capture_output=True, text=True)
            print("bench:", seeded.stdout.strip(), flush=True)
            if pg:
                pg.settle()
            SEEDED = re.search(r"seeded (\d+) users and (\d+) tasks", seeded.stdout).groups()
            server = Server(work, database, secret=secret)
            try:
                run = Run(server, database, pg)
                scenarios(run)
                if pg and want("processes"):
                    two_processes(run, work, database)
            finally:
                server.stop()
        else:
            run = Run(None, database, pg)
        if want("streams"):
            streams_scenario(run, work, database, secret)
        if want("migration"):
            print("10. lists migration on a database the previous release wrote", flush=True)
            if pg:
                run.migration = lists_migration.measure_postgres(pg, work, secret=PG_SECRET)
            else:
                run.migration = lists_migration.measure_sqlite(work)
        figures(run)
        RUNS[store] = run
    finally:
        for proc in CHILDREN:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if pg:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)


def main():
    # A TERM or HUP ends the run through the finally blocks, so the cluster is stopped.
    def bail(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, bail)
    signal.signal(signal.SIGHUP, bail)
    for store, _ in STORES:
        if not ONLY or store in ONLY:
            one_store(store)
    write_report()


def met(value, target):
    if value is None:
        return "–"
    shown = f"{value:.2f}" if isinstance(value, float) and value < 100 else f"{value:,.0f}"
    m = re.match(r"([≤≥]) ([\d.]+)$", target)
    if m:
        ok = value <= float(m.group(2)) if m.group(1) == "≤" else value >= float(m.group(2))
    elif target == "0":
        ok = value == 0
    else:
        return shown
    return f"{shown} met" if ok else f"{shown} **missed**"


def instructions_section():
    """The callgrind table bench/run.sh measured before the wrk runs (BENCH_INSTRUCTIONS)."""
    path = os.environ.get("BENCH_INSTRUCTIONS")
    if not path or not Path(path).is_file() or Path(path).stat().st_size == 0:
        return []
    data = json.loads(Path(path).read_text())
    lines = [
        "",
        "## Instructions per request (callgrind)",
        "",
        f"`bench/instructions.sh` ({data['tool']}, SQLite, commit {data['commit']}): every thread's instructions, the median",
        f"of {data['windows']} windows of {data['requests_per_window']} requests over one keep-alive connection after "
        f"{data['warmup']} warm-up requests. These do not move with the machine's load.",
        "",
        "| request | instructions | × healthz | target |",
        "| --- | ---: | ---: | --- |",
    ]
    for key, row in data["results"].items():
        target = ""
        if key == "list":
            ok = row["ratio_to_healthz"] <= 2.5
            target = "≤ 2.5× " + ("met" if ok else "**missed**")
        for fast, limit, what in (("list", 1.1, "GET /v1/tasks"), ("changes", 1.1, "GET /v1/tasks/changes"),
                                  ("sort_1k", 1.5, "the 1k list's"), ("move_1k", 1.5, "the 1k list's")):
            if f"ratio_to_{fast}" in row:
                ok = row[f"ratio_to_{fast}"] <= limit
                target = f"{row[f'ratio_to_{fast}']:.2f}× {what}: ≤ {limit}× " + ("met" if ok else "**missed**")
        lines.append(f"| {row['label']} | {row['instructions']:,} | {row['ratio_to_healthz']:.2f} | {target} |")
    return lines


def write_report():
    users, tasks = (int(x) for x in SEEDED)
    pgs = PG_SETTINGS
    lines = [
        "# listo benchmarks",
        "",
        f"Machine: {machine()}.",
        "",
        f"Command: `bench/run.sh` (builds the release binary and `examples/seed.rs`, then, once per store, seeds",
        f"{users:,} users and {tasks:,} tasks through the storage layer, starts listo on 127.0.0.1 with a 24 h session",
        "TTL and no login rate limit, signs users in through the emailed code, and runs",
        "`wrk --latency -s bench/request.lua` for each scenario). Stores:",
        "",
        "- SQLite: a file in a temp folder (`synchronous=FULL`).",
        f"- PostgreSQL {pgs.get('server_version', '?').split()[0]}: a throwaway cluster from `scripts/lib/postgres.sh` in a temp folder on the",
        f"  same machine, reached over TCP on loopback; fsync={pgs.get('fsync')}, "
        f"synchronous_commit={pgs.get('synchronous_commit')} (both checked with `SHOW`),",
        f"  wal_sync_method={pgs.get('wal_sync_method')}, shared_buffers={pgs.get('shared_buffers')}, "
        f"max_connections={pgs.get('max_connections')}, everything else the defaults.",
        "  `VACUUM ANALYZE` and `CHECKPOINT` run once after seeding (autovacuum would otherwise analyze the",
        "  fresh tables, and a checkpoint write the seed's pages, in the middle of some scenario). listo holds",
        "  up to 16 connections (the `LISTO_DATABASE_POOL` default), gets `LISTO_SECRET` set explicitly, and",
        "  keeps no session cache: every token check is a query.",
        "",
        "Peak RSS is listo's own `VmHWM`, reset before each scenario. PostgreSQL is a separate server whose",
        "memory is not in it: \"PG server MB\" is the proportional set size (shared memory counted once) of all",
        "the cluster's processes, read at the end of each scenario.",
        "Time ratios are taken from requests/s at the same concurrency (higher ratio = slower).",
        f"\"POST /v1/tasks, {CREATORS} users\" runs wrk with {CREATORS} threads of one connection each, every connection",
        f"signed in as a different user (creator0..{CREATORS - 1}); every other scenario uses one user's token.",
        "\"GET changes\" reads one page (`limit=100`) of `GET /v1/tasks/changes`: sort1k's feed holds 1,000 changes",
        "and list100k's 100,000 (one per seeded task); `since` is the user's latest position less 100 (read from",
        "`users.change_seq`), so every request answers the last 100 changes, or 0 for the first 100.",
        "",
        "| scenario | SQLite req/s | p50 ms | p99 ms | errors | peak RSS MB "
        "| PostgreSQL req/s | p50 ms | p99 ms | errors | peak RSS MB | PG server MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    names = []
    for run in RUNS.values():
        for r in run.rows:
            if r["name"] not in names:
                names.append(r["name"])
    for name in names:
        cells = [name]
        for store, _ in STORES:
            r = next((r for r in RUNS[store].rows if r["name"] == name), None) if store in RUNS else None
            if r is None:
                cells += ["–"] * 5
            else:
                cells += [f"{r['rps']:.0f}", f"{r['p50']:.2f}", f"{r['p99']:.2f}", str(r["errors"]), f"{r['rss']:.1f}"]
            if store == "postgres":
                cells.append(f"{r['pg_mb']:.0f}" if r and r.get("pg_mb") is not None else "–")
        lines.append("| " + " | ".join(cells) + " |")

    errors = [f"{label}, {r['name']}: {r['detail']}" for store, label in STORES if store in RUNS
              for r in RUNS[store].rows if r.get("detail")]
    if errors:
        lines += ["", "Errors (wrk counts a response slower than its 2 s timeout as an error): " + "; ".join(errors) + "."]
    lines += ["", "| figure | SQLite | PostgreSQL | target |", "| --- | ---: | ---: | --- |"]
    figures = {store: {name: value for name, value, _ in run.figures} for store, run in RUNS.items()}
    for name, _, target in next(iter(RUNS.values())).figures:
        cells = [met(figures.get(store, {}).get(name), target) for store, _ in STORES]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {target} |")

    p = RUNS.get("postgres") and RUNS["postgres"].processes
    if p:
        one, (a, b), total = p["one"], p["two"], p["total"]
        lines += [
            "",
            "One vs two listo processes on the same PostgreSQL database: authenticated",
            "`GET /v1/tasks?page=1&per_page=20` (100-task user), 32 connections in all. (a) one listo, one wrk",
            f"({THREADS} threads, 32 connections); (b) a second listo on another port, same database and `LISTO_SECRET`,",
            "and two wrk at the same time (1 thread, 16 connections each), one per process. Each listo holds its",
            "own pool of up to 16 PostgreSQL connections.",
            "",
            "| run | req/s | p50 ms | p99 ms | errors | listo peak RSS MB | PG server MB |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| (a) one listo, 32 connections | {one['rps']:.0f} | {one['p50']:.2f} | {one['p99']:.2f} | {one['errors']} "
            f"| {one['rss']:.1f} | {one['pg_mb']:.0f} |",
            f"| (b) listo A, 16 connections | {a['rps']:.0f} | {a['p50']:.2f} | {a['p99']:.2f} | {a['errors']} "
            f"| {a['rss']:.1f} | |",
            f"| (b) listo B, 16 connections | {b['rps']:.0f} | {b['p50']:.2f} | {b['p99']:.2f} | {b['errors']} "
            f"| {b['rss']:.1f} | |",
            f"| (b) total (p99: the worse of the two) | {total['rps']:.0f} | | {total['p99']:.2f} | {total['errors']} "
            f"| | {b['pg_mb']:.0f} |",
            "",
            f"Total requests/s, (b) / (a): {total['rps'] / one['rps']:.2f}."
            + "".join(f" Errors in {label}: {r['detail']}." for label, r in [("(a)", one), ("(b) A", a), ("(b) B", b)]
                      if r.get("detail")),
        ]
    streams = {store: run.streams for store, run in RUNS.items() if run.streams}
    if streams:
        def cell(store, fmt):
            st = streams.get(store)
            return fmt(st) if st else "–"
        measures = [
            ("streams opened (failed)", lambda st: f"{st['opened']:,} ({st['failed']})"),
            ("time to open them all, s", lambda st: f"{st['open_s']:.1f}"),
            ("listo VmRSS before, MB", lambda st: f"{st['rss_before_kb'] / 1024:.1f}"),
            ("listo VmRSS with the streams open, MB", lambda st: f"{st['rss_open_kb'] / 1024:.1f}"),
            (f"listo VmRSS after {STREAM_CHANGES} changes, MB", lambda st: f"{st['rss_after_kb'] / 1024:.1f}"),
            ("listo VmRSS 1 s after closing them, MB", lambda st: f"{st['rss_closed_kb'] / 1024:.1f}"),
            ("memory per stream, open / after the changes, KB",
             lambda st: f"{st['kb_per_stream']:.1f} / {st['kb_per_stream_after']:.1f}"),
            ("listo peak RSS, MB", lambda st: f"{st['peak_mb']:.1f}"),
            ("fan-out median / p99 / max, ms", lambda st: f"{st['p50']:.1f} / {st['p99']:.1f} / {st['max']:.1f}"
             if st["deliveries"] else "–"),
            (f"deliveries (of {STREAM_CHANGES} × streams)", lambda st: f"{st['deliveries']:,}"),
            ("bench.py's own CPU per change (reading the 1,000 sockets), ms", lambda st: f"{st['client_cpu_ms']:.1f}"),
            (f"missing after {STREAM_WAIT:.0f} s / streams lost / repeated or out of order",
             lambda st: f"{st['missing']} / {st['lost']} / {st['disorder']}"),
            ("PG server MB", lambda st: f"{st['pg_mb']:.0f}" if st.get("pg_mb") is not None else "–"),
        ]
        lines += [
            "",
            f"{STREAMS:,} open SSE streams (`GET /v1/tasks/events`) of one user, all with the same token, on a",
            "fresh listo started on the same database for this scenario (so its heap holds nothing left over",
            "from the wrk runs). bench.py opens them on raw asyncio sockets (64 connecting at a time), after a",
            "warm-up of 10 streams and one change; memory per stream is listo's VmRSS with them open less",
            "VmRSS before, over the streams opened. Then it creates a task (`POST /v1/tasks`, same user)",
            f"{STREAM_CHANGES} times, each after every stream heard the previous one (or {STREAM_WAIT:.0f} s passed) and",
            "150 ms more; fan-out is the time from just before sending the POST until a stream received that",
            "task's `upsert` event, over every delivery. The client is one Python process on the same two",
            "cores, so its own reading of 1,000 sockets is part of the figure.",
            "",
            "| measure | SQLite | PostgreSQL |",
            "| --- | ---: | ---: |",
        ] + [f"| {name} | {cell('sqlite', fmt)} | {cell('postgres', fmt)} |" for name, fmt in measures]
    lines += kept.report({store: run.kept for store, run in RUNS.items() if run.kept}, STORES)
    lines += lists.report({store: run.lists for store, run in RUNS.items() if run.lists}, STORES, met,
                          {store: run.migration for store, run in RUNS.items() if run.migration})
    lines += instructions_section()
    lines.append("")
    notes = ROOT / "bench/NOTES.md"
    if notes.exists():
        lines += [notes.read_text()]
    REPORT.write_text("\n".join(lines))
    start = next(i for i, l in enumerate(lines) if l.startswith("| figure"))
    end = lines.index("", start)
    print("\n".join(lines[start:end]))
    print(f"bench: wrote {REPORT}")


if __name__ == "__main__":
    main()
