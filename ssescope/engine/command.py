"""``ssescope engine``: serve a Chat Completions backend (or the mock) as a Responses API.

``cli.build_parser`` calls :func:`register`; everything heavy (uvicorn, Starlette, httpx) is
imported only when the command runs, so ``ssescope check`` stays fast to start.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from urllib.parse import urlsplit

DEFAULT_LISTEN = "127.0.0.1:8788"

_EPILOG = """\
examples:
  ssescope engine --upstream http://127.0.0.1:8000/v1             # vLLM, llama.cpp, Ollama, …
  ssescope engine --upstream https://api.deepseek.com/v1 --api-key-env DEEPSEEK_API_KEY
  ssescope engine --mock                                          # no backend at all
  ssescope engine --mock --fault stall-after-created              # reproduce a failure
  ssescope engine --list-faults

Point any Responses client at http://HOST:PORT/v1. For Codex (a new provider id; Codex appends
/responses to base_url):
  codex -c model_provider='"ssescope"' \\
        -c model_providers.ssescope.name='"ssescope"' \\
        -c model_providers.ssescope.base_url='"http://127.0.0.1:8788/v1"' \\
        -c model_providers.ssescope.wire_api='"responses"' -m MODEL

faults: chat-side ones need --mock; in mock mode a model name can carry them too
(-m 'mock-tool+cut'), and any client can send the header X-Ssescope-Fault: name,name.
"""


class _Usage(Exception):
    pass


def register(sub: Any) -> None:
    """Add the ``engine`` subcommand to ``ssescope``'s subparsers."""
    p = sub.add_parser(
        "engine",
        help="serve a Chat Completions backend (or a built-in mock) as a Responses API",
        description="A translating engine: POST /v1/responses streams the Responses API from a\n"
        "Chat Completions server, so that Codex and other Responses clients can use servers\n"
        "that speak only Chat Completions. GET /v1/models is passed through; GET /health\n"
        "answers ok.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--upstream", metavar="URL", help="the chat server: http://host:port/v1")
    src.add_argument(
        "--mock",
        action="store_true",
        help="use the built-in Chat Completions simulator (no network, no model)",
    )
    p.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"where to listen (default {DEFAULT_LISTEN}; port 0 picks a free one)",
    )
    p.add_argument("--api-key-env", metavar="VAR", help="send $VAR upstream as a bearer token")
    p.add_argument(
        "-H",
        "--upstream-header",
        dest="upstream_headers",
        action="append",
        default=[],
        metavar="'Name: value'",
        help="extra header for upstream requests (repeatable)",
    )
    p.add_argument("--ca-file", metavar="PEM", help="trust this CA bundle for an https upstream")
    p.add_argument("--model", help="send this model upstream whatever the client asks for")
    p.add_argument(
        "--done",
        action="store_true",
        help="end streams with data: [DONE] (Open Responses requires it; OpenAI does not send it)",
    )
    p.add_argument(
        "--reasoning",
        choices=("text", "summary"),
        default="text",
        help="stream upstream reasoning as reasoning_text (default) or as a reasoning summary "
        "(which Codex shows without show_raw_agent_reasoning)",
    )
    p.add_argument(
        "--refusal",
        choices=("part", "text"),
        default="part",
        help="stream upstream refusals as a refusal part (default, as OpenAI) or as text "
        "(Codex drops messages with refusal parts, so it shows nothing otherwise)",
    )
    p.add_argument(
        "--max-tokens-field",
        choices=("max_tokens", "max_completion_tokens"),
        default="max_tokens",
        help="the chat field max_output_tokens goes to (default max_tokens)",
    )
    p.add_argument(
        "--heartbeat",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="send a keepalive event after this much upstream silence; 0 never (default 15)",
    )
    p.add_argument(
        "--upstream-idle-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="fail the response after this much upstream silence; 0 never (default 600)",
    )
    p.add_argument(
        "--fault",
        dest="faults",
        action="append",
        default=[],
        metavar="NAME",
        help="inject a fault into every response (repeatable; see --list-faults)",
    )
    p.add_argument(
        "--mock-delay",
        type=float,
        default=0.02,
        metavar="SECONDS",
        help="with --mock: time between chunks (default 0.02)",
    )
    p.add_argument("--list-faults", action="store_true", help="print the fault catalogue and exit")
    p.add_argument("--markdown", action="store_true", help="with --list-faults: as Markdown")
    p.add_argument("--quiet", "-q", action="store_true", help="log only warnings and errors")
    p.set_defaults(func=cmd_engine)


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", value
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise _Usage(f"--listen {value!r}: expected HOST:PORT")
    return host, int(port)


