"""Only local requests: the engine and the proxy refuse a ``Host`` or ``Origin`` that does not
name this machine.

A web page the user happens to visit can make the browser send requests to
``http://127.0.0.1:8787`` (with an ``Origin`` of its own), or rebind a name it controls to
127.0.0.1 (DNS rebinding: the request then carries ``Host: evil.example``) and read the answers.
Either way it would drive a server that holds the user's upstream credentials. Codex, the SDKs
and curl send neither a foreign ``Host`` nor an ``Origin``, so refusing both costs them nothing.

Local means: ``localhost`` (and ``*.localhost``), a loopback address (127.0.0.0/8, ``::1``), the
address the server listens on, and the address the connection arrived on (so a server listening
on 0.0.0.0 accepts requests addressed to any of its own IP addresses). Any other name must be
allowed by name (``--allow-host NAME``; ``*`` allows every name).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from . import header, send_error

__all__ = ["LocalOnly", "host_refusal", "is_local"]

ALLOW_ANY = "*"


def _normal(name: str) -> str:
    return name.strip().strip("[]").rstrip(".").lower()


def _host_of(value: str) -> str | None:
    """The host name of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``)."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        return _normal(value[1:end]) if end > 0 else None
    name, sep, port = value.rpartition(":")
    if sep and port.isdigit():
        value = name
    return _normal(value) if value and ":" not in value else None


def _origin_host(value: str) -> str | None:
    """The host of an ``Origin`` header (``null``, from a sandboxed page or a file, has none)."""
    try:
        return _normal(urlsplit(value.strip()).hostname or "") or None
    except ValueError:
        return None


def is_local(host: str, own: Iterable[str] = ()) -> bool:
    """Whether ``host`` (a name or an address, normalized) is this machine: localhost, a loopback
    address, or one of ``own`` (the listening address, the connection's local address, and
    whatever ``--allow-host`` named)."""
    if host == "localhost" or host.endswith(".localhost") or host in own:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def host_refusal(scope: Scope, allowed: Iterable[str] = ()) -> str | None:
    """Why a request must be refused (None: it is local). ``allowed``: names accepted besides
    the local ones (the listening address among them)."""
    own = {_normal(name) for name in allowed}
    if ALLOW_ANY in own:
        return None
    server = scope.get("server")
    if server and server[0]:
        own.add(_normal(str(server[0])))
    for name, parse in (("Host", _host_of), ("Origin", _origin_host)):
        value = header(scope, name.lower())
        if value is None:
            continue
        host = parse(value)
        if host is None or not is_local(host, own):
            hint = f"--allow-host {host}" if host else "--allow-host NAME"
            return (
                f"{name} {value!r} is not this machine: this server answers only requests "
                "addressed to localhost, a loopback address or the address it listens on, so that "
                f"a web page cannot drive it (DNS rebinding); start it with {hint} to accept it"
            )
    return None


class LocalOnly:
    """ASGI middleware: an HTTP request whose ``Host`` or ``Origin`` is not local is answered
    403 in OpenAI's error envelope (code ``host_not_allowed``) and never reaches ``app``."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = tuple(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = host_refusal(scope, self.allowed)
            if refusal is not None:
                await send_error(send, 403, refusal, code="host_not_allowed")
                return
        await self.app(scope, receive, send)
