"""The whole listo story through the Python client that openapi-python-client generated from
`listo openapi`, using its typed models at every step (mypy --strict checks this file against
the generated package before it runs): register … logout, with lists on the way (the default
list, a list made, tasks added to it, one moved to the default list, a rename with If-Match, the
feed of every list, the list deleted), then the account's life: sessions listed and ended by id,
logout scope=others, a password change, a reset by emailed code, and the account deleted. Then,
on a listo with short-lived access tokens, one sign-in kept alive by refresh alone
(RefreshingAuth, an httpx.Auth) and a 304 read as "unchanged".

Run by scripts/clients/run.sh with:
  LISTO_URL     base URL of a running listo (http://127.0.0.1:PORT)
  LISTO_OUTBOX  the folder listo writes .eml files to (no LISTO_SMTP_URL)
  FLOW_EMAIL    an address no other flow uses (rate limits are per email)
  LISTO_SHORT_URL, LISTO_SHORT_OUTBOX, LISTO_SHORT_TTL
                a second listo whose access tokens live LISTO_SHORT_TTL s (the keep-alive story)
"""

from __future__ import annotations

import datetime as dt
import email
import os
import re
import sys
import time
from email import policy
from email.message import EmailMessage
from http import HTTPStatus
from pathlib import Path
from collections.abc import Generator
from typing import Any, NoReturn, TypeVar

import httpx
from listo_client import AuthenticatedClient, Client
from listo_client.api.account import (
    change_password,
    confirm_password_reset,
    delete_account,
    end_session,
    list_sessions,
    request_password_reset,
)
from listo_client.api.auth import get_session, login, logout, refresh, register, verify
from listo_client.api.lists import (
    create_list,
    create_list_task,
    delete_list,
    get_list,
    list_feed,
    list_list_tasks,
    list_lists,
    rename_list,
)
from listo_client.api.system import healthz, readyz
from listo_client.api.tasks import (
    create_task,
    list_changes,
    delete_task,
    get_task,
    list_tasks,
    move_task,
    sort_tasks,
    update_task,
)
from listo_client.models import (
    AccessToken,
    Account,
    AccountDeletion,
    Challenge,
    ChangeKind,
    ChangePage,
    CodeSubmission,
    Credentials,
    End,
    FeedPage,
    Health,
    List,
    ListName,
    Lists,
    MoveRequest,
    NewTask,
    PasswordChange,
    Problem,
    RefreshRequest,
    ResetConfirmation,
    ResetRequest,
    Role,
    Scope,
    Session,
    SessionInfo,
    SessionList,
    SortRequest,
    Status,
    Task,
    TaskPage,
    TaskPatch,
)
from listo_client.types import UNSET, Response

PASSWORD = "correct horse battery"
CHANGED_PASSWORD = "correct horse battery staple"  # set with change_password
RESET_PASSWORD = "a new horse for a new battery"  # set with the emailed reset code
DATE_RE = re.compile(r'"date"\s*:\s*"\d{4}-\d{2}-\d{2}"')
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what DELETE /v1/auth/sessions/{id} takes
REFRESH_TTL = 1_209_600  # listo's default LISTO_REFRESH_TTL
LIFETIMES = 3  # access-token lifetimes a sign-in must outlive through refresh alone
M = TypeVar("M")


class FlowError(Exception):
    pass


def fail(step: str, message: str) -> NoReturn:
    raise FlowError(f"{step}: {message}")


def check(step: str, condition: bool, message: str) -> None:
    if not condition:
        fail(step, message)


def ok(step: str) -> None:
    print(f"python flow: ok   {step}", flush=True)


def expect(step: str, resp: Response[Any], status: HTTPStatus, model: type[M]) -> M:
    """The response has this status and the generated client parsed its body as this model."""
    body = resp.content.decode("utf-8", "replace")[:500]
    check(step, resp.status_code == status, f"status {int(resp.status_code)}, wanted {int(status)}; body {body}")
    parsed = resp.parsed
    if not isinstance(parsed, model):
        fail(step, f"body parsed as {type(parsed).__name__}, wanted {model.__name__}; body {body}")
    return parsed


def expect_empty(step: str, resp: Response[Any], status: HTTPStatus) -> None:
    body = resp.content.decode("utf-8", "replace")[:500]
    check(step, resp.status_code == status, f"status {int(resp.status_code)}, wanted {int(status)}; body {body}")
    check(step, resp.content == b"", f"wanted an empty body, got {body}")


def expect_problem(step: str, resp: Response[Any], status: HTTPStatus, code: str) -> Problem:
    problem = expect(step, resp, status, Problem)
    content_type = resp.headers.get("content-type", "")
    check(step, content_type.startswith("application/problem+json"), f"content-type {content_type!r}")
    check(step, problem.code == code, f"code {problem.code!r}, wanted {code!r}")
    check(step, problem.status == int(status), f"problem.status {problem.status}, wanted {int(status)}")
    check(step, problem.type_ == "about:blank", f"problem.type {problem.type_!r}")
    check(step, bool(problem.title) and bool(problem.detail), f"empty title or detail: {problem!r}")
    return problem


