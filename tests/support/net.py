"""Sockets for tests: ports come from the OS, so tests are safe to run in parallel."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on (bound then released), for 'connection refused'."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
