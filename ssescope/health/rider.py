"""The health layer's rider on a check (:class:`ssescope.core.riders.LiveRider`).

The core judges a stream and knows nothing of servers or GPUs; ``ssescope check`` hands it this
rider, which replays the samples a capture recorded, polls the probes while a URL is read (only
with a :class:`~ssescope.health.monitor.HealthConfig`), records their samples into the capture and
adds the ``diagnosis``/``diagnoses``/``health`` keys to each stream's result.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from ..core.capture import CaptureWriter
from .tracker import HealthTracker, SampleCaptureWriter

if TYPE_CHECKING:
    from ..core.checker import Checker
    from ..core.session import StreamSession
    from .monitor import HealthConfig
    from .samples import Sample


FIRST_SAMPLE_WAIT = 5.0
"""Seconds a read that ended before the first poll answered waits for it."""


class HealthRider:
    """One source's samples and diagnosis; with ``config``, the probes that watch a live read."""

    def __init__(self, config: HealthConfig | None = None) -> None:
        self.config = config
        self.tracker = HealthTracker()
        self._writer: SampleCaptureWriter | None = None

    def on_record(self, record: dict[str, Any], checker: Checker) -> None:
        self.tracker.on_record(record, checker)

    def result(self, checker: Checker) -> dict[str, Any]:
        return self.tracker.result(checker)

    def capture_writer(self, path: str, **request: Any) -> CaptureWriter:
        """A plain capture without probes; with them, one that records their samples too."""
        if self.config is None:
            return CaptureWriter(path, **request)
        self._writer = SampleCaptureWriter(path, **request)
        return self._writer

    @asynccontextmanager
    async def riding(
        self, session: StreamSession, clock: Callable[[], float]
    ) -> AsyncIterator[None]:
        if self.config is None:
            yield
            return
        # the probes (and httpx) only when something is probed: a plain check starts faster
        from .monitor import HealthMonitor

        def on_sample(sample: Sample) -> None:
            if self._writer is not None:
                self._writer.write_sample(sample)
            self.tracker.on_sample(sample, session.checker, now=clock())

        monitor = HealthMonitor.from_config(
            self.config, clock=clock, history=self.tracker.history, on_sample=on_sample
        )
        async with monitor:
            yield
            # A read shorter than the first poll still gets one sample of every source (the
            # diagnosis and check --server's result need them); bounded by a probe's timeout.
            wanted = {p.name for p in monitor.probes}
            await monitor.wait_for(lambda h: wanted <= set(h.sources()), FIRST_SAMPLE_WAIT)
