"""Socket-free factories for the proxy's parts, in the spirit of mitmproxy's ``tflow``: an
exchange, its typed request and response, a flow wired to the parts the proxy would give it,
and :func:`play`, which drives that flow's events as the forwarding core would."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ssescope.core.checker import CheckOptions
from ssescope.core.ends import EndReason
from ssescope.proxy.events import Part, RequestHead
from ssescope.proxy.flow import Flow
from ssescope.proxy.hub import ExchangeHub
from ssescope.proxy.parts import Judge, Recorder, Show, capture_request
from ssescope.proxy.pipeline import Pipeline
from ssescope.proxy.wire import body_doc

SSE = {"content-type": "text/event-stream"}


def trequest(
    method: str = "POST",
    path: str = "/v1/responses",
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    upstream: str = "http://up:8000",
) -> RequestHead:
    """A request as the proxy forwards it (a streamed Responses request by default)."""
    if body is None and method == "POST":
        body = {"model": "m", "input": "hi", "stream": True}
    raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
    return RequestHead(
        method=method,
        path=path,
        query="",
        url=f"{upstream}{path}",
        client_url=f"http://127.0.0.1:8787{path}",
        headers={"host": "127.0.0.1:8787", **(headers or {})},
        body=raw,
        body_doc=body_doc(raw),
    )


def tflow(
    request: RequestHead | None = None,
    *,
    hub: ExchangeHub | None = None,
    record_dir: Path | None = None,
    judge: bool = True,
    extra: list[Part] | None = None,
    options: CheckOptions | None = None,
) -> Flow:
    """A flow with the parts the proxy gives an exchange: a recorder (with ``record_dir``),
    a judge (for a Responses request), ``extra`` parts, and the hub notifier last."""
    request = request or trequest()
    hub = hub if hub is not None else ExchangeHub()
    exchange = hub.open(
        started=time.time(),
        t0=time.monotonic(),
        method=request.method,
        path=request.target,
        url=request.url,
        request_headers=request.headers,
        request_body=request.body_doc,
    )
    parts: list[Part] = []
    record = None
    if record_dir is not None:
        exchange.record_path = str(record_dir / f"{exchange.id:05d}.jsonl")
        parts.append(Recorder(exchange, request.url, redact=True))
        record = capture_request(
            request.method, request.url, request.headers, request.body_doc, redact=True
        )
    if judge and request.is_responses:
        parts.append(
            Judge(
                exchange,
                options or CheckOptions(profile="codex"),
                keep_chunks=True,
                request=record,
                client_url=request.client_url,
            )
        )
    parts += extra or []
    parts.append(Show(exchange, hub))
    return Flow(exchange, request, Pipeline(exchange, parts))


async def play(
    flow: Flow,
    chunks: list[bytes],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    end: EndReason = EndReason.EOF,
    error: str | None = None,
) -> Flow:
    """Drive ``flow`` as the forwarding core does: request, response head, each chunk right
    after it was (notionally) written to the client, then the end."""
    flow.start()
    shown = SSE if headers is None else headers
    ctype = shown.get("content-type", "")
    flow.respond(
        status,
        shown,
        t=time.monotonic(),
        responses_stream=flow.request.is_responses
        and ("text/event-stream" in ctype or flow.request.wants_stream),
    )
    for chunk in chunks:
        flow.exchange.bytes += len(chunk)
        flow.feed([(time.monotonic(), chunk)])
    await flow.settle()
    flow.end(end, error)
    flow.close()
    return flow
