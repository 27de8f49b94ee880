"""Async probes: one poll of a server or of the GPUs, returning a stamped sample.

Every HTTP call has a short timeout (the poll interval by default: ``/health`` with no answer within
the interval is "not answering"), so a dead server never blocks the stream or the panel. A probe
never raises from :meth:`poll`: failures are states in the sample.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..core.redact import redact_url
from . import adapters
from .gpu import (
    Nvml,
    devices_from_dcgm,
    gpu_command,
    metricset_from_promql,
    parse_smi_csv,
    promql_selector,
)
from .metrics import MetricSet, parse_metrics
from .samples import Endpoint, GpuSample, GpuState, HealthState, Sample, ServerSample

Clock = Callable[[], float]
DEFAULT_INTERVAL = 1.0
RETRY_ABSENT_EVERY = 30
"""Polls between retries of an endpoint that answered 404 (a server restarted with --metrics)."""


class Probe(Protocol):
    name: str
    """The history source this probe fills: "server" or "gpu"."""
    interval: float

    async def poll(self, clock: Clock) -> Sample: ...

    async def aclose(self) -> None: ...


def server_base(url: str) -> str:
    """``http://h:8000/v1`` (or ``…/v1/responses``) → ``http://h:8000``: health paths are at the
    root."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    path = parts.path.rstrip("/")
    for suffix in ("/responses", "/v1"):
        path = path.removesuffix(suffix)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@dataclass
class Fetch:
    path: str
    state: HealthState
    status: int | None = None
    body: str = ""
    latency: float | None = None
    detail: str = ""

    def endpoint(self) -> Endpoint:
        return Endpoint(self.state, self.status, self.latency, self.detail)

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


