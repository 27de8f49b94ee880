"""Headless judgement of a file or URL: what ``ssescope check`` (and CI) runs.

Results are plain dicts so they print as JSON as they are; the human report is rendered by the CLI.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .capture import BOUNDARY, CaptureWriter, Source, SourceError, open_source
from .checker import CheckOptions
from .session import StreamSession

if TYPE_CHECKING:
    from ..health.monitor import HealthConfig
    from .live import RequestSpec

CHAT_FORMATS = ("jsonl-chat", "sse-chat")


def result_of(session: StreamSession, source: str, fmt: str, warnings: list[str]) -> dict[str, Any]:
    checker = session.checker
    log = checker.log
    return {
        "source": source,
        "format": fmt,
        "profile": checker.profile,
        "events": checker.events_seen,
        "findings": [f.to_dict() for f in log.kept],
        "finding_counts": dict(log.counts),
        "summary": checker.summary(),
        "timing": checker.timing.to_dict(),
        "codex": checker.prediction().to_dict(),
        "response": checker.tree.reconstruct(),
        "http": session.response,
        "end": None
        if session.end is None
        else {"t": round(session.end[0], 6), "reason": session.end[1], "error": session.end[2]},
        "warnings": list(warnings),
    }


def check_source(src: Source, options: CheckOptions) -> list[dict[str, Any]]:
    """Judge every response in an opened source (usually one)."""
    if src.format in CHAT_FORMATS:
        raise SourceError(
            f"{src.path}: this is a Chat Completions stream (chat.completion.chunk); "
            "ssescope check judges Responses API streams"
        )
    options.framed = src.framed
    results: list[dict[str, Any]] = []
    from ..health.tracker import HealthTracker  # samples recorded in a capture, and the diagnosis

    tracker = HealthTracker()
    src.on_record = lambda record: tracker.on_record(record, session.checker)

    resp = src.response
    status = int(resp.get("status") or 0) if resp is not None else None
    error_status = status is not None and not 200 <= status < 300

    def new_session(body: str = "") -> StreamSession:
        opts = CheckOptions(**{**options.__dict__})
        session = StreamSession(opts)
        if resp is not None and status is not None:
            session.on_response(
                status,
                resp.get("headers") or {},
                body=body,
                url=(src.request or {}).get("url", ""),
                t=float(resp.get("t") or 0.0),
                reason=str(resp.get("reason") or ""),
            )
        return session

    chunks = src.chunks()
    held: list[tuple[float, bytes]] = []
    if error_status:
        # The error body is the message of the http-status finding: read it before judging.
        held = [item for item in chunks if not isinstance(item, type(BOUNDARY))]  # type: ignore[misc]
        chunks = iter(held)  # type: ignore[assignment]
    session = new_session(b"".join(c for _, c in held).decode("utf-8", errors="replace"))
    t = 0.0
    for item in chunks:
        if item is BOUNDARY:
            session.finish(t, "eof")
            results.append(result_of(session, src.path, src.format, []))
            results[-1].update(tracker.result(session.checker))
            session = new_session()
            continue
        t, chunk = item  # type: ignore[misc]
        session.feed(chunk, t)
    end_t, reason, error = src.end or (t, "eof", None)
    session.finish(max(end_t, t), reason, error)
    results.append(result_of(session, src.path, src.format, src.warnings))
    results[-1].update(tracker.result(session.checker))
    if len(results) > 1:
        for i, r in enumerate(results):
            r["stream"] = i
    return results


def check_file(path: str, options: CheckOptions) -> list[dict[str, Any]]:
    return check_source(open_source(path), options)


def check_url(
    spec: RequestSpec,
    options: CheckOptions,
    *,
    record: str | None = None,
    redact: bool = True,
    max_wait: float = 60.0,
    grace: float = 2.0,
    health: HealthConfig | None = None,
) -> dict[str, Any]:
    """Read a live stream; with ``health``, probe the server/GPUs while reading (samples go into
    the result, the capture and the diagnosis)."""
    from ..health.tracker import HealthTracker, SampleCaptureWriter
    from .live import run_live  # httpx only when a URL is read: a file check starts faster

    writer = None
    if record:
        writer = (SampleCaptureWriter if health is not None else CaptureWriter)(
            record,
            method=spec.method,
            url=spec.url,
            headers=spec.headers,
            body=spec.body,
            redact=redact,
        )
    session = StreamSession(options, writer=writer)
    tracker = HealthTracker()
    t0 = time.monotonic()

    def clock() -> float:
        return time.monotonic() - t0

    async def read() -> None:
        if health is None:
            await run_live(spec, session, max_wait=max_wait, grace=grace, start=t0)
            return
        from ..health.monitor import HealthMonitor

        def on_sample(sample: Any) -> None:
            if isinstance(writer, SampleCaptureWriter):
                writer.write_sample(sample)
            tracker.on_sample(sample, session.checker, now=clock())

        monitor = HealthMonitor.from_config(
            health, clock=clock, history=tracker.history, on_sample=on_sample
        )
        async with monitor:
            await run_live(spec, session, max_wait=max_wait, grace=grace, start=t0)

    try:
        import asyncio  # only a live read needs the event loop

        asyncio.run(read())
    finally:
        if writer is not None:
            writer.close()
    result = result_of(session, spec.url, "live", [])
    result.update(tracker.result(session.checker))
    return result
