"""Glue between health samples and a judged stream: ``check`` live, and replays of captures.

A :class:`HealthTracker` keeps the samples of one stream in a :class:`History`, re-runs the
diagnosis at every sample against the checker's state at that moment (so a stall that later
resolved is still reported), and produces the ``diagnosis``/``diagnoses``/``health`` keys of a
check result. :class:`SampleCaptureWriter` records samples as ``{"t", "sample"}`` capture records,
never before the capture's header line.
"""

from __future__ import annotations

from typing import Any

from ..core.capture import CaptureWriter
from .diagnosis import DiagnosisLog, diagnose
from .samples import History, Sample, sample_from_dict

CHECK_HISTORY = 36_000
"""Samples kept per source in a check (ten hours at 1 s): a check reports all of them."""


class HealthTracker:
    def __init__(self, history: History | None = None) -> None:
        self.history = history if history is not None else History(CHECK_HISTORY)
        self.log = DiagnosisLog()
        self.samples_seen = 0

    def on_sample(self, sample: Sample, checker: Any, now: float | None = None) -> None:
        """A sample arrived (live: already in the history when the monitor shares it)."""
        if self.history.latest(sample.source) is not sample:
            self.history.add(sample)
        self.samples_seen += 1
        t = sample.t if now is None else max(now, sample.t)
        self.log.observe(diagnose(checker, self.history, t))

    def on_record(self, record: dict[str, Any], checker: Any) -> None:
        """A capture's extra record, read back in file order (``Source.on_record``)."""
        data = record.get("sample")
        if not isinstance(data, dict):
            return
        if "t" not in data and isinstance(record.get("t"), (int, float)):
            data = {**data, "t": record["t"]}
        sample = sample_from_dict(data)
        if sample is not None:
            self.on_sample(sample, checker)

    def result(self, checker: Any) -> dict[str, Any]:
        """The keys a check result gets: the diagnosis (with evidence), its timeline, and the
        samples (``health`` is None when nothing was probed)."""
        end = checker.timing.t_end
        final = diagnose(checker, self.history, end) if end is not None else None
        out: dict[str, Any] = {
            "diagnosis": self.log.final(final),
            "diagnoses": self.log.to_list(),
            "health": None,
        }
        if self.samples_seen or len(self.history):
            samples = sorted(self.history, key=lambda s: s.t)
            out["health"] = {
                "latest": {
                    src: s.to_dict()
                    for src in self.history.sources()
                    if (s := self.history.latest(src)) is not None
                },
                "samples": [s.to_dict() for s in samples],
            }
        return out


class SampleCaptureWriter(CaptureWriter):
    """A capture writer that also records health samples. Samples that arrive before the
    response headers wait until the header line is written (the header must stay line 1)."""

    def __init__(self, *args: Any, raw: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.raw = raw
        self._pending: list[dict[str, Any]] = []
        self._ready = False

    def write_response(self, *args: Any, **kwargs: Any) -> None:
        super().write_response(*args, **kwargs)
        self._ready = True
        pending, self._pending = self._pending, []
        for record in pending:
            self.write_record(record)

    def write_sample(self, sample: Sample) -> None:
        if self.closed:
            return
        record = {"t": round(sample.t, 6), "sample": sample.to_dict(raw=self.raw)}
        if self._ready:
            self.write_record(record)
        else:
            self._pending.append(record)
