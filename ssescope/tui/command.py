"""``ssescope connect``, ``ssescope open`` and ``ssescope demo``: the command-line side of the
debugger, and the interactive ``ssescope proxy`` (:func:`open_proxy`).

This shell imports ``ssescope.cli.common`` only (never the top-level CLI). Textual is imported
only when a command runs, so ``ssescope check`` never pays for it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_data_dir

from ..cli.common import (
    UsageError,
    add_health_options,
    add_judge_options,
    add_request_options,
    api_key_from_env,
    check_options,
    http_url,
    non_negative_seconds,
)
from ..core.capture import SourceError, open_source
from ..core.redact import url_host
from ..engine.faults import parse_faults
from ..health.command import config_from_args

if TYPE_CHECKING:
    from ..cli.common import Subparsers
    from ..proxy.config import ProxyConfig
    from .app import AppConfig

DEMO_SCENARIOS = ["text", "reasoning", "tool", "parallel", "refusal", "length"]


def default_record_path(url: str) -> str:
    """Captures go to the user's data directory unless --record says otherwise."""
    host = (url_host(url) or "stream").replace(":", "_")  # never the userinfo
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return str(Path(user_data_dir("ssescope")) / "captures" / f"{stamp}-{host}.jsonl")


def register(sub: Subparsers) -> None:
    """Add ``connect``, ``open`` and ``demo`` to ``ssescope``'s subparsers."""
    _register_connect(sub)
    _register_open(sub)
    _register_demo(sub)


def _add_export_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--export-dir",
        metavar="DIR",
        help="where `e` writes exports (default: exports/ in the user data directory, "
        "$XDG_DATA_HOME/ssescope or ~/.local/share/ssescope)",
    )


def _register_connect(sub: Subparsers) -> None:
    connect = sub.add_parser(
        "connect",
        help="debug a live stream in the terminal UI",
        description="POST a Responses request and debug the stream live.",
    )
    connect.add_argument(
        "url",
        metavar="URL",
        nargs="?",
        type=http_url,
        help="the server's /v1/responses (or base /v1) URL",
    )
    connect.add_argument(
        "--via-engine",
        type=http_url,
        metavar="UPSTREAM",
        help="a Chat Completions server (http://host:port/v1): run the bundled engine "
        "in-process in front of it and debug the translated stream (u: raw chunks)",
    )
    add_judge_options(connect)
    add_request_options(connect)
    rec = connect.add_mutually_exclusive_group()
    rec.add_argument(
        "--record", metavar="FILE", help="capture file (default: in the user data directory)"
    )
    rec.add_argument("--no-record", action="store_true", help="do not record a capture")
    connect.add_argument("--no-redact", action="store_true", help="keep secrets in the capture")
    connect.add_argument(
        "--grace",
        type=non_negative_seconds,
        default=2.0,
        metavar="SECONDS",
        help="keep reading this long after the terminal event (default 2)",
    )
    _add_export_dir(connect)
    add_health_options(connect, check=True, default_from="URL")
    connect.set_defaults(func=cmd_connect)


def _register_open(sub: Subparsers) -> None:
    open_ = sub.add_parser(
        "open",
        help="open a capture, raw SSE or JSON-lines file in the terminal UI",
        description="Browse a recorded stream; replay it with the original timing.",
    )
    open_.add_argument("path", metavar="FILE")
    add_judge_options(open_)
    open_.add_argument(
        "--replay", action="store_true", help="start replaying with the original timing"
    )
    _add_export_dir(open_)
    open_.set_defaults(func=cmd_open)


def _register_demo(sub: Subparsers) -> None:
    demo = sub.add_parser(
        "demo",
        help="everything on an embedded mock server: no network, no GPU",
        description="Start the bundled mock Chat Completions backend and the translating engine "
        "in-process and debug their stream. Press d to pick a scenario or a fault.",
    )
    demo.add_argument(
        "--scenario",
        default="text",
        choices=DEMO_SCENARIOS,
        help="what the mock answers first (default text)",
    )
    demo.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="inject a fault from the field (repeatable; `ssescope engine --list-faults`)",
    )
    demo.add_argument(
        "--delay",
        type=non_negative_seconds,
        default=0.03,
        metavar="SECONDS",
        help="the mock's time between tokens (default 0.03)",
    )
    add_judge_options(demo)
    demo.add_argument("--record", metavar="FILE", help="also record the sessions to this capture")
    _add_export_dir(demo)
    demo.set_defaults(func=cmd_demo)


