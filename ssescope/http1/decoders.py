"""The content decoders (``Content-Encoding``): one set for every reader of upstream bodies.

The proxy forwards bytes as they came and decodes only what it records and judges; the engine
decodes what it translates. Both ask here. ``br`` is decoded when the ``brotli`` package is
installed (it is optional: upstream chat servers rarely compress a stream).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

Decoder = Callable[[bytes], bytes]
"""Feeds compressed bytes, returns what they decode to so far (streaming)."""


class UnsupportedEncoding(ValueError):
    """A ``Content-Encoding`` this build cannot decode."""


def _gzip() -> Decoder:
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress


def _deflate() -> Decoder:
    return zlib.decompressobj().decompress


def _brotli() -> Decoder | None:
    try:
        import brotli  # type: ignore[import-not-found,unused-ignore]  # optional
    except ImportError:
        return None
    decompressor: Any = brotli.Decompressor()
    return decompressor.process


_FACTORIES: dict[str, Callable[[], Decoder | None]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "br": _brotli,
}


def decoder_for(encoding: str) -> Decoder | None:
    """A fresh decoder for one body; None for an identity body. Raises
    :class:`UnsupportedEncoding` for an encoding that cannot be decoded here."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return None
    factory = _FACTORIES.get(name)
    decoder = factory() if factory is not None else None
    if decoder is None:
        raise UnsupportedEncoding(name)
    return decoder
