"""Schemathesis hooks for scripts/spec/run.sh: who the fuzzer is signed in as, and the few requests
that depend on the server's state, which no OpenAPI document can describe. Without them the
fuzzer's valid data for these operations is refused for reasons the document cannot state, and the
run would warn about them ("Schema validation mismatch", "Low valid-input rate", "Missing test
data") on every run, hiding real mismatches.

Signing in (two auth providers; schemathesis calls one for every case it sends):
- Every operation but four is sent with the token run.sh signed in with (fuzz@example.com, the
  "main" user: its tasks are what the task operations are fuzzed against). Nothing fuzzed may end
  that session: if it answers 401 session_* all the same, the next case stops the run with an
  error naming the first call that found it ended.
- The four operations that end sessions or the account (logout, end_session, change_password,
  delete_account) are sent as a throwaway user (spare-N@example.com, with the password the
  document's examples use, so that their examples really change the password and delete the
  account). Whenever a call may have ended its session, the next case signs it in again (login,
  the code from the newest .eml, verify); after its password was changed (the examples no longer
  know it) or its account deleted, the next case registers a new throwaway user. So every one of
  these operations is fuzzed in full, successes included, and none of them pulls the rug from
  under the rest of the run. A closing line counts what the throwaway users went through.

State-dependent requests (only cases schemathesis generated as valid, "positive", are changed;
invalid ones go out as generated, so the server's refusals are still fuzzed):
- POST /v1/tasks/sort takes exactly the ids the page shows now (any other ids: 422 invalid_order,
  or 409 order_conflict). A valid case's task_ids become that page's ids, read just before, in
  reverse order, for the page and per_page the case asked for.
- GET /v1/tasks?cursor= takes only a next_cursor the server made, and never together with page
  (422 validation_failed). A valid case that has a cursor gets a real one for its per_page and
  loses its page; with no next page to point at, it loses the cursor instead.
- POST /v1/tasks/{id}/move with before_id or after_id takes only another task of yours as the
  anchor (else 422 validation_failed: "task N is not among your tasks" / "relative to itself").
  A valid case's anchor becomes one of the user's other tasks (one is made if there is none).
- POST /v1/auth/register takes each email once (409 email_taken after that, and emails are
  compared lower-cased); the fuzzer repeats its favourite addresses often enough for schemathesis
  to call the operation under-exercised. A valid case whose email was already sent gets a fresh
  one (fuzz-N@example.com); first uses go out as generated.
- An email (register, login, password reset) is at most 64 characters before the @ and 254 in
  all, after trimming: lengths a pattern of dot-separated atoms cannot count, so the document's
  description states them (its pattern takes every address the server takes, and only lengths
  beyond). A valid case's email that is longer gets its part before the @ (then its first domain
  labels) cut to fit; the whitespace around it stays as generated.
- POST /v1/auth/refresh takes only a refresh token the server issued (anything else: 401
  refresh_invalid). A valid case's token becomes the latest of one refresh chain of the main
  user's (a sign-in of its own, begun on first use), so the operation's 200 is fuzzed too; each
  200 moves the chain on, and any other answer starts a new one.
- The same on any list: POST /v1/lists/{id}/tasks/sort takes that list's page, GET
  /v1/lists/{id}/tasks?cursor= a cursor of that list, and a move's anchor must be in the moved
  task's own list. PATCH /v1/tasks/{id} takes only a `list_id` of yours (else 422 naming it): a
  valid case's becomes the main user's default list. DELETE /v1/lists/{id} of a valid case
  deletes a list made for it (so the lists other cases use stay; the default list is 409).
- GET /v1/tasks/changes?since=, GET /v1/changes and the two event streams (since,
  Last-Event-ID) take only a position the user's feed reached (a number ahead of it: 422 invalid_cursor). A valid case's
  position becomes a real one: the first entry's, read just before.
- DELETE /v1/auth/sessions/{id} takes only the id of one of your live sessions (anything else:
  404 session_not_found), and ids are random. A valid case's id becomes that of another live
  session of the throwaway user (the hook signs it in once more to have one), so the one the
  request is sent with lives on.

Live streams: GET /v1/tasks/events answers a stream that lasts as long as its session. Every case
of it sent with the main token goes out with a new session of the main user instead, which a
timer logs out a moment later: the stream then ends with its `session_revoked` event, as a client
sees it, rather than at the fuzzer's 20 s request timeout.

Loopback only: the base URL, the main token and the outbox come from run.sh (LISTO_SPEC_URL,
LISTO_SPEC_TOKEN, LISTO_SPEC_OUTBOX).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests
import schemathesis

BASE_URL = os.environ["LISTO_SPEC_URL"].rstrip("/")
TOKEN = os.environ["LISTO_SPEC_TOKEN"]
OUTBOX = Path(os.environ["LISTO_SPEC_OUTBOX"])
# The password in the document's examples (Credentials, PasswordChange.current_password,
# AccountDeletion): a throwaway user has it until its password is changed.
EXAMPLE_PASSWORD = "correct horse battery"
# Emails that valid register cases have sent (run.sh's own sign-in user included).
_registered: set[str] = {"fuzz@example.com"}

# The operations that end sessions or the account: sent as the throwaway user.
SESSION_ENDERS = ["logout", "end_session", "change_password", "delete_account"]
LOGOUT = "POST /v1/auth/logout"
END_SESSION = "DELETE /v1/auth/sessions/{id}"
CHANGE_PASSWORD = "POST /v1/auth/password"
DELETE_ACCOUNT = "DELETE /v1/auth/account"
EVENTS = "GET /v1/tasks/events"
REFRESH = "POST /v1/auth/refresh"
# The main user (run.sh's sign-in) and its password, for the streams' own sessions.
MAIN_EMAIL = "fuzz@example.com"
# How long a fuzzed stream's session lives before the timer logs it out.
STREAM_LIFE_S = 0.3


def _is_positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _page(query: dict[str, Any], path: str = "/v1/tasks") -> dict[str, Any] | None:
    """GET `path` (a list's tasks) with the paging the case asked for (listo's defaults
    otherwise); None if that is refused, and then the case goes out unchanged (its own answer
    tells why)."""
    params = {"page": query.get("page", 1), "per_page": query.get("per_page", 20)}
    params.update({k: v for k, v in query.items() if k in ("status", "date_from", "date_to")})
    response = requests.get(f"{BASE_URL}{path}", params=params, headers=_bearer(TOKEN), timeout=10)
    return response.json() if response.status_code == 200 else None


def _tasks_path(label: str, case: Any) -> str:
    """Where a case's list of tasks is read: /v1/tasks, or /v1/lists/{id}/tasks for its id."""
    if label.startswith(("GET /v1/lists/{id}", "POST /v1/lists/{id}")):
        return f"/v1/lists/{(case.path_parameters or {}).get('id')}/tasks"
    return "/v1/tasks"


