"""``ssescope proxy``: sit between Codex (or any client) and the server, forward every byte as it
arrives, record and judge every exchange live.

``ssescope.cli.build_parser`` calls :func:`register`; this shell imports ``ssescope.cli.common``
only (never the top-level CLI). uvicorn and the proxy itself are imported only when the command
runs, so ``ssescope check`` stays fast to start.

Without ``--headless`` the command opens the terminal UI, but the proxy layer knows no TUI: the
top-level CLI hands :func:`register` the TUI's runner (``open_ui``, a function of the
:class:`~ssescope.proxy.config.ProxyConfig`), and the proxy command calls it. The TUI opens the
proxy, never the other way, which keeps Textual out of every headless proxy and out of the
proxy's imports.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNREADABLE,
    UsageError,
    add_allow_host_option,
    add_health_options,
    add_judge_options,
    check_options,
    configure_logging,
    existing_file,
    http_url,
    listen_address,
    positive_seconds,
)
from ..core.clients import summarize
from ..core.ends import EndReason
from ..core.redact import redact_url
from ..health.command import config_from_args
from .config import (
    DEFAULT_LISTEN,
    DEFAULT_MAX_REQUEST_BYTES,
    MetricsListenError,
    ProxyConfig,
    default_record_dir,
)

if TYPE_CHECKING:
    from ..cli.common import Subparsers
    from .hub import Exchange, ExchangeHub

OpenUI = Callable[[ProxyConfig], int]
"""Runs the interactive proxy (the TUI) until it quits; returns the exit status."""

_EPILOG = """\
examples:
  ssescope proxy --upstream http://127.0.0.1:8000/v1                # vLLM, llama.cpp, a gateway, …
  ssescope proxy --upstream http://127.0.0.1:8000/v1 --headless     # one line per exchange
  ssescope proxy --upstream http://127.0.0.1:11434/v1 --translate   # a Chat-Completions-only server

Point Codex at the proxy with a new provider id (built-in ids cannot be redirected):
  codex -c model_provider='"ssescope"' \\
        -c model_providers.ssescope.name='"ssescope proxy"' \\
        -c model_providers.ssescope.base_url='"http://127.0.0.1:8787/v1"' \\
        -c model_providers.ssescope.wire_api='"responses"' -m MODEL

