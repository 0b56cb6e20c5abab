"""All rules compiled together: one pass over a document finds every rule's terms.

Compilation picks, for every rule, a *trigger*: a set of words (or word prefixes) at least
one of which must occur for the rule to match (for AND, the rarest-looking child's; for
OR, all children's). Matching a document then:

1. folds its title, body and authors into words once (`tokens.words`);
2. intersects its distinct words with the trigger index (a set operation in C) and looks
   its words' first three letters up in the prefix index, giving the candidate rules;
3. evaluates only those rules' Boolean logic, with per-document caches of positions.

A phrase lies within one sentence (as `snippets.sentence_spans` splits them); a NEAR within
one paragraph (news databases' NEAR/n counts words across sentences) and its two sides are
different words. SENT (/s) and PARA (/p) ask for one sentence or one paragraph, at any
distance. Breaks are found only in the fields where a candidate needs them.

Rules with no trigger (a query that is only a NOT) are evaluated for every document.

A rule with `exclude` (questions, negated, conditional; see `mood`) that is true of a
document is evaluated again on the hits that stand outside the excluded moods; terms under
NOT still count wherever they stand. Only those rules' candidates pay for it.
"""

from __future__ import annotations

import fnmatch
import re
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Literal, Protocol

from monitor.models import Document, Match
from monitor.rules.mood import Reason, TextMoods
from monitor.rules.query import MIN_PREFIX, And, Near, Node, Not, Or, Pattern, Within, patterns
from monitor.rules.snippets import MAX_HITS, build_snippet, sentence_at, sentence_spans
from monitor.rules.tokens import LazySpans, Spans, words

OnUpdate = Literal["new-match", "always", "never"]
DEFAULT_FIELDS = ("title", "body")
Span = tuple[str, int, int]  # field, first token, end token (exclusive)
# A NEAR candidate: its span, plus the token ranges its words occupy inside that span.
_Hit = tuple[str, int, int, tuple[tuple[int, int], ...]]
_PARAGRAPH = re.compile(r"\n\s*\n")  # as snippets.sentence_spans ends a paragraph


class Gate(Protocol):
    """A learned decision on the documents a rule's query matched (see `learn`)."""

    def score(self, document: Document) -> float: ...

    def accepts(self, document: Document) -> bool: ...


@dataclass(frozen=True)
class Rule:
    """A watch rule: a parsed query plus filters and routing."""

    id: str
    name: str
    query: str
    ast: Node
    sources: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()
    on_update: OnUpdate = "new-match"
    line: int = 0  # where rules.yaml defines it, for messages
    exclude: frozenset[str] = frozenset()  # moods whose hits do not count (mood.MOODS)
    learn: bool = False  # `learn: true`: a classifier decides among the query's matches
    # The trained classifier (learn.with_classifiers), when the rule has enough labels.
    classifier: Gate | None = field(default=None, compare=False, repr=False)

    def accepts(self, document: Document) -> bool:
        """Whether the rule's classifier (if any) keeps a document its query matched."""
        return self.classifier is None or self.classifier.accepts(document)

    def applies_to(self, doc: Document) -> bool:
        if self.sources and not any(fnmatch.fnmatchcase(doc.source_id, g) for g in self.sources):
            return False
        kind = (doc.kind or "").lower()
        return not self.kinds or any(fnmatch.fnmatchcase(kind, g.lower()) for g in self.kinds)


Trigger = frozenset[tuple[bool, str]]  # (is_prefix, text)
Frequencies = dict[str, float]  # word → share of documents that contain it

# Without statistics, guess: an exact word is rare, a prefix matches a family of words,
# and the commonest words of English and of news releases are in most documents.
_GUESS_EXACT = 0.01
_GUESS_PREFIX = 0.05
_GUESS_COMMON = 0.5
_COMMON_WORDS = frozenset(
    """a about after against all also an and any are as at be been before but by can could
    did do does during each for from had has have he her his how i if in into is it its
    last more most new no not of on one or other our out over said says she so some than
    that the their them then there these they this those through to two under up us was
    we were what when which while who will with would year years you
    government minister ministry president state states united national foreign official
    officials statement press release week today monday tuesday wednesday thursday friday
    saturday sunday country countries people security international told according
    department office secretary meeting talks public world news report reports policy""".split()
)


