"""Rich rendering of health samples and diagnoses (a shell concern: the TUI draws its own)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .diagnosis import RULES
from .samples import GpuSample, History, ServerSample, sample_from_dict

SPARK = "▁▂▃▄▅▆▇█"
STATE_STYLE = {
    "ok": "green",
    "loading": "yellow",
    "absent": "dim",
    "unhealthy": "red",
    "not-answering": "bold red",
    "refused": "bold red",
    "error": "red",
    "unavailable": "yellow",
    "unknown": "dim",
}
SEV_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def sparkline(values: list[float | None], width: int = 20) -> str:
    """Text sparkline of the last ``width`` values (gaps as spaces)."""
    vals = values[-width:]
    nums = [v for v in vals if v is not None]
    if not nums:
        return ""
    lo, hi = min(nums), max(nums)
    span = hi - lo
    out = []
    for v in vals:
        if v is None:
            out.append(" ")
        else:
            level = (0 if v == 0 else 3) if span == 0 else min(7, int((v - lo) / span * 7.999))
            out.append(SPARK[level])
    return "".join(out)


def _n(v: float | None, fmt: str = "{:g}") -> str:
    return "–" if v is None else fmt.format(v)


def _state(text: str) -> Text:
    return Text(text, STATE_STYLE.get(text, ""))


Row = tuple[str, str | Text, list[float | None] | None]
"""One line of the server table: label, value, and the series its sparkline draws."""


def _health_rows(s: ServerSample, hist: History) -> Iterator[Row]:
    h = s.health
    health = _state(h.state)
    if h.status is not None:
        health.append(f"  {h.status}", "dim")
    if h.latency is not None:
        health.append(f"  {h.latency * 1000:.0f} ms", "dim")
    if h.detail and h.state != "ok":
        health.append(f"  {h.detail}", "dim")
    yield ("/" if s.kind == "ollama" else "/health", health, None)
    mtext = _state(s.metrics.state)
    if s.stale:
        mtext.append("  stale (previous scrape)", "yellow")
    if s.metrics.detail:
        mtext.append(f"  {s.metrics.detail}", "dim")
    yield ("/metrics", mtext, None)


def _load_rows(s: ServerSample, hist: History) -> Iterator[Row]:
    if s.running is not None or s.waiting is not None:
        yield ("running", _n(s.running), hist.series("server", "running"))
        yield ("waiting", _n(s.waiting), hist.series("server", "waiting"))
    if s.kv_cache_usage is not None:
        kv = Text(f"{s.kv_cache_usage:.1%}") + Text(f"  {s.kv_cache_metric}", "dim")
        yield ("KV cache", kv, hist.series("server", "kv_cache_usage"))
    elif "kv_cache_usage" in s.not_exposed:
        why = s.not_exposed["kv_cache_usage"]
        yield ("KV cache", Text("not exposed") + Text(f"  {why}", "dim"), None)
    if s.preemptions is not None:
        yield ("preemptions", _n(s.preemptions), None)


def _counter_rows(s: ServerSample, hist: History) -> Iterator[Row]:
    if s.heartbeat is not None:
        rates = hist.rates("server", "heartbeat")
        rate = f"  (+{rates[-1]:.1f}/s)" if rates and rates[-1] is not None else ""
        yield (
            "steps",
            Text(_n(s.heartbeat) + rate) + Text(f"  {s.heartbeat_metric}", "dim"),
            rates,
        )
    if s.generated_tokens is not None:
        rates = hist.rates("server", "generated_tokens")
        rate = f"  ({rates[-1]:.1f} tok/s)" if rates and rates[-1] is not None else ""
        source = Text(f"  {s.generated_metric}", "dim") if s.generated_metric else Text()
        yield ("tokens", Text(_n(s.generated_tokens) + rate) + source, rates)


def _server_own_rows(s: ServerSample, hist: History) -> Iterator[Row]:
    """What only some servers report: llama.cpp slots, Ollama models, adapter extras."""
    for slot in s.slots or []:
        decoded = f"  n_decoded {slot.n_decoded}" if slot.n_decoded is not None else ""
        yield (f"slot {slot.id}", ("processing" if slot.processing else "idle") + decoded, None)
    for m in s.models or []:
        where = f"{m.placement}  size_vram {_gib(m.size_vram)} of {_gib(m.size)}"
        yield (f"model {m.name}", where, None)
    for k, v in s.extra.items():
        if k not in ("slots_processing", "slots_total", "slots_n_decoded"):
            yield (k, str(v), None)
    if s.metric_errors:
        yield ("unparsable", Text(s.metric_errors[0], "yellow"), None)
    for note in s.notes:
        yield ("note", Text(note, "dim"), None)


SERVER_ROWS: tuple[Callable[[ServerSample, History], Iterable[Row]], ...] = (
    _health_rows,
    _load_rows,
    _counter_rows,
    _server_own_rows,
)
"""The sections of the server table, top to bottom."""


def server_table(s: ServerSample, history: History | None = None) -> Table:
    """The server's latest numbers; with two samples or more, a history column of sparklines
    (values, or the per-second rate of counters) over the samples kept."""
    hist = history or History()
    with_history = len(hist.samples("server")) > 1
    # a Text title: "[vllm]" in a str title would be read as markup and vanish
    title = Text(f"server {s.url}  [{s.kind}]")
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("what", style="dim", no_wrap=True, min_width=9)
    table.add_column("now", overflow="fold")
    if with_history:
        table.add_column("history", no_wrap=True, min_width=12)
    for section in SERVER_ROWS:
        for label, value, series in section(s, hist):
            if with_history:
                table.add_row(label, value, sparkline(series) if series else "")
            else:
                table.add_row(label, value)
    return table


def _gib(v: int | None) -> str:
    return "–" if v is None else f"{v / 2**30:.1f} GiB"


def gpu_table(g: GpuSample, history: History | None = None) -> RenderableType:
    if g.state != "ok":
        return Text.assemble(("GPU ", "bold"), _state(g.state), (f"  {g.detail}", "dim"))
    hist = history or History()
    table = Table(title=f"GPUs via {g.via}", title_justify="left")
    for col in ("gpu", "name", "util", "mem", "temp", "power", "SM clock", "history"):
        table.add_column(col, no_wrap=True)
    for i, d in enumerate(g.devices):
        mem = (
            f"{_n(d.mem_used_mib, '{:.0f}')}/{_n(d.mem_total_mib, '{:.0f}')} MiB"
            if d.mem_used_mib is not None
            else "–"
        )
        power = _n(d.power_w, "{:.0f} W")
        if d.power_limit_w is not None:
            power += f"/{d.power_limit_w:.0f}"

        def util_of(s: Any, i: int = i) -> float | None:
            return s.devices[i].util if len(s.devices) > i else None

        table.add_row(
            d.label,
            d.name,
            _n(d.util, "{:.0f}%"),
            mem,
            _n(d.temp_c, "{:.0f}°C"),
            power,
            _n(d.sm_clock_mhz, "{:.0f} MHz"),
            sparkline(hist.series("gpu", util_of)),
        )
    procs = [(d.label, p) for d in g.devices for p in d.processes]
    if procs:
        return Group(
            table,
            Text(
                "processes: "
                + ", ".join(
                    f"{lbl}: {p.pid} {p.name}" + (f" {p.used_mib:.0f} MiB" if p.used_mib else "")
                    for lbl, p in procs
                ),
                "dim",
            ),
        )
    return table


def snapshot(history: History) -> Group:
    parts: list[RenderableType] = []
    s = history.latest("server")
    if isinstance(s, ServerSample):
        parts.append(server_table(s, history))
    g = history.latest("gpu")
    if isinstance(g, GpuSample):
        parts.append(gpu_table(g, history))
    return Group(*parts)


def diagnosis_text(d: dict[str, Any] | None) -> Text:
    """A check result's ``diagnosis`` as a report line with its evidence."""
    if d is None:
        return Text("Diagnosis: no stall.", "green")
    sev = d.get("severity") or RULES.get(d["rule"], ("info", ""))[0]
    line = Text("Diagnosis ", "bold")
    line.append(f"[{d['rule']}]", SEV_STYLE.get(sev, ""))
    if not d.get("ongoing", True):
        line.append(f" (at t={d['t']:.1f}s, resolved later)", "dim")
    line.append(f": {d['sentence']}")
    skip = {"after", "stalled_for"}
    ev = ", ".join(f"{k}={v}" for k, v in (d.get("evidence") or {}).items() if k not in skip)
    if ev:
        line.append(f"\n  evidence: {ev}", "dim")
    return line


