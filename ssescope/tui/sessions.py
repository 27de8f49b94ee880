"""The sessions the debugger holds, and which one is shown (no UI: the screens read it)."""

from __future__ import annotations

from ..core.checker import CheckOptions
from ..core.run import Run


class Sessions:
    """The runs of this app in arrival order, the selected one, and the profile they are judged
    under. The app changes it on messages from its mode; the debugger screen draws from it."""

    def __init__(self, options: CheckOptions) -> None:
        self.options = options
        self.runs: list[Run] = []
        self.current = -1

    @property
    def current_run(self) -> Run | None:
        return self.runs[self.current] if 0 <= self.current < len(self.runs) else None

    def add(self, run: Run, *, select: bool) -> bool:
        """Append ``run``; select it if asked or if none is selected. Returns whether it was."""
        self.runs.append(run)
        if select or self.current < 0:
            self.current = len(self.runs) - 1
            return True
        return False

    def index(self, run: Run) -> int | None:
        """The position of ``run`` (by identity), None when it is not held."""
        return next((i for i, held in enumerate(self.runs) if held is run), None)

    def step(self, step: int) -> bool:
        """Select the session ``step`` away, wrapping around. Returns whether there was one."""
        if not self.runs:
            return False
        self.current = (self.current + step) % len(self.runs)
        return True

    def clear(self) -> None:
        self.runs = []
        self.current = -1
