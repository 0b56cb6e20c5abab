from __future__ import annotations

import re
import unicodedata

import pytest

from monitor.normalize.text import (
    _BOILERPLATE_LINES,
    _CONTROL,
    clean_line,
    html_to_text,
    is_boilerplate,
)

BOILERPLATE = [
    "<p>Epoch Times Photo</p>",
    "<p>Recommended Video</p>",
    "<p>Follow Simon on Twitter: @SimonVeazey</p>",
    "<p>Vice President Mike Pence in Seoul on Feb. 9, 2018. (STR/AFP/Getty Images)</p>",
    "<div class='share_bar'>Share Tweet Email Print</div>",
    "<figure><img src='x.jpg'><figcaption>A caption</figcaption></figure>",
    "<script>alert('x')</script>",
    "<div class='rec-video'><p>Recommended Video</p><p>Kim's sister in Seoul</p></div>",
]


@pytest.mark.parametrize("noise", BOILERPLATE)
def test_boilerplate_is_dropped_and_text_kept(noise: str) -> None:
    html = f"<div><p>First paragraph.</p>{noise}<p>Second paragraph.</p></div>"
    assert html_to_text(html) == "First paragraph.\n\nSecond paragraph."


def test_paragraphs_and_inline_markup() -> None:
    html = "<p>The <b>U.S.-ROK</b> Working   Group\nmet.</p><ul><li>one</li><li>two</li></ul>"
    assert html_to_text(html) == "The U.S.-ROK Working Group met.\n\none\n\ntwo"


def test_entities_are_decoded_and_control_characters_removed() -> None:
    assert html_to_text("<p>A &amp; B&nbsp;C\x07</p>") == "A & B C"


def test_broken_html_still_gives_its_text() -> None:
    assert html_to_text("<div><p>Unclosed <b>bold<p>next") == "Unclosed bold\n\nnext"


def test_plain_text_keeps_paragraphs() -> None:
    assert html_to_text("one\n\n two  words ") == "one\n\ntwo words"


def test_entities_in_text_without_markup_are_decoded() -> None:
    assert html_to_text("launched the Working Group [&#8230;]") == (
        "launched the Working Group […]"
    )


def test_lines_are_cleaned_as_the_regular_expression_did_for_every_character() -> None:
    # clean_line collapses white space with str.split(); the reference is the regular
    # expression it replaced. Every code point between words (one long text, one call),
    # and white space and control characters alone, doubled and at the ends.
    def reference(text: str) -> str:
        return re.sub(r"\s+", " ", _CONTROL.sub("", unicodedata.normalize("NFC", text))).strip()

    chars = [chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF]
    between_words = "a" + "ba".join(chars) + "b"
    assert clean_line(between_words) == reference(between_words)
    for c in (c for c in chars if c.isspace() or _CONTROL.match(c)):
        for text in (c, f"  {c} ", f"{c}x{c}", f"a{c}{c}b{c} {c}\n"):
            assert clean_line(text) == reference(text), hex(ord(c))


@pytest.mark.parametrize(
    "line",
    [
        "Epoch Times Photo",
        "FILE PHOTO",
        "photo",
        "photo\n",
        "A photo of the summit",
        "Kim's photo\n\n",
        "The minister said the photo",
        "Photos: the summit",
        "Share this article",
        "Talks resumed on Tuesday.",
        "x" * 400 + " photo",
    ],
)
def test_boilerplate_lines_are_told_as_every_pattern_tells_them(line: str) -> None:
    assert is_boilerplate(line) == any(p.match(line) for p in _BOILERPLATE_LINES)