def print_check_health(console: Any, result: dict[str, Any]) -> None:
    """The health part of ``ssescope check``'s report: the diagnosis and the last readings."""
    diag = result.get("diagnosis")
    health = result.get("health")
    if diag is None and not health:
        return
    console.print()
    console.print(diagnosis_text(diag))
    if health and health.get("samples"):
        history = History(len(health["samples"]) + 1)
        for raw in health["samples"]:
            s = sample_from_dict(raw)
            if s is not None:
                history.add(s)
        console.print(Text(f"Health ({len(history)} samples)", "bold underline"))
        console.print(snapshot(history))


# ---------------------------------------------------------------------------------------------
# the debugger's panel: the same readings, compact (no boxes, one line a row)
# ---------------------------------------------------------------------------------------------


PANEL_SPARK = 12
"""Samples a panel's sparkline shows (the last ones)."""


def _compact_table(title: Text) -> Table:
    return Table(
        title=title,
        title_justify="left",
        box=None,
        show_header=False,
        padding=(0, 1, 0, 0),
        expand=True,
    )


def compact_server(s: ServerSample, history: History) -> Table:
    """The server table in a side panel's width: one line per row, long names cut with …"""
    where = s.url.removeprefix("http://")
    table = _compact_table(Text.assemble((s.kind, "bold cyan"), " server ", (where, "dim")))
    table.add_column("what", style="dim", no_wrap=True)
    table.add_column("now", no_wrap=True, overflow="ellipsis", ratio=3)
    table.add_column("history", no_wrap=True, overflow="crop", width=PANEL_SPARK)
    for section in SERVER_ROWS:
        for label, value, series in section(s, history):
            table.add_row(label, value, sparkline(series, PANEL_SPARK) if series else "")
    return table


