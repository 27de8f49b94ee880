"""``ssescope proxy``: a recording, judging reverse proxy for LLM streams (mitmproxy for SSE).

* :mod:`.config` — :class:`ProxyConfig` and how request paths map onto the upstream URL;
* :mod:`.app` — the ASGI app: each request an exchange, forwarded, its events fed to the parts;
* :mod:`.forward` — the forwarding core (``ssescope.http1`` raw bytes, arrival time per read);
* :mod:`.events` — the typed request / response / end of an exchange, and :class:`Part`;
* :mod:`.parts` — the parts: record, judge, show (they know nothing of forwarding);
* :mod:`.pipeline` — feeds the parts right after each write, never delaying one;
* :mod:`.flow`, :mod:`.wire` — one exchange in flight; headers and bodies on the way through;
* :mod:`.hub` — :class:`ExchangeHub`, the UI-free live registry of exchanges a flow list shows;
* :mod:`.translate` — ``--translate``: Responses through the bundled engine, chat side recorded;
* :mod:`.serve` — :func:`serve_proxy`, the in-process runner (the TUI, tests, the CLI);
* :mod:`.command` — the ``ssescope proxy`` command (``--headless`` output).

Embedding (the TUI)::

    from ssescope.proxy.config import ProxyConfig
    from ssescope.proxy.hub import ExchangeHub
    from ssescope.proxy.serve import serve_proxy

    hub = ExchangeHub()
    async with serve_proxy(config, hub) as base_url:
        ...  # hub.exchanges, each with .run (a ssescope.core.run.Run) for streamed Responses

This ``__init__`` stays light (no uvicorn) because every ``ssescope`` command imports the package
to register ``ssescope proxy``. Nothing here imports Textual.
"""
