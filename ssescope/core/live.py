"""Reading a live stream over HTTP with httpx, one raw chunk at a time.

httpx's own read timeout is off: ssescope decides when a silence is a stall (``max_wait``), and a
background reader task feeds a queue so that waiting for the next chunk can time out (to tick the
stall clocks) without cancelling a read in flight. Bytes come from ``aiter_bytes`` (never
``aiter_lines``, which splits on U+2028 inside JSON).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from .capture import SourceError
from .ends import EndReason
from .redact import url_host
from .session import StreamSession

DEFAULT_MAX_WAIT = 60.0
DEFAULT_GRACE = 2.0
DEFAULT_MODEL = "gpt-4.1-mini"
DEFAULT_INPUT = "Say hello in one short sentence."
ERROR_BODY_LIMIT = 1 << 20
T = TypeVar("T")


@dataclass
class RequestSpec:
    url: str
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"

    def to_capture(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": self.headers, "body": self.body}


def responses_url(url: str) -> str:
    """Accept a base URL (``…/v1``) as well as the full ``…/v1/responses``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SourceError(f"{url}: not an http(s) URL")
    path = parts.path.rstrip("/")
    if path == "" or path.endswith("/v1"):
        path = f"{path}/responses"
        return parts._replace(path=path).geturl()
    return url


def _body_from_file(body_file: str) -> dict[str, Any]:
    try:
        with open(body_file, encoding="utf-8") as fh:
            body = json.load(fh)
    except FileNotFoundError:
        raise SourceError(f"{body_file}: no such file") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{body_file}: not a JSON request body ({exc})") from None
    if not isinstance(body, dict):
        raise SourceError(f"{body_file}: the request body must be a JSON object")
    return body


def build_request(
    url: str,
    *,
    body_file: str | None = None,
    model: str | None = None,
    input_text: str | None = None,
    instructions: str | None = None,
    extra_headers: Iterable[tuple[str, str]] = (),
    api_key_env: str | None = None,
) -> RequestSpec:
    """The request check/connect send: a body file, or a small default with ``stream: true``.
    ``extra_headers`` are (name, value) pairs (the CLI's ``-H`` parses them)."""
    if body_file is not None:
        body = _body_from_file(body_file)
    else:
        body = {"model": model or DEFAULT_MODEL, "input": input_text or DEFAULT_INPUT}
    overrides = {"model": model, "input": input_text, "instructions": instructions}
    body.update({k: v for k, v in overrides.items() if v is not None})
    body.setdefault("stream", True)
    headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
    headers.update(extra_headers)
    if api_key_env:
        key = os.environ.get(api_key_env)
        if not key:
            raise SourceError(f"--api-key-env {api_key_env}: the variable is not set")
        headers["Authorization"] = f"Bearer {key}"
    return RequestSpec(responses_url(url), body, headers)


async def run_live(
    spec: RequestSpec,
    session: StreamSession,
    *,
    max_wait: float = DEFAULT_MAX_WAIT,
    grace: float = DEFAULT_GRACE,
    tick_interval: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    stop: asyncio.Event | None = None,
    start: float | None = None,
) -> None:
    """POST the request and feed the session until EOF, ``max_wait`` seconds without a complete
    event (what Codex's idle timer counts: comments and a byte-a-second trickle do not reset it),
    the grace period after a terminal event, or ``stop``. Connection failures raise
    :class:`SourceError` after the session (and its capture) recorded them. However the read
    ends, even cancelled (the debugger quitting), the session is finished: the capture's last
    record says how."""
    t0 = clock() if start is None else start

    def now() -> float:
        return clock() - t0

    timeout = httpx.Timeout(connect=10.0, read=None, write=30.0, pool=10.0)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await _send(client, spec, session, now, max_wait, stop)
            if response is None:
                return
            try:
                await _read(response, session, now, max_wait, grace, tick_interval, stop, spec.url)
            finally:
                await response.aclose()
    except asyncio.CancelledError:
        if session.end is None:
            session.finish(now(), EndReason.INTERRUPTED, "the read was cancelled")
        raise


async def _send(
    client: httpx.AsyncClient,
    spec: RequestSpec,
    session: StreamSession,
    now: Callable[[], float],
    max_wait: float,
    stop: asyncio.Event | None,
) -> httpx.Response | None:
    """The response head, or None when none came within ``max_wait`` or ``stop`` was set first
    (the session is then finished: max-wait or interrupted)."""
    request = client.build_request(spec.method, spec.url, json=spec.body, headers=spec.headers)
    sending = await _within(client.send(request, stream=True), max_wait, stop)
    if sending.cancelled():
        reason = _cut_short(stop)
        waited = f"no response head within {max_wait:g} s"
        session.finish(now(), reason, waited if reason == EndReason.MAX_WAIT else None)
        return None
    try:
        return sending.result()
    except httpx.HTTPError as exc:
        message = _connect_error(spec.url, exc)
        session.finish(now(), EndReason.CONNECT_ERROR, message)
        raise SourceError(message) from None


