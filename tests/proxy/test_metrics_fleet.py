"""The proxy in front of a fleet: named upstreams routed by path prefix (real sockets), the
captures' disk budget, ``--log-json``, and the options that configure them."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
from pathlib import Path

import httpx
import pytest

from ssescope.cli import build_parser
from ssescope.cli import main as cli_main
from ssescope.proxy.command import HeadlessPrinter, _log_to, build_config, byte_size
from ssescope.proxy.config import ProxyConfig
from ssescope.proxy.rotate import CaptureBudget
from tests.proxy.factories import play, tflow, trequest
from tests.proxy.helpers import Handler, Request, Upstream, fetch, response_events, running_proxy

BODY = {"model": "m", "input": "hi", "stream": True}


def _answer(name: str) -> Handler:
    async def handler(request: Request) -> None:
        if request.method == "GET":
            await request.reply(200, json.dumps({"upstream": name}).encode())
        else:
            await request.stream(response_events(f"from {name}"))

    return handler


# -- routing -----------------------------------------------------------------------------------------


async def test_named_upstreams_are_reached_under_their_prefix(tmp_path: Path) -> None:
    async with (
        Upstream(_answer("a")) as a,
        Upstream(_answer("b")) as b,
        running_proxy(a.url, tmp_path, upstreams={"gpu2": b.url}) as proxy,
    ):
        origin = proxy.url.removesuffix("/v1")
        plain = await fetch("GET", f"{origin}/v1/models")
        named = await fetch("GET", f"{origin}/gpu2/v1/models?x=1")
        stream = await fetch("POST", f"{origin}/gpu2/v1/responses", json_body=BODY)
        exchanges = await proxy.ended(3)
    assert json.loads(plain.body) == {"upstream": "a"}
    assert json.loads(named.body) == {"upstream": "b"}
    assert b"from b" in stream.body
    assert [r.path for r in a.requests] == ["/v1/models"]
    assert [r.path for r in b.requests] == ["/v1/models?x=1", "/v1/responses"]
    assert b.requests[0].header("host") == b.url.split("/")[2]
    assert [e.request.upstream_name for e in exchanges if e.request] == ["default", "gpu2", "gpu2"]
    assert exchanges[1].path == "/gpu2/v1/models?x=1"
    assert exchanges[2].run is not None and exchanges[2].prediction.outcome == "ok"  # type: ignore[union-attr]


def test_routes_by_the_first_path_segment() -> None:
    config = ProxyConfig(
        upstream="http://a:1/v1", upstreams={"gpu2": "http://b:2/v1", "cpu": "http://c:3"}
    )
    assert config.route("/v1/responses") == ("default", "/v1/responses")
    assert config.route("/gpu2/v1/responses") == ("gpu2", "/v1/responses")
    assert config.route("/gpu2") == ("gpu2", "/")
    assert config.route("/gpu22/v1/responses") == ("default", "/gpu22/v1/responses")
    assert config.targets["gpu2"].url_for("/v1/responses") == "http://b:2/v1/responses"
    assert config.targets["cpu"].url_for("/health") == "http://c:3/health"
    for bad in ("v1", "-x", "a b"):
        with pytest.raises(ValueError, match="a name is"):
            ProxyConfig(upstream="http://a:1/v1", upstreams={bad: "http://b:2/v1"})


# -- options -----------------------------------------------------------------------------------------


def _config(*args: str) -> ProxyConfig:
    return build_config(build_parser().parse_args(["proxy", *args]))


def test_the_fleet_options_configure_the_proxy() -> None:
    config = _config(
        "--upstream", "http://a:1/v1", "--upstream", "gpu2=http://b:2/v1", "--log-json",
        "--metrics", "127.0.0.1:0", "--record-dir", "/tmp/x", "--record-max-bytes", "10M",
        "--metrics-max-models", "7",
    )  # fmt: skip
    assert config.upstream == "http://a:1/v1" and config.default_name == "default"
    assert config.upstreams == {"gpu2": "http://b:2/v1"}
    assert config.metrics == ("127.0.0.1", 0) and config.metrics_max_models == 7
    assert config.record_max_bytes == 10 << 20
    assert config.log_json and config.headless and config.keep_exchanges == 100
    only_named = _config("--upstream", "a=http://a:1/v1", "--upstream", "b=http://b:2/v1")
    assert only_named.upstream == "http://a:1/v1" and only_named.default_name == "a"
    assert only_named.keep_exchanges == 1000 and only_named.metrics is None  # the UI, bounded
    assert _config("--upstream", "http://h/v1?k=a=b").upstream == "http://h/v1?k=a=b"
    assert _config("--upstream", "http://h/v1", "--keep-exchanges", "5").keep_exchanges == 5


def test_sizes_take_units() -> None:
    assert byte_size("1000") == 1000
    assert byte_size("500k") == 500 << 10
    assert byte_size("1.5G") == int(1.5 * (1 << 30))
    assert byte_size("2GiB") == 2 << 30 and byte_size("3MB") == 3 << 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--upstream", "http://a/v1", "--upstream", "http://b/v1"], "one plain --upstream"),
        (["--upstream", "x=http://a/v1", "--upstream", "x=http://b/v1"], "given twice"),
        (
            ["--upstream", "http://a/v1", "--upstream", "x=http://b/v1", "--translate"],
            "--translate takes one upstream",
        ),
        (["--upstream", "v1=http://a/v1"], "a name is"),
        (["--upstream", "x=ftp://a"], "not an http(s) URL"),
        (["--upstream", "http://a/v1", "--record-max-bytes", "lots"], "expected a size"),
        (
            ["--upstream", "http://a/v1", "--no-record", "--record-max-bytes", "1M"],
            "--record-max-bytes needs recording",
        ),
        (["--upstream", "http://a/v1", "--metrics", "x:y"], "expected HOST:PORT"),
    ],
)
def test_bad_fleet_arguments_are_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["proxy", *args, "--headless"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) <= 3, err


def test_a_taken_metrics_port_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        status = cli_main(
            ["proxy", "--upstream", "http://127.0.0.1:9/v1", "--listen", "127.0.0.1:0",
             "--metrics", f"127.0.0.1:{port}", "--headless", "--no-record"]
        )  # fmt: skip
    assert status == 2
    assert f"cannot serve metrics on 127.0.0.1:{port}" in capsys.readouterr().err


# -- the disk budget ---------------------------------------------------------------------------------


def _file(path: Path, size: int, mtime: float) -> Path:
    path.write_bytes(b"x" * size)
    os.utime(path, (mtime, mtime))
    return path


def test_the_budget_removes_the_oldest_first_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = _file(tmp_path / "b-old.jsonl", 400, 1000)
    older = _file(tmp_path / "a-older.jsonl", 400, 500)
    budget = CaptureBudget(str(tmp_path), 1000)
    assert budget.total == 800 and budget.removed == 0  # what a restart finds counts
    new = _file(tmp_path / "c-new.jsonl", 300, 2000)
    with caplog.at_level(logging.INFO, "ssescope.proxy"):
        budget.add([str(new), str(tmp_path / "never-written.jsonl")])
    assert not older.exists() and old.exists() and new.exists()
    assert budget.total == 700 and budget.removed == 1
    (line,) = [r.getMessage() for r in caplog.records]
    assert "removed the 1 oldest capture(s) (400 B)" in line and "700 B in 2 file(s)" in line
    huge = _file(tmp_path / "d-huge.jsonl", 5000, 3000)
    budget.add([str(huge)])
    assert huge.exists() and not old.exists() and not new.exists()  # the newest always stays
    assert [Path(p).name for p, _ in budget.files] == ["d-huge.jsonl"]


async def test_the_proxy_keeps_its_captures_within_the_budget(tmp_path: Path) -> None:
    async with (
        Upstream(_answer("a")) as upstream,
        running_proxy(upstream.url, tmp_path, record_max_bytes=6000) as proxy,
    ):
        for _ in range(12):
            await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        exchanges = await proxy.ended(12)
        assert proxy.app.budget is not None
        removed = proxy.app.budget.removed
    sizes = [p.stat().st_size for p in proxy.record_dir.glob("*.jsonl")]
    assert sum(sizes) <= 6000 and removed == 12 - len(sizes) > 0
    kept = sorted(p.name for p in proxy.record_dir.glob("*.jsonl"))
    newest = [Path(e.record_path or "").name for e in exchanges[-len(kept) :]]
    assert kept == sorted(newest)  # the oldest went first


# -- --log-json ----------------------------------------------------------------------------------------


async def test_log_json_lines_carry_the_upstream_and_every_client() -> None:
    out = io.StringIO()
    printer = HeadlessPrinter(out, log_json=True)
    flow = await play(tflow(trequest()), response_events("hi"))
    printer("end", flow.exchange)
    (line,) = out.getvalue().splitlines()
    doc = json.loads(line)
    assert doc["upstream"] == "default" and doc["summary"] == "clean"
    assert {c["client"] for c in doc["clients"]} >= {"codex"}
    assert all(c["outcome"] == "ok" for c in doc["clients"])
    assert set(flow.exchange.to_dict()) < set(doc)  # --json's line, plus


def test_log_json_writes_the_proxys_log_lines_as_json() -> None:
    err = io.StringIO()
    remove = _log_to(err, json_lines=True)
    try:
        logging.getLogger("ssescope.proxy").info("capture budget %s: removed", "1 MB")
    finally:
        remove()
    doc = json.loads(err.getvalue())
    assert doc["level"] == "info" and doc["message"] == "capture budget 1 MB: removed"
    logging.getLogger("ssescope.proxy").info("not captured once removed")
    assert err.getvalue().count("\n") == 1


# -- with the terminal UI ------------------------------------------------------------------------------


async def test_the_terminal_ui_serves_metrics_too(tmp_path: Path) -> None:
    from ssescope.engine.serve import mock_engine
    from ssescope.tui.proxy_view import ProxyApp
    from tests.tui.conftest import wait_for

    async with mock_engine() as upstream:
        config = ProxyConfig(
            upstream=upstream, port=0, record_dir=str(tmp_path), metrics=("127.0.0.1", 0)
        )
        app = ProxyApp(config)
        async with app.run_test(size=(170, 45)) as pilot:
            await wait_for(pilot, lambda: app.url is not None)
            assert config.metrics is not None and config.metrics[1] != 0  # the bound port
            body = {"model": "mock-text+delta-object", "input": "hi", "stream": True}
            async with httpx.AsyncClient(timeout=30) as client:
                assert (await client.post(f"{app.url}/responses", json=body)).status_code == 200
                await wait_for(pilot, lambda: len(app.hub) == 1 and not app.hub.get(1).open)  # type: ignore[union-attr]
                scraped = await client.get(f"http://127.0.0.1:{config.metrics[1]}/metrics")
    text = scraped.text
    labels = (
        'model="mock-text+delta-object",path="/v1/responses",status_class="2xx",upstream="default"'
    )
    assert f"ssescope_exchanges_total{{{labels}}} 1.0" in text
    assert 'rule="delta-not-string"' in text
