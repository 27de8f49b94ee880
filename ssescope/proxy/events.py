"""The typed parts of an exchange and the events the proxy's parts react to.

The forwarding core (:mod:`.forward`) reports each exchange as four events, in this order:
the request started (:class:`RequestHead`), the response head (:class:`ResponseHead`), body
chunks (arrival time, bytes), and the end (:class:`End`, with an ``EndReason``): the typed parts
of an :class:`~.hub.Exchange`, defined beside it. A
:class:`Part` (record, judge, show; later metrics) reacts to them, in the spirit of
mitmproxy's addons, and the core knows none of them.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from .hub import End, Exchange, RequestHead, ResponseHead

__all__ = ["End", "Part", "RequestHead", "ResponseHead"]


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
