"""What the proxy judged, as Prometheus metrics: one more part (:class:`MetricsPart`) fed the
typed events of each exchange, and a ``/metrics`` listener (``ssescope proxy --metrics``).

A fleet's monitoring wants to know, over days and across upstreams, how often streams break,
stall or lose data and what each client would have done, not one session in a terminal. The
proxy already judges every exchange; this part reads the judgement once, when the exchange ends,
and counts it. It takes no body (``chunks = None``), so the per-event path of forwarding and
judging is unchanged; the one per-event cost, the histogram of gaps between events, is paid at the
end from the run's row arrays in C-speed loops (:func:`_event_times`, :meth:`BulkHistogram.add`).

Label values are bounded: upstream names come from the command line, rule ids and outcomes from
the catalogues, but model names and paths are whatever clients send, so each is capped
(:class:`LabelCap`) and the rest folded into ``other``. Counters are incremented at the end of an
exchange; ``ssescope_exchanges_in_flight`` shows the open ones.

prometheus-client's own HTTP server (a daemon thread) serves the registry: a scrape renders under
the metrics' locks, never on the proxy's event loop.
"""

from __future__ import annotations

import bisect
import collections
import functools
import itertools
import logging
import operator
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from .config import MetricsListenError, ProxyConfig
from .events import End, Part, RequestHead, ResponseHead

if TYPE_CHECKING:
    from ..core.run import Run
    from .hub import Exchange

log = logging.getLogger("ssescope.proxy")

STALL_RULES = ("stall", "stall-after-created")
THREAD_KILLER_RULE = "history-rejected"
"""An upstream that rejects a thread's replayed history kills the thread: every retry fails."""
OTHER = "other"
"""The label value every model (or path) beyond the cap shares."""
NONE = "none"
"""The label value of a request without a model, or an exchange that got no status."""
MAX_LABEL_LENGTH = 100

TIME_TO_FIRST_EVENT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
EVENT_GAP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_EVENT_KIND = 0
"""``RowStore.kind`` of a complete SSE event (comments and ``[DONE]`` are other rows)."""


class LabelCap:
    """The first ``limit`` distinct values pass; every later one becomes ``other``, so a client
    that invents a model name per request cannot grow the series without end. Called on the
    proxy's event loop only (the scrape thread reads the metrics, never this)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, value: str) -> str:
        value = value[:MAX_LABEL_LENGTH]
        if value in self.seen:
            return value
        if len(self.seen) >= self.limit:
            return OTHER
        self.seen.add(value)
        return value


class BulkHistogram(Collector):
    """A Prometheus histogram that takes a whole exchange's observations at once (bucket
    counts, their sum and number), for the gaps between events: prometheus-client's
    ``Histogram.observe`` takes a lock per call, which per event would cost more than the
    10% of the proxy's CPU per event the metrics may add."""

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], buckets: Sequence[float]
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = list(labelnames)
        self.bounds = list(buckets)
        self._bucket = functools.partial(bisect.bisect_left, self.bounds)
        """Value → index of its bucket (``le`` the first bound at or above it; the last index
        is +Inf)."""
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}
        self._lock = threading.Lock()
        """The scrape thread's :meth:`collect` against the loop's :meth:`add`."""

    def add(self, labels: tuple[str, ...], values: Iterable[float], total: float) -> None:
        """Observe every value of ``values`` (whose sum is ``total``) under ``labels``."""
        counts = collections.Counter(map(self._bucket, values))
        if not counts:
            return
        with self._lock:
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = ([0] * (len(self.bounds) + 1), [0.0])
            buckets, sums = series
            for index, n in counts.items():
                buckets[index] += n
            sums[0] += total

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            series = [(k, list(b), s[0]) for k, (b, s) in self._series.items()]
        for labels, buckets, total in series:
            cumulative = list(itertools.accumulate(buckets))
            les = [repr(float(b)) for b in self.bounds] + ["+Inf"]
            family.add_metric(list(labels), list(zip(les, cumulative, strict=True)), total)
        yield family

    def describe(self) -> Iterator[HistogramMetricFamily]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)


