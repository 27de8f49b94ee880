"""`ssescope proxy` in the terminal: the live flow list, and an exchange's debugger on Enter."""

from __future__ import annotations

from pathlib import Path

import httpx
from textual.widgets import DataTable

from ssescope.core.checker import CheckOptions
from ssescope.engine.serve import mock_engine
from ssescope.proxy.config import ProxyConfig
from ssescope.tui.app import DebuggerScreen
from ssescope.tui.proxy_view import ExchangesScreen, ProxyApp, exchange_cells
from ssescope.tui.widgets import EventList, UpstreamPane
from tests.tui.conftest import wait_for


async def test_flow_list_and_exchange_debugger(tmp_path: Path) -> None:
    async with mock_engine() as upstream:
        config = ProxyConfig(
            upstream=upstream, port=0, record_dir=str(tmp_path), options=CheckOptions()
        )
        app = ProxyApp(config)
        async with app.run_test(size=(170, 45)) as pilot:
            await wait_for(pilot, lambda: app.url is not None)
            async with httpx.AsyncClient(timeout=30) as client:
                body = {"model": "mock-tool+call-id-missing", "input": "run `ls`", "stream": True}
                async with client.stream("POST", f"{app.url}/responses", json=body) as r:
                    assert r.status_code == 200
                    await r.aread()
                models = await client.get(f"{app.url}/models")
                assert models.status_code == 200
            await wait_for(pilot, lambda: len(app.hub) == 2 and not any(ex.open for ex in app.hub))
            screen = app.screen
            assert isinstance(screen, ExchangesScreen)
            table = screen.query_one(DataTable)
            await wait_for(pilot, lambda: table.row_count == 2)
            first = [c.plain for c in exchange_cells(app.hub.get(1))]  # type: ignore[arg-type]
            assert first[2:5] == ["POST", "/v1/responses", "200"] and "call-id-missing" in first[7]
            assert first[8].startswith("empty")  # Codex drops the call silently
            table.focus()
            await pilot.press("home", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DebuggerScreen))
            events = app.screen.query_one(EventList)
            await wait_for(pilot, lambda: events.store is not None and len(events.store) > 5)
            assert "call-id-missing" in app.current_run.store.rule_counts  # type: ignore[union-attr]
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ExchangesScreen))
            await pilot.press("down", "enter")  # /v1/models is recorded, not judged
            await pilot.pause()
            assert isinstance(app.screen, ExchangesScreen)
    assert len(list(tmp_path.rglob("*.jsonl"))) == 2


async def test_translate_shows_chat_chunks_beside_the_translated_events(tmp_path: Path) -> None:
    async with mock_engine() as engine:
        chat_server = engine.replace("/v1", "/mock/v1")  # speaks only Chat Completions
        config = ProxyConfig(
            upstream=chat_server, port=0, record_dir=None, translate=True, options=CheckOptions()
        )
        app = ProxyApp(config)
        async with app.run_test(size=(170, 45)) as pilot:
            await wait_for(pilot, lambda: app.url is not None)
            async with httpx.AsyncClient(timeout=30) as client:
                body = {"model": "mock-text", "input": "hi", "stream": True}
                async with client.stream("POST", f"{app.url}/responses", json=body) as r:
                    await r.aread()
            await wait_for(pilot, lambda: len(app.hub) == 1 and not app.hub.get(1).open)  # type: ignore[union-attr]
            app.open_exchange(1)
            exchange = app.hub.get(1)
            await wait_for(pilot, lambda: exchange is not None and app.current_run is exchange.run)
            await pilot.press("u")
            pane = app.screen.query_one(UpstreamPane)
            await wait_for(pilot, lambda: pane.display and pane.line_count > 3)
            shown = "\n".join(pane.lines)  # what each chunk adds, not its JSON's first bytes
            assert "text " in shown and "finish stop" in shown and "[DONE]" in shown
            assert app.current_run is not None and app.current_run.prediction().outcome == "ok"


async def test_health_panel_in_the_flow_list() -> None:
    from ssescope.health.monitor import HealthConfig
    from ssescope.tui.widgets import HealthPanel
    from tests.health import fixtures as fx
    from tests.health.fake_servers import FakeServer, Route

    metrics = FakeServer(
        {
            "/health": Route(200, ""),
            "/metrics": Route(200, fx.vllm_metrics(running=2, waiting=0, kv=0.4)),
        }
    )
    with metrics.running():
        config = ProxyConfig(
            upstream=f"{metrics.url}/v1",
            port=0,
            record_dir=None,
            options=CheckOptions(),
            health=HealthConfig(server=metrics.url, interval=0.1),
        )
        app = ProxyApp(config)
        async with app.run_test(size=(170, 45)) as pilot:
            panel = app.screen.query_one(HealthPanel)
            await wait_for(pilot, lambda: panel.display)
            latest = app.health_monitor.latest("server")
            assert latest is not None and latest.kind == "vllm" and latest.running == 2
