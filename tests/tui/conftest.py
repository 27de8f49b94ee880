"""Helpers for driving the real Textual app with Pilot: wait on conditions, never on sleeps."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from ssescope.core.checker import CheckOptions
from ssescope.tui.app import AppConfig, SseScopeApp


async def wait_for(pilot: Pilot, condition: Callable[[], bool], *, timeout: float = 10.0) -> None:
    """Let the app run until ``condition`` holds (bounded; fails loudly otherwise)."""
    waited = 0.0
    while not condition():
        if waited >= timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.05)
        waited += 0.05


def open_app(path: str, **options: object) -> SseScopeApp:
    return SseScopeApp(AppConfig(CheckOptions(**options), "open", path=path))  # type: ignore[arg-type]


@pytest.fixture
def loaded() -> Callable[[SseScopeApp], Callable[[], bool]]:
    def done(app: SseScopeApp) -> Callable[[], bool]:
        return lambda: (
            app.current_run is not None and app.current_run.state == "done" and not app.workers
        )

    return done