def check_task(step: str, task: Task, *, date: dt.date, text: str, status: Status) -> None:
    check(step, isinstance(task.id, int) and task.id > 0, f"id {task.id!r}")
    check(step, type(task.date) is dt.date, f"date {task.date!r} is not a datetime.date")
    check(step, task.date == date, f"date {task.date!r}, wanted {date!r}")
    check(step, task.task == text, f"task {task.task!r}, wanted {text!r}")
    check(step, task.status is status, f"status {task.status!r}, wanted {status!r}")
    check(step, isinstance(task.created_at, dt.datetime) and task.created_at.tzinfo is not None, "created_at")
    check(step, isinstance(task.updated_at, dt.datetime) and task.updated_at >= task.created_at, "updated_at")


def ids(page: TaskPage) -> list[int]:
    return [t.id for t in page.items]


def outbox_mails(outbox: Path) -> list[Path]:
    if not outbox.is_dir():
        return []
    return sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)


def read_code(step: str, outbox: Path, to: str, seen: set[Path], purpose: str = "sign-in") -> str:
    """The 6-digit code in the newest .eml in the outbox, which must be new, addressed to `to`,
    and say what it is for ("Your listo sign-in code is …" / "… password reset code is …")."""
    deadline = time.monotonic() + 5
    while True:
        mails = outbox_mails(outbox)
        if mails and mails[-1] not in seen:
            break
        if time.monotonic() > deadline:
            fail(step, f"no new .eml in {outbox} within 5 s")
        time.sleep(0.05)
    newest = mails[-1]
    message = email.message_from_bytes(newest.read_bytes(), policy=policy.default)
    if not isinstance(message, EmailMessage):
        fail(step, f"{newest.name} is not an email")
    recipient = str(message["To"] or "")
    check(step, to in recipient, f"{newest.name} is to {recipient!r}, not {to}")
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        fail(step, f"{newest.name} has no text/plain part")
    found = re.search(rf"{purpose} code is (\d{{6}})\b", str(part.get_content()))
    if found is None:
        fail(step, f"no '{purpose} code is NNNNNN' in {newest.name}")
    return found.group(1)


def sign_in(step: str, public: Client, outbox: Path, address: str, password: str) -> AccessToken:
    """login → the code from the outbox → verify: a new session."""
    seen = set(outbox_mails(outbox))
    challenge = expect(
        step,
        login.sync_detailed(client=public, body=Credentials(email=address, password=password)),
        HTTPStatus.ACCEPTED,
        Challenge,
    )
    code = read_code(step, outbox, address, seen)
    token = expect(
        step,
        verify.sync_detailed(client=public, body=CodeSubmission(challenge_id=challenge.challenge_id, code=code)),
        HTTPStatus.OK,
        AccessToken,
    )
    check(step, token.token_type == "Bearer" and len(token.access_token) >= 16, f"token {token.token_type!r}")
    return token


def expect_revoked(step: str, resp: Response[Any]) -> None:
    """A dead token's answer: 401 session_revoked with a Bearer challenge."""
    expect_problem(step, resp, HTTPStatus.UNAUTHORIZED, "session_revoked")
    challenge_header = resp.headers.get("www-authenticate", "")
    check(step, challenge_header.startswith("Bearer"), f"WWW-Authenticate {challenge_header!r}")


def check_session(step: str, session: Session, token: AccessToken, *, current: bool) -> None:
    """One item of GET /v1/auth/sessions, opened by this client from loopback."""
    check(step, SESSION_ID_RE.match(session.id) is not None, f"id {session.id!r}")
    check(step, session.id not in token.access_token, "the session id is part of the token")
    check(step, session.current is current, f"current {session.current!r}, wanted {current}")
    check(step, session.issued_at.tzinfo is not None and session.issued_at < session.expires_at, "issued_at")
    # A listed session is a sign-in: it lasts as long as its refresh token (14 days by default).
    check(step, 600 < session.expires_in <= REFRESH_TTL, f"expires_in {session.expires_in}")
    check(step, session.expires_at > dt.datetime.now(dt.UTC), f"expires_at {session.expires_at} is past")
    agent = session.user_agent
    check(step, isinstance(agent, str) and agent.startswith("python-httpx/"), f"user_agent {agent!r}")
    check(step, session.address == "127.0.0.1", f"address {session.address!r}")


def sessions(step: str, client: AuthenticatedClient) -> list[Session]:
    return expect(step, list_sessions.sync_detailed(client=client), HTTPStatus.OK, SessionList).items


