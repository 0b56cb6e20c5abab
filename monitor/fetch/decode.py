"""Content-Encoding decoders whose every step yields a bounded piece of output.

httpx decodes each network chunk in one call, so 1.6 KB of brotli that inflates to 1 GB
becomes 1 GB in memory before any size cap can look at it. Here no step produces more
than about `PIECE` bytes, and the caller counts the pieces against its cap as they come.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import Protocol

import brotli  # >= 1.2: Decompressor.process(output_buffer_limit=...)

from monitor.errors import FetchError

PIECE = 64 * 1024


class Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]:
        """The output of `data`, in pieces of about PIECE bytes at most."""
        ...

    def flush(self) -> Iterator[bytes]:
        """What is left once the body has ended."""
        ...


class _Zlib:
    """gzip, or deflate: zlib-wrapped as the RFC says, or raw as some servers send it."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
        self._inflater = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            out = self._run(data)
            data = self._inflater.unconsumed_tail
            if out:
                yield out

    def flush(self) -> Iterator[bytes]:
        # A piece may stop with output pending and no input left: drain it, still bounded.
        while out := self._run(b""):
            yield out

    def _run(self, data: bytes) -> bytes:
        try:
            out = self._inflater.decompress(data, PIECE)
        except zlib.error as err:
            if self._coding == "deflate" and not self._started:
                self._started = True  # the zlib header was wrong: try raw deflate once
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._run(data)
            raise FetchError(f"undecodable response ({self._coding}: {err})") from None
        self._started = self._started or bool(data)
        return out


class _Brotli:
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        out = self._run(data)
        if out:
            yield out
        # The limit was reached with input left inside: only empty calls may follow.
        while not self._decompressor.can_accept_more_data():
            out = self._run(b"")
            if not out:
                break
            yield out

    def flush(self) -> Iterator[bytes]:
        while out := self._run(b""):
            yield out

    def _run(self, data: bytes) -> bytes:
        try:
            return self._decompressor.process(data, output_buffer_limit=PIECE)
        except brotli.error as err:
            raise FetchError(f"undecodable response (br: {err})") from None


class _Chain:
    """Codings in the order the server applied them; decoded last-applied first."""

    def __init__(self, decoders: list[Decoder]) -> None:
        self._decoders = decoders

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, (data,))

    def flush(self) -> Iterator[bytes]:
        for i, decoder in enumerate(self._decoders):
            yield from self._through(i + 1, decoder.flush())

    def _through(self, start: int, pieces: Iterable[bytes]) -> Iterator[bytes]:
        # Lazily nested: a piece goes through every decoder before the next one is made.
        for decoder in self._decoders[start:]:
            pieces = _feed_all(decoder, pieces)
        yield from pieces


def _feed_all(decoder: Decoder, pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from decoder.feed(piece)


def decoder_for(content_encoding: str) -> Decoder:
    """The decoder for a Content-Encoding header; unknown codings pass through, as in httpx."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    decoders: list[Decoder] = []
    for coding in reversed(codings):
        if coding in ("gzip", "x-gzip"):
            decoders.append(_Zlib("gzip"))
        elif coding == "deflate":
            decoders.append(_Zlib("deflate"))
        elif coding == "br":
            decoders.append(_Brotli())
    return _Chain(decoders)
