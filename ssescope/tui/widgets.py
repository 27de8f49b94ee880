"""The debugger's widgets. The event list is virtualized (Line API): it draws only visible rows,
so a million rows cost nothing until someone scrolls to them."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Log, OptionList, Static, Tree
from textual.widgets.option_list import Option

from ..core.rules import RULES, report_order
from ..core.run import Run
from ..core.store import RowStore
from . import render

_MARK_STYLE = {
    0: Style(),
    1: Style(color="cyan"),
    2: Style(color="yellow"),
    3: Style(color="red", bold=True),
}
_MARK_CHAR = {0: " ", 1: "i", 2: "!", 3: "✗"}
_DIM = Style(dim=True)
_GAP_WARN = Style(color="yellow", bold=True)
_GAP_BAD = Style(color="red", bold=True)
_CURSOR = Style(reverse=True)
_HILITE = Style(bgcolor="grey23")
_TYPE = Style(color="cyan")


class QuietScrollbars(ScrollView):
    """A line-API list whose scrollbars repaint only when what they show changed.

    On every layout of the screen, Textual hands a ScrollView its region's size as its virtual
    size (textual 8.2.8, ``ScrollView._size_updated``), which differs from a scrolling list's
    own; the list then refreshes its scrollbars, and the screen repaints the box that spans
    them. With the event list and the findings panel at opposite ends of the screen, each key
    press (the detail pane's new height is a layout) repainted most of the screen a third
    time (``tests/bench/bench_keys.py``: 3 screen updates a press before, 2 after). Here the
    scrollbars are updated as before, but only when the list's size, its virtual size or its
    container's size changed since they last were."""

    _scrollbars_for: tuple[Size, Size, Size] | None = None

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        key = (size, self.virtual_size, container_size)
        if key == self._scrollbars_for and size == self._size:
            return self.container_size != container_size  # what Textual's answer would be
        self._scrollbars_for = key
        return super()._size_updated(size, virtual_size, container_size, layout)


class EventList(QuietScrollbars, can_focus=True):
    """One row per event and per comment/keep-alive frame; follows the tail while live."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="events.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="events.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="events.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="events.page_down"),
        Binding("home", "to_start", "First", show=False, id="events.first"),
        Binding("end", "to_end", "Last", show=False, id="events.last"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)  # watch_cursor paints
    following: reactive[bool] = reactive(True)

    class RowSelected(Message):
        """The cursor moved (bursts collapse into the latest one)."""

        def __init__(self, row: int) -> None:
            super().__init__()
            self.row = row

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, EventList.RowSelected)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store: RowStore | None = None
        self.stall_warn = 10.0
        self.highlight: set[int] = set()
        self._rows = 0
        self._synced_at = 0.0
        self.timed = True
        """False for a source without arrival times: no time and gap columns."""
        self._layout: render.RowLayout | None = None
        self._layout_key: tuple[Any, ...] = ()

    def set_store(self, store: RowStore | None, stall_warn: float, *, timed: bool = True) -> None:
        self.store = store
        self.stall_warn = stall_warn
        self.timed = timed
        self.highlight = set()
        self._rows = -1
        self.cursor = 0
        self.sync()

    def sync(self, *, final: bool = False) -> None:
        """Pick up rows that arrived since the last call (called on a timer: batched).
        ``final``: nothing more will arrive, so do not hold back the last rows."""
        rows = len(self.store) if self.store is not None else 0
        if rows == self._rows:
            return
        now = time.monotonic()
        if not final and not self.following and self._rows > 0 and now - self._synced_at < 1.0:
            return  # indexing in the background: grow the scrollbar once a second, not 20 times
        self._synced_at = now
        self._rows = rows
        self.virtual_size = Size(self.size.width, rows)
        if self.following and rows:
            self.cursor = rows - 1
            self.scroll_end(animate=False, immediate=True)
            # The new height may take a layout to count (the scrollbar appearing with it):
            # scroll again once it has, or the last rows stay below the bottom edge.
            self.call_after_refresh(self._keep_tail)
        self.refresh()

    def _keep_tail(self) -> None:
        if self.following and self._rows > 0:
            self.scroll_end(animate=False, immediate=True)

    # -- drawing ------------------------------------------------------------------------------

    def columns(self) -> render.RowLayout:
        """The columns for the current width and rows (recomputed only when either changes)."""
        store = self.store
        rows = self._rows if store is not None else 0
        last_t = store.t[rows - 1] if store is not None and rows > 0 else 0.0
        key = (self.size.width, len(str(rows)), len(f"{last_t:.3f}"), self.timed)
        if key != self._layout_key or self._layout is None:
            self._layout_key = key
            self._layout = render.row_layout(self.size.width, rows, last_t, timed=self.timed)
        return self._layout

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        store = self.store
        width = self.size.width
        if store is None or row >= self._rows or row < 0:
            return Strip.blank(width)
        mark = store.marks[row]
        kind = store.kind[row]
        seq = store.seq[row]
        gap = store.gap[row]
        dim = kind in (2, 4)  # comments and blank lines are dimmed
        base = _DIM if dim else Style()
        gap_style = (
            _GAP_BAD if gap > self.stall_warn else _GAP_WARN if gap > self.stall_warn / 4 else _DIM
        )
        etype = store.type_of(row) or {
            1: "[DONE]",
            2: ": comment",
            3: "(undecodable)",
            4: "(blank)",
        }.get(kind, "")
        layout = self.columns()
        segments = [Segment(_MARK_CHAR[mark], _MARK_STYLE[mark])]
        segments.append(Segment(f"{row:>{layout.index}} ", _DIM))
        if layout.seq:
            segments.append(
                Segment(f"{seq:>{layout.seq}} " if seq >= 0 else f"{'–':>{layout.seq}} ", _DIM)
            )
        if layout.t:
            segments.append(Segment(f"{store.t[row]:>{layout.t}.3f} ", base))
        if layout.gap:
            segments.append(Segment(f"+{render.secs(gap):>{layout.gap - 2}} ", gap_style))
        shown_type = render.abbreviate_type(etype, layout.type)
        segments.append(Segment(f"{shown_type:<{layout.type}} ", base + _TYPE if not dim else base))
        segments.append(Segment(store.summary(row), base))
        strip = Strip(segments)
        if row == self.cursor:
            strip = strip.apply_style(_CURSOR)
        elif row in self.highlight:
            strip = strip.apply_style(_HILITE)
        return strip.crop_extend(scroll_x, scroll_x + width, None)

    # -- cursor ---------------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        # Only the two rows the cursor left and reached change: the list repaints its other
        # lines itself when it scrolls.
        self.refresh_line(old)
        if new != old:
            self.refresh_line(new)
        if self._rows > 0:
            self.post_message(self.RowSelected(new))

    def go_to(self, row: int, *, follow: bool = False) -> None:
        if self._rows <= 0:
            return
        self.following = follow
        self.cursor = max(0, min(row, self._rows - 1))
        self.scroll_to_row(self.cursor)

    def scroll_to_row(self, row: int) -> None:
        top = self.scroll_offset.y
        height = max(1, self.size.height)
        if row < top or row >= top + height:
            self.scroll_to(y=max(0, row - height // 2), animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.go_to(self.cursor + step, follow=step > 0 and self.cursor + step >= self._rows - 1)

    def action_page(self, step: int) -> None:
        self.go_to(self.cursor + step * max(1, self.size.height - 1))

    def action_to_start(self) -> None:
        self.go_to(0)

    def action_to_end(self) -> None:
        self.go_to(self._rows - 1, follow=True)

    def on_resize(self) -> None:
        """Keep the tail (or the cursor) in view when the list changes size: the panels settle
        after the first rows arrive (a narrow terminal stacks them), and a list that follows
        must still show its last row then."""
        self.virtual_size = Size(self.size.width, max(self._rows, 0))
        if self.following and self._rows > 0:
            self.scroll_end(animate=False, immediate=True)
        elif self._rows > 0:
            self.scroll_to_row(self.cursor)

    def on_mouse_scroll_up(self) -> None:
        self.following = False  # scrolling up stops following; `f` follows again


class DetailPane(VerticalScroll):
    """The selected row: raw bytes as received, pretty JSON, and its findings with why."""

    def compose(self):
        yield Static(id="detail-head")
        yield Static(id="detail-findings")
        yield Static(id="detail-raw")
        yield Static(id="detail-json")

    def show(self, store: RowStore, row: int, *, timed: bool = True) -> None:
        if row < 0 or row >= len(store):
            return
        ev = store.event(row)
        head = render.row_header(ev, store, row, timed=timed)
        self.query_one("#detail-head", Static).update(head)
        self.query_one("#detail-findings", Static).update(
            render.finding_text(store.by_row.get(row, []))
        )
        raw = Text()
        raw.append("raw bytes", "bold underline")
        raw.append("\n")
        frame = ev.frame
        shown = frame.raw_prefix(render.RAW_LIMIT)
        raw.append_text(render.visible_bytes(shown, total=frame.nbytes))
        self.query_one("#detail-raw", Static).update(raw)
        self.query_one("#detail-json", Static).update(render.pretty_json(ev))

    def clear(self) -> None:
        for child in self.query(Static):
            child.update("")


class ItemTree(Tree[Any]):
    """The live reconstruction: items → parts → text or arguments, status per node."""

    class ItemChosen(Message):
        def __init__(self, position: int) -> None:
            super().__init__()
            self.position = position

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Text("response"), **kwargs)  # a str is parsed as markup (and loads emoji)
        self.show_root = True
        self._signature: tuple[Any, ...] = ()

    def sync(self, run: Run | None) -> None:
        if run is None:
            self.clear()
            self._signature = ()
            return
        tree = run.checker.tree
        snapshot = tree.terminal or tree.snapshot or {}
        label = Text("response ", "bold")
        label.append(str(snapshot.get("id", "(no response.created yet)"))[:40])
        label.append(f"  {snapshot.get('status', '')}", "dim")
        if self.root.label != label:
            self.root.set_label(label)
        structure = tuple(
            (n.position, len(n.parts), len(n.summary), bool(n.progress)) for n in tree.items
        )
        if structure != self._signature:
            # Items or parts were added: rebuild (rare: a handful of times per response).
            self._signature = structure
            self.root.remove_children()
            for node in tree.items:
                child = self.root.add(render.item_label(node), data=node.position, expand=True)
                for sub_label, data in render.item_children(node):
                    child.add_leaf(sub_label, data=data)
            self.root.expand()
            return
        # Same shape: refresh the labels (accumulated text, statuses) in place.
        for child, node in zip(self.root.children, tree.items, strict=False):
            item = render.item_label(node)
            if child.label != item:
                child.set_label(item)
            children = render.item_children(node)
            for leaf, (sub_label, _data) in zip(child.children, children, strict=False):
                if leaf.label != sub_label:
                    leaf.set_label(sub_label)

    def on_tree_node_selected(self, event: Tree.NodeSelected[Any]) -> None:
        data = event.node.data
        position = data if isinstance(data, int) else data[1] if isinstance(data, tuple) else None
        if position is not None:
            self.post_message(self.ItemChosen(position))


class FindingsPanel(OptionList, QuietScrollbars):
    """All findings grouped by rule; Enter jumps to the event."""

    class JumpTo(Message):
        def __init__(self, row: int | None) -> None:
            super().__init__()
            self.row = row

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._version = -1
        self._rows: dict[str, int | None] = {}

    def sync(self, store: RowStore | None, *, force: bool = False) -> None:
        if store is None:
            self.clear_options()
            self._version = -1
            return
        if store.findings_version == self._version and not force:
            return
        self._version = store.findings_version
        grouped: dict[str, list[Any]] = {}
        for f in store.findings:
            grouped.setdefault(f.rule, []).append(f)
        order = sorted(grouped, key=lambda r: report_order(r, grouped[r][0].severity))
        highlighted = self.highlighted
        self.clear_options()
        self._rows = {}
        options: list[Option] = []
        for rule_id in order:
            items = grouped[rule_id]
            sev = items[0].severity
            head = Text(
                f"{render.SEV_MARK[sev]} {rule_id} ×{store.rule_counts.get(rule_id, len(items))}",
                render.SEV_STYLE[sev],
            )
            head.append(f"  {RULES[rule_id].title}", "dim")
            options.append(Option(head, id=f"rule:{rule_id}", disabled=True))
            for i, f in enumerate(items[:200]):
                where = f"row {f.event_index}" if f.event_index is not None else "end"
                option_id = f"f:{rule_id}:{i}"
                self._rows[option_id] = f.event_index
                options.append(Option(Text(f"   {where}: ", "dim") + Text(f.message), id=option_id))
        if not options:
            options.append(Option(Text("No findings.", "green"), disabled=True))
        self.add_options(options)
        if highlighted is not None and highlighted < self.option_count:
            self.highlighted = highlighted

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id in self._rows:
            self.post_message(self.JumpTo(self._rows[option_id]))


class StallBar(Static):
    """The stall clocks, always visible; they tick while nothing arrives.

    On a narrow terminal the labels shorten (``last event`` → ``event``) before anything is
    cut, so Codex's countdown, the clock that matters most, is always there."""

    DEFAULT_CSS = "StallBar { height: 1; }"

    def show(self, run: Run | None, stall_warn: float, idle_timeout: float) -> None:
        if run is None:
            self.update("")
            return
        live = run.state in ("waiting", "streaming")
        if not run.options.timed:
            text = Text("no timing: ", "bold")
            text.append("this file recorded no arrival times (a capture has them)  │  ", "dim")
            text.append(run.state, "dim")
        else:
            width = self.size.width - 2 if self.size.width else 0
            text = self._clocks(run, stall_warn, idle_timeout, short=False)
            if width and text.cell_len > width:
                text = self._clocks(run, stall_warn, idle_timeout, short=True)
            if width and text.cell_len > width:  # 80 columns: TTFT (it does not tick) goes
                text = self._clocks(run, stall_warn, idle_timeout, short=True, ttft=False)
        now = run.now()
        timing = run.checker.timing
        worst = timing.since_last_progress(now) if live else 0.0
        self.set_class(live and worst > stall_warn, "-amber")
        self.set_class(live and timing.since_last_event(now) >= idle_timeout, "-red")
        if text.plain != getattr(self, "_last_plain", None):
            self._last_plain = text.plain
            self.update(text, layout=False)  # one line, always (DEFAULT_CSS): no layout

    @staticmethod
    def _clocks(
        run: Run, stall_warn: float, idle_timeout: float, *, short: bool, ttft: bool = True
    ) -> Text:
        now = run.now()
        timing = run.checker.timing
        since_byte = timing.since_last_byte(now) if timing.t_last_byte is not None else now
        since_event = timing.since_last_event(now)
        live = run.state in ("waiting", "streaming")
        text = Text()
        sep = " · " if short else "  │  "

        def clock(label: str, value: float | None, *, judge: bool = False) -> None:
            style = ""
            if judge and value is not None:
                style = (
                    "bold red"
                    if value >= idle_timeout
                    else "bold yellow"
                    if value > stall_warn
                    else "green"
                )
            text.append(f"{label} ", "dim")
            text.append(render.secs(value), style)
            text.append(sep, "dim")

        clock("byte" if short else "last byte", since_byte, judge=live)
        clock("event" if short else "last event", since_event, judge=live)
        clock("real" if short else "last real event", timing.since_last_progress(now), judge=live)
        if ttft:
            clock("TTFT", timing.t_first_content)
        left = run.checker.codex.seconds_until_timeout(now) if live else None
        if left is not None:
            style = "bold red" if since_event > stall_warn else "dim"
            text.append(f"Codex gives up in {int(left // 60)}:{int(left % 60):02d}", style)
        else:
            text.append(run.state, "dim")
        return text


class HealthPanel(Static):
    """The server and GPU readings next to the stream, with sparklines over the session.

    Hidden when the run has no samples (no --server/--gpu, or a capture without them)."""

    def on_mount(self) -> None:
        self.display = False
        self._seen: tuple[int, int] = (-1, -1)
        self._history: Any = None

    def on_resize(self) -> None:
        if self._history is not None:
            self.show_history(self._history)  # the height decides between full and tight

    def show(self, run: Run | None) -> None:
        tracker = run.health if run is not None else None
        self.show_history(tracker.history if tracker is not None else None)

    def show_history(self, history: Any) -> None:
        """Draw from a ``ssescope.health.samples.History`` (None: hide)."""
        count = len(history) if history is not None else 0
        # Under 120 columns the panel has a fixed height (a row under the events), which the
        # tight form fits; elsewhere its height follows its content, so the full tables stand.
        height = self.content_size.height if self.screen.has_class("-narrow") else 0
        if (count, height) == self._seen:
            return
        self._seen, self._history = (count, height), history
        self.display = count > 0
        if not count:
            return
        from ..health.render import panel

        self.update(panel(history, max_lines=height or None))


class UpstreamPane(Log):
    """The upstream chat chunks beside the translated events, appended live: each ``data:``
    line said in a few words (the text, the tool call fragment, the finish reason; see
    :func:`render.chat_line`) after the arrival time of the read that completed it. Lines that
    a read split are joined first, so a chunk cut mid-JSON still reads as one."""

    def on_mount(self) -> None:
        self.display = False
        self.border_title = "upstream chat chunks (t, what each adds)"
        self._run: Run | None = None
        self._shown = 0
        self._pending = ""

    def show(self, run: Run) -> None:
        if run is not self._run:
            self._run, self._shown, self._pending = run, 0, ""
            self.clear()
        chunks = run.upstream
        for t, chunk in chunks[self._shown :]:
            text = self._pending + chunk.decode("utf-8", errors="replace")
            *lines, self._pending = text.split("\n")
            stamp = f"{t:8.3f}"
            for line in lines:
                line = line.rstrip("\r")
                if line:
                    self.write_line(f"{stamp}  {render.chat_line(line)}")
                    stamp = " " * len(stamp)
        self._shown = len(chunks)
