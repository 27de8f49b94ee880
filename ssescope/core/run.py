"""A run: one session as an interactive view sees it (the TUI today, the proxy later).

It couples a :class:`StreamSession` (the judgement) with a :class:`RowStore` (what is shown) and a
clock, and knows how it is fed: live from the network, loaded from a file in the background, or
replayed with the original timing. Everything here is UI-free and tested without a screen.
"""

from __future__ import annotations

import asyncio
import bisect
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .capture import CaptureWriter, Source, SourceError, open_source
from .checker import Checker, CheckOptions
from .clients import ClientPrediction
from .codex import CodexPrediction
from .ends import EndReason
from .findings import Finding
from .session import StreamSession
from .sse import SSEFramer
from .store import FileView, RawFileBytes, RecordFileBytes, RowStore, StreamBytes

if TYPE_CHECKING:
    from .live import RequestSpec
    from .riders import Rider

INDEX_SLICE = 0.03
"""Seconds of judging per slice when a file is indexed in the UI's event loop: a key press waits at
most this long, and the fewer the slices the less the turns between them cost the indexing."""
INDEX_TURNS = 32
"""Event-loop turns between two slices (see :meth:`FileLoader.index`)."""
FIRST_ROWS = 100
"""Rows judged before the UI first draws (a screenful): :meth:`FileLoader.fill_first_screen`."""
FIRST_SCREEN_BUDGET = 0.2
"""Seconds of judging at most before the UI first draws, however few rows they made."""
LOADER_BLOCK = 1 << 16
"""Bytes of a raw SSE file judged per chunk when a file is opened: a slice of the indexer (and so
a quit or a key press) never waits for more than one such block of tiny events."""


@dataclass
class RunInfo:
    """What the header shows about a run."""

    label: str
    kind: str
    """live | file | replay"""
    request: dict[str, Any] | None = None
    record_path: str | None = None
    warnings: list[str] = field(default_factory=list)


