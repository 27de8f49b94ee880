"""Progress of a long ``check`` on a terminal: bytes and events read, elapsed time.

A 1M-event file takes 10-20 s to judge; a blank terminal for that long reads as a hang. The
display goes to stderr and only when stderr is a terminal and the output is the human report: a
pipe, a redirect or ``--json`` gets nothing extra. rich draws it (``transient``: it disappears
before the report is printed) from its own refresh thread, so the judging loop only updates two
numbers.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from ..core.capture import CaptureWriter
    from ..core.checker import Checker
    from ..core.riders import LiveRider
    from ..core.session import StreamSession

Report = Callable[[int, int], None]
"""``(bytes read, events judged)``: what the core tells as it reads."""


def wanted(json_output: bool, stream: object = None) -> bool:
    """Only a human report on a terminal gets a progress display: ``stream`` a terminal, or by
    default both stderr (where it draws) and stdout (not piped)."""
    if json_output:
        return False
    targets: tuple[object, ...] = (stream,) if stream is not None else (sys.stderr, sys.stdout)
    for target in targets:
        isatty = getattr(target, "isatty", None)
        if not callable(isatty) or not isatty():
            return False
    return True


def _file_size(source: str) -> int | None:
    try:
        return os.stat(source).st_size if os.path.isfile(source) else None
    except OSError:
        return None


@contextmanager
def shown(source: str, *, enabled: bool, console: Console | None = None) -> Iterator[Report | None]:
    """A reporter for the read of ``source`` (None when nothing is shown)."""
    if not enabled:
        yield None
        return
    # rich's progress only for a person at a terminal: --json and pipes never import it
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("[bold]checking[/] {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[events]:,} events"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=True,
        refresh_per_second=8,
    )
    size = _file_size(source)
    name = os.path.basename(source) if size is not None else source
    with progress:
        task = progress.add_task(name, total=size, events=0)

        def report(read: int, events: int) -> None:
            progress.update(task, completed=read, events=events)

        yield report


class ProgressRider:
    """Rides a live read for the display: the health rider's work, plus the counts every
    eighth of a second (the read itself is not touched)."""

    def __init__(self, inner: LiveRider, report: Report) -> None:
        self.inner = inner
        self.report = report

    def on_record(self, record: dict[str, Any], checker: Checker) -> None:
        self.inner.on_record(record, checker)

    def result(self, checker: Checker) -> dict[str, Any]:
        return self.inner.result(checker)

    def capture_writer(self, path: str, **request: Any) -> CaptureWriter:
        return self.inner.capture_writer(path, **request)

    @asynccontextmanager
    async def riding(
        self, session: StreamSession, clock: Callable[[], float]
    ) -> AsyncIterator[None]:
        async def tell() -> None:
            while True:
                timing = session.checker.timing
                self.report(timing.bytes, timing.events)
                await asyncio.sleep(REFRESH)

        async with self.inner.riding(session, clock):
            task = asyncio.create_task(tell())
            try:
                yield
            finally:
                task.cancel()


REFRESH = 0.125
