"""The ``ssescope`` command line.

Exit status of ``check``: 0 no error-severity finding, 1 error findings, 2 the source could not be
read. Bad input gets one line on stderr, never a traceback (set SSESCOPE_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__
from .core.capture import SourceError
from .core.checker import DEFAULT_STALL_WARN, CheckOptions
from .core.codex import DEFAULT_IDLE_TIMEOUT
from .core.rules import PROFILE_HELP, PROFILES, RULES, catalogue_markdown

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every bad input
        raise UsageError(f"{self.prog}: {message}")


def _add_request_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("request (when SOURCE is a URL)")
    g.add_argument(
        "--body", metavar="FILE", help="JSON request body (stream: true is added if absent)"
    )
    g.add_argument("--model", help="model name for the default body")
    g.add_argument(
        "--input", dest="input_text", metavar="TEXT", help="input text for the default body"
    )
    g.add_argument("--instructions", metavar="TEXT", help="instructions for the default body")
    g.add_argument(
        "-H",
        "--header",
        dest="headers",
        action="append",
        default=[],
        metavar="'Name: value'",
        help="extra request header (repeatable)",
    )
    g.add_argument("--api-key-env", metavar="VAR", help="send $VAR as a bearer token")


def _add_judge_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--profile", choices=PROFILES, default="openai", help="rule profile (default: openai)"
    )
    p.add_argument(
        "--stall-warn",
        type=float,
        default=DEFAULT_STALL_WARN,
        metavar="SECONDS",
        help=f"a gap longer than this is a stall (default {DEFAULT_STALL_WARN:g})",
    )
    p.add_argument(
        "--codex-idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help="Codex's stream_idle_timeout_ms in seconds (default 300)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ssescope", description="A terminal debugger for OpenAI Responses API SSE streams."
    )
    parser.add_argument("--version", action="version", version=f"ssescope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = sub.add_parser(
        "check",
        help="judge a stream headless (for scripts and CI)",
        description="Judge a Responses stream from a file (capture, raw SSE, JSON lines) "
        "or a live URL. Exit 0: no error finding; 1: errors; 2: unreadable source.",
    )
    check.add_argument(
        "source", metavar="SOURCE", help="a file, or an http(s) URL to POST a Responses request to"
    )
    _add_judge_options(check)
    check.add_argument(
        "--json", action="store_true", help="print one JSON document instead of the report"
    )
    check.add_argument(
        "--verbose", "-v", action="store_true", help="list every kept finding per rule"
    )
    check.add_argument(
        "--max-findings",
        type=int,
        default=200,
        metavar="N",
        help="keep at most N findings per rule (counts stay exact; default 200)",
    )
    live = check.add_argument_group("live reading")
    live.add_argument(
        "--max-wait",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="longest silence to wait before ending the read as a stall (default 60)",
    )
    live.add_argument(
        "--grace",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="keep reading this long after the terminal event (default 2)",
    )
    live.add_argument("--record", metavar="FILE", help="write a capture of the live stream")
    live.add_argument(
        "--no-redact", action="store_true", help="keep Authorization/api-key headers in the capture"
    )
    _add_request_options(check)
    from .health.command import add_health_options

    add_health_options(check, check=True)
    check.set_defaults(func=cmd_check)

    rules = sub.add_parser("rules", help="print the rule catalogue")
    rules.add_argument("--profile", choices=PROFILES, help="only the severities of this profile")
    fmt = rules.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="a Markdown document")
    fmt.add_argument("--json", action="store_true", help="JSON")
    rules.set_defaults(func=cmd_rules)

    # Shells register their own commands here (each module adds a subparser with func=...).
    from .engine.command import register as _register_engine

    _register_engine(sub)
    from .health.command import register as register_health

    register_health(sub)
    from .tui.command import register as register_tui

    register_tui(sub, _add_request_options, _add_judge_options)
    from .proxy.command import register as register_proxy

    register_proxy(sub, _add_judge_options)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_OK
        return int(args.func(args))
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_UNREADABLE
    except SourceError as exc:
        print(f"ssescope: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except KeyboardInterrupt:
        print("ssescope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the promise: never a traceback for bad input
        if os.environ.get("SSESCOPE_DEBUG"):
            raise
        print(
            f"ssescope: internal error: {type(exc).__name__}: {exc} (SSESCOPE_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE


# -- check -------------------------------------------------------------------------------------


def _options(args: argparse.Namespace) -> CheckOptions:
    if args.stall_warn <= 0:
        raise UsageError("ssescope check: --stall-warn must be positive")
    if args.codex_idle_timeout <= 0:
        raise UsageError("ssescope check: --codex-idle-timeout must be positive")
    return CheckOptions(
        profile=args.profile,
        stall_warn=args.stall_warn,
        codex_idle_timeout=args.codex_idle_timeout,
        keep_per_rule=max(1, args.max_findings),
    )


def cmd_check(args: argparse.Namespace) -> int:
    from .core.check import check_file, check_url
    from .health.command import config_from_args

    options = _options(args)
    source: str = args.source
    is_url = source.startswith(("http://", "https://"))
    try:
        health = config_from_args(args, source if is_url else None)
    except ValueError as exc:
        raise UsageError(f"ssescope check: {exc}") from None
    if health is not None and not is_url:
        raise UsageError(
            "ssescope check: --server and GPU sources apply to URLs only "
            "(a capture replays the samples it recorded)"
        )
    if is_url:
        from .core.live import build_request  # httpx: only for URLs

        spec = build_request(
            source,
            body_file=args.body,
            model=args.model,
            input_text=args.input_text,
            instructions=args.instructions,
            header_lines=args.headers,
            api_key_env=args.api_key_env,
        )
        results = [
            check_url(
                spec,
                options,
                record=args.record,
                redact=not args.no_redact,
                max_wait=args.max_wait,
                grace=args.grace,
                health=health,
            )
        ]
    else:
        if args.record:
            raise UsageError("ssescope check: --record applies to URLs only")
        results = check_file(source, options)

    if args.json:
        doc = results[0] if len(results) == 1 else _merge(results)
        # Pretty for a person; compact (the C encoder, several times faster) for a pipe.
        indent = 2 if sys.stdout.isatty() else None
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=indent) + "\n")
    else:
        from rich.console import Console

        from .health.render import print_check_health
        from .report import print_report

        console = Console(highlight=False)
        for i, result in enumerate(results):
            if i:
                console.rule()
            print_report(console, result, verbose=args.verbose)
            print_check_health(console, result)
    has_errors = any(r["summary"]["errors"] for r in results)
    return EXIT_FINDINGS if has_errors else EXIT_OK


def _merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Several responses in one file: one document, findings tagged with their stream."""
    last = results[-1]
    findings = [{**f, "stream": r["stream"]} for r in results for f in r["findings"]]
    counts: dict[str, int] = {}
    for r in results:
        for k, v in r["finding_counts"].items():
            counts[k] = counts.get(k, 0) + v
    return {
        "source": last["source"],
        "format": last["format"],
        "profile": last["profile"],
        "events": sum(r["events"] for r in results),
        "findings": findings,
        "finding_counts": counts,
        "summary": {k: sum(r["summary"][k] for r in results) for k in last["summary"]},
        "timing": last["timing"],
        "codex": last["codex"],
        "response": last["response"],
        "warnings": last["warnings"],
        "diagnosis": last.get("diagnosis"),
        "streams": results,
    }