class _Triggers:
    """Chooses, for each query, the cheapest set of words that must occur for it to match."""

    def __init__(self, frequencies: Frequencies | None) -> None:
        self.frequencies = frequencies or {}
        self._vocabulary = sorted(self.frequencies)
        self._prefix_shares: dict[str, float] = {}

    def share(self, is_prefix: bool, text: str) -> float:
        """Estimated share of documents in which this word (or prefix) occurs."""
        if not is_prefix:
            known = self.frequencies.get(text)
            if known is not None:
                return known
            return _GUESS_COMMON if text in _COMMON_WORDS else _GUESS_EXACT + 0.001 / len(text)
        cached = self._prefix_shares.get(text)
        if cached is None:
            total, i = 0.0, bisect_left(self._vocabulary, text)
            while i < len(self._vocabulary) and self._vocabulary[i].startswith(text):
                total += self.frequencies[self._vocabulary[i]]
                i += 1
            cached = min(1.0, total) if total else _GUESS_PREFIX + 0.01 / len(text)
            self._prefix_shares[text] = cached
        return cached

    def cost(self, trigger: Trigger) -> float:
        return sum(self.share(p, t) for p, t in trigger)

    def of(self, node: Node) -> Trigger | None:
        if isinstance(node, Pattern):
            return min((frozenset({(prefix, text)}) for text, prefix in node.parts), key=self.cost)
        if isinstance(node, Not):
            return None
        if isinstance(node, Near | Within):
            options = [t for t in (self.of(node.left), self.of(node.right)) if t is not None]
            return min(options, key=self.cost) if options else None
        children = [self.of(c) for c in node.children]
        if isinstance(node, Or):
            if any(c is None for c in children):
                return None
            return frozenset().union(*children)  # type: ignore[arg-type]
        options = [c for c in children if c is not None]
        return min(options, key=self.cost) if options else None


def word_frequencies(documents: Iterable[Document]) -> Frequencies:
    """Share of `documents` containing each word: lets rules trigger on their rarest words."""
    counts: dict[str, int] = {}
    total = 0
    for document in documents:
        total += 1
        for word in set(words(document.title)) | set(words(document.body)):
            counts[word] = counts.get(word, 0) + 1
    return {w: c / total for w, c in counts.items()} if total else {}


def _starts(counts: list[int], total: int) -> list[int]:
    """Token indices at which each piece after the first begins, from the pieces' word
    counts ([] if they do not add up to the field's `total`)."""
    ends = list(accumulate(counts))
    # Sentence breaks fall on spaces, so the pieces hold the field's words; if some text
    # ever splits otherwise, matching without breaks beats breaks at the wrong words.
    if not ends or ends[-1] != total:
        return []
    return [e for e in ends[:-1] if e]  # each later piece begins where words before it end


class _Vocabulary:
    """Words met in earlier documents, filed under the truncations the rules search for.

    A document's words that start with `sanction` are then `words & by_prefix["sanction"]`,
    a set operation in C, instead of a sort of the document's words and a search; only the
    words never met before are filed, one by one. Words are only ever added (documents being
    matched in other threads rely on theirs): when it is `full`, the RuleSet starts another.
    """

    def __init__(self, prefixes: set[str], limit: int = 500_000) -> None:
        self.prefixes = prefixes
        self.by_prefix: dict[str, set[str]] = {p: set() for p in prefixes}
        self._by_key: dict[str, list[str]] = {}
        for prefix in self.by_prefix:
            self._by_key.setdefault(prefix[:MIN_PREFIX], []).append(prefix)
        self.prefixes_of: dict[str, list[str]] = {}  # word → the prefixes it starts with
        self._seen: set[str] = set()
        self._limit = limit

    def learn(self, found: set[str]) -> None:
        """File the words of `found` not met before."""
        if not self.by_prefix:
            return
        new = found - self._seen
        if not new:
            return
        by_key = self._by_key
        for word in new:
            keys = by_key.get(word[:MIN_PREFIX])
            if keys:
                matched = [p for p in keys if word.startswith(p)]
                if matched:
                    self.prefixes_of[word] = matched
                    for prefix in matched:
                        self.by_prefix[prefix].add(word)
        self._seen |= new

    @property
    def full(self) -> bool:
        return len(self._seen) > self._limit


def _prefixes(node: Node) -> set[str]:
    """The truncations (`sanction*`) a query searches for."""
    return {t for p in patterns(node, positive=False) for t, prefix in p.parts if prefix}


