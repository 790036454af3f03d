"""The `lists` group of bench/bench.py: lists (issue 24) against the default list.

Three users are registered over HTTP, each gets a list of its own (`POST /v1/lists`), and the
lists are filled straight in the database, as `examples/seed.rs` fills the default ones: one
`INSERT` per task in transactions of 1,000, with the keys `SortKey::after` hands out ("V",
"V001", "V002", ...), so the triggers keep the list's counters and the feed as they do for any
insert, and the owner's `task_count` (the quota, which listo keeps in code) is raised by the
same number. Over HTTP, 100,000 creates on PostgreSQL take about two minutes; this takes
seconds. Each fill is checked through the API (`GET /v1/lists/{id}`, `total_items`).

  lists100   default list 100 tasks and a second list of 100 tasks
  lists1k    a list of 1,000 tasks (its default list empty)
  lists100k  a list of 100,000 tasks (its default list empty)

Then, with wrk as every other group, ROUNDS times in a row (LISTS_ROUNDS, default 2; each pair is
measured back to back in every round, and a ratio is the mean over the rounds; its range is
printed and reported):

  feed   GET /v1/tasks/changes and GET /v1/changes, `since` = latest - 100 and `since=0`,
         `limit=100`, seeded list100k (one list, 100,000 changes): both answer the same 100
         tasks (checked), so the ratio is the everything feed's own cost
         and, measured beside them, GET /v1/tasks/changes?since=0 of lists100k, whose default
         list is empty and whose other list holds 100,000 tasks: the default list's feed has no
         entry, and what it costs to find that out
  page   GET /v1/tasks?page=1&per_page=20 and GET /v1/lists/{id}/tasks?page=1&per_page=20, 100
         tasks (lists100: its default list, its second list, and its default list by id) and
         100,000 tasks (seeded list100k's default list, lists100k's list)
  order  POST /v1/lists/{id}/tasks/sort of page 1 and POST /v1/tasks/{id}/move (after_id,
         mid-list) in the 1k and the 100k list. Each connection posts page 1 reversed, then in its
         first order, and so on (request.lua's BODY2), so a sort whose posted order differs from
         the list's moves all 20 tasks; one posting the order the page already has writes
         nothing (`placed` is empty in `Tasks::sort`), which is all that a fixed body measures
         after its first request. The share of sorts that moved tasks is read from the owner's
         feed position (20 changes a moving sort) and reported.
"""

import sqlite3
import statistics
import time

ROUNDS = 2
BATCH = 1_000  # tasks per transaction, as examples/seed.rs
DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
USERS = [("lists100", 100), ("lists1k", 1_000), ("lists100k", 100_000)]


def sort_keys(n):
    """The first n keys `SortKey::between(prev, None)` gives from an empty list: "V" (the middle),
    then one unit more at four digits each time, trailing zeros dropped."""
    keys = []
    value = 31 * 62 ** 3
    for _ in range(n):
        digits = []
        v = value
        for _ in range(4):
            digits.append(DIGITS[v % 62])
            v //= 62
        keys.append("".join(reversed(digits)).rstrip("0"))
        value += 1
    return keys


def rows(user_id, list_id, n):
    now = int(time.time() * 1000)
    for i, key in enumerate(sort_keys(n)):
        # Every other task done, as examples/seed.rs.
        yield (user_id, list_id, "2026-11-24", f"bench task {i}", "Incomplete" if i % 2 == 0 else "Completed",
               key, now, now)


INSERT = ("INSERT INTO tasks (user_id, list_id, date, text, status, sort_key, created_at, updated_at) "
          "VALUES ")


