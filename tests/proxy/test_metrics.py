"""The metrics part without sockets: flows from :mod:`tests.proxy.factories` driven as the
forwarding core drives them, the counts read back from the part's own registry."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from ssescope.core.checker import CheckOptions
from ssescope.core.clients import CLIENTS
from ssescope.core.ends import EndReason
from ssescope.proxy.events import RequestHead
from ssescope.proxy.flow import Flow
from ssescope.proxy.hub import ExchangeHub
from ssescope.proxy.metrics import EVENT_GAP_BUCKETS, OTHER, ProxyMetrics
from tests.proxy.factories import SSE, play, tflow, trequest
from tests.proxy.helpers import response_events


def counted(flow: Flow, metrics: ProxyMetrics) -> Flow:
    """``flow`` with the metrics part where the proxy puts it: after the judge, before the
    hub notifier."""
    flow.pipeline.parts.insert(-1, metrics.part(flow.exchange))
    return flow


def value(metrics: ProxyMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def model_request(
    model: str, path: str = "/v1/responses", upstream: str = "default"
) -> RequestHead:
    request = trequest(path=path, body={"model": model, "input": "hi", "stream": True})
    return dataclasses.replace(request, upstream_name=upstream)


async def test_a_clean_stream_counts_one_exchange_ok_for_every_client() -> None:
    metrics = ProxyMetrics()
    flow = await play(counted(tflow(model_request("qwen3")), metrics), response_events("hi"))
    key = {"upstream": "default", "model": "qwen3"}
    assert flow.exchange.finding_counts["errors"] == 0
    assert (
        value(metrics, "ssescope_exchanges_total", **key, path="/v1/responses", status_class="2xx")
        == 1
    )
    for client in CLIENTS:
        assert (
            value(metrics, "ssescope_client_outcomes_total", **key, client=client, outcome="ok")
            == 1
        ), client
    assert value(metrics, "ssescope_findings_total", **key, rule="terminal-missing",
                 severity="error") == 0  # fmt: skip
    assert value(metrics, "ssescope_time_to_first_event_seconds_count", **key) == 1
    assert value(metrics, "ssescope_stream_duration_seconds_count", **key) == 1
    events = len(response_events("hi"))
    assert value(metrics, "ssescope_event_gap_seconds_count", **key) == events - 1
    assert value(metrics, "ssescope_exchanges_in_flight", upstream="default") == 0


async def test_a_cut_stream_counts_its_error_findings_and_codex_error() -> None:
    metrics = ProxyMetrics()
    flow = await play(
        counted(tflow(model_request("m")), metrics),
        response_events("hi")[:4],
        end=EndReason.TRANSPORT_ERROR,
        error="reset",
    )
    key = {"upstream": "default", "model": "m"}
    rules = flow.exchange.rules()
    assert "terminal-missing" in rules
    log = flow.exchange.run.checker.log  # type: ignore[union-attr]
    for rule, n in rules.items():
        got = value(metrics, "ssescope_findings_total", **key, rule=rule,
                    severity=log.severities[rule])  # fmt: skip
        assert got == n, rule
    codex = [p for p in flow.exchange.client_predictions() if p.client == "codex"]
    assert codex and codex[0].outcome == "error"
    assert value(metrics, "ssescope_client_outcomes_total", **key, client="codex",
                 outcome="error") == 1  # fmt: skip


async def test_stalls_are_counted_by_kind_and_gaps_land_in_their_buckets() -> None:
    metrics = ProxyMetrics()
    flow = counted(tflow(model_request("m"), options=CheckOptions(stall_warn=1.0)), metrics)
    events = response_events("hi")
    t0 = flow.exchange.t0
    flow.start()
    flow.respond(200, SSE, t=t0, responses_stream=True)
    # created at once, then 3 s of silence, then the rest 2 ms apart
    times = [0.004, 3.004] + [3.004 + 0.002 * i for i in range(1, len(events) - 1)]
    for t, chunk in zip(times, events, strict=True):
        flow.feed([(t0 + t, chunk)])
    await flow.settle()
    flow.end(EndReason.EOF, t_end=times[-1] + 0.001)
    flow.close()
    key = {"upstream": "default", "model": "m"}
    assert flow.exchange.rules().get("stall-after-created") == 1, flow.exchange.rules()
    assert value(metrics, "ssescope_stalls_total", **key, kind="stall-after-created") == 1
    assert value(metrics, "ssescope_stalls_total", **key, kind="stall") == 0
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for le in EVENT_GAP_BUCKETS:
        expected = sum(1 for g in gaps if g <= le)
        got = value(metrics, "ssescope_event_gap_seconds_bucket", **key, le=repr(float(le)))
        assert got == expected, le
    assert value(metrics, "ssescope_event_gap_seconds_sum", **key) == pytest.approx(sum(gaps))
    ttfe = value(metrics, "ssescope_time_to_first_event_seconds_sum", **key)
    assert ttfe == pytest.approx(0.004)
    assert value(metrics, "ssescope_stream_duration_seconds_sum", **key) == pytest.approx(
        times[-1] + 0.001
    )


async def test_a_history_rejected_exchange_counts_one_thread_killer(tmp_path: Path) -> None:
    metrics = ProxyMetrics()
    body = {"model": "m", "input": "hi", "stream": True, "tools": [{"type": "web_search"}]}
    rejected = trequest(body=body)
    error = b'{"error": {"message": "tool type must be function"}}'
    flow = tflow(rejected, record_dir=tmp_path)  # (the judge is told the request, as in the app)
    await play(counted(flow, metrics), [error], status=400, headers={})
    assert "history-rejected" in flow.exchange.rules(), flow.exchange.rules()
    await play(counted(tflow(model_request("m")), metrics), response_events("hi"))
    key = {"upstream": "default", "model": "m"}
    assert value(metrics, "ssescope_thread_killers_total", **key) == 1
    assert value(metrics, "ssescope_findings_total", **key, rule="history-rejected",
                 severity="error") == 1  # fmt: skip


async def test_models_beyond_the_cap_are_folded_into_other() -> None:
    metrics = ProxyMetrics(max_models=2)
    for model in ("a", "b", "c", "d", "a"):
        await play(counted(tflow(model_request(model)), metrics), response_events("hi"))
    labels = {"upstream": "default", "path": "/v1/responses", "status_class": "2xx"}
    counts = {
        model: value(metrics, "ssescope_exchanges_total", **labels, model=model)
        for model in ("a", "b", "c", "d", OTHER)
    }
    assert counts == {"a": 2, "b": 1, "c": 0, "d": 0, OTHER: 2}


async def test_a_named_upstream_labels_the_path_as_the_upstream_sees_it() -> None:
    metrics = ProxyMetrics()
    request = model_request("m", path="/gpu2/v1/responses", upstream="gpu2")
    await play(counted(tflow(request), metrics), response_events("hi"))
    assert value(metrics, "ssescope_exchanges_total", upstream="gpu2", model="m",
                 path="/v1/responses", status_class="2xx") == 1  # fmt: skip


async def test_what_is_not_judged_is_counted_as_an_exchange_only() -> None:
    metrics = ProxyMetrics()
    flow = counted(tflow(trequest("GET", "/v1/models")), metrics)
    await play(flow, [b'{"data": []}'], headers={"content-type": "application/json"})
    assert flow.exchange.run is None
    assert value(metrics, "ssescope_exchanges_total", upstream="default", model="none",
                 path="/v1/models", status_class="2xx") == 1  # fmt: skip
    samples = [s for m in metrics.registry.collect() for s in m.samples]
    assert not [s for s in samples if s.name.startswith("ssescope_client_outcomes")]


async def test_in_flight_counts_open_exchanges_and_a_dropped_part_leaves() -> None:
    metrics = ProxyMetrics()
    hub = ExchangeHub()
    first = counted(tflow(model_request("m"), hub=hub), metrics)
    second = counted(tflow(model_request("m"), hub=hub), metrics)
    first.start()
    second.start()
    assert value(metrics, "ssescope_exchanges_in_flight", upstream="default") == 2
    second.close()  # e.g. the part was dropped: it is no longer counted in flight
    assert value(metrics, "ssescope_exchanges_in_flight", upstream="default") == 1
    first.end(EndReason.INTERRUPTED, "the client went away first")
    first.close()
    assert value(metrics, "ssescope_exchanges_in_flight", upstream="default") == 0
    assert value(metrics, "ssescope_exchanges_total", upstream="default", model="m",
                 path="/v1/responses", status_class="none") == 1  # fmt: skip


async def test_an_error_status_is_counted_by_its_class() -> None:
    metrics = ProxyMetrics()
    body = b'{"error": {"message": "overloaded"}}'
    await play(counted(tflow(model_request("m")), metrics), [body], status=503, headers={})
    assert value(metrics, "ssescope_exchanges_total", upstream="default", model="m",
                 path="/v1/responses", status_class="5xx") == 1  # fmt: skip
    assert value(metrics, "ssescope_findings_total", upstream="default", model="m",
                 rule="http-status", severity="error") == 1  # fmt: skip


async def test_the_exposition_is_prometheus_text() -> None:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    metrics = ProxyMetrics()
    await play(counted(tflow(model_request("m")), metrics), response_events("hi"))
    text = generate_latest(metrics.registry).decode()
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {
        "ssescope_exchanges",
        "ssescope_findings",
        "ssescope_client_outcomes",
        "ssescope_stalls",
        "ssescope_thread_killers",
        "ssescope_time_to_first_event_seconds",
        "ssescope_event_gap_seconds",
        "ssescope_stream_duration_seconds",
        "ssescope_exchanges_in_flight",
    } <= names
    assert 'ssescope_event_gap_seconds_bucket{le="+Inf",model="m",upstream="default"} 7.0' in text


def test_a_log_record_names_the_upstream_and_every_client() -> None:
    hub = ExchangeHub()
    flow = tflow(model_request("m", upstream="gpu2"), hub=hub)
    flow.start()
    flow.end(EndReason.CONNECT_ERROR, "refused", t_end=0.01)
    record = flow.exchange.log_record()
    assert record["upstream"] == "gpu2" and record["clients"] == []  # not judged: no answer
    assert record["id"] == flow.exchange.id and record["end"] == "connect-error"


def test_the_grafana_dashboard_queries_only_metrics_the_proxy_exposes() -> None:
    import json
    import re
    from pathlib import Path

    from prometheus_client import generate_latest

    import ssescope.proxy

    dashboard = Path(ssescope.proxy.__file__).parent / "grafana-dashboard.json"
    doc = json.loads(dashboard.read_text())
    exprs = [t["expr"] for panel in doc["panels"] for t in panel["targets"]]
    used = {name for e in exprs for name in re.findall(r"ssescope_[a-z_]+", e)}
    metrics = ProxyMetrics()
    exposed_families = {f.name for f in metrics.registry.collect()}
    suffixes = ("", "_total", "_bucket", "_count", "_sum")
    exposed = {name + s for name in exposed_families for s in suffixes}
    assert used and used <= exposed, used - exposed
    assert {f"{n}_total" for n in ("ssescope_findings", "ssescope_client_outcomes")} <= used
    assert generate_latest(metrics.registry)  # renders with no series yet


async def test_client_outcomes_follow_the_client_option() -> None:
    metrics = ProxyMetrics()
    flow = tflow(model_request("m"), options=CheckOptions(clients=("codex",)))
    await play(counted(flow, metrics), response_events("hi"))
    samples = [
        s.labels["client"]
        for m in metrics.registry.collect()
        for s in m.samples
        if s.name == "ssescope_client_outcomes_total"
    ]
    assert samples == ["codex"]