@dataclass
class _Doc:
    """One document's words, with caches filled as rules ask for them."""

    tokens: dict[str, list[str]]
    unique: dict[str, set[str]]
    texts: dict[str, str] = field(default_factory=dict)
    authors: list[str] = field(default_factory=list)
    _positions: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    _joined: dict[str, str] = field(default_factory=dict)  # see `positions`
    _sorted: dict[str, list[str]] = field(default_factory=dict)
    spans_cache: dict[Pattern, list[Span]] = field(default_factory=dict)
    near_cache: dict[Or | Near | Within, list[_Hit]] = field(default_factory=dict)
    words_cache: dict[tuple[tuple[tuple[str | None, str, bool], ...], str], set[str]] = field(
        default_factory=dict
    )
    _offsets: dict[str, LazySpans] = field(default_factory=dict)
    _lower: dict[str, str | None] = field(default_factory=dict)  # ASCII fields, lower-cased
    _word_spans: dict[tuple[str, str], list[tuple[int, int]] | None] = field(default_factory=dict)
    _breaks: dict[tuple[str, bool], list[int]] = field(default_factory=dict)
    _moods: dict[str, TextMoods] = field(default_factory=dict)
    _sentences: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    _sentence_at: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # found so far
    vocabulary: _Vocabulary | None = None
    _all_words: set[str] | None = None
    _reasons: dict[tuple[str, int, frozenset[str]], list[Reason]] = field(default_factory=dict)

    def char_span(self, field_name: str, index: int) -> tuple[int, int]:
        """The character span of a field's token, as `tokens.token_spans` gives it."""
        word = self.tokens[field_name][index]
        key = (field_name, word)
        if key in self._word_spans:
            spans = self._word_spans[key]
        else:
            spans = self._word_spans[key] = self._find_word(field_name, word)
        if spans is not None:  # the k-th occurrence of the word is its k-th span
            return spans[bisect_left(self.positions(field_name, word), index)]
        return self.offsets(field_name, self.texts[field_name], index + 1)[index]

    def _find_word(self, field_name: str, word: str) -> list[tuple[int, int]] | None:
        """Where a word stands in an ASCII text, found with `str.find`: the stretches of
        letters, digits and dots that are the word less their outer dots.

        None when that would not be every occurrence (a non-ASCII text; "us" printed as
        "U.S.") or the word is found inside many others: `offsets` counts words instead.
        """
        if field_name not in self._lower:
            text = self.texts[field_name]
            self._lower[field_name] = text.lower() if text.isascii() else None
        lower = self._lower[field_name]
        if lower is None:
            return None
        count = len(self.positions(field_name, word))
        found: list[tuple[int, int]] = []
        find, size, length = lower.find, len(word), len(lower)
        budget = 2 * count + 8
        at = find(word)
        while at >= 0:
            budget -= 1
            if budget < 0:
                return None
            before, after = at - 1, at + size
            while before >= 0 and lower[before] == ".":
                before -= 1
            while after < length and lower[after] == ".":
                after += 1
            if (before < 0 or not lower[before].isalnum()) and (
                after >= length or not lower[after].isalnum()
            ):
                found.append((at, at + size))
                at = find(word, after)
            else:
                at = find(word, at + 1)
        return found if len(found) == count else None

    def offsets(self, field_name: str, text: str, needed: int = 0) -> LazySpans:
        """Character spans of a field's tokens (for snippets), found as they are asked for."""
        found = self._offsets.get(field_name)
        if found is None:
            size = len(self.tokens[field_name]) if text is self.texts.get(field_name) else None
            found = self._offsets[field_name] = LazySpans(text, size)
        return found

    @classmethod
    def of(cls, doc: Document, vocabulary: _Vocabulary | None = None) -> _Doc:
        """`vocabulary` (the RuleSet's) finds truncations' words; it learns this document's."""
        texts = {"title": doc.title, "body": doc.body, "author": " ; ".join(doc.authors)}
        tokens = {f: words(t) for f, t in texts.items()}
        found = cls(tokens, {f: set(t) for f, t in tokens.items()}, texts, list(doc.authors))
        if vocabulary is not None:
            vocabulary.learn(found.all_words())
            found.vocabulary = vocabulary
        return found

    def breaks(self, field_name: str, sentences: bool) -> list[int]:
        """Token indices where a sentence (or only a paragraph) begins, 0 excluded."""
        found = self._breaks.get((field_name, sentences))
        if found is None:
            text = self.texts[field_name]
            total = len(self.tokens[field_name])
            if field_name == "author":
                pieces = self.authors  # one author's name never runs into the next
            elif sentences:
                spans = self.sentences(field_name)
                spaced = self.offsets(field_name, text).spaced
                if spaced is not None:  # its pieces are the words: count them in C
                    counts = list(map(len, map(str.split, [spaced[s:e] for s, e in spans])))
                    found = self._breaks[field_name, sentences] = _starts(counts, total)
                    return found
                pieces = [text[s:e] for s, e in spans]
            else:  # a NEAR's paragraph: most texts are one (the word offsets are not needed)
                pieces = _PARAGRAPH.split(text) if "\n" in text else [text]
            if len(pieces) < 2:
                found = []
            else:
                found = _starts([len(words(piece)) for piece in pieces], total)
            self._breaks[field_name, sentences] = found
        return found

    def crosses(self, field_name: str, start: int, end: int, sentences: bool = True) -> bool:
        """Whether tokens start … end-1 lie in more than one sentence (or paragraph)."""
        if end - start < 2:
            return False
        breaks = self.breaks(field_name, sentences)
        i = bisect_right(breaks, start)
        return i < len(breaks) and breaks[i] < end

    def reasons(self, field_name: str, token: int, excluded: frozenset[str]) -> list[Reason]:
        """Why a field's token stands in an excluded mood ([] if it does not)."""
        key = (field_name, token, excluded)
        found = self._reasons.get(key)
        if found is None:
            if field_name == "author":
                found = []  # names have no mood
            else:
                start = self.char_span(field_name, token)[0]
                found = self.mood_of(field_name).reasons(start, excluded)
            self._reasons[key] = found
        return found

    def excluded(
        self, field_name: str, ranges: Iterable[tuple[int, int]], moods: frozenset[str]
    ) -> bool:
        """Whether any word of these token ranges stands in one of `moods`."""
        return any(
            self.reasons(field_name, token, moods) for s, e in ranges for token in range(s, e)
        )

    def mood_of(self, field_name: str) -> TextMoods:
        moods = self._moods.get(field_name)
        if moods is None:
            text = self.texts[field_name]
            moods = self._moods[field_name] = TextMoods(text, self.sentences(field_name))
        return moods

    def sentences(self, field_name: str) -> list[tuple[int, int]]:
        """A field's sentence spans: split once for every rule that needs them."""
        found = self._sentences.get(field_name)
        if found is None:
            found = self._sentences[field_name] = sentence_spans(self.texts[field_name])
        return found

    def sentence_at(self, field_name: str, position: int) -> tuple[int, int] | None:
        """The sentence (of `sentences`) holding a character, found around it: a snippet
        needs the sentences of a few hits, not a split of the whole text."""
        split = self._sentences.get(field_name)
        known = split if split is not None else self._sentence_at.setdefault(field_name, [])
        i = bisect_right(known, (position, len(self.texts[field_name]))) - 1
        if i >= 0 and known[i][0] <= position < known[i][1]:
            return known[i]  # another hit's sentence
        if split is not None:
            return None
        found = sentence_at(self.texts[field_name], position)
        if found is not None:
            insort(known, found)
        return found

    def all_words(self) -> set[str]:
        found = self._all_words
        if found is None:
            found = self._all_words = self.unique["title"] | self.unique["body"]
            found |= self.unique["author"]
        return found

    def positions(self, field_name: str, word: str) -> list[int]:
        """Token indices at which a word stands in a field."""
        index = self._positions.setdefault(field_name, {})
        found = index.get(word)
        if found is None:
            found = index[word] = []
            if word in self.unique[field_name]:
                # The words joined by two spaces: " word " is found only where a token is
                # that word, and a token's index is half the spaces before it (str.find and
                # str.count scan in C, and stop at the last occurrence, not the text's end).
                joined = self._joined.get(field_name)
                if joined is None:
                    joined = " " + "  ".join(self.tokens[field_name]) + " "
                    self._joined[field_name] = joined
                key = f" {word} "
                find, count, step = joined.find, joined.count, len(key)
                at, spaces, counted = find(key), 0, 0
                while at >= 0:
                    spaces += count(" ", counted, at)
                    counted = at
                    found.append(spaces // 2)
                    at = find(key, at + step)
        return found

    def completes(self, field_name: str, prefix: str) -> bool:
        """Whether some word of the field starts with `prefix`."""
        filed = self.vocabulary.by_prefix.get(prefix) if self.vocabulary else None
        if filed is not None:
            return not self.unique[field_name].isdisjoint(filed)
        return bool(self.completions(field_name, prefix))

    def completions(self, field_name: str, prefix: str) -> list[str]:
        """The field's words that start with `prefix`, in order."""
        filed = self.vocabulary.by_prefix.get(prefix) if self.vocabulary else None
        if filed is not None:
            return sorted(self.unique[field_name] & filed)
        ordered = self._sorted.get(field_name)
        if ordered is None:
            ordered = self._sorted[field_name] = sorted(self.unique[field_name])
        out = []
        for i in range(bisect_left(ordered, prefix), len(ordered)):
            if not ordered[i].startswith(prefix):
                break
            out.append(ordered[i])
        return out

    def _matching(self, field_name: str, text: str, prefix: bool) -> list[str]:
        if prefix:
            return self.completions(field_name, text)
        return [text] if text in self.unique[field_name] else []

    def spans(self, pattern: Pattern) -> list[Span]:
        """Every occurrence of a pattern, as (field, start, end) token spans."""
        cached = self.spans_cache.get(pattern)
        if cached is not None:
            return cached
        found: list[Span] = []
        if len(pattern.parts) == 1:  # a word or a truncation: its positions, no checks
            text, prefix = pattern.parts[0]
            for field_name in (pattern.field,) if pattern.field else DEFAULT_FIELDS:
                if not prefix:
                    if text in self.unique[field_name]:
                        found += [(field_name, p, p + 1) for p in self.positions(field_name, text)]
                    continue
                matching = self.completions(field_name, text)
                starts = (
                    self.positions(field_name, matching[0])
                    if len(matching) == 1
                    else sorted(p for w in matching for p in self.positions(field_name, w))
                )
                found += [(field_name, p, p + 1) for p in starts]
            self.spans_cache[pattern] = found
            return found
        anchor, others = _anchor(pattern)
        size = len(pattern.parts)
        for field_name in (pattern.field,) if pattern.field else DEFAULT_FIELDS:
            unique = self.unique[field_name]
            if any(not pre and t not in unique for _, t, pre in others):
                continue  # a phrase's word is missing: no need to look for the others
            text, prefix = pattern.parts[anchor]
            starts = sorted(
                p - anchor
                for w in self._matching(field_name, text, prefix)
                for p in self.positions(field_name, w)
            )
            tokens = self.tokens[field_name]
            for start in starts:
                if start < 0 or start + size > len(tokens):
                    continue
                if all(
                    tokens[start + k].startswith(t) if pre else tokens[start + k] == t
                    for k, t, pre in others
                ) and not self.crosses(field_name, start, start + size):
                    found.append((field_name, start, start + size))
        self.spans_cache[pattern] = found
        return found

    def present(self, pattern: Pattern) -> bool:
        """Whether a pattern occurs; a single word or truncation needs no positions."""
        if len(pattern.parts) == 1:
            word, prefix = pattern.parts[0]
            if prefix:
                fields = (pattern.field,) if pattern.field else DEFAULT_FIELDS
                return any(self.completes(f, word) for f in fields)
            unique = self.unique
            if pattern.field:
                return word in unique[pattern.field]
            return word in unique["title"] or word in unique["body"]  # DEFAULT_FIELDS
        return bool(self.spans(pattern))


class _CharSpans(Spans):
    """Character spans of a field's tokens (`tokens.token_spans`), found as they are read."""

    def __init__(self, doc: _Doc, field_name: str) -> None:
        self._doc, self._field = doc, field_name

    def __len__(self) -> int:
        return len(self._doc.tokens[self._field])

    def span(self, index: int) -> tuple[int, int]:
        return self._doc.char_span(self._field, index)


_ANCHORS: dict[Pattern, tuple[int, tuple[tuple[int, str, bool], ...]]] = {}


def _anchor(pattern: Pattern) -> tuple[int, tuple[tuple[int, str, bool], ...]]:
    """The part of a phrase to look up first, and the others as (offset, text, is_prefix).

    Looking up "the biegun" from "the" visits every "the" of the text; from "biegun", the
    few places worth checking. The rarest-looking part is the longest whole word outside
    the commonest words (or the first part, when every part is a truncation).
    """
    found = _ANCHORS.get(pattern)
    if found is None:
        parts = pattern.parts
        exact = [i for i, (t, pre) in enumerate(parts) if not pre]
        anchor = (
            max(exact, key=lambda i: (parts[i][0] not in _COMMON_WORDS, len(parts[i][0])))
            if exact
            else 0
        )
        others = tuple((i, t, pre) for i, (t, pre) in enumerate(parts) if i != anchor)
        found = (anchor, others)
        if len(_ANCHORS) < 100_000:  # patterns come from rules: a bound against surprises
            _ANCHORS[pattern] = found
    return found


def _shared(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]) -> bool:
    """Whether two sets of token ranges share a token."""
    return any(sa < eb and sb < ea for sa, ea in a for sb, eb in b)


