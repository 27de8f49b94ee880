"""Integration: a real Prometheus (Debian's package) scrapes ``ssescope proxy --headless
--metrics`` (a real process) on 127.0.0.1 while a known mix of clean and faulty exchanges goes
through it to the engine's mock (faults by model suffix), over two named upstreams; PromQL over
Prometheus's HTTP API must count exactly the traffic sent and the judgement the proxy logged
(``--log-json``, one line per exchange).

Skipped when the ``prometheus`` binary is not installed (CI: ``apt-get install -y prometheus``).
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssescope.engine.app import EngineConfig
from ssescope.engine.mock import MockOptions
from ssescope.engine.serve import serve
from tests.support.net import free_port

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "ssescope" / "proxy" / "grafana-dashboard.json"
pytestmark = [
    pytest.mark.skipif(
        PROMETHEUS is None,
        reason="the prometheus binary is not installed (Debian: apt-get install -y prometheus)",
    ),
    pytest.mark.slow,
]

# (upstream prefix, model) in the order sent; the mock answers by model, faults by suffix
TRAFFIC = [
    ("", "mock-text"),
    ("/gpu2", "mock-text"),
    ("", "mock-text+delta-object"),
    ("/gpu2", "mock-text+delta-object"),
    ("", "mock-text+cut"),
    ("", "mock-text"),
    ("/gpu2", "mock-text+stall-after-created"),  # the client gives up after STALL_CLIENT_WAIT
    ("/gpu2", "mock-text+http-400"),  # sent with a hosted tool: a thread killer (history-rejected)
]
STALL_CLIENT_WAIT = 1.5


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A Prometheus scraping ``127.0.0.1:METRICS_PORT`` every second: ``(its URL, that port)``."""
    port, metrics_port = free_port(), free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: ssescope\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{metrics_port}']\n"
    )
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}", metrics_port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


class ProxyProcess:
    """``python -m ssescope proxy …`` with its stdout (one JSON line per exchange) read live."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.records: list[dict[str, Any]] = []
        self.stderr: list[str] = []

    async def banner(self) -> None:
        assert self.proc.stderr is not None
        async with asyncio.timeout(30):
            while True:
                line = (await self.proc.stderr.readline()).decode()
                assert line, f"the proxy exited: {''.join(self.stderr)}"
                self.stderr.append(line)
                if "metrics: http://" in line:
                    return

    async def exchanges(self, count: int) -> list[dict[str, Any]]:
        """Wait for ``count`` log lines (each written after the exchange was counted)."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(30):
            while len(self.records) < count:
                line = await self.proc.stdout.readline()
                assert line, "the proxy closed its stdout"
                self.records.append(json.loads(line))
        return self.records


@pytest.fixture
async def proxy(tmp_path: Path, prometheus: tuple[str, int]) -> AsyncIterator[ProxyProcess]:
    async with serve(EngineConfig(mock=MockOptions())) as engine:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ssescope", "proxy",
            "--upstream", engine.base_url, "--upstream", f"gpu2={engine.base_url}",
            "--listen", f"127.0.0.1:{free_port()}", "--metrics", f"127.0.0.1:{prometheus[1]}",
            "--log-json", "--record-dir", str(tmp_path / "captures"), "--stall-warn", "0.5",
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        running = ProxyProcess(proc)
        try:
            await running.banner()
            yield running
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


def _listen(process: ProxyProcess) -> str:
    (line,) = [s for s in process.stderr if s.startswith("ssescope proxy ")]
    return line.split(": ", 1)[1].split(" ", 1)[0].removesuffix("/v1")


async def _send(origin: str) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        for prefix, model in TRAFFIC:
            body: dict[str, Any] = {"model": model, "input": "hi", "stream": True}
            url = f"{origin}{prefix}/v1/responses"
            if "http-400" in model:
                body["tools"] = [{"type": "web_search"}]  # Codex sends it on every turn
                assert (await client.post(url, json=body)).status_code == 400
            elif "stall" in model:
                timeout = httpx.Timeout(30, read=STALL_CLIENT_WAIT)
                with pytest.raises(httpx.ReadTimeout):
                    async with client.stream("POST", url, json=body, timeout=timeout) as r:
                        await r.aread()
            else:
                response = await client.post(url, json=body)
                assert response.status_code == 200, response.text
        assert (await client.get(f"{origin}/gpu2/v1/models")).status_code == 200


async def _query(prom: httpx.AsyncClient, promql: str) -> dict[tuple[str, ...], float]:
    """An instant query: label values (in the order of the ``by``) → value."""
    reply = (await prom.get("/api/v1/query", params={"query": promql})).json()
    assert reply["status"] == "success", reply
    by = promql.split("by (", 1)[1].split(")", 1)[0].split(", ") if "by (" in promql else []
    return {
        tuple(r["metric"].get(k, "") for k in by): float(r["value"][1])
        for r in reply["data"]["result"]
    }


async def _scraped(prom: httpx.AsyncClient, total: int) -> None:
    """Until Prometheus holds a scrape taken after the last exchange was counted (the
    exchange counter is the last thing the proxy updates for an exchange)."""
    async with asyncio.timeout(30):
        while (await _query(prom, "sum(ssescope_exchanges_total)")).get(()) != total:
            await asyncio.sleep(0.2)  # the next scrape is at most a second away


