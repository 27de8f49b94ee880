"""The llama.cpp adapter against what a real llama-server answered (../shared/real_health/llamacpp:
/health, /metrics, /slots, /props while loading, idle, during a 2,000-token generation and after
it; not in this repository). Served by a real HTTP server on 127.0.0.1 where a probe reads them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ssescope.cli import main
from ssescope.health import adapters
from ssescope.health.metrics import parse_metrics
from ssescope.health.probes import ServerProbe
from ssescope.health.samples import History, ServerSample
from tests.health.fake_servers import FakeServer, Route

REAL = Path(__file__).resolve().parents[3] / "shared" / "real_health" / "llamacpp"
pytestmark = pytest.mark.skipif(
    not REAL.is_dir(),
    reason=f"real llama.cpp answers not found at {REAL} (shared/ is not checked out)",
)

# The order the snapshots were taken in (busy3 is a second request, after the 2,000 tokens).
PHASES = ("idle", "busy", "busy2", "after", "busy3")
ENDPOINTS = ("health", "metrics", "slots", "props")


def body(phase: str, endpoint: str) -> str:
    return (REAL / f"{phase}-{endpoint}.body").read_text()


def status(phase: str, endpoint: str) -> int:
    return int((REAL / f"{phase}-{endpoint}.status").read_text().split()[0])


def sample_of(phase: str, t: float = 0.0) -> ServerSample:
    """What the adapter makes of one phase's answers (the probe's steps, without sockets)."""
    s = ServerSample(t=t, kind="llamacpp")
    adapters.apply_metrics(s, parse_metrics(body(phase, "metrics"), adapters.WANTED["llamacpp"]))
    slots = adapters.parse_slots(json.loads(body(phase, "slots")))
    assert slots is not None
    adapters.apply_slots(s, slots)
    s.extra.update(adapters.parse_props(json.loads(body(phase, "props"))))
    return s


def test_token_counter_moves_during_the_generation() -> None:
    samples = [sample_of(p, t) for t, p in enumerate(PHASES)]
    finished = [
        parse_metrics(body(p, "metrics")).get("llamacpp:tokens_predicted_total") for p in PHASES
    ]
    assert finished[1] == finished[2] == 128  # the metric alone: flat mid-answer (0 tok/s)
    tokens = [s.generated_tokens for s in samples]
    assert tokens == [0, 544, 722, 2128, 2966]  # + the in-flight n_decoded: moves, never drops
    assert {s.generated_metric for s in samples} == {adapters.LLAMA_TOKENS_LIVE}
    history = History()
    history.extend(samples)
    rates = history.rates("server", "generated_tokens")
    assert rates[1] == 178  # busy → busy2: the 178 tokens slot 2 decoded in between
    assert all(r is not None and r > 0 for r in rates)


def test_without_slots_the_rate_comes_from_n_decode_total() -> None:
    s = ServerSample(t=0.0, kind="llamacpp")
    adapters.apply_metrics(s, parse_metrics(body("busy2", "metrics")))
    assert (s.generated_tokens, s.generated_metric) == (718, "llamacpp:n_decode_total")
    assert (s.running, s.waiting, s.heartbeat) == (1, 0, 718)


def test_interval_gauges_are_not_read_and_the_reset_is_said() -> None:
    # Every scrape resets them: the real busy2 scrape (mid-generation) reads 0 tok/s.
    assert parse_metrics(body("busy2", "metrics")).get("llamacpp:predicted_tokens_seconds") == 0
    s = sample_of("busy2")
    assert not any("tokens_seconds" in k for k in s.extra)
    assert s.notes == [adapters.LLAMA_INTERVAL_NOTE]
    assert "predicted_tokens_seconds" in s.notes[0] and "resets" in s.notes[0]


def test_kv_cache_is_not_exposed_rather_than_blank() -> None:
    s = sample_of("busy")
    assert s.kv_cache_usage is None
    assert s.not_exposed == {"kv_cache_usage": "llama.cpp has no KV-cache metric"}
    assert s.to_dict()["not_exposed"] == s.not_exposed
    assert ServerSample.from_dict(s.to_dict()).not_exposed == s.not_exposed


def test_counters_keep_the_names_the_server_wrote() -> None:
    names = set(parse_metrics(body("busy", "metrics")).names())
    assert "llamacpp:n_tokens_max" in names and "llamacpp:n_tokens_max_total" not in names
    written = {
        line.split()[0] for line in body("busy", "metrics").splitlines() if not line.startswith("#")
    }
    assert names == written


def serve(phase: str) -> FakeServer:
    """A server answering one phase's recorded /health, /metrics, /slots and /props."""
    routes = {
        f"/{e}": Route(status(phase, e), body(phase, e), "application/json") for e in ENDPOINTS
    }
    routes["/metrics"] = Route(status(phase, "metrics"), body(phase, "metrics"))
    return FakeServer(routes)


