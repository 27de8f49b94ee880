"""Every request the real Codex CLI 0.169.0 sends in a turn with a tool round trip is covered by
some probe case (recorded through ``ssescope proxy`` in front of the engine's mock). Skipped with
the reason when Codex is not installed (see tests/engine/test_engine_codex.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssescope.engine.app import EngineConfig
from ssescope.engine.mock import MockOptions
from ssescope.engine.serve import serve
from ssescope.probe.cases import CASES, covering, features
from tests.engine.test_engine_codex import CODEX, WHY, codex_exec, items
from tests.proxy.helpers import running_proxy

pytestmark = [pytest.mark.skipif(CODEX is None, reason=WHY), pytest.mark.slow]


async def test_every_request_codex_sends_is_covered_by_a_case(tmp_path: Path) -> None:
    async with (
        serve(EngineConfig(mock=MockOptions())) as engine,
        running_proxy(engine.base_url, tmp_path) as proxy,
    ):
        status, events, err = await codex_exec(
            proxy.url, "Run `echo ssescope-probe` and tell me what it printed.", tmp_path
        )
        assert status == 0, err
        exchanges = await proxy.ended(2)
    assert items(events, "command_execution")  # the round trip happened
    bodies = [e.request_body for e in exchanges]
    assert len(bodies) == 2 and all(isinstance(b, dict) for b in bodies)
    assert any(i.get("type") == "function_call_output" for i in bodies[1]["input"])
    for body in bodies:
        cases = covering(body)
        missing = {
            c.id: sorted(features(body) - features(c.build("probe"))) for c in CASES.values()
        }
        assert cases, (
            f"no case covers Codex's request; closest gaps: {min(missing.values(), key=len)}"
        )
    assert "codex-first-turn" in covering(bodies[0])
    assert "tool-round-trip" in covering(bodies[1])
