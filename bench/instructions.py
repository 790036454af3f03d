#!/usr/bin/env python3
"""Instructions per request: listo on SQLite under valgrind's callgrind (run through
bench/instructions.sh, which builds the release binary and installs valgrind first).

Wall-clock figures (bench/run.sh) move with whatever else the machine is doing; instruction counts
do not. This starts the release binary under `valgrind --tool=callgrind --instr-atstart=no`, sets
up two users over HTTP with instrumentation off (register, login, the code from the newest .eml in
the outbox, verify; 100 tasks each), switches instrumentation on, then for each kind of request:

  - sends WARMUP unmeasured requests of that kind,
  - WINDOWS times: zeroes the counters (callgrind_control --zero), sends N requests sequentially
    over ONE keep-alive connection (so no connection setup is counted), dumps the counters
    (callgrind_control --dump) and reads the dump's total Ir (every thread: tokio workers, the
    SQLite readers and the writer thread; --separate-threads=no),
  - reports the median window's Ir / N (a window hit by the once-a-minute sweeper, or by a WAL
    checkpoint, is an outlier, not the figure); all windows are in the JSON.

Kinds (the list user has exactly 100 tasks; creates go to a second user so the list stays at 100):
  healthz   GET /healthz
  session   GET /v1/auth/session (Bearer)
  list      GET /v1/tasks?page=1&per_page=20 (totals included)
  list_in_list  GET /v1/lists/{id}/tasks?page=1&per_page=20: the list user's second list, also of
            100 tasks (made over HTTP after the first 100, with POST /v1/lists and
            POST /v1/lists/{id}/tasks, only when this kind runs)
  list_by_id  GET /v1/lists/{id}/tasks?page=1&per_page=20 with the id of the default list: the same
            list as `list`, by the per-list route (its own read transaction, the list looked up)
  changes   GET /v1/tasks/changes?since=S&limit=100, S just before the list user's first task: the
            100 creates of its default list
  feed      GET /v1/changes?since=S&limit=100: the same 100 entries (checked) through the feed of
            everything
  create    POST /v1/tasks {"date":"2026-11-25","task":"bench task","status":"Incomplete"}
  sort      POST /v1/tasks/sort?page=1&per_page=20, the page's ids reversed; it alternates between
            the page's order and its reverse, so every sort really moves tasks
  move      POST /v1/tasks/{id}/move, {"to":"start"} alternating with {"to":"end"}
  sort_1k, sort_100k   POST /v1/lists/{id}/tasks/sort?page=1&per_page=20 in a list of 1,000 and
            one of 100,000 tasks (a third user's; filled straight in the database as bench/lists.py
            fills its lists, only when these kinds run), page 1 reversed and back in turn
  move_1k, move_100k   POST /v1/tasks/{id}/move in those lists: a task of page 25 placed after the
            task 10 places on, then before the one 5 places on, in turn (each moves it)

Every answer is checked (status, and that sorts and moves did what was asked).

  python3 bench/instructions.py [--json PATH] [--only list,session] [--keep DIR]
  env: INSTR_N (requests per window, 200), INSTR_WINDOWS (5), INSTR_WARMUP (20),
       INSTR_JSON (JSON results path), INSTR_KEEP (keep the callgrind dumps in this folder),
       INSTR_ONLY (kinds), LISTO_BIN (binary; default $CARGO_TARGET_DIR/release/listo, or
       target/release/listo), INSTR_CALLGRIND_ARGS (extra valgrind options, e.g. --dump-instr=yes)
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench password 1"
KINDS = ["healthz", "session", "list", "list_in_list", "list_by_id", "changes", "feed", "create", "sort", "move",
         "sort_1k", "sort_100k", "move_1k", "move_100k"]
BIG = {"1k": 1_000, "100k": 100_000}  # the lists of the sort_* and move_* kinds
LABELS = {
    "healthz": "GET /healthz",
    "session": "GET /v1/auth/session",
    "list": "GET /v1/tasks?page=1&per_page=20 (100 tasks)",
    "list_in_list": "GET /v1/lists/{id}/tasks?page=1&per_page=20 (2nd list, 100 tasks)",
    "list_by_id": "GET /v1/lists/{default id}/tasks?page=1&per_page=20 (100 tasks)",
    "changes": "GET /v1/tasks/changes?since=S&limit=100 (100 changes)",
    "feed": "GET /v1/changes?since=S&limit=100 (the same 100)",
    "create": "POST /v1/tasks",
    "sort": "POST /v1/tasks/sort (20 ids, reversed)",
    "move": "POST /v1/tasks/{id}/move (start/end)",
    "sort_1k": "POST /v1/lists/{id}/tasks/sort (20 ids), 1k-task list",
    "sort_100k": "POST /v1/lists/{id}/tasks/sort (20 ids), 100k-task list",
    "move_1k": "POST /v1/tasks/{id}/move (after/before, mid-list), 1k-task list",
    "move_100k": "POST /v1/tasks/{id}/move (after/before, mid-list), 100k-task list",
}
TIMEOUT = 300  # seconds for one request: everything is ~50x slower under valgrind
NEW_TASK = {"date": "2026-11-25", "task": "bench task", "status": "Incomplete"}


def log(msg):
    print(f"instructions: {msg}", flush=True)


def default_bin():
    if os.environ.get("LISTO_BIN"):
        return Path(os.environ["LISTO_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    if not target.is_absolute():
        target = ROOT / target
    return target / "release/listo"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive HTTP/1.1 connection; counts (re)connections so a measured window can be
    checked to have used the connection it started with."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        self.connects = 0

    def request(self, method, path, body=None, token=None, expect=(200,)):
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if self.conn.sock is None:
            self.conn.connect()
            self.connects += 1
            self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status not in expect:
            raise SystemExit(f"instructions: {method} {path} answered {resp.status}: {raw[:500]!r}")
        if resp.will_close:
            self.conn.close()
        return json.loads(raw) if raw else None

    def close(self):
        self.conn.close()


class Listo:
    """The release binary under callgrind, with instrumentation off until `instrument()`."""

    def __init__(self, binary, work: Path, keep: Path | None):
        self.work = work
        self.dumps = keep or (work / "callgrind")
        self.dumps.mkdir(parents=True, exist_ok=True)
        self.outbox = work / "outbox"
        self.port = free_port()
        env = dict(
            os.environ,
            LISTO_DATABASE=str(work / "listo.db"),
            LISTO_ADDR=f"127.0.0.1:{self.port}",
            PORT=str(self.port),
            LISTO_OUTBOX=str(self.outbox),
            LISTO_SESSION_TTL="86400",
            LISTO_LOGIN_LIMIT_PER_EMAIL="0",
            LISTO_LOGIN_LIMIT_PER_ADDR="0",
            LISTO_LOGIN_LIMIT_PER_EMAIL_HOURLY="0",
            LISTO_CODE_LIMIT_PER_HOUR="0",
            # Under valgrind a request takes milliseconds and a callgrind_control call a second:
            # no keep-alive connection may be dropped for idleness meanwhile.
            LISTO_IDLE_TIMEOUT="3600",
            LISTO_HEADER_TIMEOUT="3600",
            RUST_LOG="info",  # as bench/run.sh: one log line per request is part of its cost
        )
        for name in ["LISTO_SECRET", "LISTO_SMTP_URL", "LISTO_CORS_ORIGINS", "LISTO_TRUST_PROXY"]:
            env.pop(name, None)
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=no",
               f"--callgrind-out-file={self.dumps}/cg.%p"]
        cmd += os.environ.get("INSTR_CALLGRIND_ARGS", "").split()
        cmd += [str(binary), "serve"]
        self.log_path = work / "listo.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    c.close()
                    return
                c.close()
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        sys.stderr.write(self.log_path.read_text(errors="replace")[-3000:])
        raise SystemExit("instructions: listo did not become ready under valgrind")

    def control(self, *args):
        out = subprocess.run(["callgrind_control", *args, str(self.pid)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
        if out.returncode != 0 or "Error" in out.stdout:
            raise SystemExit(f"instructions: callgrind_control {' '.join(args)} failed:\n{out.stdout}")
        return out.stdout

    def instrument(self, on):
        self.control("-i", "on" if on else "off")

    def zero(self):
        self.control("--zero")

    def dump(self, label):
        """Dumps the counters since the last zero/dump; returns (path, total Ir)."""
        before = set(self.dumps.glob(f"cg.{self.pid}.*"))
        self.control(f"--dump={label}")
        for _ in range(600):
            new = sorted(set(self.dumps.glob(f"cg.{self.pid}.*")) - before,
                         key=lambda p: int(p.name.rsplit(".", 1)[1]))
            if new:
                path = new[-1]
                total = read_total(path)
                if total is not None:
                    return path, total
            time.sleep(0.1)
        raise SystemExit(f"instructions: no callgrind dump appeared for {label}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def read_total(path: Path):
    """Total Ir of one callgrind dump: its `totals:` line (or `summary:`), first event."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    for key in ("totals:", "summary:"):
        m = re.search(rf"^{key}\s+(\d+)", text, re.M)
        if m:
            return int(m.group(1))
    return None


