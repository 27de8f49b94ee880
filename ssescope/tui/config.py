"""What the command line asked the debugger for (the shells in :mod:`.command` fill it in)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.checker import CheckOptions

if TYPE_CHECKING:
    from ..core.live import RequestSpec  # httpx: only when a stream is read live


@dataclass
class AppConfig:
    """What the command line asked for."""

    options: CheckOptions
    mode: str
    """connect | open | demo | proxy: picks the mode (see :data:`ssescope.tui.app.MODES`)."""
    spec: RequestSpec | None = None
    path: str | None = None
    record: str | None = None
    """connect: where to record (None: no recording)."""
    redact: bool = True
    export_dir: str | None = None
    """Where ``e`` writes exports (None: ``exports`` in the user data directory)."""
    grace: float = 2.0
    replay: bool = False
    """open: start in replay mode (original timing) instead of everything at once."""
    via_engine: str | None = None
    """connect --via-engine: the chat server the in-process engine translates from."""
    upstream_api_key: str | None = None
    health: Any = None
    """A ``ssescope.health.monitor.HealthConfig``: probe a server/GPUs during live sessions."""
    demo_scenario: str = "text"
    demo_faults: tuple[str, ...] = ()
    demo_delay: float = 0.03
    clock: Callable[[], float] = time.monotonic
    """The debugger's clock: live sessions' arrival times and stall timers, and the wall time a
    replay plays by. Tests pass one they advance."""
