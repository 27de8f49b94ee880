"""The captures' disk budget (``ssescope proxy --record-max-bytes``): a proxy that runs for days
records every exchange, so the oldest captures are removed once the directory holds more than
the budget, with a line in the log for each removal round.

Files are counted when their exchange ends (:class:`BudgetPart`, after the recorder closed its
capture), so a stream still being written counts from its end on. Captures already in the
directory when the proxy starts (a restart with the same ``--record-dir``) count too, oldest by
modification time first. The newest capture is never removed, even when it alone exceeds the
budget: it is the one someone is about to look at.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from pathlib import Path

from .events import End, Part
from .hub import Exchange

log = logging.getLogger("ssescope.proxy")


def size_text(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


class CaptureBudget:
    """The captures of one record directory, oldest first, and their total size."""

    def __init__(self, record_dir: str, max_bytes: int) -> None:
        self.dir = Path(record_dir)
        self.max_bytes = max_bytes
        self.files: deque[tuple[str, int]] = deque()
        self.total = 0
        self.removed = 0
        """Captures removed so far (the tests and the summary read it)."""
        existing = []
        if self.dir.is_dir():
            for path in self.dir.glob("*.jsonl"):
                try:
                    stat = path.stat()
                except OSError:
                    continue
                existing.append((stat.st_mtime, str(path), stat.st_size))
        for _, path_text, size in sorted(existing):
            self.files.append((path_text, size))
            self.total += size
        self._enforce()

    def part(self, exchange: Exchange) -> BudgetPart:
        return BudgetPart(exchange, self)

    def add(self, paths: list[str]) -> None:
        """These captures are complete: count them, then remove the oldest beyond the budget."""
        for path in paths:
            try:
                size = os.stat(path).st_size
            except OSError:
                continue  # never written (the upstream did not answer before the end), or gone
            self.files.append((path, size))
            self.total += size
        self._enforce()

    def _enforce(self) -> None:
        if self.total <= self.max_bytes:
            return
        gone, freed = 0, 0
        while self.total > self.max_bytes and len(self.files) > 1:
            path, size = self.files.popleft()
            self.total -= size
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("capture budget: cannot remove %s: %s", path, exc)
                continue
            gone += 1
            freed += size
        if gone:
            self.removed += gone
            log.info(
                "capture budget %s: removed the %d oldest capture(s) (%s); %s in %d file(s) in %s",
                size_text(self.max_bytes),
                gone,
                size_text(freed),
                size_text(self.total),
                len(self.files),
                self.dir,
            )


class BudgetPart(Part):
    """Hands the exchange's captures to the budget once the exchange ended."""

    def __init__(self, exchange: Exchange, budget: CaptureBudget) -> None:
        super().__init__(exchange)
        self.budget = budget

    def on_end(self, end: End) -> None:
        exchange = self.exchange
        paths = [exchange.record_path] if exchange.record_path else []
        if exchange.upstream is not None and exchange.upstream.record_path:
            paths.append(exchange.upstream.record_path)
        self.budget.add(paths)

    def failed(self, exc: Exception) -> None:
        log.error("capture budget: exchange %d not counted", self.exchange.id, exc_info=exc)
