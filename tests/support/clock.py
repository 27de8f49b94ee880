"""A clock a test moves by hand, for code that takes ``clock: Callable[[], float]``
(``Run``, ``AppConfig``, ``HealthMonitor``'s ``monotonic``): stall timers expire when the test says
so, not after real seconds."""

from __future__ import annotations

__all__ = ["FakeClock"]


class FakeClock:
    """``clock()`` reads the time; ``clock.advance(seconds)`` moves it (never backwards)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock does not go back")
        self.t += seconds