def _default_list() -> int:
    """The main user's default list."""
    return int(_call("GET", "/v1/lists", 200, token=TOKEN)["items"][0]["id"])


def _spare_list() -> int:
    """A list of the main user's made for one case to delete (the others stay for the rest)."""
    return int(_call("POST", "/v1/lists", 201, {"name": "for a delete"}, token=TOKEN)["id"])


def _new_task(path: str = "/v1/tasks") -> int:
    """A task (in the list `path` names) to move another one next to, when it has no other."""
    response = requests.post(
        f"{BASE_URL}{path}",
        json={"date": "2026-11-24", "task": "anchor for a move", "status": "Incomplete"},
        headers=_bearer(TOKEN),
        timeout=10,
    )
    response.raise_for_status()
    return int(response.json()["id"])


# ---------------------------------------------------------------------------------------------
# Signing in


def _call(method: str, path: str, want: int, body: Any = None, token: str | None = None) -> Any:
    """One request of the hooks' own; anything but `want` is an error that names the answer."""
    response = requests.request(
        method, f"{BASE_URL}{path}", json=body, headers=_bearer(token) if token else None, timeout=20
    )
    if response.status_code != want:
        raise RuntimeError(f"{method} {path}: wanted {want}, got {response.status_code}: {response.text[:300]}")
    return response.json() if response.content else None


