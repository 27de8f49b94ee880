"""The one embedded uvicorn runner: ``ssescope demo``, ``engine``, ``connect --via-engine`` and
``proxy`` all serve through :func:`run_embedded`.

The listening socket is bound before uvicorn starts (:func:`bind`), so the port is known at
once (``port=0`` picks a free one) and the caller can use it in the app's configuration (the
engine's mock upstream on its own port). Embedded servers leave signal handling to the host
application unless asked. Leaving the ``async with`` stops the server gracefully for a moment,
then by force.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Generator
from typing import Any

import uvicorn

STOP_GRACE = 5.0
"""Seconds a stopping server waits for its connections before it closes them."""


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers unless ``signals`` (the host owns SIGINT), and one
    that stops at once when asked: uvicorn checks ``should_exit`` on a 0.1 s tick and then
    pauses 0.1 s for connections to wind down, which every demo quit and every test that starts
    an embedded server would pay."""

    def __init__(self, config: uvicorn.Config, *, signals: bool) -> None:
        super().__init__(config)
        self._signals = signals
        self._exit_requested = asyncio.Event()

    def request_exit(self) -> None:
        """Stop now: the main loop wakes at once, not on uvicorn's next 0.1 s tick."""
        self.should_exit = True
        self._exit_requested.set()

    async def main_loop(self) -> None:
        """uvicorn's loop of 0.1 s ticks, woken early by :meth:`request_exit`."""
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit_requested.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown, except that with no connection open it skips uvicorn's fixed
        0.1 s pause for connections to wind down (there are none): an idle server stops at once."""
        await asyncio.sleep(0)  # one turn of the loop: hang-ups already on the wire land first
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets)
            return
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if self._signals:
            with super().capture_signals():
                yield
        else:
            yield


def url_host(host: str) -> str:
    """The host part of a URL that reaches a server listening on ``host``."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (raises OSError, e.g. when the port is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(256)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def run_embedded(
    app: Any,
    sock: socket.socket,
    started: asyncio.Event,
    *,
    signals: bool = False,
    log_level: str = "warning",
    **options: Any,
) -> AsyncIterator[None]:
    """Serve ``app`` on ``sock`` in the current event loop for the duration of the
    ``async with``, entered once the app's lifespan set ``started`` (the socket already
    listens, so connections are served from then on). ``options`` go to ``uvicorn.Config``."""
    server = EmbeddedServer(
        uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            log_config=None,
            **options,
        ),
        signals=signals,
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    ready = asyncio.create_task(started.wait())
    try:
        await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if task.done():
            task.result()  # startup failed: raise its error
            raise RuntimeError("the server stopped during startup")
        yield
    finally:
        await stop_server(server, task, sock)


async def stop_server(
    server: EmbeddedServer, task: asyncio.Task[None], sock: socket.socket
) -> None:
    """Stop an embedded uvicorn: gracefully for up to ``STOP_GRACE`` s, then by force; close
    the socket."""
    server.request_exit()
    try:
        await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
    except TimeoutError:
        server.force_exit = True
        with contextlib.suppress(BaseException):
            await task
    except BaseException:
        if not task.done():
            task.cancel()
    sock.close()