def compact_gpu(g: GpuSample, history: History) -> RenderableType:
    """The GPUs in a side panel's width: one line per device."""
    if g.state != "ok":
        return gpu_table(g, history)
    names = sorted({d.name for d in g.devices if d.name})
    table = _compact_table(
        Text.assemble(("GPUs ", "bold"), f"via {g.via}  ", (", ".join(names), "dim"))
    )
    for col in ("gpu", "util", "power", "temp", "mem"):
        table.add_column(col, no_wrap=True)
    table.add_column("history", no_wrap=True, overflow="crop", width=PANEL_SPARK)
    for i, d in enumerate(g.devices):

        def util_of(s: Any, i: int = i) -> float | None:
            return s.devices[i].util if len(s.devices) > i else None

        mem = "–" if d.mem_used_mib is None else f"{d.mem_used_mib / 1024:.0f}"
        if d.mem_total_mib is not None and d.mem_used_mib is not None:
            mem += f"/{d.mem_total_mib / 1024:.0f} GiB"
        table.add_row(
            d.label,
            _n(d.util, "{:.0f}%"),
            _n(d.power_w, "{:.0f} W"),
            _n(d.temp_c, "{:.0f}°C"),
            mem,
            sparkline(history.series("gpu", util_of), PANEL_SPARK),
        )
    return table


