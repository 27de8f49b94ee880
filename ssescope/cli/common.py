"""What every ``ssescope`` command shares: exit codes, the usage error, the parser, option groups
and argparse types.

Each shell (``check``, ``engine``, ``proxy``, ``health``, the TUI's ``connect``/``open``/``demo``)
registers itself on the top-level parser and imports this module, never ``ssescope.cli`` itself:
so the top-level CLI may import every shell without a cycle. This module imports the core only
(argparse is all it needs at start-up; the parser is built on every run). The types make every
command validate a listen address, a header line or a number of seconds the same way, at parse
time, with the same one-line message.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from typing import TYPE_CHECKING, NoReturn, TypeAlias
from urllib.parse import urlsplit

from ..core.checker import DEFAULT_STALL_WARN, CheckOptions
from ..core.clients import CLIENTS
from ..core.codex import CODEX_VERSIONS, DEFAULT_CODEX_VERSION, DEFAULT_IDLE_TIMEOUT
from ..core.redact import RedactingFilter, redact_url
from ..core.rules import PROFILES

EXIT_OK = 0
"""Done; for ``check`` and a headless proxy: no error-severity finding."""
EXIT_FINDINGS = 1
"""Error-severity findings (``check``, a headless proxy)."""
EXIT_UNREADABLE = 2
"""The source could not be read, or the command could not start."""
EXIT_USAGE = EXIT_UNREADABLE
"""Bad arguments exit as an unreadable source does: one line on stderr, status 2."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as a shell reports it)."""

GPU_HELP = "local (NVML), dcgm=URL (dcgm-exporter /metrics), prometheus=URL, or cmd=COMMAND"


if TYPE_CHECKING:
    Subparsers: TypeAlias = "argparse._SubParsersAction[Parser]"
    """What ``register(sub)`` of every shell gets: ``ssescope``'s subparsers."""


class UsageError(Exception):
    """Bad arguments: ``main`` prints the message as its one line on stderr and exits 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are a :class:`UsageError` (one line, exit 2, as for every
    bad input), not argparse's usage text and ``SystemExit``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


# -- argparse types: every command validates the same way -----------------------------------------


def listen_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (or a bare port on 127.0.0.1; ``[::1]:PORT`` for IPv6; port 0: a free one)."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", value
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r}: expected HOST:PORT")
    return host, int(port)


def header_line(value: str) -> tuple[str, str]:
    """A request header ``Name: value``, as curl's ``-H`` takes it."""
    name, sep, rest = value.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{value!r}: expected 'Name: value'")
    return name.strip(), rest.strip()


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a number of seconds") from None
    if seconds != seconds:  # NaN compares false to every bound
        raise argparse.ArgumentTypeError(f"{value!r}: expected a number of seconds")
    return seconds


def positive_seconds(value: str) -> float:
    """A duration that must be longer than nothing (a stall threshold, a timeout)."""
    seconds = _seconds(value)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{value}: must be positive")
    return seconds


def non_negative_seconds(value: str) -> float:
    """A duration where 0 means never (a heartbeat, an idle timeout) or no delay."""
    seconds = _seconds(value)
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"{value}: must not be negative")
    return seconds


URL_FORM = "http://HOST[:PORT]/…"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")
"""A URL's scheme (two letters at least, so that a Windows drive ``C:`` is a path)."""


def http_url(value: str) -> str:
    """An ``http://`` or ``https://`` URL with a host; the message says what is wrong with
    anything else (the URL shown redacted: it may carry a key)."""
    shown = redact_url(value)
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{shown!r}: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise argparse.ArgumentTypeError(f"{shown!r}: not a URL (expected {URL_FORM})")
    if scheme not in ("http", "https"):
        raise argparse.ArgumentTypeError(
            f"{shown!r}: not an http(s) URL (ssescope speaks http:// and https://, not {scheme}:)"
        )
    if not host:
        raise argparse.ArgumentTypeError(f"{shown!r}: no host in the URL (expected {URL_FORM})")
    return value


