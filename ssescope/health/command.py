"""``ssescope health``, and the health options ``ssescope check`` shares.

Kept import-light (argparse only at module level): the parser is built on every ssescope run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .monitor import HealthConfig

EXIT_OK, EXIT_DOWN, EXIT_USAGE = 0, 1, 2
GPU_HELP = "local (NVML), dcgm=URL (dcgm-exporter /metrics), prometheus=URL, or cmd=COMMAND"


def add_health_options(
    p: argparse.ArgumentParser, *, check: bool = False, default_from: str = "SOURCE"
) -> None:
    """``--server`` and the GPU sources; with ``check``, ``--server`` alone means the host of the
    URL named by ``default_from`` (SOURCE for check, URL for connect, the upstream for proxy)."""
    g = p.add_argument_group("server and GPU health" + (" (while reading a URL)" if check else ""))
    if check:
        g.add_argument(
            "--server",
            nargs="?",
            const="auto",
            metavar="BASE",
            help="poll this server's /health and /metrics while reading, and diagnose stalls "
            f"(no value: the host of {default_from})",
        )
    else:
        g.add_argument("--server", metavar="URL", help="the inference server (base URL)")
    g.add_argument("--gpu", metavar="SPEC", help=f"GPU source: {GPU_HELP}")
    g.add_argument(
        "--gpu-cmd",
        metavar="COMMAND",
        help="same as --gpu cmd=COMMAND (e.g. 'ssh host nvidia-smi --query-gpu=… "
        "--format=csv,noheader,nounits'; 'ssh host' alone gets a default query)",
    )
    g.add_argument(
        "--prometheus", metavar="URL", help="same as --gpu prometheus=URL (dcgm series, PromQL)"
    )
    g.add_argument(
        "--gpu-match",
        default="",
        metavar="LABELS",
        help="PromQL label matchers for --prometheus, e.g. 'Hostname=~\"node-1|node-2\"'",
    )
    g.add_argument(
        "--health-interval" if check else "--interval",
        dest="health_interval",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="poll interval of each probe (default 1; /health with no answer within it is "
        "'not answering')",
    )
    g.add_argument(
        "--server-kind",
        choices=("vllm", "llamacpp", "sglang", "tgi", "ollama"),
        help="skip server detection",
    )


def config_from_args(
    args: argparse.Namespace, source_url: str | None = None
) -> HealthConfig | None:
    """The health config the options ask for (None: no probing). Raises ValueError on misuse."""
    server = getattr(args, "server", None)
    if server is None and not (args.gpu or args.gpu_cmd or args.prometheus):
        if args.health_interval <= 0:
            raise ValueError("the poll interval must be positive")
        return None  # no probing: the probes (and httpx) are not even imported
    from .monitor import HealthConfig, gpu_probe

    if server == "auto":
        if not source_url:
            raise ValueError("--server without a value needs a URL SOURCE")
        parts = urlsplit(source_url)
        server = f"{parts.scheme}://{parts.netloc}"
    gpus = [x for x in (args.gpu, args.gpu_cmd and f"cmd={args.gpu_cmd}") if x]
    if args.prometheus:
        gpus.append(f"prometheus={args.prometheus}")
    if len(gpus) > 1:
        raise ValueError("give one GPU source (--gpu, --gpu-cmd or --prometheus)")
    if args.health_interval <= 0:
        raise ValueError("the poll interval must be positive")
    gpu = gpus[0] if gpus else None
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


def register(sub: Any) -> None:
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
        print(f"ssescope health: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if config is None:
        print("ssescope health: give --server URL and/or a GPU source (--gpu …)", file=sys.stderr)
        return EXIT_USAGE
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
    probes = max(1, len(monitor.probes))
    seen = [0]

    def count(sample: Any) -> None:
        seen[0] += 1
        if args.json:
            sys.stdout.write(json.dumps(sample.to_dict(raw=args.raw), ensure_ascii=False) + "\n")
            sys.stdout.flush()

    monitor.add_listener(count)

    def more(done: int) -> bool:
        return not args.count or done < args.count * probes

    if args.json:
        async with monitor:
            while more(seen[0]):
                n = seen[0]
                await monitor.wait_for(lambda _h, n=n: seen[0] > n, 3600)
        return EXIT_OK

    from rich.console import Console
    from rich.live import Live

    from .render import snapshot

    console = Console(highlight=False)
    async with monitor:
        with Live(snapshot(monitor.history), console=console, auto_refresh=False) as live:
            while more(seen[0]):
                n = seen[0]
                await monitor.wait_for(lambda _h, n=n: seen[0] > n, 3600)
                live.update(snapshot(monitor.history), refresh=True)
    return EXIT_OK
