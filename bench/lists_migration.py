#!/usr/bin/env python3
"""How long the lists migration (SQLite 0013, PostgreSQL 0011) keeps a listo from serving, on a
database the previous release wrote (issue 24's fourth target: start to `/readyz` 200 inside the
10 s a PaaS health check allows).

SQLite: python's sqlite3 applies migrations/sqlite/0001 … 0012 in order, each in its own
transaction with foreign keys off, and sets `PRAGMA user_version = 12` (what rusqlite_migration
records), in WAL mode as listo leaves a file. PostgreSQL: psql applies migrations/postgres/0001 …
0010 in one transaction into a database of the cluster and records them in `listo_migrations`, as
listo's `migrate` does. Then USERS users with TASKS/USERS tasks each, inserted one row at a time in
transactions of 1,000 so the old triggers fill the completed counter and the feed as listo's own
inserts did; keys are the ones `SortKey::after` hands out ("V", "V001", ...); the users'
`task_count` (kept in code) is set after. Then about 1% of the tasks are deleted (every 100th, by
id), which leaves that many tombstones in the feed.

Each run starts the release binary (`listo serve`, as bench.py starts it) on a fresh copy (SQLite:
a file copy; PostgreSQL: `CREATE DATABASE … TEMPLATE`), times it from the start of the process to
the first 200 of `/readyz` (polled every 10 ms), stops it, and then starts it once more on the now
migrated copy: the second figure is what a start costs without a migration. RUNS runs; the
medians are the figures. Sizes: SQLite's file (its WAL checkpointed away; before: as built, after:
after listo stopped, `PRAGMA wal_checkpoint(TRUNCATE)`; the tables the migration rebuilt leave
their old pages free in the file, counted, then `VACUUM`), PostgreSQL's `pg_database_size` (after
a `CHECKPOINT`; the rewritten rows leave dead versions until a vacuum, so also after `VACUUM FULL`).

  python3 bench/lists_migration.py                      both stores (a throwaway cluster for PostgreSQL)
  MIGRATION_STORES=sqlite python3 bench/lists_migration.py
  MIGRATION_USERS=100 MIGRATION_TASKS=100000 MIGRATION_RUNS=3   (the defaults)
  --json PATH                                           also write the results as JSON

bench/run.sh runs it as the `migration` group (`BENCH_ONLY=migration bench/run.sh`), on each store's
pass, inside that pass's cluster; it needs the release binary bench/run.sh builds
($CARGO_TARGET_DIR/release/listo).
"""

import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
if not TARGET.is_absolute():
    TARGET = ROOT / TARGET
BIN = Path(os.environ.get("LISTO_BIN") or TARGET / "release/listo")
USERS = int(os.environ.get("MIGRATION_USERS", "100"))
TASKS = int(os.environ.get("MIGRATION_TASKS", "100000"))
RUNS = int(os.environ.get("MIGRATION_RUNS", "3"))
SQLITE_BEFORE = 12  # migrations/sqlite/0001 … 0012: the previous release
POSTGRES_BEFORE = 10  # migrations/postgres/0001 … 0010
BATCH = 1_000
LIMIT_S = 10.0  # what a PaaS health check allows
SECRET = "listo-bench-secret-0123456789abcdef0123456789abcdef"
DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Any argon2 PHC string: nobody signs in here.
HASH = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0YmVuY2g$3W2Qb8m1xw0yTk1qfJm0pXqg0kqZ1m9w8m3Tt1s2QbE"


def log(msg):
    print(f"migration: {msg}", flush=True)


def sort_keys(n):
    """The first n keys `SortKey::between(prev, None)` gives from an empty list."""
    keys, value = [], 31 * 62 ** 3
    for _ in range(n):
        v, digits = value, []
        for _ in range(4):
            digits.append(DIGITS[v % 62])
            v //= 62
        keys.append("".join(reversed(digits)).rstrip("0"))
        value += 1
    return keys


