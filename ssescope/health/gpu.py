"""GPU readings from NVML, dcgm-exporter text, Prometheus query results and nvidia-smi CSV.

Everything ends up as :class:`GpuDevice` with the units normalised here, once: NVML reports bytes
and milliwatts, dcgm-exporter MiB and watts, nvidia-smi whatever ``nounits`` leaves. The parsers
are pure; :class:`Nvml` makes blocking library calls and is run in a worker thread by the probe.
"""

from __future__ import annotations

import contextlib
import importlib
import shlex
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .metrics import MetricSet
from .samples import GpuDevice, GpuProcess, GpuSample

MIB = 1024 * 1024

# ---------------------------------------------------------------------------------------------
# NVML
# ---------------------------------------------------------------------------------------------

NO_DRIVER = "no NVIDIA driver here (libnvidia-ml not found)"


class Nvml:
    """A thin wrapper over ``pynvml`` (package nvidia-ml-py) in nvitop's N/A style: lazy init,
    every device query may fail alone (→ None), a missing library or driver is a state, never an
    exception. ``module`` injects a fake in tests."""

    def __init__(self, module: Any = None) -> None:
        self._module = module
        self._ready = False
        self._lock = threading.Lock()
        self.unavailable: str | None = None

    def _load(self) -> Any:
        if self._module is None:
            try:
                self._module = importlib.import_module("pynvml")
            except ImportError:
                self.unavailable = "nvidia-ml-py is not installed (pip install nvidia-ml-py)"
                return None
        return self._module

    def _init(self) -> Any:
        nv = self._load()
        if nv is None or self._ready:
            return nv if self._ready else None
        try:
            nv.nvmlInit()
        except Exception as exc:
            self.unavailable = _why_unavailable(nv, exc)
            return None
        self._ready = True
        self.unavailable = None
        return nv

    def read(self, t: float) -> GpuSample:
        """One reading of every local GPU (blocking: call from a thread)."""
        with self._lock:
            nv = self._init()
            if nv is None:
                return GpuSample(t, via="nvml", state="unavailable", detail=self.unavailable or "")
            try:
                count = nv.nvmlDeviceGetCount()
            except Exception as exc:
                return GpuSample(t, via="nvml", state="error", detail=_err(exc))
            devices = [self._device(nv, i) for i in range(count)]
            if not devices:
                return GpuSample(t, via="nvml", state="unavailable", detail="NVML sees no GPU")
            return GpuSample(t, via="nvml", state="ok", devices=devices)

    def _device(self, nv: Any, i: int) -> GpuDevice:
        dev = GpuDevice(index=i)
        try:
            h = nv.nvmlDeviceGetHandleByIndex(i)
        except Exception:
            return dev

        def q(fn: str, *args: Any) -> Any:
            try:
                return getattr(nv, fn)(h, *args)
            except Exception:
                return None

        dev.name = _text(q("nvmlDeviceGetName"))
        dev.uuid = _text(q("nvmlDeviceGetUUID"))
        util = q("nvmlDeviceGetUtilizationRates")
        if util is not None:
            dev.util, dev.mem_util = _num(util.gpu), _num(util.memory)
        mem = q("nvmlDeviceGetMemoryInfo")
        if mem is not None:
            dev.mem_used_mib = _scale(mem.used, MIB)
            dev.mem_total_mib = _scale(mem.total, MIB)
        dev.temp_c = _num(q("nvmlDeviceGetTemperature", getattr(nv, "NVML_TEMPERATURE_GPU", 0)))
        dev.power_w = _scale(q("nvmlDeviceGetPowerUsage"), 1000)
        dev.power_limit_w = _scale(q("nvmlDeviceGetPowerManagementLimit"), 1000)
        dev.sm_clock_mhz = _num(q("nvmlDeviceGetClockInfo", getattr(nv, "NVML_CLOCK_SM", 1)))
        dev.mem_clock_mhz = _num(q("nvmlDeviceGetClockInfo", getattr(nv, "NVML_CLOCK_MEM", 2)))
        dev.processes = self._processes(nv, h)
        return dev

    @staticmethod
    def _processes(nv: Any, h: Any) -> list[GpuProcess]:
        """Compute then graphics processes; the ``_v3``/``_v2``/plain variants are tried in turn
        because driver/binding struct mismatches otherwise give garbage or errors."""
        seen: dict[int, GpuProcess] = {}
        for kind in ("Compute", "Graphics"):
            for suffix in ("_v3", "_v2", ""):
                fn = getattr(nv, f"nvmlDeviceGet{kind}RunningProcesses{suffix}", None)
                if fn is None:
                    continue
                try:
                    procs = fn(h)
                except Exception:
                    continue
                for p in procs or []:
                    pid = getattr(p, "pid", None)
                    if not isinstance(pid, int) or pid in seen:
                        continue
                    used = getattr(p, "usedGpuMemory", None)
                    seen[pid] = GpuProcess(
                        pid=pid,
                        name=_process_name(pid),
                        used_mib=_scale(used, MIB) if isinstance(used, int) else None,
                    )
                break
        return list(seen.values())

    def close(self) -> None:
        with self._lock:
            if self._ready and self._module is not None:
                with contextlib.suppress(Exception):
                    self._module.nvmlShutdown()
            self._ready = False


