"""Headless judgement of a file or URL: what ``ssescope check`` (and CI) runs.

Results are plain dicts so they print as JSON as they are; the human report is rendered by the CLI.
What rides along a check (the health layer's samples and diagnosis) comes in as a
:class:`~ssescope.core.riders.Rider`: the core does not know it.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .capture import Boundary, CaptureWriter, Source, SourceError, open_source
from .checker import CheckOptions
from .codex import DEFAULT_CODEX_VERSION
from .ends import EndReason
from .redact import redact_url
from .session import StreamSession

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Iterator

    from .live import RequestSpec
    from .riders import LiveRider, Rider

CHAT_FORMATS = ("jsonl-chat", "sse-chat")


def result_of(session: StreamSession, source: str, fmt: str, warnings: list[str]) -> dict[str, Any]:
    checker = session.checker
    log = checker.log
    return {
        "source": redact_url(source),
        "format": fmt,
        "profile": checker.profile,
        "events": checker.events_seen,
        "findings": [f.to_dict() for f in log.kept],
        "finding_counts": dict(log.counts),
        "summary": checker.summary(),
        "timing": checker.timing.to_dict(),
        "codex": checker.prediction().to_dict(),
        "clients": [p.to_dict() for p in checker.client_predictions()],
        "response": checker.tree.reconstruct(),
        "http": session.response,
        "end": None
        if session.end is None
        else {"t": round(session.end[0], 6), "reason": session.end[1], "error": session.end[2]},
        "warnings": [*warnings, *session.warnings],
    }


def codex_version(result: dict[str, Any]) -> str:
    """The Codex release a result's prediction is of (its ``clients`` entry names it)."""
    return next(
        (p["version"] for p in result.get("clients") or [] if p["client"] == "codex"),
        DEFAULT_CODEX_VERSION,
    )


class _SourceStreams:
    """The sessions judging the streams of one source in turn (a file may hold several
    responses), and the rider that sees the source's extra records on the current stream."""

    def __init__(self, src: Source, options: CheckOptions, rider: Rider | None) -> None:
        self.src = src
        self.options = options
        self.rider = rider
        self.session: StreamSession | None = None
        self._early: list[dict[str, Any]] = []  # records read before the first session exists
        if rider is not None:
            src.on_record = self._on_record

    def _on_record(self, record: dict[str, Any]) -> None:
        if self.session is None:
            self._early.append(record)
        elif self.rider is not None:
            self.rider.on_record(record, self.session.checker)

    def start(self, body: str = "") -> StreamSession:
        """A session for the next stream, told the capture's response (and its error body)."""
        src = self.src
        session = StreamSession(CheckOptions(**self.options.__dict__))
        session.checker.on_request((src.request or {}).get("body"))
        resp = src.response
        if resp is not None:
            session.on_response(
                int(resp.get("status") or 0),
                resp.get("headers") or {},
                body=body,
                url=(src.request or {}).get("url", ""),
                t=float(resp.get("t") or 0.0),
                reason=str(resp.get("reason") or ""),
            )
        self.session = session
        early, self._early = self._early, []
        for record in early:
            self._on_record(record)
        return session

    def result(self, session: StreamSession, warnings: list[str]) -> dict[str, Any]:
        result = result_of(session, self.src.path, self.src.format, warnings)
        if self.rider is not None:
            result.update(self.rider.result(session.checker))
        return result


def _error_body(src: Source) -> tuple[Iterator[tuple[float, bytes] | Boundary], str]:
    """The chunks of the source, and the body when the capture's response is an HTTP error: that
    body is the message of the http-status finding, so it is read before judging."""
    chunks = src.chunks()
    status = int(src.response.get("status") or 0) if src.response is not None else 200
    if 200 <= status < 300:
        return chunks, ""
    held = [item for item in chunks if not isinstance(item, Boundary)]
    return iter(held), b"".join(c for _, c in held).decode("utf-8", errors="replace")


def not_a_responses_exchange(src: Source) -> str | None:
    """Why a capture is not judged (None: it is a Responses exchange): the proxy records every
    exchange (``GET /v1/models``, the ``.chat.jsonl`` beside a translated stream), and judging
    those as Responses streams would only report nonsense findings."""
    request = src.request if src.format == "capture" else None
    if not isinstance(request, dict):
        return None
    method = str(request.get("method") or "POST").upper()
    url = request.get("url")
    try:
        path = urlsplit(url).path.rstrip("/") if isinstance(url, str) else ""
    except ValueError:  # an unparseable URL: the method alone decides
        path = ""
    chat = path.endswith("/completions")  # /chat/completions, the legacy /completions
    if method == "POST" and not chat:
        return None  # a Responses request, on a gateway's own path too
    what = "a Chat Completions exchange" if chat else "not a Responses stream"
    return (
        f"this capture records {method} {path or '/'}, {what}; "
        "ssescope check judges Responses API streams (POST …/responses)"
    )