class ProxyMetrics:
    """Every metric of one proxy run, in its own registry (two proxies in one process, as in
    the tests and the benchmark, do not share counters)."""

    def __init__(self, *, max_models: int = 50, max_paths: int = 50) -> None:
        self.registry = CollectorRegistry()
        self.models = LabelCap(max_models)
        self.paths = LabelCap(max_paths)
        self._counters(self.registry, ("upstream", "model"))
        self._histograms(self.registry, ("upstream", "model"))
        self.in_flight = Gauge(
            "ssescope_exchanges_in_flight",
            "Exchanges forwarded and not yet ended",
            ["upstream"],
            registry=self.registry,
        )

    def _counters(self, reg: CollectorRegistry, key: tuple[str, str]) -> None:
        self.exchanges = Counter(
            "ssescope_exchanges",
            "Exchanges through the proxy, by upstream, model, path and status class",
            [*key, "path", "status_class"],
            registry=reg,
        )
        self.findings = Counter(
            "ssescope_findings",
            "Findings on judged Responses streams, by rule and its severity",
            [*key, "rule", "severity"],
            registry=reg,
        )
        self.client_outcomes = Counter(
            "ssescope_client_outcomes",
            "What each modelled client does with a judged stream (ok, error, loss, hang)",
            [*key, "client", "outcome"],
            registry=reg,
        )
        self.stalls = Counter(
            "ssescope_stalls",
            "Silences longer than --stall-warn, by kind (stall, stall-after-created)",
            [*key, "kind"],
            registry=reg,
        )
        self.thread_killers = Counter(
            "ssescope_thread_killers",
            "Exchanges whose upstream rejected the replayed history (history-rejected)",
            list(key),
            registry=reg,
        )

    def _histograms(self, reg: CollectorRegistry, key: tuple[str, str]) -> None:
        self.time_to_first_event = Histogram(
            "ssescope_time_to_first_event_seconds",
            "From the request to the first complete SSE event of a judged stream",
            list(key),
            buckets=TIME_TO_FIRST_EVENT_BUCKETS,
            registry=reg,
        )
        self.event_gap = BulkHistogram(
            "ssescope_event_gap_seconds",
            "Gaps between consecutive complete SSE events of judged streams",
            key,
            EVENT_GAP_BUCKETS,
        )
        reg.register(self.event_gap)
        self.stream_duration = Histogram(
            "ssescope_stream_duration_seconds",
            "From the request to the end of a judged stream",
            list(key),
            buckets=DURATION_BUCKETS,
            registry=reg,
        )

    def part(self, exchange: Exchange) -> MetricsPart:
        return MetricsPart(exchange, self)

    def labels_of(self, request: RequestHead) -> tuple[str, str, str]:
        """``(upstream, model, path)`` of a request, bounded."""
        upstream = request.upstream_name
        doc = request.body_doc
        model = doc.get("model") if isinstance(doc, dict) else None
        path = request.path
        prefix = f"/{upstream}/"
        if path.startswith(prefix):
            path = path[len(prefix) - 1 :]
        return (
            upstream,
            self.models(model) if isinstance(model, str) and model else NONE,
            self.paths(path or "/"),
        )

    def ended(self, exchange: Exchange, upstream: str, model: str, path: str) -> None:
        """Count one ended exchange: its judgement (if it was judged), then the exchange itself,
        last, so that a scrape that sees the exchange sees all of its judgement too."""
        run = exchange.run
        if run is not None:
            self._judged(run, upstream, model, exchange.t_end)
        status = exchange.status
        status_class = NONE if status is None else f"{status // 100}xx"
        self.exchanges.labels(upstream, model, path, status_class).inc()

    def _judged(self, run: Run, upstream: str, model: str, t_end: float | None) -> None:
        log_ = run.checker.log
        for rule, n in log_.counts.items():
            self.findings.labels(upstream, model, rule, log_.severities[rule]).inc(n)
            if rule in STALL_RULES:
                self.stalls.labels(upstream, model, rule).inc(n)
        if log_.counts.get(THREAD_KILLER_RULE):
            self.thread_killers.labels(upstream, model).inc()
        for prediction in run.checker.client_predictions():  # all, or those of --client
            self.client_outcomes.labels(
                upstream, model, prediction.client, prediction.outcome
            ).inc()
        self._times(run, (upstream, model), t_end)

    def _times(self, run: Run, key: tuple[str, str], t_end: float | None) -> None:
        times = _event_times(run)
        if times:
            self.time_to_first_event.labels(*key).observe(times[0])
            if len(times) > 1:
                gaps = map(operator.sub, itertools.islice(times, 1, None), times)
                self.event_gap.add(key, gaps, times[-1] - times[0])  # the gaps telescope
        if t_end is not None:
            self.stream_duration.labels(*key).observe(t_end)


def _event_times(run: Run) -> Sequence[float]:
    """Arrival times of the stream's complete SSE events (comment keep-alives excluded: they do
    not reset a client's idle timer), on the exchange's clock."""
    store = run.store
    kinds = store.kind
    rows = len(kinds)
    times = store.t[:rows]
    if kinds.count(_EVENT_KIND) == rows:
        return times
    return list(itertools.compress(times, map(operator.not_, kinds)))


class MetricsPart(Part):
    """Counts one exchange: in flight from the request, everything else when it ends. Placed
    after the judge, so that at the end it reads a finished judgement."""

    def __init__(self, exchange: Exchange, metrics: ProxyMetrics) -> None:
        super().__init__(exchange)
        self.metrics = metrics
        self.labels: tuple[str, str, str] | None = None

    def on_request(self, request: RequestHead) -> None:
        self.labels = self.metrics.labels_of(request)
        self.metrics.in_flight.labels(self.labels[0]).inc()

    def on_response(self, response: ResponseHead) -> bool:
        return True  # no body, but the end

    def on_end(self, end: End) -> None:
        labels, self.labels = self.labels, None
        if labels is not None:
            self.metrics.in_flight.labels(labels[0]).dec()
            self.metrics.ended(self.exchange, *labels)

    def failed(self, exc: Exception) -> None:
        log.error("counting exchange %d failed", self.exchange.id, exc_info=exc)

    def close(self) -> None:
        if self.labels is not None:  # dropped or never ended: it is no longer in flight
            self.metrics.in_flight.labels(self.labels[0]).dec()
            self.labels = None


class MetricsServer:
    """prometheus-client's HTTP server for one registry, on its own daemon thread."""

    def __init__(self, metrics: ProxyMetrics, host: str, port: int) -> None:
        try:
            self._server, self._thread = start_http_server(
                port, addr=host, registry=metrics.registry
            )
        except OSError as exc:
            raise MetricsListenError(f"{host}:{port}", exc) from None
        self.host = host
        self.port: int = self._server.server_port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def start(config: ProxyConfig) -> tuple[ProxyMetrics, MetricsServer]:
    """The metrics of a proxy run configured with ``--metrics``, served; ``config.metrics``
    gets the bound port (``:0`` picks a free one)."""
    assert config.metrics is not None
    host, port = config.metrics
    metrics = ProxyMetrics(max_models=config.metrics_max_models)
    server = MetricsServer(metrics, host, port)
    config.metrics = (host, server.port)
    return metrics, server
