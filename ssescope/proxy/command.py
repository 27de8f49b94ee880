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
    add_health_options,
    add_judge_options,
    check_options,
    existing_file,
    http_url,
    listen_address,
    positive_seconds,
)
from ..core.ends import EndReason
from ..health.command import config_from_args
from .config import DEFAULT_LISTEN, DEFAULT_MAX_REQUEST_BYTES, ProxyConfig, default_record_dir

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
        type=http_url,
        metavar="URL",
        help="the server's base URL: http://host:port/v1",
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
        type=_byte_count,
        default=DEFAULT_MAX_REQUEST_BYTES,
        metavar="N",
        help="refuse larger request bodies with 413 "
        f"(default {DEFAULT_MAX_REQUEST_BYTES >> 20} MiB; a suffix k, M or G is allowed)",
    )


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


def _byte_count(value: str) -> int:
    """``1048576``, ``512k``, ``64M``, ``1G``: a positive number of bytes."""
    scale = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(value[-1:].lower(), 1)
    digits = value[:-1] if scale > 1 else value
    if not digits.isdigit() or int(digits) <= 0:
        raise argparse.ArgumentTypeError(f"not a positive number of bytes: {value!r}")
    return int(digits) * scale


def _usage(message: str) -> UsageError:
    return UsageError(f"ssescope proxy: {message}")


def build_config(args: argparse.Namespace) -> ProxyConfig:
    """The ProxyConfig the arguments describe (raises UsageError on bad ones)."""
    if args.json and not args.headless:
        raise _usage("--json needs --headless")
    host, port = args.listen
    try:
        health = config_from_args(args, args.upstream)
        return ProxyConfig(
            upstream=args.upstream,
            host=host,
            port=port,
            record_dir=None if args.no_record else (args.record_dir or default_record_dir()),
            redact=not args.no_redact,
            translate=args.translate,
            headless=args.headless,
            json=args.json,
            options=check_options(args, keep_per_rule=5000 if not args.headless else 200),
            connect_timeout=args.connect_timeout,
            ca_file=args.ca_file,
            keep_chunks=not args.headless,
            keep_exchanges=None if not args.headless else 100,
            health=health,
            max_request_bytes=args.max_request_bytes,
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
    hub = ExchangeHub(keep=config.keep_exchanges)
    printer = HeadlessPrinter(out, json_lines=config.json)
    hub.subscribe(printer)
    previous = signal.getsignal(signal.SIGTERM)
    # uvicorn stops on SIGTERM, then re-raises it: end like SIGINT does (summary, exit status)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        asyncio.run(_serve(config, hub, err))
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
    print(printer.summary(config), file=err, flush=True)
    return EXIT_FINDINGS if printer.with_errors else EXIT_OK


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


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
    return "\n".join(
        [
            f"ssescope proxy {__version__}: {url} → {config.upstream}{mode}; {where}",
            "  Codex: codex -c model_provider='\"ssescope\"' "
            "-c model_providers.ssescope.name='\"ssescope proxy\"' "
            f"-c model_providers.ssescope.base_url='\"{url}\"' "
            "-c model_providers.ssescope.wire_api='\"responses\"' -m MODEL",
        ]
    )


class HeadlessPrinter:
    """A hub listener: one line per exchange when it ends."""

    def __init__(self, out: Any, *, json_lines: bool = False) -> None:
        self.out = out
        self.json_lines = json_lines
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
        if self.json_lines:
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
    if exchange.judge_error:
        line += f" | judging failed: {exchange.judge_error}"
    return line