# -- rules -------------------------------------------------------------------------------------


def cmd_rules(args: argparse.Namespace) -> int:
    if args.markdown:
        sys.stdout.write(catalogue_markdown())
        return EXIT_OK
    if args.json:
        doc = [
            {
                "id": r.id,
                "group": r.group,
                "title": r.title,
                "why": r.why,
                "severity": dict(zip(PROFILES, r.severity, strict=True)),
            }
            for r in RULES.values()
        ]
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    profiles = [args.profile] if args.profile else list(PROFILES)
    table = Table(title="ssescope rules", show_lines=False, expand=True)
    table.add_column("rule", style="bold", no_wrap=True)
    for p in profiles:
        table.add_column(p, no_wrap=True)
    table.add_column("why it matters", ratio=1)
    style = {
        "error": "[red]error[/]",
        "warning": "[yellow]warning[/]",
        "info": "[cyan]info[/]",
        None: "[dim]off[/]",
    }
    for r in RULES.values():
        table.add_row(
            r.id, *(style[r.severity_in(p)] for p in profiles), f"[bold]{r.title}.[/] {r.why}"
        )
    console = Console()
    console.print(table)
    for p in profiles:
        console.print(f"[bold]{p}[/]: {PROFILE_HELP[p]}")
    return EXIT_OK
