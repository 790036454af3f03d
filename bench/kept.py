"""The `kept` group of bench/bench.py: what answers kept for `Idempotency-Key` cost in storage.

One fresh user with 100 tasks sorts its whole page (`per_page=100`) 300 times without a key, then
300 times with a new key each time. Before and after each run the database is checkpointed and
measured: SQLite's file plus its WAL after `PRAGMA wal_checkpoint(TRUNCATE)`, PostgreSQL's
`pg_database_size` after `CHECKPOINT`, which also holds the row versions every sort leaves behind
until autovacuum comes, so the table's own pages are measured too: `idempotency_keys` with its
indexes (and TOAST) through SQLite's `dbstat` and PostgreSQL's `pg_total_relation_size`. Also
read: the JSON length of one answer and, from `idempotency_keys`, the bytes each kept answer takes
as stored (`stored_bytes`: the compressed answer with its key, fingerprint, claim and Location;
`answer`: the compressed answer alone).
"""

import json
import os
import random
import sqlite3
import time
import urllib.request

SORTS = 300
TASKS = 100
EMAIL = "kept@bench.example"
WORDS = ("buy bread call the bank water plants swim for one hour pay rent email Ada about the report "
         "fix the bike book dentist appointment clean kitchen read chapter seven pick up parcel renew "
         "passport walk the dog prepare slides").split()


def measure(server, database, pg, password):
    """Runs the group on a running listo; returns its figures."""
    server.call("POST", "/v1/auth/register", {"email": EMAIL, "password": password})
    token = server.sign_in(EMAIL)
    words = random.Random(1)  # the same texts every run: the ratio depends on them
    for i in range(TASKS):
        text = " ".join(words.choice(WORDS) for _ in range(words.randint(2, 7))).capitalize()
        server.call("POST", "/v1/tasks", {"date": f"2026-12-{1 + i % 28:02d}", "task": text,
                                          "status": words.choice(["Incomplete", "Completed"])}, token=token)
    ids = [t["id"] for t in server.call("GET", f"/v1/tasks?page=1&per_page={TASKS}", token=token)["items"]]
    user = server.call("GET", "/v1/auth/session", token=token)["user"]["id"]

    def size():
        if pg:
            pg.sql("CHECKPOINT")
            return int(pg.sql("SELECT pg_database_size(current_database())"))
        with sqlite3.connect(database) as db:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                raise SystemExit("bench: kept: the WAL checkpoint was blocked")
        wal = database + "-wal"
        return os.path.getsize(database) + (os.path.getsize(wal) if os.path.exists(wal) else 0)

    def table():
        """Bytes of idempotency_keys' pages, its indexes (and TOAST) included."""
        if pg:
            return int(pg.sql("SELECT pg_total_relation_size('idempotency_keys')"))
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            return db.execute("SELECT sum(pgsize) FROM dbstat WHERE name IN "
                              "(SELECT name FROM sqlite_master WHERE tbl_name = 'idempotency_keys')").fetchone()[0]

    def sorts(prefix):
        """SORTS sorts, alternating two orders so each one moves every task; returns ms per sort
        and the length of the last answer."""
        started = time.perf_counter()
        length = 0
        for i in range(SORTS):
            order = ids[::-1] if i % 2 == 0 else ids
            req = urllib.request.Request(f"{server.base}/v1/tasks/sort?page=1&per_page={TASKS}", method="POST",
                                         data=json.dumps({"task_ids": order}).encode())
            req.add_header("Content-Type", "application/json")
            req.add_header("Authorization", f"Bearer {token}")
            if prefix:
                req.add_header("Idempotency-Key", f"{prefix}-{i}")
            with urllib.request.urlopen(req, timeout=30) as resp:
                length = len(resp.read())
        return (time.perf_counter() - started) * 1000 / SORTS, length

    out = {"before": size()}
    out["ms_plain"], out["json_bytes"] = sorts(None)
    out["after_plain"], table_before = size(), table()
    out["ms_keyed"], _ = sorts("bench-kept")
    out["after_keyed"] = size()
    out["grew_table"] = table() - table_before
    rows = (f"SELECT count(*), avg(stored_bytes), avg({'octet_length' if pg else 'length'}(answer)) "
            f"FROM idempotency_keys WHERE user_id = {user}")
    if pg:
        count, stored, packed = pg.sql(rows).split("|")
    else:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            count, stored, packed = db.execute(rows).fetchone()
    out["rows"], out["stored"], out["packed"] = int(count), float(stored), float(packed)
    out["grew_plain"] = out["after_plain"] - out["before"]
    out["grew_keyed"] = out["after_keyed"] - out["after_plain"]
    print(f"  one answer {out['json_bytes']:,} bytes of JSON; kept as {out['packed']:,.0f} bytes compressed, "
          f"{out['stored']:,.0f} bytes with its key ({out['rows']} rows)", flush=True)
    print(f"  database growth, {SORTS} sorts: {out['grew_plain'] / 1e6:.2f} MB without a key "
          f"({out['ms_plain']:.1f} ms each), {out['grew_keyed'] / 1e6:.2f} MB with one "
          f"({out['ms_keyed']:.1f} ms each); idempotency_keys grew {out['grew_table'] / 1e6:.2f} MB", flush=True)
    return out