def _mails() -> set[Path]:
    return set(OUTBOX.glob("*.eml"))


def _code_for(email: str, before: set[Path]) -> str:
    """The sign-in code in the .eml to `email` that arrived after `before` was taken."""
    deadline = time.monotonic() + 10
    while True:
        for mail in sorted(_mails() - before, key=lambda p: p.stat().st_mtime_ns, reverse=True):
            text = mail.read_text(encoding="utf-8", errors="replace").replace("=\r\n", "").replace("=\n", "")
            if re.search(rf"^To:.*{re.escape(email)}", text, re.MULTILINE | re.IGNORECASE):
                found = re.search(r"sign-in code is (\d{6})\b", text)
                if found is None:
                    raise RuntimeError(f"no sign-in code in {mail}")
                return found.group(1)
        if time.monotonic() > deadline:
            raise RuntimeError(f"no sign-in code for {email} in {OUTBOX} within 10 s")
        time.sleep(0.02)


def _sign_in(email: str, password: str) -> tuple[str, str]:
    """login → the emailed code → verify: a new session's token and its public id."""
    before = _mails()
    challenge = _call("POST", "/v1/auth/login", 202, {"email": email, "password": password})["challenge_id"]
    code = _code_for(email, before)
    token = _call("POST", "/v1/auth/verify", 200, {"challenge_id": challenge, "code": code})["access_token"]
    listed = _call("GET", "/v1/auth/sessions", 200, token=token)["items"]
    current = [s["id"] for s in listed if s["current"]]
    if len(current) != 1:
        raise RuntimeError(f"GET /v1/auth/sessions marks {len(current)} sessions current: {listed}")
    return token, current[0]


# (Plain classes, not dataclasses: schemathesis loads this file outside sys.modules, where
# @dataclass cannot resolve the module's annotations.)
class _Throwaway:
    """The throwaway user the session-ending operations are sent as."""

    def __init__(self) -> None:
        self.serial = 0
        self.email: str | None = None  # None: none yet, or the last one was deleted or its password changed
        self.token: str | None = None  # None: its session may have ended; sign in again before use
        self.session_id: str | None = None  # the public id of the session `token` opens
        self.others: list[str] = []  # ids of its other live sessions (for end_session)
        self.dead: set[str] = set()  # its tokens whose session ended
        # What happened, for the closing line.
        self.accounts = 0
        self.sign_ins = 0
        self.done: dict[str, int] = {}


_spare = _Throwaway()


def _spare_token() -> str:
    if _spare.email is None:
        while True:
            _spare.serial += 1
            email = f"spare-{_spare.serial}@example.com"
            response = requests.post(
                f"{BASE_URL}/v1/auth/register", json={"email": email, "password": EXAMPLE_PASSWORD}, timeout=20
            )
            if response.status_code == 201:
                break
            if response.status_code != 409:  # 409: a fuzzed register took the address first
                raise RuntimeError(f"register {email}: {response.status_code} {response.text[:300]}")
        _registered.add(email)
        _spare.email, _spare.token, _spare.others = email, None, []
        _spare.accounts += 1
    if _spare.token is None:
        _spare.token, _spare.session_id = _sign_in(_spare.email, EXAMPLE_PASSWORD)
        _spare.sign_ins += 1
    return _spare.token


