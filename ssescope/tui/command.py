"""`ssescope connect` and `ssescope open`: the command-line side of the debugger.

Textual is imported only when a command runs, so `ssescope check` never pays for it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
from pathlib import Path
from urllib.parse import urlsplit

from platformdirs import user_data_dir

from ..core.capture import SourceError
from ..core.checker import CheckOptions


def default_record_path(url: str) -> str:
    """Captures go to the user's data directory unless --record says otherwise."""
    host = (urlsplit(url).netloc or "stream").replace(":", "_")
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return str(Path(user_data_dir("ssescope")) / "captures" / f"{stamp}-{host}.jsonl")


def register(sub: argparse._SubParsersAction, add_request: object, add_judge: object) -> None:  # type: ignore[type-arg]
    connect = sub.add_parser(
        "connect",
        help="debug a live stream in the terminal UI",
        description="POST a Responses request and debug the stream live.",
    )
    connect.add_argument(
        "url", metavar="URL", nargs="?", help="the server's /v1/responses (or base /v1) URL"
    )
    connect.add_argument(
        "--via-engine",
        metavar="UPSTREAM",
        help="a Chat Completions server (http://host:port/v1): run the bundled engine "
        "in-process in front of it and debug the translated stream (u: raw chunks)",
    )
    add_judge(connect)  # type: ignore[operator]
    add_request(connect)  # type: ignore[operator]
    rec = connect.add_mutually_exclusive_group()
    rec.add_argument(
        "--record", metavar="FILE", help="capture file (default: in the user data directory)"
    )
    rec.add_argument("--no-record", action="store_true", help="do not record a capture")
    connect.add_argument("--no-redact", action="store_true", help="keep secrets in the capture")
    connect.add_argument(
        "--grace",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="keep reading this long after the terminal event (default 2)",
    )
    connect.add_argument(
        "--export-dir", default=".", metavar="DIR", help="where `e` writes exports"
    )
    from ..health.command import add_health_options

    add_health_options(connect, check=True, default_from="URL")
    connect.set_defaults(func=cmd_connect)

    open_ = sub.add_parser(
        "open",
        help="open a capture, raw SSE or JSON-lines file in the terminal UI",
        description="Browse a recorded stream; replay it with the original timing.",
    )
    open_.add_argument("path", metavar="FILE")
    add_judge(open_)  # type: ignore[operator]
    open_.add_argument(
        "--replay", action="store_true", help="start replaying with the original timing"
    )
    open_.add_argument("--export-dir", default=".", metavar="DIR", help="where `e` writes exports")
    open_.set_defaults(func=cmd_open)

    demo = sub.add_parser(
        "demo",
        help="everything on an embedded mock server: no network, no GPU",
        description="Start the bundled mock Chat Completions backend and the translating engine "
        "in-process and debug their stream. Press d to pick a scenario or a fault.",
    )
    demo.add_argument(
        "--scenario",
        default="text",
        choices=["text", "reasoning", "tool", "parallel", "refusal", "length"],
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
        type=float,
        default=0.03,
        metavar="SECONDS",
        help="the mock's time between tokens (default 0.03)",
    )
    add_judge(demo)  # type: ignore[operator]
    demo.add_argument("--record", metavar="FILE", help="also record the sessions to this capture")
    demo.add_argument("--export-dir", default=".", metavar="DIR", help="where `e` writes exports")
    demo.set_defaults(func=cmd_demo)


def _options(args: argparse.Namespace) -> CheckOptions:
    return CheckOptions(
        profile=args.profile,
        stall_warn=args.stall_warn,
        codex_idle_timeout=args.codex_idle_timeout,
        keep_per_rule=None,
    )


def cmd_connect(args: argparse.Namespace) -> int:
    from ..core.live import build_request
    from .app import AppConfig, SseScopeApp

    via = args.via_engine
    if (args.url is None) == (via is None):
        raise SourceError("ssescope connect: give a URL, or --via-engine UPSTREAM (not both)")
    upstream_key = None
    if via is not None:
        if not via.startswith(("http://", "https://")):
            raise SourceError(f"--via-engine {via}: not an http(s) URL")
        if args.api_key_env:  # the key is the upstream's: the engine sends it, not us
            import os

            upstream_key = os.environ.get(args.api_key_env)
            if not upstream_key:
                raise SourceError(f"--api-key-env {args.api_key_env}: the variable is not set")
    spec = build_request(
        args.url or "http://127.0.0.1:1/v1",  # --via-engine: the engine's address, once it runs
        body_file=args.body,
        model=args.model,
        input_text=args.input_text,
        instructions=args.instructions,
        header_lines=args.headers,
        api_key_env=None if via else args.api_key_env,
    )
    from ..health.command import config_from_args

    try:
        health = config_from_args(args, via or spec.url)
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    record = None if args.no_record else (args.record or default_record_path(via or spec.url))
    config = AppConfig(
        _options(args),
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
    SseScopeApp(config).run()
    return 0


def cmd_open(args: argparse.Namespace) -> int:
    from ..core.capture import open_source
    from .app import AppConfig, SseScopeApp

    src = open_source(args.path)  # a bad file fails here, with a one-line message, before the UI
    if src.format in ("jsonl-chat", "sse-chat"):
        raise SourceError(
            f"{args.path}: a Chat Completions stream; ssescope opens Responses streams "
            "(ssescope engine translates them)"
        )
    config = AppConfig(
        _options(args), "open", path=args.path, export_dir=args.export_dir, replay=args.replay
    )
    SseScopeApp(config).run()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ..engine.faults import parse_faults
    from .app import AppConfig, SseScopeApp

    try:
        faults = parse_faults(args.fault)
    except ValueError as exc:
        raise SourceError(str(exc)) from None
    config = AppConfig(
        _options(args),
        "demo",
        record=args.record,
        export_dir=args.export_dir,
        demo_scenario=args.scenario,
        demo_faults=faults,
        demo_delay=args.delay,
    )
    SseScopeApp(config).run()
    return 0
