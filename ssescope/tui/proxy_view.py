"""`ssescope proxy` in the terminal: a live flow list of exchanges, each one opening the same
debugger view as `connect` (live while it streams).

The proxy runs inside the app's own event loop (:func:`ssescope.proxy.serve.serve_proxy`), so the
hub is read between two proxy steps and never needs a lock. :class:`ProxyMode` is the source of
the sessions (an exchange becomes one when it is opened); :class:`ExchangesScreen` draws the hub.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ..core.redact import redact_text
from ..proxy.config import ProxyConfig
from ..proxy.hub import Exchange, ExchangeHub
from . import render
from .actions import Offer
from .app import SseScopeApp
from .config import AppConfig
from .messages import RunAdded
from .modes import Host, Mode
from .screens import DebuggerScreen
from .widgets import HealthPanel

COLUMNS = (
    "#", "time", "method", "path", "status", "duration", "events", "findings", "Codex", "clients"
)  # fmt: skip


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
        render.client_strip(ex.client_predictions())
        if ex.run and not ex.open
        else Text("-", "dim"),
    )


REFRESH_EVERY = 0.25


class ProxyMode(Mode):
    """The recording proxy in-process; its exchanges are the sessions, opened one at a time."""

    title = "proxy"

    def __init__(self, proxy: ProxyConfig, hub: ExchangeHub, config: AppConfig, host: Host) -> None:
        super().__init__(config, host)
        offers = {Offer.EXCHANGES}
        if proxy.translate:
            offers.add(Offer.UPSTREAM)
        self.offers = frozenset(offers)
        self.proxy = proxy
        self.hub = hub
        self.url: str | None = None
        """Where the proxy listens, once it does."""
        self.health_monitor: Any = None
        """A ``ssescope.health.monitor.HealthMonitor`` when --server/--gpu are watched."""
        self._proxy_stop = asyncio.Event()

    def first_screen(self) -> Screen[None]:
        return ExchangesScreen(self)

    def shows_session(self, screen: Screen[Any]) -> bool:
        return not isinstance(screen, ExchangesScreen)

    def start(self) -> None:
        self.host.start_worker(self._proxy_worker(), group="proxy", exclusive=True)
        if self.proxy.health is not None:
            self.host.start_worker(self._health_worker(), group="proxy-health", exclusive=True)

    def stop(self) -> None:
        self._proxy_stop.set()

    async def _health_worker(self) -> None:
        """Server and GPU readings for the flow list, on the proxy's own clock."""
        from ..health.monitor import HealthMonitor

        start = time.monotonic()
        self.health_monitor = HealthMonitor.from_config(
            self.proxy.health, clock=lambda: time.monotonic() - start
        )
        async with self.health_monitor:
            await self._proxy_stop.wait()

    async def _proxy_worker(self) -> None:
        from ..proxy.serve import serve_proxy

        try:
            async with serve_proxy(self.proxy, self.hub) as url:
                self.url = url
                await self._proxy_stop.wait()
        except OSError as exc:
            self.host.notify(
                f"cannot listen on {self.proxy.host}:{self.proxy.port}: {exc}",
                severity="error",
                timeout=15,
            )

    def rejudge(self) -> None:
        """New exchanges are judged under the new profile; recorded ones are judged again."""
        self.proxy.options = self.options
        for ex in self.hub.snapshot():
            if ex.run is not None and ex.run.chunks is not None:
                ex.run.rejudge(self.options)

    def header(self) -> Text:
        """One line per fact, never wrapped (ssescope.tcss: a narrow terminal cuts the end with
        "…"): the count and profile come before the addresses, which are the longest."""
        header = Text("ssescope proxy ", "bold")
        header.append(f"{len(self.hub)} exchange(s)  profile {self.options.profile}  ", "dim")
        header.append(redact_text(f"{self.url or 'starting…'} → {self.proxy.upstream}"))
        if self.proxy.translate:
            header.append("  (translating Chat Completions)", "magenta")
        if self.proxy.record_dir:
            header.append(f"\nrecording to {self.proxy.record_dir}", "dim")
        return header


class ExchangesScreen(Screen[None]):
    """mitmproxy's flow list, for LLM streams: one row per exchange, live."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "open_exchange", "Open", show=True)]

    class Opened(Message):
        """The user asked for an exchange's debugger."""

        def __init__(self, exchange_id: int) -> None:
            super().__init__()
            self.exchange_id = exchange_id

    def __init__(self, mode: ProxyMode) -> None:
        super().__init__()
        self.mode = mode
        self._rows: dict[int, tuple[Text, ...]] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="proxy-header")
        yield HealthPanel(id="proxy-health")
        yield DataTable(id="exchanges", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        self.set_interval(REFRESH_EVERY, self.refresh_exchanges)
        self.refresh_exchanges()

    def on_screen_resume(self) -> None:
        self.refresh_exchanges()

    def refresh_exchanges(self) -> None:
        """Draw the header, the health panel and every exchange that changed."""
        self.query_one("#proxy-header", Static).update(self.mode.header())
        monitor = self.mode.health_monitor
        self.query_one(HealthPanel).show_history(monitor.history if monitor is not None else None)
        table = self.query_one(DataTable)
        for ex in self.mode.hub.snapshot():
            cells = exchange_cells(ex)
            key = str(ex.id)
            if ex.id not in self._rows:
                table.add_row(*cells, key=key)
            elif self._rows[ex.id] != cells:
                for name, cell in zip(COLUMNS, cells, strict=True):
                    table.update_cell(key, name, cell)
            self._rows[ex.id] = cells

    def action_open_exchange(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self._open(key)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._open(event.row_key.value)

    def _open(self, key: str | None) -> None:
        if key is not None:
            self.post_message(self.Opened(int(key)))


class ProxyApp(SseScopeApp):
    """The debugger app in proxy mode: the flow list first, an exchange's debugger on Enter."""

    proxy_mode: ProxyMode

    def __init__(self, proxy: ProxyConfig, hub: ExchangeHub | None = None) -> None:
        self.proxy = proxy
        self.hub = hub if hub is not None else ExchangeHub(keep=proxy.keep_exchanges)
        config = AppConfig(proxy.options, "proxy")

        def build(host: SseScopeApp) -> ProxyMode:
            self.proxy_mode = ProxyMode(proxy, self.hub, config, host)
            return self.proxy_mode

        super().__init__(config, mode=build)

    @property
    def url(self) -> str | None:
        return self.proxy_mode.url

    @property
    def health_monitor(self) -> Any:
        return self.proxy_mode.health_monitor

    @on(ExchangesScreen.Opened)
    def _opened(self, message: ExchangesScreen.Opened) -> None:
        self.open_exchange(message.exchange_id)

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
        ex.run.info.label = f"#{ex.id} {ex.method} {ex.path}"
        self.post_message(RunAdded(ex.run))
        if not isinstance(self.screen, DebuggerScreen):
            self.push_screen(DebuggerScreen(self.sessions, self.proxy_mode))

    async def action_back(self) -> None:
        """From an exchange's debugger back to the flow list."""
        if isinstance(self.screen, DebuggerScreen):
            self.pop_screen()


def run_proxy_tui(config: ProxyConfig) -> int:
    ProxyApp(config).run()
    return 0
