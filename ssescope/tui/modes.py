"""Where the debugger's sessions come from: one small class per mode.

A mode knows what it offers (the abilities its keys need, see :class:`.actions.Offer`), what the
header says before the first session, how it starts, and how it stops. It never touches a widget:
it tells the app about sessions with messages (:mod:`.messages`) and runs its work as the app's
workers. Adding a mode is one class here (and one line in :data:`ssescope.tui.app.MODES`).
(These are the debugger's own modes, not Textual's screen-stack ``App.MODES``, which it does not use.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from textual.message import Message
from textual.screen import ModalScreen, Screen

from ..core.capture import CaptureWriter, SourceError
from ..core.checker import CheckOptions
from ..core.run import FileLoader, Replay, Run, RunInfo, run_live_into
from .actions import Offer
from .config import AppConfig
from .messages import SESSION_TOAST, RunAdded, RunsCleared
from .screens import DebuggerScreen
from .sessions import Sessions

if TYPE_CHECKING:
    from ..core.live import RequestSpec  # httpx: only when a stream is read live
    from ..core.riders import Rider
    from ..engine.upstream import ChunkObserver

ResultT = TypeVar("ResultT")

MIN_SPEED, MAX_SPEED = 1 / 16, 64.0
SHOWN_WAIT = 1.0
"""Seconds a file's indexing waits at most for the screen to draw its first rows."""


class Host(Protocol):
    """What a mode needs from the app that runs it."""

    sessions: Sessions

    def post_message(self, message: Message) -> bool: ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
        about: str | None = None,
    ) -> None: ...

    def start_worker(
        self, work: Coroutine[Any, Any, None], *, group: str, exclusive: bool = False
    ) -> None: ...

    def ask(self, screen: ModalScreen[ResultT], then: Callable[[ResultT | None], None]) -> None: ...


class Mode:
    """A source of sessions. The base offers what every mode has: re-judging kept sessions in
    place, and the stall clocks of live sessions ticking while nothing arrives."""

    title: ClassVar[str]
    """What the help screen calls the mode."""

    def __init__(self, config: AppConfig, host: Host) -> None:
        self.config = config
        self.host = host
        self.offers: frozenset[Offer] = frozenset()
        """The abilities this mode's keys need (the app hides keys whose ability is missing)."""

    @property
    def options(self) -> CheckOptions:
        return self.host.sessions.options

    def available(self) -> frozenset[Offer]:
        """The abilities that apply now (by default all the mode offers)."""
        return self.offers

    @property
    def replay(self) -> Replay | None:
        """The replay being played, if any (only a file can be replayed)."""
        return None

    def waiting(self) -> str:
        """The header before the first session arrives."""
        return "starting…"

    def note(self, run: Run) -> str:
        """What the header adds about ``run`` in this mode (indexing progress, the demo's
        scenario and fault); empty by default."""
        return ""

    def first_screen(self) -> Screen[None]:
        return DebuggerScreen(self.host.sessions, self)

    def shows_session(self, screen: Screen[Any]) -> bool:
        """Whether ``screen`` shows a session (the keys that act on one are offered there)."""
        return True

    def prepare(self) -> list[Run]:
        """What can be done before the first screen: the sessions it opens with (their
        :class:`RunAdded` follow and find them held)."""
        return []

    def start(self) -> None:
        """Begin producing sessions (called once the first screen is up)."""

    def shown(self) -> None:
        """A debugger screen has drawn a session from scratch."""

    def tick(self, dt: float) -> None:
        """``dt`` wall seconds passed: live stall clocks judge the silence."""
        for run in self.host.sessions.runs:
            if run.info.kind == "live" and run.state in ("waiting", "streaming"):
                run.tick()

    def rejudge(self) -> None:
        """Judge every session again under the (new) profile from what was received: in place,
        so a session that is still streaming goes on under the new profile."""
        runs = self.host.sessions.runs
        if all(run.chunks is not None for run in runs):
            for run in runs:
                run.rejudge(self.options)
        else:
            self.reload()

    def reload(self) -> None:
        """Produce the sessions again (for those that did not keep what they received)."""

    def stop(self) -> None:
        """The app quits: end every read and server at once."""


