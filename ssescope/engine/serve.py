"""Running the engine on uvicorn: from the command line, or in-process for ``ssescope demo`` and
the TUI (:func:`serve`, :func:`mock_engine`).

The listening socket is bound before uvicorn starts, so the port is known at once (``port=0``
picks a free one) and, in mock mode, the engine can point its upstream at the mock mounted on
its own port. Embedded servers leave signal handling to the host application.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace

import uvicorn
from starlette.applications import Starlette

from .app import Engine, EngineConfig, create_app
from .mock import MockOptions


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers (the host application owns SIGINT)."""

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

    def capture_signals(self):  # type: ignore[no-untyped-def]
        if self._signals:
            return super().capture_signals()
        return contextlib.nullcontext()


@dataclass
class EngineServer:
    """A running engine."""

    host: str
    port: int
    app: Starlette
    config: EngineConfig

    @property
    def base_url(self) -> str:
        """What a client (or Codex's ``base_url``) is given: ``http://host:port/v1``."""
        return f"http://{url_host(self.host)}:{self.port}/v1"

    @property
    def responses_url(self) -> str:
        return f"{self.base_url}/responses"

    @property
    def engine(self) -> Engine:
        return self.app.state.engine  # type: ignore[no-any-return]


def url_host(host: str) -> str:
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
async def serve(
    config: EngineConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    signals: bool = False,
    log_level: str = "warning",
) -> AsyncIterator[EngineServer]:
    """Run the engine in the current event loop for the duration of the ``async with``."""
    sock = bind(host, port)
    bound_port = sock.getsockname()[1]
    if config.mock is not None:
        config = replace(config, upstream=f"http://{url_host(host)}:{bound_port}/mock/v1")
    app = create_app(config)
    server = EmbeddedServer(
        uvicorn.Config(
            app,
            log_level=log_level,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
            log_config=None,
        ),
        signals=signals,
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    engine: Engine = app.state.engine
    ready = asyncio.create_task(engine.started.wait())
    try:
        # The socket already listens, so once the app has started, connections are served.
        await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if task.done():
            task.result()  # startup failed: raise its error
            raise RuntimeError("the engine stopped during startup")
        yield EngineServer(host, bound_port, app, config)
    finally:
        engine.stopping.set()
        if engine.client is not None:
            await engine.client.aclose()  # idle pooled connections (to the mock, too) go first
        await stop_server(server, task, sock)


async def stop_server(
    server: EmbeddedServer, task: asyncio.Task[None], sock: socket.socket
) -> None:
    """Stop an embedded uvicorn: gracefully for up to 5 s, then by force; close the socket."""
    server.request_exit()
    try:
        await asyncio.wait_for(asyncio.shield(task), 5)
    except TimeoutError:
        server.force_exit = True
        with contextlib.suppress(BaseException):
            await task
    except BaseException:
        if not task.done():
            task.cancel()
    sock.close()


@contextlib.asynccontextmanager
async def mock_engine(
    *,
    faults: Iterable[str] = (),
    delay: float = 0.0,
    done_marker: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    **config: object,
) -> AsyncIterator[str]:
    """Mock backend + engine in-process; yields the base URL (``http://127.0.0.1:PORT/v1``).

    ``faults`` are applied to every request (chat-side ones by the mock, Responses-side ones by
    the engine); ``delay`` is the mock's time between chunks. For ``ssescope demo`` and the TUI.
    """
    from .faults import CHAT_FAULTS, parse_faults

    names = parse_faults(faults)
    engine_config = EngineConfig(
        mock=MockOptions(delay=delay, faults=tuple(n for n in names if n in CHAT_FAULTS)),
        faults=tuple(n for n in names if n not in CHAT_FAULTS),
        done_marker=done_marker,
        **config,  # type: ignore[arg-type]
    )
    async with serve(engine_config, host, port) as running:
        yield running.base_url