def git_head():
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    return out.stdout.strip() or None


def sign_in(client, outbox: Path, email):
    client.request("POST", "/v1/auth/register", {"email": email, "password": PASSWORD}, expect=(201,))
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    challenge = client.request("POST", "/v1/auth/login", {"email": email, "password": PASSWORD},
                               expect=(202,))["challenge_id"]
    for _ in range(3000):
        new = set(outbox.glob("*.eml")) - before if outbox.exists() else set()
        for path in sorted(new, key=lambda p: p.stat().st_mtime, reverse=True):
            text = path.read_text(errors="replace").replace("=\n", "")
            if f"To: {email}" in text:
                code = re.search(r"code is (\d{6})", text).group(1)
                return client.request("POST", "/v1/auth/verify", {"challenge_id": challenge, "code": code},
                                      expect=(200,))["access_token"]
        time.sleep(0.05)
    raise SystemExit(f"instructions: no code email for {email}")


def page_ids(client, token):
    return [t["id"] for t in client.request("GET", "/v1/tasks?page=1&per_page=20", token=token)["items"]]


class Kinds:
    """One function per kind of request: `send(i)` sends the i-th request of that kind and checks it."""

    def __init__(self, client, reader, writer, list_ids, lists=None):
        self.c = client
        self.reader = reader
        self.writer = writer
        self.order = list(list_ids)  # page 1 of the list user as it is now
        self.mover = None
        self.move_to = "end"
        self.lists = lists or {}  # "default" and, when made, "second": the list user's list ids
        self.since = None  # just before the list user's first task in its feed
        self.feed_seqs = None
        self.lister = None  # the user of the sort_* and move_* kinds

    def feed_since(self):
        if self.since is None:
            first = self.c.request("GET", "/v1/tasks/changes?since=0&limit=1", token=self.reader)["changes"][0]
            self.since = first["seq"] - 1
        return self.since

    def list_in_list(self, i):
        page = self.c.request("GET", f"/v1/lists/{self.lists['second']}/tasks?page=1&per_page=20",
                              token=self.reader)
        if len(page["items"]) != 20 or page["total_items"] != 100:
            raise SystemExit(f"instructions: 2nd list page 1 has {len(page['items'])} of {page['total_items']}")

    def list_by_id(self, i):
        page = self.c.request("GET", f"/v1/lists/{self.lists['default']}/tasks?page=1&per_page=20",
                              token=self.reader)
        if [t["id"] for t in page["items"]] != self.order or page["total_items"] != 100:
            raise SystemExit("instructions: the default list by id is not the list's page 1")

    def changes(self, i):
        page = self.c.request("GET", f"/v1/tasks/changes?since={self.feed_since()}&limit=100", token=self.reader)
        seqs = [c["seq"] for c in page["changes"]]
        if len(seqs) != 100 or (self.feed_seqs is not None and seqs != self.feed_seqs):
            raise SystemExit(f"instructions: /v1/tasks/changes answered {len(seqs)} changes")
        self.feed_seqs = seqs

    def feed(self, i):
        page = self.c.request("GET", f"/v1/changes?since={self.feed_since()}&limit=100", token=self.reader)
        seqs = [c["seq"] for c in page["changes"]]
        if len(seqs) != 100 or any(c["kind"] != "upsert" for c in page["changes"]) or (
                self.feed_seqs is not None and seqs != self.feed_seqs):
            raise SystemExit("instructions: /v1/changes did not answer the 100 changes /v1/tasks/changes does")
        self.feed_seqs = seqs

    def healthz(self, i):
        self.c.request("GET", "/healthz")

    def session(self, i):
        self.c.request("GET", "/v1/auth/session", token=self.reader)

    def list(self, i):
        page = self.c.request("GET", "/v1/tasks?page=1&per_page=20", token=self.reader)
        if len(page["items"]) != 20 or page["total_items"] != 100:
            raise SystemExit(f"instructions: page 1 has {len(page['items'])} items of {page['total_items']}")

    def create(self, i):
        self.c.request("POST", "/v1/tasks", NEW_TASK, token=self.writer, expect=(201,))

    def sort_big(self, size):
        list_id, order, _ = self.lists[size]
        wanted = order[::-1]
        page = self.c.request("POST", f"/v1/lists/{list_id}/tasks/sort?page=1&per_page=20",
                              {"task_ids": wanted}, token=self.lister)
        got = [t["id"] for t in page["items"]]
        if got != wanted:
            raise SystemExit(f"instructions: sort of the {size} list answered {got}, not {wanted}")
        self.lists[size] = (list_id, got, self.lists[size][2])

    def move_big(self, size, i):
        _, _, middle = self.lists[size]
        body = {"after_id": middle[10]} if i % 2 == 0 else {"before_id": middle[5]}
        task = self.c.request("POST", f"/v1/tasks/{middle[0]}/move", body, token=self.lister)
        if task["id"] != middle[0]:
            raise SystemExit(f"instructions: move answered task {task['id']}")

    def sort_1k(self, i):
        self.sort_big("1k")

    def sort_100k(self, i):
        self.sort_big("100k")

    def move_1k(self, i):
        self.move_big("1k", i)

    def move_100k(self, i):
        self.move_big("100k", i)

    def sort(self, i):
        # The page's current order reversed: every sort really moves every task of the page.
        wanted = self.order[::-1]
        page = self.c.request("POST", "/v1/tasks/sort?page=1&per_page=20", {"task_ids": wanted},
                              token=self.reader)
        got = [t["id"] for t in page["items"]]
        if got != wanted:
            raise SystemExit(f"instructions: sort answered {got}, not {wanted}")
        self.order = got

    def move(self, i):
        if self.mover is None:
            # A task on page 1 of the writer's list; it goes to the end, then back to the start...
            self.mover = page_ids(self.c, self.writer)[0]
        self.move_to = "start" if self.move_to == "end" else "end"
        task = self.c.request("POST", f"/v1/tasks/{self.mover}/move", {"to": self.move_to},
                              token=self.writer)
        if task["id"] != self.mover:
            raise SystemExit(f"instructions: move answered task {task['id']}")