class FileMode(Mode):
    """``ssescope open``: index a file in time slices, or replay it with its original timing."""

    title = "open"

    def __init__(self, config: AppConfig, host: Host) -> None:
        super().__init__(config, host)
        self.offers = frozenset({Offer.REPLAY, Offer.METRICS})
        self.loader: FileLoader | None = None
        self._replay: Replay | None = None
        self._stopping = False
        self._size = 0
        self._load_started = 0.0
        self._shown = asyncio.Event()

    @property
    def path(self) -> str:
        return self.config.path or ""

    @property
    def replay(self) -> Replay | None:
        return self._replay

    def waiting(self) -> str:
        return f"{self.path}  loading…"

    def note(self, run: Run) -> str:
        """While the file is indexed: how far (bytes of the file, rows, seconds)."""
        loader = self.loader
        if loader is None or loader.done:
            return ""
        done, total = loader.bytes_read, max(self._size, 1)
        rows = sum(len(held.store) for held in loader.runs)
        elapsed = self.config.clock() - self._load_started
        return (
            f"indexing {_megabytes(done)} of {_megabytes(total)} MB ({100 * done / total:.0f}%)"
            f" · {rows:,} rows · {elapsed:.1f} s"
        )

    def available(self) -> frozenset[Offer]:
        """``m`` only once the file has server samples (a capture recorded with --server)."""
        runs = self.host.sessions.runs
        if any(run.health is not None and run.health.history.latest("server") for run in runs):
            return self.offers
        return self.offers - {Offer.METRICS}

    def prepare(self) -> list[Run]:
        """The file opened and its first rows judged: the first screen opens full."""
        if self.config.replay:
            return []
        self._open()
        return self.loader.runs[:1] if self.loader is not None else []

    def start(self) -> None:
        if self.config.replay:
            self._start_replay(playing=True)
        elif self.loader is not None:  # opened by prepare (or a reload)
            self.host.start_worker(self._index(self.loader), group="load", exclusive=True)

    def reload(self) -> None:
        """Big files do not keep their chunks in memory: load the file again."""
        self._cancel_loading()
        self._replay = None
        self.host.post_message(RunsCleared())
        if not self.config.replay:
            self._open()
        self.start()

    def stop(self) -> None:
        self._stopping = True

    def _open(self) -> None:
        def added(run: Run) -> None:
            self.host.post_message(RunAdded(run, select=False))

        try:
            self.loader = FileLoader(self.path, self.options, on_run=added, rider=_health_tracker)
        except SourceError as exc:
            self.host.notify(str(exc), title="cannot open", severity="error", timeout=10)
            return
        self._size = Path(self.path).stat().st_size
        self._load_started = self.config.clock()
        self._shown.clear()
        self.loader.fill_first_screen()

    def shown(self) -> None:
        self._shown.set()

    async def _drawn(self) -> None:
        """Until the screen has drawn the file's first rows (at most SHOWN_WAIT: indexing
        never waits on the UI for long)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._shown.wait(), SHOWN_WAIT)

    async def _index(self, loader: FileLoader) -> None:
        """Index the file in time slices between key presses and redraws, once its first rows
        are on screen; quitting, or a new load replacing this one, cancels it at once."""
        await loader.index(lambda: self._stopping or loader is not self.loader, drawn=self._drawn)

    def _cancel_loading(self) -> None:
        if self.loader is not None:
            self.loader.cancel()
            self.loader = None

    def _start_replay(self, *, playing: bool) -> Replay | None:
        try:
            replay = Replay(self.path, self.options)
        except SourceError as exc:
            self.host.notify(str(exc), title="cannot replay", severity="error")
            return None
        self._replay = replay
        self.host.post_message(RunAdded(replay.run))
        replay.playing = playing
        return replay

    def _switch_to_replay(self, *, playing: bool) -> Replay | None:
        """From everything at once to the original timing: the loaded sessions make way."""
        self._cancel_loading()
        self.host.post_message(RunsCleared())
        return self._start_replay(playing=playing)

    def play_pause(self) -> None:
        if self._replay is None:
            self._switch_to_replay(playing=True)
        else:
            self._replay.playing = not self._replay.playing

    def speed(self, factor: float) -> None:
        if self._replay is not None:
            self._replay.speed = min(MAX_SPEED, max(MIN_SPEED, self._replay.speed * factor))

    def step(self) -> None:
        """One event further, paused (the first step switches to replay)."""
        replay = self._replay or self._switch_to_replay(playing=False)
        if replay is not None:
            replay.playing = False
            replay.step()

    def tick(self, dt: float) -> None:
        if self._replay is not None and self._replay.playing:
            self._replay.advance(dt)
        super().tick(dt)


class LiveMode(Mode):
    """``ssescope connect``: POST the request, read the stream live; `r` sends it again."""

    title = "connect"

    def __init__(self, config: AppConfig, host: Host) -> None:
        super().__init__(config, host)
        offers = {Offer.RESEND}
        if config.health is not None:
            offers.add(Offer.METRICS)
        self.offers = frozenset(offers)
        self.runs: list[Run] = []
        """The sessions this mode started, in order (the engine's session keys count them)."""
        self._stop_live = asyncio.Event()  # set on quit: every live read stops

    def waiting(self) -> str:
        spec = self.config.spec
        return f"{spec.url if spec else ''}  connecting…"

    def start(self) -> None:
        self.send()

    def resend(self) -> None:
        self.send()

    def stop(self) -> None:
        self._stop_live.set()

    def send(self) -> None:
        """Start one more session with the configured request."""
        spec = self.config.spec
        assert spec is not None
        run = self._new_run(spec)
        self.runs.append(run)
        self.host.post_message(RunAdded(run))
        self.host.start_worker(self._read(run, spec), group="live")

    def _new_run(self, spec: RequestSpec) -> Run:
        writer = self._writer(spec)
        info = RunInfo(
            spec.url,
            "live",
            request=spec.to_capture(),
            record_path=str(writer.path) if writer else None,
        )
        return Run(self.options, info, writer=writer, clock=self.config.clock)

    def _writer(self, spec: RequestSpec) -> CaptureWriter | None:
        """The capture of the next session (the second and later ones get numbered files)."""
        record = self.config.record
        if record is None:
            return None
        path = record if not self.runs else _numbered(record, len(self.runs) + 1)
        writer_cls: type[CaptureWriter] = CaptureWriter
        if self.config.health is not None:
            from ..health.tracker import SampleCaptureWriter

            writer_cls = SampleCaptureWriter
        return writer_cls(
            path,
            method=spec.method,
            url=spec.url,
            headers=spec.headers,
            body=spec.body,
            redact=self.config.redact,
        )

    async def _read(self, run: Run, spec: RequestSpec) -> None:
        if self.config.health is None:
            await run_live_into(run, spec, grace=self.config.grace, stop=self._stop_live)
        else:
            await self._read_with_health(run, spec)
        if run.error and run is self.host.sessions.current_run:
            self.host.notify(
                run.error, title="connection", severity="error", timeout=8, about=SESSION_TOAST
            )

    async def _read_with_health(self, run: Run, spec: RequestSpec) -> None:
        """Probe the server and GPUs while the stream is read; samples share the stream's clock,
        go into the capture, and feed the diagnosis in the stall area."""
        from ..health.monitor import HealthMonitor
        from ..health.tracker import HealthTracker

        tracker = run.health = HealthTracker()
        writer = run.session.writer

        def clock() -> float:
            return run.clock() - run.started_at

        def on_sample(sample: Any) -> None:
            tracker.on_sample(sample, run.checker, now=clock())
            write = getattr(writer, "write_sample", None)
            if write is not None:
                write(sample)

        run.started_at = run.clock()
        monitor = HealthMonitor.from_config(
            self.config.health, clock=clock, history=tracker.history, on_sample=on_sample
        )
        async with monitor:
            await run_live_into(
                run, spec, grace=self.config.grace, stop=self._stop_live, keep_start=True
            )


class EngineMode(LiveMode):
    """``ssescope connect --via-engine``: the translating engine in-process in front of a chat
    server; `u` shows its raw upstream chunks beside the translated events."""

    title = "connect --via-engine"

    def __init__(self, config: AppConfig, host: Host) -> None:
        super().__init__(config, host)
        self.offers = self.offers | {Offer.UPSTREAM}
        self._engine_stop = asyncio.Event()

    def start(self) -> None:
        self.host.start_worker(self._engine_worker(), group="engine")

    def stop(self) -> None:
        self._engine_stop.set()
        super().stop()

    def resend(self) -> None:
        from ..engine.app import SESSION_HEADER

        if self.config.spec is not None:
            self.config.spec.headers[SESSION_HEADER] = str(len(self.runs) + 1)
        super().resend()

    async def _engine_worker(self) -> None:
        """The translating engine in-process in front of a real chat server (--via-engine)."""
        from ..engine.app import SESSION_HEADER, EngineConfig
        from ..engine.serve import serve

        config = EngineConfig(
            upstream=self.config.via_engine,
            api_key=self.config.upstream_api_key,
            observe=self._observe_upstream,
        )
        try:
            async with serve(config) as running:
                spec = self.config.spec
                assert spec is not None
                spec.url = running.responses_url
                spec.headers[SESSION_HEADER] = "1"
                self.send()
                await self._engine_stop.wait()
        except OSError as exc:
            self.host.notify(f"the engine could not start: {exc}", severity="error", timeout=10)

    def _observe_upstream(self, scope: Any) -> ChunkObserver | None:
        """The engine's upstream observer for one request: its chat chunks go to the session
        its ``X-Ssescope-Session`` header names (its position, from 1)."""
        from ..asgi import header
        from ..engine.app import SESSION_HEADER
        from ..engine.upstream import ChunkObserver

        key = header(scope, SESSION_HEADER) or ""
        if not key.isdigit() or not 0 < int(key) <= len(self.runs):
            return None
        run = self.runs[int(key) - 1]
        return ChunkObserver(lambda data: run.upstream.append((run.clock() - run.started_at, data)))


def _health_tracker() -> Rider:
    """The rider for a capture's recorded server/GPU samples: replayed into the panels and the
    diagnosis (made on a capture's first sample, so a file without samples never imports it)."""
    from ..health.tracker import HealthTracker

    return HealthTracker()


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f}"


def _numbered(path: str, n: int) -> str:
    p = Path(path)
    return str(p.with_name(f"{p.stem}-{n}{p.suffix}"))
