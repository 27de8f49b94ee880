"""A real Prometheus (Debian's ``prometheus`` binary) scraping one target on 127.0.0.1, for the
integration tests of the health probes and of the proxy's metrics."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port

PROMETHEUS = shutil.which("prometheus")
MISSING = "the prometheus binary is not installed (Debian: apt-get install -y prometheus)"


@contextmanager
def running_prometheus(workdir: Path, job: str, target_port: int) -> Iterator[str]:
    """Prometheus scraping ``127.0.0.1:target_port`` every second as ``job``; yields its URL."""
    assert PROMETHEUS is not None, MISSING
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: {job}\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{target_port}']\n"
    )
    log = (workdir / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