# A side of NEAR made of single words (a word, a truncation, or an OR of them): its words
# are found by looking at the few tokens around the other side's hits, not everywhere.
_Words = tuple[tuple[str | None, str, bool], ...]  # (field or None for title/body, text, prefix)
_SINGLE_WORDS: dict[Node, _Words | None] = {}


def _single_words(node: Node) -> _Words | None:
    """The words of a side that is only single words (None if it holds a phrase or a NEAR)."""
    found = _SINGLE_WORDS.get(node, ())
    if found != ():
        return found
    found = None
    if isinstance(node, Pattern):
        if len(node.parts) == 1:
            found = ((node.field, *node.parts[0]),)
    elif isinstance(node, Or):
        children = [_single_words(c) for c in node.children]
        if all(c is not None for c in children):
            found = tuple(w for c in children for w in c)  # type: ignore[union-attr]
    if len(_SINGLE_WORDS) < 100_000:  # nodes come from rules: a bound against surprises
        _SINGLE_WORDS[node] = found
    return found


def _side_words(side: _Words, doc: _Doc, field_name: str) -> set[str]:
    """The words of a field that a single-words side matches."""
    key = (side, field_name)
    found = doc.words_cache.get(key)
    if found is None:
        found = set()
        unique = doc.unique[field_name]
        for only, text, prefix in side:
            if only != field_name and (only is not None or field_name not in DEFAULT_FIELDS):
                continue
            if prefix:
                found.update(doc.completions(field_name, text))
            elif text in unique:
                found.add(text)
        doc.words_cache[key] = found
    return found


