"""Sockets for tests: ports come from the OS, so tests are safe to run in parallel."""

from __future__ import annotations

import functools
import socket
import ssl


def free_port() -> int:
    """A port nothing listens on (bound then released), for 'connection refused'."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@functools.cache
def client_tls() -> ssl.SSLContext:
    """One TLS context for every test client (``httpx.AsyncClient(verify=client_tls())``):
    building one loads the CA bundle, some 20-30 ms, paid otherwise by every client created."""
    return ssl.create_default_context()
