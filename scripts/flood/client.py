"""A small client of listo's API for the flood stages (Python 3.9+, standard library only):
JSON requests with a bounded time, the sign-in (register, login, the code from the newest .eml
in the outbox, verify), and one Server-Sent Events stream on a non-blocking socket, read with a
selector so that hundreds can be open at once. Everything goes to 127.0.0.1 only.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import re
import selectors
import socket
import time


class ApiError(Exception):
    pass


def call(port: int, method: str, path: str, body: dict | None = None, token: str | None = None,
         timeout: float = 2.0) -> tuple[int, object, float]:
    """One request on a new connection, every step bounded by `timeout` (connect, send, each
    read): (status, JSON body or text, seconds taken). A timeout raises socket.timeout."""
    headers = {"Accept": "application/json", "Connection": "close"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        status = resp.status
    finally:
        conn.close()
    taken = time.monotonic() - t0
    try:
        parsed: object = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return status, parsed, taken


def code_from_outbox(outbox: str, email: str, not_before: float, wait: float = 5.0) -> str:
    """The 6-digit sign-in code in the newest .eml in `outbox` addressed to `email` and written
    at or after `not_before` (a time.time()); waits up to `wait` s for it."""
    to_line = re.compile(r"^To:.*" + re.escape(email), re.I | re.M)
    deadline = time.monotonic() + wait
    while True:
        mails = []
        try:
            for name in os.listdir(outbox):
                if name.endswith(".eml"):
                    path = os.path.join(outbox, name)
                    mtime = os.stat(path).st_mtime
                    if mtime >= not_before - 1:
                        mails.append((mtime, path))
        except FileNotFoundError:
            pass
        for _, path in sorted(mails, reverse=True):
            with open(path, encoding="utf-8", errors="replace") as f:
                text = re.sub(r"=\r?\n", "", f.read())  # quoted-printable soft line breaks
            if to_line.search(text):
                match = re.search(r"code is\s+(\d{6})\b", text)
                if match:
                    return match.group(1)
        if time.monotonic() > deadline:
            raise ApiError(f"no sign-in code for {email} in {outbox} after {wait:g} s")
        time.sleep(0.05)


def sign_in(port: int, outbox: str, email: str, password: str) -> str:
    """Registers `email`, logs in, reads the emailed code, verifies: the access token."""
    status, body, _ = call(port, "POST", "/v1/auth/register", {"email": email, "password": password}, timeout=10)
    if status != 201:
        raise ApiError(f"register {email}: {status} {body}")
    asked = time.time()
    status, body, _ = call(port, "POST", "/v1/auth/login", {"email": email, "password": password}, timeout=10)
    if status != 202 or not isinstance(body, dict):
        raise ApiError(f"login {email}: {status} {body}")
    code = code_from_outbox(outbox, email, asked)
    status, body, _ = call(port, "POST", "/v1/auth/verify", {"challenge_id": body["challenge_id"], "code": code},
                           timeout=10)
    if status != 200 or not isinstance(body, dict) or "access_token" not in body:
        raise ApiError(f"verify {email}: {status} {body}")
    return body["access_token"]


class EventStream:
    """`GET /v1/tasks/events` on a non-blocking socket: the answer's head, then its body (chunked
    or not) read as Server-Sent Events. Driven by `pump`. When listo ends the body (the last
    chunk, or EOF) the socket is closed at once, as a client told not to reconnect would."""

    __slots__ = ("number", "sock", "port", "request", "state", "opened", "t_head", "status", "buf", "chunked",
                 "body", "events", "t_end", "how", "t_event")

    def __init__(self, number: int, port: int, token: str):
        self.number = number  # order of opening, from 0
        self.request = (f"GET /v1/tasks/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").encode()
        self.state = "connecting"  # connecting -> head -> open -> ended | failed
        self.opened = time.monotonic()
        self.t_head: float | None = None  # the answer's head arrived
        self.status = 0
        self.buf = b""  # bytes not yet parsed (head, chunk framing)
        self.chunked = False
        self.body = b""  # de-chunked body not yet split into events
        self.events: list[tuple[float, str, str]] = []  # (when, event type, data)
        self.t_end: float | None = None  # listo ended the body (or the connection)
        self.how = ""  # "last chunk" | "eof" | "reset" | connect error | "closed by us"
        self.t_event: dict[str, float] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.port = 0

    def start(self, sel: selectors.BaseSelector, listo_port: int) -> None:
        rc = self.sock.connect_ex(("127.0.0.1", listo_port))
        if rc not in (0, errno.EINPROGRESS):
            self.finish(sel, "failed", errno.errorcode.get(rc, str(rc)), register=False)
            return
        self.port = self.sock.getsockname()[1]
        sel.register(self.sock, selectors.EVENT_WRITE, self)

    @property
    def live(self) -> bool:
        return self.state in ("connecting", "head", "open")

    def last_event(self) -> str:
        return self.events[-1][1] if self.events else ""

    def on_ready(self, sel: selectors.BaseSelector) -> None:
        now = time.monotonic()
        if self.state == "connecting":
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.finish(sel, "failed", errno.errorcode.get(err, str(err)))
                return
            try:
                self.sock.sendall(self.request)  # small: fits the socket buffer at once
            except OSError as e:
                self.finish(sel, "failed", f"send: {e.__class__.__name__}")
                return
            self.state = "head"
            sel.modify(self.sock, selectors.EVENT_READ, self)
            return
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self.finish(sel, "failed" if self.state == "head" else "ended", "reset")
            return
        if not data:
            self.finish(sel, "failed" if self.state == "head" else "ended", "eof")
            return
        self.buf += data
        if self.state == "head":
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4:]
            lines = head.split("\r\n")
            parts = lines[0].split(" ", 2)
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.chunked = any(l.lower().replace(" ", "") == "transfer-encoding:chunked" for l in lines[1:])
            self.t_head = now
            self.state = "open"
        self.read_body(sel, now)

    def read_body(self, sel: selectors.BaseSelector, now: float) -> None:
        if not self.chunked:
            self.body, self.buf = self.body + self.buf, b""
        else:
            while True:
                line_end = self.buf.find(b"\r\n")
                if line_end < 0:
                    break
                size = int(self.buf[:line_end].split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.parse_events(now)
                    self.finish(sel, "ended", "last chunk")
                    return
                if len(self.buf) < line_end + 2 + size + 2:
                    break
                self.body += self.buf[line_end + 2:line_end + 2 + size]
                self.buf = self.buf[line_end + 2 + size + 2:]
        self.parse_events(now)

    def parse_events(self, now: float) -> None:
        while True:
            end = self.body.find(b"\n\n")
            if end < 0:
                return
            block, self.body = self.body[:end].decode("utf-8", errors="replace"), self.body[end + 2:]
            kind, data = "message", []
            for line in block.split("\n"):
                if line.startswith(":"):
                    continue  # a heartbeat comment
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "event":
                    kind = value
                elif name == "data":
                    data.append(value)
            if data or kind != "message":
                self.events.append((now, kind, "\n".join(data)))
                self.t_event.setdefault(kind, now)

    def finish(self, sel: selectors.BaseSelector | None, state: str, how: str, register: bool = True) -> None:
        self.state, self.how, self.t_end = state, how, time.monotonic()
        if sel is not None and register:
            try:
                sel.unregister(self.sock)
            except (KeyError, ValueError):
                pass
        self.sock.close()

    def close(self, sel: selectors.BaseSelector) -> None:
        """Our side ends it (the stage is over)."""
        if self.live:
            self.finish(sel, "closed", "closed by us")


def pump(sel: selectors.BaseSelector, until, limit: float) -> bool:
    """Reads every stream registered with `sel` until `until()` holds or `limit` s have passed;
    whether `until()` held."""
    deadline = time.monotonic() + limit
    for _ in range(1_000_000):  # bound; time is the real limit
        if until():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return until()
        for key, _ in sel.select(timeout=min(0.02, left)):
            key.data.on_ready(sel)
    return until()
