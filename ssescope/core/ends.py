"""Why a read of a stream ended: the one vocabulary of end reasons.

Every reader (a file, a live request, a replay, the proxy, the engine's upstream) ends a session
with one of these, and every judge (the checker's end rules, the Codex model, the stall
diagnosis, the proxy's flow list) reads them. They are written into captures as their string
values (``end`` records, see the README's "Captures"), so a ``StrEnum``: a member equals its
string, and a capture written before this enum existed reads the same.
"""

from __future__ import annotations

from enum import StrEnum


class EndReason(StrEnum):
    EOF = "eof"
    """The stream ended cleanly: the server closed it (or the file ended)."""
    TRANSPORT_ERROR = "transport-error"
    """The connection broke mid-stream (reset, a bad chunk, a read error)."""
    CONNECT_ERROR = "connect-error"
    """Nothing was received: the connection was refused or never established."""
    MAX_WAIT = "max-wait"
    """ssescope stopped reading after ``--max-wait`` without a complete event."""
    GRACE = "grace"
    """The terminal event arrived and the server kept the connection open past the grace time."""
    INTERRUPTED = "interrupted"
    """The user (Ctrl-C, SIGTERM, quitting the UI) or the client (the proxy's) stopped the read."""


# The reasons after which the server may still have had more to say: a judgement of what the
# stream *lacks* (no terminal event, a stall) is not the server's fault.
CUT_BY_US = frozenset({EndReason.MAX_WAIT, EndReason.INTERRUPTED})