async def fetch(client: httpx.AsyncClient, url: str, path: str, timeout: float) -> Fetch:
    """GET with a hard deadline; transport failures become states, never exceptions."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            r = await client.get(url, timeout=timeout)
            body = r.text
    except (TimeoutError, httpx.TimeoutException):
        return Fetch(path, "not-answering", detail=f"no answer within {timeout:g} s")
    except httpx.ConnectError as exc:
        refused = "refused" in str(exc).lower() or _caused_by(exc, ConnectionRefusedError)
        return Fetch(path, "refused" if refused else "error", detail=str(exc) or "cannot connect")
    except httpx.HTTPError as exc:
        return Fetch(path, "error", detail=f"{type(exc).__name__}: {exc}".rstrip(": "))
    latency = time.perf_counter() - start
    state = adapters.health_state(r.status_code, body)
    return Fetch(
        path, state, r.status_code, body, latency, adapters.health_detail(r.status_code, body)
    )


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, kind):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _client(client: httpx.AsyncClient | None) -> tuple[httpx.AsyncClient, bool]:
    if client is not None:
        return client, False
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=4)
    return httpx.AsyncClient(follow_redirects=False, limits=limits, trust_env=False), True


# ---------------------------------------------------------------------------------------------
# server
# ---------------------------------------------------------------------------------------------


class ServerProbe:
    """Polls one inference server: ``/health`` and ``/metrics`` (and ``/slots``, ``/props`` for
    llama.cpp, ``/`` and ``/api/ps`` for Ollama), detects which server it is, and keeps the raw
    scrape on the sample. Endpoints that answer 404 are retried only now and then."""

    name = "server"

    def __init__(
        self,
        url: str,
        *,
        interval: float = DEFAULT_INTERVAL,
        timeout: float | None = None,
        kind: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base = server_base(url)
        self.interval = interval
        self.timeout = timeout if timeout is not None else interval
        self.kind = kind or "unknown"
        self._fixed_kind = kind is not None
        self._client, self._own_client = _client(client)
        self._absent: dict[str, int] = {}
        self._polls = 0
        self._last_metrics: MetricSet | None = None
        self._last_text: str | None = None
        self._props: dict[str, Any] = {}
        self._slot_progress = adapters.SlotProgress()
        self._fetched_at: dict[str, int] = {}
        """Poll number of the last request of each adapter endpoint (they have own periods)."""

    def _wanted(self, path: str) -> bool:
        seen = self._absent.get(path)
        return seen is None or (self._polls - seen) >= RETRY_ABSENT_EVERY

    async def _get(self, path: str) -> Fetch:
        f = await fetch(self._client, self.base + path, path, self.timeout)
        if f.state == "absent":
            self._absent[path] = self._polls
        else:
            self._absent.pop(path, None)
        return f

    async def poll(self, clock: Clock) -> ServerSample:
        self._polls += 1
        detected_now = self.kind == "unknown"
        sample = ServerSample(t=clock(), url=redact_url(self.base), kind=self.kind)  # shown
        if self.kind == "ollama":
            await self._poll_ollama(sample)
            return sample
        got = {f.path: f for f in await asyncio.gather(*(self._get(p) for p in self._paths()))}
        health, scrape = got["/health"], got.get("/metrics")
        sample.health = health.endpoint()
        metrics = self._scrape(sample, scrape)
        slots = got.get("/slots")
        if self.kind == "unknown":
            slots = await self._llamacpp_slots(health, metrics) or slots
            if slots is not None:
                got[slots.path] = slots
            root = await self._ollama_root(health, scrape)
            if root is not None:
                self.kind = sample.kind = "ollama"
                await self._poll_ollama(sample, root=root)
                return sample
        self._detect(metrics, health, slots)
        sample.kind = self.kind
        if detected_now and self.kind != "unknown":
            # The kind became known in this poll: its own endpoints are read now, so that a
            # one-shot `ssescope health` shows llama.cpp's /slots and /props too.
            got.update({f.path: f for f in await self._endpoints_not_in(got)})
            slots = got.get("/slots", slots)
        self._numbers(sample, metrics, scrape)
        self._own_endpoints(sample, slots, got.get("/props"))
        adapters.mark_not_exposed(sample)
        return sample

    async def _endpoints_not_in(self, got: dict[str, Fetch]) -> list[Fetch]:
        """The detected adapter's endpoints this poll has not fetched yet."""
        missing = [p for p in self._paths() if p not in got]
        return list(await asyncio.gather(*(self._get(p) for p in missing)))

    def _paths(self) -> list[str]:
        """/health always; /metrics unless it was absent lately; the adapter's own endpoints
        when they are due."""
        paths = ["/health"]
        if self._wanted("/metrics"):
            paths.append("/metrics")
        adapter = adapters.ADAPTERS.get(self.kind)
        for path, every in adapter.endpoints if adapter is not None else ():
            last = self._fetched_at.get(path)
            if (last is None or self._polls - last >= every) and self._wanted(path):
                self._fetched_at[path] = self._polls
                paths.append(path)
        return paths

    def _scrape(self, sample: ServerSample, scrape: Fetch | None) -> MetricSet | None:
        """The /metrics answer onto the sample; the parsed adapter metrics if it was read."""
        if scrape is None:
            sample.metrics = Endpoint("absent", 404, None, "not served (retried later)")
            return None
        sample.metrics = scrape.endpoint()
        if scrape.state != "ok":
            return None
        text = scrape.body
        if not self._fixed_kind and self.kind == "unknown":
            self.kind = adapters.kind_from_text(text) or "unknown"
        # Only what the adapter reads is parsed per scrape; the rest on demand.
        metrics = parse_metrics(text, keep=adapters.WANTED.get(self.kind, ()))
        sample.raw_text = text
        sample.metric_errors = metrics.errors[:20]
        sample.metrics.detail = (
            f"{len(metrics.errors)} unparsable line(s) skipped" if metrics.errors else ""
        )
        return metrics

    async def _llamacpp_slots(self, health: Fetch, metrics: MetricSet | None) -> Fetch | None:
        """llama.cpp without --metrics: /health is JSON; /slots says for sure."""
        if metrics is not None:
            return None
        if health.state == "loading" or (health.state == "ok" and health.json() is not None):
            return await self._get("/slots")
        return None

    async def _ollama_root(self, health: Fetch, scrape: Fetch | None) -> Fetch | None:
        """Ollama has neither /health nor /metrics: its ``/`` says "Ollama is running"."""
        if health.state not in ("absent", "refused"):
            return None
        if scrape is not None and scrape.state != "absent":
            return None
        root = await self._get("/")
        return root if "Ollama is running" in root.body else None

    def _detect(self, metrics: MetricSet | None, health: Fetch, slots: Fetch | None) -> None:
        if self._fixed_kind:
            return
        kind = adapters.detect_kind(
            metrics,
            health_body=health.body,
            slots=slots.json() if slots is not None and slots.state == "ok" else None,
        )
        if kind != "unknown":
            self.kind = kind

    def _numbers(
        self, sample: ServerSample, metrics: MetricSet | None, scrape: Fetch | None
    ) -> None:
        """The adapter's numbers from this scrape, or from the last one (marked stale) when this
        scrape failed: a stall diagnosis still has the counters to compare."""
        if metrics is not None:
            self._last_metrics = metrics
            self._last_text = sample.raw_text
            adapters.apply_metrics(sample, metrics)
        elif (
            scrape is not None
            and scrape.state not in ("ok", "absent")
            and self._last_metrics is not None
        ):
            sample.stale = True
            sample.raw_text = self._last_text
            adapters.apply_metrics(sample, self._last_metrics)

    def _own_endpoints(
        self, sample: ServerSample, slots: Fetch | None, props: Fetch | None
    ) -> None:
        """llama.cpp's /slots (decode progress) and /props (kept: it is polled now and then)."""
        if slots is not None and slots.state == "ok":
            parsed = adapters.parse_slots(slots.json())
            if parsed is not None:
                adapters.apply_slots(sample, parsed)
                decoded = self._slot_progress.update(parsed)
                if sample.heartbeat_metric == adapters.SLOTS_HEARTBEAT:
                    sample.heartbeat = decoded  # rises only: a request that ends is no restart
        if props is not None and props.state == "ok":
            self._props = adapters.parse_props(props.json())
        sample.extra.update(self._props)

    async def _poll_ollama(self, sample: ServerSample, root: Fetch | None = None) -> None:
        """Ollama has no /health or /metrics: ``/`` is its liveness, ``/api/ps`` its state."""
        if root is None:
            live, ps = await asyncio.gather(self._get("/"), self._get("/api/ps"))
        else:
            live, ps = root, await self._get("/api/ps")
        sample.health = live.endpoint()
        sample.metrics = Endpoint("absent", None, None, "Ollama has no /metrics")
        if ps.state == "ok":
            sample.models = adapters.parse_ollama_ps(ps.json())
            if sample.models is not None:
                sample.extra["models_loaded"] = len(sample.models)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()


