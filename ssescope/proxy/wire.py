"""What the proxy does to headers and bodies on the way through (pure functions): hop-by-hop
headers dropped both ways, the upstream's ``Host`` and exact ``Content-Length``, the request body
as a capture keeps it, a capture's file name. Shared by the forwarding core and ``--translate``.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from ..http1 import Headers

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
"""RFC 9110 §7.6.1: meaningful for one connection only, so never forwarded."""
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def connection_tokens(headers: Headers) -> set[bytes]:
    """Headers named in ``Connection`` are hop-by-hop too."""
    out: set[bytes] = set()
    for k, v in headers:
        if k.lower() == b"connection":
            out.update(t.strip().lower() for t in v.split(b",") if t.strip())
    return out


def upstream_headers(headers: Headers, body: bytes, host: bytes) -> Headers:
    """The client's headers, minus hop-by-hop ones, with the upstream's Host and the body's
    exact length."""
    # Expect: 100-continue was answered by the proxy's own server (the body is in hand)
    drop = connection_tokens(headers) | HOP_BY_HOP | {b"host", b"content-length", b"expect"}
    out = [(b"host", host)]
    out += [(k, v) for k, v in headers if k.lower() not in drop]
    if body or any(k.lower() == b"content-length" for k, _ in headers):
        out.append((b"content-length", str(len(body)).encode()))
    return out


def response_headers(headers: Headers) -> Headers:
    """The upstream's response headers as the client gets them (lower-case names)."""
    drop = connection_tokens(headers) | HOP_BY_HOP
    chunked = any(k.lower() == b"transfer-encoding" and b"chunked" in v.lower() for k, v in headers)
    if chunked:
        drop = drop | {b"content-length"}  # both given: Transfer-Encoding wins (RFC 9112 §6.3)
    return [(k.lower(), v) for k, v in headers if k.lower() not in drop]


def shown(headers: Headers) -> dict[str, str]:
    """Headers as an exchange shows and a capture keeps them."""
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in headers}


def body_doc(body: bytes) -> Any:
    """The request body as the capture keeps it: JSON as JSON, else text, else base64."""
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}


BODY_KEPT = 1 << 20
"""Request bodies up to this size stay in memory with their exchange; bigger ones (long Codex
histories) are in the capture only, so that a long session does not pile them up."""


def kept_body(doc: Any, size: int, record_path: str | None) -> Any:
    """The request body as an exchange keeps it after the request went out: ``doc``, or for
    a body over BODY_KEPT bytes a note of its size and where it is."""
    if size <= BODY_KEPT:
        return doc
    where = f"in the capture {record_path}" if record_path else "not recorded"
    return {"omitted": f"a {size:,}-byte body, not kept in memory ({where})"}


def file_name(exchange_id: int, started: float, method: str, path: str) -> str:
    """The capture file of one exchange: ``00001-142501-POST-v1-responses.jsonl``."""
    stamp = time.strftime("%H%M%S", time.localtime(started))
    slug = _SLUG.sub("-", path.split("?", 1)[0]).strip("-")[:60] or "root"
    return f"{exchange_id:05d}-{stamp}-{method}-{slug}.jsonl"
