"""``ssescope probe URL``: will this server survive a Codex thread?

Exit status: 0 when no case is a thread killer and none failed (an error finding the case does
not expect), 1 otherwise, 2 when the target cannot be reached or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from ..cli.common import (
    EXIT_UNREADABLE,
    UsageError,
    add_judge_options,
    api_key_from_env,
    check_options,
    header_line,
    http_url,
    positive_seconds,
)
from ..core.capture import SourceError
from ..core.live import DEFAULT_MODEL, responses_url
from .cases import CASES, selected

if TYPE_CHECKING:
    from ..cli.common import Subparsers


def register(sub: Subparsers) -> None:
    """Add ``ssescope probe`` to the CLI's subparsers."""
    p = sub.add_parser(
        "probe",
        help="send the requests real clients send (Codex's replayed history, hosted tools) and "
        "find the ones that kill a thread",
        description="Send a battery of realistic Responses requests one at a time, judge every "
        "answer with the full checker and the client models, and narrow each rejection down to "
        "the input item or tool that causes it. A thread killer is a rejection caused by "
        "replayed history or the tool list: the client resends it on every turn. Exit 0: no "
        "thread killer and no failed case; 1: some; 2: the target cannot be reached.",
    )
    p.add_argument("url", nargs="?", type=http_url, metavar="URL", help="…/v1 or …/v1/responses")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    p.add_argument(
        "-H",
        "--header",
        dest="headers",
        type=header_line,
        action="append",
        default=[],
        metavar="'Name: value'",
        help="extra request header (repeatable)",
    )
    p.add_argument("--api-key-env", metavar="VAR", help="send $VAR as a bearer token")
    p.add_argument(
        "--case",
        dest="cases",
        action="append",
        metavar="ID",
        help="run only this case (repeatable; --list shows them)",
    )
    p.add_argument("--list", action="store_true", help="print the cases and exit")
    p.add_argument("--json", action="store_true", help="print the report as one JSON document")
    p.add_argument(
        "--no-narrow", action="store_true", help="do not resend a rejected case to find its cause"
    )
    p.add_argument(
        "--max-wait",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="longest silence in a case's stream before it ends as a stall (default 60)",
    )
    add_judge_options(p)
    p.set_defaults(func=cmd_probe)


def _headers(args: argparse.Namespace) -> dict[str, str]:
    headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
    headers.update(args.headers)
    if args.api_key_env:
        try:
            headers["Authorization"] = f"Bearer {api_key_from_env(args.api_key_env)}"
        except ValueError as exc:
            raise UsageError(f"ssescope probe: {exc}") from None
    return headers


def cmd_probe(args: argparse.Namespace) -> int:
    if args.list:
        return _list(args)
    if args.url is None:
        raise UsageError("ssescope probe: give the server's URL (…/v1), or --list")
    try:
        cases = selected(args.cases)
    except KeyError as exc:
        raise UsageError(
            f"ssescope probe: unknown case {exc.args[0]} (choose from {', '.join(CASES)})"
        ) from None
    import asyncio

    from .runner import ProbeSettings, Target, exit_status, probe

    target = Target(responses_url(args.url), args.model, _headers(args))
    settings = ProbeSettings(
        options=check_options(args, keep_per_rule=None),
        max_wait=args.max_wait,
        narrow=not args.no_narrow,
    )
    try:
        report = asyncio.run(probe(target, cases, settings))
    except SourceError as exc:
        print(f"ssescope probe: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    else:
        from rich.console import Console

        from .render import report_view

        Console(highlight=False).print(report_view(report))
    return exit_status(report)


def _list(args: argparse.Namespace) -> int:
    cases = list(CASES.values())
    if args.json:
        doc = [{"id": c.id, "title": c.title, "means": c.means} for c in cases]
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return 0
    from rich.console import Console

    from .render import case_list

    Console(highlight=False).print(case_list(cases))
    return 0
