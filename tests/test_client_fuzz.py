"""Hostile payloads through the checker and every client model: a field of any JSON type anywhere
in any event of a real stream is findings and predictions, never an exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ssescope.core.checker import CheckOptions
from ssescope.core.session import StreamSession

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "sample_streams").glob("*.sse"))
JUNK = st.sampled_from([None, 1, -1, "x", "", [], {}, [1], {"a": 1}, True, 1.5, 10**30])


def _events(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("data: {"):
            out.append(json.loads(line[6:]))
    return out


def _mutate(value: Any, path: list[int], junk: Any) -> Any:
    """``value`` with the node that ``path`` picks (indexes into dict keys or list items)
    replaced by ``junk``."""
    if not path or not isinstance(value, dict | list) or not value:
        return junk
    keys = list(value) if isinstance(value, dict) else list(range(len(value)))
    key = keys[path[0] % len(keys)]
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[key] = _mutate(value[key], path[1:], junk)
    return copy


@settings(max_examples=150, deadline=None)
@given(
    sample=st.sampled_from(SAMPLES),
    mutations=st.lists(
        st.tuples(st.integers(0, 99), st.lists(st.integers(0, 20), max_size=4), JUNK),
        min_size=1,
        max_size=4,
    ),
)
def test_a_mutated_stream_is_judged_and_predicted(
    sample: Path, mutations: list[tuple[int, list[int], Any]]
) -> None:
    events = _events(sample)
    for index, path, junk in mutations:
        i = index % len(events)
        events[i] = _mutate(events[i], path, junk)
    data = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode()
    session = StreamSession(CheckOptions())
    session.on_response(200, {"content-type": "text/event-stream"})
    session.feed(data, 0.0)
    session.finish(0.0)
    predictions = session.checker.client_predictions()
    assert {p.outcome for p in predictions} <= {"ok", "error", "loss", "hang"}
    assert len(predictions) == 6
