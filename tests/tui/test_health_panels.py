"""Health panels and the stall diagnosis in the debugger (live probes and replayed captures)."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Log

from ssescope.core.checker import CheckOptions
from ssescope.core.live import build_request
from ssescope.health.monitor import HealthConfig
from ssescope.tui.app import AppConfig, SseScopeApp, TextScreen
from ssescope.tui.widgets import HealthPanel
from tests.health import fixtures as fx
from tests.health.fake_servers import FakeServer, Route
from tests.scripted_server import Reply, ScriptedServer
from tests.test_live import EVENTS, frames
from tests.tui.conftest import open_app, wait_for

SIZE = (170, 50)


async def test_live_panels_diagnose_a_server_at_capacity_and_record_samples(tmp_path: Path) -> None:
    metrics = FakeServer(
        {
            "/health": Route(200, ""),
            "/metrics": Route(200, fx.vllm_metrics(running=8, waiting=3, kv=0.97)),
        }
    )
    stream = ScriptedServer(Reply(chunks=frames(EVENTS[:2]), hold=True))
    record = tmp_path / "stall.jsonl"
    with stream.running(), metrics.running():
        config = AppConfig(
            CheckOptions(stall_warn=0.3),
            "connect",
            spec=build_request(stream.url),
            record=str(record),
            health=HealthConfig(server=metrics.url, interval=0.1),
        )
        app = SseScopeApp(config)
        async with app.run_test(size=SIZE) as pilot:
            panel = app.screen.query_one(HealthPanel)
            await wait_for(pilot, lambda: panel.display)
            diagnosis = app.screen.query_one("#diagnosis")
            await wait_for(
                pilot, lambda: "queued, the server is at capacity" in str(diagnosis.render())
            )
            assert "3 waiting" in str(diagnosis.render())
            latest = app.current_run.health.history.latest("server")  # type: ignore[union-attr]
            assert latest is not None and latest.kind == "vllm" and latest.kv_cache_usage == 0.97
            await pilot.press("m")  # the raw /metrics, one key away
            await wait_for(pilot, lambda: isinstance(app.screen, TextScreen))
            log = app.screen.query_one(Log)
            await wait_for(
                pilot, lambda: any("vllm:num_requests_waiting" in line for line in log.lines)
            )
            await pilot.press("escape")
            await pilot.press("q")
    samples = [json.loads(line) for line in record.read_text().splitlines() if '"sample"' in line]
    assert any(s["sample"].get("waiting") == 3 for s in samples)
    # the capture replays the samples: the same panel and diagnosis when opened later
    app = open_app(str(record), stall_warn=0.3)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: app.current_run is not None and app.current_run.state == "done"
        )
        panel = app.screen.query_one(HealthPanel)
        await wait_for(pilot, lambda: panel.display)
        assert app.current_run.health is not None and len(app.current_run.health.history) == len(
            samples
        )  # type: ignore[union-attr]


async def test_no_probes_no_panel_but_a_stream_only_diagnosis() -> None:
    app = open_app("sample_streams/stall-after-created.capture.jsonl")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot, lambda: app.current_run is not None and app.current_run.state == "done"
        )
        diagnosis = app.screen.query_one("#diagnosis")
        await wait_for(pilot, lambda: "keep-alive comments" in str(diagnosis.render()))
        assert not app.screen.query_one(HealthPanel).display