class RefreshingAuth(httpx.Auth):
    """Bearer auth that keeps a sign-in alive: when the access token has expired (401
    `session_expired`), trade the refresh token for a new pair and send the request again."""

    requires_response_body = True  # the 401's `code` decides

    def __init__(self, public: Client, token: AccessToken) -> None:
        self.public, self.token, self.refreshes = public, token, 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token.access_token}"
        response = yield request
        if response.status_code == 401 and Problem.from_dict(response.json()).code == "session_expired":
            body = RefreshRequest(refresh_token=str(self.token.refresh_token))
            answer = refresh.sync_detailed(client=self.public, body=body)
            self.token = expect("refresh", answer, HTTPStatus.OK, AccessToken)  # 401 refresh_*: log in again
            self.refreshes += 1
            request.headers["Authorization"] = f"Bearer {self.token.access_token}"
            yield request


def keep_alive_story(base_url: str, outbox: Path, address: str, ttl: int) -> None:
    """One sign-in on a listo whose access tokens live `ttl` s, kept alive past LIFETIMES of them by
    refresh alone (no second login code is mailed); a 304 on an unchanged task is a success."""
    timeout = httpx.Timeout(10.0)
    public = Client(base_url=base_url, raise_on_unexpected_status=True, timeout=timeout)
    step = "keep-alive: sign in once"
    expect(
        step,
        register.sync_detailed(client=public, body=Credentials(email=address, password=PASSWORD)),
        HTTPStatus.CREATED,
        Account,
    )
    token = sign_in(step, public, outbox, address, PASSWORD)
    check(step, isinstance(token.refresh_token, str) and token.expires_in <= ttl, f"expires_in {token.expires_in}")
    auth = RefreshingAuth(public, token)
    client = AuthenticatedClient(
        base_url=base_url, token=token.access_token, timeout=timeout, httpx_args={"auth": auth}
    )
    new_task = NewTask(date=dt.date(2026, 12, 2), task="Stay signed in", status=Status.INCOMPLETE)
    task = expect(step, create_task.sync_detailed(client=client, body=new_task), HTTPStatus.CREATED, Task)
    ok(step)

    step = f"keep-alive: past {LIFETIMES} access-token lifetimes of {ttl} s through refresh alone"
    mails, started = len(outbox_mails(outbox)), time.monotonic()
    while auth.refreshes < LIFETIMES:
        check(step, time.monotonic() - started < 3 * LIFETIMES * ttl, f"only {auth.refreshes} refreshes")
        page = expect(step, list_tasks.sync_detailed(client=client), HTTPStatus.OK, TaskPage)
        check(step, ids(page) == [task.id], f"tasks {ids(page)}")
        time.sleep(ttl / 2)
    check(step, len(outbox_mails(outbox)) == mails, "a login code was mailed: it signed in again")
    ok(f"{step} ({auth.refreshes} refreshes in {time.monotonic() - started:.1f} s)")

    step = "keep-alive: 304 is a success"
    fresh = get_task.sync_detailed(id=task.id, client=client)
    check_task(step, expect(step, fresh, HTTPStatus.OK, Task), date=task.date, text=task.task, status=task.status)
    etag = fresh.headers["etag"]
    unchanged = get_task.sync_detailed(id=task.id, client=client, if_none_match=etag)
    check(step, unchanged.status_code == HTTPStatus.NOT_MODIFIED, f"status {int(unchanged.status_code)}")
    check(step, unchanged.parsed is None and unchanged.content == b"", "a 304 with a body")
    ok(f"{step} (If-None-Match: {etag} -> 304, the copy held is current)")

    step = "keep-alive: logout ends the sign-in, refresh token too"
    expect_empty(step, logout.sync_detailed(client=client), HTTPStatus.NO_CONTENT)
    expect_revoked(step, get_session.sync_detailed(client=client))
    spent = refresh.sync_detailed(client=public, body=RefreshRequest(refresh_token=str(auth.token.refresh_token)))
    expect_problem(step, spent, HTTPStatus.UNAUTHORIZED, "refresh_invalid")
    ok(f"{step} (401 session_revoked, then refresh: 401 refresh_invalid)")


