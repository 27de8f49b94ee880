"""What a mode tells the app: a session arrived, or everything starts over.

Modes post these to the app instead of changing the session list themselves, so the list changes
in one place (the app's handlers) between two turns of the event loop.
"""

from __future__ import annotations

from textual.message import Message

from ..core.run import Run

SESSION_TOAST = "session"
"""The ``about`` of toasts about the session shown (its connection error, no more findings, why
``m`` or ``u`` show nothing): the app takes them down when another session is shown or the
sessions start over (``SseScopeApp.notify``)."""


class RunAdded(Message):
    """A new session: live, loaded from a file, replayed or received by the proxy."""

    def __init__(self, run: Run, *, select: bool = True) -> None:
        super().__init__()
        self.run = run
        self.select = select
        """Show it at once (a file's later sessions do not take the screen from the first)."""


class RunsCleared(Message):
    """The mode starts over (a reload under another profile, a switch to replay)."""