def _header(line: str) -> tuple[str, str]:
    name, sep, value = line.partition(":")
    if not sep or not name.strip():
        raise _Usage(f"--upstream-header {line!r}: expected 'Name: value'")
    return name.strip(), value.strip()


def build_config(args: argparse.Namespace) -> Any:
    """The EngineConfig the arguments describe (raises _Usage on bad ones)."""
    from .app import EngineConfig
    from .faults import CHAT_FAULTS, UnknownFault, parse_faults
    from .mock import MockOptions

    if not args.upstream and not args.mock:
        raise _Usage("give --upstream URL or --mock")
    if args.upstream:
        parts = urlsplit(args.upstream)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _Usage(f"--upstream {args.upstream!r}: not an http(s) URL")
    try:
        faults = parse_faults(args.faults)
    except UnknownFault as exc:
        raise _Usage(str(exc)) from None
    chat = tuple(f for f in faults if f in CHAT_FAULTS)
    if chat and not args.mock:
        raise _Usage(f"chat-side faults need --mock: {', '.join(chat)}")
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise _Usage(f"--api-key-env: ${args.api_key_env} is not set")
    if args.ca_file and not os.path.isfile(args.ca_file):
        raise _Usage(f"--ca-file {args.ca_file!r}: no such file")
    for name, value in (
        ("--heartbeat", args.heartbeat),
        ("--upstream-idle-timeout", args.upstream_idle_timeout),
        ("--mock-delay", args.mock_delay),
    ):
        if value < 0:
            raise _Usage(f"{name} must not be negative")
    return EngineConfig(
        upstream=args.upstream,
        api_key=api_key,
        upstream_headers=dict(_header(h) for h in args.upstream_headers),
        ca_file=args.ca_file,
        model=args.model,
        done_marker=args.done,
        reasoning=args.reasoning,
        refusal=args.refusal,
        max_tokens_field=args.max_tokens_field,
        heartbeat=args.heartbeat,
        upstream_idle_timeout=args.upstream_idle_timeout,
        faults=tuple(f for f in faults if f not in CHAT_FAULTS),
        mock=MockOptions(delay=args.mock_delay, faults=chat) if args.mock else None,
    )


def cmd_engine(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from ..cli import EXIT_OK, EXIT_UNREADABLE, UsageError

    if args.list_faults:
        _print_faults(args.markdown)
        return EXIT_OK
    try:
        host, port = _listen(args.listen)
        config = build_config(args)
    except _Usage as exc:
        raise UsageError(f"ssescope engine: {exc}") from None
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per upstream request is noise
    try:
        asyncio.run(_run(config, host, port))
    except OSError as exc:
        print(
            f"ssescope engine: cannot listen on {host}:{port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    except KeyboardInterrupt:
        pass
    return EXIT_OK


async def _run(config: Any, host: str, port: int) -> None:
    from .serve import serve

    async with serve(config, host, port, signals=True, log_level="warning") as running:
        print(_banner(running), file=sys.stderr, flush=True)
        await running.engine.stopping.wait()


def _banner(running: Any) -> str:
    from .. import __version__

    config = running.config
    source = (
        f"the built-in mock backend ({running.base_url.removesuffix('/v1')}/mock/v1/chat/completions)"
        if config.mock is not None
        else config.chat_url
    )
    lines = [
        f"ssescope engine {__version__}: Responses API on {running.base_url} "
        "(POST /responses, GET /models; GET /health)",
        f"  upstream: {source}",
    ]
    faults = [*config.faults, *(config.mock.faults if config.mock else ())]
    if faults:
        lines.append(f"  faults: {', '.join(faults)}")
    lines.append(
        "  Codex: codex -c model_provider='\"ssescope\"' "
        "-c model_providers.ssescope.name='\"ssescope\"' "
        f"-c model_providers.ssescope.base_url='\"{running.base_url}\"' "
        "-c model_providers.ssescope.wire_api='\"responses\"' -m "
        + ("mock" if config.mock is not None else "MODEL")
    )
    return "\n".join(lines)


def _print_faults(markdown: bool) -> None:
    from .faults import FAULTS, fault_table_markdown

    if markdown:
        sys.stdout.write(fault_table_markdown())
        return
    for side, title in (("chat", "chat side (need --mock)"), ("responses", "responses side")):
        print(f"{title}:")
        for fault in FAULTS.values():
            if fault.side == side:
                print(f"  {fault.name:24} {fault.does}")
                print(f"  {'':24} → {fault.shows}")
        print()