async def _within(
    work: Coroutine[Any, Any, T], max_wait: float, stop: asyncio.Event | None
) -> asyncio.Future[T]:
    """Run ``work`` for at most ``max_wait`` seconds or until ``stop``; the returned future is
    done (with its result or error) or cancelled (cut short: see :func:`_cut_short`)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait()) if stop is not None else None
    try:
        waiting = {task} if stopped is None else {task, stopped}
        await asyncio.wait(waiting, timeout=max_wait, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for future in (task, stopped):
            if future is not None and not future.done():
                future.cancel()
                with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                    await future
    return task


def _cut_short(stop: asyncio.Event | None) -> EndReason:
    return EndReason.INTERRUPTED if stop is not None and stop.is_set() else EndReason.MAX_WAIT


def _connect_error(url: str, exc: Exception) -> str:
    host = url_host(url)  # never the userinfo: this message is shown and recorded
    if isinstance(exc, httpx.ConnectError):
        cause: BaseException | None = exc
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError):
                return f"{host}: connection refused"
            cause = cause.__cause__ or cause.__context__
        return f"{host}: cannot connect ({exc or 'connection failed'})"
    if isinstance(exc, httpx.TimeoutException):
        return f"{host}: timed out connecting"
    return f"{host}: {type(exc).__name__}: {exc}"


async def _read(
    response: httpx.Response,
    session: StreamSession,
    now: Callable[[], float],
    max_wait: float,
    grace: float,
    tick_interval: float,
    stop: asyncio.Event | None,
    url: str,
) -> None:
    if not 200 <= response.status_code < 300:
        await _read_error(response, session, now, url, max_wait, stop)
        return
    session.on_response(
        response.status_code,
        dict(response.headers.multi_items()),
        url=url,
        t=now(),
        reason=response.reason_phrase,
        http_version=response.http_version,
    )
    reason, error = await _follow(response, session, now, max_wait, grace, tick_interval, stop)
    session.finish(now(), reason, error)


async def _read_error(
    response: httpx.Response,
    session: StreamSession,
    now: Callable[[], float],
    url: str,
    max_wait: float,
    stop: asyncio.Event | None,
) -> None:
    """An HTTP error: its body (up to ``ERROR_BODY_LIMIT``, for at most ``max_wait`` seconds)
    is the message of the http-status finding, so it is read whole before the session hears of
    the response."""
    t_headers = now()
    chunks: list[tuple[float, bytes]] = []

    async def body() -> None:
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append((now(), chunk))
            size += len(chunk)
            if size > ERROR_BODY_LIMIT:
                break

    reading = await _within(body(), max_wait, stop)
    reason = EndReason.EOF
    if reading.cancelled():
        reason = _cut_short(stop)
    elif reading.exception() is not None:
        reason = EndReason.TRANSPORT_ERROR
    session.on_response(
        response.status_code,
        dict(response.headers.multi_items()),
        body=b"".join(c for _, c in chunks).decode("utf-8", errors="replace"),
        url=url,
        t=t_headers,
        reason=response.reason_phrase,
        http_version=response.http_version,
    )
    for t, chunk in chunks:
        session.feed(chunk, t)
    session.finish(now(), reason)


Arrival = tuple[float, bytes] | BaseException | None
"""What the reader task queues: a chunk with its arrival time, the error that ended the read, or
None at EOF."""


async def _pump(
    response: httpx.Response, queue: asyncio.Queue[Arrival], now: Callable[[], float]
) -> None:
    try:
        async for chunk in response.aiter_bytes():
            queue.put_nowait((now(), chunk))
        queue.put_nowait(None)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        queue.put_nowait(exc)


def _time_left(
    session: StreamSession, read_start: float, t: float, grace: float, max_wait: float
) -> tuple[float, EndReason]:
    """Seconds before the read ends on its own, and why it then would: the grace period after the
    terminal event, or ``max_wait`` without a complete event (since the last one, or since the
    response head): bytes alone, comments or a trickle, do not count, as they do not for
    Codex."""
    if session.terminal_seen_at is not None:
        return session.terminal_seen_at + grace - t, EndReason.GRACE
    last_event = session.checker.timing.t_last_event
    return max(read_start, last_event or 0.0) + max_wait - t, EndReason.MAX_WAIT


async def _follow(
    response: httpx.Response,
    session: StreamSession,
    now: Callable[[], float],
    max_wait: float,
    grace: float,
    tick_interval: float,
    stop: asyncio.Event | None,
) -> tuple[EndReason, str | None]:
    """Feed the session every chunk as it arrives, ticking its stall clocks while none does;
    returns why the read ended (and the transport error, if one ended it)."""
    queue: asyncio.Queue[Arrival] = asyncio.Queue()
    task = asyncio.create_task(_pump(response, queue, now))
    read_start = now()
    try:
        while True:
            if stop is not None and stop.is_set():
                return EndReason.INTERRUPTED, None
            remaining, reason = _time_left(session, read_start, now(), grace, max_wait)
            if remaining <= 0:
                return reason, None
            try:
                item = await asyncio.wait_for(queue.get(), timeout=min(remaining, tick_interval))
            except TimeoutError:
                session.tick(now())
                continue
            if item is None:
                return EndReason.EOF, None
            if isinstance(item, BaseException):
                return EndReason.TRANSPORT_ERROR, f"{type(item).__name__}: {item}".rstrip(": ")
            t, chunk = item
            session.feed(chunk, t)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
