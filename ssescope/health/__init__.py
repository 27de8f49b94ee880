"""Server and GPU health next to a stream, and a diagnosis of why it stalled.

The API the TUI (and anything else) uses::

    from ssescope.health import HealthConfig, HealthMonitor, diagnose

    monitor = HealthMonitor.from_config(HealthConfig(server="http://127.0.0.1:8000", gpu="local"),
                                        clock=lambda: time.monotonic() - t0)
    async with monitor:                       # probes poll in the background, 1 s each
        ...
        d = diagnose(session.checker, monitor.history, now)   # None when not stalled
        d.sentence, d.evidence                # one sentence + the numbers behind it
        monitor.history.series("server", "waiting")           # sparkline data
        monitor.history.rates("server", "generated_tokens")   # tokens/s
        monitor.latest("server").raw_metrics()   # the whole last /metrics scrape

Nothing here imports textual; rich only in ``render`` and ``command``. Names are resolved lazily
so that importing the package costs nothing until a probe is built.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "HealthConfig": "monitor",
    "HealthMonitor": "monitor",
    "gpu_probe": "monitor",
    "diagnose": "diagnosis",
    "Diagnosis": "diagnosis",
    "DiagnosisLog": "diagnosis",
    "StreamState": "diagnosis",
    "RULES": "diagnosis",
    "History": "samples",
    "ServerSample": "samples",
    "GpuSample": "samples",
    "GpuDevice": "samples",
    "Endpoint": "samples",
    "sample_from_dict": "samples",
    "ServerProbe": "probes",
    "NvmlProbe": "probes",
    "DcgmProbe": "probes",
    "PrometheusProbe": "probes",
    "CommandProbe": "probes",
    "Nvml": "gpu",
    "parse_metrics": "metrics",
    "MetricSet": "metrics",
    "HealthTracker": "tracker",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ssescope.health' has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