def migration_files(kind, upto):
    files = sorted((ROOT / "migrations" / kind).glob("*.sql"))
    chosen = [f for f in files if int(f.name.split("_", 1)[0]) <= upto]
    if len(chosen) != upto:
        raise SystemExit(f"migration: expected {upto} files in migrations/{kind}, found {len(chosen)}")
    return chosen


def task_rows(user_id, per_user, now):
    for i, key in enumerate(sort_keys(per_user)):
        yield (user_id, "2026-11-24", f"bench task {i}", "Incomplete" if i % 2 == 0 else "Completed", key,
               now, now)


def deleted_count(tasks):
    return tasks // 100


# --- SQLite -------------------------------------------------------------------------------------

def build_sqlite(path: Path, users=USERS, tasks=TASKS):
    """A file as the previous release left it, filled."""
    started = time.monotonic()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("PRAGMA foreign_keys = OFF")
    # The old delete trigger stamps tombstones with unixepoch('subsec') (SQLite 3.42); python's
    # sqlite3 may be older, so the connection answers it itself.
    db.create_function("unixepoch", -1, lambda *a: time.time() if "subsec" in a else int(time.time()))
    for i, f in enumerate(migration_files("sqlite", SQLITE_BEFORE), start=1):
        # One transaction per file, then the version, as rusqlite_migration does.
        db.executescript(f"BEGIN;\n{f.read_text()}\nPRAGMA user_version = {i};\nCOMMIT;")
    now = int(time.time() * 1000)
    per_user = tasks // users
    db.execute("BEGIN")
    db.executemany("INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)",
                   [(f"migrate{u}@bench.example", HASH, now) for u in range(users)])
    db.execute("COMMIT")
    ids = [r[0] for r in db.execute("SELECT id FROM users ORDER BY id")]
    pending = []
    for uid in ids:
        pending += list(task_rows(uid, per_user, now))
    for start in range(0, len(pending), BATCH):
        db.execute("BEGIN")
        db.executemany("INSERT INTO tasks (user_id, date, text, status, sort_key, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", pending[start:start + BATCH])
        db.execute("COMMIT")
    db.execute("UPDATE users SET task_count = (SELECT count(*) FROM tasks t WHERE t.user_id = users.id)")
    db.execute("DELETE FROM tasks WHERE id % 100 = 0")
    db.execute("UPDATE users SET task_count = (SELECT count(*) FROM tasks t WHERE t.user_id = users.id)")
    facts = sqlite_facts(db)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    facts["build_s"] = time.monotonic() - started
    return facts


def sqlite_facts(db):
    one = lambda q: db.execute(q).fetchone()[0]
    return {
        "users": one("SELECT count(*) FROM users"),
        "tasks": one("SELECT count(*) FROM tasks"),
        "feed_rows": one("SELECT count(*) FROM changes"),
        "tombstones": one("SELECT count(*) FROM changes WHERE deleted = 1"),
        "user_version": one("PRAGMA user_version"),
    }


def sqlite_size(path: Path):
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = Path(str(path) + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def sqlite_free(path: Path):
    """Bytes of the file's free pages (what a VACUUM would give back)."""
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA freelist_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]


def sqlite_vacuumed(path: Path):
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("VACUUM")
    return sqlite_size(path)


# --- PostgreSQL ---------------------------------------------------------------------------------

