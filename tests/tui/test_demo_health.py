"""`ssescope demo` shows what the tool is for: on each stall fault the simulated server and GPU
panels and a diagnosis with its evidence; the header names what plays; the picker says what each
fault shows. The real app with Pilot, the mock, the engine and the simulated server on sockets."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Log

from ssescope.core.checker import CheckOptions
from ssescope.engine.faults import FAULTS
from ssescope.tui.app import AppConfig, DemoPicker, SseScopeApp, TextScreen
from ssescope.tui.widgets import HealthPanel
from tests.tui.conftest import wait_for

SIZE = (160, 45)


def panel_text(panel: HealthPanel) -> str:
    console = Console(width=70, record=True, file=io.StringIO())
    console.print(panel.content)
    return console.export_text()


@pytest.mark.parametrize(
    ("fault", "diagnosis", "evidence"),
    [
        ("stall", "the engine is not generating although /health says OK", "GPU 0% busy"),
        ("stall-after-created", "queued, the server is at capacity", "KV cache 97%"),
        ("keepalive-comments", "only keep-alive comments arrive", "has no request running"),
        ("slow-first-token", "the server is still prefilling", "vllm:generation_tokens_total flat"),
    ],
)
async def test_a_stall_fault_shows_the_server_and_gpu_panels_and_a_diagnosis(
    fault: str, diagnosis: str, evidence: str
) -> None:
    config = AppConfig(CheckOptions(stall_warn=0.5), "demo", demo_delay=0.0, demo_faults=(fault,))
    app = SseScopeApp(config)
    async with app.run_test(size=SIZE) as pilot:
        line = app.screen.query_one("#diagnosis")
        # the counters must be seen flat (or rising) over 2 s of samples before a rule judges
        await wait_for(
            pilot,
            lambda: diagnosis in str(line.render()) and evidence in str(line.render()),
            timeout=20,
        )
        panel = app.screen.query_one(HealthPanel)
        assert panel.display
        text = panel_text(panel)
        assert "vllm server 127.0.0.1:" in text and "running" in text
        assert "GPUs via simulated" in text and "Simulated GPU (ssescope demo)" in text
        header = str(app.screen.query_one("#header").render())
        assert f"demo: text + fault {fault}" in header
        if fault == "stall":
            await pilot.press("m")  # the simulated server's raw /metrics, one key away
            await wait_for(pilot, lambda: isinstance(app.screen, TextScreen))
            log = app.screen.query_one(Log)
            await wait_for(pilot, lambda: any("vllm:num_requests_running" in x for x in log.lines))
            await pilot.press("escape")
        await pilot.press("q")


async def open_picker(app: SseScopeApp, pilot: Pilot[None]) -> Any:
    """The demo's scenario picker (`d`), once the first run is under way."""
    await wait_for(pilot, lambda: app.current_run is not None)
    await pilot.press("d")
    await wait_for(pilot, lambda: isinstance(app.screen, DemoPicker))
    return app.screen.query_one("#picker-list")


async def test_the_picker_says_what_each_fault_shows() -> None:
    app = SseScopeApp(AppConfig(CheckOptions(), "demo", demo_delay=0.0))
    async with app.run_test(size=SIZE) as pilot:
        picker = await open_picker(app, pilot)
        prompts = {
            picker.get_option_at_index(i).id: picker.get_option_at_index(i).prompt.plain
            for i in range(picker.option_count)
        }
        for name, fault in FAULTS.items():
            assert f"→ {fault.shows}" in prompts[f"f:{name}"]
        await pilot.press("escape")
        await pilot.press("q")


async def test_a_fault_that_needs_a_partner_gets_one() -> None:
    """fake-completed rewrites a failed response: the demo pairs it with `cut`, so it shows."""
    app = SseScopeApp(AppConfig(CheckOptions(), "demo", demo_delay=0.0))
    async with app.run_test(size=SIZE) as pilot:
        picker = await open_picker(app, pilot)
        picker.highlighted = next(
            i
            for i in range(picker.option_count)
            if picker.get_option_at_index(i).id == "f:fake-completed"
        )
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                len(app.runs) == 2
                and app.current_run is not None
                and app.current_run.state == "done"
            ),
            timeout=20,
        )
        run = app.current_run
        assert run is not None and run.http_status == 200
        assert "fault cut, fake-completed" in run.info.label
        assert run.checker.tree.terminal_type == "response.completed"  # the cut, disguised
        await pilot.press("q")


async def test_at_80x24_the_panel_keeps_the_server_and_the_gpu_in_its_lines() -> None:
    """The full tables need 12 lines and the panel has 5 at 80x24: the tight form keeps the
    server's states, its load and engine steps, and the GPU, each cut to the panel's width."""
    config = AppConfig(CheckOptions(stall_warn=0.5), "demo", demo_delay=0.0, demo_faults=("stall",))
    app = SseScopeApp(config)
    async with app.run_test(size=(80, 24)) as pilot:
        line = app.screen.query_one("#diagnosis")
        await wait_for(
            pilot,
            lambda: "the engine is not generating" in str(line.render()),
            timeout=20,
        )
        panel = app.screen.query_one(HealthPanel)
        assert panel.display
        console = Console(width=panel.content_size.width, record=True, file=io.StringIO())
        console.print(panel.content)
        lines = console.export_text().rstrip("\n").split("\n")
        assert len(lines) <= panel.content_size.height
        assert lines[0].startswith("vllm ok·ok 127.0.0.1:")
        assert lines[1].startswith("run 1  wait 0  KV ")
        assert lines[2].startswith("steps +0.0/s")
        assert any(text.startswith("GPU0 0%") for text in lines)
        await pilot.press("q")
