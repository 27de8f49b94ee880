"""The ssescope debugger: a live, keyboard-driven view of one or more stream sessions.

The app owns no judgement: it drives :mod:`ssescope.core.run` objects (live, loaded or replayed)
and redraws from them on timers, so a delta storm is batched into a few redraws a second.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, ScreenStackError, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Log, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from ..core.capture import CaptureWriter, SourceError
from ..core.checker import CheckOptions
from ..core.export import export_run
from ..core.live import RequestSpec
from ..core.rules import PROFILES
from ..core.run import FileLoader, Replay, Run, RunInfo, run_live_into
from . import render
from .widgets import (
    DetailPane,
    EventList,
    FindingsPanel,
    HealthPanel,
    ItemTree,
    StallBar,
    UpstreamPane,
)

HELP = """\
# ssescope

A live debugger for OpenAI Responses API streams.

| key | action |
|---|---|
| ↑ ↓ PgUp PgDn Home End | move in the event list (scrolling up stops following) |
| `f` | follow the tail again |
| `n` / `N` | next / previous row with a finding |
| Enter (findings) | jump to the finding's event |
| Enter (item tree) | select the item's events |
| `p` | switch profile (openai → open-responses → codex) and re-judge |
| `r` | send the same request again as a new session (connect) |
| `[` / `]` | previous / next session |
| space | replay with the original timing: play / pause (open) |
| `+` / `-` | replay faster / slower |
| `.` | replay one step (the next event) |
| `e` | export the reconstructed response (JSON) and a findings report (Markdown) |
| `d` | demo: pick the next scenario or fault for the embedded mock server |
| `u` | the raw upstream chat chunks beside the translated events (`connect --via-engine`, `proxy --translate`) |
| `m` | `connect --server`: the server's raw /metrics scrape |
| Tab | move between panes |
| Ctrl+P | command palette (every action) |
| `?` | this help |
| `q` | quit |