# ---------------------------------------------------------------------------------------------
# GPUs
# ---------------------------------------------------------------------------------------------


class NvmlProbe:
    """Local GPUs through NVML, in a worker thread (NVML calls block). No driver: a state."""

    name = "gpu"

    def __init__(self, nvml: Nvml | None = None, *, interval: float = DEFAULT_INTERVAL) -> None:
        self.nvml = nvml or Nvml()
        self.interval = interval
        self._inflight: asyncio.Future[GpuSample] | None = None

    async def poll(self, clock: Clock) -> GpuSample:
        t = clock()
        if self._inflight is not None and not self._inflight.done():
            return GpuSample(t, via="nvml", state="not-answering", detail="NVML call still running")
        start = time.perf_counter()
        self._inflight = asyncio.ensure_future(asyncio.to_thread(self.nvml.read, t))
        try:
            sample = await asyncio.wait_for(asyncio.shield(self._inflight), max(self.interval, 2.0))
        except TimeoutError:
            return GpuSample(t, via="nvml", state="not-answering", detail="NVML did not answer")
        sample.latency = time.perf_counter() - start
        return sample

    async def aclose(self) -> None:
        if self._inflight is not None and not self._inflight.done():
            return  # a thread is stuck inside NVML: leave the library alone
        await asyncio.to_thread(self.nvml.close)