def _side_cost(side: _Words) -> int:
    """Roughly how many hits a single-words side has: truncations and common words many."""
    return sum(1 if not prefix and text not in _COMMON_WORDS else 4 for _, text, prefix in side)


def _near_windowed(node: Near, doc: _Doc) -> list[_Hit] | None:
    """NEAR's hits found from the rarer side, looking for the other side's words in the
    tokens around each of its hits; None if neither side is made of single words."""
    left, right = _single_words(node.left), _single_words(node.right)
    if left is None and right is None:
        return None
    if left is not None and right is not None:
        scan_left = _side_cost(left) >= _side_cost(right)
    else:
        scan_left = left is not None
    scanned = left if scan_left else right
    assert scanned is not None
    out: list[_Hit] = []
    distance = node.distance
    for f, sa, ea, wa in _near_hits(node.right if scan_left else node.left, doc):
        wanted = _side_words(scanned, doc, f)
        if not wanted:
            continue
        tokens = doc.tokens[f]
        for t in range(max(0, sa - distance), min(len(tokens), ea + distance)):
            if tokens[t] not in wanted or any(s <= t < e for s, e in wa):
                continue  # not the other side's word, or the same word (not near itself)
            start, end = min(sa, t), max(ea, t + 1)
            if not doc.crosses(f, start, end, sentences=False):
                out.append((f, start, end, ((t, t + 1), *wa) if scan_left else (*wa, (t, t + 1))))
    return out


