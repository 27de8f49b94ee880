"""Prometheus text parsing that survives bad lines, plus small helpers to read values and rates.

``prometheus_client``'s parser stops at the first malformed line (it raises ``ValueError`` and the
generator ends), so one odd line from a server would lose every family after it. We parse the text
one family block at a time and, when a block fails, line by line inside it: only the bad line is
lost, and it is reported. Counter *family* names drop ``_total`` while sample names keep it, so
everything here is keyed by **sample** name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

Labels = dict[str, str]


@dataclass
class MetricSet:
    """The samples of one scrape: sample name → [(labels, value)], with what went wrong."""

    samples: dict[str, list[tuple[Labels, float]]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    """Family name → type (counter, gauge, histogram, …) as declared by ``# TYPE``."""
    errors: list[str] = field(default_factory=list)
    """One entry per line that could not be parsed (the rest of the scrape is kept)."""

    def __contains__(self, name: str) -> bool:
        return name in self.samples

    def __len__(self) -> int:
        return len(self.samples)

    def names(self) -> Iterable[str]:
        return self.samples.keys()

    def get(self, name: str, **labels: str) -> float | None:
        """Sum of the samples called ``name`` whose labels include ``labels`` (None: absent, or
        only NaN). Summing is what a panel wants when a server exposes one series per model or
        engine. prometheus_client adds ``_total`` to counter samples that lack it, so a counter
        is found under either spelling."""
        rows = self.samples.get(name)
        if rows is None:
            alt = name.removesuffix("_total") if name.endswith("_total") else f"{name}_total"
            rows = self.samples.get(alt)
        if not rows:
            return None
        total = 0.0
        found = False
        for row_labels, value in rows:
            if not math.isnan(value) and all(row_labels.get(k) == v for k, v in labels.items()):
                total += value
                found = True
        return total if found else None

    def first(self, *names: str, **labels: str) -> tuple[str, float] | tuple[None, None]:
        """The first of ``names`` present (renamed metrics: give the current name first)."""
        for name in names:
            value = self.get(name, **labels)
            if value is not None:
                return name, value
        return None, None

    def with_prefix(self, *prefixes: str) -> bool:
        return any(name.startswith(prefixes) for name in self.samples)

    def to_dict(self) -> dict[str, list[list[object]]]:
        """JSON form: ``{name: [[labels, value], …]}`` (NaN/Inf become strings)."""
        return {
            name: [
                [labels, value if math.isfinite(value) else str(value)] for labels, value in rows
            ]
            for name, rows in self.samples.items()
        }


def _blocks(lines: list[str]) -> Iterator[tuple[int, list[str]]]:
    """Split the exposition into family blocks: a ``# HELP``/``# TYPE`` line for a new name starts
    one. Yields (first line number, lines)."""
    start, name = 1, None
    current: list[str] = []
    for i, line in enumerate(lines, 1):
        if line.startswith(("# HELP ", "# TYPE ")):
            parts = line.split(None, 3)
            this = parts[2] if len(parts) > 2 else ""
            if this != name and current:
                yield start, current
                start, current = i, []
            name = this
        current.append(line)
    if current:
        yield start, current


def _add(out: MetricSet, families: Iterable[Metric], written: set[str]) -> None:
    """The families' samples under the names the server wrote: prometheus_client renames a
    counter sample that lacks ``_total`` (llama.cpp's ``llamacpp:n_tokens_max``) to
    ``…_total``, a name the server never used."""
    for fam in families:
        out.types.setdefault(fam.name, fam.type)
        for s in fam.samples:
            name = s.name
            if name not in written and name.endswith("_total") and name[:-6] in written:
                name = name[:-6]
            out.samples.setdefault(name, []).append((dict(s.labels), float(s.value)))


def _written(block: list[str]) -> set[str]:
    """The sample names as written in a block (comment lines excluded)."""
    return {_line_name(line) for line in block if line and not line.startswith("#")}


_SUFFIXES = ("_bucket", "_count", "_sum", "_created", "_total")


def _base(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _line_name(line: str) -> str:
    if line.startswith("#"):
        parts = line.split(None, 3)
        return parts[2] if len(parts) > 2 and parts[1] in ("HELP", "TYPE") else ""
    end = len(line)
    for sep in ("{", " ", "\t"):
        i = line.find(sep)
        if i != -1 and i < end:
            end = i
    return line[:end]


def select_lines(text: str, keep: Iterable[str]) -> list[str]:
    """Only the lines (samples and their HELP/TYPE) of the metrics named in ``keep`` (sample
    names; their histogram/counter siblings come along). Cheap string work, no parsing."""
    keys = set(keep)
    keys |= {_base(k) for k in keys}
    out = []
    for line in text.splitlines():
        name = _line_name(line)
        if name and (name in keys or _base(name) in keys):
            out.append(line)
    return out


def parse_metrics(text: str, keep: Iterable[str] | None = None) -> MetricSet:
    """Parse Prometheus text exposition; a malformed line costs only itself (see module doc).

    ``keep``: parse only these metrics (the adapters' few). prometheus_client's parser costs about
    10 ms for vLLM's 50 KiB exposition; the poller parses the subset on every scrape and leaves the
    whole text for when someone asks for it (:meth:`ServerSample.raw_metrics`)."""
    from prometheus_client.parser import text_string_to_metric_families  # 0.1 s: only when used

    out = MetricSet()
    lines = text.splitlines() if keep is None else select_lines(text, keep)
    for start, block in _blocks(lines):
        chunk = "\n".join(block) + "\n"
        try:
            fams = list(text_string_to_metric_families(chunk))
        except (ValueError, IndexError, TypeError):
            _parse_lines(out, start, block, text_string_to_metric_families)
            continue
        _add(out, fams, _written(block))
    return out


def _parse_lines(
    out: MetricSet, start: int, block: list[str], parse: Callable[[str], Iterable[Metric]]
) -> None:
    """The fallback for a block that failed: each sample line alone, under the block's TYPE."""
    header = [line for line in block if line.startswith("# TYPE ")][:1]
    for offset, line in enumerate(block):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            fams = list(parse("\n".join([*header, line]) + "\n"))
        except (ValueError, IndexError, TypeError) as exc:
            out.errors.append(f"line {start + offset}: {exc}: {line[:120]!r}")
            continue
        _add(out, fams, {_line_name(line)})


# ---------------------------------------------------------------------------------------------
# rates
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delta:
    """How a counter moved between two readings."""

    delta: float
    seconds: float
    reset: bool
    """The counter went down: the server restarted (the delta is then the new value)."""

    @property
    def rate(self) -> float | None:
        return self.delta / self.seconds if self.seconds > 0 else None


def counter_delta(points: Iterable[tuple[float, float | None]]) -> Delta | None:
    """Total increase over ``(t, value)`` points, treating a decrease as a reset (None: fewer
    than two readings)."""
    total, reset, first_t, last_t, prev = 0.0, False, None, None, None
    for t, v in points:
        if v is None or math.isnan(v):
            continue
        if prev is not None:
            if v < prev:
                reset = True
                total += v
            else:
                total += v - prev
        else:
            first_t = t
        prev, last_t = v, t
    if first_t is None or last_t is None or last_t == first_t:
        return None
    return Delta(total, last_t - first_t, reset)