def fill(run, user_id, list_id, n):
    """n tasks at the end of an empty list, straight in the database (see the module's doc)."""
    started = time.monotonic()
    all_rows = list(rows(user_id, list_id, n))
    if run.pg:
        def lit(v):
            return str(v) if isinstance(v, int) else "'" + v.replace("'", "''") + "'"
        script = []
        for start in range(0, n, BATCH):
            chunk = all_rows[start:start + BATCH]
            script.append(INSERT + ",".join("(" + ",".join(lit(v) for v in r) + ")" for r in chunk) + ";")
        script.append(f"UPDATE users SET task_count = task_count + {n} WHERE id = {user_id};")
        run.pg.script("\n".join(script))  # psql autocommits each statement: one transaction per 1,000
    else:
        db = sqlite3.connect(run.database, timeout=30, isolation_level=None)
        try:
            for start in range(0, n, BATCH):
                db.execute("BEGIN IMMEDIATE")
                db.executemany(INSERT + "(?, ?, ?, ?, ?, ?, ?, ?)", all_rows[start:start + BATCH])
                db.execute("COMMIT")
            db.execute("UPDATE users SET task_count = task_count + ? WHERE id = ?", (n, user_id))
        finally:
            db.close()
    return time.monotonic() - started


def setup(run, password):
    """Registers the users, makes and fills their lists; returns {user: {...}}."""
    server = run.server
    out = {}
    started = time.monotonic()
    for user, n in USERS:
        email = f"{user}@bench.example"
        server.call("POST", "/v1/auth/register", {"email": email, "password": password})
        token = server.sign_in(email)
        user_id = server.call("GET", "/v1/auth/session", token=token)["user"]["id"]
        default = server.call("GET", "/v1/lists", token=token)["items"][0]
        assert default["default"], default
        other = server.call("POST", "/v1/lists", {"name": "bench"}, token=token)
        took = fill(run, user_id, other["id"], n)
        if user == "lists100":
            took += fill(run, user_id, default["id"], n)
        out[user] = {"token": token, "user_id": user_id, "default": default["id"], "list": other["id"], "n": n}
        print(f"  {user}: list {other['id']} filled with {n:,} tasks in {took:.1f} s", flush=True)
    if run.pg:
        run.pg.settle()  # statistics for the new rows, as after the seed
    for user, u in out.items():
        got = server.call("GET", f"/v1/lists/{u['list']}", token=u["token"])["task_count"]
        total = server.call("GET", f"/v1/lists/{u['list']}/tasks?page=1&per_page=1", token=u["token"])["total_items"]
        if got != u["n"] or total != u["n"]:
            raise SystemExit(f"bench: lists: {user}'s list holds {got} (total_items {total}), not {u['n']}")
    print(f"  set up in {time.monotonic() - started:.1f} s", flush=True)
    return out


def page_ids(server, token, list_id, page, per_page):
    path = f"/v1/lists/{list_id}/tasks?page={page}&per_page={per_page}"
    return [t["id"] for t in server.call("GET", path, token=token)["items"]]