def _near_hits(node: Node, doc: _Doc) -> list[_Hit]:
    if isinstance(node, Pattern):
        return [(f, s, e, ((s, e),)) for f, s, e in doc.spans(node)]
    if isinstance(node, Or):  # term lists are big ORs used by several NEARs: cached
        cached = doc.near_cache.get(node)
        if cached is None:
            cached = doc.near_cache[node] = [
                h for child in node.children for h in _near_hits(child, doc)
            ]
        return cached
    if isinstance(node, Near):
        cached = doc.near_cache.get(node)
        if cached is not None:
            return cached
        windowed = _near_windowed(node, doc)
        if windowed is not None:
            doc.near_cache[node] = windowed
            return windowed
        out: list[_Hit] = []
        rights = _near_hits(node.right, doc)
        for fa, sa, ea, wa in _near_hits(node.left, doc) if rights else ():
            for fb, sb, eb, wb in rights:
                if fa != fb:
                    continue
                if ea <= sb:
                    gap = sb - ea + 1
                elif eb <= sa:
                    gap = sa - eb + 1
                elif _shared(wa, wb):
                    continue  # one word is not near itself
                else:
                    gap = 0  # e.g. c between the a and b of (a NEAR b) NEAR c
                start, end = min(sa, sb), max(ea, eb)
                if gap <= node.distance and not doc.crosses(fa, start, end, sentences=False):
                    out.append((fa, start, end, wa + wb))
        doc.near_cache[node] = out
        return out
    if isinstance(node, Within):
        cached = doc.near_cache.get(node)
        if cached is not None:
            return cached
        out = []
        rights = _near_hits(node.right, doc)
        sentences = not node.paragraph
        for fa, sa, ea, wa in _near_hits(node.left, doc) if rights else ():
            for fb, sb, eb, wb in rights:
                if fa != fb or _shared(wa, wb):
                    continue
                start, end = min(sa, sb), max(ea, eb)
                if not doc.crosses(fa, start, end, sentences=sentences):
                    out.append((fa, start, end, wa + wb))
        doc.near_cache[node] = out
        return out
    return []  # And/Not are rejected by the parser inside NEAR, SENT and PARA


def _near_spans(node: Node, doc: _Doc) -> list[Span]:
    return [(f, s, e) for f, s, e, _ in _near_hits(node, doc)]


def evaluate(node: Node, doc: _Doc) -> bool:
    """Whether a query is true of a document."""
    if isinstance(node, Pattern):
        return doc.present(node)
    if isinstance(node, And):
        return all(evaluate(c, doc) for c in node.children)
    if isinstance(node, Or):
        return any(evaluate(c, doc) for c in node.children)
    if isinstance(node, Not):
        return not evaluate(node.child, doc)
    return bool(_near_spans(node, doc))


def evaluate_outside(node: Node, doc: _Doc, moods: frozenset[str]) -> bool:
    """Whether a query is true of the hits that stand outside `moods`.

    A NEAR/SENT/PARA pair counts only if none of its words is excluded; NOT looks at the
    whole text (a vetoing term in a question still vetoes).
    """
    if isinstance(node, Pattern):
        return any(not doc.excluded(f, ((s, e),), moods) for f, s, e in doc.spans(node))
    if isinstance(node, And):
        return all(evaluate_outside(c, doc, moods) for c in node.children)
    if isinstance(node, Or):
        return any(evaluate_outside(c, doc, moods) for c in node.children)
    if isinstance(node, Not):
        return not evaluate(node.child, doc)
    return any(not doc.excluded(f, words, moods) for f, _s, _e, words in _near_hits(node, doc))