The stall clocks count **since the last byte** (comments included), **since the last event**
(what Codex's idle timer sees: comments never reset it) and **since the last real event**
(keepalives excluded). They turn amber past `--stall-warn` and red past Codex's idle timeout.
"""


@dataclass
class AppConfig:
    """What the command line asked for."""

    options: CheckOptions
    mode: str
    """connect | open"""
    spec: RequestSpec | None = None
    path: str | None = None
    record: str | None = None
    """connect: where to record (None: no recording)."""
    redact: bool = True
    export_dir: str = "."
    grace: float = 2.0
    replay: bool = False
    """open: start in replay mode (original timing) instead of everything at once."""
    via_engine: str | None = None
    """connect --via-engine: the chat server the in-process engine translates from."""
    upstream_api_key: str | None = None
    health: Any = None
    """A ``ssescope.health.monitor.HealthConfig``: probe a server/GPUs during live sessions."""
    demo_scenario: str = "text"
    demo_faults: tuple[str, ...] = ()
    demo_delay: float = 0.03


DEMO_SCENARIOS = {
    "text": "a short text answer",
    "reasoning": "reasoning, then the answer",
    "tool": "one tool call",
    "parallel": "two tool calls",
    "refusal": "a refusal",
    "length": "an answer cut by max_output_tokens (response.incomplete)",
}
DEMO_PROMPTS = {
    "text": "Say hello.",
    "reasoning": "Think about it, then say hello.",
    "tool": "Run `echo hello` for me.",
    "parallel": "Check the weather in two cities in parallel.",
    "refusal": "Please refuse this.",
    "length": "Write something long.",
}


class DemoPicker(ModalScreen[tuple[str, str | None] | None]):
    """Pick what the embedded mock server should do next: a scenario, or a fault to inject."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Close")]

    def compose(self) -> ComposeResult:
        from ..engine.faults import FAULTS

        options: list[Option] = [Option(Text("Scenarios", "bold"), disabled=True)]
        options += [
            Option(Text(f"  {name}: {what}"), id=f"s:{name}")
            for name, what in DEMO_SCENARIOS.items()
        ]
        options.append(
            Option(Text("Faults from the field (on a matching scenario)", "bold"), disabled=True)
        )
        options += [
            Option(Text(f"  {f.name} ({f.side}): {f.does}"), id=f"f:{f.name}")
            for f in FAULTS.values()
        ]
        with Vertical(id="picker"):
            yield Static(
                "Next session: pick a scenario or a fault (Enter), Esc to close", id="picker-title"
            )
            yield OptionList(*options, id="picker-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        kind, _, name = (event.option.id or "").partition(":")
        self.dismiss(("scenario", name) if kind == "s" else ("fault", name))


class TextScreen(ModalScreen[None]):
    """A long text (the raw /metrics scrape) in a scrollable log."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,m", "dismiss", "Close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="upstream"):
            yield Static(f"{self.title_text} · Esc closes", id="upstream-title")
            yield Log(id="text-log", highlight=False)

    def on_mount(self) -> None:
        self.query_one(Log).write_lines(self.text.splitlines())


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)


class DebuggerScreen(Screen[None]):
    """The main screen: events and detail on the left, tree and findings on the right."""

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        yield StallBar(id="stall")
        yield Static(id="diagnosis")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                with Horizontal(id="events-row"):
                    yield EventList(id="events")
                    yield UpstreamPane(id="upstream-pane")
                yield DetailPane(id="detail")
            with Vertical(id="right"):
                yield HealthPanel(id="health")
                yield ItemTree(id="tree")
                yield FindingsPanel(id="findings")
        yield Static(id="codex")
        yield Footer()


class SseScopeApp(App[None]):
    CSS_PATH = "ssescope.tcss"
    TITLE = "ssescope"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("f", "follow", "Follow"),
        Binding("n", "next_finding", "Next finding"),
        Binding("N", "previous_finding", "Prev finding", key_display="N"),
        Binding("p", "switch_profile", "Profile"),
        Binding("r", "resend", "Resend"),
        Binding("e", "export", "Export"),
        Binding("d", "demo_pick", "Demo: pick", show=False),
        Binding("u", "upstream", "Upstream chunks", show=False),
        Binding("m", "raw_metrics", "Raw metrics", show=False),
        Binding("space", "play_pause", "Play/pause", show=False),
        Binding("plus,equals_sign", "speed(2)", "Faster", show=False),
        Binding("minus", "speed(0.5)", "Slower", show=False),
        Binding("full_stop", "step", "Step", show=False),
        Binding("left_square_bracket", "session(-1)", "Prev session", show=False),
        Binding("right_square_bracket", "session(1)", "Next session", show=False),
    ]

    def __init__(self, config: AppConfig) -> None:
        super().__init__()
        self.config = config
        self.options = config.options
        self.runs: list[Run] = []
        self.current = -1
        self.replay: Replay | None = None
        self.loader: FileLoader | None = None
        self._cancel = threading.Event()
        self._stop_live = asyncio.Event()  # set on quit: every live read stops
        self._last_tree = 0.0
        self._last_findings = 0.0
        self._selected_row = -1
        self._last_tick = time.monotonic()
        self._screen_ready = False  # the debugger screen is composed

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Notifications show text literally by default: they carry paths, errors ("[Errno 98]")
        and event names ("[DONE]") that markup would eat or choke on."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # -- lifecycle ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(DebuggerScreen())
        self.set_interval(1 / 20, self._refresh_views)
        self.set_interval(0.25, self._tick)
        self.call_after_refresh(self._start)

    def _start(self) -> None:
        self._screen_ready = True
        if self.config.mode == "demo":
            self._demo_worker()
        elif self.config.via_engine is not None:
            self._engine_worker()
        elif self.config.mode == "connect":
            self.start_live()
        elif self.config.mode == "open":
            if self.config.replay:
                self.start_replay()
            else:
                self.load()

    @property
    def current_run(self) -> Run | None:
        return self.runs[self.current] if 0 <= self.current < len(self.runs) else None

    def add_run(self, run: Run, *, select: bool = True) -> None:
        self.runs.append(run)
        if select or self.current < 0:
            self.select_run(len(self.runs) - 1)

    def select_run(self, index: int) -> None:
        self.current = index
        run = self.current_run
        screen = self.screen
        if not isinstance(screen, DebuggerScreen) or run is None:
            return
        events = screen.query_one(EventList)
        events.following = run.info.kind != "file"  # live and replay follow the tail
        events.set_store(run.store, run.options.stall_warn)
        screen.query_one(ItemTree).sync(run)
        screen.query_one(FindingsPanel).sync(run.store, force=True)
        screen.query_one(DetailPane).clear()
        self._selected_row = -1
        self._refresh_views(force=True)

    # -- feeding: live, file, replay ------------------------------------------------------------

    def _new_live_run(self) -> Run:
        spec = self.config.spec
        assert spec is not None
        writer = None
        record = self.config.record
        if record is not None:
            path = record if len(self.runs) == 0 else _numbered(record, len(self.runs) + 1)
            writer_cls: type[CaptureWriter] = CaptureWriter
            if self.config.health is not None:
                from ..health.tracker import SampleCaptureWriter

                writer_cls = SampleCaptureWriter
            writer = writer_cls(
                path,
                method=spec.method,
                url=spec.url,
                headers=spec.headers,
                body=spec.body,
                redact=self.config.redact,
            )
        info = RunInfo(
            spec.url,
            "live",
            request=spec.to_capture(),
            record_path=str(writer.path) if writer else None,
        )
        return Run(self.options, info, writer=writer)

    def start_live(self) -> None:
        run = self._new_live_run()
        self.add_run(run)
        assert self.config.spec is not None
        self._live_worker(run, self.config.spec)

    @work(exclusive=False, group="live")
    async def _live_worker(self, run: Run, spec: RequestSpec) -> None:
        if self.config.health is None:
            await run_live_into(run, spec, grace=self.config.grace, stop=self._stop_live)
        else:
            await self._live_with_health(run, spec)
        if run.error and run is self.current_run:
            self.notify(run.error, title="connection", severity="error", timeout=8)

    async def _live_with_health(self, run: Run, spec: RequestSpec) -> None:
        """Probe the server and GPUs while the stream is read; samples share the stream's clock,
        go into the capture, and feed the diagnosis in the stall area."""
        from ..health.monitor import HealthMonitor
        from ..health.tracker import HealthTracker

        tracker = run.health = HealthTracker()
        writer = run.session.writer

        def clock() -> float:
            return time.monotonic() - run.started_at

        def on_sample(sample: Any) -> None:
            tracker.on_sample(sample, run.checker, now=clock())
            write = getattr(writer, "write_sample", None)
            if write is not None:
                write(sample)

        run.started_at = time.monotonic()
        monitor = HealthMonitor.from_config(
            self.config.health, clock=clock, history=tracker.history, on_sample=on_sample
        )
        async with monitor:
            await run_live_into(
                run, spec, grace=self.config.grace, stop=self._stop_live, keep_start=True
            )

    @work(exclusive=False, group="demo")
    async def _demo_worker(self) -> None:
        """The mock backend and the engine, in-process, for as long as the app runs."""
        from ..engine.serve import mock_engine

        self._demo_stop = asyncio.Event()
        async with mock_engine(delay=self.config.demo_delay) as base_url:
            self._demo_base = base_url
            self._demo_session(self.config.demo_scenario, self.config.demo_faults)
            await self._demo_stop.wait()

    @work(exclusive=False, group="engine")
    async def _engine_worker(self) -> None:
        """The translating engine in-process in front of a real chat server (--via-engine)."""
        from ..engine.app import SESSION_HEADER, EngineConfig
        from ..engine.serve import serve

        self._demo_stop = asyncio.Event()
        config = EngineConfig(
            upstream=self.config.via_engine, api_key=self.config.upstream_api_key, tap=self._tap
        )
        try:
            async with serve(config) as running:
                spec = self.config.spec
                assert spec is not None
                spec.url = running.responses_url
                spec.headers[SESSION_HEADER] = "1"
                self.start_live()
                await self._demo_stop.wait()
        except OSError as exc:
            self.notify(f"the engine could not start: {exc}", severity="error", timeout=10)

    def _tap(self, key: str, chunk: bytes | None) -> None:
        """An upstream chat chunk for the session ``key`` (its position, from 1)."""
        if chunk is None or not key.isdigit() or not 0 < int(key) <= len(self.runs):
            return
        run = self.runs[int(key) - 1]
        run.upstream.append((time.monotonic() - run.started_at, chunk))

    def action_raw_metrics(self) -> None:
        run = self.current_run
        sample = run.health.history.latest("server") if run is not None and run.health else None
        if sample is None:
            self.notify("m shows the server's raw /metrics (connect --server)", timeout=2)
            return
        text = (
            sample.raw_text or "(no /metrics text in this sample: a capture keeps only the numbers)"
        )
        self.push_screen(
            TextScreen(f"{sample.url}/metrics ({sample.kind}) at t={sample.t:.2f}s", text)
        )

    def action_upstream(self) -> None:
        """Show the raw upstream chat chunks beside the translated events (or hide them)."""
        run = self.current_run
        if not isinstance(self.screen, DebuggerScreen):
            return
        pane = self.screen.query_one(UpstreamPane)
        if run is None or (not run.upstream and not pane.display):
            self.notify(
                "u shows the upstream chat chunks beside the translated stream "
                "(connect --via-engine, proxy --translate)",
                timeout=3,
            )
            return
        pane.display = not pane.display
        if pane.display:
            pane.show(run)

    def _demo_session(self, scenario: str, faults: tuple[str, ...]) -> None:
        from ..core.live import build_request

        model = "mock-" + scenario + "".join(f"+{f}" for f in faults)
        self.config.spec = build_request(
            self._demo_base, model=model, input_text=DEMO_PROMPTS.get(scenario, "Say hello.")
        )
        self.start_live()

    def action_demo_pick(self) -> None:
        if self.config.mode != "demo":
            self.notify("d picks a scenario or fault in `ssescope demo`", timeout=2)
            return

        def chosen(choice: tuple[str, str | None] | None) -> None:
            if choice is None:
                return
            kind, name = choice
            if kind == "scenario" and name:
                self._demo_session(name, ())
            elif name:
                self._demo_session(_scenario_for_fault(name), (name,))

        self.push_screen(DemoPicker(), chosen)

    def load(self) -> None:
        try:
            self.loader = FileLoader(
                self.config.path or "",
                self.options,
                on_run=lambda run: self.add_run(run, select=not self.runs),
            )
        except SourceError as exc:
            self.notify(str(exc), title="cannot open", severity="error", timeout=10)
            return
        self._load_worker(self.loader)

    @work(exclusive=True, group="load")
    async def _load_worker(self, loader: FileLoader) -> None:
        """Index the file in time slices between key presses and redraws; quitting cancels it."""
        await loader.index(self._cancel.is_set)

    def start_replay(self) -> None:
        assert self.config.path is not None
        try:
            self.replay = Replay(self.config.path, self.options)
        except SourceError as exc:
            self.notify(str(exc), title="cannot replay", severity="error")
            return
        self.add_run(self.replay.run)
        self.replay.playing = True

    # -- timers -------------------------------------------------------------------------------

    def _tick(self) -> None:
        now = time.monotonic()
        dt, self._last_tick = now - self._last_tick, now
        if self.replay is not None and self.replay.playing:
            self.replay.advance(dt)
        for run in self.runs:
            if run.info.kind == "live" and run.state in ("waiting", "streaming"):
                run.tick()
        self._refresh_views(force=True)

    def _refresh_views(self, force: bool = False) -> None:
        try:
            screen = self.screen
        except ScreenStackError:  # a timer that fires while the app is shutting down
            return
        if not self._screen_ready or not isinstance(screen, DebuggerScreen):
            return
        try:
            self._redraw(screen, force)
        except NoMatches:  # a timer that fires while the app is shutting down
            return

    def _redraw(self, screen: DebuggerScreen, force: bool) -> None:
        """Batch the views' updates: rows, tree and findings on their own throttles."""
        run = self.current_run
        events = screen.query_one(EventList)
        events.sync(final=run is not None and run.state in ("done", "failed"))
        upstream = screen.query_one(UpstreamPane)
        if upstream.display and run is not None:
            upstream.show(run)
        now = time.monotonic()
        if run is not None and (force or now - self._last_tree > 0.25):
            self._last_tree = now
            screen.query_one(ItemTree).sync(run)
        if run is not None and (force or now - self._last_findings > 0.5):
            self._last_findings = now
            screen.query_one(FindingsPanel).sync(run.store)
        screen.query_one(StallBar).show(
            run, self.options.stall_warn, self.options.codex_idle_timeout
        )
        _update(screen.query_one("#header", Static), self._header(run))
        _update(screen.query_one("#diagnosis", Static), render.diagnosis_line(run))
        screen.query_one(HealthPanel).show(run)
        _update(
            screen.query_one("#codex", Static),
            render.prediction_text(run.prediction()) if run else Text(),
        )
        if run is not None and events.cursor != self._selected_row and len(run.store):
            self._show_row(events.cursor)

    def _header(self, run: Run | None) -> Text:
        text = Text("ssescope ", "bold")
        if run is None:
            text.append(
                self.config.path or (self.config.spec.url if self.config.spec else ""), "dim"
            )
            text.append("  loading…" if self.config.mode == "open" else "  connecting…", "dim")
            return text
        text.append(run.info.label)
        status = run.http_status
        state = run.state if status is None else f"HTTP {status} · {run.state}"
        text.append(
            f"  {state}",
            "bold red" if run.state == "failed" or (status and status >= 400) else "dim",
        )
        store = run.store
        counts = run.checker.log
        text.append(f"  {len(store):,} rows  ", "dim")
        text.append(f"✗{counts.count('error')} ", "red")
        text.append(f"!{counts.count('warning')} ", "yellow")
        text.append(f"profile {self.options.profile}", "magenta")
        if len(self.runs) > 1:
            text.append(f"  session {self.current + 1}/{len(self.runs)}", "bold")
        if self.replay is not None and run is self.replay.run:
            text.append(
                f"  replay {'▶' if self.replay.playing else '⏸'} ×{self.replay.speed:g} "
                f"t={self.replay.clock:.2f}s",
                "cyan",
            )
        if run.error:
            text.append(f"\n{run.error}", "bold red")
        elif run.info.warnings:
            text.append(f"\nwarning: {'; '.join(run.info.warnings)}", "yellow")
        elif run.info.record_path:
            text.append(f"\nrecording to {run.info.record_path}", "dim")
        return text

    def _show_row(self, row: int) -> None:
        run = self.current_run
        if run is None or not isinstance(self.screen, DebuggerScreen):
            return
        self._selected_row = row
        self.screen.query_one(DetailPane).show(run.store, row)

    # -- messages -----------------------------------------------------------------------------

    @on(EventList.RowSelected)
    def _row_selected(self, message: EventList.RowSelected) -> None:
        if message.row != self._selected_row:
            self._show_row(message.row)

    @on(FindingsPanel.JumpTo)
    def _jump(self, message: FindingsPanel.JumpTo) -> None:
        run = self.current_run
        if run is None or not isinstance(self.screen, DebuggerScreen):
            return
        events = self.screen.query_one(EventList)
        row = message.row if message.row is not None else len(run.store) - 1
        events.go_to(row)
        events.focus()

    @on(ItemTree.ItemChosen)
    def _item_chosen(self, message: ItemTree.ItemChosen) -> None:
        run = self.current_run
        if run is None or not isinstance(self.screen, DebuggerScreen):
            return
        rows = run.store.rows_of_item(message.position)
        events = self.screen.query_one(EventList)
        events.highlight = set(rows)
        if rows:
            events.go_to(rows[0])
        events.refresh()

    # -- actions ------------------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def _events(self) -> EventList | None:
        return self.screen.query_one(EventList) if isinstance(self.screen, DebuggerScreen) else None

    def action_follow(self) -> None:
        events = self._events()
        if events is not None:
            events.action_to_end()

    def _finding_step(self, step: int) -> None:
        run, events = self.current_run, self._events()
        if run is None or events is None:
            return
        row = run.store.next_marked(events.cursor, step)
        if row is None:
            self.notify("no more findings in that direction", timeout=2)
            return
        events.go_to(row)

    def action_next_finding(self) -> None:
        self._finding_step(1)

    def action_previous_finding(self) -> None:
        self._finding_step(-1)

    def action_switch_profile(self) -> None:
        profile = PROFILES[(PROFILES.index(self.options.profile) + 1) % len(PROFILES)]
        self.options = CheckOptions(**{**self.options.__dict__, "profile": profile})
        self.notify(f"profile {profile}: re-judging", timeout=2)
        self._rejudge()

    def _rejudge(self) -> None:
        """Judge every session again under the new profile, from what was received (no re-run):
        in place, so a session that is still streaming goes on under the new profile."""
        if all(run.chunks is not None for run in self.runs):
            for run in self.runs:
                run.rejudge(self.options)
            self.select_run(self.current)
        elif self.config.mode == "open" and self.config.path:
            # Big files do not keep their chunks in memory: load the file again.
            self.runs = []
            self.current = -1
            self.replay = None
            if self.config.replay:
                self.start_replay()
            else:
                self.load()

    def action_resend(self) -> None:
        if self.config.mode not in ("connect", "demo"):
            self.notify("r re-sends a live request (ssescope connect)", timeout=2)
            return
        if self.config.via_engine is not None and self.config.spec is not None:
            from ..engine.app import SESSION_HEADER

            self.config.spec.headers[SESSION_HEADER] = str(len(self.runs) + 1)
        self.start_live()

    def action_session(self, step: int) -> None:
        if self.runs:
            self.select_run((self.current + step) % len(self.runs))

    def action_play_pause(self) -> None:
        if self.replay is None:
            if self.config.mode != "open":
                return
            self.runs, self.current = [], -1
            self.start_replay()
            return
        self.replay.playing = not self.replay.playing

    def action_speed(self, factor: float) -> None:
        if self.replay is not None:
            self.replay.speed = min(64.0, max(1 / 16, self.replay.speed * factor))

    def action_step(self) -> None:
        if self.replay is None and self.config.mode == "open":
            self.runs, self.current = [], -1
            self.start_replay()
            assert self.replay is not None
            self.replay.playing = False
        if self.replay is not None:
            self.replay.playing = False
            self.replay.step()
            self._refresh_views(force=True)

    def action_export(self) -> None:
        run = self.current_run
        if run is None:
            return
        paths = export_run(run, self.config.export_dir)
        self.notify("\n".join(str(p) for p in paths), title="exported", timeout=6)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Follow the tail", "Jump to the newest event and keep following", self.action_follow
        )
        yield SystemCommand(
            "Next finding", "Move to the next row with a finding", self.action_next_finding
        )
        yield SystemCommand(
            "Previous finding",
            "Move to the previous row with a finding",
            self.action_previous_finding,
        )
        yield SystemCommand(
            "Switch profile",
            "openai → open-responses → codex, and re-judge",
            self.action_switch_profile,
        )
        yield SystemCommand(
            "Resend request", "Send the same request again as a new session", self.action_resend
        )
        yield SystemCommand(
            "Previous session", "Show the previous session", lambda: self.action_session(-1)
        )
        yield SystemCommand("Next session", "Show the next session", lambda: self.action_session(1))
        yield SystemCommand(
            "Replay: play/pause", "Replay with the original timing", self.action_play_pause
        )
        yield SystemCommand("Replay: step", "Replay the next event", self.action_step)
        yield SystemCommand(
            "Replay: faster", "Double the replay speed", lambda: self.action_speed(2)
        )
        yield SystemCommand(
            "Replay: slower", "Halve the replay speed", lambda: self.action_speed(0.5)
        )
        yield SystemCommand(
            "Export",
            "Write the reconstructed response (JSON) and a findings report (Markdown)",
            self.action_export,
        )
        yield SystemCommand("Help", "Keys and what the stall clocks mean", self.action_help)
        if self.config.mode == "demo":
            yield SystemCommand(
                "Demo: pick a scenario or fault",
                "Start a new session against the mock",
                self.action_demo_pick,
            )

    async def action_quit(self) -> None:
        self._cancel.set()
        self._stop_live.set()
        demo_stop = getattr(self, "_demo_stop", None)
        if demo_stop is not None:
            demo_stop.set()
        self.exit()


