"""The proxy's parts: each reacts to the typed events of one exchange (:mod:`.events`).

* :class:`Recorder` writes the exchange's capture (the body decoded for a Responses stream);
* :class:`Judge` judges a streamed Responses exchange live (a :class:`~ssescope.core.run.Run`);
* :class:`Show` tells the exchange list (:class:`~.hub.ExchangeHub`) what changed.

Their order matters only for :class:`Show`, which goes last so that a view sees the exchange
after the others updated it (its run, its notes).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from ..core.capture import CaptureWriter
from ..core.checker import CheckOptions
from ..core.redact import redact_headers, redact_url
from ..core.run import Run, RunInfo
from .events import End, Part, RequestHead, ResponseHead
from .hub import Exchange, ExchangeHub

log = logging.getLogger("ssescope.proxy")

ERROR_BODY_LIMIT = 1 << 20
"""How much of a non-2xx body the judgement keeps for its ``http-status`` message."""


class LazyCaptureWriter:
    """A :class:`CaptureWriter` whose file is created on the first record, i.e. once the
    upstream answers: opening a file is kept off the path of the request to the upstream."""

    def __init__(
        self, path: str, on_error: Callable[[str], None] | None = None, **kwargs: Any
    ) -> None:
        self.path = path
        self.on_error = on_error
        """Told, once, when the capture cannot be written (the writer goes on silently)."""
        self._kwargs = kwargs
        self._writer: CaptureWriter | None = None
        self.closed = False

    def _open(self) -> CaptureWriter:
        if self._writer is None:
            self._writer = CaptureWriter(self.path, **self._kwargs)
            if self.on_error is not None:
                self._writer.report_to(self.on_error)
        return self._writer

    def write_response(self, status: int | None, headers: Any = None, **kwargs: Any) -> None:
        self._open().write_response(status, headers, **kwargs)

    def write_chunk(self, t: float, chunk: bytes) -> None:
        self._open().write_chunk(t, chunk)

    def write_end(self, t: float, reason: str, error: str | None = None) -> None:
        self._open().write_end(t, reason, error)

    def close(self) -> None:
        self.closed = True
        if self._writer is not None:
            self._writer.close()


def capture_request(
    method: str, url: str, headers: dict[str, str], body: Any, *, redact: bool
) -> dict[str, Any]:
    """The request record of a capture (what :class:`CaptureWriter` writes)."""
    return {
        "method": method,
        "url": redact_url(url) if redact else url,
        "headers": redact_headers(headers) if redact else dict(headers),
        "body": body,
    }


class Recorder(Part):
    """Writes one exchange's capture to ``exchange.record_path``."""

    chunks: ClassVar[Literal["whole", "sliced"] | None] = "whole"

    def __init__(self, exchange: Exchange, url: str, *, redact: bool) -> None:
        super().__init__(exchange)
        self.url = url
        """The request URL the capture names (the engine's client URL with ``--translate``)."""
        self.redact = redact
        self.writer: LazyCaptureWriter | None = None

    def on_request(self, request: RequestHead) -> None:
        assert self.exchange.record_path is not None
        self.writer = LazyCaptureWriter(
            self.exchange.record_path,
            on_error=self._cannot_write,
            method=request.method,
            url=self.url,
            headers=request.headers,
            body=request.body_doc,
            redact=self.redact,
        )

    def on_response(self, response: ResponseHead) -> bool:
        if self.writer is not None:
            self.writer.write_response(
                response.status,
                response.headers,
                reason=response.reason,
                http_version=response.http_version,
                t=response.t,
            )
        return True

    def on_chunk(self, t: float, data: bytes) -> None:
        if self.writer is not None:
            self.writer.write_chunk(t, data)

    def on_end(self, end: End) -> None:
        writer = self.writer
        if writer is not None and not writer.closed:
            with contextlib.suppress(Exception):
                writer.write_end(end.t, end.reason, end.error)
            writer.close()

    def failed(self, exc: Exception) -> None:
        """Disk full, …: recording stops, forwarding and judging go on."""
        self._cannot_write(f"recording stopped: {exc}")

    def _cannot_write(self, message: str) -> None:
        """The capture cannot be written: said in the log and on the exchange (its headless
        line, its --json), and the exchange is still forwarded and judged."""
        log.warning("exchange #%s: %s", self.exchange.id, message)
        self.exchange.notes.append(message)

    def close(self) -> None:
        if self.writer is not None and not self.writer.closed:
            self.writer.close()


class Judge(Part):
    """The live judgement of a streamed Responses exchange, on the exchange's clock. An error
    head is judged with its whole body at the end (the ``http-status`` finding quotes it)."""

    chunks: ClassVar[Literal["whole", "sliced"] | None] = "sliced"

    def __init__(
        self,
        exchange: Exchange,
        options: CheckOptions,
        *,
        keep_chunks: bool,
        request: dict[str, Any] | None,
        client_url: str,
    ) -> None:
        super().__init__(exchange)
        self.options = options
        self.keep_chunks = keep_chunks
        self.request = request
        self.client_url = client_url
        self.run: Run | None = None
        self.response: ResponseHead | None = None
        self.held: list[tuple[float, bytes]] | None = None

    def on_response(self, response: ResponseHead) -> bool:
        if not response.responses_stream:
            return False
        exchange = self.exchange
        run = Run(
            CheckOptions(**{**self.options.__dict__}),
            RunInfo(
                f"#{exchange.id} {exchange.method} {exchange.path}",
                "live",
                request=self.request,
                record_path=exchange.record_path,
            ),
            keep_chunks=self.keep_chunks,
            clock=exchange.clock,
        )
        run.started_at = exchange.t0
        self.run = exchange.run = run
        self.response = response
        if response.ok:
            run.on_response(
                response.status, response.headers, url=self.client_url, t=response.t,
                reason=response.reason,
            )  # fmt: skip
        else:
            self.held = []
        return True

    def on_chunk(self, t: float, data: bytes) -> None:
        if self.held is not None:
            self.held.append((t, data))
        elif self.run is not None:
            self.run.feed(data, t)

    def on_end(self, end: End) -> None:
        run, held, response = self.run, self.held, self.response
        if run is None:
            return
        if held is not None and response is not None:
            self.held = None
            text = b"".join(p for _, p in held)[:ERROR_BODY_LIMIT]
            run.on_response(
                response.status,
                response.headers,
                body=text.decode("utf-8", errors="replace"),
                url=self.client_url,
                t=response.t,
                reason=response.reason,
            )
            for t, piece in held:
                run.feed(piece, t)
        run.finish(end.t, end.reason, end.error)

    def failed(self, exc: Exception) -> None:
        """A judging bug: judging stops for this exchange, forwarding and recording go on."""
        log.error("judging exchange %d failed; forwarding goes on", self.exchange.id, exc_info=exc)
        self.exchange.judge_error = f"{type(exc).__name__}: {exc}"
        self.held = None


class Show(Part):
    """Tells the exchange list that an exchange was answered and ended."""

    def __init__(self, exchange: Exchange, hub: ExchangeHub) -> None:
        super().__init__(exchange)
        self.hub = hub

    def on_response(self, response: ResponseHead) -> bool:
        self.hub.changed(self.exchange, "response")
        return True

    def on_end(self, end: End) -> None:
        self.hub.changed(self.exchange, "end")