def _true_of(rule: Rule, doc: _Doc) -> bool:
    if not evaluate(rule.ast, doc):
        return False
    return not rule.exclude or evaluate_outside(rule.ast, doc, rule.exclude)


def _spans_within(single: _Words, windows: list[Span], doc: _Doc) -> list[Span]:
    """A single word's spans inside `windows`, as `doc.spans` orders them (field, start):
    the tokens of the windows are looked at, not the whole text."""
    out: list[Span] = []
    only = single[0][0]
    for field_name in (only,) if only else DEFAULT_FIELDS:
        wanted = _side_words(single, doc, field_name)
        if not wanted:
            continue
        tokens = doc.tokens[field_name]
        found = {
            t for f, s, e in windows if f == field_name for t in range(s, e) if tokens[t] in wanted
        }
        out += [(field_name, t, t + 1) for t in sorted(found)]
    return out


def _evidence_spans(node: Node, doc: _Doc) -> list[tuple[str, Span]]:
    """(term key, span) of what made the query true: NEAR pairs, and positive terms."""
    out: list[tuple[str, Span]] = []
    if isinstance(node, Near | Within):
        windows = _near_spans(node, doc)
        for pattern in patterns(node):
            single = _single_words(pattern)
            if single is not None and pattern not in doc.spans_cache:
                out += [(pattern.describe(), s) for s in _spans_within(single, windows, doc)]
                continue
            out += [
                (pattern.describe(), s)
                for s in doc.spans(pattern)
                if any(s[0] == w[0] and s[1] >= w[1] and s[2] <= w[2] for w in windows)
            ]
        return out
    if isinstance(node, Pattern):
        return [(node.describe(), s) for s in doc.spans(node)]
    if isinstance(node, Not):
        return []
    return [
        item
        for child in node.children
        if evaluate(child, doc)
        for item in _evidence_spans(child, doc)
    ]


class RuleSet:
    """Rules compiled for matching many documents quickly (plus the term lists they use)."""

    def __init__(
        self,
        rules: Iterable[Rule],
        lists: dict[str, Node] | None = None,
        frequencies: Frequencies | None = None,
    ) -> None:
        """Compile `rules`; `frequencies` (from `word_frequencies`) sharpen the triggers."""
        self.rules: list[Rule] = list(rules)
        self.lists: dict[str, Node] = dict(lists or {})
        # Optional channels that are off (channels.yaml): their alerts are not queued.
        self.channels_off: frozenset[str] = frozenset()
        # Labelled sets named by rules.yaml's `labelled:` (tuning) and the held-out sets
        # beside them, which are never trained or tuned on.
        self.labelled: tuple[Path, ...] = ()
        self.heldout: tuple[Path, ...] = ()
        self._frequencies = frequencies
        triggers = _Triggers(frequencies)
        self._exact: dict[str, list[int]] = {}
        self._always: list[int] = []
        prefix_rules: dict[str, list[int]] = {}
        for index, rule in enumerate(self.rules):
            trigger = triggers.of(rule.ast)
            if trigger is None:
                self._always.append(index)
                continue
            for is_prefix, text in trigger:
                target = prefix_rules if is_prefix else self._exact
                target.setdefault(text, []).append(index)
        self._prefix_rules = prefix_rules
        self._prefixes: set[str] = set().union(*(_prefixes(r.ast) for r in self.rules))
        self._vocabulary = _Vocabulary(self._prefixes)

    def __len__(self) -> int:
        return len(self.rules)

    def with_frequencies(self, frequencies: Frequencies) -> RuleSet:
        """The same rules compiled with word statistics (e.g. from the stored documents)."""
        if not frequencies:
            return self
        return self._copy(self.rules, frequencies)

    def replaced(self, rules: Iterable[Rule]) -> RuleSet:
        """These rules compiled like this set (e.g. with classifiers attached)."""
        return self._copy(rules, self._frequencies)

    def _copy(self, rules: Iterable[Rule], frequencies: Frequencies | None) -> RuleSet:
        compiled = RuleSet(rules, self.lists, frequencies)
        compiled.channels_off = self.channels_off
        compiled.labelled, compiled.heldout = self.labelled, self.heldout
        return compiled

    def _doc(self, document: Document) -> _Doc:
        if self._vocabulary.full:
            self._vocabulary = _Vocabulary(self._prefixes)
        return _Doc.of(document, self._vocabulary)

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def _candidates(self, doc: _Doc) -> list[int]:
        all_words = doc.all_words()
        found: set[int] = set(self._always)
        for word in all_words & self._exact.keys():
            found.update(self._exact[word])
        if self._prefix_rules:
            vocabulary = doc.vocabulary
            if vocabulary is None or vocabulary.prefixes is not self._prefixes:
                vocabulary = self._vocabulary  # the document was read for other rules
                vocabulary.learn(all_words)
            prefixes_of, triggered = vocabulary.prefixes_of, self._prefix_rules
            for word in all_words & prefixes_of.keys():
                for prefix in prefixes_of[word]:
                    indices = triggered.get(prefix)
                    if indices:
                        found.update(indices)
        return sorted(found)

    def matching_rules(self, document: Document, doc: _Doc | None = None) -> list[Rule]:
        """The rules whose query and filters are true of `document` (no evidence)."""
        doc = doc or self._doc(document)
        return [
            self.rules[i]
            for i in self._candidates(doc)
            if self.rules[i].applies_to(document)
            and _true_of(self.rules[i], doc)
            and self.rules[i].accepts(document)
        ]

    def match(self, document: Document, previous: Document | None = None) -> list[Match]:
        """Matches of `document`; for an update, rules follow their `on_update` policy."""
        doc = self._doc(document)
        rules = self.matching_rules(document, doc)
        if previous is not None and rules:
            before = {r.id for r in self.matching_rules(previous)}
            rules = [
                r
                for r in rules
                if r.on_update == "always" or (r.on_update == "new-match" and r.id not in before)
            ]
        return [explain(rule, document, doc) for rule in rules]