def report(results, stores):
    """The report's section: `results` maps a store to what `measure` returned."""
    if not results:
        return []

    def row(name, fmt):
        cells = [fmt(results[s]) if s in results else "–" for s, _ in stores]
        return f"| {name} | " + " | ".join(cells) + " |"

    mb = 1e6
    return [
        "",
        f"Kept answers (`BENCH_ONLY=kept bench/run.sh` runs this alone): one fresh user with {TASKS} tasks sorts its",
        f"whole page (`POST /v1/tasks/sort?page=1&per_page={TASKS}`) {SORTS} times without a key, then {SORTS} times",
        "with a new `Idempotency-Key` each, one request at a time. Database size after a checkpoint, before",
        "and after each run: SQLite's file plus WAL after `PRAGMA wal_checkpoint(TRUNCATE)`; PostgreSQL's",
        "`pg_database_size` after `CHECKPOINT`, which also counts the row versions each sort leaves until",
        "autovacuum, so the table's own pages are given too (SQLite's `dbstat`, PostgreSQL's",
        "`pg_total_relation_size`). Bytes kept are read from `idempotency_keys`.",
        "",
        "| measure | SQLite | PostgreSQL |",
        "| --- | ---: | ---: |",
        row(f"answer to a sort of {TASKS} tasks, bytes of JSON", lambda r: f"{r['json_bytes']:,}"),
        row("kept per keyed sort: compressed answer, bytes", lambda r: f"{r['packed']:,.0f}"),
        row("kept per keyed sort: with key, fingerprint, claim (`stored_bytes`)", lambda r: f"{r['stored']:,.0f}"),
        row("JSON ÷ compressed answer", lambda r: f"{r['json_bytes'] / r['packed']:.1f}×"),
        row(f"database growth, {SORTS} sorts without a key, MB", lambda r: f"{r['grew_plain'] / mb:.2f}"),
        row(f"database growth, {SORTS} keyed sorts, MB", lambda r: f"{r['grew_keyed'] / mb:.2f}"),
        row(f"`idempotency_keys` pages (indexes, TOAST) added by the {SORTS} keyed sorts, MB",
            lambda r: f"{r['grew_table'] / mb:.2f}"),
        row("the same per keyed sort, bytes", lambda r: f"{r['grew_table'] / SORTS:,.0f}"),
        row("ms per sort, one client: without / with a key",
            lambda r: f"{r['ms_plain']:.1f} / {r['ms_keyed']:.1f}"),
    ]
