"""Can a storm starve lists? List page 1 (20 of 100 tasks) under wrk, alone, then during a storm
of logins (argon2 work) and during a storm of creates (the write queue), on a small database.

    python3 bench/storm.py                   # SQLite (release binary from bench/run.sh's build)
    BENCH_STORES=sqlite,postgres python3 bench/storm.py
    DURATION=5 python3 bench/storm.py

Reuses bench.py's server, wrk and parsing; prints one table (markdown) to stdout. Each storm is
32 connections of its own beside the list's 32. Non-2xx answers of a storm (503 `busy` once a
queue is full) are counted, not failures.
"""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

LIST = "/v1/tasks?page=1&per_page=20"


def store_run(store):
    work = Path(tempfile.mkdtemp(prefix="listo-storm-"))
    pg = None
    if store == "postgres":
        pg = bench.Postgres()
        database = pg.start()
    else:
        database = str(work / "listo.db")
    server = bench.Server(work, database)
    rows = []
    try:
        for email in ["lister@bench.example", "storm@bench.example", "writer@bench.example"]:
            server.call("POST", "/v1/auth/register", {"email": email, "password": bench.PASSWORD})
        lister = server.sign_in("lister@bench.example")
        writer = server.sign_in("writer@bench.example")
        for i in range(100):
            server.call("POST", "/v1/tasks", {"date": "2026-03-01", "task": f"task {i}",
                                              "status": "Incomplete"}, token=lister)

        def measure(name, storm=None):
            other = storm() if storm else None
            out, _ = bench.wrk(server, LIST, token=lister).communicate()
            row = {"name": name, "list": bench.parse(out), "storm": None}
            if other:
                s_out, _ = other.communicate()
                row["storm"] = bench.parse(s_out)
            rows.append(row)
            print(f"  {store}: {name}: {row['list']}  storm: {row['storm']}", file=sys.stderr, flush=True)

        measure("no storm")
        measure("login storm", lambda: bench.wrk(
            server, "/v1/auth/login", method="POST",
            body={"email": "storm@bench.example", "password": bench.PASSWORD}))
        measure("create storm", lambda: bench.wrk(
            server, "/v1/tasks", method="POST", token=writer,
            body={"date": "2026-03-01", "task": "storm", "status": "Incomplete"}))
        measure("no storm, again")
    finally:
        server.stop()
        if pg:
            pg.stop()
    return rows


def main():
    stores = os.environ.get("BENCH_STORES", "sqlite").split(",")
    print("| store | while | list req/s | list p50 ms | list p99 ms | list errors "
          "| storm req/s | storm p99 ms | storm non-2xx/errors |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for store in stores:
        for row in store_run(store):
            l, s = row["list"], row["storm"]
            storm = (f"{s['rps']:.0f} | {s['p99']:.1f} | {s['errors']}" if s else "– | – | –")
            print(f"| {store} | {row['name']} | {l['rps']:.0f} | {l['p50']:.2f} | {l['p99']:.2f} "
                  f"| {l['errors']} | {storm} |", flush=True)


if __name__ == "__main__":
    main()