def stream_source(value: str) -> str:
    """``check``'s SOURCE: a file, ``-`` (a stream piped in), or an http(s) URL. Anything with a
    URL scheme that is not an existing file is held to :func:`http_url`, so ``ftp:/host/x`` or
    ``http:/host`` get told what is wrong instead of "no such file"."""
    if value == "-":
        stdin = sys.stdin
        if stdin is None or stdin.isatty():
            raise argparse.ArgumentTypeError(
                "'-' reads a stream piped in, and standard input is a terminal "
                "(try: cat stream.sse | ssescope check -)"
            )
        return value
    if _SCHEME.match(value) and not os.path.exists(value):
        return http_url(value)
    return value


def existing_file(value: str) -> str:
    """A file that must exist now (a CA bundle), not one the command will write."""
    if not os.path.isfile(value):
        raise argparse.ArgumentTypeError(f"{value!r}: no such file")
    return value


def api_key_from_env(var: str) -> str:
    """The value of ``$var`` for ``--api-key-env`` (read when the command runs, not at parse
    time: ``check FILE`` ignores it). Raises ValueError when it is unset or empty."""
    value = os.environ.get(var)
    if not value:
        raise ValueError(f"--api-key-env {var}: the variable is not set")
    return value


def configure_logging(level: int, fmt: str = "%(asctime)s %(levelname)s %(message)s") -> None:
    """Log to stderr through the redaction policy: no URL a log line quotes keeps its userinfo
    or a secret query value (a server's log is often pasted into an issue)."""
    logging.basicConfig(level=level, format=fmt, datefmt="%H:%M:%S", stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


# -- option groups ---------------------------------------------------------------------------------


def add_judge_options(p: argparse.ArgumentParser) -> None:
    """How a stream is judged: the rule profile and the two stall clocks."""
    p.add_argument(
        "--profile", choices=PROFILES, default="openai", help="rule profile (default: openai)"
    )
    p.add_argument(
        "--stall-warn",
        type=positive_seconds,
        default=DEFAULT_STALL_WARN,
        metavar="SECONDS",
        help=f"a gap longer than this is a stall (default {DEFAULT_STALL_WARN:g})",
    )
    p.add_argument(
        "--codex-idle-timeout",
        type=positive_seconds,
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help="Codex's stream_idle_timeout_ms in seconds (default 300)",
    )
    p.add_argument(
        "--codex-version",
        choices=list(CODEX_VERSIONS),
        default=DEFAULT_CODEX_VERSION,
        help=f"the Codex CLI release to predict (default {DEFAULT_CODEX_VERSION}, the latest)",
    )
    p.add_argument(
        "--client",
        action="append",
        choices=list(CLIENTS),
        metavar="ID",
        help="predict only this client (repeatable; `ssescope clients` lists them)",
    )


def check_options(args: argparse.Namespace, keep_per_rule: int | None) -> CheckOptions:
    """The judge options :func:`add_judge_options` parsed (``keep_per_rule``: None keeps all)."""
    return CheckOptions(
        profile=args.profile,
        stall_warn=args.stall_warn,
        codex_idle_timeout=args.codex_idle_timeout,
        codex_version=getattr(args, "codex_version", DEFAULT_CODEX_VERSION),
        keep_per_rule=keep_per_rule,
        clients=tuple(args.client) if getattr(args, "client", None) else None,
    )


def add_allow_host_option(p: argparse.ArgumentParser) -> None:
    """``--allow-host``: the names besides the local ones a server answers (``ssescope.asgi.hosts``)."""
    p.add_argument(
        "--allow-host",
        dest="allow_hosts",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host or Origin names NAME (repeatable; '*' for any): "
        "by default only localhost, loopback addresses and the listening address are answered, "
        "so that a web page cannot drive this server",
    )


def add_request_options(p: argparse.ArgumentParser) -> None:
    """The request ``check URL`` and ``connect`` POST (``ssescope.core.live.build_request``)."""
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
        type=header_line,
        action="append",
        default=[],
        metavar="'Name: value'",
        help="extra request header (repeatable)",
    )
    g.add_argument("--api-key-env", metavar="VAR", help="send $VAR as a bearer token")


def add_health_options(
    p: argparse.ArgumentParser, *, check: bool = False, default_from: str = "SOURCE"
) -> None:
    """``--server`` and the GPU sources (``ssescope.health.command.config_from_args`` reads
    them); with ``check``, ``--server`` alone means the host of the URL named by
    ``default_from`` (SOURCE for check, URL for connect, the upstream for proxy)."""
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
        type=positive_seconds,
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
