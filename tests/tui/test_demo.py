"""`ssescope demo`: the mock backend and the engine in-process, the TUI connected to them."""

from __future__ import annotations

from rich.text import Text

from ssescope.core.checker import CheckOptions
from ssescope.tui.app import AppConfig, DemoPicker, SseScopeApp
from tests.tui.conftest import wait_for

SIZE = (160, 45)


def done(app: SseScopeApp, count: int = 1) -> bool:
    return (
        len(app.runs) == count and app.current_run is not None and app.current_run.state == "done"
    )


async def test_demo_streams_a_clean_answer_and_picks_a_fault() -> None:
    app = SseScopeApp(AppConfig(CheckOptions(), "demo", demo_delay=0.0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app), timeout=20)
        first = app.current_run
        assert first is not None and first.prediction().outcome == "ok"
        assert not any(f.severity == "error" for f in first.store.findings)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DemoPicker))
        picker = app.screen.query_one("#picker-list")
        index = next(
            i
            for i in range(picker.option_count)
            if picker.get_option_at_index(i).id == "f:call-id-missing"
        )
        picker.highlighted = index
        await pilot.press("enter")
        await wait_for(pilot, lambda: done(app, 2), timeout=20)
        second = app.current_run
        assert second is not None and "call-id-missing" in second.store.rule_counts
        assert second.prediction().outcome == "empty"  # Codex drops the call silently


async def test_demo_with_a_fault_from_the_command_line() -> None:
    config = AppConfig(
        CheckOptions(stall_warn=0.3), "demo", demo_delay=0.0, demo_faults=("stall-after-created",)
    )
    app = SseScopeApp(config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: (
                app.current_run is not None
                and "stall-after-created" in app.current_run.store.rule_counts
            ),
            timeout=20,
        )
        await pilot.press("q")


async def test_picker_shows_fault_texts_verbatim() -> None:
    """Fault descriptions contain brackets ([DONE]); they must not be eaten as markup."""
    app = SseScopeApp(AppConfig(CheckOptions(), "demo", demo_delay=0.0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app), timeout=20)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DemoPicker))
        picker = app.screen.query_one("#picker-list")
        prompts = [picker.get_option_at_index(i).prompt for i in range(picker.option_count)]
        # a str prompt is parsed as markup ("[DONE]" would vanish); Text is shown literally
        assert all(isinstance(p, Text) for p in prompts)
        assert any("no finish_reason, no [DONE]" in p.plain for p in prompts)