def _run_app(config: AppConfig) -> int:
    from .app import SseScopeApp  # Textual: only when a command opens the UI

    app = SseScopeApp(config)
    app.run()
    return app.return_code or 0  # 1 when the app failed (Textual showed why): never 0 then


def _upstream_key(args: argparse.Namespace) -> str | None:
    """With --via-engine the key is the upstream's: the engine sends it, not us."""
    if args.via_engine is None or not args.api_key_env:
        return None
    try:
        return api_key_from_env(args.api_key_env)
    except ValueError as exc:
        raise UsageError(f"ssescope connect: {exc}") from None


def cmd_connect(args: argparse.Namespace) -> int:
    from ..core.live import build_request  # httpx: only when a command reads a URL
    from .app import AppConfig

    via = args.via_engine
    if (args.url is None) == (via is None):
        raise UsageError("ssescope connect: give a URL, or --via-engine UPSTREAM (not both)")
    upstream_key = _upstream_key(args)
    spec = build_request(
        args.url or "http://127.0.0.1:1/v1",  # --via-engine: the engine's address, once it runs
        body_file=args.body,
        model=args.model,
        input_text=args.input_text,
        instructions=args.instructions,
        extra_headers=args.headers,
        api_key_env=None if via else args.api_key_env,
    )
    try:
        health = config_from_args(args, via or spec.url)
    except ValueError as exc:
        raise UsageError(f"ssescope connect: {exc}") from None
    record = None if args.no_record else (args.record or default_record_path(via or spec.url))
    config = AppConfig(
        check_options(args, keep_per_rule=None),
        "connect",
        spec=spec,
        record=record,
        redact=not args.no_redact,
        export_dir=args.export_dir,
        grace=args.grace,
        health=health,
        via_engine=via,
        upstream_api_key=upstream_key,
    )
    return _run_app(config)


def cmd_open(args: argparse.Namespace) -> int:
    from .app import AppConfig

    path = Path(args.path)
    if args.path == "-" or (path.exists() and not path.is_file() and not path.is_dir()):
        raise SourceError(  # the debugger maps the file: a pipe must be saved first
            f"{args.path}: not a regular file; save the stream to a file first "
            "(ssescope check reads pipes: cat x.sse | ssescope check -)"
        )
    src = open_source(args.path)  # a bad file fails here, with a one-line message, before the UI
    if src.format in ("jsonl-chat", "sse-chat"):
        raise SourceError(
            f"{args.path}: a Chat Completions stream; ssescope opens Responses streams "
            "(ssescope engine translates them)"
        )
    config = AppConfig(
        check_options(args, keep_per_rule=None),
        "open",
        path=args.path,
        export_dir=args.export_dir,
        replay=args.replay,
    )
    return _run_app(config)


def cmd_demo(args: argparse.Namespace) -> int:
    from .app import AppConfig

    try:
        faults = parse_faults(args.fault)
    except ValueError as exc:
        raise UsageError(f"ssescope demo: {exc}") from None
    config = AppConfig(
        check_options(args, keep_per_rule=None),
        "demo",
        record=args.record,
        export_dir=args.export_dir,
        demo_scenario=args.scenario,
        demo_faults=faults,
        demo_delay=args.delay,
    )
    return _run_app(config)


def open_proxy(config: ProxyConfig) -> int:
    """The interactive ``ssescope proxy``: the TUI serves the proxy and shows its exchanges.

    Handed to ``ssescope.proxy.command.register`` by the top-level CLI, so that the TUI opens the
    proxy and the proxy layer never imports the TUI."""
    from .proxy_view import run_proxy_tui  # Textual: only when the UI opens

    return int(run_proxy_tui(config) or 0)