def measure(run, password, rounds=ROUNDS, duration=10):
    """Runs the group on a running listo (run: bench.py's Run); returns what the report needs."""
    server = run.server
    print("9. lists (issue 24): set-up")
    users = setup(run, password)
    seeded = server.sign_in("list100k@bench.example")
    l100, l1k, l100k = users["lists100"], users["lists1k"], users["lists100k"]

    # The two feeds of one user with one list: the same 100 tasks, checked.
    latest = run.latest_seq("list100k@bench.example")
    feeds = {}
    for since, tag in [(max(latest - 100, 0), "tail"), (0, "start")]:
        own = server.call("GET", f"/v1/tasks/changes?since={since}&limit=100", token=seeded)
        everything = server.call("GET", f"/v1/changes?since={since}&limit=100", token=seeded)
        a = [(c["seq"], c["id"]) for c in own["changes"]]
        b = [(c["seq"], c["id"]) for c in everything["changes"] if c["kind"] in ("upsert", "delete")]
        print(f"  feeds since={since}: /v1/tasks/changes {len(a)} changes, /v1/changes {len(everything['changes'])} "
              f"entries ({len(b)} of tasks)", flush=True)
        if tag == "tail" and (a != b or len(a) != 100):
            raise SystemExit("bench: lists: the two feeds do not answer the same last 100 changes")
        feeds[tag] = since

    middle = {u: page_ids(server, users[u]["token"], users[u]["list"], 25, 20) for u in ["lists1k", "lists100k"]}
    first = {u: page_ids(server, users[u]["token"], users[u]["list"], 1, 20) for u in ["lists1k", "lists100k"]}

    pairs = []  # (key, name, path, kw)
    feed_rows = [
        ("feed_tasks_tail", "GET /v1/tasks/changes since=latest-100, 100k changes",
         f"/v1/tasks/changes?since={feeds['tail']}&limit=100", dict(token=seeded)),
        ("feed_all_tail", "GET /v1/changes since=latest-100, 100k changes",
         f"/v1/changes?since={feeds['tail']}&limit=100", dict(token=seeded)),
        ("feed_tasks_start", "GET /v1/tasks/changes since=0, 100k changes",
         "/v1/tasks/changes?since=0&limit=100", dict(token=seeded)),
        ("feed_all_start", "GET /v1/changes since=0, 100k changes", "/v1/changes?since=0&limit=100",
         dict(token=seeded)),
        ("feed_tasks_elsewhere", "GET /v1/tasks/changes since=0, empty default list, 100k changes in another",
         "/v1/tasks/changes?since=0&limit=100", dict(token=l100k["token"])),
    ]
    page_rows = [
        ("page_default_100", "GET /v1/tasks page 1, 100 tasks (lists100)", "/v1/tasks?page=1&per_page=20",
         dict(token=l100["token"])),
        ("page_list_100", "GET /v1/lists/{id}/tasks page 1, 100 tasks (lists100, 2nd list)",
         f"/v1/lists/{l100['list']}/tasks?page=1&per_page=20", dict(token=l100["token"])),
        ("page_byid_100", "GET /v1/lists/{default}/tasks page 1, 100 tasks (lists100)",
         f"/v1/lists/{l100['default']}/tasks?page=1&per_page=20", dict(token=l100["token"])),
        ("page_default_100k", "GET /v1/tasks page 1, 100k tasks (list100k)", "/v1/tasks?page=1&per_page=20",
         dict(token=seeded)),
        ("page_list_100k", "GET /v1/lists/{id}/tasks page 1, 100k tasks (lists100k)",
         f"/v1/lists/{l100k['list']}/tasks?page=1&per_page=20", dict(token=l100k["token"])),
    ]
    order_rows = []
    for u, label in [("lists1k", "1k"), ("lists100k", "100k")]:
        t = users[u]
        order_rows += [
            (f"sort_{u}", f"POST /v1/lists/{{id}}/tasks/sort page 1 (two orders in turn), {label} tasks",
             f"/v1/lists/{t['list']}/tasks/sort?page=1&per_page=20",
             dict(method="POST", body={"task_ids": first[u][::-1]}, body2={"task_ids": first[u]},
                  token=t["token"])),
            (f"move_{u}", f"POST /v1/tasks/{{id}}/move (after_id, mid-list), {label}-task list",
             f"/v1/tasks/{middle[u][0]}/move", dict(method="POST", body={"after_id": middle[u][10]},
                                                     token=t["token"])),
        ]
    per_round = []
    for r in range(rounds):
        print(f"9. lists, round {r + 1} of {rounds}", flush=True)
        got = {}
        for key, name, path, kw in feed_rows + page_rows + order_rows:
            if key.startswith("sort_"):
                email = f"{key[5:]}@bench.example"
                before = run.latest_seq(email)
            got[key] = run.scenario(f"lists_{key}_{r}", f"{name} [round {r + 1}]", path, **kw)
            if key.startswith("sort_"):
                moved = (run.latest_seq(email) - before) / 20
                got[key]["moving_share"] = moved / max(got[key]["rps"] * duration, 1)
                print(f"    sorts that moved tasks: {moved:,.0f}, about {got[key]['moving_share']:.0%} of them",
                      flush=True)
        per_round.append(got)
    return {"rounds": per_round, "users": {u: {"n": v["n"]} for u, v in users.items()}}


