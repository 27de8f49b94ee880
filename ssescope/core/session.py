"""A stream session: raw chunks in, frames, events and findings out, optionally recorded.

Live connect, replay, the proxy and headless check all drive one of these, one chunk at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .capture import Boundary, CaptureWriter
from .checker import Checker, CheckOptions
from .ends import EndReason
from .events import Event
from .findings import Finding
from .redact import redact_headers, redact_url
from .sse import Frame, SSEFramer

MAX_UNJUDGED = 20
PROGRESS_EVERY = 1024
"""Chunks between two progress reports of :meth:`StreamSession.feed_chunks` (a report costs a
file tell and a lock); a raw file's chunks are big blocks, each of which is reported."""
PROGRESS_BLOCK = 1 << 16
EventCallback = Callable[[Event, list[Finding]], None]
ChunkCallback = Callable[[bytes, float], None]
FindingsCallback = Callable[[list[Finding]], None]


class StreamSession:
    def __init__(
        self,
        options: CheckOptions | None = None,
        *,
        writer: CaptureWriter | None = None,
        on_event: EventCallback | None = None,
        on_chunk: ChunkCallback | None = None,
        on_findings: FindingsCallback | None = None,
    ) -> None:
        self.checker = Checker(options)
        self.framer = SSEFramer()
        self.writer = writer
        self.on_event = on_event
        self.on_chunk = on_chunk
        self.on_findings = on_findings
        """Called with findings that no frame caused: HTTP status, live ticks, the end."""
        self.request: dict[str, Any] | None = None
        self.response: dict[str, Any] | None = None
        self.end: tuple[float, str, str | None] | None = None
        self.terminal_seen_at: float | None = None
        self.warnings: list[str] = []
        """Events ssescope failed to judge (a bug it must not let end the read), one line each."""

    @property
    def options(self) -> CheckOptions:
        return self.checker.options

    def on_response(
        self,
        status: int,
        headers: dict[str, str] | None = None,
        *,
        body: str = "",
        url: str = "",
        t: float = 0.0,
        reason: str = "",
        http_version: str = "",
    ) -> list[Finding]:
        # what views and results show: redacted (the writer decides for the capture itself)
        self.response = {
            "status": status,
            "reason": reason,
            "headers": redact_headers(headers),
            "t": t,
        }
        if self.writer is not None:
            self.writer.write_response(
                status, headers, reason=reason, http_version=http_version, t=t
            )
        return self._report(self.checker.on_http(status, headers, body, redact_url(url), t))

    def feed(self, chunk: bytes, t: float) -> None:
        """One chunk as it arrived at ``t`` (seconds since the request started); its events go
        to ``on_event`` (none are held here: a 200 MB event is let go as soon as it is judged,
        not kept until the rest of its chunk is)."""
        if self.writer is not None:
            self.writer.write_chunk(t, chunk)
        if self.on_chunk is not None:
            self.on_chunk(chunk, t)
        self.checker.timing.on_chunk(t, len(chunk))
        if not self._framing():
            return  # an error body (JSON, HTML): recorded, shown in http-status, not framed
        frames = self.framer.feed(chunk, t)
        if frames:  # a capture's record is one frame; a raw block, thousands
            self._judge(frames)

    def feed_chunks(
        self,
        chunks: Iterator[tuple[float, bytes] | Boundary],
        t: float = 0.0,
        progress: Callable[[], None] | None = None,
    ) -> tuple[float, bool]:
        """:meth:`feed` every ``(t, chunk)`` of ``chunks`` up to their end or a
        :class:`Boundary` (the next response of the file): returns the last ``t`` and whether
        a boundary stopped it. ``progress`` is called every :data:`PROGRESS_EVERY` chunks and
        after each big one. One loop with its calls bound: a capture's chunk is one small
        frame, so what a call of :meth:`feed` costs per chunk shows in the whole check."""
        feed = self.chunk_feeder()
        for n, item in enumerate(chunks):
            if item.__class__ is Boundary:
                return t, True
            t, chunk = item  # type: ignore[misc]  # not a Boundary: a (t, chunk) pair
            feed(chunk, t)
            if progress is not None and (n % PROGRESS_EVERY == 0 or len(chunk) >= PROGRESS_BLOCK):
                progress()
        return t, False

    def chunk_feeder(self) -> Callable[[bytes, float], None]:
        """:meth:`feed` with what cannot change during a read of a file bound once (no capture
        written, a 2xx status): a capture's chunk is one small frame, so what a call costs per
        chunk shows in the whole check, and in the debugger's indexing of it."""
        if self.writer is not None or not self._framing():
            return self.feed
        on_chunk, frames_of, judge = self.on_chunk, self.framer.feed, self._judge
        timing_chunk = self.checker.timing.on_chunk

        def feed(chunk: bytes, t: float) -> None:
            if on_chunk is not None:  # a store that keeps where each chunk is
                on_chunk(chunk, t)
            timing_chunk(t, len(chunk))
            frames = frames_of(chunk, t)
            if frames:
                judge(frames)

        return feed

    def _framing(self) -> bool:
        """Whether chunks are framed and judged (not the body of an HTTP error)."""
        status = self.checker.http_status
        return status is None or 200 <= status < 300

    def _judge(self, frames: list[Frame]) -> None:
        checker = self.checker
        tree = checker.tree
        for i in range(len(frames)):
            frame = frames[i]
            frames[i] = None  # type: ignore[call-overload]  # judged: let go
            tree.last_touched = None
            try:
                ev, findings = checker.feed_frame(frame)
            except Exception as exc:  # one event, never the read (nor its recording)
                ev, findings = self._unjudged(frame, exc), []
            if self.terminal_seen_at is None and tree.terminal_type is not None:
                self.terminal_seen_at = ev.t
            if self.on_event is not None:
                self.on_event(ev, findings)
            del ev, frame

    def _unjudged(self, frame: Frame, exc: Exception) -> Event:
        """The row of a frame whose judgement failed: kept (and shown) with the reason, while
        the rest of the stream goes on being read, recorded and judged."""
        why = f"{type(exc).__name__}: {exc}"
        why = why if len(why) <= 200 else why[:200] + "…"
        if len(self.warnings) < MAX_UNJUDGED:
            self.warnings.append(f"row {frame.index}: not judged (ssescope failed on it: {why})")
        return Event(frame.index, frame, "invalid", error=f"not judged ({why})")

    def _report(self, findings: list[Finding]) -> list[Finding]:
        if findings and self.on_findings is not None:
            self.on_findings(findings)
        return findings

    def tick(self, now: float) -> list[Finding]:
        return self._report(self.checker.tick(now))

    def finish(
        self, t: float, reason: str = EndReason.EOF, error: str | None = None
    ) -> list[Finding]:
        """End of the stream: the last frame (through ``on_event``), then the end-of-stream
        findings, which are returned."""
        self._judge(self.framer.finish(t))
        out = self._report(self.checker.finish(t, reason))
        self.end = (t, reason, error)
        if self.writer is not None:
            self.writer.write_end(t, reason, error)
            self.writer.close()
        return out