@dataclass(frozen=True)
class Excluded:
    """A sentence whose hits of a rule do not count, and why (`monitor rules test --why`)."""

    field: str
    sentence: str
    terms: tuple[str, ...]
    reasons: tuple[Reason, ...]

    def describe(self) -> str:
        why = "; ".join(str(r) for r in self.reasons)
        return f"{self.field}: {', '.join(self.terms)} {why}: {self.sentence}"


def excluded_hits(rule: Rule, document: Document) -> list[Excluded]:
    """The sentences where `rule` has hits that stand in moods it excludes, with the reasons."""
    if not rule.exclude:
        return []
    doc = _Doc.of(document)
    if not evaluate(rule.ast, doc):
        return []
    found: dict[tuple[str, int, int], tuple[dict[str, None], dict[Reason, None]]] = {}
    for key, (f, s, e) in _evidence_spans(rule.ast, doc):
        reasons = [r for t in range(s, e) for r in doc.reasons(f, t, rule.exclude)]
        if reasons:
            start = doc.char_span(f, s)[0]
            terms, why = found.setdefault((f, *doc.mood_of(f).sentence(start)), ({}, {}))
            terms[key] = None
            why.update(dict.fromkeys(reasons))
    return [
        Excluded(f, " ".join(doc.texts[f][a:b].split()), tuple(terms), tuple(why))
        for (f, a, b), (terms, why) in found.items()
    ]


def explain(rule: Rule, document: Document, doc: _Doc | None = None) -> Match:
    """The Match of a rule known to match: terms, field and the snippet with highlights."""
    doc = doc or _Doc.of(document)
    evidence = _evidence_spans(rule.ast, doc)
    if rule.exclude:  # show the hits that made it count
        kept = [(k, sp) for k, sp in evidence if not doc.excluded(sp[0], (sp[1:],), rule.exclude)]
        evidence = kept or evidence
    texts = {"title": document.title, "body": document.body, "author": " ; ".join(document.authors)}
    tokens = {f: _CharSpans(doc, f) for f in dict.fromkeys(span[0] for _, span in evidence)}
    terms: dict[str, None] = {}
    positions: dict[tuple[str, int, int], None] = {}
    for _, (f, s, e) in evidence:
        start, end = tokens[f][s][0], tokens[f][e - 1][1]
        terms.setdefault(texts[f][start:end], None)
        positions.setdefault((f, start, end), None)
    field_name = (
        "body"
        if any(span[0] == "body" for _, span in evidence)
        else (evidence[0][1][0] if evidence else "title")
    )
    hits = [(key, s, e) for key, (f, s, e) in evidence if f == field_name]
    source = texts[field_name] if hits else document.title
    sentences = None
    if hits and texts[field_name] is doc.texts.get(field_name):
        # build_snippet looks for the sentences of its first hits (by term, then place).
        first = sorted((key, tokens[field_name][s][0]) for key, s, _ in hits)[:MAX_HITS]
        around = (doc.sentence_at(field_name, start) for _, start in first)
        sentences = sorted({span for span in around if span is not None})
    snippet, highlights = build_snippet(
        source, tokens.get(field_name, []), hits, sentences=sentences
    )
    return Match(
        rule_id=rule.id,
        rule_name=rule.name,
        document_id=document.id,
        version=document.version,
        field=field_name,
        terms=list(terms),
        snippet=snippet or document.title[:300],
        highlights=highlights,
        positions=sorted(positions),
    )
