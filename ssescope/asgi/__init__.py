"""The ASGI toolkit the engine and the proxy share, on ``starlette.types``: the request body
with a size limit, the client's disconnect, and JSON errors in OpenAI's envelope.

Both shells answer ``/v1/responses`` with raw ASGI callables (one write per upstream read, the
upstream's status before the response starts, a disconnect that cancels the upstream at once),
so what they need from Starlette is its types, not its request objects. The embedded uvicorn
runner is in :mod:`.server` (imported only by what serves). Nothing here knows the engine or
the proxy (an import-linter contract holds it to that).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

__all__ = [
    "BodyTooLarge",
    "ClientGone",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "error_body",
    "header",
    "headers",
    "read_body",
    "send_error",
    "send_json",
    "until_disconnect",
]


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


class BodyTooLarge(ValueError):
    """The request body is larger than the limit."""


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
    """The whole request body. Raises :class:`ClientGone` on a disconnect, and
    :class:`BodyTooLarge` past ``limit`` bytes (None: no limit)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        body = message.get("body", b"")
        size += len(body)
        if limit is not None and size > limit:
            raise BodyTooLarge(f"the request body is larger than {limit >> 20} MiB")
        chunks.append(body)
        if not message.get("more_body"):
            return b"".join(chunks)


async def until_disconnect(receive: Receive) -> None:
    """Returns when the client disconnects. After the request body an ASGI server's
    ``receive`` only ever says ``http.disconnect``, so a task awaiting this sees a client
    that goes away mid-response."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def headers(scope: Scope) -> dict[str, str]:
    """The request headers with lower-case names (the last of repeated ones wins)."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def header(scope: Scope, name: str) -> str | None:
    """One request header (``name`` in lower case), None if absent."""
    want = name.encode("latin-1")
    for key, value in scope["headers"]:
        if key.lower() == want:
            return str(value.decode("latin-1"))
    return None


def error_body(
    message: str, etype: str = "invalid_request_error", code: Any = None, param: Any = None
) -> dict[str, Any]:
    """OpenAI's error envelope: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


async def send_json(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> bytes:
    """A whole JSON response in two messages; returns the payload sent."""
    payload = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload, "more_body": False})
    return payload


async def send_error(
    send: Send,
    status: int,
    message: str,
    etype: str = "invalid_request_error",
    code: Any = None,
    param: Any = None,
) -> bytes:
    """An error response in OpenAI's envelope; returns the payload sent."""
    return await send_json(send, status, error_body(message, etype, code, param))
