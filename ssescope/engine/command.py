"""``ssescope engine``: serve a Chat Completions backend (or the mock) as a Responses API.

``ssescope.cli.build_parser`` calls :func:`register`; this shell imports ``ssescope.cli.common``
only (never the top-level CLI). Everything heavy (uvicorn, Starlette, httpx, the translator) is
imported only when the command runs, so ``ssescope check`` stays fast to start.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..cli.common import (
    EXIT_OK,
    EXIT_UNREADABLE,
    UsageError,
    add_allow_host_option,
    api_key_from_env,
    configure_logging,
    existing_file,
    header_line,
    http_url,
    listen_address,
    non_negative_seconds,
)
from ..core.redact import redact_url
from .faults import CHAT_FAULTS, FAULTS, UnknownFault, fault_table_markdown, parse_faults

if TYPE_CHECKING:
    from ..cli.common import Subparsers
    from .app import EngineConfig

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


def register(sub: Subparsers) -> None:
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
    _add_upstream_options(p)
    _add_translation_options(p)
    _add_timing_options(p)
    _add_fault_options(p)
    p.add_argument("--quiet", "-q", action="store_true", help="log only warnings and errors")
    p.set_defaults(func=cmd_engine)


def _add_upstream_options(p: argparse.ArgumentParser) -> None:
    """Where the chat server is and how to reach it, and where the engine listens."""
    src = p.add_mutually_exclusive_group()
    src.add_argument(
        "--upstream", type=http_url, metavar="URL", help="the chat server: http://host:port/v1"
    )
    src.add_argument(
        "--mock",
        action="store_true",
        help="use the built-in Chat Completions simulator (no network, no model)",
    )
    p.add_argument(
        "--listen",
        type=listen_address,
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"where to listen (default {DEFAULT_LISTEN}; port 0 picks a free one)",
    )
    add_allow_host_option(p)
    p.add_argument("--api-key-env", metavar="VAR", help="send $VAR upstream as a bearer token")
    p.add_argument(
        "-H",
        "--upstream-header",
        dest="upstream_headers",
        type=header_line,
        action="append",
        default=[],
        metavar="'Name: value'",
        help="extra header for upstream requests (repeatable)",
    )
    p.add_argument(
        "--ca-file",
        type=existing_file,
        metavar="PEM",
        help="trust this CA bundle for an https upstream",
    )


def _add_translation_options(p: argparse.ArgumentParser) -> None:
    """How the chat stream becomes a Responses stream."""
    p.add_argument("--model", help="send this model upstream whatever the client asks for")
    p.add_argument(
        "--done",
        action="store_true",
        help="end streams with data: [DONE] (Open Responses requires it; OpenAI does not send it)",
    )
    p.add_argument(
        "--reasoning",
        choices=("text", "summary", "open-responses"),
        default="text",
        help="stream upstream reasoning as reasoning_text (default), as a reasoning summary "
        "(which Codex shows without show_raw_agent_reasoning), or as reasoning_text under the "
        "Open Responses event names response.reasoning.delta/.done",
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


def _add_timing_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--heartbeat",
        type=non_negative_seconds,
        default=15.0,
        metavar="SECONDS",
        help="send a keepalive event after this much upstream silence; 0 never (default 15)",
    )
    p.add_argument(
        "--upstream-idle-timeout",
        type=non_negative_seconds,
        default=600.0,
        metavar="SECONDS",
        help="fail the response after this much upstream silence; 0 never (default 600)",
    )


def _add_fault_options(p: argparse.ArgumentParser) -> None:
    """Fault injection and the mock's pace."""
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
        type=non_negative_seconds,
        default=0.02,
        metavar="SECONDS",
        help="with --mock: time between chunks (default 0.02)",
    )
    p.add_argument("--list-faults", action="store_true", help="print the fault catalogue and exit")
    p.add_argument("--markdown", action="store_true", help="with --list-faults: as Markdown")


def _usage(message: str) -> UsageError:
    return UsageError(f"ssescope engine: {message}")


def _faults(args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The faults asked for: (responses-side, chat-side); chat-side ones need the mock."""
    try:
        faults = parse_faults(args.faults)
    except UnknownFault as exc:
        raise _usage(str(exc)) from None
    chat = tuple(f for f in faults if f in CHAT_FAULTS)
    if chat and not args.mock:
        raise _usage(f"chat-side faults need --mock: {', '.join(chat)}")
    return tuple(f for f in faults if f not in CHAT_FAULTS), chat


def _api_key(args: argparse.Namespace) -> str | None:
    if not args.api_key_env:
        return None
    try:
        return api_key_from_env(args.api_key_env)
    except ValueError as exc:
        raise _usage(str(exc)) from None


def build_config(args: argparse.Namespace) -> EngineConfig:
    """The EngineConfig the arguments describe (raises UsageError on bad ones)."""
    from .app import EngineConfig
    from .mock import MockOptions

    if not args.upstream and not args.mock:
        raise _usage("give --upstream URL or --mock")
    faults, chat_faults = _faults(args)
    return EngineConfig(
        upstream=args.upstream,
        api_key=_api_key(args),
        upstream_headers=dict(args.upstream_headers),
        ca_file=args.ca_file,
        model=args.model,
        done_marker=args.done,
        reasoning=args.reasoning,
        refusal=args.refusal,
        max_tokens_field=args.max_tokens_field,
        heartbeat=args.heartbeat,
        upstream_idle_timeout=args.upstream_idle_timeout,
        faults=faults,
        mock=MockOptions(delay=args.mock_delay, faults=chat_faults) if args.mock else None,
        allow_hosts=tuple(args.allow_hosts),
    )


def cmd_engine(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    if args.list_faults:
        _print_faults(args.markdown)
        return EXIT_OK
    host, port = args.listen
    config = build_config(args)
    configure_logging(logging.WARNING if args.quiet else logging.INFO)
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


async def _run(config: EngineConfig, host: str, port: int) -> None:
    from .serve import serve

    async with serve(config, host, port, signals=True, log_level="warning") as running:
        print(_banner(running), file=sys.stderr, flush=True)
        await running.engine.stopping.wait()


def _banner(running: Any) -> str:
    config = running.config
    source = (
        f"the built-in mock backend ({running.base_url.removesuffix('/v1')}/mock/v1/chat/completions)"
        if config.mock is not None
        else redact_url(config.chat_url)
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