Headless exit status: 0 when no judged stream had an error-severity finding, 1 otherwise,
2 when the proxy could not start.
"""


def register(sub: Subparsers, *, open_ui: OpenUI) -> None:
    """Add the ``proxy`` subcommand to ``ssescope``'s subparsers; ``open_ui`` runs it without
    ``--headless``."""
    p = sub.add_parser(
        "proxy",
        help="a recording, judging reverse proxy between Codex (or any client) and the server",
        description="Forward every request under the base URL to the upstream unchanged, every\n"
        "response byte back the moment it arrives, and record and judge each exchange live\n"
        "(streamed Responses exchanges get the full judgement and a Codex prediction).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_forwarding_options(p)
    _add_output_options(p)
    _add_fleet_options(p)
    p.add_argument(
        "--translate",
        action="store_true",
        help="the upstream speaks Chat Completions: answer Responses requests through the "
        "bundled engine (both streams are recorded)",
    )
    add_judge_options(p)
    add_health_options(p, check=True, default_from="--upstream")
    p.add_argument(
        "--ca-file",
        type=existing_file,
        metavar="PEM",
        help="trust this CA bundle for an https upstream",
    )
    p.add_argument(
        "--connect-timeout",
        type=positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="give up connecting to the upstream after this long (502/504; default 10)",
    )
    p.set_defaults(func=cmd_proxy, open_ui=open_ui)


def _add_forwarding_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--upstream",
        required=True,
        action="append",
        type=upstream_spec,
        metavar="[NAME=]URL",
        help="the server's base URL: http://host:port/v1; repeat as NAME=URL for a fleet "
        "(/NAME/v1/… goes to NAME, every other path to the plain URL, else to the first NAME)",
    )
    p.add_argument(
        "--listen",
        type=listen_address,
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"where to listen (default {DEFAULT_LISTEN}; port 0 picks a free one)",
    )
    p.add_argument(
        "--max-request-bytes",
        type=byte_size,
        default=DEFAULT_MAX_REQUEST_BYTES,
        metavar="N",
        help="refuse larger request bodies with 413 "
        f"(default {DEFAULT_MAX_REQUEST_BYTES >> 20} MiB; 512k, 1G)",
    )
    add_allow_host_option(p)


def _add_output_options(p: argparse.ArgumentParser) -> None:
    """Where exchanges are recorded and how they are shown."""
    rec = p.add_mutually_exclusive_group()
    rec.add_argument(
        "--record-dir",
        metavar="DIR",
        help="one capture per exchange here (default: a new directory in the user data directory)",
    )
    rec.add_argument("--no-record", action="store_true", help="record nothing")
    p.add_argument(
        "--no-redact", action="store_true", help="keep Authorization/api-key headers in captures"
    )
    p.add_argument(
        "--headless", action="store_true", help="no terminal UI: one line per exchange on stdout"
    )
    p.add_argument(
        "--json", action="store_true", help="with --headless: one JSON object per exchange"
    )


def _add_fleet_options(p: argparse.ArgumentParser) -> None:
    """What a gateway in front of a fleet needs: metrics, bounded disk and memory, JSON logs."""
    g = p.add_argument_group("running in front of a fleet")
    g.add_argument(
        "--metrics",
        type=listen_address,
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (off by default)",
    )
    g.add_argument(
        "--metrics-max-models",
        type=positive_int,
        default=50,
        metavar="N",
        help="distinct model label values; later models are counted as 'other' (default 50)",
    )
    g.add_argument(
        "--record-max-bytes",
        type=byte_size,
        metavar="SIZE",
        help="the captures' disk budget (500M, 2G, …): the oldest captures are removed beyond it",
    )
    g.add_argument(
        "--keep-exchanges",
        type=positive_int,
        metavar="N",
        help="finished exchanges kept in memory (default 100 headless, 1000 with the UI)",
    )
    g.add_argument(
        "--log-json",
        action="store_true",
        help="headless, for log shippers: one JSON object per exchange on stdout (--json's, "
        "plus its upstream and every client's outcome), log lines as JSON on stderr",
    )


def upstream_spec(value: str) -> tuple[str | None, str]:
    """``URL`` or ``NAME=URL`` (a URL whose query holds ``=`` has no name)."""
    name, sep, url = value.partition("=")
    if not sep or "://" in name or "/" in name:
        return None, http_url(value)
    return name, http_url(url)


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a positive whole number")
    return int(value)


_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def byte_size(value: str) -> int:
    """``1000000``, ``500k``, ``500M``, ``2G`` (powers of 1024; a trailing B is allowed)."""
    text = value.strip().lower().removesuffix("b").removesuffix("i")
    unit = text[-1:] if text[-1:] in _SIZE_UNITS else ""
    number = text[: len(text) - len(unit)]
    try:
        size = float(number) * _SIZE_UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a size such as 500M or 2G") from None
    if size < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: must be positive")
    return int(size)


def _upstreams(args: argparse.Namespace) -> tuple[str, str, dict[str, str]]:
    """``(the default URL, its name, the named upstreams)`` of the ``--upstream`` options."""
    plain = [url for name, url in args.upstream if name is None]
    named: dict[str, str] = {}
    for name, url in args.upstream:
        if name is not None:
            if name in named:
                raise _usage(f"--upstream {name}=…: that name is given twice")
            named[name] = url
    if len(plain) > 1:
        raise _usage("one plain --upstream URL at most (name the others: --upstream NAME=URL)")
    if named and args.translate:
        raise _usage("--translate takes one upstream (named upstreams are forwarded as they are)")
    if plain:
        return plain[0], "default", named
    first = next(iter(named))
    return named[first], first, named


def _usage(message: str) -> UsageError:
    return UsageError(f"ssescope proxy: {message}")


def build_config(args: argparse.Namespace) -> ProxyConfig:
    """The ProxyConfig the arguments describe (raises UsageError on bad ones)."""
    headless = args.headless or args.log_json
    if args.json and not headless:
        raise _usage("--json needs --headless")
    if args.record_max_bytes is not None and args.no_record:
        raise _usage("--record-max-bytes needs recording (drop --no-record)")
    host, port = args.listen
    upstream, default_name, named = _upstreams(args)
    try:
        health = config_from_args(args, upstream)
        return ProxyConfig(
            upstream=upstream,
            host=host,
            port=port,
            record_dir=None if args.no_record else (args.record_dir or default_record_dir()),
            redact=not args.no_redact,
            translate=args.translate,
            headless=headless,
            json=args.json,
            options=check_options(args, keep_per_rule=5000 if not headless else 200),
            connect_timeout=args.connect_timeout,
            ca_file=args.ca_file,
            keep_chunks=not headless,
            keep_exchanges=args.keep_exchanges or (100 if headless else 1000),
            health=health,
            max_request_bytes=args.max_request_bytes,
            allow_hosts=tuple(args.allow_hosts),
            upstreams=named,
            default_name=default_name,
            metrics=args.metrics,
            metrics_max_models=args.metrics_max_models,
            record_max_bytes=args.record_max_bytes,
            log_json=args.log_json,
        )
    except ValueError as exc:
        raise _usage(str(exc)) from None


def cmd_proxy(args: argparse.Namespace) -> int:
    config = build_config(args)
    if not config.headless:
        open_ui: OpenUI = args.open_ui
        return open_ui(config)
    return run_headless(config)


# -- headless ---------------------------------------------------------------------------------------


def run_headless(config: ProxyConfig, *, out: Any = None, err: Any = None) -> int:
    """Serve until SIGINT/SIGTERM, one line per finished exchange on ``out``; returns the exit
    status (1 if any judged stream had an error finding)."""
    import asyncio

    from .hub import ExchangeHub

    out = out or sys.stdout
    err = err or sys.stderr
    configure_logging(logging.WARNING, "%(levelname)s %(name)s: %(message)s")
    hub = ExchangeHub(keep=config.keep_exchanges)
    printer = HeadlessPrinter(out, json_lines=config.json, log_json=config.log_json)
    hub.subscribe(printer)
    previous = signal.getsignal(signal.SIGTERM)
    # uvicorn stops on SIGTERM, then re-raises it: end like SIGINT does (summary, exit status)
    signal.signal(signal.SIGTERM, _interrupt)
    logs = _log_to(err, json_lines=config.log_json)
    try:
        asyncio.run(_serve(config, hub, err))
    except MetricsListenError as exc:
        print(f"ssescope proxy: cannot serve metrics on {exc.address}: {exc.reason}", file=err)
        return EXIT_UNREADABLE
    except OSError as exc:
        print(
            f"ssescope proxy: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}",
            file=err,
        )
        return EXIT_UNREADABLE
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        logs()
    print(printer.summary(config), file=err, flush=True)
    return EXIT_FINDINGS if printer.with_errors else EXIT_OK


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class _JsonLogFormatter(logging.Formatter):
    """One JSON object per log line, for the same shipper that reads ``--log-json``."""

    def format(self, record: logging.LogRecord) -> str:
        import json

        doc = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def _log_to(err: Any, *, json_lines: bool) -> Callable[[], None]:
    """Headless, the proxy's own log lines (a capture removed for the disk budget, a part that
    failed) go to ``err``; returns the function that takes the handler off again."""
    logger = logging.getLogger("ssescope.proxy")
    handler = logging.StreamHandler(err)
    handler.setFormatter(
        _JsonLogFormatter() if json_lines else logging.Formatter("ssescope proxy: %(message)s")
    )
    level = logger.level
    logger.addHandler(handler)
    if level == logging.NOTSET or level > logging.INFO:
        logger.setLevel(logging.INFO)

    def remove() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)

    return remove


async def _serve(config: ProxyConfig, hub: ExchangeHub, err: Any) -> None:
    from .app import ProxyApp
    from .serve import serve_proxy

    apps: list[ProxyApp] = []
    async with serve_proxy(config, hub, signals=True, app_out=apps) as url:
        print(banner(config, url), file=err, flush=True)
        await apps[0].closed.wait()


def banner(config: ProxyConfig, url: str) -> str:
    where = f"recording to {config.record_dir}" if config.record_dir else "not recording"
    mode = " (translating Chat Completions through the bundled engine)" if config.translate else ""
    origin = url.removesuffix(config.target.client_base_path())
    fleet = [
        f"  {name}: {origin}/{name}{config.targets[name].client_base_path()} → {redact_url(target)}"
        for name, target in config.upstreams.items()
    ]
    if config.metrics is not None:
        host, port = config.metrics
        fleet.append(f"  metrics: http://{f'[{host}]' if ':' in host else host}:{port}/metrics")
    return "\n".join(
        [
            f"ssescope proxy {__version__}: {url} → {redact_url(config.upstream)}{mode}; {where}",
            *fleet,
            "  Codex: codex -c model_provider='\"ssescope\"' "
            "-c model_providers.ssescope.name='\"ssescope proxy\"' "
            f"-c model_providers.ssescope.base_url='\"{url}\"' "
            "-c model_providers.ssescope.wire_api='\"responses\"' -m MODEL",
        ]
    )


class HeadlessPrinter:
    """A hub listener: one line per exchange when it ends."""

    def __init__(self, out: Any, *, json_lines: bool = False, log_json: bool = False) -> None:
        self.out = out
        self.json_lines = json_lines
        self.log_json = log_json
        self.exchanges = 0
        self.judged = 0
        self.with_errors = 0

    def __call__(self, what: str, exchange: Exchange) -> None:
        if what != "end":
            return
        self.exchanges += 1
        if exchange.run is not None:
            self.judged += 1
            if exchange.finding_counts["errors"]:
                self.with_errors += 1
        if self.log_json:
            import json

            line = json.dumps(exchange.log_record(), ensure_ascii=False)
        elif self.json_lines:
            import json

            line = json.dumps(exchange.to_dict(), ensure_ascii=False)
        else:
            line = format_line(exchange)
        print(line, file=self.out, flush=True)

    def summary(self, config: ProxyConfig) -> str:
        where = f"; captures in {config.record_dir}" if config.record_dir else ""
        return (
            f"ssescope proxy: {self.exchanges} exchange(s), {self.judged} stream(s) judged, "
            f"{self.with_errors} with errors{where}"
        )


def format_line(exchange: Exchange) -> str:
    """``#3 12:00:09 POST /v1/responses 200 10.512s 3 events | 1 error: missing-completed |
    codex: error: stream disconnected before completion: … (retried)``"""
    status = "---" if exchange.status is None else str(exchange.status)
    parts = [
        f"#{exchange.id}",
        exchange.start_time,
        exchange.method,
        exchange.path,
        status,
        f"{exchange.duration:.3f}s",
    ]
    if exchange.run is not None:
        parts.append(f"{exchange.events} events")
    else:
        parts.append(f"{exchange.bytes} B")
    if exchange.end_reason not in (None, EndReason.EOF):
        parts.append(f"[{exchange.end_reason}{': ' + exchange.error if exchange.error else ''}]")
    line = " ".join(parts)
    if exchange.run is not None:
        line += f" | {exchange.findings_summary}"
        prediction = exchange.prediction
        if prediction is not None:
            codex = f"{prediction.outcome}: {prediction.message}"
            if prediction.retried:
                codex += " (after retries)"
            line += f" | codex: {codex}"
        clients = exchange.client_predictions()
        if clients and not exchange.open:
            line += f" | clients: {summarize(clients)}"
        if exchange.history_rejected:
            line += f" | history-rejected: {exchange.history_rejected}"
    if exchange.judge_error:
        line += f" | judging failed: {exchange.judge_error}"
    for note in exchange.notes:
        if note.startswith("recording stopped") or "cannot write" in note:
            line += f" | {note}"
    return line