def panel(history: History, max_lines: int | None = None) -> Group:
    """What the debugger's health panel draws: the latest server and GPU readings, compact.
    ``max_lines``: the panel's height; when the readings do not fit it (an 80x24 terminal),
    the tight form instead (:func:`tight_panel`), which keeps both the server and the GPUs."""
    parts: list[RenderableType] = []
    lines = 0
    s = history.latest("server")
    if isinstance(s, ServerSample):
        table = compact_server(s, history)
        parts.append(table)
        lines += table.row_count + 1
    g = history.latest("gpu")
    if isinstance(g, GpuSample):
        gpus = compact_gpu(g, history)
        parts.append(gpus)
        lines += (gpus.row_count if isinstance(gpus, Table) else 1) + 1
    if max_lines is not None and lines > max_lines:
        return tight_panel(history, max_lines)
    return Group(*parts)


def _line(*parts: str | tuple[str, str]) -> Text:
    return Text.assemble(*parts, no_wrap=True, overflow="ellipsis")


def _rate(history: History, name: str) -> float | None:
    rates = history.rates("server", name)
    return rates[-1] if rates else None


def _tight_server(s: ServerSample, history: History) -> list[tuple[int, Text]]:
    """The server's lines of the tight panel, each with its rank (lower is kept first)."""
    where = s.url.removeprefix("http://")
    head = _line((s.kind, "bold cyan"), " ")  # the states before the address, which is cut
    head.append_text(_state(s.health.state))
    head.append("·")
    head.append_text(_state(s.metrics.state))
    if s.stale:
        head.append(" stale", "yellow")
    head.append(f" {where}", "dim")
    out = [(0, head)]
    load = [
        f"{label} {_n(value, fmt)}"
        for label, value, fmt in (
            ("run", s.running, "{:g}"),
            ("wait", s.waiting, "{:g}"),
            ("KV", None if s.kv_cache_usage is None else s.kv_cache_usage * 100, "{:.0f}%"),
        )
        if value is not None
    ]
    if "kv_cache_usage" in s.not_exposed:
        load.append("KV not exposed")
    if load:
        out.append((1, _line("  ".join(load))))
    if s.heartbeat is not None:
        rate = _rate(history, "heartbeat")
        spark = sparkline(history.rates("server", "heartbeat"), PANEL_SPARK)
        out.append((2, _line(f"steps {_n(rate, '+{:.1f}/s')}  ", (spark, "cyan"))))
    if s.generated_tokens is not None:
        out.append((4, _line(f"tokens {_n(_rate(history, 'generated_tokens'), '{:.1f}/s')}")))
    return out


def _tight_gpu(g: GpuSample) -> list[tuple[int, Text]]:
    if g.state != "ok" or not g.devices:
        return [(1, _line(("GPU ", "bold"), _state(g.state).plain, f"  {g.detail}"))]
    out = []
    for rank, d in enumerate(g.devices):
        mem = "" if d.mem_used_mib is None else f"  {d.mem_used_mib / 1024:.0f}"
        if mem and d.mem_total_mib is not None:
            mem += f"/{d.mem_total_mib / 1024:.0f} GiB"
        text = _line(
            (f"GPU{d.index}", "bold"),
            f" {_n(d.util, '{:.0f}%')}  {_n(d.temp_c, '{:.0f}°C')}  {_n(d.power_w, '{:.0f} W')}",
            mem,
        )
        out.append((3 if rank == 0 else 5 + rank, text))
    return out


def tight_panel(history: History, max_lines: int) -> Group:
    """The health panel in ``max_lines`` lines: the server's liveness, its load (running,
    waiting, KV cache) and engine steps, then one line per GPU; what does not fit is dropped
    from the least telling (tokens, the later GPUs) up."""
    lines: list[tuple[int, int, Text]] = []
    s = history.latest("server")
    if isinstance(s, ServerSample):
        lines += [(rank, i, text) for i, (rank, text) in enumerate(_tight_server(s, history))]
    g = history.latest("gpu")
    if isinstance(g, GpuSample):
        lines += [(rank, 100 + i, text) for i, (rank, text) in enumerate(_tight_gpu(g))]
    kept = sorted(sorted(lines, key=lambda line: line[0])[: max(max_lines, 1)], key=lambda x: x[1])
    return Group(*(text for _rank, _order, text in kept))
