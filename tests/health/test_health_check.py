"""End to end: `check URL --server BASE` polls while it reads, diagnoses, records samples in the
capture (and the replay keeps them); `ssescope health` prints snapshots. Real sockets only."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest

from ssescope.cli import main
from ssescope.cli.check import check_file, read_url
from ssescope.core.capture import open_source
from ssescope.core.checker import CheckOptions
from ssescope.core.live import build_request
from ssescope.health.command import config_from_args
from ssescope.health.monitor import HealthConfig
from tests.health import fixtures as fx
from tests.health.fake_servers import FakeServer, Route, free_port
from tests.scripted_server import Reply, ScriptedServer
from tests.test_live import EVENTS, frames

STALLED = Reply(chunks=frames(EVENTS[:2]), hold=True)  # created, in_progress, then nothing


def vllm_at_capacity() -> FakeServer:
    return FakeServer(
        {
            "/health": Route(200, ""),
            "/metrics": Route(200, fx.vllm_metrics(running=8, waiting=3, kv=0.97)),
        }
    )


@pytest.mark.looptime  # 1.2 s of stall and 0.1 s polls on virtual loop time, servers in the loop
async def test_check_with_server_diagnoses_records_and_replays(tmp_path: Path) -> None:
    record = tmp_path / "stall.jsonl"
    async with ScriptedServer(STALLED) as sse, vllm_at_capacity() as srv:
        result = await read_url(
            build_request(sse.url),
            CheckOptions(stall_warn=0.4),
            max_wait=1.2,
            record=str(record),
            health=HealthConfig(server=srv.url, interval=0.1),
            clock=asyncio.get_running_loop().time,
        )
        assert srv.wait_hits("/metrics", 1)  # already true: returns at once
    d = result["diagnosis"]
    assert d["rule"] == "queued-at-capacity" and d["ongoing"] is True
    assert d["sentence"].endswith(
        "after response.created: queued, the server is at capacity "
        "(8 running, 3 waiting, KV cache 97%)."
    )
    assert d["evidence"]["waiting"] == 3 and d["evidence"]["kv_cache_usage"] == 0.97
    samples = result["health"]["samples"]
    assert len(samples) >= 3 and all(s["source"] == "server" for s in samples)
    assert samples[0]["kind"] == "vllm" and samples[0]["waiting"] == 3
    assert result["diagnoses"][0]["rule"] == "queued-at-capacity"
    # samples sit on the stream's clock, inside the read
    assert 0 <= samples[0]["t"] <= samples[-1]["t"] <= result["end"]["t"] + 0.01

    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert lines[0]["format"] == "ssescope-capture" and lines[0]["response"]["status"] == 200
    recorded = [x for x in lines if "sample" in x]
    assert len(recorded) == len(samples) and recorded[0]["sample"]["waiting"] == 3
    assert all(x["t"] == x["sample"]["t"] for x in recorded)

    src = open_source(record)
    replay = check_file(str(record), CheckOptions(stall_warn=0.4))[0]
    assert len(src.records) == 0  # the source above was not iterated; the replay's was
    assert replay["diagnosis"]["rule"] == "queued-at-capacity"
    assert replay["diagnosis"]["sentence"] == d["sentence"]
    assert [s["t"] for s in replay["health"]["samples"]] == [s["t"] for s in samples]


def test_samples_before_the_headers_wait_for_the_header_line(tmp_path: Path) -> None:
    from ssescope.health.samples import ServerSample
    from ssescope.health.tracker import SampleCaptureWriter

    path = tmp_path / "c.jsonl"
    w = SampleCaptureWriter(path, url="http://x/v1/responses")
    w.write_sample(ServerSample(t=0.01, kind="vllm"))
    w.write_response(200, {"content-type": "text/event-stream"}, t=0.02)
    w.write_chunk(0.03, b": hi\n\n")
    w.write_sample(ServerSample(t=0.04, kind="vllm"))
    w.write_end(0.05, "eof")
    w.close()
    w.write_sample(ServerSample(t=0.06))  # after close: ignored
    kinds = [
        next(iter(k for k in json.loads(x) if k != "t")) for x in path.read_text().splitlines()
    ]
    assert kinds == ["format", "sample", "text", "sample", "end"]


def test_check_cli_json_has_the_diagnosis_and_the_report_shows_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ScriptedServer(STALLED).running() as sse, vllm_at_capacity().running() as srv:
        common = ["--server", srv.url, "--stall-warn", "0.3", "--max-wait", "0.9"]
        code = main(["check", sse.url, *common, "--health-interval", "0.1", "--json"])
        doc = json.loads(capsys.readouterr().out)
        main(["check", sse.url, *common, "--health-interval", "0.1"])
        report = capsys.readouterr().out
    assert code == 1  # the stall is an error finding, as without --server
    assert doc["diagnosis"]["rule"] == "queued-at-capacity"
    assert doc["health"]["latest"]["server"]["running"] == 8
    assert "Diagnosis [queued-at-capacity]" in report and "waiting" in report


@pytest.mark.looptime  # the 0.6 s of silence on virtual loop time, the server in the same loop
async def test_check_without_server_still_diagnoses_from_the_stream(tmp_path: Path) -> None:
    async with ScriptedServer(STALLED) as sse:
        result = await read_url(
            build_request(sse.url),
            CheckOptions(stall_warn=0.3),
            max_wait=0.6,
            clock=asyncio.get_running_loop().time,
        )
    assert result["health"] is None
    assert result["diagnosis"]["rule"] == "stalled"
    assert (
        "no server or GPU readings to say why (add --server URL)" in result["diagnosis"]["sentence"]
    )


def test_check_of_a_file_has_no_diagnosis_and_rejects_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = Path(__file__).resolve().parents[2] / "sample_streams" / "call-id-changed.sse"
    result = check_file(str(sample), CheckOptions())[0]
    assert result["diagnosis"] is None and result["health"] is None
    assert main(["check", str(sample), "--server", "http://127.0.0.1:1"]) == 2
    assert "apply to URLs only" in capsys.readouterr().err


def test_server_option_without_value_uses_the_sources_host() -> None:
    ns = argparse.Namespace(
        server="auto",
        gpu=None,
        gpu_cmd=None,
        prometheus=None,
        gpu_match="",
        health_interval=1.0,
        server_kind=None,
    )
    cfg = config_from_args(ns, "http://10.1.2.3:8000/v1/responses")
    assert cfg is not None and cfg.server == "http://10.1.2.3:8000"
    ns.gpu, ns.prometheus = "local", "http://p:9090"
    with pytest.raises(ValueError, match="one GPU source"):
        config_from_args(ns, "http://h/v1")


# -- ssescope health --------------------------------------------------------------------------


def test_health_json_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    with vllm_at_capacity().running() as srv:
        code = main(["health", "--server", srv.url, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    s = doc["server"]
    assert (s["kind"], s["running"], s["waiting"], s["kv_cache_usage"]) == ("vllm", 8, 3, 0.97)
    assert s["health"]["state"] == "ok" and "raw" not in s


def test_health_table_raw_and_watch(capsys: pytest.CaptureFixture[str]) -> None:
    with vllm_at_capacity().running() as srv:
        assert main(["health", "--server", srv.url]) == 0
        table = capsys.readouterr().out
        assert main(["health", "--server", srv.url, "--json", "--raw"]) == 0
        raw = json.loads(capsys.readouterr().out)["server"]["raw"]
        code = main(
            [
                "health",
                "--server",
                srv.url,
                "--watch",
                "--json",
                "--count",
                "3",
                "--interval",
                "0.05",
            ]
        )
        lines = capsys.readouterr().out.splitlines()
    assert "waiting" in table and "vllm:kv_cache_usage_perc" in table
    assert raw["vllm:num_requests_waiting"][0][1] == 3
    assert code == 0 and len(lines) == 3 and all(json.loads(x)["source"] == "server" for x in lines)


def test_health_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health", "--server", f"http://127.0.0.1:{free_port()}", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["server"]["health"]["state"] == "refused"
    assert main(["health"]) == 2
    assert main(["health", "--gpu", "tpu=1"]) == 2
    assert "expected local, dcgm=URL" in capsys.readouterr().err
    assert main(["health", "--gpu", "local", "--json"]) == 0  # no GPU here: a state, exit 0
    assert json.loads(capsys.readouterr().out)["gpu"]["state"] in ("ok", "unavailable")
