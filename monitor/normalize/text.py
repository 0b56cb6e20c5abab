"""HTML → clean text: paragraphs kept, page furniture and boilerplate lines dropped."""

from __future__ import annotations

import re
import unicodedata

import lxml.etree
import lxml.html

# Elements whose content is never article text.
_DROP_TAGS = frozenset(
    "script style noscript template iframe object embed svg canvas form button input select "
    "textarea nav header footer aside figure figcaption picture video audio map head".split()
)
_BLOCK_TAGS = frozenset(
    "p div section article main h1 h2 h3 h4 h5 h6 li ul ol dl dt dd blockquote pre table tr "
    "td th br hr center address details summary caption".split()
)
# Containers whose class or id names them as page furniture (share bars, related links...).
_FURNITURE = re.compile(
    r"(?:^|[-_\s])(share|sharing|sharedaddy|social|related|relatedposts|newsletter|comments?|cookies?|subscribe|promo|"
    r"advert|ads?|video|sidebar|breadcrumbs?|menu|popup|modal|banner|trending|recommended)"
    r"(?:[-_\s]|$)",
    re.IGNORECASE,
)
# Whole lines that are boilerplate wherever they appear.
_BOILERPLATE_LINES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^(?:[\w .'-]+ )?photo$",  # "Epoch Times Photo", "File photo"
        r"^recommended(?: video| for you| reading)?:?$",
        r"^(?:share|tweet|email|print|share this(?: article)?|share on \w+)(?:[ :|]+\w+)*$",
        r"^follow (?:[\w.'-]+ ){1,3}on (?:twitter|x|facebook|instagram|linkedin|threads|"
        r"telegram|bluesky)\b.*$",
        r"^(?:sign up|subscribe) (?:for|to) (?:our|the) .*newsletter.*$",
        r"^(?:advertisement|continue reading|read more|click here to .*)$",
        r"^.{0,300}\((?:[\w .'-]+/)*(?:afp|getty images|ap(?: photo)?|reuters|epa|"
        r"shutterstock|yonhap|kcna|xinhua|epoch times|state department|white house)"
        r"(?:/[\w .'-]+)*\)$",  # photo captions ending in a credit
        r"^(?:photo|image|credit|photo credit)s?:.*$",
    )
]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u2028\u2029\ufeff]")


def clean_line(text: str) -> str:
    """One line of text: control characters removed, white space collapsed."""
    # str.split() splits at the characters `\s` matches (str.isspace), and the join leaves
    # none at either end: the same as re.sub(r"\s+", " ", …).strip(), at a third of the cost
    # (tests/normalize: every code point compared).
    return " ".join(_CONTROL.sub("", unicodedata.normalize("NFC", text)).split())


def is_boilerplate(line: str) -> bool:
    """True for a paragraph that is page furniture rather than text."""
    # The "… photo" pattern backtracks over the whole line: only lines that end so try it.
    photo, *others = _BOILERPLATE_LINES
    if line[-6:].lower().rstrip("\n").endswith("photo") and photo.match(line):
        return True
    return any(p.match(line) for p in others)


# A "furniture" container holding this much paragraph text is the story itself (a body
# inside <div id="article-share-wrap">), as Readability keeps share-named nodes this long.
_STORY_CHARS = 500


def _is_furniture(el: lxml.html.HtmlElement) -> bool:
    names = f"{el.get('class', '')} {el.get('id', '')}"
    if not names.strip() or not _FURNITURE.search(names):
        return False
    return sum(len(p.text_content()) for p in el.iter("p")) < _STORY_CHARS


def parse_fragment(html: str) -> lxml.html.HtmlElement | None:
    """Parse an HTML fragment or document; None when there is nothing to parse."""
    if not html or not html.strip():
        return None
    try:
        return lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError, AssertionError):
        # lxml asserts on some broken documents ("too many bodies"): no text, not a crash.
        return None


def element_paragraphs(root: lxml.html.HtmlElement) -> list[str]:
    """The paragraphs of an element's text, furniture and boilerplate dropped."""
    blocks: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = clean_line("".join(current))
        current.clear()
        if line and not is_boilerplate(line):
            blocks.append(line)

    skip_depth = 0
    for event, el in lxml.etree.iterwalk(root, events=("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            if skip_depth or not tag or tag in _DROP_TAGS or (el is not root and _is_furniture(el)):
                skip_depth += 1
                continue
            if tag in _BLOCK_TAGS:
                flush()
            if el.text:
                current.append(el.text)
        else:
            if skip_depth:
                skip_depth -= 1
                if skip_depth:
                    continue
            elif tag in _BLOCK_TAGS:
                flush()
            if el is not root and el.tail:
                current.append(el.tail)
    flush()
    return blocks


# A tag (`<b>`, `</sup>`, `<br/>`) or an entity (`&#8217;`, `&amp;`): text written as HTML.
_LOOKS_HTML = re.compile(
    r"<(?:[a-zA-Z][\w-]*(?:\s[^<>]*)?/?|/[a-zA-Z][\w-]*\s*)>"
    r"|&(?:#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z]\w*);"
)


def inline_text(text: str) -> str:
    """One line of text from a title that may be written as HTML (`<b>Slack</b>`, `&#8217;`).

    Feeds mark titles up (search alerts bold the query, `<sup>` in ordinals) or escape them
    twice (`&amp;#8217;`); alerts and email subjects must show the words. A title without
    tags or entities is taken as it is, so `1 < 2` or `AT&T` stay.
    """
    for _ in range(2):  # twice: a title escaped twice still has entities after one pass
        if not _LOOKS_HTML.search(text):
            break
        root = parse_fragment(f"<div>{text}</div>")
        if root is None:
            break
        for br in root.iter("br"):
            br.tail = " " + (br.tail or "")
        for hidden in list(root.iter("script", "style")):  # code, not words of the title
            tail, parent = hidden.tail or "", hidden.getparent()
            if parent is not None:
                previous = hidden.getprevious()
                if previous is not None:
                    previous.tail = (previous.tail or "") + tail
                else:
                    parent.text = (parent.text or "") + tail
                parent.remove(hidden)
        text = "".join(root.itertext())
    return clean_line(text)


def html_to_text(html: str) -> str:
    """Clean text of an HTML fragment: paragraphs separated by blank lines."""
    if "<" not in html and "&" not in html:
        lines = [clean_line(p) for p in re.split(r"\n\s*\n", html)]
        return "\n\n".join(line for line in lines if line and not is_boilerplate(line))
    root = parse_fragment(html)
    return "\n\n".join(element_paragraphs(root)) if root is not None else ""
