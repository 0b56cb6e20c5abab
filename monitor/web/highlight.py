"""Matched words marked up in a snippet: each piece escaped, the matched ones in <mark>."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from markupsafe import Markup, escape

from monitor.models import segments


def _clean(highlights: Iterable[Sequence[object]], size: int) -> list[tuple[int, int]]:
    """Offsets in order, inside the text and not overlapping (a stored payload is data
    we did not make in this process: never trust it to index a string)."""
    spans = []
    for pair in highlights:
        if len(pair) == 2 and all(isinstance(v, int) for v in pair):
            start, end = max(0, int(pair[0])), min(size, int(pair[1]))  # type: ignore[call-overload]
            if start < end:
                spans.append((start, end))
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def marked(snippet: object, highlights: object = ()) -> Markup:
    """`snippet` as HTML with the highlighted ranges in <mark>."""
    text = snippet if isinstance(snippet, str) else ""
    spans = _clean(highlights if isinstance(highlights, list | tuple) else (), len(text))
    return Markup("").join(
        Markup(f"<mark>{escape(piece)}</mark>") if bold else escape(piece)
        for piece, bold in segments(text, spans)
    )
