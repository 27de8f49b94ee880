"""Running the proxy on uvicorn inside the caller's event loop (the CLI's, the TUI's, a test's).

::

    hub = ExchangeHub()
    async with serve_proxy(ProxyConfig(upstream="http://127.0.0.1:8000/v1", port=0), hub) as url:
        ...  # point Codex's base_url at url; hub.exchanges fills in live

The server runner is the one of :mod:`ssescope.asgi.server` (the port is known at once,
``port=0`` picks a free one; signal handling is left to the host application unless asked).
Leaving the ``async with`` cuts the exchanges still in flight (their runs end ``interrupted``)
instead of waiting for streams that may never end.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from ..asgi.server import bind, run_embedded, url_host
from .app import ProxyApp
from .config import ProxyConfig
from .hub import ExchangeHub

if TYPE_CHECKING:
    from .metrics import ProxyMetrics


@contextlib.asynccontextmanager
async def serve_proxy(
    config: ProxyConfig,
    hub: ExchangeHub | None = None,
    *,
    signals: bool = False,
    log_level: str = "warning",
    app_out: list[ProxyApp] | None = None,
) -> AsyncIterator[str]:
    """Run the proxy for the duration of the ``async with``; yields the base URL clients use
    (``http://127.0.0.1:PORT/v1``), also stored as ``hub.url``. ``app_out``, if given, receives
    the :class:`ProxyApp` (tests look at its upstream connections). With ``config.metrics``
    the Prometheus metrics are served first (a busy metrics port fails before the proxy
    listens) and until the proxy stops."""
    with _metrics_served(config) as metrics:
        async with _serve_proxy(config, hub, metrics, signals, log_level, app_out) as url:
            yield url


@contextlib.contextmanager
def _metrics_served(config: ProxyConfig) -> Iterator[ProxyMetrics | None]:
    if config.metrics is None:
        yield None
        return
    from .metrics import start

    metrics, server = start(config)
    try:
        yield metrics
    finally:
        server.close()


@contextlib.asynccontextmanager
async def _serve_proxy(
    config: ProxyConfig,
    hub: ExchangeHub | None,
    metrics: ProxyMetrics | None,
    signals: bool,
    log_level: str,
    app_out: list[ProxyApp] | None,
) -> AsyncIterator[str]:
    hub = hub if hub is not None else ExchangeHub(keep=config.keep_exchanges)
    sock = bind(config.host, config.port)
    port = sock.getsockname()[1]
    config.port = port
    app = ProxyApp(config, hub, metrics=metrics)
    if app_out is not None:
        app_out.append(app)
    async with run_embedded(
        app,
        sock,
        app.started,
        signals=signals,
        log_level=log_level,
        server_header=False,  # the upstream's own Server and Date headers pass through
        date_header=False,
        timeout_keep_alive=75,  # Codex reuses its connection between turns
    ):
        try:
            url = f"http://{url_host(config.host)}:{port}{config.target.client_base_path()}"
            hub.url = url
            yield url
        finally:
            app.stop()