def functions(path: Path):
    """Self and inclusive Ir per function of one callgrind dump, inlined code counted in the function
    it was inlined into (callgrind_annotate splits it by source file). A call of a function to itself
    is not added to its inclusive cost again."""
    names, fn, after_call, callee = {}, None, False, None
    own, incl = {}, {}

    def name(ref):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?", ref)
        if not m:
            return ref
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), ref)

    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("fn="):
            fn = name(line[3:])
            own.setdefault(fn, 0)
            incl.setdefault(fn, 0)
        elif line.startswith("cfn="):
            callee = name(line[4:])
        elif line.startswith("calls="):
            after_call = True
        elif fn and line[:1] in "0123456789+-*":
            parts = line.split()
            cost = int(parts[1]) if len(parts) > 1 else 0
            if after_call:
                if callee != fn:
                    incl[fn] += cost
                after_call = False
            else:
                own[fn] += cost
                incl[fn] += cost
    return own, incl


def annotate(path: Path, per: int, top: int):
    own, incl = functions(path)
    total = read_total(path)
    print(f"{path}: {total:,} Ir in all, {total / per:,.0f} per request ({per} requests)")
    # Recursion levels (callgrind names them fn'2, fn'3) and async cycles count their callees more
    # than once inclusively: left out of the inclusive table.
    incl = {fn: c for fn, c in incl.items() if not re.search(r"'\d+$", fn) and c <= total}
    for title, table in [("inclusive", incl), ("self", own)]:
        print(f"\ntop {top} functions by {title} Ir per request")
        for fn, cost in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"{cost / per:>10,.0f} {100 * cost / total:>6.1f}%  {fn[:150]}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "annotate":
        ap = argparse.ArgumentParser(prog="instructions.py annotate",
                                     description="top functions of one dump (an unstripped build's), per request")
        ap.add_argument("dump")
        ap.add_argument("--per", type=int, default=int(os.environ.get("INSTR_N", "200")),
                        help="requests in the dump's window")
        ap.add_argument("--top", type=int, default=25)
        a = ap.parse_args(sys.argv[2:])
        annotate(Path(a.dump), a.per, a.top)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default=os.environ.get("INSTR_JSON"), help="write the results here")
    ap.add_argument("--only", default=os.environ.get("INSTR_ONLY", ""), help="comma-separated kinds")
    ap.add_argument("--keep", default=os.environ.get("INSTR_KEEP"), help="keep the callgrind dumps here")
    ap.add_argument("--bin", default=str(default_bin()))
    ap.add_argument("-n", type=int, default=int(os.environ.get("INSTR_N", "200")), help="requests per window")
    ap.add_argument("--windows", type=int, default=int(os.environ.get("INSTR_WINDOWS", "5")))
    ap.add_argument("--warmup", type=int, default=int(os.environ.get("INSTR_WARMUP", "20")))
    args = ap.parse_args()
    kinds = [k for k in args.only.split(",") if k] or KINDS
    for k in kinds:
        if k not in KINDS:
            raise SystemExit(f"instructions: unknown kind {k!r} (known: {', '.join(KINDS)})")
    if "healthz" not in kinds:
        kinds = ["healthz"] + kinds  # the ratios need it
    kinds = [k for k in KINDS if k in kinds]
    binary = Path(args.bin)
    if not binary.exists():
        raise SystemExit(f"instructions: no binary at {binary} (build it: bench/instructions.sh)")
    for tool in ["valgrind", "callgrind_control"]:
        if not shutil.which(tool):
            raise SystemExit(f"instructions: needs {tool} (bench/instructions.sh installs valgrind)")
    valgrind_version = subprocess.run(["valgrind", "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()

    work = Path(tempfile.mkdtemp(prefix="listo-instr-"))
    keep = Path(args.keep).resolve() if args.keep else None
    listo = None
    started = time.monotonic()
    try:
        log(f"{binary} under {valgrind_version} (callgrind), work folder {work}")
        listo = Listo(binary, work, keep)
        log(f"listo is up (pid {listo.pid}) after {time.monotonic() - started:.0f} s; setting up users and tasks")
        client = Client(listo.port)
        reader = sign_in(client, listo.outbox, "reader@bench.example")
        writer = sign_in(client, listo.outbox, "writer@bench.example")
        for token in (reader, writer):
            for i in range(100):
                client.request("POST", "/v1/tasks", {"date": "2026-11-24", "task": f"bench task {i}",
                                                     "status": "Incomplete" if i % 2 else "Completed"},
                               token=token, expect=(201,))
        lists = {"default": client.request("GET", "/v1/lists", token=reader)["items"][0]["id"]}
        if "list_in_list" in kinds:
            second = client.request("POST", "/v1/lists", {"name": "second"}, token=reader, expect=(201,))["id"]
            for i in range(100):
                client.request("POST", f"/v1/lists/{second}/tasks",
                               {"date": "2026-11-24", "task": f"bench task {i}",
                                "status": "Incomplete" if i % 2 else "Completed"}, token=reader, expect=(201,))
            lists["second"] = second
        runner = Kinds(client, reader, writer, page_ids(client, reader), lists)
        if any(k in kinds for k in ("sort_1k", "sort_100k", "move_1k", "move_100k")):
            runner.lister = sign_in(client, listo.outbox, "lister@bench.example")
            user_id = client.request("GET", "/v1/auth/session", token=runner.lister)["user"]["id"]
            import lists as bench_lists  # bench/lists.py: the same rows as its lists
            import sqlite3
            for size, n in BIG.items():
                list_id = client.request("POST", "/v1/lists", {"name": size}, token=runner.lister,
                                         expect=(201,))["id"]
                db = sqlite3.connect(work / "listo.db", timeout=60, isolation_level=None)
                rows = list(bench_lists.rows(user_id, list_id, n))
                for start in range(0, n, bench_lists.BATCH):
                    db.execute("BEGIN IMMEDIATE")
                    db.executemany(bench_lists.INSERT + "(?, ?, ?, ?, ?, ?, ?, ?)", rows[start:start + bench_lists.BATCH])
                    db.execute("COMMIT")
                db.execute("UPDATE users SET task_count = task_count + ? WHERE id = ?", (n, user_id))
                db.close()
                base = f"/v1/lists/{list_id}/tasks?per_page=20&page="
                total = client.request("GET", base + "1", token=runner.lister)["total_items"]
                if total != n:
                    raise SystemExit(f"instructions: the {size} list holds {total} tasks")
                first = [t["id"] for t in client.request("GET", base + "1", token=runner.lister)["items"]]
                middle = [t["id"] for t in client.request("GET", base + "25", token=runner.lister)["items"]]
                runner.lists[size] = (list_id, first, middle)
        log(f"set up in {time.monotonic() - started:.0f} s; instrumentation on")
        listo.instrument(True)
        results = {}
        for kind in kinds:
            send = getattr(runner, kind)
            t0 = time.monotonic()
            for i in range(args.warmup):
                send(i)
            windows = []
            for w in range(args.windows):
                connects = client.connects
                listo.zero()
                for i in range(args.n):
                    send(i)
                path, total = listo.dump(f"{kind}-{w}")
                if client.connects != connects:
                    raise SystemExit("instructions: the connection was re-opened inside a measured window")
                windows.append(total / args.n)
            per = statistics.median(windows)
            spread = (max(windows) - min(windows)) / per
            results[kind] = {"label": LABELS[kind], "instructions": round(per), "windows": [round(x) for x in windows],
                             "window_spread": spread}
            log(f"{kind:<8} {per:>12,.0f} Ir/request  (windows: {', '.join(f'{x:,.0f}' for x in windows)}; "
                f"spread {spread * 100:.2f}%; {time.monotonic() - t0:.0f} s)")
        listo.instrument(False)
    finally:
        if listo:
            listo.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.copy(work / "listo.log", keep / "listo.log")
            shutil.rmtree(work, ignore_errors=True)

    base = results["healthz"]["instructions"]
    for r in results.values():
        r["ratio_to_healthz"] = r["instructions"] / base
    print()
    print(f"Instructions per request (callgrind Ir, all threads; median of {args.windows} windows of "
          f"{args.n} requests over one keep-alive connection, after {args.warmup} warm-up requests)")
    print(f"{'request':<46} {'Ir/request':>12} {'x healthz':>10} {'window spread':>14}")
    for kind, r in results.items():
        print(f"{r['label']:<46} {r['instructions']:>12,} {r['ratio_to_healthz']:>10.2f} "
              f"{r['window_spread'] * 100:>13.2f}%")
    if "list" in results:
        ratio = results["list"]["ratio_to_healthz"]
        print(f"target: list page 1 <= 2.5x healthz: {ratio:.2f}x, {'met' if ratio <= 2.5 else 'NOT met'}")
    for slow, fast, what in [("list_in_list", "list", "a list's page 1 / /v1/tasks page 1"),
                             ("list_by_id", "list", "the default list by id / /v1/tasks page 1"),
                             ("feed", "changes", "/v1/changes / /v1/tasks/changes"),
                             ("sort_100k", "sort_1k", "a list's sort, 100k / 1k tasks"),
                             ("move_100k", "move_1k", "a move, 100k / 1k tasks")]:
        if slow in results and fast in results:
            ratio = results[slow]["instructions"] / results[fast]["instructions"]
            results[slow]["ratio_to_" + fast] = ratio
            limit = 1.5 if fast in ("sort_1k", "move_1k") else 1.1
            print(f"target: {what} <= {limit}x: {ratio:.2f}x, {'met' if ratio <= limit else 'NOT met'}")
    if args.json:
        out = {
            "tool": valgrind_version + " --tool=callgrind",
            "commit": git_head(),
            "date": time.strftime("%Y-%m-%d"),
            "binary": str(binary),
            "store": "sqlite",
            "requests_per_window": args.n,
            "windows": args.windows,
            "warmup": args.warmup,
            "statistic": "median window, Ir / requests",
            "results": results,
        }
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        log(f"wrote {args.json}")
    log(f"took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