def lists_story(client: AuthenticatedClient, account: Account, default_tasks: list[int]) -> int:
    """Lists through the generated client: the default list, a list made ("Groceries"), two tasks
    added to it and listed, one moved to the default list with PATCH list_id, a rename with
    If-Match (a stale one: 412), the feed of every list (/v1/changes), the list deleted (then its
    404 not_found Problem). Returns the id of the task moved to the default list."""
    step = "lists: one default list, Tasks"
    shown = expect(step, list_lists.sync_detailed(client=client), HTTPStatus.OK, Lists).items
    check(step, len(shown) == 1, f"{len(shown)} lists, wanted 1: {shown!r}")
    default = shown[0]
    check(step, default.name == "Tasks" and default.default is True, f"{default!r}")
    check(step, default.role is Role.OWNER, f"role {default.role!r}")
    owner = default.owner
    check(step, owner.id == account.id and owner.email == account.email, f"owner {owner!r}")
    check(step, default.task_count == len(default_tasks), f"task_count {default.task_count}")
    check(step, default.created_at.tzinfo is not None and default.updated_at >= default.created_at, "timestamps")
    ok(f"{step} (id {default.id}, {default.task_count} tasks)")

    step = "lists: create Groceries"
    made = create_list.sync_detailed(client=client, body=ListName(name="Groceries"))
    groceries = expect(step, made, HTTPStatus.CREATED, List)
    check(step, groceries.name == "Groceries" and groceries.default is False, f"{groceries!r}")
    check(step, groceries.id != default.id and groceries.task_count == 0, f"{groceries!r}")
    check(step, groceries.version == 1 and made.headers.get("etag") == '"1"', f"ETag {made.headers.get('etag')!r}")
    location = made.headers.get("location", "")
    check(step, location.endswith(f"/v1/lists/{groceries.id}"), f"Location {location!r}")
    both = expect(step, list_lists.sync_detailed(client=client), HTTPStatus.OK, Lists).items
    check(step, [x.id for x in both] == [default.id, groceries.id], f"lists {both!r}: wanted the default, then Groceries")
    ok(f"{step} (id {groceries.id})")

    step = "lists: add two tasks to Groceries"
    added: list[Task] = []
    for text in ("Milk", "Eggs"):
        new_task = NewTask(date=dt.date(2026, 11, 28), task=text, status=Status.INCOMPLETE)
        added_one = create_list_task.sync_detailed(id=groceries.id, client=client, body=new_task)
        task = expect(step, added_one, HTTPStatus.CREATED, Task)
        check_task(step, task, date=new_task.date, text=text, status=Status.INCOMPLETE)
        check(step, task.list_id == groceries.id, f"list_id {task.list_id}, wanted {groceries.id}")
        check(step, added_one.headers.get("location", "").endswith(f"/v1/tasks/{task.id}"), "Location")
        added.append(task)
    milk, eggs = added
    ok(step)

    def in_groceries() -> list[Task]:
        page = list_list_tasks.sync_detailed(id=groceries.id, client=client, page=1, per_page=20)
        return expect(step, page, HTTPStatus.OK, TaskPage).items

    def in_default() -> list[Task]:
        page = list_tasks.sync_detailed(client=client, page=1, per_page=20)
        return expect(step, page, HTTPStatus.OK, TaskPage).items

    step = "lists: GET /v1/lists/{id}/tasks lists them, /v1/tasks does not"
    listed = in_groceries()
    check(step, [t.id for t in listed] == [milk.id, eggs.id], f"Groceries holds {[t.id for t in listed]}")
    check(step, all(t.list_id == groceries.id for t in listed), f"list_ids {[t.list_id for t in listed]}")
    check(step, [t.id for t in in_default()] == default_tasks, "the default list changed")
    ok(step)

    step = "lists: move Eggs to the default list (PATCH /v1/tasks/{id} list_id)"
    to_default = TaskPatch(list_id=default.id)
    moved = expect(step, update_task.sync_detailed(id=eggs.id, client=client, body=to_default), HTTPStatus.OK, Task)
    check(step, moved.id == eggs.id and moved.list_id == default.id, f"{moved!r}")
    check_task(step, moved, date=eggs.date, text="Eggs", status=Status.INCOMPLETE)
    check(step, moved.version > eggs.version, f"version {moved.version} after {eggs.version}")
    now_default = in_default()
    check(step, [t.id for t in now_default] == [*default_tasks, eggs.id], f"/v1/tasks: {[t.id for t in now_default]}")
    check(step, now_default[-1].list_id == default.id, f"list_id {now_default[-1].list_id}, wanted {default.id}")
    check(step, [t.id for t in in_groceries()] == [milk.id], "Eggs is still in Groceries")
    counted = expect(step, get_list.sync_detailed(id=groceries.id, client=client), HTTPStatus.OK, List)
    check(step, counted.task_count == 1, f"Groceries' task_count {counted.task_count}, wanted 1")
    home = expect(step, get_list.sync_detailed(id=default.id, client=client), HTTPStatus.OK, List)
    check(step, home.task_count == len(default_tasks) + 1, f"the default list's task_count {home.task_count}")
    ok(f"{step} (last in /v1/tasks; Groceries' task_count 2 -> 1)")

    step = "lists: rename Groceries with If-Match"
    fresh = get_list.sync_detailed(id=groceries.id, client=client)
    held = expect(step, fresh, HTTPStatus.OK, List)
    etag = fresh.headers.get("etag", "")
    check(step, etag == f'"{held.version}"', f"ETag {etag!r}, version {held.version}")
    new_name = ListName(name="Weekly groceries")
    answer = rename_list.sync_detailed(id=groceries.id, client=client, body=new_name, if_match=etag)
    renamed = expect(step, answer, HTTPStatus.OK, List)
    check(step, renamed.name == "Weekly groceries" and renamed.version == held.version + 1, f"{renamed!r}")
    check(step, answer.headers.get("etag") == f'"{renamed.version}"', f"ETag {answer.headers.get('etag')!r}")
    check(step, renamed.task_count == 1 and renamed.updated_at >= held.updated_at, f"{renamed!r}")
    stale = rename_list.sync_detailed(id=groceries.id, client=client, body=ListName(name="Groceries"), if_match=etag)
    problem = expect_problem(step, stale, HTTPStatus.PRECONDITION_FAILED, "precondition_failed")
    current = problem.current_list
    check(step, isinstance(current, List) and current.name == "Weekly groceries", f"current_list {current!r}")
    ok(f"{step} (If-Match: {etag} -> 200; again -> 412 precondition_failed with current_list)")

    step = "lists: the feed of every list (GET /v1/changes)"
    feed = expect(step, list_feed.sync_detailed(client=client, limit=500), HTTPStatus.OK, FeedPage)
    check(step, not feed.has_more and feed.next_since.isdigit(), f"next_since {feed.next_since!r}")
    lists_seen = [e for e in feed.changes if e.kind == "list_upsert" and e.id == groceries.id]
    check(step, len(lists_seen) == 1, f"{len(lists_seen)} list_upsert entries for Groceries, wanted 1")
    entry = lists_seen[0].list_
    check(step, isinstance(entry, List) and entry.name == "Weekly groceries", f"list_upsert carries {entry!r}")
    check(step, isinstance(entry, List) and entry.task_count == 1, f"list_upsert carries {entry!r}")
    upserts = [e for e in feed.changes if e.kind == "upsert" and e.id == eggs.id]
    check(step, len(upserts) == 1, f"{len(upserts)} upsert entries for Eggs, wanted 1")
    moved_entry = upserts[0]
    check(step, moved_entry.list_id == default.id, f"the upsert's list_id {moved_entry.list_id}, wanted {default.id}")
    check(step, isinstance(moved_entry.task, Task) and moved_entry.task.list_id == default.id, f"{moved_entry.task!r}")
    home_seen = any(e.kind == "list_upsert" and e.id == default.id for e in feed.changes)
    check(step, home_seen, "no list_upsert for the default list")
    seqs = [e.seq for e in feed.changes]
    check(step, seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"seqs {seqs}")
    ok(f"{step} ({len(feed.changes)} entries: list_upsert {groceries.id}, upsert {eggs.id} with list_id {default.id})")

    step = "lists: the default list cannot be deleted"
    expect_problem(step, delete_list.sync_detailed(id=default.id, client=client), HTTPStatus.CONFLICT, "default_list")
    ok(f"{step} (409 default_list)")

    step = "lists: delete Groceries, then GET it: 404 not_found"
    expect_empty(step, delete_list.sync_detailed(id=groceries.id, client=client), HTTPStatus.NO_CONTENT)
    gone = expect_problem(
        step, get_list.sync_detailed(id=groceries.id, client=client), HTTPStatus.NOT_FOUND, "not_found"
    )
    expect_problem(step, get_task.sync_detailed(id=milk.id, client=client), HTTPStatus.NOT_FOUND, "task_not_found")
    left = expect(step, list_lists.sync_detailed(client=client), HTTPStatus.OK, Lists).items
    check(step, [x.id for x in left] == [default.id], f"lists after the delete: {left!r}")
    check(step, [t.id for t in in_default()] == [*default_tasks, eggs.id], "the moved task went with the list")
    after = expect(step, list_feed.sync_detailed(client=client, since=feed.next_since), HTTPStatus.OK, FeedPage)
    removed = [(e.kind, e.id) for e in after.changes]
    check(step, ("list_removed", groceries.id) in removed, f"entries after the delete: {removed}")
    ok(f"{step} (204; then {int(gone.status)} {gone.code}: {gone.detail!r}; the feed says list_removed)")
    return eggs.id


