"""The typed parts of an exchange and the events the proxy's parts react to.

The forwarding core (:mod:`.forward`) reports each exchange as four events, in this order:
the request started (:class:`RequestHead`), the response head (:class:`ResponseHead`), body
chunks (arrival time, bytes), and the end (:class:`End`, one of :class:`EndReason`). A
:class:`Part` (record, judge, show; later metrics) reacts to them, in the spirit of
mitmproxy's addons, and the core knows none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from ..core.ends import EndReason
from .hub import Exchange

Headers = list[tuple[bytes, bytes]]


@dataclass(frozen=True)
class RequestHead:
    """What the client asked, as the proxy forwards it."""

    method: str
    path: str
    """As the client asked, without the query string."""
    query: str
    url: str
    """Where it goes upstream."""
    client_url: str
    """What the client used (``http://LISTEN/v1/responses``)."""
    headers: dict[str, str]
    body: bytes
    body_doc: object
    """The body as a capture keeps it (JSON as JSON, else text, else base64)."""

    @property
    def target(self) -> str:
        """The path with the query string, as the client asked."""
        return self.path + (f"?{self.query}" if self.query else "")

    @property
    def is_responses(self) -> bool:
        return self.method == "POST" and self.path.rstrip("/").endswith("/responses")

    @property
    def wants_stream(self) -> bool:
        doc = self.body_doc
        return isinstance(doc, dict) and doc.get("stream") is True


@dataclass(frozen=True)
class ResponseHead:
    """The response head as the client got it."""

    status: int
    reason: str
    http_version: str
    headers: dict[str, str]
    t: float
    """When it arrived, on the exchange's clock."""
    responses_stream: bool
    """The body is (meant to be) a Responses event stream: what ssescope judges."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class End:
    """How an exchange ended, on the exchange's clock."""

    t: float
    reason: EndReason
    error: str | None = None


class Part:
    """Reacts to the events of one exchange; every method does nothing here.

    ``chunks`` says how a part takes the body: not at all (None), each piece whole as it was
    read (``"whole"``), or, for a part whose work per byte is heavy (judging), in slices that
    the pipeline spreads over loop iterations (``"sliced"``). A part that raises is dropped
    from its exchange (:meth:`failed` says why); forwarding never stops for a part."""

    chunks: ClassVar[Literal["whole", "sliced"] | None] = None

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def on_request(self, request: RequestHead) -> None:
        """The request is on its way upstream."""

    def on_response(self, response: ResponseHead) -> bool:
        """The response head; return False to take no further part in this exchange."""
        return True

    def on_chunk(self, t: float, data: bytes) -> None:
        """Body bytes (decoded for a Responses stream), ``t`` on the exchange's clock."""

    def on_end(self, end: End) -> None:
        """The exchange is over."""

    def failed(self, exc: Exception) -> None:
        """This part raised ``exc`` and is dropped from the exchange."""

    def close(self) -> None:
        """Release what the part holds (called once, whatever happened)."""