class Run:
    def __init__(
        self,
        options: CheckOptions,
        info: RunInfo,
        *,
        writer: CaptureWriter | None = None,
        keep_chunks: bool = True,
        stream: StreamBytes | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``stream``: where the rows' bytes are (a file's, read back on demand); by default they
        are kept in memory, as a live session has no file to read them back from. ``clock``:
        the stream's clock (seconds, monotonic), which tests replace to drive the stall timers."""
        self.clock = clock
        self.options = options
        self.info = info
        self.store = RowStore(stream, rows_end=self._rows_end)
        self.chunks: list[tuple[float, bytes]] | None = [] if keep_chunks else None
        self.session = StreamSession(
            options,
            writer=writer,
            on_chunk=self._on_chunk if keep_chunks else self._stream_sink(),
            on_findings=self._on_findings,
        )
        self.session.on_event = self.store.event_sink(self.session.checker.tree)
        self.session.warnings = info.warnings  # an event it failed to judge shows in the header
        if writer is not None:
            writer.report_to(info.warnings.append)  # so does a capture that cannot be written
        self.session.checker.on_request((info.request or {}).get("body"))
        self.state = "waiting"
        """waiting | streaming | done | failed"""
        self.error: str | None = None
        self.started_at = clock()
        self.end_t: float | None = None
        self.replay_clock: float | None = None
        self.upstream: list[tuple[float, bytes]] = []
        """Raw upstream chunks behind this run when a translating engine sits in between."""
        self.health: Any = None
        """The run's rider (the health layer's ``HealthTracker``) when server/GPU samples come
        with the run (live probes, or sample records in a capture)."""

    # -- feeding --------------------------------------------------------------------------------

    def _rows_end(self) -> int:
        return self.session.framer.framed_bytes

    def _stream_sink(self) -> Callable[[bytes, float], None] | None:
        """Where a chunk goes when the run keeps none: the stream's own table (None when the
        file's reader fills it itself)."""
        stream = self.store.stream
        return None if getattr(stream, "fed_by_source", False) else stream.add

    def _on_chunk(self, chunk: bytes, t: float) -> None:
        self.store.stream.add(chunk, t)
        if self.chunks is not None:
            self.chunks.append((t, chunk))

    def _on_findings(self, findings: list[Finding]) -> None:
        self.store.add_findings(findings)

    def on_response(
        self,
        status: int,
        headers: dict[str, str] | None = None,
        *,
        body: str = "",
        url: str = "",
        t: float = 0.0,
        reason: str = "",
    ) -> None:
        self.session.on_response(status, headers, body=body, url=url, t=t, reason=reason)
        self.state = "streaming"

    def feed(self, chunk: bytes, t: float) -> None:
        self.state = "streaming"
        self.session.feed(chunk, t)

    def tick(self, now: float | None = None) -> list[Finding]:
        """Judge the silence so far (stall timers tick while nothing arrives)."""
        if self.state in ("done", "failed"):
            return []
        return self.session.tick(self.now() if now is None else now)

    def finish(self, t: float, reason: str = EndReason.EOF, error: str | None = None) -> None:
        if self.session.end is not None:
            return
        self.session.finish(t, reason, error)
        self.end_t = t
        self.state = "failed" if reason == EndReason.CONNECT_ERROR else "done"
        if error and reason == EndReason.CONNECT_ERROR:
            self.error = error

    def rejudge(self, options: CheckOptions) -> None:
        """Judge everything received again under other options (a profile switch), in place:
        a live read keeps feeding this same run, now under the new profile. Needs the chunks."""
        if self.chunks is None:
            raise ValueError("this run did not keep its chunks")
        session = self.session
        self.options = options
        self.store = RowStore(rows_end=self._rows_end)
        session.checker = Checker(options)
        session.checker.on_request((self.info.request or {}).get("body"))
        session.on_event = self.store.event_sink(session.checker.tree)
        session.framer = SSEFramer()
        session.terminal_seen_at = None
        resp = session.response
        status: int | None = resp["status"] if resp is not None else None
        if resp is not None and status is not None:
            body = b"".join(c for _, c in self.chunks) if not 200 <= status < 300 else b""
            self._on_findings(
                session.checker.on_http(
                    status,
                    resp["headers"],
                    body.decode("utf-8", "replace"),
                    self.info.label,
                    resp["t"],
                )
            )
        for t, chunk in self.chunks:
            self.store.stream.add(chunk, t)
            session.checker.timing.on_chunk(t, len(chunk))
            if status is None or 200 <= status < 300:
                session._judge(session.framer.feed(chunk, t))
        if session.end is not None:
            t, reason, _error = session.end
            session._judge(session.framer.finish(t))
            self._on_findings(session.checker.finish(t, reason))

    # -- reading --------------------------------------------------------------------------------

    @property
    def checker(self) -> Checker:
        return self.session.checker

    def now(self) -> float:
        """Seconds since the request started, on the stream's clock."""
        if self.replay_clock is not None:
            return self.replay_clock
        if self.end_t is not None:
            return self.end_t
        if self.info.kind == "file":  # as far as it is read: indexing is not the stream's pace
            return self.session.checker.timing.t_last_byte or 0.0
        return self.clock() - self.started_at

    def prediction(self) -> CodexPrediction:
        return self.session.checker.prediction()

    def client_predictions(self) -> list[ClientPrediction]:
        """Every client model's outcome so far (the checker recomputes them only when the run
        moved)."""
        return self.session.checker.client_predictions()

    @property
    def http_status(self) -> int | None:
        return None if self.session.response is None else self.session.response["status"]


# -- live -----------------------------------------------------------------------------------------


async def run_live_into(
    run: Run,
    spec: RequestSpec,
    *,
    max_wait: float = 3600.0,
    grace: float = 2.0,
    stop: asyncio.Event | None = None,
    keep_start: bool = False,
) -> None:
    """Read a live stream into ``run`` (inside the caller's event loop, e.g. the TUI's).

    ``max_wait`` is long by default: in the debugger a person decides when to give up, and the
    stall timers keep ticking meanwhile."""
    from .live import run_live  # httpx only when a stream is read live: `open` starts faster

    if not keep_start:
        run.started_at = run.clock()
    try:
        await run_live(
            spec,
            run.session,
            max_wait=max_wait,
            grace=grace,
            stop=stop,
            clock=run.clock,
            start=run.started_at,
        )
    except SourceError as exc:
        run.error = str(exc)
        run.state = "failed"
        run.end_t = run.now() if run.end_t is None else run.end_t
        return
    except Exception as exc:
        run.error = f"{type(exc).__name__}: {exc}"
        if run.session.end is None:
            run.finish(run.clock() - run.started_at, EndReason.TRANSPORT_ERROR, run.error)
        run.state = "failed"
        return
    if run.session.end is not None:
        run.end_t = run.session.end[0]
    run.state = "done"


# -- files ----------------------------------------------------------------------------------------