# (figure, slow scenario, fast scenario, target)
FIGURES = [
    ("list page 1, 100 tasks: /v1/lists/{id}/tasks (2nd list) / /v1/tasks, same user",
     "page_list_100", "page_default_100", "≤ 1.1"),
    ("list page 1, 100 tasks: /v1/lists/{default}/tasks / /v1/tasks, same list",
     "page_byid_100", "page_default_100", "measured"),
    ("list page 1, 100k tasks: /v1/lists/{id}/tasks / /v1/tasks", "page_list_100k", "page_default_100k", "≤ 1.1"),
    ("list sort (/v1/lists/{id}/tasks/sort): 100k-task list / 1k", "sort_lists100k", "sort_lists1k", "≤ 1.5"),
    ("list move (/v1/tasks/{id}/move): 100k-task list / 1k", "move_lists100k", "move_lists1k", "≤ 1.5"),
    ("/v1/changes / /v1/tasks/changes, last 100 of 100k", "feed_all_tail", "feed_tasks_tail", "≤ 1.1"),
    ("/v1/changes / /v1/tasks/changes, since=0", "feed_all_start", "feed_tasks_start", "≤ 1.1"),
    ("/v1/tasks/changes since=0: empty default list beside a 100k list / 100k changes in the default list",
     "feed_tasks_elsewhere", "feed_tasks_start", "measured"),
]


def ratios(result, slow, fast):
    """Time per request slow / fast in each round (from requests/s)."""
    return [r[fast]["rps"] / r[slow]["rps"] for r in result["rounds"]]


def figures(result):
    """[(name, mean ratio, (min, max), target)]"""
    out = []
    for name, slow, fast, target in FIGURES:
        each = ratios(result, slow, fast)
        out.append((name, statistics.mean(each), (min(each), max(each)), target))
    return out


def num(x):
    """A ratio: two decimals, or three significant digits far from 1."""
    return f"{x:.2f}" if 0.1 <= x < 100 else f"{x:.3g}" if x < 100 else f"{x:,.0f}"


def report(results, stores, met, migration=None):
    """Lines for BENCHMARKS.md: requests/s per round, the figures, the migration (when measured)."""
    if not results and not migration:
        return []
    lines = ["", "## Lists (issue 24), this run", ""]
    if results:
        rounds = max(len(r["rounds"]) for r in results.values())
        lines += [
            "`lists` group (bench/lists.py): three users registered over HTTP, each with a list of its own filled",
            "in the database as the seed fills default lists (100, 1,000 and 100,000 tasks); the feeds are seeded",
            f"list100k's (one list, 100,000 changes). Every scenario ran {rounds} times, the rounds one after the",
            "other; a ratio is the mean of the rounds' ratios (time per request, from requests/s), with their range.",
            "",
            "| scenario | " + " | ".join(f"{label} req/s (rounds)" for s, label in stores if s in results) + " |",
            "| --- | " + " | ".join("---:" for s, _ in stores if s in results) + " |",
        ]
        first = next(iter(results.values()))
        for key in first["rounds"][0]:
            name = first["rounds"][0][key]["name"].rsplit(" [round", 1)[0]
            cells = []
            for s, _ in stores:
                if s in results:
                    cells.append(" / ".join(f"{r[key]['rps']:.0f}" for r in results[s]["rounds"]))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        shares = []
        for s, label in stores:
            if s in results:
                for key in ("sort_lists1k", "sort_lists100k"):
                    got = [r[key].get("moving_share") for r in results[s]["rounds"] if key in r]
                    if got and None not in got:
                        shares.append(f"{label} {key[10:]}: " + ", ".join(f"{x:.0%}" for x in got))
        if shares:
            lines += ["", "Sorts that moved tasks (the rest posted the order the page already had), by round: "
                      + "; ".join(shares) + "."]
        lines += ["", "| figure | " + " | ".join(f"{label} (range)" for s, label in stores if s in results)
                  + " | target |",
                  "| --- | " + " | ".join("---:" for s, _ in stores if s in results) + " | --- |"]
        figs = {s: figures(r) for s, r in results.items()}
        for i, (name, _, _, target) in enumerate(figs[next(iter(figs))]):
            cells = []
            for s, _ in stores:
                if s in figs:
                    _, mean, (lo, hi), _ = figs[s][i]
                    shown = met(mean, target) if target != "measured" else num(mean)
                    cells.append(f"{shown} ({num(lo)}–{num(hi)})")
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {target} |")
    if migration:
        import lists_migration
        mig = lists_migration.report(migration, stores)
        lines += mig if results else mig[1:]
    return lines