def check_source(
    src: Source,
    options: CheckOptions,
    rider: Rider | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Judge every response in an opened source (usually one); ``progress(bytes, events)`` is
    told how far the read is every :data:`~ssescope.core.session.PROGRESS_EVERY` chunks."""
    if src.format in CHAT_FORMATS:
        raise SourceError(
            f"{src.path}: this is a Chat Completions stream (chat.completion.chunk); "
            "ssescope check judges Responses API streams"
        )
    not_responses = not_a_responses_exchange(src)
    if not_responses:
        raise SourceError(f"{src.path}: {not_responses}")
    options.framed = src.framed
    options.timed = src.timed
    streams = _SourceStreams(src, options, rider)
    chunks, body = _error_body(src)
    session = streams.start(body)
    results: list[dict[str, Any]] = []

    def report() -> None:  # the current session's count
        assert progress is not None
        progress(src.position(), session.checker.events_seen)

    t, boundary = 0.0, True
    while boundary:
        t, boundary = session.feed_chunks(chunks, t, report if progress is not None else None)
        if boundary:
            session.finish(t, EndReason.EOF)
            results.append(streams.result(session, []))
            session = streams.start()
    end_t, reason, error = src.end or (t, EndReason.EOF, None)
    if reason == EndReason.CONNECT_ERROR and src.response is None and not results:
        # the live run exited 2 with this line: judging the recording of it does the same
        raise SourceError(f"{src.path}: the recorded request never connected ({error or reason})")
    session.finish(max(end_t, t), reason, error)
    results.append(streams.result(session, src.warnings))
    if len(results) > 1:
        for i, r in enumerate(results):
            r["stream"] = i
    return results


def check_file(
    path: str,
    options: CheckOptions,
    rider: Rider | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    return check_source(open_source(path), options, rider, progress)


def check_url(spec: RequestSpec, options: CheckOptions, **reading: Any) -> dict[str, Any]:
    """Read a live stream to its end in a new event loop (``reading``: the keywords of
    :func:`read_url`; ``ssescope check`` passes the health layer's ``rider``: probes polled
    while reading, their samples in the result, the capture and the diagnosis)."""
    import asyncio  # only a live read needs the event loop

    return asyncio.run(read_url(spec, options, **reading))


def _live_writer(
    spec: RequestSpec, record: str | None, redact: bool, rider: LiveRider | None
) -> CaptureWriter | None:
    """The capture of a live read (the rider's, which also records its samples), if any."""
    if not record:
        return None
    request: dict[str, Any] = {
        "method": spec.method,
        "url": spec.url,
        "headers": spec.headers,
        "body": spec.body,
        "redact": redact,
    }
    return rider.capture_writer(record, **request) if rider else CaptureWriter(record, **request)


async def read_url(
    spec: RequestSpec,
    options: CheckOptions,
    *,
    record: str | None = None,
    redact: bool = True,
    max_wait: float = 60.0,
    grace: float = 2.0,
    rider: LiveRider | None = None,
    clock: Callable[[], float] = time.monotonic,
    stop: asyncio.Event | None = None,
    on_record_error: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """:func:`check_url` in the caller's event loop; ``clock``: the stream's clock (tests on
    virtual loop time pass the loop's); ``stop``: set it to end the read now, as ``interrupted``
    (the CLI sets it on SIGINT, SIGTERM and SIGHUP), with the result and capture as usual.
    A capture that cannot be written (an unwritable ``record``, a full disk) is a warning in the
    result and a call of ``on_record_error``; the read goes on without recording."""
    from .live import run_live  # httpx only when a URL is read: a file check starts faster

    writer = _live_writer(spec, record, redact, rider)
    session = StreamSession(options, writer=writer)
    if writer is not None:

        def record_failed(message: str) -> None:
            session.warnings.append(message)
            if on_record_error is not None:
                on_record_error(message)

        writer.report_to(record_failed)
    session.checker.on_request(spec.body)
    t0 = clock()

    def since() -> float:
        return clock() - t0

    try:
        read = functools.partial(
            run_live,
            spec,
            session,
            max_wait=max_wait,
            grace=grace,
            clock=clock,
            start=t0,
            stop=stop,
        )
        if rider is None:
            await read()
        else:
            async with rider.riding(session, since):
                await read()
    finally:
        if writer is not None:
            writer.close()
    result = result_of(session, spec.url, "live", [])
    if rider is not None:
        result.update(rider.result(session.checker))
    return result