def _expected(records: list[dict[str, Any]]) -> dict[str, collections.Counter[tuple[str, ...]]]:
    """What the proxy logged, summed the way the queries below sum it."""
    sent = [(p.strip("/") or "default", m) for p, m in TRAFFIC] + [("gpu2", "none")]
    out: dict[str, collections.Counter[tuple[str, ...]]] = collections.defaultdict(
        collections.Counter
    )
    for (upstream, model), record in zip(sent, records, strict=True):
        assert record["upstream"] == upstream, record
        path = record["path"]
        if upstream != "default":
            path = path.removeprefix(f"/{upstream}")
        out["exchanges"][(upstream, model, path)] += 1
        for rule, n in record["rules"].items():
            out["findings"][(model, rule)] += n
        for client in record["clients"]:
            out["clients"][(model, client["client"], client["outcome"])] += 1
    return out


async def test_prometheus_counts_what_went_through_the_proxy(
    proxy: ProxyProcess, prometheus: tuple[str, int]
) -> None:
    await _send(_listen(proxy))
    records = await proxy.exchanges(len(TRAFFIC) + 1)
    expected = _expected(records)
    async with httpx.AsyncClient(base_url=prometheus[0], timeout=10) as prom:
        await _scraped(prom, len(TRAFFIC) + 1)
        exchanges = await _query(prom, "sum by (upstream, model, path) (ssescope_exchanges_total)")
        findings = await _query(prom, "sum by (model, rule) (ssescope_findings_total)")
        clients = await _query(
            prom, "sum by (model, client, outcome) (ssescope_client_outcomes_total)"
        )
        stalls = await _query(prom, "sum by (upstream, kind) (ssescope_stalls_total)")
        streams = await _query(prom, "sum(ssescope_stream_duration_seconds_count)")
        first = await _query(prom, "sum(ssescope_time_to_first_event_seconds_count)")
        in_flight = await _query(prom, "sum(ssescope_exchanges_in_flight)")
        killers = await _query(prom, "sum by (upstream, model) (ssescope_thread_killers_total)")
        statuses = await _query(prom, "sum by (status_class) (ssescope_exchanges_total)")
        alert = await _query(prom, 'rate(ssescope_findings_total{severity="error"}[5m]) > 0')

    # the traffic sent, exactly
    assert exchanges == {
        ("default", "mock-text", "/v1/responses"): 2,
        ("gpu2", "mock-text", "/v1/responses"): 1,
        ("default", "mock-text+delta-object", "/v1/responses"): 1,
        ("gpu2", "mock-text+delta-object", "/v1/responses"): 1,
        ("default", "mock-text+cut", "/v1/responses"): 1,
        ("gpu2", "mock-text+stall-after-created", "/v1/responses"): 1,
        ("gpu2", "mock-text+http-400", "/v1/responses"): 1,
        ("gpu2", "none", "/v1/models"): 1,
    }
    assert statuses == {("2xx",): len(TRAFFIC), ("4xx",): 1}
    assert dict(expected["exchanges"]) == exchanges
    # what the proxy judged, exactly as it logged it
    assert findings == dict(expected["findings"])
    assert clients == dict(expected["clients"])
    # and what the faults are known to do
    assert not [k for k in findings if k[0] == "mock-text"], findings  # clean is clean
    assert findings[("mock-text+delta-object", "delta-not-string")] == 2
    assert clients[("mock-text", "codex", "ok")] == 3
    assert clients[("mock-text+cut", "codex", "error")] == 1
    assert stalls == {("gpu2", "stall-after-created"): 1}
    judged = len(TRAFFIC)  # every POST, not GET /v1/models
    assert streams == {(): judged} and first == {(): judged - 1}  # the 400 sent no event
    assert in_flight == {(): 0}
    assert killers == {("gpu2", "mock-text+http-400"): 1}
    assert findings[("mock-text+http-400", "history-rejected")] == 1
    assert isinstance(alert, dict)  # the README's alert is valid PromQL

    async with httpx.AsyncClient(base_url=prometheus[0], timeout=10) as prom:
        for promql in dashboard_queries() + [r["expr"] for r in readme_rules()]:
            await _query(prom, promql)  # valid PromQL over these series (asserts success)
        rate = await _query(
            prom, "sum by (upstream, status_class) (rate(ssescope_exchanges_total[1m]))"
        )
    assert set(rate) <= {("default", "2xx"), ("gpu2", "2xx")}

    proxy.proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(proxy.proc.wait(), 20) == 1  # error findings: exit status 1


def dashboard_queries() -> list[str]:
    """Every query of the Grafana dashboard, its variables set to match everything."""
    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in doc["panels"] for t in panel["targets"]]
    assert len(exprs) >= 10
    return [
        e.replace("$__rate_interval", "1m").replace("$upstream", ".*").replace("$model", ".*")
        for e in exprs
    ]


def readme_rules() -> list[dict[str, str]]:
    """The alerting rules the README's fleet section gives (its second YAML block)."""
    section = (ROOT / "README.md").read_text().split("### Running ssescope in front of a fleet")[1]
    block = section.split("```yaml\n")[2].split("```")[0]
    rules = []
    for line in block.splitlines():
        key, _, rest = line.strip().removeprefix("- ").partition(": ")
        if key == "alert":
            rules.append({"alert": rest.split("#")[0].strip()})
        elif key == "expr":
            rules[-1]["expr"] = rest.strip()
    assert len(rules) >= 4 and all("expr" in r for r in rules), rules
    return rules


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian's prometheus package) is missing")
def test_the_readmes_alerting_rules_pass_promtool(tmp_path: Path) -> None:
    section = (ROOT / "README.md").read_text().split("### Running ssescope in front of a fleet")[1]
    rules = tmp_path / "rules.yml"
    rules.write_text(section.split("```yaml\n")[2].split("```")[0])
    done = subprocess.run(
        [str(PROMTOOL), "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(readme_rules())} rules found" in done.stdout