class DcgmProbe:
    """A dcgm-exporter ``/metrics`` URL (remote GPUs, default port 9400)."""

    name = "gpu"

    def __init__(
        self,
        url: str,
        *,
        interval: float = DEFAULT_INTERVAL,
        timeout: float | None = None,
        client: httpx.AsyncClient | None = None,
        via: str = "dcgm",
    ) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        path = parts.path if parts.path not in ("", "/") else "/metrics"
        self.url = urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
        self.via = via
        """What the samples say they come from: dcgm, or ``simulated`` (``ssescope demo``'s GPU,
        served in dcgm-exporter's format)."""
        self.interval = interval
        self.timeout = timeout if timeout is not None else max(interval, 1.0)
        self._client, self._own_client = _client(client)

    async def poll(self, clock: Clock) -> GpuSample:
        t = clock()
        f = await fetch(self._client, self.url, "", self.timeout)
        via = self.via
        if f.state != "ok":
            return GpuSample(t, via=via, state=_gpu_state(f), detail=_gpu_detail(f, self.url))
        m = parse_metrics(f.body)
        devices = devices_from_dcgm(m)
        if not devices:
            return GpuSample(
                t, via=via, state="error", detail=f"{self.url}: no DCGM_FI_DEV_* series"
            )
        return GpuSample(t, via=via, state="ok", devices=devices, latency=f.latency)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()


class PrometheusProbe:
    """GPUs of a whole cluster through a Prometheus server that scrapes dcgm-exporter: one
    PromQL instant query per poll (``match`` narrows it, e.g. ``Hostname=~"node-[12]"``)."""

    name = "gpu"

    def __init__(
        self,
        url: str,
        *,
        match: str = "",
        interval: float = DEFAULT_INTERVAL,
        timeout: float | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base = url.rstrip("/")
        self.query = promql_selector(match)
        self.interval = interval
        self.timeout = timeout if timeout is not None else max(interval, 2.0)
        self._client, self._own_client = _client(client)

    async def poll(self, clock: Clock) -> GpuSample:
        t = clock()
        url = str(httpx.URL(self.base + "/api/v1/query", params={"query": self.query}))
        f = await fetch(self._client, url, "", self.timeout)
        if f.state != "ok":
            return GpuSample(
                t, via="prometheus", state=_gpu_state(f), detail=_gpu_detail(f, self.base)
            )
        try:
            m = metricset_from_promql(f.json())
        except ValueError as exc:
            return GpuSample(t, via="prometheus", state="error", detail=str(exc))
        devices = devices_from_dcgm(m)
        if not devices:
            return GpuSample(
                t,
                via="prometheus",
                state="error",
                detail=f"{self.base}: the query {self.query} returned no DCGM series",
            )
        return GpuSample(t, via="prometheus", state="ok", devices=devices, latency=f.latency)

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()


class CommandProbe:
    """A user command printing nvidia-smi CSV (``ssh host nvidia-smi --query-gpu=…``). It runs in
    its own process group so a hung ssh is killed whole on timeout."""

    name = "gpu"

    def __init__(
        self, command: str, *, interval: float = DEFAULT_INTERVAL, timeout: float = 10.0
    ) -> None:
        self.command, self.columns = gpu_command(command)
        self.interval = interval
        self.timeout = timeout

    async def poll(self, clock: Clock) -> GpuSample:
        t = clock()
        start = time.perf_counter()
        try:
            proc = await asyncio.create_subprocess_shell(
                self.command,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            return GpuSample(t, via="cmd", state="error", detail=f"cannot run: {exc}")
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await proc.wait()
            return GpuSample(
                t, via="cmd", state="not-answering", detail=f"no output within {self.timeout:g} s"
            )
        latency = time.perf_counter() - start
        if proc.returncode != 0:
            msg = err.decode("utf-8", "replace").strip().splitlines()
            return GpuSample(
                t,
                via="cmd",
                state="error",
                detail=f"exit {proc.returncode}: {msg[-1] if msg else 'no message'}",
            )
        try:
            devices = parse_smi_csv(out.decode("utf-8", "replace"), self.columns)
        except ValueError as exc:
            return GpuSample(t, via="cmd", state="error", detail=f"unreadable CSV: {exc}")
        return GpuSample(t, via="cmd", state="ok", devices=devices, latency=latency)

    async def aclose(self) -> None:
        return None


def _gpu_state(f: Fetch) -> GpuState:
    return "not-answering" if f.state in ("not-answering", "refused") else "error"


def _gpu_detail(f: Fetch, where: str) -> str:
    if f.status is not None:
        return f"{where}: HTTP {f.status} {f.detail}".rstrip()
    return f"{where}: {f.detail or f.state}"