def with_db(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def build_postgres(pg, base, users=USERS, tasks=TASKS):
    """A database `base` in pg's cluster as the previous release left it, filled."""
    started = time.monotonic()
    pg.sql(f"CREATE DATABASE {base}")
    url = with_db(pg.url, base)
    script = ["BEGIN;"]
    for f in migration_files("postgres", POSTGRES_BEFORE):
        script.append(f.read_text())
    script.append("CREATE TABLE IF NOT EXISTS listo_migrations (version INTEGER PRIMARY KEY, "
                  "applied_at TIMESTAMPTZ NOT NULL DEFAULT now());")
    script.append(f"INSERT INTO listo_migrations (version) SELECT generate_series(1, {POSTGRES_BEFORE});")
    script.append("COMMIT;")
    pg.script("\n".join(script), url=url)
    now = int(time.time() * 1000)
    per_user = tasks // users
    pg.script(f"INSERT INTO users (email, password_hash, created_at) SELECT 'migrate' || u || '@bench.example', "
              f"'{HASH}', {now} FROM generate_series(0, {users - 1}) u;", url=url)
    ids = [int(x) for x in pg.sql("SELECT id FROM users ORDER BY id", url=url).split()]
    keys = sort_keys(per_user)

    def lit(v):
        return str(v) if isinstance(v, int) else "'" + v.replace("'", "''") + "'"
    script = []
    for uid in ids:  # one user per statement: 1,000 tasks a transaction at the defaults
        values = ",".join("(" + ",".join(lit(v) for v in (uid, "2026-11-24", f"bench task {i}",
                                                            "Incomplete" if i % 2 == 0 else "Completed",
                                                            k, now, now)) + ")"
                          for i, k in enumerate(keys))
        script.append("INSERT INTO tasks (user_id, date, text, status, sort_key, created_at, updated_at) VALUES "
                      + values + ";")
    script.append("UPDATE users SET task_count = (SELECT count(*) FROM tasks t WHERE t.user_id = users.id);")
    script.append("DELETE FROM tasks WHERE id % 100 = 0;")
    script.append("UPDATE users SET task_count = (SELECT count(*) FROM tasks t WHERE t.user_id = users.id);")
    script.append("VACUUM ANALYZE;")
    script.append("CHECKPOINT;")
    pg.script("\n".join(script), url=url)
    q = lambda s: int(pg.sql(s, url=url))
    facts = {
        "users": q("SELECT count(*) FROM users"),
        "tasks": q("SELECT count(*) FROM tasks"),
        "feed_rows": q("SELECT count(*) FROM changes"),
        "tombstones": q("SELECT count(*) FROM changes WHERE deleted"),
        "schema_version": q("SELECT max(version) FROM listo_migrations"),
        "build_s": time.monotonic() - started,
    }
    return facts


def pg_size(pg, name, vacuum=False):
    url = with_db(pg.url, name)
    if vacuum:
        pg.sql("VACUUM FULL", url=url)
    pg.sql("CHECKPOINT", url=url)
    return int(pg.sql("SELECT pg_database_size(current_database())", url=url))


# --- listo --------------------------------------------------------------------------------------

def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_to_ready(database, work: Path, secret=None, timeout=120):
    """Starts listo on `database`, returns (seconds from spawn to /readyz 200, log text); stops it."""
    port = free_port()
    env = dict(os.environ, PORT=str(port), LISTO_ADDR=f"127.0.0.1:{port}", LISTO_DATABASE=str(database),
               LISTO_OUTBOX=str(work / "outbox"), RUST_LOG="info")
    env.pop("LISTO_SECRET", None)
    if secret:
        env["LISTO_SECRET"] = secret
    log_path = work / f"listo-{port}.log"
    with open(log_path, "w") as out:
        started = time.monotonic()
        proc = subprocess.Popen([str(BIN), "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            ready = None
            while time.monotonic() - started < timeout:
                if proc.poll() is not None:
                    break
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                        if r.status == 200:
                            ready = time.monotonic() - started
                            break
                except OSError:
                    pass
                time.sleep(0.01)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    text = log_path.read_text(errors="replace")
    if ready is None:
        sys.stderr.write(text[-3000:])
        raise SystemExit(f"migration: listo did not answer /readyz 200 within {timeout} s on {database}")
    return ready, text


def measure_sqlite(work: Path, runs=RUNS):
    base = work / "before.db"
    log(f"SQLite: building a schema-{SQLITE_BEFORE} file with {USERS} users and {TASKS:,} tasks")
    facts = build_sqlite(base)
    size_before = sqlite_size(base)
    log(f"SQLite: built in {facts['build_s']:.1f} s: {facts['tasks']:,} tasks, {facts['feed_rows']:,} feed rows "
        f"({facts['tombstones']:,} tombstones), {size_before / 1e6:.1f} MB")
    out = {"facts": facts, "size_before": size_before, "migrate_s": [], "restart_s": [], "size_after": [],
           "free_after": [], "size_after_vacuum": []}
    for r in range(runs):
        copy = work / f"run{r}.db"
        shutil.copy(base, copy)
        took, _ = start_to_ready(copy, work)
        again, _ = start_to_ready(copy, work)
        out["migrate_s"].append(took)
        out["restart_s"].append(again)
        out["size_after"].append(sqlite_size(copy))
        out["free_after"].append(sqlite_free(copy))
        with sqlite3.connect(copy) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            lists = db.execute("SELECT count(*) FROM lists").fetchone()[0]
            tasks = db.execute("SELECT count(*) FROM tasks").fetchone()[0]
        if tasks != facts["tasks"] or lists != facts["users"]:
            raise SystemExit(f"migration: after the migration {tasks} tasks and {lists} lists")
        log(f"SQLite run {r + 1}: start to /readyz {took * 1000:.0f} ms (migrating to {version}); "
            f"again, migrated: {again * 1000:.0f} ms; {out['size_after'][-1] / 1e6:.1f} MB after "
            f"({out['free_after'][-1] / 1e6:.1f} MB of it free pages)")
        out["size_after_vacuum"].append(sqlite_vacuumed(copy))
        copy.unlink()
    return summarize(out)


def measure_postgres(pg, work: Path, runs=RUNS, secret=SECRET):
    base = "listo_mig_base"
    log(f"PostgreSQL: building a schema-{POSTGRES_BEFORE} database with {USERS} users and {TASKS:,} tasks")
    facts = build_postgres(pg, base)
    size_before = pg_size(pg, base)
    log(f"PostgreSQL: built in {facts['build_s']:.1f} s: {facts['tasks']:,} tasks, {facts['feed_rows']:,} feed rows "
        f"({facts['tombstones']:,} tombstones), {size_before / 1e6:.1f} MB")
    out = {"facts": facts, "size_before": size_before, "migrate_s": [], "restart_s": [], "size_after": [],
           "size_after_vacuum": []}
    for r in range(runs):
        name = f"listo_mig_{r}"
        pg.sql(f"CREATE DATABASE {name} TEMPLATE {base}")
        pg.sql("CHECKPOINT")
        url = with_db(pg.url, name)
        took, text = start_to_ready(url, work, secret=secret)
        again, _ = start_to_ready(url, work, secret=secret)
        out["migrate_s"].append(took)
        out["restart_s"].append(again)
        out["size_after"].append(pg_size(pg, name))
        out["size_after_vacuum"].append(pg_size(pg, name, vacuum=True))
        version = int(pg.sql("SELECT max(version) FROM listo_migrations", url=url))
        lists = int(pg.sql("SELECT count(*) FROM lists", url=url))
        if lists != facts["users"]:
            raise SystemExit(f"migration: after the migration {lists} lists")
        log(f"PostgreSQL run {r + 1}: start to /readyz {took * 1000:.0f} ms (migrating to {version}); "
            f"again, migrated: {again * 1000:.0f} ms; {out['size_after'][-1] / 1e6:.1f} MB after, "
            f"{out['size_after_vacuum'][-1] / 1e6:.1f} MB after VACUUM FULL")
        pg.sql(f"DROP DATABASE {name}")
    pg.sql(f"DROP DATABASE {base}")
    return summarize(out)


def summarize(out):
    out["median_migrate_s"] = statistics.median(out["migrate_s"])
    out["median_restart_s"] = statistics.median(out["restart_s"])
    out["median_size_after"] = statistics.median(out["size_after"])
    if out.get("size_after_vacuum"):
        out["median_size_after_vacuum"] = statistics.median(out["size_after_vacuum"])
    log(f"median start to /readyz {out['median_migrate_s'] * 1000:.0f} ms with the migration, "
        f"{out['median_restart_s'] * 1000:.0f} ms without (limit {LIMIT_S:.0f} s: "
        f"{'met' if out['median_migrate_s'] <= LIMIT_S else 'MISSED'})")
    return out


def report(results, stores):
    """Lines for BENCHMARKS.md."""
    if not results:
        return []
    some = next(iter(results.values()))
    f = some["facts"]
    shown = [(s, label) for s, label in stores if s in results]
    lines = [
        "",
        f"Lists migration (bench/lists_migration.py, `BENCH_ONLY=migration bench/run.sh`): a database the previous",
        f"release wrote (SQLite schema {SQLITE_BEFORE}, PostgreSQL {POSTGRES_BEFORE}), {f['users']} users and "
        f"{f['tasks']:,} tasks after 1% were deleted",
        f"({f['feed_rows']:,} feed rows, {f['tombstones']:,} of them tombstones), started with the release `listo serve`;",
        f"start of the process to the first `/readyz` 200, median of {len(some['migrate_s'])} fresh copies, and the "
        "same once migrated.",
        "",
        "| measure | " + " | ".join(label for _, label in shown) + " | target |",
        "| --- | " + " | ".join("---:" for _ in shown) + " | --- |",
    ]

    def row(name, fmt, target=""):
        lines.append(f"| {name} | " + " | ".join(fmt(results[s]) for s, _ in shown) + f" | {target} |")

    ms = lambda xs: ", ".join(f"{x * 1000:.0f}" for x in xs)
    row("start to /readyz 200 with the migration, median ms (runs)",
        lambda r: f"{r['median_migrate_s'] * 1000:,.0f} ({ms(r['migrate_s'])})"
                  + (" met" if r["median_migrate_s"] <= LIMIT_S else " **missed**"), f"≤ {LIMIT_S * 1000:,.0f}")
    row("start to /readyz 200 once migrated, median ms", lambda r: f"{r['median_restart_s'] * 1000:,.0f}")
    row("database before, MB", lambda r: f"{r['size_before'] / 1e6:.1f}")
    row("database after, MB", lambda r: f"{r['median_size_after'] / 1e6:.1f}")
    if any(r.get("free_after") for r in results.values()):
        row("of which free pages (SQLite), MB",
            lambda r: f"{statistics.median(r['free_after']) / 1e6:.1f}" if r.get("free_after") else "–")
    if any("median_size_after_vacuum" in r for r in results.values()):
        row("database after, then VACUUM (SQLite) / VACUUM FULL (PostgreSQL), MB",
            lambda r: f"{r['median_size_after_vacuum'] / 1e6:.1f}" if "median_size_after_vacuum" in r else "–")
    return lines


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json")
    args = ap.parse_args()
    if not BIN.exists():
        raise SystemExit(f"migration: no binary at {BIN} (build it: cargo build --release)")
    stores = [s for s in os.environ.get("MIGRATION_STORES", "sqlite,postgres").split(",") if s]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    results = {}
    work = Path(tempfile.mkdtemp(prefix="listo-migration-"))
    pg = None
    try:
        if "sqlite" in stores:
            results["sqlite"] = measure_sqlite(work)
        if "postgres" in stores:
            from pgcluster import Postgres
            pg = Postgres()
            pg.start()
            results["postgres"] = measure_postgres(pg, work)
    finally:
        if pg:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("\n".join(report(results, [("sqlite", "SQLite"), ("postgres", "PostgreSQL")])))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
