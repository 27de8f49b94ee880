"""The one redaction policy (``ssescope.core.redact``) and every exit it guards: captures,
``check --json`` and the report, exports, the TUI's header, the proxy's headless lines and
captures, logs, error messages, default capture file names and the engine's own answers.

Every exit test sends the same secrets through a real run on 127.0.0.1 and asserts that none of
them comes out (:data:`SECRETS`)."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssescope.cli.common import configure_logging
from ssescope.core.checker import CheckOptions
from ssescope.core.export import export_run
from ssescope.core.live import build_request
from ssescope.core.redact import (
    REDACTED,
    RedactingFilter,
    is_secret_name,
    redact_body,
    redact_headers,
    redact_text,
    redact_url,
    url_host,
)
from ssescope.core.run import Run, RunInfo
from ssescope.engine.app import EngineConfig
from ssescope.engine.serve import serve
from ssescope.proxy.command import HeadlessPrinter, banner, format_line
from ssescope.tui.app import AppConfig, SseScopeApp
from ssescope.tui.command import default_record_path
from ssescope.tui.widgets import FindingsPanel
from tests.engine.helpers import FakeUpstream, UpstreamConn, text_stream
from tests.proxy.helpers import Request, Upstream, fetch, response_events, running_proxy
from tests.scripted_server import Reply, ScriptedServer
from tests.support.server import FakeServer, Route
from tests.tui.conftest import wait_for

SECRETS = ("pw-USERINFO", "SIG-QUERY", "SUB-QUERY", "APIM-HDR", "XAUTH-HDR", "BODY-KEY",
           "META-TOKEN", "COOKIE-VAL")  # fmt: skip
"""Every secret the tests send; none may appear in anything ssescope shows or writes."""
QUERY = "?api-version=2024-10&sig=SIG-QUERY&subscription-key=SUB-QUERY"
HEADERS = {"Ocp-Apim-Subscription-Key": "APIM-HDR", "X-Auth-Token": "XAUTH-HDR"}
BODY = {
    "model": "m",
    "input": "hi",
    "stream": True,
    "api_key": "BODY-KEY",
    "metadata": {"token": "META-TOKEN", "team": "a"},
}


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def _stream(request: Request) -> None:
    await request.start(set_cookie="session=COOKIE-VAL; HttpOnly")
    for frame in response_events("hello"):
        await request.send(frame)
    await request.end()


async def _not_found(request: Request) -> None:
    await request.reply(404, b'{"error": {"message": "no such model"}}')


def with_userinfo(url: str) -> str:
    return url.replace("http://", "http://user:pw-USERINFO@", 1)


# -- the policy --------------------------------------------------------------------------------------


def test_header_names_by_word_and_by_list() -> None:
    headers = redact_headers(
        {
            "Authorization": "Bearer sk-1",
            "Ocp-Apim-Subscription-Key": "k",
            "X-Auth-Token": "t",
            "Set-Cookie": "s=1",
            "x-goog-api-key": "g",
            "X-Amz-Security-Token": "a",
            "x-ratelimit-remaining-tokens": "9000",
            "content-type": "text/event-stream",
            "openai-organization": "org-1",
        }
    )
    assert headers == {
        "Authorization": f"Bearer {REDACTED}",
        "Ocp-Apim-Subscription-Key": REDACTED,
        "X-Auth-Token": REDACTED,
        "Set-Cookie": REDACTED,
        "x-goog-api-key": REDACTED,
        "X-Amz-Security-Token": REDACTED,
        "x-ratelimit-remaining-tokens": "9000",
        "content-type": "text/event-stream",
        "openai-organization": "org-1",
    }


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("api_key", True),
        ("apiKey", True),
        ("clientSecret", True),
        ("access_token", True),
        ("X-Amz-Signature", True),
        ("sig", True),
        ("password", True),
        ("max_output_tokens", False),
        ("prompt_cache_key", False),
        ("api-version", False),
        ("monkey", False),
    ],
)
def test_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_urls_lose_userinfo_and_secret_query_values_only() -> None:
    url = "https://user:pw@x.example:8443/openai/v1?api-version=1&sig=abc&subscription-key=k#frag"
    assert redact_url(url) == (
        "https://***@x.example:8443/openai/v1?api-version=1&sig=[redacted]"
        "&subscription-key=[redacted]#frag"
    )
    assert redact_url("/v1/responses?key=abc&x=1") == "/v1/responses?key=[redacted]&x=1"
    assert redact_url("http://h/v1") == "http://h/v1"
    assert url_host("http://u:p@[::1]:8000/v1?key=1") == "[::1]:8000"
    assert redact_text("upstream http://u:p@h/v1?token=t: refused") == (
        "upstream http://***@h/v1?token=[redacted]: refused"
    )


def test_body_keys_at_any_depth_scalars_only() -> None:
    tool = {"type": "function", "name": "f", "parameters": {"properties": {"token": {"type": "string"}}}}  # fmt: skip
    body = {**BODY, "tools": [tool], "prompt_cache_key": "conv-1", "max_output_tokens": 5,
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "x"}]}],
            "extra": [{"password": 1234}, {"auth": {"bearer": "b"}}], "empty_token": ""}  # fmt: skip
    out = redact_body(body)
    assert out["api_key"] == REDACTED and out["metadata"] == {"token": REDACTED, "team": "a"}
    assert out["tools"] == [tool]  # a schema property named token is searched, not blanked
    assert out["prompt_cache_key"] == "conv-1" and out["max_output_tokens"] == 5
    assert out["input"] == body["input"]
    assert out["extra"] == [{"password": REDACTED}, {"auth": {"bearer": "b"}}]
    assert out["empty_token"] == ""
    assert body["api_key"] == "BODY-KEY"  # the input is not changed
    plain = {"model": "m", "input": [{"role": "user", "content": "hi"}], "prompt_cache_key": "c"}
    assert redact_body(plain) is plain  # nothing secret: passed on uncopied (the proxy's fast path)
    deep: Any = {"token": "t"}
    for _ in range(5000):
        deep = {"a": [deep]}
    out = redact_body(deep)  # no RecursionError
    for _ in range(5000):
        out = out["a"][0]
    assert out == {"token": REDACTED}


# -- check: captures, --json, the report, error messages ---------------------------------------------


def _check_args(url: str, *extra: str, body: Path) -> list[str]:
    args = ["check", with_userinfo(url) + "/responses" + QUERY, "--body", str(body)]
    for name, value in HEADERS.items():
        args += ["-H", f"{name}: {value}"]
    return [*args, *extra]


def _body_file(tmp_path: Path) -> Path:
    path = tmp_path / "body.json"
    path.write_text(json.dumps(BODY))
    return path


def test_check_json_capture_and_report_carry_no_secret(tmp_path: Path, cli: Any) -> None:
    capture = tmp_path / "run.jsonl"
    with FakeServer(_stream, base_path="/v1").running() as upstream:
        body = _body_file(tmp_path)
        as_json = cli(*_check_args(upstream.url, "--json", "--record", str(capture), body=body))
        report = cli(*_check_args(upstream.url, body=body))
        sent = upstream.requests[0]
    assert as_json.returncode == 0, as_json.stderr
    assert (
        sent.header("x-auth-token") == "XAUTH-HDR"
    )  # sent upstream as it was: only shown redacted
    doc = json.loads(as_json.stdout)
    assert doc["source"].startswith("http://***@127.0.0.1:")
    assert "api-version=2024-10&sig=[redacted]&subscription-key=[redacted]" in doc["source"]
    assert doc["http"]["headers"]["set-cookie"] == REDACTED
    assert leaks(as_json.stdout + as_json.stderr) == []
    assert report.returncode == 0 and "***@127.0.0.1" in report.stdout
    assert leaks(report.stdout + report.stderr) == []
    header = json.loads(capture.read_text().splitlines()[0])
    assert header["request"]["body"]["metadata"] == {"token": REDACTED, "team": "a"}
    assert header["request"]["headers"]["X-Auth-Token"] == REDACTED
    assert leaks(capture.read_text()) == []


def test_no_redact_keeps_secrets_in_the_capture_only(tmp_path: Path, cli: Any) -> None:
    capture = tmp_path / "raw.jsonl"
    with FakeServer(_not_found, base_path="/v1").running() as upstream:
        body = _body_file(tmp_path)
        live = cli(*_check_args(upstream.url, "--json", "--record", str(capture), "--no-redact",
                                body=body))  # fmt: skip
    raw = capture.read_text()
    assert {"SIG-QUERY", "XAUTH-HDR", "BODY-KEY", "pw-USERINFO"} <= set(leaks(raw))
    assert live.returncode == 1  # the 404 is an http-status error finding quoting the URL
    codex = json.loads(live.stdout)["codex"]["message"]  # Codex quotes the URL of a 404
    assert "url: http://***@127.0.0.1" in codex and "sig=[redacted]" in codex
    assert leaks(live.stdout + live.stderr) == []
    replayed = cli("check", str(capture), "--json")  # the capture holds them; check shows none
    assert leaks(replayed.stdout + replayed.stderr) == []
    assert "no such model" in replayed.stdout


def test_a_refused_connection_names_no_userinfo(cli: Any) -> None:
    url = f"http://user:pw-USERINFO@127.0.0.1:{dead_port()}/v1{QUERY}"
    got = cli("check", url, "--json")
    assert got.returncode == 2 and "connection refused" in got.stderr
    assert leaks(got.stdout + got.stderr) == []


def test_usage_errors_name_no_secret(cli: Any) -> None:
    got = cli("engine", "--upstream", "http://user:pw-USERINFO@[bad/v1?sig=SIG-QUERY")
    assert got.returncode == 2 and got.stderr.count("\n") == 1
    assert leaks(got.stderr) == []


# -- exports, the TUI's header, default capture names -------------------------------------------------


def _live_run(url: str) -> Run:
    run = Run(CheckOptions(), RunInfo(url, "live"))
    run.on_response(404, {"set-cookie": "s=COOKIE-VAL"}, body="gone", url=url, t=0.0)
    run.finish(0.1)
    return run


def test_exports_name_no_secret(tmp_path: Path) -> None:
    url = f"http://user:pw-USERINFO@127.0.0.1:1/v1/responses{QUERY}"
    paths = export_run(_live_run(url), tmp_path)
    text = "".join(p.read_text() for p in paths)
    assert "http://***@127.0.0.1:1/v1/responses?api-version=2024-10&sig=[redacted]" in text
    assert leaks(text) == []


async def test_the_tui_shows_no_secret(tmp_path: Path) -> None:
    body = b'{"error": {"message": "no such model"}}'
    server = ScriptedServer(Reply(status=404, headers={"Content-Type": "application/json"},
                                  chunks=[body]))  # fmt: skip
    with server.running():
        url = with_userinfo(server.url) + "/responses" + QUERY
        spec = build_request(url, extra_headers=list(HEADERS.items()))
        app = SseScopeApp(AppConfig(CheckOptions(), "connect", spec=spec, record=None,
                                    export_dir=str(tmp_path)))  # fmt: skip
        async with app.run_test(size=(160, 45)) as pilot:
            header = app.screen.query_one("#header")
            await wait_for(pilot, lambda: "HTTP 404" in str(header.render()))
            findings = app.screen.query_one(FindingsPanel)
            await wait_for(pilot, lambda: findings.option_count > 0)
            shown = [str(header.render()), str(app.screen.query_one("#codex").render())]
            shown += [str(findings.get_option_at_index(i).prompt)
                      for i in range(findings.option_count)]  # fmt: skip
            await pilot.press("e")
            await wait_for(pilot, lambda: len(list(tmp_path.glob("*.report.md"))) == 1)
            await pilot.press("q")
    assert any("***@127.0.0.1" in text for text in shown)
    assert any("url: http://***@127.0.0.1" in text for text in shown)  # the http-status finding
    exported = "".join(p.read_text() for p in tmp_path.iterdir())
    assert leaks("".join(shown) + exported) == []


def test_default_capture_file_names_carry_no_secret() -> None:
    name = Path(default_record_path(f"http://user:pw-USERINFO@gpu1:8000/v1{QUERY}")).name
    assert name.endswith("-gpu1_8000.jsonl") and leaks(name) == []


# -- the proxy: headless lines, --json, captures, the banner, its 502 --------------------------------


async def test_proxy_lines_json_and_captures_carry_no_secret(tmp_path: Path) -> None:
    async with (
        Upstream(_stream) as upstream,
        running_proxy(with_userinfo(upstream.url), tmp_path) as proxy,
    ):
        got = await fetch("POST", f"{proxy.url}/responses{QUERY}", json_body=BODY, headers=HEADERS)
        (exchange,) = await proxy.ended()
        shown_banner = banner(proxy.config, proxy.url)
    assert got.status == 200 and got.header("set-cookie") == "session=COOKIE-VAL; HttpOnly"
    assert upstream.requests[0].path.endswith(QUERY)  # forwarded unchanged
    line = format_line(exchange)
    assert f"POST /v1/responses?api-version=2024-10&sig={REDACTED}" in line
    as_json = json.dumps(exchange.to_dict())
    assert "http://***@127.0.0.1" in as_json
    assert exchange.request_body["metadata"]["token"] == REDACTED
    assert exchange.request_headers["x-auth-token"] == REDACTED
    captures = sorted(proxy.record_dir.glob("*"))
    assert [p.name.endswith("-POST-v1-responses.jsonl") for p in captures] == [True]
    text = captures[0].read_text()
    assert json.loads(text.splitlines()[0])["response"]["headers"]["set-cookie"] == REDACTED
    assert leaks(line + as_json + shown_banner + text) == []


async def test_proxy_no_redact_keeps_secrets_in_captures_only(tmp_path: Path) -> None:
    out: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            out.append(text)

        def flush(self) -> None:
            pass

    async with (
        Upstream(_stream) as upstream,
        running_proxy(upstream.url, tmp_path, redact=False) as proxy,
    ):
        proxy.hub.subscribe(HeadlessPrinter(Out(), json_lines=True))
        await fetch("POST", f"{proxy.url}/responses{QUERY}", json_body=BODY, headers=HEADERS)
        await proxy.ended()
    (capture,) = proxy.record_dir.glob("*.jsonl")
    assert {"SIG-QUERY", "XAUTH-HDR", "BODY-KEY", "COOKIE-VAL"} <= set(leaks(capture.read_text()))
    assert out and leaks("".join(out)) == []


async def test_proxy_502_names_no_userinfo() -> None:
    upstream = f"http://user:pw-USERINFO@127.0.0.1:{dead_port()}/v1{QUERY}"
    async with running_proxy(upstream) as proxy:
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        (exchange,) = await proxy.ended()
    assert got.status == 502 and b"127.0.0.1" in got.body
    assert leaks(got.body.decode() + format_line(exchange) + json.dumps(exchange.to_dict())) == []


# -- the engine: its 502, /health, its banner and logs ------------------------------------------------


async def test_engine_answers_name_no_upstream_secret() -> None:
    upstream = f"http://user:pw-USERINFO@127.0.0.1:{dead_port()}/v1{QUERY}"
    async with serve(EngineConfig(upstream=upstream)) as engine, httpx.AsyncClient() as client:
        failed = await client.post(f"{engine.base_url}/responses", json=BODY)
        health = await client.get(f"http://127.0.0.1:{engine.port}/health")
    assert failed.status_code == 502 and "cannot connect" in failed.json()["error"]["message"]
    assert health.json()["upstream"].startswith("http://***@127.0.0.1")
    assert leaks(failed.text + health.text) == []


def test_engine_banner_names_no_secret(cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from ssescope.engine.command import _banner

    class Running:
        config = EngineConfig(upstream=f"http://user:pw-USERINFO@gpu1:8000/v1{QUERY}")
        base_url = "http://127.0.0.1:8788/v1"

    text = _banner(Running())
    assert "http://***@gpu1:8000/v1/chat/completions?api-version=2024-10" in text
    assert leaks(text) == []


def test_logs_go_through_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    configure_logging(logging.INFO, "%(message)s")
    (handler,) = root.handlers
    assert any(isinstance(f, RedactingFilter) for f in handler.filters)
    records: list[str] = []
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    try:
        raise ValueError("reading http://u:pw-USERINFO@h/v1?sig=SIG-QUERY failed")
    except ValueError:
        logging.getLogger("ssescope.engine").exception("upstream %s", "http://h/?key=SUB-QUERY")
    assert records and "upstream http://h/?key=[redacted]" in records[0]
    assert "ValueError: reading http://***@h/v1?sig=[redacted] failed" in records[0]
    assert leaks("".join(records)) == []


def test_check_server_samples_name_no_userinfo(cli: Any) -> None:
    routes = {"/health": Route(200, "ok"), "/metrics": Route(200, "vllm:num_requests_waiting 0\n")}
    with FakeServer(_stream, routes=routes, base_path="/v1").running() as upstream:
        url = with_userinfo(upstream.url) + "/responses" + QUERY
        got = cli("check", url, "--server", "--health-interval", "0.1", "--grace", "0", "--json")
    doc = json.loads(got.stdout)
    assert doc["health"]["latest"]["server"]["url"].startswith("http://***@127.0.0.1:")
    assert leaks(got.stdout + got.stderr) == []


async def _chat(conn: UpstreamConn) -> None:
    await conn.stream(text_stream("hello"))


async def test_proxy_translate_shows_and_records_no_secret(tmp_path: Path) -> None:
    async with (
        FakeUpstream(_chat) as upstream,
        running_proxy(with_userinfo(upstream.url) + QUERY, tmp_path, translate=True) as proxy,
    ):
        headers = {**HEADERS, "Authorization": "Bearer sk-FORWARDED"}
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY, headers=headers)
        (exchange,) = await proxy.ended()
    assert got.status == 200
    assert upstream.requests[0].header("authorization") == "Bearer sk-FORWARDED"
    assert exchange.url.startswith("engine → http://***@127.0.0.1:")
    # the header lines; the stream's own bytes are kept exactly as received (the Response object
    # echoes the request's metadata: the client sent it, and a capture never alters evidence)
    text = "".join(p.read_text().splitlines()[0] for p in proxy.record_dir.glob("*.jsonl"))
    assert "Bearer [redacted]" in text
    shown = format_line(exchange) + json.dumps(exchange.to_dict()) + text
    assert leaks(shown) == [] and "sk-FORWARDED" not in shown
