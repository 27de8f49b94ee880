"""The debugger's screens. Each owns its widgets: the app tells a screen what changed (a message,
or a call of its public methods) and the screen decides how its widgets show it."""

from __future__ import annotations

import time
from typing import ClassVar, Protocol

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.events import Resize
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Log, Static

from ..core.run import Replay, Run
from . import render
from .sessions import Sessions
from .widgets import (
    DetailPane,
    EventList,
    FindingsPanel,
    HealthPanel,
    ItemTree,
    StallBar,
    UpstreamPane,
)

STALL_NOTE = (
    "[dim]The stall clocks count [b]since the last byte[/b] (comments included), [b]since the "
    "last event[/b] (what Codex's idle timer sees: comments never reset it) and [b]since the last "
    "real event[/b] (keepalives excluded). They turn amber past --stall-warn and red past "
    "Codex's idle timeout.[/dim]"
)

DIAGNOSIS_LINES = 2
"""The diagnosis gets at most this many lines (ssescope.tcss), however narrow the terminal."""
DIAGNOSIS_WRAP_SLACK = 12
"""Columns lost to word wrapping at the end of the first line, at most, in practice."""

REDRAW_EVERY = 1 / 20
"""Rows and clocks are redrawn on a timer, so a delta storm costs a few redraws a second."""
FORCE_EVERY = 0.25
TREE_EVERY = 0.25
FINDINGS_EVERY = 0.5
LOADING_EVERY = 1.0
"""While a file is indexed nothing is live: the header, clocks, tree and findings are redrawn
once a second (each redraw re-lays-out the screen: time the indexing would lose); the rows
grow on their own throttle."""


WIDE_FROM = 120
"""Terminals at least this wide show the tree and findings beside the events, narrower ones
under them: the event list keeps the full width for its columns."""