def _spare_other_session() -> str:
    """The id of a live session of the throwaway user other than the one its token opens."""
    _spare_token()
    if not _spare.others:
        assert _spare.email is not None
        _, session_id = _sign_in(_spare.email, EXAMPLE_PASSWORD)  # another device; its token is not needed
        _spare.sign_ins += 1
        _spare.others.append(session_id)
    return _spare.others[-1]


def _spare_ended() -> None:
    if _spare.token is not None:
        _spare.dead.add(_spare.token)
    _spare.token, _spare.session_id = None, None


class _MainUser:
    def __init__(self) -> None:
        self.killed_by: str | None = None  # the first call the main token got 401 session_* to


_main = _MainUser()


def _set_bearer(case: Any, token: str) -> None:
    if case.headers is None:
        case.headers = {}
    case.headers["Authorization"] = f"Bearer {token}"


@schemathesis.auth(refresh_interval=None).skip_for(operation_id=SESSION_ENDERS)
class MainUser:
    def get(self, case: Any, ctx: Any) -> str:
        if _main.killed_by is not None:
            raise RuntimeError(
                f"the main user's session (run.sh's sign-in) ended during the run: it answered 401 "
                f"{_main.killed_by}; nothing fuzzed as the main user is meant to end it"
            )
        return TOKEN

    def set(self, case: Any, data: str, ctx: Any) -> None:
        _set_bearer(case, data)


@schemathesis.auth(refresh_interval=None).apply_to(operation_id=SESSION_ENDERS)
class ThrowawayUser:
    def get(self, case: Any, ctx: Any) -> str:
        return _spare_token()

    def set(self, case: Any, data: str, ctx: Any) -> None:
        _set_bearer(case, data)


