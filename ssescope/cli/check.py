"""``ssescope check`` and ``ssescope rules``: the headless judge (for scripts and CI) and its
catalogue.

Here the core's judgement meets the health layer: :func:`check_file` and :func:`check_url` hand
the core's ``check_source``/``check_url`` the health layer's rider (``ssescope.health.rider``), so
results carry the stall diagnosis and the server/GPU samples while the core knows neither. The
judging and reporting modules are imported when the command runs: the parser is built on every
``ssescope`` run, and a file check must not pay for httpx or the probes.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from typing import TYPE_CHECKING, Any

from ..core import check as core_check
from ..core.clients import CLIENTS
from ..core.redact import redact_url
from ..core.rules import PROFILE_HELP, PROFILES, RULES, catalogue_markdown
from ..health.command import config_from_args
from . import progress
from .common import (
    EXIT_FINDINGS,
    EXIT_OK,
    UsageError,
    add_health_options,
    add_judge_options,
    add_request_options,
    check_options,
    non_negative_seconds,
    positive_seconds,
    stream_source,
)

if TYPE_CHECKING:
    from ..core.checker import CheckOptions
    from ..core.live import RequestSpec
    from ..core.riders import LiveRider
    from ..health.monitor import HealthConfig
    from .common import Subparsers
    from .progress import Report


def register(sub: Subparsers) -> None:
    """Add ``check`` and ``rules`` to ``ssescope``'s subparsers."""
    check = sub.add_parser(
        "check",
        help="judge a stream headless (for scripts and CI)",
        description="Judge a Responses stream from a file (capture, raw SSE, JSON lines) "
        "or a live URL. Exit 0: no error finding; 1: errors; 2: unreadable source.",
    )
    check.add_argument(
        "source",
        metavar="SOURCE",
        type=stream_source,
        help="a file, - (piped in), or an http(s) URL to POST a Responses request to",
    )
    add_judge_options(check)
    _add_output_options(check)
    _add_live_options(check)
    add_request_options(check)
    add_health_options(check, check=True)
    check.set_defaults(func=cmd_check)

    rules = sub.add_parser("rules", help="print the rule catalogue")
    rules.add_argument("--profile", choices=PROFILES, help="only the severities of this profile")
    fmt = rules.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="a Markdown document")
    fmt.add_argument("--json", action="store_true", help="JSON")
    rules.set_defaults(func=cmd_rules)

    clients = sub.add_parser(
        "clients",
        help="list the modelled clients",
        description="The client libraries whose outcome check, the TUI and the proxy predict, "
        "with the version each model is of, where its behaviour was read and how it was "
        "verified.",
    )
    clients.add_argument("--json", action="store_true", help="JSON")
    clients.set_defaults(func=cmd_clients)


def _add_output_options(check: argparse.ArgumentParser) -> None:
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


def _add_live_options(check: argparse.ArgumentParser) -> None:
    live = check.add_argument_group("live reading")
    live.add_argument(
        "--max-wait",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="longest silence to wait before ending the read as a stall (default 60)",
    )
    live.add_argument(
        "--grace",
        type=non_negative_seconds,
        default=2.0,
        metavar="SECONDS",
        help="keep reading this long after the terminal event (default 2)",
    )
    live.add_argument("--record", metavar="FILE", help="write a capture of the live stream")
    live.add_argument(
        "--no-redact", action="store_true", help="keep Authorization/api-key headers in the capture"
    )


# -- check: the core's judgement with the health layer riding along --------------------------------


def check_file(
    path: str, options: CheckOptions, progress: Report | None = None
) -> list[dict[str, Any]]:
    """Judge every response in a file; a capture's recorded samples are replayed into the
    diagnosis; ``progress`` is told how far the read is."""
    return core_check.check_file(path, options, _health_rider(None), progress)


def check_url(
    spec: RequestSpec,
    options: CheckOptions,
    *,
    health: HealthConfig | None = None,
    progress_report: Report | None = None,
    **reading: Any,
) -> dict[str, Any]:
    """Read a live stream (``reading``: the keywords of :func:`ssescope.core.check.read_url`);
    with ``health``, probe the server/GPUs while reading (samples go into the result, the capture
    and the diagnosis); ``progress_report`` is told the bytes and events read so far."""
    return core_check.check_url(spec, options, rider=_rider(health, progress_report), **reading)


async def read_url(
    spec: RequestSpec,
    options: CheckOptions,
    *,
    health: HealthConfig | None = None,
    progress_report: Report | None = None,
    **reading: Any,
) -> dict[str, Any]:
    """:func:`check_url` in the caller's event loop (tests pass ``clock=`` a virtual one)."""
    rider = _rider(health, progress_report)
    return await core_check.read_url(spec, options, rider=rider, **reading)


def _rider(health: HealthConfig | None, progress_report: Report | None) -> LiveRider:
    """The health rider, inside the progress display's when one is shown."""
    rider: LiveRider = _health_rider(health)
    if progress_report is not None:
        rider = progress.ProgressRider(rider, progress_report)
    return rider


def _health_rider(health: HealthConfig | None) -> LiveRider:
    """The health layer's rider: recorded samples replayed, and with ``health`` the probes."""
    from ..health.rider import HealthRider  # the samples and diagnosis: only when a check runs

    return HealthRider(health)


def _health_config(args: argparse.Namespace, url: str | None) -> HealthConfig | None:
    try:
        health = config_from_args(args, url)
    except ValueError as exc:
        raise UsageError(f"ssescope check: {exc}") from None
    if health is not None and url is None:
        raise UsageError(
            "ssescope check: --server and GPU sources apply to URLs only "
            "(a capture replays the samples it recorded)"
        )
    return health


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
"""What ends a live check early, with its report and the capture's ``interrupted`` record."""


