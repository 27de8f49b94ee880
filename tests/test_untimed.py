"""Sources without arrival times (raw SSE, JSON lines) have unknown timing, not zero timing:
`check --json` says null for every time figure; a capture keeps its numbers."""

from __future__ import annotations

import json
from collections.abc import Callable

from ssescope.core.timing import Timing
from tests.support.cli import CliResult


def test_check_json_says_null_for_the_times_of_a_raw_file(cli: Callable[..., CliResult]) -> None:
    raw = json.loads(cli("check", "--json", "sample_streams/text.sse").stdout)["timing"]
    for name in ("time_to_first_byte", "time_to_created", "time_to_first_content", "duration"):
        assert raw[name] is None, name
    assert raw["longest_gap"] is None and raw["since_last_event"] is None
    assert raw["events"] == 15 and raw["bytes"] > 0  # the counts stay
    assert list(raw) == list(Timing.KEYS)
    capture = "sample_streams/stall-after-created.capture.jsonl"
    timed = json.loads(cli("check", "--json", capture).stdout)["timing"]
    assert timed["time_to_created"] == 0.0493 and timed["longest_gap"]["seconds"] == 60.0