class SessionSource(Protocol):
    """What the debugger screen reads from the mode it shows (the header's first words, the
    replay clock)."""

    @property
    def replay(self) -> Replay | None: ...

    def waiting(self) -> str: ...

    def note(self, run: Run) -> str: ...


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
    """The keys of the current mode (generated from the action table) and the stall clocks, in
    a compact table that fits a 100x30 terminal; its title says how to scroll and close."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(
        self, markdown: str, *, title: str = "", rows: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__()
        self.markdown = markdown
        """The same help as text (what the command palette and the tests read)."""
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(
                f"{self.title_text} · ↑ ↓ PgUp PgDn scroll · Esc, q or ? closes",
                id="help-title",
            )
            with VerticalScroll(id="help-body"):
                if self.rows is None:
                    # Here, not at the top: markdown-it is 20 ms of every start-up otherwise
                    from textual.widgets import Markdown

                    yield Markdown(self.markdown)
                else:
                    yield Static(self._table(self.rows))
                    yield Static(Text.from_markup(STALL_NOTE), id="help-clocks")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    @staticmethod
    def _table(rows: list[tuple[str, str]]) -> Table:
        table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
        table.add_column("key", style="bold cyan", max_width=22)
        table.add_column("action", ratio=1)
        for keys, what in rows:
            table.add_row(keys, what)
        return table


class DebuggerScreen(Screen[None]):
    """The main screen: events and detail on the left, tree and findings on the right.

    It draws the selected session of ``sessions`` on its own timers and answers its widgets'
    messages (a row selected, a finding or an item chosen) itself."""

    class ShowRun(Message):
        """Show the selected session from scratch (another session, or the same one re-judged)."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, DebuggerScreen.ShowRun)  # two in a row draw once

    class Shown(Message):
        """The screen has drawn a session from scratch (for the app: a file's indexing waits
        for the first one, see :meth:`ssescope.core.run.FileLoader.index`)."""

    def __init__(self, sessions: Sessions, source: SessionSource) -> None:
        super().__init__()
        self.sessions = sessions
        self.source = source
        # Below WIDE_FROM columns the tree and findings go under the events; under 30 rows
        # they get fewer lines (ssescope.tcss).
        self.HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE_FROM, "-wide")]
        self.VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
        self._last_tree = 0.0
        self._last_findings = 0.0
        self._last_full = 0.0
        self._selected_row = -1

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

    def on_resize(self, event: Resize) -> None:
        footer = self.query_one(Footer)
        footer.compact = event.size.width < WIDE_FROM  # more keys fit
        # Under 90 columns the mode's keys take the room of the palette's hint (? lists Ctrl+P).
        footer.show_command_palette = event.size.width >= 90

    def on_mount(self) -> None:
        self.set_interval(REDRAW_EVERY, self._on_timer)
        self.set_interval(FORCE_EVERY, self._on_force_timer)
        self.post_message(self.ShowRun())

    # -- drawing --------------------------------------------------------------------------------

    def on_debugger_screen_show_run(self, _: ShowRun) -> None:
        run = self.sessions.current_run
        if run is None:
            return
        events = self.query_one(EventList)
        events.following = run.info.kind != "file"  # live and replay follow the tail
        events.set_store(run.store, run.options.stall_warn, timed=run.options.timed)
        self.query_one(ItemTree).sync(run)
        self.query_one(FindingsPanel).sync(run.store, force=True)
        self.query_one(DetailPane).clear()
        self._selected_row = -1
        self.redraw(force=True)
        self.call_after_refresh(self.post_message, self.Shown())

    def _on_timer(self) -> None:
        if _finished(self.sessions.current_run):
            return  # nothing arrives any more: the force timer (4 a second) draws what changes
        self._safe_redraw(force=False)

    def _on_force_timer(self) -> None:
        self._safe_redraw(force=True)

    def _safe_redraw(self, *, force: bool) -> None:
        try:
            if self._loading_throttled():
                self.query_one(EventList).sync()
                return
            self._last_full = time.monotonic()
            self.redraw(force=force)
        except NoMatches:  # a timer that fires while the app is shutting down
            return

    def _loading_throttled(self) -> bool:
        """A file is being indexed and the screen was fully redrawn less than LOADING_EVERY ago."""
        return _indexing(self.sessions.current_run) and (
            time.monotonic() - self._last_full < LOADING_EVERY
        )

    def redraw(self, *, force: bool = False) -> None:
        """Batch the views' updates: rows, tree and findings on their own throttles."""
        run = self.sessions.current_run
        events = self.query_one(EventList)
        events.sync(final=run is not None and run.state in ("done", "failed"))
        upstream = self.query_one(UpstreamPane)
        if upstream.display and run is not None:
            upstream.show(run)
        if run is not None:
            self._sync_structure(run, force)
        options = self.sessions.options
        self.query_one(StallBar).show(run, options.stall_warn, options.codex_idle_timeout)
        self._draw_texts(run)
        self.query_one(HealthPanel).show(run)
        if run is not None and events.cursor != self._selected_row and len(run.store):
            self.show_row(events.cursor)

    def _sync_structure(self, run: Run, force: bool) -> None:
        """The item tree and the findings, each at most a few times a second."""
        now = time.monotonic()
        if force or now - self._last_tree > TREE_EVERY:
            self._last_tree = now
            self.query_one(ItemTree).sync(run)
        if force or now - self._last_findings > FINDINGS_EVERY:
            self._last_findings = now
            self.query_one(FindingsPanel).sync(run.store)

    def _draw_texts(self, run: Run | None) -> None:
        sessions = self.sessions
        head = render.header(
            run,
            waiting=self.source.waiting(),
            profile=sessions.options.profile,
            session=(sessions.current, len(sessions.runs)),
            replay=self.source.replay,
            note=self.source.note(run) if run is not None else "",
            width=self.size.width - 2,
        )
        _update(self.query_one("#header", Static), head, fitted=True)
        diagnosis = self.query_one("#diagnosis", Static)
        # A file's stall is judged once it is indexed (its end is not known before), and the
        # first screen does not wait for the diagnosis tables to load (30 ms).
        line = Text() if _indexing(run) else render.diagnosis_line(run)
        room = DIAGNOSIS_LINES * (self.size.width - 2) - DIAGNOSIS_WRAP_SLACK
        if len(line.plain) > room > 0:
            line.truncate(room, overflow="ellipsis")  # its two lines end in "…", not mid-word
        if diagnosis.display != bool(line.plain):
            diagnosis.display = bool(line.plain)  # no blank line while nothing is stalled
        _update(diagnosis, line)
        codex = (
            render.prediction_line(run.prediction(), run.client_predictions(), self.size.width - 2)
            if run
            else Text()
        )
        _update(self.query_one("#codex", Static), codex, fitted=True)

    def show_row(self, row: int) -> None:
        run = self.sessions.current_run
        if run is None:
            return
        self._selected_row = row
        self.query_one(DetailPane).show(run.store, row, timed=run.options.timed)

    # -- what the app asks of it ----------------------------------------------------------------

    def follow(self) -> None:
        self.query_one(EventList).action_to_end()

    def step_finding(self, step: int) -> bool:
        """Move to the next (1) or previous (-1) row with a finding; False when there is none."""
        run = self.sessions.current_run
        if run is None:
            return True
        events = self.query_one(EventList)
        row = run.store.next_marked(events.cursor, step)
        if row is None:
            return False
        events.go_to(row)
        return True

    def toggle_upstream(self) -> bool:
        """Show the upstream chat chunks beside the events, or hide them; False: none to show."""
        run = self.sessions.current_run
        pane = self.query_one(UpstreamPane)
        if run is None or (not run.upstream and not pane.display):
            return False
        pane.display = not pane.display
        self.set_class(pane.display, "-upstream")  # a short terminal gives it the detail's room
        if pane.display:
            pane.show(run)
        return True

    # -- what its widgets say -------------------------------------------------------------------

    @on(EventList.RowSelected)
    def _row_selected(self, message: EventList.RowSelected) -> None:
        if message.row != self._selected_row:
            self.show_row(message.row)

    @on(FindingsPanel.JumpTo)
    def _jump(self, message: FindingsPanel.JumpTo) -> None:
        run = self.sessions.current_run
        if run is None:
            return
        events = self.query_one(EventList)
        row = message.row if message.row is not None else len(run.store) - 1
        events.go_to(row)
        events.focus()

    @on(ItemTree.ItemChosen)
    def _item_chosen(self, message: ItemTree.ItemChosen) -> None:
        run = self.sessions.current_run
        if run is None:
            return
        rows = run.store.rows_of_item(message.position)
        events = self.query_one(EventList)
        events.highlight = set(rows)
        if rows:
            events.go_to(rows[0])
        events.refresh()


def _finished(run: Run | None) -> bool:
    """Whether ``run`` has ended: its rows, clocks and findings are final, and a redraw 20 times a
    second would only burn processor time while the screen sits open (bench_idle.py)."""
    return run is not None and run.state in ("done", "failed")


def _indexing(run: Run | None) -> bool:
    """Whether ``run`` is a file still being indexed."""
    return run is not None and run.info.kind == "file" and run.state in ("waiting", "streaming")


def _update(widget: Static, text: Text, *, fitted: bool = False) -> None:
    """Update a Static only when its text changed. ``fitted``: each of its lines is fitted to
    the width (never wraps), so its height changes only with their count, and only then is the
    screen laid out again: a layout costs a few milliseconds, and the header (its row count,
    a file's indexing progress) changes with every redraw while a stream is read."""
    key = (text.plain, tuple((s.start, s.end, str(s.style)) for s in text.spans), str(text.style))
    if getattr(widget, "_ssescope_key", None) != key:
        lines = text.plain.count("\n")
        layout = not fitted or getattr(widget, "_ssescope_lines", None) != lines
        widget._ssescope_key = key  # type: ignore[attr-defined]
        widget._ssescope_lines = lines  # type: ignore[attr-defined]
        widget.update(text, layout=layout)