async def read_until_signal(
    spec: RequestSpec, options: CheckOptions, interrupted: list[int], **reading: Any
) -> dict[str, Any]:
    """:func:`read_url` that Ctrl-C, SIGTERM and SIGHUP end as ``interrupted`` (the read stops,
    the result and capture are complete) instead of killing the process mid-write; the signal
    caught is appended to ``interrupted``."""
    import asyncio  # only a live read runs an event loop

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    numbers = [getattr(signal, name) for name in STOP_SIGNALS if hasattr(signal, name)]

    def caught(number: int) -> None:
        interrupted.append(number)
        stop.set()

    for number in numbers:
        loop.add_signal_handler(number, caught, number)
    try:
        return await read_url(spec, options, stop=stop, **reading)
    finally:
        for number in numbers:
            loop.remove_signal_handler(number)


def _check_live(
    args: argparse.Namespace,
    options: CheckOptions,
    health: HealthConfig | None,
    interrupted: list[int],
) -> dict[str, Any]:
    import asyncio  # only a live read runs an event loop

    from ..core.live import build_request  # httpx: only for URLs

    spec = build_request(
        args.source,
        body_file=args.body,
        model=args.model,
        input_text=args.input_text,
        instructions=args.instructions,
        extra_headers=args.headers,
        api_key_env=args.api_key_env,
    )
    show = progress.wanted(args.json)
    with progress.shown(redact_url(args.source), enabled=show) as report:
        reading = read_until_signal(
            spec,
            options,
            interrupted,
            on_record_error=lambda message: print(f"ssescope check: {message}", file=sys.stderr),
            record=args.record,
            redact=not args.no_redact,
            max_wait=args.max_wait,
            grace=args.grace,
            health=health,
            progress_report=report,
        )
        return asyncio.run(reading)


def cmd_check(args: argparse.Namespace) -> int:
    options = check_options(args, keep_per_rule=max(1, args.max_findings))
    is_url = args.source.startswith(("http://", "https://"))
    health = _health_config(args, args.source if is_url else None)
    interrupted: list[int] = []
    if is_url:
        results = [_check_live(args, options, health, interrupted)]
    elif args.record:
        raise UsageError("ssescope check: --record applies to URLs only")
    else:
        show = progress.wanted(args.json)
        with progress.shown(args.source, enabled=show) as report:
            results = check_file(args.source, options, report)
    if args.json:
        doc = results[0] if len(results) == 1 else merge_results(results)
        # Pretty for a person; compact (the C encoder, several times faster) for a pipe.
        indent = 2 if sys.stdout.isatty() else None
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=indent))
        sys.stdout.write("\n")  # apart: `+ "\n"` would copy a 200 MB document once more
    else:
        _print_reports(results, verbose=args.verbose)
    if interrupted:  # the report is out; the status says how the read ended, as a shell would
        sys.stderr.write(f"ssescope check: interrupted by {signal.Signals(interrupted[0]).name}\n")
        return 128 + interrupted[0]
    has_errors = any(r["summary"]["errors"] for r in results)
    return EXIT_FINDINGS if has_errors else EXIT_OK


def _print_reports(results: list[dict[str, Any]], *, verbose: bool) -> None:
    from rich.console import Console  # rich only for a person: --json pipes skip it

    from ..health.render import print_check_health
    from ..report import print_report

    console = Console(highlight=False)
    for i, result in enumerate(results):
        if i:
            console.rule()
        print_report(console, result, verbose=verbose)
        print_check_health(console, result)


def merge_results(results: list[dict[str, Any]]) -> dict[str, Any]:
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


# -- rules -----------------------------------------------------------------------------------------

SEVERITY_MARKUP = {
    "error": "[red]error[/]",
    "warning": "[yellow]warning[/]",
    "info": "[cyan]info[/]",
    None: "[dim]off[/]",
}


def cmd_rules(args: argparse.Namespace) -> int:
    if args.markdown:
        sys.stdout.write(catalogue_markdown())
    elif args.json:
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
    else:
        _print_rule_table([args.profile] if args.profile else list(PROFILES))
    return EXIT_OK


def _print_rule_table(profiles: list[str]) -> None:
    from rich.console import Console  # rich only for a person: --json/--markdown skip it
    from rich.table import Table

    table = Table(title="ssescope rules", show_lines=False, expand=True)
    table.add_column("rule", style="bold", no_wrap=True)
    for p in profiles:
        table.add_column(p, no_wrap=True)
    table.add_column("why it matters", ratio=1)
    for r in RULES.values():
        table.add_row(
            r.id,
            *(SEVERITY_MARKUP[r.severity_in(p)] for p in profiles),
            f"[bold]{r.title}.[/] {r.why}",
        )
    console = Console()
    console.print(table)
    for p in profiles:
        console.print(f"[bold]{p}[/]: {PROFILE_HELP[p]}")


def cmd_clients(args: argparse.Namespace) -> int:
    """``ssescope clients``: every client model with its version, source and verification."""
    rows = [
        {
            "client": m.id,
            "name": m.name,
            "version": m.version,
            "reads_with": m.reads_with,
            "source": m.source,
            "verified": m.verified,
        }
        for m in CLIENTS.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for row in rows:
        print(f"{row['client']:<24} {row['version']}")
        print(f"  reads with: {row['reads_with']}")
        print(f"  source:     {row['source']}")
        print(f"  verified:   {row['verified']}")
    return EXIT_OK
