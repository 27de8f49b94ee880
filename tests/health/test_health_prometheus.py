"""Integration: a real Prometheus (Debian's package) scrapes a fake dcgm-exporter on 127.0.0.1 and
ssescope's PrometheusProbe reads the GPUs back with a PromQL instant query.

Skipped when the ``prometheus`` binary is not installed (CI: ``apt-get install -y prometheus``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from ssescope.health.probes import PrometheusProbe
from tests.health import fixtures as fx
from tests.health.fake_servers import FakeServer, Route
from tests.support.prometheus import MISSING, PROMETHEUS, running_prometheus

pytestmark = [
    pytest.mark.skipif(PROMETHEUS is None, reason=MISSING),
    pytest.mark.slow,
]


@pytest.fixture
def dcgm() -> Iterator[FakeServer]:
    srv = FakeServer({"/metrics": Route(200, fx.dcgm_metrics(util=64, power=150.5, gpus=2))})
    with srv.running():
        yield srv


@pytest.fixture
def prometheus(tmp_path: Path, dcgm: FakeServer) -> Iterator[str]:
    with running_prometheus(tmp_path, "dcgm", dcgm.port) as url:
        yield url


async def test_gpus_through_a_real_prometheus(prometheus: str, dcgm: FakeServer) -> None:
    probe = PrometheusProbe(prometheus, match='Hostname="gpu-node-1"', interval=1.0)
    sample = None
    # Wait on conditions, bounded: each round waits for Prometheus's next scrape of the exporter.
    for _ in range(30):
        sample = await probe.poll(lambda: 0.0)
        if sample.state == "ok" and len(sample.devices) == 2:
            break
        scrapes = dcgm.hits["/metrics"]
        await asyncio.to_thread(dcgm.wait_hits, "/metrics", scrapes + 1, 10.0)
    await probe.aclose()
    assert sample is not None and sample.state == "ok", sample and sample.detail
    assert [(d.host, d.index, d.util, d.power_w) for d in sample.devices] == [
        ("gpu-node-1", 0, 64, 150.5),
        ("gpu-node-1", 1, 64, 150.5),
    ]
    assert sample.devices[0].mem_total_mib == 23034 and sample.devices[0].name == "NVIDIA L4"

    other = PrometheusProbe(prometheus, match='Hostname="no-such-node"')
    empty = await other.poll(lambda: 0.0)
    await other.aclose()
    assert empty.state == "error" and "returned no DCGM series" in empty.detail
