"""A bounded soak: a fixed number of exchanges through the proxy as a long-running gateway runs
it (headless settings, metrics on, a capture budget, a client that sends a new model name every
time), showing that memory, the exchange list, the label sets and the capture directory stay
within their budgets however many exchanges go through.

Memory is traced (tracemalloc) from the start and compared between a warmed-up steady state (the
hub already holds its ``keep_exchanges``, the budget is already removing captures) and the end:
whatever the exchanges in between left behind is growth."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from pathlib import Path

import httpx
import pytest

from ssescope.core.checker import CheckOptions
from ssescope.proxy.app import ProxyApp
from ssescope.proxy.config import ProxyConfig
from ssescope.proxy.hub import ExchangeHub
from ssescope.proxy.serve import serve_proxy
from tests.proxy.helpers import Request, Upstream, response_events

pytestmark = pytest.mark.slow

KEEP = 20
DISK_BUDGET = 150_000
MAX_MODELS = 10
WARM_UP = 60
SOAK = 240
"""Exchanges after the warm-up; a leak of one stream's bytes each would be about 2.4 MB."""
MEMORY_BUDGET = 200_000
"""Bytes the traced heap may grow by over the soak (caches warming up; a leak of one stream's
bytes per exchange would be ten times as much)."""
TEXT = "0123456789" * 1000


async def _stream(request: Request) -> None:
    await request.stream(response_events(TEXT, rid=f"r{len(request.body)}"))


def _config(upstream: str, record_dir: Path) -> ProxyConfig:
    """A long-running headless gateway's settings, small budgets."""
    return ProxyConfig(
        upstream=upstream,
        port=0,
        record_dir=str(record_dir),
        keep_exchanges=KEEP,
        keep_chunks=False,
        record_max_bytes=DISK_BUDGET,
        metrics=("127.0.0.1", 0),
        metrics_max_models=MAX_MODELS,
        options=CheckOptions(keep_per_rule=200),
    )


class Traffic:
    """Sends exchanges four at a time, each with a model name never used before."""

    def __init__(
        self, url: str, hub: ExchangeHub, client: httpx.AsyncClient, upstream: Upstream
    ) -> None:
        self.url, self.hub, self.client, self.upstream = url, hub, client, upstream
        self.sent = 0

    async def send(self, count: int) -> None:
        for _ in range(count // 4):
            bodies = [{"model": f"model-{self.sent + i}", "input": "hi", "stream": True}
                      for i in range(4)]  # fmt: skip
            self.sent += 4
            replies = await asyncio.gather(
                *(self.client.post(f"{self.url}/responses", json=b) for b in bodies)
            )
            assert all(r.status_code == 200 and TEXT in r.text for r in replies)
            self.upstream.requests.clear()  # the fake upstream's record is not the proxy's memory
        await self.hub.wait_for(lambda: not self.hub.active())


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def test_memory_and_disk_stay_within_their_budgets(tmp_path: Path) -> None:
    apps: list[ProxyApp] = []
    tracemalloc.start()
    try:
        async with Upstream(_stream) as upstream:
            config = _config(upstream.url, tmp_path / "captures")
            hub = ExchangeHub(keep=config.keep_exchanges)  # as the headless proxy makes it
            async with (
                serve_proxy(config, hub, app_out=apps) as url,
                httpx.AsyncClient(timeout=30) as client,
            ):
                traffic = Traffic(url, hub, client, upstream)
                await traffic.send(WARM_UP)
                before = _traced()
                await traffic.send(SOAK)
                after = _traced()
    finally:
        tracemalloc.stop()
    app = apps[0]
    assert app.metrics is not None and app.budget is not None
    growth = after - before
    print(f"\nsoak: {SOAK} exchanges after {WARM_UP}: traced heap {before:,} -> {after:,} B "
          f"({growth:+,}); {len(hub)} kept; {app.budget.removed} captures removed")  # fmt: skip
    assert hub.snapshot()[-1].id == WARM_UP + SOAK
    assert growth < MEMORY_BUDGET, growth
    assert len(hub) <= KEEP
    assert len(app.metrics.models.seen) == MAX_MODELS  # every later model is 'other'
    captures = list((tmp_path / "captures").glob("*.jsonl"))
    assert sum(p.stat().st_size for p in captures) <= DISK_BUDGET
    assert app.budget.removed == WARM_UP + SOAK - len(captures)
