"""Schemathesis hooks for scripts/spec/run.sh: four requests that depend on the server's state,
which no OpenAPI document can describe. Without them the fuzzer's valid data for these
operations is refused for reasons the document cannot state, and the run would warn about them
("Schema validation mismatch", "Low valid-input rate") on every run, hiding real mismatches.

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

Only cases schemathesis generated as valid ("positive") are changed; invalid ones go out as
generated, so the server's refusals are still fuzzed. Loopback only: the base URL and the token
come from run.sh (LISTO_SPEC_URL, LISTO_SPEC_TOKEN).
"""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis

BASE_URL = os.environ["LISTO_SPEC_URL"].rstrip("/")
TOKEN = os.environ["LISTO_SPEC_TOKEN"]
# Emails that valid register cases have sent (run.sh's own sign-in user included).
_registered: set[str] = {"fuzz@example.com"}


def _is_positive(case: Any) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _page(query: dict[str, Any]) -> dict[str, Any] | None:
    """GET /v1/tasks with the paging the case asked for (listo's defaults otherwise); None if
    that is refused, and then the case goes out unchanged (its own answer tells why)."""
    params = {"page": query.get("page", 1), "per_page": query.get("per_page", 20)}
    response = requests.get(
        f"{BASE_URL}/v1/tasks",
        params=params,
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    return response.json() if response.status_code == 200 else None


def _new_task() -> int:
    """A task to move another one next to, when the user has no other."""
    response = requests.post(
        f"{BASE_URL}/v1/tasks",
        json={"date": "2026-11-24", "task": "anchor for a move", "status": "Incomplete"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    response.raise_for_status()
    return int(response.json()["id"])


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if not _is_positive(case):
        return
    label = case.operation.label
    if label == "POST /v1/auth/register" and isinstance(case.body, dict):
        email = case.body.get("email")
        if isinstance(email, str):
            key = email.strip().lower()
            if key in _registered:
                fresh = f"fuzz-{len(_registered)}@example.com"
                case.body = {**case.body, "email": fresh}
                key = fresh
            _registered.add(key)
    elif label == "POST /v1/tasks/sort":
        page = _page(dict(case.query or {}))
        if page is not None and isinstance(case.body, dict):
            ids = [task["id"] for task in reversed(page["items"])]
            case.body = {**case.body, "task_ids": ids}  # other fields stay, as generated
    elif label == "POST /v1/tasks/{id}/move" and isinstance(case.body, dict):
        fields = [f for f in ("before_id", "after_id") if f in case.body]
        if fields:
            moved = str((case.path_parameters or {}).get("id"))  # an int, or a string from a link
            page = _page({"page": 1, "per_page": 100})
            others = [t["id"] for t in page["items"] if str(t["id"]) != moved] if page is not None else []
            if not others:
                others = [_new_task()]
            body = dict(case.body)
            for f in fields:
                body[f] = others[0] if f == "before_id" else others[-1]
            case.body = body
    elif label == "GET /v1/tasks" and case.query and "cursor" in case.query:
        query = dict(case.query)
        query.pop("page", None)
        first = _page({"page": 1, "per_page": query.get("per_page", 20)})
        cursor = first.get("next_cursor") if first is not None else None
        if cursor is None:
            query.pop("cursor")
        else:
            query["cursor"] = cursor
        case.query = query
