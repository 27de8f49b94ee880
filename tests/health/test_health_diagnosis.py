"""Each diagnosis rule: a stalled stream (a real Checker fed real SSE bytes with arrival times)
plus probe readings → the expected sentence and evidence. Pure: no sockets, no clock."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from ssescope.core.checker import CheckOptions
from ssescope.core.session import StreamSession
from ssescope.health.diagnosis import DiagnosisLog, StreamState, diagnose
from ssescope.health.samples import (
    Endpoint,
    GpuDevice,
    GpuSample,
    History,
    OllamaModel,
    ServerSample,
)
from tests.test_live import EVENTS, RESP


def sse(event: dict) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def stream(
    chunks: Sequence[tuple[float, bytes]] = (), *, created_at: float = 0.2, **opts: float
) -> StreamSession:
    """A session that got headers at 0.1 s, response.created at ``created_at``, then ``chunks``."""
    session = StreamSession(CheckOptions(**opts))  # type: ignore[arg-type]
    session.on_response(200, {"content-type": "text/event-stream"}, t=0.1)
    session.feed(sse({"type": "response.created", "response": RESP}), created_at)
    for t, chunk in chunks:
        session.feed(chunk, t)
    return session


def vllm(
    t: float,
    *,
    running: float = 1,
    waiting: float = 0,
    kv: float = 0.4,
    steps: float = 100,
    tokens: float = 1000,
    preemptions: float = 0,
    health: str = "ok",
) -> ServerSample:
    return ServerSample(
        t=t,
        url="http://127.0.0.1:8000",
        kind="vllm",
        health=Endpoint(health, 200 if health == "ok" else None, 0.002),  # type: ignore[arg-type]
        metrics=Endpoint("ok", 200, 0.004),
        running=running,
        waiting=waiting,
        kv_cache_usage=kv,
        kv_cache_metric="vllm:kv_cache_usage_perc",
        preemptions=preemptions,
        heartbeat=steps,
        heartbeat_metric="vllm:iteration_tokens_total_count",
        generated_tokens=tokens,
        generated_metric="vllm:generation_tokens_total",
    )


def gpu(t: float, util: float, power: float = 60.0) -> GpuSample:
    return GpuSample(
        t, via="nvml", state="ok", devices=[GpuDevice(0, "NVIDIA L4", util=util, power_w=power)]
    )


def history(*samples: ServerSample | GpuSample) -> History:
    h = History()
    h.extend(samples)
    return h


NOW = 40.2  # 40 s after response.created


def test_queued_at_capacity() -> None:
    h = history(*(vllm(t, running=8, waiting=3, kv=0.97) for t in (36.0, 38.0, 40.0)))
    d = diagnose(stream(), h, NOW)
    assert d is not None and d.rule == "queued-at-capacity"
    assert d.sentence == (
        "Stalled 40 s after response.created: queued, the server is at capacity "
        "(8 running, 3 waiting, KV cache 97%)."
    )
    assert d.evidence["waiting"] == 3 and d.evidence["kv_cache_usage"] == 0.97
    assert d.evidence["kv_cache_metric"] == "vllm:kv_cache_usage_perc"
    assert d.severity == "warning"


def test_queued_by_kv_cache_alone_with_preemptions() -> None:
    h = history(vllm(31.0, kv=0.96, preemptions=4), vllm(40.0, kv=0.96, preemptions=10))
    d = diagnose(stream(), h, NOW)
    assert d is not None and d.rule == "queued-at-capacity"
    assert d.sentence.endswith("(1 running, 0 waiting, KV cache 96%, 6 preemptions in 9.0 s).")


def test_engine_not_generating_although_health_ok() -> None:
    samples = [vllm(t, steps=500, tokens=9000) for t in (31.0, 35.0, 40.0)]
    h = history(*samples, gpu(32.0, 0, 61), gpu(39.0, 0, 59))
    d = diagnose(stream(), h, NOW)
    assert d is not None and d.rule == "engine-stuck"
    assert d.sentence == (
        "Stalled 40 s after response.created: the engine is not generating although /health "
        "says OK (vllm:iteration_tokens_total_count has not moved for 9.0 s with 1 request(s) "
        "running; GPU 0% busy, 60 W)."
    )
    assert d.evidence["heartbeat_delta"] == 0 and d.evidence["gpu_util"] == 0
    assert d.evidence["health"] == "ok" and d.severity == "error"


def test_generating_but_not_sending() -> None:
    h = history(
        vllm(30.5, steps=100, tokens=1000),
        vllm(35.5, steps=350, tokens=1250),
        vllm(40.5, steps=600, tokens=1500),  # after now: ignored
        vllm(40.0, steps=590, tokens=1490),
        gpu(38.0, 96, 280),
    )
    d = diagnose(stream(), h, NOW)
    assert d is not None and d.rule == "generating-not-sending"
    assert d.sentence == (
        "Stalled 40 s after response.created: the server is generating (52 tokens/s, GPU 96% "
        "busy, 280 W) but nothing reaches the stream: output held back by a buffering proxy or "
        "a translator that emits only at item end, or a long hidden reasoning phase."
    )
    assert d.evidence["tokens_per_s"] == pytest.approx(51.579, abs=0.01)


def test_server_not_answering() -> None:
    h = history(vllm(30.0), vllm(39.0))
    h.add(
        ServerSample(
            t=40.0, kind="vllm", health=Endpoint("not-answering", detail="no answer within 1 s")
        )
    )
    d = diagnose(stream(), h, NOW)
    assert d is not None and d.rule == "server-not-answering"
    assert d.sentence == (
        "Stalled 40 s after response.created: the server is not answering "
        "(/health: no answer within 1 s; last answer 1.2 s ago)."
    )


def test_server_refused() -> None:
    h = history(ServerSample(t=39.0, health=Endpoint("refused", detail="All connection attempts")))
    d = diagnose(stream(), h, NOW)
    assert d is not None and d.rule == "server-not-answering"
    assert "connection refused: the server process is gone" in d.sentence


def test_keepalive_comments_only_and_codex_countdown() -> None:
    comments = [(t, b": keepalive\n\n") for t in (10.0, 20.0, 30.0, 40.0)]
    d = diagnose(stream(comments), None, NOW)
    assert d is not None and d.rule == "keepalive-only"
    assert d.sentence == (
        "Stalled 40 s after response.created: the server is alive but producing nothing: only "
        "keep-alive comments arrive, and Codex times out in 260 s because comments do not reset "
        "its idle timer."
    )
    assert d.evidence["codex_timeout_in"] == 260.0 and d.evidence["comments"] == 4


def test_keepalive_comments_after_codex_gave_up() -> None:
    comments = [(t, b": ping\n\n") for t in range(15, 400, 15)]
    d = diagnose(stream(comments), None, 400.5)
    assert d is not None and d.rule == "keepalive-only"
    assert "Codex has already given up (its 300 s idle timeout passed" in d.sentence


def test_keepalive_events_keep_codex_waiting() -> None:
    pings = [(t, sse({"type": "keepalive"})) for t in (10.0, 20.0, 30.0, 40.0)]
    d = diagnose(stream(pings), None, NOW)
    assert d is not None and d.rule == "keepalive-only"
    assert "only keepalive events arrive, and keepalive events keep Codex waiting" in d.sentence


def test_model_still_loading() -> None:
    s = ServerSample(
        t=39.5, kind="llamacpp", health=Endpoint("loading", 503, 0.001, "Loading model")
    )
    d = diagnose(stream(), history(s), NOW)
    assert d is not None and d.rule == "model-loading"
    assert d.sentence == (
        "Stalled 40 s after response.created: the model is still loading "
        "(/health: 503 Loading model)."
    )


def test_server_unhealthy() -> None:
    s = ServerSample(t=39.5, kind="vllm", health=Endpoint("unhealthy", 503, 0.001, ""))
    d = diagnose(stream(), history(s), NOW)
    assert d is not None and d.rule == "server-unhealthy"
    assert d.sentence.endswith("the server reports itself unhealthy (/health: 503).")


def test_request_not_on_server() -> None:
    h = history(*(vllm(t, running=0, waiting=0, steps=77) for t in (32.0, 36.0, 40.0)))
    d = diagnose(stream(), h, NOW)
    assert d is not None and d.rule == "request-not-on-server"
    assert d.sentence == (
        "Stalled 40 s after response.created: the server has no request running or waiting "
        "(vllm:iteration_tokens_total_count flat for 8.0 s): "
        "the request was lost, or something between here and the server holds the stream."
    )


def test_gpu_spinning_with_flat_counter() -> None:
    h = history(vllm(31.0), vllm(40.0), gpu(35.0, 100, 310), gpu(39.0, 100, 305))
    d = diagnose(stream(), h, NOW)
    assert d is not None and d.rule == "gpu-spinning"
    assert "yet the GPU reads 100% busy: likely a hung kernel or collective" in d.sentence


def test_prefilling() -> None:
    h = history(vllm(31.0, steps=10, tokens=500), vllm(40.0, steps=60, tokens=500))
    d = diagnose(stream(), h, NOW)
    assert d is not None and d.rule == "prefilling"
    assert "still prefilling (vllm:iteration_tokens_total_count rising" in d.sentence


def test_server_restarted_mid_stall() -> None:
    h = history(vllm(31.0, steps=9000), vllm(35.0, steps=9100), vllm(40.0, steps=3))
    d = diagnose(stream(), h, NOW)
    assert d is not None and d.rule == "server-restarted"
    assert d.sentence == (
        "Stalled 40 s after response.created: the server restarted during the stall "
        "(vllm:iteration_tokens_total_count went backwards): the request it was serving is gone."
    )


def test_ollama_on_cpu() -> None:
    s = ServerSample(
        t=40.0,
        kind="ollama",
        health=Endpoint("ok", 200),
        models=[OllamaModel("qwen3:8b", size=5 << 30, size_vram=0)],
    )
    d = diagnose(stream(), history(s), NOW)
    assert d is not None and d.rule == "ollama-on-cpu"
    assert d.sentence == (
        "Stalled 40 s after response.created: Ollama runs qwen3:8b on the CPU (size_vram 0), "
        "so generation is slow."
    )


def test_gpu_idle_without_server_metrics() -> None:
    d = diagnose(stream(), history(gpu(35.0, 2, 40), gpu(39.0, 0, 40)), NOW)
    assert d is not None and d.rule == "gpu-idle"
    assert d.sentence.endswith(
        "the GPU is idle (GPU 1% busy, 40 W), so nothing is being generated for this request."
    )


def test_no_readings_says_what_to_add() -> None:
    d = diagnose(stream(), None, NOW)
    assert d is not None and d.rule == "stalled"
    assert d.sentence == (
        "Stalled 40 s after response.created; no server or GPU readings to say why "
        "(add --server URL)."
    )


def test_stall_inside_an_item_names_the_last_event() -> None:
    session = stream([(1.0, sse(EVENTS[1])), (1.1, sse(EVENTS[2]))])
    d = diagnose(session.checker, None, 31.1)
    assert d is not None and d.sentence.startswith("Stalled 30 s after response.output_item.added;")


def test_not_stalled_terminal_or_error_status_gives_none() -> None:
    assert diagnose(stream(), None, 5.0) is None  # below --stall-warn (10 s)
    assert diagnose(stream(stall_warn=2.0), None, 5.0) is not None
    done = StreamSession()
    done.on_response(200, {}, t=0.1)
    for i, ev in enumerate(EVENTS):
        done.feed(sse(ev), 0.2 + i * 0.01)
    assert diagnose(done.checker, None, 100.0) is None
    failed = StreamSession()
    failed.on_response(500, {}, body="boom", t=0.1)
    assert diagnose(failed.checker, None, 100.0) is None


def test_stream_state_and_monitor_like_history_argument() -> None:
    session = stream()
    state = StreamState.from_checker(session.checker, NOW)
    assert state.created and state.stalled and state.after == "response.created"

    class MonitorLike:
        history = history(*(vllm(t, waiting=2) for t in (36.0, 40.0)))

    d = diagnose(state, MonitorLike(), None)
    assert d is not None and d.rule == "queued-at-capacity"
    assert diagnose(session.checker.timing, MonitorLike.history, NOW) is not None


def test_diagnosis_log_keeps_stretches_and_the_resolved_one() -> None:
    log = DiagnosisLog()
    session = stream()
    h = history(*(vllm(t, waiting=2) for t in (11.0, 15.0)))
    log.observe(diagnose(session, h, 12.0))
    log.observe(diagnose(session, h, 15.0))
    h.add(vllm(20.0, waiting=0, steps=100))
    h.add(vllm(25.0, waiting=0, steps=100))
    log.observe(diagnose(session, h, 25.0))
    assert [(e["rule"], e["since"]) for e in log.to_list()] == [
        ("queued-at-capacity", 12.0),
        ("engine-stuck", 25.0),
    ]
    final = log.final(None)
    assert final is not None and final["ongoing"] is False and final["rule"] == "engine-stuck"


def test_gpu_busy_without_server_metrics() -> None:
    d = diagnose(stream(), history(gpu(35.0, 70, 250), gpu(39.0, 80, 270)), NOW)
    assert d is not None and d.rule == "gpu-busy" and d.severity == "info"
    assert d.sentence == (
        "Stalled 40 s after response.created: the GPU is busy (GPU 75% busy, 260 W) but nothing "
        "reaches the stream: a long prefill, generation held back, or other requests."
    )
    assert d.evidence["gpu_util"] == 75.0 and d.evidence["gpu_power_w"] == 260.0


def test_readings_that_do_not_explain_the_stall_are_listed() -> None:
    s = ServerSample(
        t=39.0, kind="vllm", health=Endpoint("ok", 200), metrics=Endpoint("absent", 404)
    )
    d = diagnose(stream(), history(s, gpu(38.0, 30, 90)), NOW)
    assert d is not None and d.rule == "stalled"
    assert d.sentence == (
        "Stalled 40 s after response.created; the readings do not explain it (no step counter "
        "(/metrics off), GPU 30% busy, 90 W)."
    )
    assert d.evidence["server"] == "vllm" and d.evidence["health"] == "ok"


def test_every_diagnosis_rule_has_a_test_here_and_a_place_in_the_order() -> None:
    """Adding a diagnosis is one registered function and its test: this fails without the test."""
    from pathlib import Path

    from ssescope.health.diagnosis import RULES, TABLE

    source = Path(__file__).read_text(encoding="utf-8")
    untested = [r for r in RULES if f'd.rule == "{r}"' not in source]
    assert untested == []
    assert [r.precedence for r in TABLE] == sorted(r.precedence for r in TABLE)
    assert TABLE[-1].id == "stalled"  # the one that always answers comes last


def test_comments_only_is_said_first_whatever_the_readings_find() -> None:
    """A server-side finding during a comments-only stall still says what Codex sees: comments
    that do not reset its idle timer (the demo's keepalive-comments on an idle server)."""
    comments = [(t, b": keepalive\n\n") for t in (10.0, 20.0, 30.0, 40.0)]
    h = history(*(vllm(t, running=0, waiting=0, steps=77) for t in (32.0, 36.0, 40.0)))
    d = diagnose(stream(comments), h, NOW)
    assert d is not None and d.rule == "request-not-on-server"
    assert d.sentence.startswith(
        "Stalled 40 s after response.created: only keep-alive comments arrive, which do not "
        "reset Codex's idle timer (it gives up in 260 s); the server has no request running"
    )
    assert d.evidence["comments"] == 4