async def test_one_poll_detects_llamacpp_and_reads_slots_and_props() -> None:
    srv = serve("busy")
    with srv.running():
        probe = ServerProbe(srv.url)
        s = await probe.poll(lambda: 0.0)
        await probe.aclose()
    assert s.kind == "llamacpp" and srv.hits["/slots"] == 1 and srv.hits["/props"] == 1
    assert s.slots is not None and [x.n_decoded for x in s.slots if x.processing] == [416]
    assert s.extra["total_slots"] == 4 and s.extra["is_sleeping"] is False
    assert s.generated_tokens == 544


def test_one_shot_health_command_shows_slots_and_says_what_is_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serve("busy").running() as srv:
        assert main(["health", "--server", srv.url]) == 0
    out = capsys.readouterr().out
    assert "[llamacpp]" in out and "slot 2" in out and "n_decoded 416" in out
    assert "not exposed" in out and "llama.cpp has no KV-cache metric" in out
    assert "llamacpp:tokens_predicted_total + /slots" in out  # where the token figure comes from
    assert "resets" in out


async def test_loading_answers_are_a_state_and_name_the_server() -> None:
    loading = json.loads((REAL / "startup-health-poll.json").read_text())["while_loading"]
    srv = FakeServer(
        {path: Route(a["status"], a["body"], "application/json") for path, a in loading.items()}
    )
    with srv.running():
        probe = ServerProbe(srv.url)
        s = await probe.poll(lambda: 0.0)
        await probe.aclose()
    assert (s.kind, s.health.state, s.health.detail) == ("llamacpp", "loading", "Loading model")
    assert s.health.status == 503 and s.metrics.state == "loading"


PLAYED = ("busy", "busy2", "after")


def playing(endpoint: str) -> Route:
    """The endpoint's answer of poll k is phase k's (then the last one's): each endpoint is
    read once per poll, so each counts its own requests."""
    polls = iter(range(1000))

    def answer() -> str:
        return body(PLAYED[min(next(polls), len(PLAYED) - 1)], endpoint)

    return Route(200, answer, "application/json")


def test_watch_count_ends_its_line_and_draws_the_history(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--watch --count N`` piped: every table ends its line, and the history column shows the
    token rate and the running requests over the polls."""
    srv = FakeServer({f"/{e}": playing(e) for e in ENDPOINTS})
    with srv.running():  # the interval is each fetch's timeout too: 0.05 s failed under load
        code = main(["health", "--server", srv.url, "--watch", "--count", "3", "--interval", "0.3"])
    out = capsys.readouterr().out
    assert code == 0 and out.endswith("\n")
    last = out[out.rindex("server http://") :]
    assert "history" in last
    rows = {}
    for line in last.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) == 5 and cells[1]:
            rows[cells[1]] = cells[3]
    spark = set("▁▂▃▄▅▆▇█")
    assert len(rows["running"]) == 3 and set(rows["running"]) <= spark  # 1, 1, 0
    assert len(rows["tokens"]) == 2 and set(rows["tokens"]) <= spark  # two rates
    assert "tok/s" in last
