"""What a proxy run is configured with, and how a request path maps onto the upstream URL."""

from __future__ import annotations

import datetime as _dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..core.checker import CheckOptions

DEFAULT_LISTEN = "127.0.0.1:8787"
DEFAULT_MAX_REQUEST_BYTES = 64 << 20
UPSTREAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def default_record_dir() -> str:
    """A fresh directory per proxy run in the user's data directory (next to ``connect``'s
    captures), so that one Codex session's exchanges stay together."""
    from platformdirs import user_data_dir

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return str(Path(user_data_dir("ssescope")) / "captures" / f"proxy-{stamp}")


@dataclass
class ProxyConfig:
    upstream: str
    """The server's base URL (``http://host:8000/v1``); with ``translate`` a Chat Completions
    server's."""
    host: str = "127.0.0.1"
    port: int = 8787
    record_dir: str | None = None
    """Where each exchange's capture goes (None: nothing is recorded)."""
    redact: bool = True
    """Redact Authorization/api-key headers (and key-like query parameters) in captures."""
    translate: bool = False
    """The upstream speaks Chat Completions: Responses requests go through the bundled engine."""
    headless: bool = False
    json: bool = False
    """Headless output as one JSON object per line instead of text."""
    options: CheckOptions = field(default_factory=CheckOptions)
    """How streams are judged (profile, stall threshold, Codex's idle timeout)."""
    connect_timeout: float = 10.0
    ca_file: str | None = None
    """Trust this CA bundle for an https upstream."""
    tick_interval: float = 0.25
    """How often live streams are re-judged for silence (stall findings, Codex's idle timer)."""
    keep_chunks: bool = True
    """Keep each stream's chunks in memory (the TUI re-judges them when the profile changes)."""
    health: Any = None
    """A ``ssescope.health.monitor.HealthConfig``: probe the server/GPUs for the flow list."""
    keep_exchanges: int | None = None
    """Forget the oldest finished exchanges beyond this many (None: keep all)."""
    allow_hosts: tuple[str, ...] = ()
    """Names answered besides the local ones and :attr:`host` (``--allow-host``; see
    :mod:`ssescope.asgi.hosts`): a request with any other ``Host`` or ``Origin`` gets a 403."""
    clock: Callable[[], float] = time.monotonic
    """The exchanges' clock (arrival times, durations, stall timers): tests pass a virtual one."""
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    """Larger request bodies are refused with 413 (a body is held whole while it is forwarded)."""
    upstreams: dict[str, str] = field(default_factory=dict)
    """Named upstreams (``--upstream NAME=URL``): ``/NAME/…`` goes to NAME's URL as ``/…``
    (``/gpu2/v1/responses`` → ``URL/responses``); every other path to :attr:`upstream`."""
    default_name: str = "default"
    """The name :attr:`upstream` goes by (the first named upstream's without a plain one)."""
    metrics: tuple[str, int] | None = None
    """Serve Prometheus metrics at ``http://HOST:PORT/metrics`` (None: no metrics)."""
    metrics_max_models: int = 50
    """Distinct model label values before the rest are counted as ``other``."""
    record_max_bytes: int | None = None
    """The captures' disk budget: beyond it the oldest captures are removed (None: no limit)."""
    log_json: bool = False
    """Headless output for log shippers: one JSON object per exchange with its upstream and
    every client's outcome (:meth:`~.hub.Exchange.log_record`), log lines as JSON on stderr."""

    def __post_init__(self) -> None:
        self.target = Target(self.upstream)
        self.targets = {self.default_name: self.target}
        for name, url in self.upstreams.items():
            if not UPSTREAM_NAME.fullmatch(name) or name == "v1":
                raise ValueError(f"--upstream {name}=…: a name is letters, digits, . _ - (not v1)")
            self.targets[name] = Target(url)

    def route(self, path: str) -> tuple[str, str]:
        """``(upstream name, the path as that upstream's Target maps it)`` of a client path."""
        if self.upstreams:
            head, _, rest = path[1:].partition("/")
            if head in self.upstreams:
                return head, "/" + rest
        return self.default_name, path


class MetricsListenError(OSError):
    """The ``--metrics`` address cannot be bound (the command says so in one line)."""

    def __init__(self, address: str, exc: OSError) -> None:
        self.reason = exc.strerror or str(exc)
        super().__init__(exc.errno, f"{self.reason} (the --metrics address {address})")
        self.address = address


class Target:
    """Maps the path a client asked the proxy for onto the upstream.

    * a path under the upstream URL's own path is sent there unchanged, so the proxy mirrors
      the upstream's layout (``--upstream http://h:8000/v1``: ``/v1/responses`` goes to
      ``http://h:8000/v1/responses``);
    * when the upstream URL has some other path (``https://api.example.com/openai/v1``), the
      proxy's ``/v1`` stands for it, so clients always use ``http://LISTEN/v1``;
    * anything else goes to the upstream host unchanged (``/health``, ``/metrics``);
    * a query string in the upstream URL (Azure's ``?api-version=…``) is added to every request
      under the base path, after the client's own parameters (a key the client sends wins).
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--upstream {upstream!r}: not an http(s) URL")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.base_path = parts.path.rstrip("/")
        self.host_header = parts.netloc.rpartition("@")[2].encode("latin-1")
        self.query = parts.query
        self.url = upstream

    def url_for(self, path: str, query: str = "") -> str:
        base = self.base_path
        under_v1 = path == "/v1" or path.startswith("/v1/")
        under_base = path == base or path.startswith(base + "/")
        if base and base != "/v1" and under_v1 and not under_base:
            path = base + path[3:]
            under_base = True
        if self.query and (under_base or not base):
            query = _merged_query(query, self.query)
        return self.origin + path + (f"?{query}" if query else "")

    def client_base_path(self) -> str:
        """The path a client's base URL gets on the proxy (``/v1``, or nothing for an upstream
        given as a bare host)."""
        return "/v1" if self.base_path else ""


def _merged_query(client: str, upstream: str) -> str:
    """The client's query string, then the upstream URL's parameters it did not send."""
    sent = {pair.partition("=")[0] for pair in client.split("&") if pair}
    extra = [pair for pair in upstream.split("&") if pair and pair.partition("=")[0] not in sent]
    return "&".join([p for p in client.split("&") if p] + extra)
