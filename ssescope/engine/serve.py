"""Running the engine on uvicorn: from the command line, or in-process for ``ssescope demo`` and
the TUI (:func:`serve`, :func:`mock_engine`).

The server runner is the one of :mod:`ssescope.asgi.server`: the listening socket is bound
before uvicorn starts, so the port is known at once (``port=0`` picks a free one) and, in mock
mode, the engine can point its upstream at the mock mounted on its own port.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace

from starlette.applications import Starlette

from ..asgi.server import bind, run_embedded, url_host
from .app import Engine, EngineConfig, create_app
from .faults import CHAT_FAULTS, parse_faults
from .mock import MockOptions

__all__ = ["EngineServer", "mock_engine", "serve"]


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
        engine: Engine = self.app.state.engine
        return engine


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
    config = replace(config, allow_hosts=(*config.allow_hosts, host))  # its own address is local
    if config.mock is not None:
        config = replace(config, upstream=f"http://{url_host(host)}:{bound_port}/mock/v1")
    app = create_app(config)
    engine: Engine = app.state.engine
    async with run_embedded(app, sock, engine.started, signals=signals, log_level=log_level):
        try:
            yield EngineServer(host, bound_port, app, config)
        finally:
            engine.stopping.set()
            if engine.client is not None:
                await engine.client.aclose()  # idle pooled connections (to the mock, too) go first


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
    names = parse_faults(faults)
    engine_config = EngineConfig(
        mock=MockOptions(delay=delay, faults=tuple(n for n in names if n in CHAT_FAULTS)),
        faults=tuple(n for n in names if n not in CHAT_FAULTS),
        done_marker=done_marker,
        **config,  # type: ignore[arg-type]
    )
    async with serve(engine_config, host, port) as running:
        yield running.base_url