class FileLoader:
    """Loads a file into one run per response, a time slice at a time.

    The TUI awaits :meth:`index` (or calls :meth:`step`) in its event loop between key presses
    and redraws, so a million-row capture shows its first screen at once and the UI stays
    responsive while the rest is indexed (a loader thread would fight the UI for the GIL, and
    the views read the checker's state while it is judged). The runs keep no bytes: their
    rows are read back from a memory map of the file when shown."""

    def __init__(
        self,
        path: str,
        options: CheckOptions,
        *,
        on_run: Callable[[Run], None] | None = None,
        rider: Callable[[], Rider] | None = None,
    ) -> None:
        src = open_source(path)
        if src.format in ("jsonl-chat", "sse-chat"):
            src.close()
            raise SourceError(
                f"{path}: this is a Chat Completions stream; ssescope judges Responses API streams"
            )
        src.block_size = LOADER_BLOCK
        self.source = src
        self.path = path
        self.view = FileView(path)
        self.options = CheckOptions(
            **{
                **options.__dict__,
                "framed": src.framed,
                "timed": src.timed,
                "track_events": False,
            }
        )
        self.on_run = on_run
        self.rider = rider
        self.runs: list[Run] = []
        src.on_record = self._on_record
        self._chunks = src.chunks()
        self._t = 0.0
        self.done = False
        self.run = self._new_run()

    @property
    def bytes_read(self) -> int:
        """How far into the file indexing has come, in file bytes (a progress display's)."""
        src = self.source
        if src.records_chunks:
            return src.chunk_at
        return src.body_offset + sum(run.checker.timing.bytes for run in self.runs)

    def _stream(self) -> StreamBytes:
        src = self.source
        if src.records_chunks:
            return RecordFileBytes(self.view, src)
        return RawFileBytes(self.view, src.body_offset)

    def _new_run(self) -> Run:
        src = self.source
        run = Run(
            self.options,
            RunInfo(self.path, "file", request=src.request, warnings=src.warnings),
            keep_chunks=False,
            stream=self._stream(),
        )
        _respond(run, src, url=(src.request or {}).get("url", ""))
        self.runs.append(run)
        if self.on_run is not None:
            self.on_run(run)
        return run

    def _on_record(self, record: dict[str, Any]) -> None:
        """A capture's extra record (a health sample): handed, in file order, to the current
        run's rider, made by the ``rider`` factory on the first such record (the TUI passes the
        health layer's tracker; the core never names it)."""
        if self.rider is None:
            return
        run = self.run
        if run.health is None:
            run.health = self.rider()
        run.health.on_record(record, run.checker)

    def step(self, budget: float = 0.01) -> bool:
        """Judge chunks for about ``budget`` seconds; True once the whole file is loaded."""
        if self.done:
            return True
        clock = time.perf_counter
        deadline = clock() + budget
        run = self.run
        feed = self._feeder(run)
        t = self._t
        try:
            for item in self._chunks:
                if type(item) is tuple:  # (t, chunk); else a Boundary
                    t, chunk = item
                    feed(chunk, t)
                else:
                    run.finish(t, EndReason.EOF)
                    run = self.run = self._new_run()
                    feed = self._feeder(run)
                if clock() > deadline:
                    return False
        finally:
            self._t = t  # kept in a local in the loop: a million attribute writes
        end_t, reason, error = self.source.end or (self._t, EndReason.EOF, None)
        run.finish(max(end_t, self._t), reason, error)
        self.done = True
        return True

    @staticmethod
    def _feeder(run: Run) -> Callable[[bytes, float], object]:
        """What :meth:`Run.feed` does per chunk, with its state set once per slice (nothing
        reads it during one): the session's chunk feeder, bound once (as ``check``'s)."""
        run.state = "streaming"
        return run.session.chunk_feeder()

    async def index(
        self,
        cancelled: Callable[[], bool],
        *,
        budget: float = INDEX_SLICE,
        drawn: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Index the whole file inside the caller's event loop, ``budget`` seconds at a time;
        stop (the run ends "interrupted") as soon as ``cancelled()`` says so, e.g. on quit, or
        when the awaiting task is cancelled.

        ``drawn`` waits until the UI has drawn its first screen of rows: the first slice takes
        the processor only then, so the app's start-up (its layout, styles and first paint)
        does not wait behind slices of judging.

        Between slices the loop gets INDEX_TURNS turns: a key press travels through several
        message queues, each hop one turn, and a redraw takes a few more, so a whole hop chain
        finishes before the next slice. Sleeping on a timer instead would leave the processor
        idle whenever the UI has nothing to do, and indexing would fall behind ``check``."""
        try:
            if self.fill_first_screen():
                return
            if drawn is not None:
                await drawn()
            while not cancelled():
                for _ in range(INDEX_TURNS):
                    await asyncio.sleep(0)
                if cancelled() or self.step(budget):
                    return
        finally:
            self.cancel()  # cancelled, or the task itself was (the app exits): the run ends

    def fill_first_screen(self, budget: float = FIRST_SCREEN_BUDGET) -> bool:
        """Judge the first FIRST_ROWS rows, so the UI's first screen is full: the first event
        alone can take a whole slice (when pydantic builds a model on first use), and a first
        screen of one row would stay so until the next slice. For about ``budget`` seconds at
        most (a file of huge events shows what it has); does nothing once they are judged.
        True once the file is loaded."""
        deadline = time.perf_counter() + budget
        while len(self.run.store) < FIRST_ROWS and self.run is self.runs[0]:
            if self.step(0.0):  # one chunk a call
                return True
            if time.perf_counter() > deadline:
                break
        return self.done

    def cancel(self) -> None:
        if not self.done:
            self.run.finish(self._t, EndReason.INTERRUPTED)
            self.done = True
            self._chunks = iter(())
            self.source.close()


def _respond(run: Run, src: Source, *, url: str = "") -> None:
    """The response head a file recorded (if any), given to the run before its chunks."""
    resp = src.response
    if resp is not None:
        run.on_response(
            int(resp.get("status") or 0),
            resp.get("headers") or {},
            url=url,
            t=float(resp.get("t") or 0.0),
            reason=str(resp.get("reason") or ""),
        )


def load_file(
    path: str,
    options: CheckOptions,
    *,
    on_run: Callable[[Run], None] | None = None,
    rider: Callable[[], Rider] | None = None,
) -> list[Run]:
    """Load a whole file at once (one run per response in it)."""
    loader = FileLoader(path, options, on_run=on_run, rider=rider)
    while not loader.step(1.0):
        pass
    return loader.runs


_FRAME_END = re.compile(rb"\r\n\r\n|\n\n|\r\r|\n\r\n|\r\n\n")


def _frame_end(chunk: bytes, start: int) -> int:
    """Where the first frame after ``start`` ends in ``chunk`` (its end when none does)."""
    found = _FRAME_END.search(chunk, start)
    return found.end() if found is not None else len(chunk)


class Replay:
    """Feeds a recorded session into a fresh run with its original timing, on demand."""

    def __init__(self, path: str, options: CheckOptions) -> None:
        src = open_source(path)
        self.source = src
        self.chunks = [c for c in src.chunks() if isinstance(c, tuple)]
        self.times = [t for t, _ in self.chunks]
        self.end = src.end or ((self.times[-1] if self.times else 0.0), EndReason.EOF, None)
        opts = CheckOptions(**{**options.__dict__, "framed": src.framed, "timed": src.timed})
        self.run = Run(opts, RunInfo(path, "replay", request=src.request), keep_chunks=False)
        _respond(self.run, src)
        self.position = 0
        self._offset = 0
        """How much of chunk ``position`` a :meth:`step` has fed already."""
        self.clock = 0.0
        self.speed = 1.0
        self.playing = False
        self.run.replay_clock = 0.0

    @property
    def finished(self) -> bool:
        return self.run.session.end is not None

    def advance(self, wall_seconds: float) -> None:
        """Move the play head by ``wall_seconds`` × speed and feed what arrived meanwhile."""
        if self.finished:
            return
        self.clock += wall_seconds * self.speed
        self._feed_until(bisect.bisect_right(self.times, self.clock))
        self.run.replay_clock = self.clock
        if self.position >= len(self.chunks) and self.clock >= self.end[0]:
            self._end()
        else:
            self.run.tick(self.clock)

    def step(self) -> None:
        """Feed the recording until one new row appears (or it ends): one event, even when one
        chunk holds many (a raw SSE file is read in blocks, a server may send several events in
        one write). The chunk is fed up to the end of its next frame; the framer reads any
        split of the bytes as it reads them whole."""
        rows = len(self.run.store)
        while self.position < len(self.chunks) and len(self.run.store) == rows:
            self.clock = max(self.clock, self.times[self.position])
            t, chunk = self.chunks[self.position]
            end = _frame_end(chunk, self._offset)
            self.run.feed(chunk[self._offset : end], t)
            self._offset = end
            if end >= len(chunk):
                self.position, self._offset = self.position + 1, 0
        self.run.replay_clock = self.clock
        if self.position >= len(self.chunks):
            self._end()

    def _feed_until(self, stop: int) -> None:
        while self.position < stop:
            t, chunk = self.chunks[self.position]
            self.run.feed(chunk[self._offset :] if self._offset else chunk, t)
            self.position, self._offset = self.position + 1, 0

    def _end(self) -> None:
        self.clock = max(self.clock, self.end[0])
        self.run.replay_clock = self.clock
        self.run.finish(self.end[0], self.end[1], self.end[2])
        self.playing = False
