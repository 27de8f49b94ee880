"""`ssescope proxy` in the terminal: a live flow list of exchanges, each one opening the same
debugger view as `connect` (live while it streams).

The proxy runs inside the app's own event loop (:func:`ssescope.proxy.serve.serve_proxy`), so the
hub is read between two proxy steps and never needs a lock.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ..proxy.config import ProxyConfig
from ..proxy.hub import Exchange, ExchangeHub
from . import render
from .app import AppConfig, DebuggerScreen, SseScopeApp
from .widgets import HealthPanel

COLUMNS = ("#", "time", "method", "path", "status", "duration", "events", "findings", "Codex")


def exchange_cells(ex: Exchange) -> tuple[Text, ...]:
    """One row of the flow list (pure: tested without a screen)."""
    status = Text(str(ex.status or "…"), "bold red" if (ex.status or 0) >= 400 else "")
    counts = ex.finding_counts
    summary = ex.findings_summary
    style = (
        "bold red"
        if counts["errors"]
        else "yellow"
        if counts["warnings"]
        else "green"
        if ex.run
        else "dim"
    )
    prediction = ex.prediction
    codex = Text("-", "dim")
    if prediction is not None:
        codex = Text(prediction.outcome, render.OUTCOME_STYLE.get(prediction.outcome, ""))
        codex.append(f" {prediction.message[:60]}", "dim")
    state = "" if not ex.open else " ▶"
    return (
        Text(str(ex.id), "dim"),
        Text(ex.start_time),
        Text(ex.method),
        Text(ex.path[:48] + state),
        status,
        Text(render.secs(ex.duration)),
        Text(str(ex.events) if ex.run else "-"),
        Text(summary[:60], style),
        codex,
    )


class ExchangesScreen(Screen[None]):
    """mitmproxy's flow list, for LLM streams: one row per exchange, live."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "open_exchange", "Open", show=True)]

    def compose(self) -> ComposeResult:
        yield Static(id="proxy-header")
        yield HealthPanel(id="proxy-health")
        yield DataTable(id="exchanges", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)

    def action_open_exchange(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self.app.open_exchange(int(key))  # type: ignore[attr-defined]

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.app.open_exchange(int(event.row_key.value))  # type: ignore[attr-defined]


class ProxyApp(SseScopeApp):
    """The debugger app in proxy mode: the flow list first, an exchange's debugger on Enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Exchanges"),
    ]

    def __init__(self, proxy: ProxyConfig, hub: ExchangeHub | None = None) -> None:
        super().__init__(AppConfig(proxy.options, "proxy"))
        self.proxy = proxy
        self.hub = hub if hub is not None else ExchangeHub(keep=proxy.keep_exchanges)
        self.url: str | None = None
        self._rows: dict[int, tuple[Any, ...]] = {}
        self._proxy_stop = asyncio.Event()
        self._exchange_runs: dict[int, int] = {}

    def on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # Textual would also run the base app's on_mount (connect/open)
        self.push_screen(ExchangesScreen())
        self.set_interval(1 / 20, self._refresh_views)
        self.set_interval(0.25, self._tick)
        self.set_interval(0.25, self._refresh_exchanges)
        self.call_after_refresh(self._start_proxy)

    def _start_proxy(self) -> None:
        self._screen_ready = True
        self._proxy_worker()
        if self.proxy.health is not None:
            self._health_worker()

    @work(exclusive=True, group="proxy-health")
    async def _health_worker(self) -> None:
        """Server and GPU readings for the flow list, on the proxy's own clock."""
        import time

        from ..health.monitor import HealthMonitor

        start = time.monotonic()
        self.health_monitor = HealthMonitor.from_config(
            self.proxy.health, clock=lambda: time.monotonic() - start
        )
        async with self.health_monitor:
            await self._proxy_stop.wait()

    @work(exclusive=True, group="proxy")
    async def _proxy_worker(self) -> None:
        from ..proxy.serve import serve_proxy

        try:
            async with serve_proxy(self.proxy, self.hub) as url:
                self.url = url
                self._refresh_exchanges()
                await self._proxy_stop.wait()
        except OSError as exc:
            self.notify(
                f"cannot listen on {self.proxy.host}:{self.proxy.port}: {exc}",
                severity="error",
                timeout=15,
            )

    def _refresh_exchanges(self) -> None:
        screen = self.screen_stack[1] if len(self.screen_stack) > 1 else None
        if not isinstance(screen, ExchangesScreen):
            return
        header = Text("ssescope proxy ", "bold")
        header.append(f"{self.url or 'starting…'} → {self.proxy.upstream}")
        if self.proxy.translate:
            header.append("  (translating Chat Completions)", "magenta")
        header.append(f"  {len(self.hub)} exchange(s)  profile {self.options.profile}", "dim")
        if self.proxy.record_dir:
            header.append(f"\nrecording to {self.proxy.record_dir}", "dim")
        screen.query_one("#proxy-header", Static).update(header)
        monitor = getattr(self, "health_monitor", None)
        screen.query_one(HealthPanel).show_history(monitor.history if monitor is not None else None)
        table = screen.query_one(DataTable)
        for ex in self.hub.snapshot():
            cells = exchange_cells(ex)
            key = str(ex.id)
            if ex.id not in self._rows:
                table.add_row(*cells, key=key)
            elif self._rows[ex.id] != tuple(c.plain for c in cells):
                for name, cell in zip(COLUMNS, cells, strict=True):
                    table.update_cell(key, name, cell)
            self._rows[ex.id] = tuple(c.plain for c in cells)

    def open_exchange(self, exchange_id: int) -> None:
        ex = self.hub.get(exchange_id)
        if ex is None:
            return
        if ex.run is None:
            self.notify(
                f"#{ex.id} {ex.method} {ex.path}: not a Responses stream (recorded, not judged)"
                + (f"\n{ex.record_path}" if ex.record_path else ""),
                timeout=5,
            )
            return
        if exchange_id not in self._exchange_runs:
            ex.run.info.label = f"#{ex.id} {ex.method} {ex.path}"
            self.runs.append(ex.run)
            self._exchange_runs[exchange_id] = len(self.runs) - 1
        index = self._exchange_runs[exchange_id]
        if not isinstance(self.screen, DebuggerScreen):
            self.push_screen(DebuggerScreen())
            self.call_after_refresh(self.select_run, index)
        else:
            self.select_run(index)

    def action_back(self) -> None:
        if isinstance(self.screen, DebuggerScreen):
            self.pop_screen()
            self._refresh_exchanges()

    def _rejudge(self) -> None:
        """New exchanges are judged under the new profile; recorded ones are judged again."""
        self.proxy.options = self.options
        for ex in self.hub.snapshot():
            if ex.run is not None and ex.run.chunks is not None:
                ex.run.rejudge(self.options)
        if isinstance(self.screen, DebuggerScreen):
            self.select_run(self.current)
        self._rows.clear()  # redraw every row's findings and prediction

    async def action_quit(self) -> None:
        self._proxy_stop.set()
        await super().action_quit()


def run_proxy_tui(config: ProxyConfig) -> int:
    ProxyApp(config).run()
    return 0
