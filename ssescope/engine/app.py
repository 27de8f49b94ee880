"""The engine's ASGI app (Starlette): ``POST /v1/responses`` backed by a Chat Completions server.

``/v1/responses`` is a raw ASGI endpoint rather than a ``StreamingResponse`` because the engine
needs exact control of three things a generator cannot give:

* **No buffering.** Every upstream read is framed, translated and written at once, one write per
  read; ``response.created`` goes out as soon as the upstream answers 200.
* **The upstream status decides the response status.** The upstream is opened *before* the
  response starts, so an upstream 4xx/5xx comes back with its own status and an OpenAI-style
  error body, not as a 200 stream.
* **A client that goes away cancels the upstream request at once** (while waiting for upstream
  headers, too), so nothing keeps generating for nobody and no connection leaks.

The stream itself (the pump, the watchdog, the lock) is :mod:`.stream`; the request and error
plumbing is the shared :mod:`ssescope.asgi`, the upstream the engine's :mod:`.upstream` client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from .. import __version__
from ..asgi import (
    BodyTooLarge,
    ClientGone,
    Receive,
    Scope,
    Send,
    error_body,
    header,
    read_body,
    send_error,
    send_json,
    until_disconnect,
)
from ..asgi import (
    headers as request_headers,
)
from ..asgi.hosts import LocalOnly
from ..core.redact import redact_url
from ..http1 import Client, ConnectTimeout, UpstreamError
from .faults import (
    CHAT_FAULTS,
    ResponsesFaults,
    UnknownFault,
    parse_faults,
    split_model,
)
from .mock import FAULT_HEADER, MockOptions, create_mock_app
from .request import ChatRequest, RequestError, output_messages, to_chat
from .stream import MAX_BODY, Streamer, translate_upstream
from .translate import ChatToResponses
from .upstream import NO_OBSERVER, ChatClient, ChatResponse, UpstreamObserver

__all__ = [
    "SESSION_HEADER",
    "Engine",
    "EngineConfig",
    "Observe",
    "UpstreamObserver",
    "create_app",
    "error_body",
    "upstream_error_body",
]

log = logging.getLogger("ssescope.engine")

HISTORY_SIZE = 128
"""Stored conversations kept for ``previous_response_id`` (in memory, newest kept)."""
ERROR_BODY_LIMIT = 64 << 10

Observe = Callable[[Scope], UpstreamObserver | None]
"""Given the ASGI scope of a Responses request, the observer of the upstream chat exchange it
causes (None: not observed). See :mod:`ssescope.engine.upstream`."""

SESSION_HEADER = "x-ssescope-session"
"""The request header a client over HTTP (the TUI's ``connect --via-engine``) sets so that its
:attr:`EngineConfig.observe` can tell its requests apart."""


@dataclass
class EngineConfig:
    upstream: str | None = None
    """The chat server: a base URL (``http://host:8000/v1``) or the full ``…/chat/completions``."""
    api_key: str | None = None
    """Sent upstream as ``Authorization: Bearer …``."""
    upstream_headers: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    """Send this model upstream whatever the client asks (the client's name is still echoed)."""
    done_marker: bool = False
    """End with ``data: [DONE]`` as Open Responses requires (OpenAI does not send it)."""
    reasoning: str = "text"
    """Stream upstream reasoning as ``reasoning_text`` (``text``), as a summary (``summary``), or
    as ``reasoning_text`` under the Open Responses event names (``open-responses``)."""
    refusal: str = "part"
    """Upstream refusals as a ``refusal`` part (``part``) or as text (``text``; Codex shows it)."""
    max_tokens_field: str = "max_tokens"
    heartbeat: float = 15.0
    """Seconds of upstream silence before a ``keepalive`` event (0: never)."""
    upstream_idle_timeout: float = 600.0
    """Seconds of upstream silence before the response fails (0: never)."""
    finish_grace: float = 2.0
    """Seconds to wait for the usage chunk or ``[DONE]`` after ``finish_reason``."""
    connect_timeout: float = 10.0
    ca_file: str | None = None
    """Trust this CA bundle for an https upstream (a self-signed internal server)."""
    faults: tuple[str, ...] = ()
    observe: Observe | None = None
    """The upstream-observer hook: called with the scope of each Responses request, it returns
    the :class:`~ssescope.engine.upstream.UpstreamObserver` of the chat exchange that request
    causes (request, status, chunks, end). ``connect --via-engine`` keys it by the
    :data:`SESSION_HEADER` its client sends; ``proxy --translate``, which calls the endpoint
    in-process, by what it puts in the scope."""
    forward_headers: tuple[str, ...] = ()
    """Client request headers (lower-case names) sent upstream with the chat request (the proxy
    passes its client's credentials on); the engine's own headers win."""
    mock: MockOptions | None = None
    """Serve the mock backend under ``/mock/v1`` and use it as the upstream."""
    allow_hosts: tuple[str, ...] = ()
    """Names answered besides the local ones (``--allow-host``; see :mod:`ssescope.asgi.hosts`):
    a request with any other ``Host`` or ``Origin`` gets a 403."""

    @property
    def chat_url(self) -> str:
        return _endpoint(self.upstream or "", "/chat/completions")

    @property
    def models_url(self) -> str:
        return _endpoint(self.upstream or "", "/models")


def _endpoint(upstream: str, leaf: str) -> str:
    """``leaf`` under the upstream's base path, its query string kept after the path (Azure's
    ``…/openai/v1?api-version=…`` becomes ``…/openai/v1/chat/completions?api-version=…``)."""
    base, sep, query = upstream.partition("?")
    base = base.split("#", 1)[0].rstrip("/").removesuffix("/chat/completions")
    query = query.split("#", 1)[0]
    return f"{base}{leaf}{sep}{query}" if query else f"{base}{leaf}"


def upstream_error_body(status: int, raw: bytes) -> dict[str, Any]:
    """An upstream error answer as OpenAI's envelope, keeping the upstream's message and code."""
    text = raw.decode("utf-8", errors="replace").strip()
    with contextlib.suppress(ValueError):
        data = json.loads(text)
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            code = err.get("code")
            return error_body(
                err["message"],
                str(err.get("type") or "upstream_error"),
                str(code) if code is not None and not isinstance(code, str) else code,
                err.get("param") if isinstance(err.get("param"), str) else None,
            )
        if isinstance(err, str):
            return error_body(err, "upstream_error")
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return error_body(data["message"], "upstream_error")
    shown = text if len(text) <= 500 else text[:500] + "…"
    return error_body(
        f"the upstream answered HTTP {status}" + (f": {shown}" if shown else " with an empty body"),
        "upstream_error",
    )


class _Refused(Exception):
    """A request the engine answers with a 400 before anything goes upstream."""

    def __init__(self, message: str, param: Any = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass
class _Plan:
    """What one Responses request asks of the upstream."""

    chat: ChatRequest
    faults: tuple[str, ...]
    upstream_headers: dict[str, str]


class Engine:
    """Owns the upstream HTTP client and serves the endpoints."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.client: ChatClient | None = None
        self.stopping = asyncio.Event()
        self.started = asyncio.Event()
        self.active = 0
        """Responses being streamed right now (tests wait on it to prove nothing leaks)."""
        self.served = 0
        self._logged: set[str] = set()
        self.history: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        """Chat conversations of stored responses, by response id (``previous_response_id``)."""

    def remember(self, response_id: str, messages: list[dict[str, Any]]) -> None:
        self.history[response_id] = messages
        while len(self.history) > HISTORY_SIZE:
            self.history.popitem(last=False)

    def warn_once(self, message: str) -> None:
        """Codex repeats the same request shape every turn: say each thing once, then only at
        debug level."""
        if message in self._logged:
            log.debug("%s", message)
            return
        if len(self._logged) < 1000:
            self._logged.add(message)
        log.warning("%s", message)

    # -- lifecycle -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        context = None
        if self.config.ca_file:
            context = ssl.create_default_context(cafile=self.config.ca_file)
        self.client = ChatClient(
            Client(connect_timeout=self.config.connect_timeout, max_idle=8, ssl_context=context)
        )
        self.started.set()
        try:
            yield
        finally:
            self.stopping.set()
            await self.client.aclose()

    def _headers(self) -> dict[str, str]:
        headers = dict(self.config.upstream_headers)
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    # -- small endpoints -------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "engine": "ssescope",
                "version": __version__,
                "upstream": redact_url(self.config.chat_url) if self.config.upstream else None,
                "mock": self.config.mock is not None,
                "active_streams": self.active,
            }
        )

    async def models(self, request: Request) -> Response:
        """Passed through to the upstream's ``GET /models``."""
        assert self.client is not None
        try:
            upstream = await self.client.request(
                "GET", self.config.models_url, headers=self._headers()
            )
            try:
                content = await upstream.read(MAX_BODY)
            finally:
                upstream.close()
        except UpstreamError as exc:
            return JSONResponse(
                error_body(f"cannot reach the upstream: {exc}", "upstream_error"), 502
            )
        return Response(
            content,
            status_code=upstream.status,
            media_type=upstream.headers.get("content-type", "application/json"),
        )

    # -- POST /v1/responses ----------------------------------------------------------------------

    async def responses(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = time.monotonic()
        try:
            raw = await read_body(receive, MAX_BODY)
        except ClientGone:
            return
        except BodyTooLarge as exc:
            await send_error(send, 413, str(exc))
            return
        try:
            plan = self._plan(raw, scope)
        except _Refused as exc:
            log.warning("POST /v1/responses refused (400): %s", exc)
            await send_error(send, 400, str(exc), param=exc.param)
            return
        chat, faults = plan.chat, plan.faults
        for warning in chat.warnings:
            self.warn_once(f"request: {warning}")
        translator = ChatToResponses(
            chat.echo,
            model=str(chat.echo.get("model") or ""),
            reasoning=self.config.reasoning,
            refusal=self.config.refusal,
            on_warning=lambda w: log.warning("translation: %s", w),
            on_done=self._storer(chat),
        )
        observe = self.config.observe
        observer = (observe(scope) if observe is not None else None) or NO_OBSERVER
        self.active += 1
        self.served += 1
        outcome = "?"
        try:
            outcome = await self._serve(plan, translator, observer, receive, send)
        finally:
            self.active -= 1
            log.info(
                "POST /v1/responses model=%s → %s in %.2fs (%d chunks, %d events)%s",
                chat.body.get("model"),
                outcome,
                time.monotonic() - t0,
                translator.chunks,
                translator.sequence_number,
                f" faults={','.join(faults)}" if faults else "",
            )

    def _storer(self, chat: ChatRequest) -> Callable[[dict[str, Any]], None] | None:
        """What keeps a finished answer for ``previous_response_id`` (None with ``store:
        false``). It runs before the terminal event is written: a client that answers at once
        (a tool result right after the call) must find the response already stored."""
        if not chat.store:
            return None

        def store(response: dict[str, Any]) -> None:
            self.remember(response["id"], chat.conversation + output_messages(response["output"]))

        return store

    def _plan(self, raw: bytes, scope: Scope) -> _Plan:
        """The request, its faults and the chat request to send (raises :class:`_Refused`)."""
        try:
            request = json.loads(raw)
        except ValueError:
            raise _Refused("the request body is not valid JSON") from None
        try:
            faults = parse_faults([*self.config.faults, header(scope, FAULT_HEADER) or ""])
            if (
                self.config.mock is not None
                and isinstance(request, dict)
                and isinstance(request.get("model"), str)
            ):
                plain, from_model = split_model(request["model"])
                faults = parse_faults([*faults, *from_model])
                request = {**request, "model": plain}
            chat = to_chat(
                request,
                model=self.config.model,
                max_tokens_field=self.config.max_tokens_field,
                history=self._history(request),
            )
        except (UnknownFault, RequestError) as exc:
            raise _Refused(str(exc), getattr(exc, "param", None)) from None
        return _Plan(chat, faults, self._chat_headers(faults, scope))

    def _history(self, request: Any) -> list[dict[str, Any]] | None:
        """The stored conversation ``previous_response_id`` names (None if none is named)."""
        previous = request.get("previous_response_id") if isinstance(request, dict) else None
        if previous is None:
            return None
        if not isinstance(previous, str) or previous not in self.history:
            raise RequestError(
                f"previous_response_id {previous!r} is not known to this engine: it keeps "
                f"the last {HISTORY_SIZE} stored responses in memory (none across "
                "restarts, none with store: false); send the whole conversation instead",
                "previous_response_id",
            )
        self.history.move_to_end(previous)
        return self.history[previous]

    def _chat_headers(self, faults: tuple[str, ...], scope: Scope) -> dict[str, str]:
        """The chat request's headers: forwarded client ones, the engine's, the chat faults."""
        forward = self.config.forward_headers
        sent = {k: v for k, v in request_headers(scope).items() if k in forward} if forward else {}
        sent.update(self._headers())
        chat_faults = [f for f in faults if f in CHAT_FAULTS]
        if chat_faults and self.config.mock is None:
            raise _Refused(f"chat-side faults need --mock: {', '.join(chat_faults)}")
        if faults and self.config.mock is not None:
            # all of them: the mock plays a scenario the Responses-side ones show on, or says no
            sent[FAULT_HEADER] = ",".join(faults)
        return sent

    async def _open(
        self, body: dict[str, Any], headers: dict[str, str], observer: UpstreamObserver,
        gone: asyncio.Event, send: Send,
    ) -> ChatResponse | str:  # fmt: skip
        """Open the upstream request, unless the client goes away first; an upstream that
        cannot be reached is answered here (the outcome string says how)."""
        assert self.client is not None
        opening = asyncio.create_task(
            self.client.post_json(self.config.chat_url, body, headers, observer)
        )
        waiter = asyncio.create_task(gone.wait())
        try:
            await asyncio.wait({opening, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if not opening.done():
                return "client went away before the upstream answered"
            return opening.result()
        except ConnectTimeout as exc:
            await send_error(send, 504, str(exc), "upstream_error")
            return "upstream timeout (504)"
        except UpstreamError as exc:
            where = redact_url(self.config.chat_url)  # a client must not learn the upstream's key
            await send_error(send, 502, f"upstream {where}: {exc}", "upstream_error")
            return "upstream unreachable (502)"
        finally:
            waiter.cancel()
            if not opening.done():
                opening.cancel()  # closes the half-open upstream request
                with contextlib.suppress(BaseException):
                    await opening

    async def _serve(
        self,
        plan: _Plan,
        translator: ChatToResponses,
        observer: UpstreamObserver,
        receive: Receive,
        send: Send,
    ) -> str:
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, gone))
        try:
            upstream = await self._open(plan.chat.body, plan.upstream_headers, observer, gone, send)
            if isinstance(upstream, str):
                return upstream
            try:
                return await self._answer(upstream, plan, translator, send, gone)
            finally:
                if translator.status in ("completed", "incomplete") and not gone.is_set():
                    await upstream.drain()  # the client has everything: keep the connection
                upstream.close()
        finally:
            # Whatever ended this (the client, a shutdown), nothing is left running upstream.
            watcher.cancel()

    async def _answer(
        self,
        upstream: ChatResponse,
        plan: _Plan,
        translator: ChatToResponses,
        send: Send,
        gone: asyncio.Event,
    ) -> str:
        """The client's answer to an upstream that did answer: its error, the stream, or the
        whole Response (``stream: false``)."""
        if not 200 <= upstream.status < 300:
            raw = await upstream.read(ERROR_BODY_LIMIT)
            await send_json(send, upstream.status, upstream_error_body(upstream.status, raw))
            return f"upstream HTTP {upstream.status}"
        if plan.chat.stream:
            streamer = Streamer(
                self.config, self.stopping, upstream, translator, ResponsesFaults(plan.faults), send
            )
            return await streamer.run(gone)
        collect = asyncio.create_task(self._collect(upstream, translator, send))
        waiter = asyncio.create_task(gone.wait())
        try:
            await asyncio.wait({collect, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if not collect.done():
            collect.cancel()
            with contextlib.suppress(BaseException):
                await collect
            return "client went away (upstream request cancelled)"
        return collect.result()

    async def _collect(
        self, upstream: ChatResponse, translator: ChatToResponses, send: Send
    ) -> str:
        """``stream: false``: translate the whole stream, answer with the final Response."""
        async for _ in translate_upstream(upstream, translator):
            pass
        response = translator.snapshot()
        if translator.status == "failed":
            error = response.get("error") or {}
            await send_error(
                send, 502, error.get("message", "upstream failed"), "upstream_error",
                error.get("code"),
            )  # fmt: skip
        else:
            await send_json(send, 200, response)
        return f"{translator.status} (not streamed)"


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    await until_disconnect(receive)
    gone.set()


class _ResponsesEndpoint:
    """Starlette treats a non-function endpoint as a raw ASGI app."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.engine.responses(scope, receive, send)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    return JSONResponse(
        error_body(f"{request.method} {request.url.path}: no such endpoint on the ssescope engine"),
        status_code=status,
    )


def create_app(config: EngineConfig) -> Starlette:
    """The engine as an ASGI app. ``app.state.engine`` is the :class:`Engine`."""
    engine = Engine(config)
    endpoint = _ResponsesEndpoint(engine)
    routes: list[Any] = [
        Route("/v1/responses", endpoint, methods=["POST"]),
        Route("/responses", endpoint, methods=["POST"]),
        Route("/v1/models", engine.models, methods=["GET"]),
        Route("/models", engine.models, methods=["GET"]),
        Route("/health", engine.health, methods=["GET"]),
    ]
    if config.mock is not None:
        routes.append(Mount("/mock/v1", app=create_mock_app(config.mock, engine.stopping)))
    app = Starlette(
        routes=routes,
        middleware=[Middleware(LocalOnly, allowed=config.allow_hosts)],
        lifespan=engine.lifespan,
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.state.engine = engine
    return app
