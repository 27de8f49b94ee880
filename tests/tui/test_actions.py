"""The action table: one declaration per key generates the bindings, the help and the palette,
and each mode shows only its own keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssescope.core.checker import CheckOptions
from ssescope.proxy.config import ProxyConfig
from ssescope.tui import actions
from ssescope.tui.actions import ACTIONS, KeymapError, Offer, help_markdown, load_keymap
from ssescope.tui.app import AppConfig, HelpScreen, SseScopeApp
from ssescope.tui.proxy_view import ProxyApp
from tests.tui.conftest import open_app, wait_for

SIZE = (160, 45)


def footer_keys(app: SseScopeApp) -> set[str]:
    return {key for key, active in app.screen.active_bindings.items() if active.binding.show}


def palette(app: SseScopeApp) -> set[str]:
    return {command.title for command in app.get_system_commands(app.screen)}


def test_every_key_is_declared_once_with_an_id() -> None:
    ids = [a.id for a in ACTIONS]
    keys = [key for a in ACTIONS for key in a.keys.split(",")]
    assert len(set(ids)) == len(ids) and len(set(keys)) == len(keys)
    assert [b.id for b in actions.bindings()] == ids
    assert actions.bindings() == SseScopeApp.BINDINGS


def test_the_help_lists_the_keys_of_the_mode_as_the_keymap_binds_them() -> None:
    text = help_markdown("open", frozenset({Offer.REPLAY}), {"follow": "F,ctrl+f"})
    assert "| `F / ctrl+f` | follow the tail again |" in text
    assert "| `space` | replay with the original timing: play / pause |" in text
    assert "| `+ / =` | replay faster (×2) |" in text
    assert "resend" not in text and "Codex's idle timer" in text


def test_keymap_file(tmp_path: Path) -> None:
    path = tmp_path / "keymap.toml"
    assert load_keymap(path) == {}  # no file: the defaults
    path.write_text('follow = "F"\nresend = "ctrl+r"\nevents.down = "s"\n')
    assert load_keymap(path) == {"follow": "F", "resend": "ctrl+r", "events.down": "s"}
    path.write_text('folow = "F"\n')
    with pytest.raises(KeymapError, match=r"unknown binding id.*folow"):
        load_keymap(path)
    path.write_text("follow = 3\n")
    with pytest.raises(KeymapError, match="follow"):
        load_keymap(path)


async def test_open_offers_replay_not_resend() -> None:
    app = open_app("sample_streams/text.sse")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.current_run is not None)
        assert {"space", "e", "q"} <= footer_keys(app) and "r" not in footer_keys(app)
        assert {"Play/pause", "Step"} <= palette(app) and "Resend" not in palette(app)
        await pilot.press("r")  # not offered here: nothing happens
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "play / pause" in app.screen.markdown and "Resend" not in app.screen.markdown
    assert len(app.runs) == 1


async def test_demo_offers_pick_and_resend_not_replay() -> None:
    app = SseScopeApp(AppConfig(CheckOptions(), "demo", demo_delay=0.0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.current_run is not None)
        assert {"d", "r"} <= footer_keys(app) and "space" not in footer_keys(app)
        assert {"Demo: pick", "Resend"} <= palette(app) and "Play/pause" not in palette(app)
        await pilot.press("q")


async def test_a_keymap_rebinds_by_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keymap = tmp_path / "keymap.toml"
    keymap.write_text('next_finding = "j"\nfollow = "F"\n')
    monkeypatch.setenv(actions.KEYMAP_ENV, str(keymap))
    app = open_app("sample_streams/text.sse")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.current_run is not None)
        bound = {key: active.binding.id for key, active in app.screen.active_bindings.items()}
        assert bound.get("F") == "follow" and "f" not in bound


async def test_the_flow_list_offers_no_session_keys() -> None:
    config = ProxyConfig(upstream="http://127.0.0.1:9/v1", port=0, options=CheckOptions())
    app = ProxyApp(config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.url is not None)
        assert footer_keys(app) == {"q", "question_mark", "p"}
        assert "Follow" not in palette(app) and "Exchanges" not in palette(app)
        await pilot.press("q")
