"""The word diff the document page shows between two versions."""

from __future__ import annotations

import pytest

from monitor.web.diff import Piece, counts, hunks, render, runs, word_diff


def _marked(old: str, new: str) -> str:
    return str(render(word_diff(old, new)))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("the same text", "the same text", "the same text"),
        (
            "Sanctions will be imposed on Monday.",
            "Sanctions will be lifted on Monday.",
            "Sanctions will be <del>imposed </del><ins>lifted </ins>on Monday.",
        ),
        ("one two", "one two three", "one two <ins>three</ins>"),
        ("one two three", "one three", "one <del>two </del>three"),
        ("", "new text", "<ins>new text</ins>"),
    ],
    ids=["unchanged", "replaced", "appended", "removed", "from-empty"],
)
def test_changed_words_are_marked(old: str, new: str, expected: str) -> None:
    assert _marked(old, new) == expected


def test_the_diff_keeps_every_word_of_both_versions() -> None:
    old = "First paragraph stays.\n\nSecond one is edited here.\n\nThird goes away."
    new = "First paragraph stays.\n\nSecond one was edited there.\n\nA new fourth."
    pieces = word_diff(old, new)
    assert "".join(p.text for p in pieces if p.kind != "delete") == new
    assert "".join(p.text for p in pieces if p.kind != "insert") == old
    # Words pair up within the paragraph that changed; the unchanged one is untouched.
    assert str(render(pieces)).startswith("First paragraph stays.\n\nSecond one <del>is ")


def test_counts_words_inserted_and_deleted() -> None:
    assert counts(word_diff("a b c d", "a x c d e")) == (2, 1)


def test_markup_in_either_version_is_escaped() -> None:
    html = _marked("Title <b>bold</b>", "Title <script>alert(1)</script>")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<ins>" in html and "<del>&lt;b&gt;bold&lt;/b&gt;</del>" in html


def test_only_the_changes_keeps_a_few_words_around_each() -> None:
    words = [f"w{i}" for i in range(100)]
    old = " ".join(words)
    new = " ".join(["CHANGED" if i in (10, 80) else w for i, w in enumerate(words)])
    groups = hunks(word_diff(old, new), context=3)
    assert len(groups) == 2
    first = "".join(p.text for p in groups[0])
    assert first == "w7 w8 w9 w10 CHANGED w11 w12 w13 "
    assert hunks(word_diff(old, old)) == []


def test_close_changes_share_one_group() -> None:
    old = "a b c d e f g h"
    new = "a B c d E f g h"
    assert len(hunks(word_diff(old, new), context=2)) == 1


def test_runs_join_neighbouring_pieces() -> None:
    pieces = [Piece("insert", "a "), Piece("insert", "b "), Piece("equal", "c")]
    assert runs(pieces) == [Piece("insert", "a b "), Piece("equal", "c")]


def test_an_edit_pairs_words_only_within_its_paragraph() -> None:
    # Repeated words everywhere: a word diff of the whole text could pair the edited
    # paragraph's words with another paragraph's; the line pass keeps them apart.
    paragraph = " ".join(f"w{j}" for j in range(80))
    old = "\n\n".join(f"Paragraph {i}: {paragraph}" for i in range(400))
    new = old.replace("Paragraph 200: w0 w1", "Paragraph 200: w0 changed")
    pieces = word_diff(old, new)
    assert counts(pieces) == (1, 1)
    [group] = hunks(pieces, context=1)
    assert "".join(p.text for p in group) == "w0 w1 changed w2 "


def test_a_huge_rewritten_paragraph_still_keeps_every_word() -> None:
    # Past EXACT_PAIRS the comparison turns to difflib's heuristic: fewer pairs are found,
    # but both versions still read back whole (and a hostile page cannot take minutes).
    old = " ".join(f"w{i % 3000}" for i in range(3000))
    new = " ".join(f"w{i % 3000}" if i % 3 else f"x{i}" for i in range(3000))
    pieces = word_diff(old, new)
    assert "".join(p.text for p in pieces if p.kind != "delete") == new
    assert "".join(p.text for p in pieces if p.kind != "insert") == old
    assert counts(pieces)[0] >= 1000