def _problem_code(response: Any) -> str:
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    """Notes which of the fuzzer's sessions the call ended, and whether it changed or deleted the
    throwaway user, so that the next case is sent signed in."""
    sent = response.request.headers.get("Authorization", "")
    label = case.operation.label
    status = response.status_code
    if label == REFRESH and _Chain.latest is not None and _is_positive(case):
        try:
            _Chain.latest = str(response.json()["refresh_token"]) if status == 200 else None
        except (ValueError, KeyError, TypeError):
            _Chain.latest = None
    if _spare.token is not None and sent == f"Bearer {_spare.token}":
        if 200 <= status < 300:
            _spare.done[label] = _spare.done.get(label, 0) + 1
            if label == DELETE_ACCOUNT:
                _spare_ended()
                _spare.email = None  # gone: the next case registers a new one
            elif label == CHANGE_PASSWORD:
                _spare_ended()  # (its session lives on, but the user is retired)
                _spare.email = None  # its password is no longer the examples' one
            elif label == LOGOUT:
                scope = (case.query or {}).get("scope", "local")
                if scope in ("others", "global"):
                    _spare.others = []
                if scope != "others":  # local (the default) or global
                    _spare_ended()
            elif label == END_SESSION:
                ended = str((case.path_parameters or {}).get("id"))
                if ended == _spare.session_id:
                    _spare_ended()
                elif ended in _spare.others:
                    _spare.others.remove(ended)
        elif status == 401 and _problem_code(response).startswith("session_"):
            _spare_ended()  # whatever ended it, sign in again
    elif sent == f"Bearer {TOKEN}" and status == 401 and _problem_code(response).startswith("session_"):
        _main.killed_by = f"{_problem_code(response)} to {label} (case {case.id})"


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    headers = case.headers or {}
    if headers.get("Authorization") in {f"Bearer {t}" for t in _spare.dead}:
        _set_bearer(case, _spare_token())  # signed in before an earlier case ended that session
    if case.operation.label in (EVENTS, "GET /v1/events") and headers.get("Authorization") == f"Bearer {TOKEN}":
        _set_bearer(case, _short_session())
    if not _is_positive(case):
        return
    label = case.operation.label
    if isinstance(case.body, dict) and isinstance(case.body.get("email"), str):
        case.body = {**case.body, "email": _fit_email(case.body["email"])}
    if label == "POST /v1/auth/register" and isinstance(case.body, dict):
        email = case.body.get("email")
        if isinstance(email, str):
            key = email.strip().lower()
            if key in _registered:
                fresh = f"fuzz-{len(_registered)}@example.com"
                case.body = {**case.body, "email": fresh}
                key = fresh
            _registered.add(key)
    elif label in ("POST /v1/tasks/sort", "POST /v1/lists/{id}/tasks/sort"):
        page = _page(dict(case.query or {}), _tasks_path(label, case))
        if page is not None and isinstance(case.body, dict):
            ids = [task["id"] for task in reversed(page["items"])]
            case.body = {**case.body, "task_ids": ids}  # other fields stay, as generated
    elif label == "POST /v1/tasks/{id}/move" and isinstance(case.body, dict):
        fields = [f for f in ("before_id", "after_id") if f in case.body]
        if fields:
            moved = str((case.path_parameters or {}).get("id"))  # an int, or a string from a link
            # The anchor must be in the moved task's list.
            found = requests.get(f"{BASE_URL}/v1/tasks/{moved}", headers=_bearer(TOKEN), timeout=10)
            in_list = f"/v1/lists/{found.json()['list_id']}/tasks" if found.status_code == 200 else "/v1/tasks"
            page = _page({"page": 1, "per_page": 100}, in_list)
            others = [t["id"] for t in page["items"] if str(t["id"]) != moved] if page is not None else []
            if not others:
                others = [_new_task(in_list)]
            body = dict(case.body)
            for f in fields:
                body[f] = others[0] if f == "before_id" else others[-1]
            case.body = body
    elif label in ("GET /v1/tasks", "GET /v1/lists/{id}/tasks") and case.query and "cursor" in case.query:
        # A cursor carries the filters it was listed with (422 invalid_cursor with others): a
        # real one is fetched under the case's own filters.
        query = dict(case.query)
        query.pop("page", None)
        filters = {k: v for k, v in query.items() if k in ("status", "date_from", "date_to")}
        first = _page({"page": 1, "per_page": query.get("per_page", 20), **filters}, _tasks_path(label, case))
        cursor = first.get("next_cursor") if first is not None else None
        if cursor is None:
            query.pop("cursor")
        else:
            query["cursor"] = cursor
        case.query = query
    elif label in ("GET /v1/tasks/changes", "GET /v1/tasks/events", "GET /v1/changes", "GET /v1/events"):
        _real_positions(case)
    elif label == "PATCH /v1/tasks/{id}" and isinstance(case.body, dict) and "list_id" in case.body:
        case.body = {**case.body, "list_id": _default_list()}
    elif label == "DELETE /v1/lists/{id}":
        case.path_parameters = {**(case.path_parameters or {}), "id": _spare_list()}
    elif label == REFRESH and isinstance(case.body, dict):
        case.body = {**case.body, "refresh_token": _chain_token()}
    elif label == END_SESSION and (case.headers or {}).get("Authorization") == f"Bearer {_spare.token}":
        case.path_parameters = {**(case.path_parameters or {}), "id": _spare_other_session()}
    if label in ("GET /v1/tasks", "POST /v1/tasks/sort", "GET /v1/lists/{id}/tasks") and case.query:
        # date_from after date_to is a range that ends before it starts: 422 naming date_from,
        # a rule no schema can state. A valid case's range runs forwards.
        query = dict(case.query)
        start, end = query.get("date_from"), query.get("date_to")
        if isinstance(start, str) and isinstance(end, str) and start > end:
            query["date_from"], query["date_to"] = end, start
            case.query = query
    _fresh_preconditions(case, label)


