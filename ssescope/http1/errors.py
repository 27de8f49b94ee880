"""One tree of upstream errors, so that callers decide by type, never by message text.

::

    UpstreamError            the upstream broke the exchange (or could not be reached)
    ├── ConnectError         no connection: refused, unresolvable, not an http(s) URL
    │   └── ConnectTimeout   the connection was not made within the connect timeout
    ├── ProtocolError        the upstream sent something that is not HTTP/1.1 we accept
    ├── ConnectionClosed     the upstream closed the connection before the response ended
    └── RequestAborted       we closed the connection ourselves (the client went away)
"""

from __future__ import annotations


class UpstreamError(Exception):
    """The upstream broke the HTTP exchange or could not be reached."""


class ConnectError(UpstreamError):
    """No connection to the upstream (refused, unresolvable, timed out, not an http(s) URL)."""


class ConnectTimeout(ConnectError):
    """Connecting took longer than the client's ``connect_timeout``."""


class ProtocolError(UpstreamError):
    """Invalid HTTP, an upgrade, or a status outside 100-599."""


class ConnectionClosed(UpstreamError):
    """The upstream closed the connection without answering, or in the middle of the body."""


class RequestAborted(UpstreamError):
    """The response was aborted on our side (the client went away, the server stops)."""
