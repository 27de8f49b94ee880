"""The pure translator: chat chunks in, Responses events out, judged by ssescope's own checker.

Real recordings from ../shared/real_streams (OpenAI, DeepSeek, Groq, Qwen, xAI) are replayed byte
for byte; synthetic streams cover the quirks and failures no recording has.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssescope.core import models as m
from ssescope.engine.translate import (
    RAW_REASONING_EVENTS,
    ChatToResponses,
    counting_ids,
    map_usage,
)
from ssescope.engine.wire import DONE_FRAME, chat_payloads, encode_events
from tests.engine.helpers import CHAT_RECORDINGS, REAL, chunk, errors, findings, judge, usage_chunk

needs_real = pytest.mark.skipif(
    not CHAT_RECORDINGS, reason=f"recorded chat streams not found in {REAL}"
)


def run(
    payloads: list[Any], *, eof: bool = True, **kwargs: Any
) -> tuple[ChatToResponses, list[dict[str, Any]]]:
    """Feed payloads (dicts, or strings as raw data lines); end with EOF."""
    tr = ChatToResponses({"model": "m"}, ids=counting_ids(), **kwargs)
    events = tr.start()
    for p in payloads:
        events += tr.feed_data(p) if isinstance(p, str) else tr.feed_chunk(p)
    if eof:
        events += tr.finish()
    return tr, events


def by_type(events: list[dict[str, Any]], etype: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == etype]


def terminal(events: list[dict[str, Any]]) -> dict[str, Any]:
    last = events[-1]
    assert last["type"] in ("response.completed", "response.incomplete", "response.failed")
    return last


def clean(events: list[dict[str, Any]], *, done: bool = True, allow: tuple[str, ...] = ()) -> None:
    """No error and no warning finding under openai, nor under open-responses with [DONE] and
    the spec's raw reasoning names (what ``--reasoning open-responses`` streams)
    (``allow``: warnings that are the truth, e.g. usage-missing when the upstream sent none).
    The client models' verdicts are not the translation's protocol: test_engine_mock pins them."""
    spec_names = dict(zip(*RAW_REASONING_EVENTS, strict=True))  # --reasoning open-responses
    spec_events = [{**e, "type": spec_names.get(e["type"], e["type"])} for e in events]
    for profile, data, tail in (
        ("openai", encode_events(events), b""),
        ("open-responses", encode_events(spec_events), DONE_FRAME if done else b""),
    ):
        session = judge(data + tail, profile)
        bad = [
            f"{f.rule}: {f.message}"
            for f in session.checker.findings
            if not f.rule.startswith("client-")
            and (f.severity == "error" or (f.severity == "warning" and f.rule not in allow))
        ]
        assert bad == [], (profile, bad)


def replay(path: Any) -> tuple[ChatToResponses, list[dict[str, Any]]]:
    return run(list(chat_payloads(path.read_bytes())))


# -- the real recordings ----------------------------------------------------------------------------


@needs_real
@pytest.mark.real_streams
@pytest.mark.parametrize("path", CHAT_RECORDINGS, ids=lambda p: p.name.split(".")[0])
def test_every_real_chat_recording_translates_cleanly(path: Any) -> None:
    tr, events = replay(path)
    clean(events)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created" and events[1]["type"] == "response.in_progress"
    for e in (events[0], events[1], events[-1]):  # full Response objects, not thin ones
        assert m.validate_response(e["response"]) == [], e["type"]
    assert tr.done and events[-1]["response"]["id"].startswith("resp_")
    # every item keeps its id (and call_id) across added, done and the final output
    added = {e["output_index"]: e["item"] for e in by_type(events, "response.output_item.added")}
    done = {e["output_index"]: e["item"] for e in by_type(events, "response.output_item.done")}
    final = events[-1]["response"]["output"]
    assert sorted(added) == sorted(done) == list(range(len(final)))
    for i, item in enumerate(final):
        assert added[i]["id"] == done[i]["id"] == item["id"]
        assert item["id"].startswith(
            {"message": "msg_", "reasoning": "rs_", "function_call": "fc_"}[item["type"]]
        )
        assert added[i].get("call_id") == done[i].get("call_id") == item.get("call_id")
        assert done[i] == item


def _real(name: str) -> Any:
    path = next((p for p in CHAT_RECORDINGS if name in p.name), None)
    if path is None:
        pytest.skip(f"{name} not found in {REAL}")
    return path


@pytest.mark.real_streams
def test_finish_length_recording_becomes_response_incomplete() -> None:
    _, events = replay(_real("finish-length"))
    last = terminal(events)
    assert last["type"] == "response.incomplete"
    assert last["response"]["status"] == "incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    item_done = by_type(events, "response.output_item.done")[-1]["item"]
    assert item_done["status"] == "incomplete" and item_done["content"][0]["text"] == '{"'
    assert last["response"]["usage"]["output_tokens"] == 1


@pytest.mark.real_streams
def test_refusal_recording_streams_a_refusal_part() -> None:
    _, events = replay(_real("chat_refusal"))
    deltas = "".join(e["delta"] for e in by_type(events, "response.refusal.delta"))
    assert deltas.startswith("I'm sorry")
    part = terminal(events)["response"]["output"][0]["content"]
    assert part == [{"type": "refusal", "refusal": deltas}]
    assert by_type(events, "response.output_text.delta") == []


@pytest.mark.real_streams
def test_parallel_calls_recording_keeps_upstream_call_ids() -> None:
    _, events = replay(_real("parallel-tool-calls"))
    calls = terminal(events)["response"]["output"]
    assert [c["call_id"] for c in calls] == [
        "call_JMW1whyEaYG438VE1OIflxA2",
        "call_DNYTawLBoN8fj3KN6qU9N1Ou",
    ]
    assert json.loads(calls[0]["arguments"]) == {"city": "Edinburgh", "country": "GB", "units": "c"}
    assert json.loads(calls[1]["arguments"]) == {"ticker": "AAPL", "exchange": "NASDAQ"}
    # streamed one after the other: the second is added only after the first is done
    order = [(e["type"], e.get("output_index")) for e in events if "output_item" in e["type"]]
    assert order == [
        ("response.output_item.added", 0),
        ("response.output_item.done", 0),
        ("response.output_item.added", 1),
        ("response.output_item.done", 1),
    ]


@pytest.mark.real_streams
def test_qwen_empty_id_continuations_do_not_start_new_calls() -> None:
    _, events = replay(_real("alibaba-tool-call"))
    output = terminal(events)["response"]["output"]
    assert len(output) == 1
    assert output[0]["call_id"] == "call_eee11723464a4b9eb8cee71d"
    assert json.loads(output[0]["arguments"]) == {"location": "San Francisco"}


@pytest.mark.real_streams
def test_groq_whole_call_in_one_chunk_and_usage_on_the_finish_chunk() -> None:
    tr, events = replay(_real("groq-tool-call"))
    last = terminal(events)
    assert last["response"]["output"][0]["arguments"] == "{}"
    assert last["response"]["output"][0]["call_id"] == "tk85n1k4m"
    assert last["response"]["usage"]["input_tokens"] == 210
    assert tr.warnings == []


@pytest.mark.real_streams
def test_xai_reasoning_then_call_without_intermediate_finish_reasons() -> None:
    _, events = replay(_real("xai-tool-call"))
    last = terminal(events)
    assert [i["type"] for i in last["response"]["output"]] == ["reasoning", "function_call"]
    usage = last["response"]["usage"]
    # xAI counts 227 reasoning tokens outside completion_tokens (26); Responses counts them in
    assert usage["output_tokens"] == 253 and usage["total_tokens"] == 560
    assert usage["output_tokens_details"]["reasoning_tokens"] == 227


@pytest.mark.real_streams
def test_deepseek_reasoning_content_beside_null_content() -> None:
    path = _real("deepseek-reasoning")
    raw = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    _, events = replay(path)
    reasoning, message = terminal(events)["response"]["output"]
    expected_reasoning = "".join(
        c["choices"][0]["delta"].get("reasoning_content") or "" for c in raw if c["choices"]
    )
    expected_text = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in raw if c["choices"]
    )
    assert reasoning["content"] == [{"type": "reasoning_text", "text": expected_reasoning}]
    assert reasoning["summary"] == []
    assert message["content"][0]["text"] == expected_text
    assert (
        "".join(e["delta"] for e in by_type(events, "response.reasoning_text.delta"))
        == expected_reasoning
    )


@pytest.mark.real_streams
def test_n3_choices_translates_the_first_choice_only() -> None:
    tr, events = replay(_real("n3-choices"))
    assert len(terminal(events)["response"]["output"]) == 1
    assert any("first choice" in w for w in tr.warnings)


@pytest.mark.real_streams
def test_logprobs_recording_maps_logprobs_onto_text_deltas() -> None:
    _, events = replay(_real("chat_logprobs"))
    deltas = by_type(events, "response.output_text.delta")
    assert [d["logprobs"][0]["token"] for d in deltas] == ["Foo", "!"]
    final_part = terminal(events)["response"]["output"][0]["content"][0]
    assert [lp["token"] for lp in final_part["logprobs"]] == ["Foo", "!"]


# -- tool-call quirks ---------------------------------------------------------------------------


def call_frag(
    index: int, *, id: str | None = None, name: str | None = None, args: str | None = None
) -> dict[str, Any]:
    frag: dict[str, Any] = {"index": index}
    if id is not None:
        frag["id"] = id
        frag["type"] = "function"
    fn: dict[str, Any] = {}
    if name is not None:
        fn["name"] = name
    if args is not None:
        fn["arguments"] = args
    frag["function"] = fn
    return frag


def tools(*frags: dict[str, Any]) -> dict[str, Any]:
    return chunk({"tool_calls": list(frags)})


def test_arguments_before_the_name_are_buffered_until_it_comes() -> None:
    _tr, events = run(
        [
            tools(call_frag(0, args='{"ci')),
            tools(call_frag(0, args='ty": ')),
            tools(call_frag(0, id="call_a", name="get_weather", args='"Paris"')),
            tools(call_frag(0, args="}")),
            chunk({}, "tool_calls"),
            usage_chunk(),
        ]
    )
    clean(events)
    (call,) = terminal(events)["response"]["output"]
    assert call["name"] == "get_weather" and call["call_id"] == "call_a"
    assert call["arguments"] == '{"city": "Paris"}'
    added = by_type(events, "response.output_item.added")[0]["item"]
    assert added["name"] == "get_weather" and added["arguments"] == ""
    assert (
        "".join(e["delta"] for e in by_type(events, "response.function_call_arguments.delta"))
        == call["arguments"]
    )


def test_interleaved_parallel_calls_come_out_whole_and_in_sequence() -> None:
    _, events = run(
        [
            tools(call_frag(0, id="c0", name="a", args="")),
            tools(call_frag(1, id="c1", name="b", args="")),
            tools(call_frag(0, args='{"x"')),
            tools(call_frag(1, args='{"y"')),
            tools(call_frag(0, args=": 1}")),
            tools(call_frag(1, args=": 2}")),
            chunk({}, "tool_calls"),
            usage_chunk(),
        ]
    )
    clean(events)
    assert "items-overlap" not in findings(judge(encode_events(events)))
    a, b = terminal(events)["response"]["output"]
    assert (a["call_id"], a["arguments"], b["call_id"], b["arguments"]) == (
        "c0",
        '{"x": 1}',
        "c1",
        '{"y": 2}',
    )
    # the first call is closed as soon as its arguments are whole, before the finish_reason
    done_a = next(i for i, e in enumerate(events) if e["type"] == "response.output_item.done")
    assert events[done_a]["item"]["call_id"] == "c0"
    assert done_a < next(i for i, e in enumerate(events) if e.get("delta") == ": 2}")


def test_a_new_id_at_a_used_index_is_a_new_call() -> None:
    # Some servers number every call 0; a different non-empty id with a name is a new call.
    _, events = run(
        [
            tools(call_frag(0, id="c0", name="a", args="{}")),
            tools(call_frag(0, id="c1", name="b", args='{"k": 1}')),
            chunk({}, "tool_calls"),
            usage_chunk(),
        ]
    )
    clean(events)
    out = terminal(events)["response"]["output"]
    assert [(c["call_id"], c["name"], c["arguments"]) for c in out] == [
        ("c0", "a", "{}"),
        ("c1", "b", '{"k": 1}'),
    ]


def test_a_call_that_never_gets_a_name_is_still_sent_at_the_end() -> None:
    tr, events = run([tools(call_frag(0, id="c0", args="{}")), chunk({}, "tool_calls")])
    (call,) = terminal(events)["response"]["output"]
    assert call["name"] == "" and call["arguments"] == "{}" and call["call_id"] == "c0"
    assert any("never got a name" in w for w in tr.warnings)


def test_text_after_a_whole_call_opens_a_message_after_it() -> None:
    _, events = run(
        [
            tools(call_frag(0, id="c0", name="a", args="{}")),
            chunk({"content": "done"}),
            chunk({}, "stop"),
            usage_chunk(),
        ]
    )
    clean(events)
    assert [i["type"] for i in terminal(events)["response"]["output"]] == [
        "function_call",
        "message",
    ]


def test_text_while_a_call_is_incomplete_waits_until_the_call_is_whole() -> None:
    _, events = run(
        [
            tools(call_frag(0, id="c0", name="a", args='{"q": ')),
            chunk({"content": "hello"}),
            tools(call_frag(0, args='"x"}')),
            chunk({}, "stop"),
            usage_chunk(),
        ]
    )
    clean(events)
    call, message = terminal(events)["response"]["output"]
    assert call["arguments"] == '{"q": "x"}' and message["content"][0]["text"] == "hello"


def test_reused_upstream_call_ids_get_fresh_ones() -> None:
    _tr, events = run(
        [
            tools(
                call_frag(0, id="same", name="a", args="{}"),
                call_frag(1, id="same", name="a", args="{}"),
            ),
            chunk({}, "tool_calls"),
            usage_chunk(),
        ]
    )
    clean(events)
    ids = [c["call_id"] for c in terminal(events)["response"]["output"]]
    assert ids[0] == "same" and ids[1].startswith("call_") and ids[1] != "same"


def test_legacy_function_call_delta_and_object_arguments() -> None:
    _tr, events = run(
        [
            chunk({"function_call": {"name": "f", "arguments": {"a": 1}}}),
            chunk({}, "function_call"),
        ]
    )
    (call,) = terminal(events)["response"]["output"]
    assert call["name"] == "f" and json.loads(call["arguments"]) == {"a": 1}
    assert call["call_id"].startswith("call_")


@st.composite
def interleavings(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """2–3 calls with JSON arguments cut into random fragments and interleaved at random;
    sometimes the first fragment carries arguments before the name."""
    n = draw(st.integers(2, 3))
    calls = []
    queues = []
    for i in range(n):
        args = json.dumps({"k": draw(st.text(max_size=12)), "n": draw(st.integers(-99, 999))})
        cuts = sorted(
            draw(st.lists(st.integers(1, max(1, len(args) - 1)), max_size=5, unique=True))
        )
        pieces = [args[a:b] for a, b in zip([0, *cuts], [*cuts, len(args)], strict=True)]
        early = draw(st.booleans()) and len(pieces) > 1
        frags = []
        if early:
            frags.append(call_frag(i, args=pieces.pop(0)))
            frags.append(call_frag(i, id=f"c{i}", name=f"f{i}", args=pieces.pop(0)))
        else:
            frags.append(call_frag(i, id=f"c{i}", name=f"f{i}", args=""))
        frags += [call_frag(i, args=p) for p in pieces]
        calls.append((f"c{i}", args))
        queues.append(frags)
    order: list[dict[str, Any]] = []
    while any(queues):
        choice = draw(st.sampled_from([q for q in queues if q]))
        order.append(choice.pop(0))
    return [tools(f) for f in order], calls


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interleavings())
def test_property_any_interleaving_yields_whole_calls_and_a_clean_stream(case: Any) -> None:
    chunks, calls = case
    _, events = run([*chunks, chunk({}, "tool_calls"), usage_chunk()])
    output = terminal(events)["response"]["output"]
    assert sorted((c["call_id"], c["arguments"]) for c in output) == sorted(calls)
    data = encode_events(events)
    assert errors(judge(data)) == []
    assert findings(judge(data), "warning") == set()


# -- the end of a response -------------------------------------------------------------------------


def test_the_terminal_event_waits_for_the_usage_chunk() -> None:
    tr = ChatToResponses({"model": "m"}, ids=counting_ids())
    tr.start()
    tr.feed_chunk(chunk({"content": "hi"}))
    after_finish = tr.feed_chunk(chunk({}, "stop"))
    assert [e["type"] for e in after_finish] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]
    assert not tr.done and tr.finished
    last = tr.feed_chunk(usage_chunk(prompt=7, completion=2))
    assert [e["type"] for e in last] == ["response.completed"]
    usage = last[0]["response"]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (7, 2, 9)
    assert last[0]["response"]["completed_at"] >= last[0]["response"]["created_at"]


def test_done_without_usage_ends_completed_with_null_usage() -> None:
    _, events = run([chunk({"content": "hi"}), chunk({}, "stop"), "[DONE]"], eof=False)
    assert terminal(events)["type"] == "response.completed"
    assert terminal(events)["response"]["usage"] is None


def test_eof_right_after_finish_reason_still_completes() -> None:
    _, events = run([chunk({"content": "hi"}), chunk({}, "stop")])
    assert terminal(events)["type"] == "response.completed"


@pytest.mark.parametrize(
    ("reason", "expected"), [("length", "max_output_tokens"), ("content_filter", "content_filter")]
)
def test_length_and_content_filter_end_incomplete_with_the_open_item_incomplete(
    reason: str, expected: str
) -> None:
    _, events = run(
        [
            chunk({"reasoning_content": "think"}),
            chunk({"content": "cut her"}),
            chunk({}, reason),
            usage_chunk(),
        ]
    )
    clean(events)
    last = terminal(events)
    assert last["type"] == "response.incomplete"
    assert last["response"]["incomplete_details"] == {"reason": expected}
    assert [i["status"] for i in last["response"]["output"]] == ["completed", "incomplete"]


def test_an_upstream_cut_before_finish_reason_fails_and_never_completes() -> None:
    tr, events = run(
        [chunk({"role": "assistant", "content": ""}), chunk({"content": "half an ans"})]
    )
    last = terminal(events)
    assert last["type"] == "response.failed" and tr.status == "failed"
    assert last["response"]["error"]["code"] == "upstream_disconnected"
    assert not any(e["type"] == "response.completed" for e in events)
    # the open item is left open, as streamed, not closed as if it were complete
    assert by_type(events, "response.output_item.done") == []
    assert last["response"]["output"][0]["content"][0]["text"] == "half an ans"
    clean(events)


def test_a_cut_in_the_middle_of_a_tool_call_never_closes_the_call() -> None:
    _, events = run([tools(call_frag(0, id="c", name="rm", args='{"path": "/tmp/x'))])
    assert terminal(events)["type"] == "response.failed"
    assert by_type(events, "response.output_item.done") == []  # no client runs a cut call
    clean(events, allow=("arguments-invalid-json",))  # true: the arguments were cut


def test_an_upstream_error_chunk_becomes_error_then_response_failed() -> None:
    err = {"error": {"message": "CUDA out of memory", "type": "server_error", "code": "oom"}}
    _, events = run([chunk({"content": "hi"}), err, chunk({"content": "ignored"})])
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert (
        events[-2]["error"]["message"] == "CUDA out of memory"
        and events[-2]["error"]["code"] == "oom"
    )
    assert events[-1]["response"]["error"] == {"code": "oom", "message": "CUDA out of memory"}
    clean(events, allow=("error-event",))
    assert "error-not-followed-by-failed" not in findings(
        judge(encode_events(events), "open-responses")
    )


@pytest.mark.parametrize(
    "bad",
    [
        '{"id": "x", "choices": [{"delta": {"content": "bro',
        "<html>502 Bad Gateway</html>",
        "[1, 2]",
        {"choices": "nope"},
        {"choices": [{"index": 0, "delta": {"content": 5}}]},
        {"choices": [{"index": 0, "delta": "text"}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [7]}}]},
    ],
    ids=[
        "cut-json",
        "html",
        "array",
        "choices-not-list",
        "content-number",
        "delta-string",
        "tool-call-number",
    ],
)
def test_malformed_chunks_become_error_then_response_failed(bad: Any) -> None:
    tr, events = run([chunk({"content": "ok"}), bad], eof=False)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-1]["response"]["error"]["code"] == "invalid_upstream_chunk"
    assert tr.done
    clean(events, allow=("error-event",))


def test_finish_reason_error_fails_the_response() -> None:
    _, events = run([chunk({"content": "x"}), chunk({}, "error")])
    assert terminal(events)["type"] == "response.failed"


def test_done_without_finish_reason_completes_with_a_warning() -> None:
    tr, events = run([chunk({"content": "x"}), "[DONE]"], eof=False)
    assert terminal(events)["type"] == "response.completed"
    assert any("without a finish_reason" in w for w in tr.warnings)


def test_nothing_after_the_terminal_event() -> None:
    tr, _events = run([chunk({"content": "x"}), chunk({}, "stop"), usage_chunk()], eof=False)
    assert tr.feed_chunk(chunk({"content": "late"})) == []
    assert tr.finish() == [] and tr.keepalive() == []


def test_keepalive_events_take_sequence_numbers_in_order() -> None:
    tr = ChatToResponses({"model": "m"}, ids=counting_ids())
    events = tr.start() + tr.keepalive() + tr.feed_chunk(chunk({"content": "x"})) + tr.keepalive()
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert by_type(events, "keepalive")
    events += tr.feed_chunk(chunk({}, "stop")) + tr.finish()
    clean(events, allow=("usage-missing",))


# -- reasoning and text ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_both_reasoning_spellings_become_a_reasoning_item(field: str) -> None:
    _, events = run(
        [
            chunk({field: "hmm"}),
            chunk({field: " ok"}),
            chunk({"content": "A"}),
            chunk({}, "stop"),
            usage_chunk(),
        ]
    )
    clean(events)
    reasoning, message = terminal(events)["response"]["output"]
    assert reasoning["content"] == [{"type": "reasoning_text", "text": "hmm ok"}]
    assert message["content"][0]["text"] == "A"


def test_reasoning_as_summary_streams_summary_parts() -> None:
    _, events = run(
        [
            chunk({"reasoning_content": "hmm"}),
            chunk({"content": "A"}),
            chunk({}, "stop"),
            usage_chunk(),
        ],
        reasoning="summary",
    )
    clean(events)
    assert by_type(events, "response.reasoning_summary_text.delta")[0]["delta"] == "hmm"
    assert terminal(events)["response"]["output"][0]["summary"] == [
        {"type": "summary_text", "text": "hmm"}
    ]


def test_refusal_then_text_are_two_parts_of_one_message() -> None:
    _, events = run(
        [
            chunk({"refusal": "No."}),
            chunk({"content": "But here:"}),
            chunk({}, "stop"),
            usage_chunk(),
        ]
    )
    clean(events)
    (message,) = terminal(events)["response"]["output"]
    assert [p["type"] for p in message["content"]] == ["refusal", "output_text"]


def test_content_as_a_list_of_parts_with_thinking_blocks() -> None:
    parts = [
        {"type": "thinking", "thinking": [{"type": "text", "text": "t"}]},
        {"type": "text", "text": "A"},
    ]
    _, events = run([chunk({"content": parts}), chunk({}, "stop"), usage_chunk()])
    clean(events)
    assert [i["type"] for i in terminal(events)["response"]["output"]] == ["reasoning", "message"]


def test_empty_strings_and_nulls_open_nothing() -> None:
    _, events = run(
        [
            chunk({"role": "assistant", "content": "", "refusal": None, "reasoning_content": ""}),
            chunk({}, "stop"),
            usage_chunk(),
        ]
    )
    assert terminal(events)["response"]["output"] == []
    clean(events)


def test_the_echoed_request_fields_appear_in_every_response() -> None:
    echo = {
        "model": "client-model",
        "instructions": "be brief",
        "tools": [{"type": "function", "name": "f"}],
        "temperature": 0.2,
    }
    tr = ChatToResponses(echo, ids=counting_ids())
    events = tr.start() + tr.feed_chunk(chunk({}, "stop")) + tr.finish()
    for e in (events[0], events[-1]):
        r = e["response"]
        assert (r["model"], r["instructions"], r["temperature"]) == (
            "client-model",
            "be brief",
            0.2,
        )
        assert r["tools"] == [{"type": "function", "name": "f"}]


def test_usage_mapping_cached_and_reasoning_tokens() -> None:
    usage = map_usage(
        {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2},
        }
    )
    assert usage == {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 4, "cache_write_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 2},
        "total_tokens": 15,
    }
    assert map_usage({"prompt_tokens": "10", "completion_tokens": 1}) is None
    assert (
        map_usage({"prompt_tokens": 3, "completion_tokens": 1, "prompt_cache_hit_tokens": 2})[
            "input_tokens_details"
        ]["cached_tokens"]
        == 2
    )


def test_chat_payloads_reads_raw_sse_and_json_lines_alike() -> None:
    lines = [json.dumps(chunk({"content": "a"})), json.dumps(chunk({}, "stop"))]
    as_sse = (
        "".join(f"data: {line}\r\n\r\n" for line in lines).encode() + b": c\n\ndata: [DONE]\n\n"
    )
    as_jsonl = "\n".join(lines).encode()
    assert list(chat_payloads(as_sse)) == [*lines, "[DONE]"]
    assert list(chat_payloads(as_jsonl)) == lines