def main() -> None:
    base_url = os.environ["LISTO_URL"]
    outbox = Path(os.environ["LISTO_OUTBOX"])
    address = os.environ["FLOW_EMAIL"]
    timeout = httpx.Timeout(10.0)
    public = Client(base_url=base_url, raise_on_unexpected_status=True, timeout=timeout)

    step = "healthz + readyz"
    health = expect(step, healthz.sync_detailed(client=public), HTTPStatus.OK, Health)
    check(step, health.status == "ok", f"healthz status {health.status!r}")
    ready = expect(step, readyz.sync_detailed(client=public), HTTPStatus.OK, Health)
    check(step, ready.status == "ok", f"readyz status {ready.status!r}")
    ok(step)

    step = "register"
    account = expect(
        step,
        register.sync_detailed(client=public, body=Credentials(email=address, password=PASSWORD)),
        HTTPStatus.CREATED,
        Account,
    )
    check(step, account.email == address, f"email {account.email!r}")
    check(step, account.id > 0, f"id {account.id}")
    check(step, account.created_at.tzinfo is not None, "created_at has no offset")
    ok(step)

    step = "register again (taken)"
    expect_problem(
        step,
        register.sync_detailed(client=public, body=Credentials(email=address, password=PASSWORD)),
        HTTPStatus.CONFLICT,
        "email_taken",
    )
    ok(step)

    step = "login"
    seen = set(outbox_mails(outbox))
    challenge = expect(
        step,
        login.sync_detailed(client=public, body=Credentials(email=address, password=PASSWORD)),
        HTTPStatus.ACCEPTED,
        Challenge,
    )
    check(step, len(challenge.challenge_id) > 0, "empty challenge_id")
    check(step, challenge.expires_at > dt.datetime.now(dt.UTC), f"expires_at {challenge.expires_at} is past")
    ok(step)

    step = "read the code from the outbox"
    code = read_code(step, outbox, address, seen)
    ok(step)

    step = "verify"
    token = expect(
        step,
        verify.sync_detailed(client=public, body=CodeSubmission(challenge_id=challenge.challenge_id, code=code)),
        HTTPStatus.OK,
        AccessToken,
    )
    check(step, token.token_type == "Bearer", f"token_type {token.token_type!r}")
    check(step, 0 < token.expires_in <= 600, f"expires_in {token.expires_in}")
    check(step, len(token.access_token) >= 16, "short access_token")
    check(step, token.expires_at > dt.datetime.now(dt.UTC), "expires_at is past")
    ok(step)

    client = AuthenticatedClient(
        base_url=base_url, token=token.access_token, raise_on_unexpected_status=True, timeout=timeout
    )

    step = "get_session"
    session = expect(step, get_session.sync_detailed(client=client), HTTPStatus.OK, SessionInfo)
    check(step, session.user.email == address, f"user.email {session.user.email!r}")
    check(step, session.user.id == account.id, f"user.id {session.user.id}, wanted {account.id}")
    check(step, 0 < session.expires_in <= 600, f"expires_in {session.expires_in}")
    check(step, session.issued_at < session.expires_at, "issued_at is not before expires_at")
    ok(step)

    step = "create 3 tasks"
    wanted = [
        (dt.date(2026, 11, 24), "Swimming for one hour", Status.INCOMPLETE),
        (dt.date(2026, 11, 25), "Buy bread", Status.INCOMPLETE),
        (dt.date(2026, 11, 26), "Call Ada", Status.COMPLETED),
    ]
    created: list[Task] = []
    for date, text, status in wanted:
        made = create_task.sync_detailed(client=client, body=NewTask(date=date, task=text, status=status))
        task = expect(step, made, HTTPStatus.CREATED, Task)
        check_task(step, task, date=date, text=text, status=status)
        check(step, DATE_RE.search(made.content.decode()) is not None, f"date on the wire: {made.content!r}")
        location = made.headers.get("location", "")
        check(step, location.endswith(f"/v1/tasks/{task.id}"), f"Location {location!r} for task {task.id}")
        created.append(task)
    a, b, c = (t.id for t in created)
    check(step, len({a, b, c}) == 3, f"ids not distinct: {a}, {b}, {c}")
    ok(step)

    step = "list"
    page = expect(step, list_tasks.sync_detailed(client=client, page=1, per_page=20), HTTPStatus.OK, TaskPage)
    check(step, ids(page) == [a, b, c], f"order {ids(page)}, wanted {[a, b, c]}")
    check(step, (page.page, page.per_page, page.total_items, page.total_pages) == (1, 20, 3, 1), f"{page!r}")
    check(step, page.next_cursor is UNSET, f"next_cursor {page.next_cursor!r} on the only page")
    for listed, original in zip(page.items, created, strict=True):
        check_task(step, listed, date=original.date, text=original.task, status=original.status)
    ok(step)

    step = "patch one"
    patched = expect(
        step,
        update_task.sync_detailed(
            id=b, client=client, body=TaskPatch(status=Status.COMPLETED, date=dt.date(2026, 11, 27))
        ),
        HTTPStatus.OK,
        Task,
    )
    check(step, patched.id == b, f"id {patched.id}")
    # date and status changed; the task text was left out, so it keeps its value
    check_task(step, patched, date=dt.date(2026, 11, 27), text="Buy bread", status=Status.COMPLETED)
    check(step, patched.updated_at >= created[1].updated_at, "updated_at went back")
    ok(step)

    step = "sort page 1"
    page_ids = ids(expect(step, list_tasks.sync_detailed(client=client, page=1, per_page=20), HTTPStatus.OK, TaskPage))
    new_order = list(reversed(page_ids))
    check(step, new_order == [c, b, a], f"page 1 shows {page_ids}")
    sorted_page = expect(
        step,
        sort_tasks.sync_detailed(client=client, page=1, per_page=20, body=SortRequest(task_ids=new_order)),
        HTTPStatus.OK,
        TaskPage,
    )
    check(step, ids(sorted_page) == new_order, f"sort answered {ids(sorted_page)}, wanted {new_order}")
    again = expect(step, list_tasks.sync_detailed(client=client, page=1, per_page=20), HTTPStatus.OK, TaskPage)
    check(step, ids(again) == new_order, f"GET after sort shows {ids(again)}, wanted {new_order}")
    ok(step)

    step = "move one to the start"
    moved = expect(
        step, move_task.sync_detailed(id=a, client=client, body=MoveRequest(to=End.START)), HTTPStatus.OK, Task
    )
    check(step, moved.id == a, f"moved id {moved.id}, wanted {a}")
    after_move = expect(step, list_tasks.sync_detailed(client=client, page=1, per_page=20), HTTPStatus.OK, TaskPage)
    check(step, ids(after_move) == [a, c, b], f"order {ids(after_move)}, wanted {[a, c, b]}")
    ok(step)

    step = "get one"
    got = expect(step, get_task.sync_detailed(id=b, client=client), HTTPStatus.OK, Task)
    check(step, got.id == b, f"id {got.id}")
    check_task(step, got, date=dt.date(2026, 11, 27), text="Buy bread", status=Status.COMPLETED)
    ok(step)

    step = "delete one"
    expect_empty(step, delete_task.sync_detailed(id=c, client=client), HTTPStatus.NO_CONTENT)
    expect_problem(step, get_task.sync_detailed(id=c, client=client), HTTPStatus.NOT_FOUND, "task_not_found")
    remaining = expect(step, list_tasks.sync_detailed(client=client, page=1, per_page=20), HTTPStatus.OK, TaskPage)
    check(step, ids(remaining) == [a, b], f"order {ids(remaining)}, wanted {[a, b]}")
    check(step, remaining.total_items == 2, f"total_items {remaining.total_items}")
    ok(step)

    step = "the change feed: applied from the start, it is the list"
    feed = expect(step, list_changes.sync_detailed(client=client, limit=100), HTTPStatus.OK, ChangePage)
    replica: dict[int, Task] = {}
    for change in feed.changes:
        if change.kind == ChangeKind.UPSERT and isinstance(change.task, Task):
            replica[change.id] = change.task
        elif change.kind == ChangeKind.DELETE:
            replica.pop(change.id, None)
        else:
            fail(step, f"a change without its task: {change!r}")
    by_position = [t.id for t in sorted(replica.values(), key=lambda t: t.position.encode())]
    check(step, by_position == [a, b], f"the feed gives {by_position}, wanted {[a, b]}")
    check(step, any(ch.kind == ChangeKind.DELETE and ch.id == c for ch in feed.changes), "the delete is in the feed")
    check(step, not feed.has_more and feed.next_since.isdigit(), f"next_since {feed.next_since!r}")
    later = expect(step, list_changes.sync_detailed(client=client, since=feed.next_since), HTTPStatus.OK, ChangePage)
    check(step, later.changes == [], f"changes after next_since: {later.changes!r}")
    ok(step)

    eggs = lists_story(client, account, [a, b])

    step = "logout"
    expect_empty(step, logout.sync_detailed(client=client), HTTPStatus.NO_CONTENT)
    ok(step)

    step = "old token after logout"
    revoked = get_session.sync_detailed(client=client)
    problem = expect_problem(step, revoked, HTTPStatus.UNAUTHORIZED, "session_revoked")
    challenge_header = revoked.headers.get("www-authenticate", "")
    check(step, challenge_header.startswith("Bearer"), f"WWW-Authenticate {challenge_header!r}")
    ok(f"{step} (401 Problem code={problem.code})")

    def authed(t: AccessToken) -> AuthenticatedClient:
        return AuthenticatedClient(
            base_url=base_url, token=t.access_token, raise_on_unexpected_status=True, timeout=timeout
        )

    step = "sign in again: list_sessions shows one, current"
    first = sign_in(step, public, outbox, address, PASSWORD)
    one = authed(first)
    live = sessions(step, one)
    check(step, len(live) == 1, f"{len(live)} sessions, wanted 1 (the logged-out one is not live): {live!r}")
    mine = live[0]
    check_session(step, mine, first, current=True)
    ok(step)

    step = "sign in a second time: two sessions, oldest first"
    second = sign_in(step, public, outbox, address, PASSWORD)
    two = authed(second)
    live = sessions(step, one)
    check(step, [s.id for s in live][:1] == [mine.id] and len(live) == 2, f"sessions {live!r}")
    other = live[1]
    check_session(step, other, second, current=False)
    check(step, other.id != mine.id and mine.issued_at <= other.issued_at, f"{mine!r} then {other!r}")
    seen_by_two = sessions(step, two)
    check(
        step,
        [(s.id, s.current) for s in seen_by_two] == [(mine.id, False), (other.id, True)],
        f"the second session sees {seen_by_two!r}",
    )
    ok(step)

    step = "end_session the other by id"
    expect_empty(step, end_session.sync_detailed(id=other.id, client=one), HTTPStatus.NO_CONTENT)
    expect_revoked(step, get_session.sync_detailed(client=two))
    expect_problem(step, end_session.sync_detailed(id=other.id, client=one), HTTPStatus.NOT_FOUND, "session_not_found")
    check(step, [s.id for s in sessions(step, one)] == [mine.id], "the ended session is still listed")
    ok(f"{step} (then 401 session_revoked, and 404 session_not_found a second time)")

    step = "logout scope=others"
    third = authed(sign_in(step, public, outbox, address, PASSWORD))
    check(step, len(sessions(step, one)) == 2, "the third sign-in is not live")
    expect_empty(step, logout.sync_detailed(client=one, scope=Scope.OTHERS), HTTPStatus.NO_CONTENT)
    expect_revoked(step, get_session.sync_detailed(client=third))
    expect(step, get_session.sync_detailed(client=one), HTTPStatus.OK, SessionInfo)
    left = sessions(step, one)
    check(step, [(s.id, s.current) for s in left] == [(mine.id, True)], f"sessions after logout: {left!r}")
    ok(step)

    step = "change_password"
    elsewhere = authed(sign_in(step, public, outbox, address, PASSWORD))
    expect_problem(
        step,
        change_password.sync_detailed(
            client=one, body=PasswordChange(current_password="not the password", new_password=CHANGED_PASSWORD)
        ),
        HTTPStatus.UNAUTHORIZED,
        "invalid_credentials",
    )
    expect_empty(
        step,
        change_password.sync_detailed(
            client=one, body=PasswordChange(current_password=PASSWORD, new_password=CHANGED_PASSWORD)
        ),
        HTTPStatus.NO_CONTENT,
    )
    expect(step, get_session.sync_detailed(client=one), HTTPStatus.OK, SessionInfo)  # this one lives on
    expect_revoked(step, get_session.sync_detailed(client=elsewhere))  # every other one ends
    ok(f"{step} (a wrong current password: 401 invalid_credentials; other sessions ended)")

    step = "login with the old password"
    expect_problem(
        step,
        login.sync_detailed(client=public, body=Credentials(email=address, password=PASSWORD)),
        HTTPStatus.UNAUTHORIZED,
        "invalid_credentials",
    )
    ok(f"{step} (401 invalid_credentials)")

    step = "request_password_reset"
    seen = set(outbox_mails(outbox))
    reset = expect(
        step,
        request_password_reset.sync_detailed(client=public, body=ResetRequest(email=address)),
        HTTPStatus.ACCEPTED,
        Challenge,
    )
    check(step, len(reset.challenge_id) > 0, "empty challenge_id")
    check(step, reset.expires_at > dt.datetime.now(dt.UTC), f"expires_at {reset.expires_at} is past")
    check(step, bool(reset.detail), "empty detail")
    ok(step)

    step = "read the reset code from the outbox"
    reset_code = read_code(step, outbox, address, seen, purpose="password reset")
    ok(step)

    step = "confirm_password_reset"
    confirmation = ResetConfirmation(challenge_id=reset.challenge_id, code=reset_code, new_password=RESET_PASSWORD)
    expect_empty(step, confirm_password_reset.sync_detailed(client=public, body=confirmation), HTTPStatus.NO_CONTENT)
    expect_revoked(step, get_session.sync_detailed(client=one))  # every session ends, this one too
    expect_problem(
        step,
        confirm_password_reset.sync_detailed(client=public, body=confirmation),
        HTTPStatus.UNAUTHORIZED,
        "invalid_code",
    )
    ok(f"{step} (the old token: 401 session_revoked; the code again: 401 invalid_code)")

    step = "login with the new password"
    last = sign_in(step, public, outbox, address, RESET_PASSWORD)
    final = authed(last)
    who = expect(step, get_session.sync_detailed(client=final), HTTPStatus.OK, SessionInfo)
    check(step, who.user.id == account.id, f"user.id {who.user.id}, wanted {account.id}")
    kept = expect(step, list_tasks.sync_detailed(client=final, page=1, per_page=20), HTTPStatus.OK, TaskPage)
    check(step, ids(kept) == [a, b, eggs], f"tasks {ids(kept)} after the reset, wanted {[a, b, eggs]}")
    ok(step)

    step = "delete_account"
    expect_empty(
        step,
        delete_account.sync_detailed(client=final, body=AccountDeletion(password=RESET_PASSWORD)),
        HTTPStatus.NO_CONTENT,
    )
    expect_revoked(step, get_session.sync_detailed(client=final))
    expect_problem(
        step,
        login.sync_detailed(client=public, body=Credentials(email=address, password=RESET_PASSWORD)),
        HTTPStatus.UNAUTHORIZED,
        "invalid_credentials",
    )
    ok(f"{step} (then its token: 401 session_revoked; login: 401 invalid_credentials)")

    step = "register the email again"
    again_account = expect(
        step,
        register.sync_detailed(client=public, body=Credentials(email=address, password=PASSWORD)),
        HTTPStatus.CREATED,
        Account,
    )
    check(step, again_account.id != account.id, f"id {again_account.id} is the deleted account's")
    ok(f"{step} (201, a new id)")

    short_url, short_outbox, short_ttl = (os.environ[f"LISTO_SHORT_{v}"] for v in ("URL", "OUTBOX", "TTL"))
    keep_alive_story(short_url, Path(short_outbox), address, int(short_ttl))

    print("python flow: PASS", flush=True)


if __name__ == "__main__":
    try:
        main()
    except FlowError as error:
        print(f"python flow: FAIL at {error}", file=sys.stderr, flush=True)
        sys.exit(1)
