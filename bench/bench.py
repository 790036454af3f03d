#!/usr/bin/env python3
"""listo benchmark driver (run through bench/run.sh, which builds first).

Seeds a database with examples/seed.rs, starts the release binary on loopback with a long session
TTL and no login rate limits, signs the seeded users in through the emailed code (outbox), then runs
each scenario with wrk at a fixed concurrency and records requests/s, p50/p99, errors and the
server's peak RSS (VmHWM, reset before each scenario). Writes BENCHMARKS.md.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target/release/listo"
SEED = ROOT / "target/release/examples/seed"
LUA = ROOT / "bench/request.lua"
PASSWORD = "bench password 1"
DURATION = int(os.environ.get("DURATION", "10"))
CONNECTIONS = 32
THREADS = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, work: Path):
        self.work = work
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(
            os.environ,
            PORT=str(self.port),
            LISTO_ADDR=f"127.0.0.1:{self.port}",
            LISTO_DATABASE=str(work / "listo.db"),
            LISTO_OUTBOX=str(work / "outbox"),
            LISTO_SESSION_TTL="86400",
            LISTO_LOGIN_LIMIT_PER_EMAIL="0",
            LISTO_LOGIN_LIMIT_PER_ADDR="0",
            RUST_LOG="info",
        )
        self.log = open(work / "server.log", "w")
        self.proc = subprocess.Popen([str(BIN)], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.base + "/readyz", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("bench: listo did not become ready")

    def reset_peak_rss(self):
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")

    def peak_rss_mb(self):
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
        return kb / 1024

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()

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
        before = set(os.listdir(self.work / "outbox")) if (self.work / "outbox").exists() else set()
        challenge = self.call("POST", "/v1/auth/login", {"email": email, "password": PASSWORD})["challenge_id"]
        for _ in range(100):
            new = set(os.listdir(self.work / "outbox")) - before
            for name in new:
                text = (self.work / "outbox" / name).read_text().replace("=\n", "")
                if f"To: {email}" in text:
                    code = re.search(r"code is (\d{6})", text).group(1)
                    return self.call("POST", "/v1/auth/verify", {"challenge_id": challenge, "code": code})["access_token"]
            time.sleep(0.02)
        raise SystemExit(f"bench: no code email for {email}")


def wrk(server, path, method="GET", body=None, token=None, duration=DURATION, connections=CONNECTIONS):
    env = dict(os.environ, METHOD=method, BODY=json.dumps(body) if body is not None else "", TOKEN=token or "")
    cmd = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(LUA), server.base + path]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse(output):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", output).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", output).group(1))
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if m:
        errors += sum(int(x) for x in m.groups())
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors}


RESULTS = []


def scenario(server, name, path, **kw):
    server.reset_peak_rss()
    proc = wrk(server, path, **kw)
    out, _ = proc.communicate()
    row = parse(out)
    row["name"] = name
    row["rss"] = server.peak_rss_mb()
    RESULTS.append(row)
    print(f"  {name:<46} {row['rps']:>9.0f} req/s  p50 {row['p50']:>7.2f} ms  p99 {row['p99']:>7.2f} ms"
          f"  errors {row['errors']:>4}  peak RSS {row['rss']:>5.1f} MB", flush=True)
    return row


def ids(server, token, page, per_page):
    return [t["id"] for t in server.call("GET", f"/v1/tasks?page={page}&per_page={per_page}", token=token)["items"]]


def machine():
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem / 1024:.0f} GiB RAM; wrk on the same machine ({THREADS} threads, {CONNECTIONS} connections, {DURATION} s per scenario)"


def main():
    work = Path(tempfile.mkdtemp(prefix="listo-bench-"))
    try:
        seeded = subprocess.run([str(SEED), str(work / "listo.db")], check=True, capture_output=True, text=True)
        print("bench:", seeded.stdout.strip())
        server = Server(work)
        try:
            run(server)
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_report()


def run(server):
    tok = {u: server.sign_in(f"{u}@bench.example") for u in
           ["list100", "list10k", "list100k", "sort1k", "sort100k", "writer"]}
    by = {}

    print("4. session check vs /healthz")
    by["healthz"] = scenario(server, "GET /healthz", "/healthz")
    by["session"] = scenario(server, "GET /v1/auth/session (authenticated)", "/v1/auth/session", token=tok["list100"])

    print("1. list page 1 (per_page=20)")
    for user in ["list100", "list10k", "list100k"]:
        by[user] = scenario(server, f"GET page 1, {user[4:]} tasks", "/v1/tasks?page=1&per_page=20", token=tok[user])
    by["deep"] = scenario(server, "GET page 4000 by number, 100k tasks", "/v1/tasks?page=4000&per_page=20", token=tok["list100k"])
    cursor = server.call("GET", "/v1/tasks?page=3999&per_page=20", token=tok["list100k"]).get("next_cursor")
    if cursor:
        by["cursor"] = scenario(server, "GET page 4000 by cursor, 100k tasks", f"/v1/tasks?per_page=20&cursor={cursor}", token=tok["list100k"])

    print("3. sort a 20-task page / move one task")
    for user in ["sort1k", "sort100k"]:
        page = ids(server, tok[user], 1, 20)
        by[f"sort_{user}"] = scenario(server, f"POST sort page 1, {user[4:]} tasks", "/v1/tasks/sort?page=1&per_page=20",
                                      method="POST", body={"task_ids": page[::-1]}, token=tok[user])
        middle = ids(server, tok[user], 25, 20)
        by[f"move_{user}"] = scenario(server, f"POST move (after_id, mid-list), {user[4:]} tasks", f"/v1/tasks/{middle[0]}/move",
                                      method="POST", body={"after_id": middle[10]}, token=tok[user])

    print("2. writes")
    by["create"] = scenario(server, "POST /v1/tasks", "/v1/tasks", method="POST",
                            body={"date": "2026-11-24", "task": "bench write", "status": "Incomplete"}, token=tok["writer"])

    print("5. login storm (32 concurrent logins) during list page 1, 10k tasks")
    by["calm"] = scenario(server, "GET page 1, 10k tasks (no storm)", "/v1/tasks?page=1&per_page=20", token=tok["list10k"])
    storm = wrk(server, "/v1/auth/login", method="POST", body={"email": "storm@bench.example", "password": PASSWORD},
                duration=DURATION + 2, connections=32)
    time.sleep(1)
    by["storm"] = scenario(server, "GET page 1, 10k tasks (during storm)", "/v1/tasks?page=1&per_page=20", token=tok["list10k"])
    storm_out, _ = storm.communicate()
    s = parse(storm_out)
    print(f"  storm itself: {s['rps']:.0f} logins/s, p99 {s['p99']:.0f} ms, errors {s['errors']}")
    RESULTS.append({"name": "POST /v1/auth/login (the storm itself)", **s, "rss": server.peak_rss_mb()})

    global RATIOS
    RATIOS = [
        ("list page 1: 100k tasks / 100 tasks (time per request)", by["list100"]["rps"] / by["list100k"]["rps"], "≤ 1.5"),
        ("list page 4000 by number / page 1 (100k tasks)", by["list100k"]["rps"] / by["deep"]["rps"], "measured"),
    ]
    if "cursor" in by:
        RATIOS.append(("list page 4000 by cursor / page 1 (100k tasks)", by["list100k"]["rps"] / by["cursor"]["rps"], "≤ 1.5"))
    RATIOS += [
        ("sort: 100k tasks / 1k tasks", by["sort_sort1k"]["rps"] / by["sort_sort100k"]["rps"], "≤ 1.5"),
        ("move: 100k tasks / 1k tasks", by["move_sort1k"]["rps"] / by["move_sort100k"]["rps"], "≤ 1.5"),
        ("authenticated session / healthz", by["healthz"]["rps"] / by["session"]["rps"], "≤ 1.5"),
        ("list p99 during login storm / without", by["storm"]["p99"] / by["calm"]["p99"], "≤ 3"),
        ("creates per second (32 connections)", by["create"]["rps"], "≥ 8000"),
        ("peak RSS, any scenario (MB)", max(r["rss"] for r in RESULTS), "≤ 64"),
        ("errors, all scenarios", sum(r["errors"] for r in RESULTS), "0"),
    ]


RATIOS = []


def write_report():
    lines = [
        "# listo benchmarks",
        "",
        f"Machine: {machine()}.",
        "",
        "Command: `bench/run.sh` (builds the release binary and `examples/seed.rs`, seeds 1,007 users and",
        "231,100 tasks through the storage layer, starts listo on 127.0.0.1 with a 24 h session TTL and no",
        "login rate limit, signs users in through the emailed code, then runs `wrk --latency -s bench/request.lua`",
        "for each scenario). Peak RSS is the server's `VmHWM`, reset before each scenario.",
        "Time ratios are taken from requests/s at the same concurrency (higher ratio = slower).",
        "",
        "| scenario | req/s | p50 ms | p99 ms | errors | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in RESULTS:
        lines.append(f"| {r['name']} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} | {r['rss']:.1f} |")
    lines += ["", "| figure | value | target |", "| --- | ---: | --- |"]
    for name, value, target in RATIOS:
        shown = f"{value:.2f}" if isinstance(value, float) and value < 100 else f"{value:.0f}"
        lines.append(f"| {name} | {shown} | {target} |")
    lines.append("")
    notes = ROOT / "bench/NOTES.md"
    if notes.exists():
        lines += [notes.read_text()]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))
    print("\n".join(lines[-(len(RATIOS) + 3):]))
    print(f"bench: wrote {ROOT / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
