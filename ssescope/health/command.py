"""``ssescope health``, and :func:`config_from_args`, which turns the health options every command
shares (``ssescope.cli.common.add_health_options``) into a :class:`HealthConfig`.

This shell imports ``ssescope.cli.common`` only (never the top-level CLI), and is kept
import-light (the probes, httpx and rich only when a command runs): the parser is built on every
ssescope run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..cli.common import EXIT_OK, UsageError, add_health_options

if TYPE_CHECKING:
    from ..cli.common import Subparsers
    from .monitor import HealthConfig, HealthMonitor
    from .samples import Sample

EXIT_DOWN = 1
"""``ssescope health``: a source did not answer."""


def config_from_args(
    args: argparse.Namespace, source_url: str | None = None
) -> HealthConfig | None:
    """The health config the options ask for (None: no probing). Raises ValueError on misuse."""
    server = getattr(args, "server", None)
    if server is None and not (args.gpu or args.gpu_cmd or args.prometheus):
        return None  # no probing: the probes (and httpx) are not even imported
    from .monitor import HealthConfig, gpu_probe

    if server == "auto":
        server = _host_of(source_url)
    gpu = _gpu_source(args)
    if gpu is not None:
        gpu_probe(gpu)  # validates the spec (cheap: no I/O until polled)
    if server is None and gpu is None:
        return None
    return HealthConfig(
        server=server,
        gpu=gpu,
        gpu_match=args.gpu_match,
        interval=args.health_interval,
        server_kind=args.server_kind,
    )


def _host_of(source_url: str | None) -> str:
    """``--server`` without a value: the scheme and host of the URL being read."""
    if not source_url:
        raise ValueError("--server without a value needs a URL SOURCE")
    parts = urlsplit(source_url)
    return f"{parts.scheme}://{parts.netloc}"


def _gpu_source(args: argparse.Namespace) -> str | None:
    """The one GPU source spec of ``--gpu``, ``--gpu-cmd`` or ``--prometheus`` (None: none)."""
    gpus = [x for x in (args.gpu, args.gpu_cmd and f"cmd={args.gpu_cmd}") if x]
    if args.prometheus:
        gpus.append(f"prometheus={args.prometheus}")
    if len(gpus) > 1:
        raise ValueError("give one GPU source (--gpu, --gpu-cmd or --prometheus)")
    return gpus[0] if gpus else None


def register(sub: Subparsers) -> None:
    """Add ``ssescope health`` to the CLI's subparsers."""
    p = sub.add_parser(
        "health",
        help="one snapshot of server and GPU health (--watch: a live table)",
        description="Poll an inference server (/health, /metrics, llama.cpp /slots, Ollama "
        "/api/ps) and GPUs (NVML, dcgm-exporter, Prometheus, or an nvidia-smi command). Exit 0 "
        "when every source answered, 1 when one did not.",
    )
    add_health_options(p)
    p.add_argument("--json", action="store_true", help="print the samples as JSON")
    p.add_argument("--raw", action="store_true", help="with --json: include every raw metric")
    p.add_argument("--watch", action="store_true", help="a live table until Ctrl-C")
    p.add_argument(
        "--count", type=int, default=0, metavar="N", help="with --watch: stop after N polls"
    )
    p.set_defaults(func=cmd_health)


def cmd_health(args: argparse.Namespace) -> int:
    import asyncio

    try:
        config = config_from_args(args)
    except ValueError as exc:
        raise UsageError(f"ssescope health: {exc}") from None
    if config is None:
        raise UsageError("ssescope health: give --server URL and/or a GPU source (--gpu …)")
    if args.watch:
        return asyncio.run(_watch(config, args))
    return asyncio.run(_once(config, args))


def _answered(samples: list[Any]) -> bool:
    from .samples import GpuSample, ServerSample

    for s in samples:
        if isinstance(s, ServerSample) and not s.health.answering:
            return False
        if isinstance(s, GpuSample) and s.state in ("not-answering", "error"):
            return False
    return True


async def _once(config: HealthConfig, args: argparse.Namespace) -> int:
    from .monitor import HealthMonitor

    monitor = HealthMonitor.from_config(config)
    try:
        samples = await monitor.poll_once()
    finally:
        await monitor.stop()
    if args.json:
        doc = {s.source: s.to_dict(raw=args.raw) for s in samples}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        from rich.console import Console

        from .render import snapshot

        Console(highlight=False).print(snapshot(monitor.history))
    return EXIT_OK if _answered(samples) else EXIT_DOWN


async def _watch(config: HealthConfig, args: argparse.Namespace) -> int:
    """Poll until Ctrl-C (or --count rounds): JSON lines, or a live rich table."""
    from .monitor import HealthMonitor

    monitor = HealthMonitor.from_config(config)
    polls = _PollCounter(args, probes=max(1, len(monitor.probes)))
    monitor.add_listener(polls.on_sample)
    if args.json:
        async with monitor:
            while polls.more():
                await polls.next_sample(monitor)
        return EXIT_OK

    from rich.console import Console
    from rich.live import Live

    from .render import snapshot

    console = Console(highlight=False)
    async with monitor:
        if not console.is_terminal:
            # Piped: a table per poll, each ending its line (a Live display cannot redraw
            # here, and left the last line unterminated).
            while polls.more():
                await polls.next_sample(monitor)
                console.print(snapshot(monitor.history))
            return EXIT_OK
        with Live(snapshot(monitor.history), console=console, auto_refresh=False) as live:
            while polls.more():
                await polls.next_sample(monitor)
                live.update(snapshot(monitor.history), refresh=True)
    return EXIT_OK


class _PollCounter:
    """Counts the samples of ``--watch`` (printing them with ``--json``) against ``--count``."""

    def __init__(self, args: argparse.Namespace, probes: int) -> None:
        self.args = args
        self.probes = probes
        self.seen = 0

    def on_sample(self, sample: Sample) -> None:
        self.seen += 1
        if self.args.json:
            sys.stdout.write(
                json.dumps(sample.to_dict(raw=self.args.raw), ensure_ascii=False) + "\n"
            )
            sys.stdout.flush()

    def more(self) -> bool:
        return not self.args.count or self.seen < self.args.count * self.probes

    async def next_sample(self, monitor: HealthMonitor) -> None:
        seen = self.seen
        await monitor.wait_for(lambda _history: self.seen > seen, 3600)