def _fit_email(email: str) -> str:
    """`email` within the lengths the description states: 64 before the @, 254 in all (trimmed)."""
    lead = email[: len(email) - len(email.lstrip())]
    trail = email[len(email.rstrip()) :]
    local, _, domain = email.strip().rpartition("@")
    local = local[:64].rstrip(".")
    labels = domain.split(".")
    while len(local) + 1 + len(".".join(labels)) > 254 and len(labels) > 2:
        labels.pop(0)
    domain = ".".join(labels)
    local = local[: max(1, 254 - 1 - len(domain))].rstrip(".")
    return f"{lead}{local}@{domain}{trail}"


class _Chain:
    """The refresh chain valid refresh cases are sent with: its latest refresh token."""

    latest: str | None = None


def _chain_token() -> str:
    if _Chain.latest is None:
        before = _mails()
        body = {"email": MAIN_EMAIL, "password": EXAMPLE_PASSWORD}
        challenge = _call("POST", "/v1/auth/login", 202, body)["challenge_id"]
        code = _code_for(MAIN_EMAIL, before)
        pair = _call("POST", "/v1/auth/verify", 200, {"challenge_id": challenge, "code": code})
        _Chain.latest = str(pair["refresh_token"])
    return _Chain.latest


def _short_session() -> str:
    """A new session of the main user, logged out STREAM_LIFE_S seconds from now."""
    token, _ = _sign_in(MAIN_EMAIL, EXAMPLE_PASSWORD)

    def end() -> None:
        requests.post(f"{BASE_URL}/v1/auth/logout", headers=_bearer(token), timeout=20)

    timer = threading.Timer(STREAM_LIFE_S, end)
    timer.daemon = True
    timer.start()
    return token


def _real_positions(case: Any) -> None:
    """A valid case's feed positions (`since`, `Last-Event-ID`) become one the feed reached."""
    query, headers = dict(case.query or {}), dict(case.headers or {})
    if "since" not in query and "Last-Event-ID" not in headers:
        return
    response = requests.get(f"{BASE_URL}/v1/tasks/changes?limit=1", headers=_bearer(TOKEN), timeout=10)
    position = response.json()["next_since"] if response.status_code == 200 else "0"
    if "since" in query:
        query["since"] = position
        case.query = query
    if "Last-Event-ID" in headers:
        headers["Last-Event-ID"] = position
        case.headers = headers


def _fresh_preconditions(case: Any, label: str) -> None:
    """A valid case's If-Match / If-None-Match name the task's (or list's) version as it is now (a stale one
    is a correct 412, or 304), and its Idempotency-Key is new (the document's example key, sent
    again with another body, is a correct 422 idempotency_key_reused). The server's answers to
    stale versions and reused keys are covered by tests/api/versions.rs and retries.rs."""
    headers = dict(case.headers or {})
    if "Idempotency-Key" in headers:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    tagged = [h for h in ("If-Match", "If-None-Match") if h in headers]
    task = (case.path_parameters or {}).get("id")
    lists = ("PATCH /v1/lists/{id}", "DELETE /v1/lists/{id}", "GET /v1/lists/{id}")
    if tagged and label.startswith(("PATCH /v1/tasks/", "DELETE /v1/tasks/", "POST /v1/tasks/{id}/move", "GET /v1/tasks/{id}", *lists)):
        kind = "lists" if label in lists else "tasks"
        response = requests.get(f"{BASE_URL}/v1/{kind}/{task}", headers=_bearer(TOKEN), timeout=10)
        etag = response.headers.get("etag") if response.status_code == 200 else None
        for header in tagged:
            if etag is None or header == "If-None-Match":
                headers.pop(header)  # no task to match (404 says so), or a 304 with no body
            else:
                headers[header] = etag
    case.headers = headers


@atexit.register
def _summary() -> None:
    if _spare.accounts:
        done = ", ".join(f"{label} {n}" for label, n in sorted(_spare.done.items())) or "none"
        print(
            f"hooks: throwaway users: {_spare.accounts} registered, {_spare.sign_ins} sign-ins; "
            f"2xx answers to them: {done}",
            flush=True,
        )
