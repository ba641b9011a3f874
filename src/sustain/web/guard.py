"""What every request passes first: the token (when the server has one) and the size limit.

A plain ASGI layer in front of the app: a request without ``Authorization: Bearer
<token>`` (or, from a browser, the cookie :data:`COOKIE` that the page ``/login`` sets)
gets 401 (a browser asking for a page is sent to ``/login``), except the page
``/login`` itself; a request whose body is larger than the limit gets 413 before the
app reads any of it (by its ``Content-Length``) or as soon as the limit is passed
(a body sent in chunks).  The body is read here, up to the limit, and handed on.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


#: The cookie that carries the token of a browser (set by the page ``/login``).
COOKIE = "sustain_token"
#: The one path a request may reach without the token: where a browser gives it.
LOGIN = "/login"


def _cookie(header: bytes, name: str) -> bytes:
    """The value of cookie ``name`` in a ``Cookie`` header (empty if absent)."""
    for part in header.split(b";"):
        key, _, value = part.strip().partition(b"=")
        if key == name.encode():
            return value
    return b""


def megabytes(n: int) -> str:
    """``20 MB`` for 20 MiB, as the messages say it."""
    return f"{n / 2**20:g} MB"


async def send_json(send: Send, status: int, body: dict[str, Any],
                    headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Answer with ``body`` as JSON."""
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": data})


def problem(message: str, *, exit_code: int = 2) -> dict[str, Any]:
    """An error body: the message, its problems (here one) and the CLI's exit code."""
    return {"message": f"error: {message}", "problems": [message], "exit_code": exit_code}


class Guard:
    """The token check and the upload size limit, before the app."""

    def __init__(self, app: ASGIApp, *, token: str | None, max_bytes: int) -> None:
        self.app = app
        self.token = None if token is None else f"Bearer {token}".encode()
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.token is not None and scope.get("path") != LOGIN and not (
                hmac.compare_digest(headers.get(b"authorization", b""), self.token)
                or hmac.compare_digest(b"Bearer " + _cookie(headers.get(b"cookie", b""),
                                                            COOKIE), self.token)):
            accept = headers.get(b"accept", b"")
            if b"text/html" in accept and not scope.get("path", "").startswith("/api/"):
                await send({"type": "http.response.start", "status": 303,
                            "headers": [(b"location", LOGIN.encode()),
                                        (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
            await send_json(send, 401, problem(
                "this server needs its token: send the header 'Authorization: Bearer "
                "<token>' (sustain serve --token)"), [(b"www-authenticate", b"Bearer")])
            return
        too_big = problem(f"the upload is larger than the server's limit of "
                          f"{megabytes(self.max_bytes)} (sustain serve --max-upload-mb)")
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await send_json(send, 400, problem("Content-Length is not a number"))
                return
            if declared > self.max_bytes:
                await send_json(send, 413, too_big)
                return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await send_json(send, 413, too_big)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