def _why_unavailable(nv: Any, exc: Exception) -> str:
    name = type(exc).__name__
    if name == "NVMLError_LibraryNotFound" or isinstance(exc, OSError):
        return NO_DRIVER
    if name == "NVMLError_DriverNotLoaded":
        return "no NVIDIA driver loaded (NVML: driver not loaded)"
    if name == "NVMLError_NoPermission":
        return "NVML: no permission to read the GPUs"
    return f"NVML unavailable: {_err(exc)}"


def _err(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return "" if v is None else str(v)


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _scale(v: Any, div: float) -> float | None:
    n = _num(v)
    return None if n is None else round(n / div, 3)


def _process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------
# dcgm-exporter (scraped directly or through Prometheus)
# ---------------------------------------------------------------------------------------------

DCGM_FIELDS: dict[str, tuple[str, float]] = {
    "DCGM_FI_DEV_GPU_UTIL": ("util", 1),
    "DCGM_FI_DEV_MEM_COPY_UTIL": ("mem_util", 1),
    "DCGM_FI_DEV_FB_USED": ("mem_used_mib", 1),
    "DCGM_FI_DEV_GPU_TEMP": ("temp_c", 1),
    "DCGM_FI_DEV_POWER_USAGE": ("power_w", 1),
    "DCGM_FI_DEV_SM_CLOCK": ("sm_clock_mhz", 1),
    "DCGM_FI_DEV_MEM_CLOCK": ("mem_clock_mhz", 1),
    "DCGM_FI_DEV_XID_ERRORS": ("xid", 1),
}
DCGM_NAMES = (*DCGM_FIELDS, "DCGM_FI_DEV_FB_FREE")


def devices_from_dcgm(m: MetricSet, *, host_label: str = "Hostname") -> list[GpuDevice]:
    """dcgm-exporter series → one device per (host, gpu); FB total = used + free (MiB)."""
    devices: dict[tuple[str, str], GpuDevice] = {}
    free: dict[tuple[str, str], float] = {}

    def dev_for(labels: dict[str, str]) -> tuple[tuple[str, str], GpuDevice]:
        host = labels.get(host_label) or labels.get("Hostname") or labels.get("instance") or ""
        gpu = labels.get("gpu") or labels.get("UUID") or labels.get("device") or "0"
        key = (host, gpu)
        if key not in devices:
            try:
                index = int(gpu)
            except ValueError:
                index = len(devices)
            devices[key] = GpuDevice(
                index=index,
                name=labels.get("modelName", ""),
                uuid=labels.get("UUID", ""),
                host=host,
            )
        return key, devices[key]

    for name in DCGM_NAMES:
        for labels, value in m.samples.get(name, ()):
            key, dev = dev_for(labels)
            if name == "DCGM_FI_DEV_FB_FREE":
                free[key] = value
                continue
            attr, div = DCGM_FIELDS[name]
            setattr(dev, attr, value / div)
    for key, f in free.items():
        dev = devices[key]
        if dev.mem_used_mib is not None:
            dev.mem_total_mib = dev.mem_used_mib + f
    return sorted(devices.values(), key=lambda d: (d.host, d.index))


def promql_selector(match: str = "") -> str:
    """One instant query for every dcgm field we read (one round trip per poll)."""
    names = "|".join(n.removeprefix("DCGM_FI_DEV_") for n in DCGM_NAMES)
    extra = match.strip().strip("{}").strip()
    return '{__name__=~"DCGM_FI_DEV_(' + names + ')"' + (f",{extra}" if extra else "") + "}"


def metricset_from_promql(data: Any) -> MetricSet:
    """A Prometheus ``/api/v1/query`` vector result → the same shape as a scrape."""
    out = MetricSet()
    if not isinstance(data, dict) or data.get("status") != "success":
        err = data.get("error") if isinstance(data, dict) else None
        raise ValueError(f"Prometheus query failed: {err or 'unexpected answer'}")
    for row in (data.get("data") or {}).get("result") or []:
        series = _promql_series(row)
        if series is None:
            continue
        name, labels, value = series
        try:
            out.samples.setdefault(name, []).append((labels, float(value)))
        except (TypeError, ValueError):
            out.errors.append(f"{name}: bad value {value!r}")
    return out


def _promql_series(row: Any) -> tuple[str, dict[str, str], Any] | None:
    """One vector entry ``{"metric": {"__name__": …, labels}, "value": [t, "v"]}`` → (name,
    labels, the value as sent); None for an entry of another shape."""
    if not isinstance(row, dict):
        return None
    labels = {str(k): str(v) for k, v in (row.get("metric") or {}).items()}
    name = labels.pop("__name__", "")
    value = row.get("value")
    if not name or not isinstance(value, list) or len(value) != 2:
        return None
    return name, labels, value[1]


# ---------------------------------------------------------------------------------------------
# nvidia-smi CSV from a user command
# ---------------------------------------------------------------------------------------------

DEFAULT_QUERY = (
    "index,name,uuid,utilization.gpu,utilization.memory,memory.used,memory.total,"
    "temperature.gpu,power.draw,power.limit,clocks.sm,clocks.mem"
)
SMI_FIELDS: dict[str, str] = {
    "index": "index",
    "name": "name",
    "gpu_name": "name",
    "uuid": "uuid",
    "gpu_uuid": "uuid",
    "utilization.gpu": "util",
    "utilization.memory": "mem_util",
    "memory.used": "mem_used_mib",
    "memory.total": "mem_total_mib",
    "temperature.gpu": "temp_c",
    "power.draw": "power_w",
    "power.draw.instant": "power_w",
    "power.draw.average": "power_w",
    "power.limit": "power_limit_w",
    "clocks.sm": "sm_clock_mhz",
    "clocks.current.sm": "sm_clock_mhz",
    "clocks.mem": "mem_clock_mhz",
    "clocks.current.memory": "mem_clock_mhz",
}


def gpu_command(cmd: str) -> tuple[str, list[str]]:
    """The shell command to run and its CSV columns. A command without ``nvidia-smi`` (``ssh
    gpu1``) gets ours appended; one with ``--query-gpu=`` tells us its columns."""
    if "nvidia-smi" not in cmd:
        cmd = f"{cmd} nvidia-smi --query-gpu={DEFAULT_QUERY} --format=csv,noheader,nounits"
    columns: list[str] = []
    try:
        words = shlex.split(cmd)
    except ValueError:
        words = cmd.split()
    for i, w in enumerate(words):
        if w.startswith("--query-gpu="):
            columns = w.split("=", 1)[1].split(",")
        elif w == "--query-gpu" and i + 1 < len(words):
            columns = words[i + 1].split(",")
    return cmd, [c.strip().lower() for c in columns if c.strip()]


def _smi_value(text: str) -> float | None:
    t = text.strip()
    if not t or t.startswith("[") or t.upper() in ("N/A", "NA"):
        return None  # [N/A], [Not Supported], [Unknown Error]
    for unit in (" MiB", " %", " W", " MHz", " C"):
        t = t.removesuffix(unit)
    try:
        return float(t)
    except ValueError:
        return None


def parse_smi_csv(text: str, columns: list[str]) -> list[GpuDevice]:
    """``nvidia-smi --query-gpu=… --format=csv[,noheader][,nounits]``: with a header line the
    columns come from it (``utilization.gpu [%]``); otherwise from the command's query."""
    rows = [line for line in text.splitlines() if line.strip()]
    if rows and not columns:
        columns = [c.split("[")[0].strip().lower() for c in rows.pop(0).split(",")]
    elif rows and rows[0].split(",")[0].strip().lower() in SMI_FIELDS:
        rows.pop(0)  # a header although noheader was not asked for
    if not columns:
        raise ValueError("no column names: use --query-gpu=… or a CSV header")
    devices = []
    for n, line in enumerate(rows):
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(columns):
            raise ValueError(f"line {n + 1}: {len(cells)} values for {len(columns)} columns")
        dev = GpuDevice(index=n)
        for col, cell in zip(columns, cells, strict=True):
            attr = SMI_FIELDS.get(col)
            if attr is not None:
                setattr(dev, attr, _SMI_CELL.get(attr, _smi_number)(cell, n))
        devices.append(dev)
    return devices


def _smi_number(cell: str, _row: int) -> float | None:
    return _smi_value(cell)


def _smi_text(cell: str, _row: int) -> str:
    return cell


def _smi_index(cell: str, row: int) -> int:
    """The GPU's index as nvidia-smi numbers it (its row when the cell is unreadable)."""
    v = _smi_value(cell)
    return int(v) if v is not None else row


_SMI_CELL: dict[str, Callable[[str, int], Any]] = {
    "name": _smi_text,
    "uuid": _smi_text,
    "index": _smi_index,
}
"""How a cell of the CSV row ``row`` is read, for the fields that are not plain numbers."""
