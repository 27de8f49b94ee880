"""One exchange in flight, as the forwarding core (and ``--translate``) drives it: the
exchange record, the client/upstream state, and the pipeline of parts its events go to."""

from __future__ import annotations

from http import HTTPStatus

from ..core.ends import EndReason
from ..http1 import Piece, Response
from .events import End, RequestHead, ResponseHead
from .hub import Exchange
from .pipeline import Pipeline


class Flow:
    """The moving parts of one exchange while it is in flight."""

    __slots__ = ("complete", "exchange", "gone", "pipeline", "reply", "request", "stopping")

    def __init__(self, exchange: Exchange, request: RequestHead, pipeline: Pipeline) -> None:
        self.exchange = exchange
        self.request = request
        self.pipeline = pipeline
        self.reply: Response | None = None
        self.gone = False
        """The client went away before the response was complete."""
        self.complete = False
        """The last body message is being sent (a disconnect after it is the normal end)."""
        self.stopping = False

    def abort(self) -> None:
        """The proxy is stopping: cut the upstream (and so the client) now."""
        self.stopping = True
        if self.reply is not None:
            self.reply.abort()

    def start(self) -> None:
        self.exchange.request = self.request
        self.pipeline.request(self.request)

    def respond(
        self,
        status: int,
        headers: dict[str, str],
        *,
        t: float,
        responses_stream: bool,
        reason: str | None = None,
        http_version: str = "HTTP/1.1",
    ) -> None:
        """The response head went to the client (``t``: arrival time on the exchange's clock)."""
        exchange = self.exchange
        exchange.status = status
        exchange.reason = _phrase(status) if reason is None else reason
        exchange.response_headers = headers
        exchange.state = "streaming"
        head = ResponseHead(
            status, exchange.reason, http_version, headers, t - exchange.t0, responses_stream
        )
        exchange.response = head
        self.pipeline.response(head)

    def feed(self, pieces: list[Piece]) -> None:
        """Body pieces the client has just been sent."""
        self.pipeline.feed(pieces)

    async def settle(self) -> None:
        await self.pipeline.settle()

    def end(self, reason: EndReason, error: str | None = None, t_end: float | None = None) -> None:
        """The exchange is over (only the first call counts)."""
        exchange = self.exchange
        if exchange.end is not None:
            return
        if t_end is None:
            t_end = exchange.clock() - exchange.t0
        exchange.t_end = t_end
        exchange.end_reason = reason
        if error and exchange.error is None:
            exchange.error = error
        exchange.state = "done" if reason == EndReason.EOF else "failed"
        exchange.end = End(t_end, reason, error)
        self.pipeline.end(exchange.end)

    def close(self) -> None:
        self.pipeline.close()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
