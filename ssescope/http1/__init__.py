"""The one upstream HTTP/1.1 layer of ssescope: a pooled client (:mod:`.client`) on an asyncio
protocol around httptools' C parser (:mod:`.connection`), one error tree (:mod:`.errors`) and
one set of content decoders (:mod:`.decoders`).

The proxy asks for raw bytes with their arrival times (``Response.pieces``), the engine for
decoded ones (``request(..., decode=True)``, ``Response.chunks``): the same API. This package
imports nothing else of ssescope (an import-linter contract holds it to that), so either shell
can use it without pulling in the other.
"""

from __future__ import annotations

from .client import Client, Headers, Response, host_header
from .connection import PAUSE_ABOVE, Piece
from .decoders import Decoder, UnsupportedEncoding, decoder_for
from .errors import (
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    ProtocolError,
    RequestAborted,
    UpstreamError,
)

__all__ = [
    "PAUSE_ABOVE",
    "Client",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionClosed",
    "Decoder",
    "Headers",
    "Piece",
    "ProtocolError",
    "RequestAborted",
    "Response",
    "UnsupportedEncoding",
    "UpstreamError",
    "decoder_for",
    "host_header",
]
