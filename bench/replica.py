#!/usr/bin/env python3
"""What LISTO_REPLICA costs: restore time, S3 requests, stop times and handover, against a real S3
server (moto, pinned, scripts/lib/moto.sh) with the pinned Litestream (scripts/lib/litestream.sh)
and the release binary. Prints markdown tables for BENCHMARKS.md ("Replica (LISTO_REPLICA)").

    cargo build --release --bin listo && python3 bench/replica.py
    IDLE=600 python3 bench/replica.py          idle window in seconds (default 180; scaled to an hour)
    RESTORE_TASKS=10000,100000 REPEAT=3 python3 bench/replica.py

  LISTO_BIN        the binary (default target/release/listo, or $CARGO_TARGET_DIR/release/listo)
  BENCH_MOTO       moto's venv folder (default /tmp/listo-moto-bench; ~1 min to create once)
  BENCH_LITESTREAM folder for the litestream binary (default /tmp/listo-litestream-bench)

moto logs one line per request (method and path); the counts below are read from it, split into
the lease object's requests (listo-lease.json: listo's own) and everything else (Litestream's).
"""

import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (free_port, PASSWORD, machine's CPU line)

ROOT = bench.ROOT
BIN = Path(os.environ.get("LISTO_BIN") or bench.BIN).resolve()
MOTO_DIR = Path(os.environ.get("BENCH_MOTO") or "/tmp/listo-moto-bench")
LS_DIR = Path(os.environ.get("BENCH_LITESTREAM") or "/tmp/listo-litestream-bench")
IDLE = int(os.environ.get("IDLE", "180"))
RESTORE_TASKS = [int(x) for x in os.environ.get("RESTORE_TASKS", "10000,100000").split(",") if x]
REPEAT = int(os.environ.get("REPEAT", "3"))
ROUNDS = 5  # stop times and handovers: median of 5
BUCKET = "bench"
EMAIL = "replica@bench.example"
TASK = {"date": "2026-12-03", "task": "replicated task", "status": "Incomplete"}
CHILDREN = []


def sh(*args):
    return subprocess.run(list(args), check=True, stdout=subprocess.PIPE, text=True).stdout.strip()


def now():
    return time.monotonic()


class Listo:
    """The release binary on a folder of its own; with `replica`, on s3://bench/<replica>."""

    def __init__(self, work: Path, replica=None, tag="", extra=None):
        self.work, self.data = work, work / "data"
        self.port = bench.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTO_", "AWS_", "LITESTREAM_"))}
        env.update(LISTO_ADDR=f"127.0.0.1:{self.port}", LISTO_DATABASE=str(self.data / "listo.db"),
                   LISTO_OUTBOX=str(work / "outbox"), LISTO_SESSION_TTL="86400",
                   LISTO_LOGIN_LIMIT_PER_EMAIL="0", LISTO_LOGIN_LIMIT_PER_ADDR="0",
                   LISTO_TASKS_PER_USER="0", RUST_LOG="info")
        if replica:
            env.update(LISTO_REPLICA=f"s3://{BUCKET}/{replica}", LISTO_REPLICA_ENDPOINT=MOTO_URL,
                       LISTO_REPLICA_REGION="us-east-1", LISTO_LITESTREAM=LITESTREAM,
                       AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
        env.update(extra or {})
        self.log = open(work / f"listo{tag}.log", "a")
        self.started = now()
        self.proc = subprocess.Popen([str(BIN), "serve"], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        CHILDREN.append(self.proc)

    def status(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def ready(self, timeout=300):
        """Seconds from start to the first /readyz 200 (polled every 20 ms)."""
        deadline = now() + timeout
        while now() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"bench: listo exited {self.proc.returncode}; see {self.log.name}")
            if self.status("/readyz") == 200:
                return now() - self.started
            time.sleep(0.02)
        raise SystemExit(f"bench: listo not ready in {timeout} s")

    def stop(self, sig=signal.SIGTERM):
        """Seconds from the signal to exit; the exit status must be 0 after SIGTERM."""
        t = now()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=60)
        took = now() - t
        self.log.close()
        if sig == signal.SIGTERM and code != 0:
            raise SystemExit(f"bench: listo exited {code} after SIGTERM; see {self.log.name}")
        return took

    def call(self, method, path, body=None, token=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def sign_in(self, register=False):
        if register:
            self.call("POST", "/v1/auth/register", {"email": EMAIL, "password": bench.PASSWORD})
        outbox = self.work / "outbox"
        before = set(os.listdir(outbox)) if outbox.exists() else set()
        challenge = self.call("POST", "/v1/auth/login", {"email": EMAIL, "password": bench.PASSWORD})["challenge_id"]
        for _ in range(250):
            for name in set(os.listdir(outbox)) - before:
                code = re.search(r"code is (\d{6})", (outbox / name).read_text().replace("=\n", "")).group(1)
                return self.call("POST", "/v1/auth/verify", {"challenge_id": challenge, "code": code})["access_token"]
            time.sleep(0.02)
        raise SystemExit("bench: no code email")

    def total(self, token):
        return self.call("GET", "/v1/tasks?page=1&per_page=1", token=token)["total_items"]

    def create(self, token, count, connections=1, per_second=None):
        """`count` creates over `connections` keep-alive connections; paced when per_second."""
        body = json.dumps(TASK)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        errors = []

        def worker(n, start):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            for i in range(n):
                if per_second:
                    time.sleep(max(0.0, start + i / per_second - now()))
                conn.request("POST", "/v1/tasks", body, headers)
                r = conn.getresponse()
                r.read()
                if r.status != 201:
                    errors.append(r.status)
                    return
            conn.close()

        start = now()
        threads = [threading.Thread(target=worker, args=(count // connections + (i < count % connections), start))
                   for i in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise SystemExit(f"bench: a create answered {errors[0]}")
        return now() - start


# --- moto's log --------------------------------------------------------------------------------
LINE = re.compile(r'"(GET|PUT|POST|DELETE|HEAD) (\S+) HTTP')


def log_mark():
    return (MOTO_DIR / "moto.log").stat().st_size


def requests_since(mark, prefix):
    """Requests on s3://bench/<prefix> since `mark`: {"lease": {KIND: n}, "litestream": {KIND: n}}."""
    with open(MOTO_DIR / "moto.log", "rb") as f:
        f.seek(mark)
        text = f.read().decode(errors="replace")
    counts = {"lease": {}, "litestream": {}}
    for method, target in LINE.findall(text):
        path, _, query = target.partition("?")
        if not (path.startswith(f"/{BUCKET}/{prefix}/") or f"prefix={prefix}" in query):
            continue
        kind = "LIST" if method == "GET" and ("list-type" in query or path.rstrip("/") == f"/{BUCKET}") else method
        who = "lease" if "listo-lease" in path else "litestream"
        counts[who][kind] = counts[who].get(kind, 0) + 1
    return counts


def replica_bytes(prefix):
    """Bytes and objects under s3://bench/<prefix> (moto checks no signature: a plain GET lists)."""
    total = objects = 0
    token = ""
    while True:
        url = f"{MOTO_URL}/{BUCKET}?list-type=2&prefix={prefix}/" + (f"&continuation-token={token}" if token else "")
        xml = urllib.request.urlopen(url, timeout=10).read().decode()
        sizes = [int(s) for s in re.findall(r"<Size>(\d+)</Size>", xml)]
        total, objects = total + sum(sizes), objects + len(sizes)
        m = re.search(r"<NextContinuationToken>([^<]+)</NextContinuationToken>", xml)
        if not m:
            return total, objects
        token = urllib.parse.quote(m.group(1))


def fmt_counts(c):
    kinds = ["PUT", "GET", "LIST", "HEAD", "DELETE", "POST"]
    return " ".join(f"{k} {c[k]}" for k in kinds if c.get(k)) or "none"


def class_ab(c):
    """R2's classes: A = PUT, POST, LIST (and COPY, multipart); B = GET, HEAD. DELETE is free."""
    return c.get("PUT", 0) + c.get("POST", 0) + c.get("LIST", 0), c.get("GET", 0) + c.get("HEAD", 0)


# --- scenarios ---------------------------------------------------------------------------------
def restore(work, tasks):
    """A database of `tasks` tasks, replicated once, then wiped: start to /readyz 200, REPEAT times."""
    folder = work / f"restore-{tasks}"
    folder.mkdir()
    plain = Listo(folder)
    plain.ready()
    token = plain.sign_in(register=True)
    took = plain.create(token, tasks, connections=16)
    print(f"bench: {tasks} tasks created in {took:.1f} s ({tasks / took:.0f}/s, 16 keep-alive connections)",
          flush=True)
    plain.stop()
    size = sum(f.stat().st_size for f in folder.glob("data/*"))
    first = Listo(folder, replica=f"restore-{tasks}")
    replicate_s = first.ready()
    first.stop()
    stored, objects = replica_bytes(f"restore-{tasks}")
    times = []
    for _ in range(REPEAT):
        shutil.rmtree(folder / "data")
        again = Listo(folder, replica=f"restore-{tasks}")
        times.append(again.ready())
        got = again.total(token)  # sessions live in the database: the old token is restored too
        restored = (folder / "data/listo.db").stat().st_size
        again.stop()
        if got != tasks:
            raise SystemExit(f"bench: {got} tasks after the restore, not {tasks}")
    row = {"tasks": tasks, "db_bytes": size, "restored_bytes": restored, "replica_bytes": stored,
           "objects": objects, "first_replicate_s": replicate_s, "restore_s": times}
    print(f"bench: restore {tasks}: {json.dumps(row)}", flush=True)
    return row


def requests(work):
    """Idle for IDLE s, then 1,000 creates back to back, then 1,000 at 10/s: requests per window."""
    folder = work / "requests"
    folder.mkdir()
    listo = Listo(folder, replica="requests")
    listo.ready()
    token = listo.sign_in(register=True)
    time.sleep(10)  # let the first syncs and the sign-in's writes settle
    rows = {}
    mark, t = log_mark(), now()
    time.sleep(IDLE)
    rows["idle"] = (requests_since(mark, "requests"), now() - t)
    print(f"bench: idle {IDLE} s: {rows['idle']}", flush=True)
    for name, rate in [("burst", None), ("paced", 10)]:
        mark, t = log_mark(), now()
        took = listo.create(token, 1000, per_second=rate)
        time.sleep(3)  # the last sync (sync interval 1 s + monitor interval 1 s)
        rows[name] = (requests_since(mark, "requests"), now() - t, took)
        print(f"bench: 1,000 creates {name}: {rows[name]}", flush=True)
    listo.stop()
    return rows


def stops(work):
    """SIGTERM to exit, idle and right after 100 creates; then a wipe shows the writes came back."""
    folder = work / "stops"
    folder.mkdir()
    out = {"idle": [], "after 100 writes": []}
    token, expected = None, 0
    for i in range(ROUNDS):
        for kind in out:
            listo = Listo(folder, replica="stops")
            listo.ready()
            if token is None:
                token = listo.sign_in(register=True)
            if kind == "idle":
                time.sleep(2)
            else:
                listo.create(token, 100)
                expected += 100
            out[kind].append(listo.stop())
    shutil.rmtree(folder / "data")
    listo = Listo(folder, replica="stops")
    listo.ready()
    got = listo.total(token)
    listo.stop()
    if got != expected:
        raise SystemExit(f"bench: {got} tasks after the stops and a wipe, not {expected}")
    print(f"bench: stops: {out}", flush=True)
    return out


def handovers(work):
    """A second process waits on the lease; first's SIGTERM -> second's /readyz 200, ROUNDS times."""
    (work / "hand-0").mkdir()
    holder = Listo(work / "hand-0", replica="handover", tag="0")
    holder.ready()
    token = holder.sign_in(register=True)
    times = []
    for i in range(1, ROUNDS + 1):
        holder.create(token, 100)
        (work / f"hand-{i}").mkdir()
        waiting = Listo(work / f"hand-{i}", replica="handover", tag=str(i))
        while waiting.status("/healthz") != 200:
            time.sleep(0.02)
        time.sleep(2)
        if waiting.status("/readyz") != 503:
            raise SystemExit("bench: the second process is ready while the first holds the lease")
        t = now()
        holder.proc.send_signal(signal.SIGTERM)
        while waiting.status("/readyz") != 200:
            if waiting.proc.poll() is not None:
                raise SystemExit(f"bench: the waiting listo exited; see {waiting.log.name}")
            time.sleep(0.01)
        times.append(now() - t)
        if holder.proc.wait(timeout=30) != 0:
            raise SystemExit("bench: the first listo did not exit 0")
        if waiting.total(token) != 100 * i:
            raise SystemExit(f"bench: the second listo has {waiting.total(token)} tasks, not {100 * i}")
        holder = waiting
    holder.stop()
    print(f"bench: handovers: {times}", flush=True)
    return times


# --- report ------------------------------------------------------------------------------------
def ms(values):
    return f"{statistics.median(values) * 1000:.0f} ms (min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f})"


def report(restores, req, stop, hand):
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    lines = [f"Machine: {os.cpu_count()} cores ({cpu}); moto, Litestream and listo on the same machine.", "",
             "| tasks | database | replica (objects) | first start, replicated | restore after a wipe: start to /readyz 200 |",
             "| ---: | ---: | ---: | ---: | ---: |"]
    for r in restores:
        lines.append(f"| {r['tasks']:,} | {r['db_bytes'] / 1e6:.1f} MB | {r['replica_bytes'] / 1e6:.1f} MB "
                     f"({r['objects']}) | {r['first_replicate_s'] * 1000:.0f} ms | {ms(r['restore_s'])} |")
    idle, idle_s = req["idle"]
    lines += ["", "| window | Litestream | lease (listo) | R2 class A / B |", "| --- | --- | --- | ---: |"]
    hour = 3600 / idle_s
    la, lb = class_ab(idle["litestream"])
    ea, eb = class_ab(idle["lease"])
    lines.append(f"| idle {idle_s:.0f} s | {fmt_counts(idle['litestream'])} | {fmt_counts(idle['lease'])} | "
                 f"{la + ea} / {lb + eb} |")
    lines.append(f"| idle, per hour (×{hour:.1f}) | class A {la * hour:.0f}, B {lb * hour:.0f} | "
                 f"class A {ea * hour:.0f}, B {eb * hour:.0f} | {(la + ea) * hour:.0f} / {(lb + eb) * hour:.0f} |")
    for name, label in [("burst", "1,000 creates back to back"), ("paced", "1,000 creates at 10/s")]:
        c, window, took = req[name]
        a, b = class_ab(c["litestream"])
        a2, b2 = class_ab(c["lease"])
        lines.append(f"| {label} ({took:.1f} s + 3 s) | {fmt_counts(c['litestream'])} | {fmt_counts(c['lease'])} | "
                     f"{a + a2} / {b + b2} |")
    lines += ["", "| stop (SIGTERM to exit 0) | median of 5 |", "| --- | ---: |"]
    for kind, values in stop.items():
        lines.append(f"| {kind} | {ms(values)} |")
    lines.append(f"| handover: first's SIGTERM -> waiting second's /readyz 200 | {ms(hand)} |")
    return "\n".join(lines)


def main():
    global MOTO_URL, LITESTREAM
    if not BIN.exists():
        raise SystemExit(f"bench: no binary at {BIN} (cargo build --release --bin listo, or LISTO_BIN)")
    LITESTREAM = sh("bash", str(ROOT / "scripts/lib/litestream.sh"), "install", str(LS_DIR))
    sh("bash", str(ROOT / "scripts/lib/moto.sh"), "venv", str(MOTO_DIR))
    MOTO_URL = sh("bash", str(ROOT / "scripts/lib/moto.sh"), "start", str(MOTO_DIR)).splitlines()[-1]
    work = Path(tempfile.mkdtemp(prefix="listo-replica-bench-"))
    try:
        urllib.request.urlopen(urllib.request.Request(f"{MOTO_URL}/{BUCKET}", method="PUT"), timeout=10)
        print(f"bench: moto at {MOTO_URL}, litestream {LITESTREAM}, listo {BIN}", flush=True)
        restores = [restore(work, n) for n in RESTORE_TASKS]
        stop = stops(work)
        hand = handovers(work)
        req = requests(work)
        print("\n" + report(restores, req, stop, hand))
    finally:
        for p in CHILDREN:
            if p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run(["bash", str(ROOT / "scripts/lib/moto.sh"), "stop", str(MOTO_DIR)])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
