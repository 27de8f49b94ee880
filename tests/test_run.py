"""The UI-free side of the debugger: the row store, runs loaded from files, replay, live runs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from ssescope.core.checker import CheckOptions
from ssescope.core.live import build_request
from ssescope.core.run import FileLoader, Replay, Run, RunInfo, load_file, run_live_into
from ssescope.core.store import RowStore, summarize
from tests.scripted_server import Reply, ScriptedServer
from tests.test_live import EVENTS, frames

STALL = "sample_streams/stall-after-created.capture.jsonl"


def test_store_keeps_every_row_compactly_and_decodes_on_demand() -> None:
    (run,) = load_file("sample_streams/crlf-comments.sse", CheckOptions(), on_run=lambda r: None)
    store = run.store
    kinds = {store.kind_of(r) for r in range(len(store))}
    assert kinds == {"event", "comment"}
    comment = next(r for r in range(len(store)) if store.kind_of(r) == "comment")
    assert store.summary(comment) == ": keepalive"
    assert store.raw(comment).endswith(b"\r\n\r\n")
    first = store.event(0)
    assert first.type == "response.created" and first.payload is not None
    assert b"".join(store.raw(r) for r in range(len(store))) == bytes(store.data)


def test_marks_and_next_finding() -> None:
    (run,) = load_file("sample_streams/tool-call-delta.sse", CheckOptions(), on_run=lambda r: None)
    store = run.store
    marked = [r for r in range(len(store)) if store.marks[r]]
    assert len(marked) == 3 and {store.mark_of(r) for r in marked} == {"error"}
    assert store.next_marked(-1) == marked[0]
    assert store.next_marked(marked[0]) == marked[1]
    assert store.next_marked(marked[-1]) is None
    assert store.next_marked(marked[1], -1) == marked[0]
    assert all(store.by_row[r][0].rule == "unknown-event-type" for r in marked)


def test_rows_know_their_item() -> None:
    (run,) = load_file("sample_streams/parallel-calls.sse", CheckOptions(), on_run=lambda r: None)
    store = run.store
    second = store.rows_of_item(1)
    assert second and all(
        json.loads(store.event(r).frame.data or "{}").get("output_index") == 1 for r in second
    )


def test_the_rows_facts_are_what_the_judged_events_said() -> None:
    """The store keeps the item only where it changes, a row's first-byte time only when it
    differs from its last, and decodes type and sequence number on demand: every row still
    reads back what the checker saw, for a stream fed in chunks that split its frames."""
    run = Run(CheckOptions(), RunInfo("parallel-calls", "live"))
    sink, seen = run.session.on_event, []
    tree = run.session.checker.tree

    def recording(ev: Any, findings: list[Any]) -> None:
        seq = ev.sequence_number
        item = tree.last_touched
        seen.append((ev.type or "", -1 if seq is None else seq, -1 if item is None else item))
        seen.append((ev.frame.t_first, ev.frame.t_last))
        assert sink is not None
        sink(ev, findings)

    run.session.on_event = recording
    data = Path("sample_streams/parallel-calls.sse").read_bytes()
    for i, start in enumerate(range(0, len(data), 97)):  # frames span chunks of other times
        run.feed(data[start : start + 97], 0.01 * i)
    run.finish(1.0, "eof")
    store = run.store
    facts = [(store.type_of(r), store.seq[r], store.item[r]) for r in range(len(store))]
    times = [(store.t_first[r], store.t[r]) for r in range(len(store))]
    assert facts == seen[0::2] and times == seen[1::2]
    assert list(store.item) == [item for _, _, item in seen[0::2]]
    assert len({item for _, _, item in facts}) > 2 and any(a != b for a, b in times)
    for item in {item for _, _, item in facts}:
        assert store.rows_of_item(item) == [r for r, f in enumerate(facts) if f[2] == item]


def test_the_first_screen_is_filled_for_so_long_only(tmp_path: Path) -> None:
    """A file that starts with a huge event shows the first screen with what it has: filling
    it stops at its time budget (here none: one chunk), and the rest is indexed after."""
    big = {**EVENTS[4], "delta": "x" * (4 << 20)}  # 64 blocks of the loader
    path = tmp_path / "huge-first.sse"
    path.write_bytes(b"".join(frames([*EVENTS[:4], big, *EVENTS[5:]])))
    loader = FileLoader(str(path), CheckOptions())
    assert loader.fill_first_screen(budget=0.0) is False
    assert len(loader.run.store) == 4 and loader.bytes_read < path.stat().st_size // 2
    while not loader.step(1.0):
        pass
    assert len(loader.run.store) == len(EVENTS) and loader.run.state == "done"


def test_a_file_being_indexed_is_timed_by_how_far_it_is_read(tmp_path: Path) -> None:
    """While a capture is indexed its clocks read the capture's own time, not the wall clock
    since indexing began (which ran behind it: "last byte -20045 ms")."""
    path = tmp_path / "slow.capture.jsonl"
    head = {"format": "ssescope-capture", "version": 1, "request": {"url": "x"}}
    head["response"] = {"status": 200, "headers": {"content-type": "text/event-stream"}}
    lines = [json.dumps(head)]
    for i, frame in enumerate(frames(EVENTS[:4] + [EVENTS[4]] * 300 + EVENTS[5:])):
        lines.append(json.dumps({"t": 1.0 + i, "text": frame.decode()}))
    path.write_text("\n".join(lines) + "\n")
    loader = FileLoader(str(path), CheckOptions())
    loader.fill_first_screen()
    run = loader.run
    assert run.state == "streaming" and len(run.store) >= 100
    assert run.now() == run.store.t[len(run.store) - 1] >= 100.0
    assert run.checker.timing.since_last_event(run.now()) == 0.0


def test_summaries_say_what_matters() -> None:
    (run,) = load_file("sample_streams/delta-object.sse", CheckOptions(), on_run=lambda r: None)
    texts = [summarize(run.store.event(r)) for r in range(len(run.store))]
    assert '{"text": " 42"}' in texts
    assert any(t.startswith("message msg_") for t in texts)


def test_a_file_with_several_responses_becomes_several_runs(tmp_path: Path) -> None:
    lines = [json.dumps({**e, "sequence_number": i}) for i, e in enumerate(EVENTS)]
    p = tmp_path / "two.jsonl"
    p.write_text("\n".join(lines + lines) + "\n")
    seen: list[Run] = []
    runs = load_file(str(p), CheckOptions(), on_run=seen.append)
    assert runs == seen and len(runs) == 2
    assert all(
        r.state == "done" and len(r.store) == len(EVENTS) and not r.store.rule_counts for r in runs
    )


def test_replay_reproduces_the_recorded_timing() -> None:
    replay = Replay(STALL, CheckOptions(stall_warn=10))
    replay.advance(0.06)  # created and in_progress arrived by 0.052 s
    assert len(replay.run.store) == 2 and replay.run.now() == 0.06
    replay.advance(10)
    assert len(replay.run.store) == 4  # keepalive comments at 5.052 and 10.052 s
    assert "stall-after-created" in replay.run.store.rule_counts  # judged live, at 10.06 s
    replay.step()
    assert len(replay.run.store) == 5 and replay.clock == replay.times[replay.position - 1]
    replay.speed = 100
    replay.advance(1)
    assert replay.finished and replay.run.end_t == replay.end[0]
    (loaded,) = load_file(STALL, CheckOptions(stall_warn=10), on_run=lambda r: None)
    assert replay.run.store.rule_counts == loaded.store.rule_counts


def test_live_run_in_the_callers_event_loop() -> None:
    server = ScriptedServer(Reply(chunks=frames(EVENTS), chunked=True))
    with server.running():
        run = Run(CheckOptions(), RunInfo(server.url, "live"))
        asyncio.run(run_live_into(run, build_request(server.url), grace=0.1))
    assert run.state == "done" and len(run.store) == len(EVENTS)
    assert run.chunks and b"".join(c for _, c in run.chunks) == b"".join(frames(EVENTS))
    assert run.prediction().outcome == "ok"
    frozen = run.now()
    assert run.now() == frozen  # a finished run's clock stops at its end


def test_store_caps_findings_but_marks_every_row() -> None:
    store = RowStore(keep_findings_per_rule=2)
    (run,) = load_file(
        "sample_streams/no-sequence-numbers.sse", CheckOptions(), on_run=lambda r: None
    )
    for f in run.store.findings:
        store.add_findings([f])
    assert store.rule_counts["sequence-missing"] == run.store.rule_counts["sequence-missing"] > 2
    assert sum(1 for f in store.findings if f.rule == "sequence-missing") == 2


def test_rejudge_in_place_keeps_a_live_run_going() -> None:
    """A profile switch mid-stream: what arrived is judged again, and what arrives next is judged
    under the new profile by the same run (the live reader keeps feeding it)."""
    data = frames([*EVENTS[:5], EVENTS[6]])  # a text done without its deltas' partner: fine
    fresh = Run(CheckOptions(profile="codex"), RunInfo("x", "live"))
    switched = Run(CheckOptions(profile="openai"), RunInfo("x", "live"))
    for run in (fresh, switched):
        run.on_response(200, {"content-type": "text/event-stream"})
    for i, chunk in enumerate(data[:3]):
        fresh.feed(chunk, 0.1 * i)
        switched.feed(chunk, 0.1 * i)
    store_before = switched.store
    switched.rejudge(CheckOptions(profile="codex"))
    assert switched.store is not store_before and len(switched.store) == 3
    for i, chunk in enumerate(data[3:], 3):
        fresh.feed(chunk, 0.1 * i)
        switched.feed(chunk, 0.1 * i)
    for run in (fresh, switched):
        run.finish(1.0, "eof")
    assert switched.store.rule_counts == fresh.store.rule_counts
    assert "terminal-missing" in switched.store.rule_counts  # codex: the stream never completed
    assert bytes(switched.store.data) == bytes(fresh.store.data) == b"".join(data)
    assert switched.prediction() == fresh.prediction()