def _scenario_for_fault(fault: str) -> str:
    """A scenario on which ``fault`` shows (a tool fault needs a tool call, …)."""
    if (
        "call" in fault
        or "arguments" in fault
        or fault in ("args-before-name", "empty-id-continuation", "one-chunk-call")
    ):
        return "parallel" if fault == "interleaved-calls" else "tool"
    if fault == "incomplete-in-completed":
        return "length"
    return "text"


def _update(widget: Static, text: Text) -> None:
    """Update a Static only when its text changed: every update re-lays-out the screen."""
    key = (text.plain, tuple((s.start, s.end, str(s.style)) for s in text.spans), str(text.style))
    if getattr(widget, "_ssescope_key", None) != key:
        widget._ssescope_key = key  # type: ignore[attr-defined]
        widget.update(text)


def _numbered(path: str, n: int) -> str:
    p = Path(path)
    return str(p.with_name(f"{p.stem}-{n}{p.suffix}"))


def dump_state(app: SseScopeApp) -> dict[str, Any]:
    """A compact view of the app's state, for tests and debugging."""
    run = app.current_run
    return {
        "runs": len(app.runs),
        "rows": len(run.store) if run else 0,
        "profile": app.options.profile,
        "rules": sorted(run.store.rule_counts) if run else [],
        "state": run.state if run else None,
        "codex": json.loads(json.dumps(run.prediction().to_dict())) if run else None,
    }
