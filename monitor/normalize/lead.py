"""The lead of a release: paragraphs that repeat its byline, place and time.

state.gov's feed starts nearly every body with the byline ("Antony J. Blinken, Secretary
of State", "Office of the Spokesperson"), then for remarks and briefings a place
("Washington, D.C.", "Via Teleconference") and a time ("2:36 p.m. EST"). They belong in
the document's fields, not in the first paragraph of its text, where they would be the
summary and the snippet of every alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+"
_TIME = re.compile(
    r"^\d{1,2}(?::\d{2})?\s*(?:a\.?\s?m\.?|p\.?\s?m\.?|noon)?\s*(?:\(?[A-Z]{2,5}\)?)?$",
    re.IGNORECASE,
)
_DATE = re.compile(
    rf"^(?:{_WEEKDAY})?(?:{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH}\s+\d{{4}})$",
    re.IGNORECASE,
)
# A place line: a few capitalised words and commas ("WASHINGTON, D.C.", "Press Briefing
# Room, Washington, DC", "Via Teleconference"); no sentence.
_PLACE = re.compile(
    r"^(?:Via |On |At )?[A-Z][\w.'’&-]*(?:,?\s+(?:of |the |and )?[A-Z][\w.'’&-]*){0,6}$"
)
_OFFICE = re.compile(
    r"^(?:the )?(?:office|bureau|department|ministry|embassy|mission|secretariat|press office)"
    r" (?:of|for|to)\b",
    re.IGNORECASE,
)
_BY = re.compile(r"^by\s+", re.IGNORECASE)
MAX_LEAD_LINE = 200
MAX_LEAD = 5


@dataclass
class Lead:
    """What the lead said: its byline lines, the office it named, the place it printed."""

    bylines: list[str] = field(default_factory=list)
    office: str | None = None
    places: list[str] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        # "Washington, D.C." over "Treaty Room": the room first, as a page prints it.
        return ", ".join(reversed(self.places)) or None


def _key(text: str) -> str:
    return " ".join(_BY.sub("", text).casefold().split()).rstrip(".")


def is_office(line: str) -> bool:
    """True for a line naming an issuing office ("Office of the Spokesperson")."""
    return bool(_OFFICE.match(line))


def split_lead(paragraphs: list[str], bylines: list[str]) -> tuple[list[str], Lead]:
    """The paragraphs without their lead, and what the lead said.

    The lead is taken only under a byline the release names elsewhere (its authors or
    office) or an office line, so a body that starts with a place for its own sake keeps
    it; time and date lines go with it. A body is never left empty.
    """
    known = [_key(b) for b in bylines if b]
    lead = Lead()
    index = 0
    while index < min(len(paragraphs), MAX_LEAD) and index < len(paragraphs) - 1:
        line = paragraphs[index]
        if len(line) > MAX_LEAD_LINE:
            break
        if _is_byline(_key(line), known) or is_office(line):
            if is_office(line):
                lead.office = lead.office or line
            else:
                lead.bylines.append(line)
        elif not (lead.bylines or lead.office):
            break
        elif _is_time(line):
            pass
        elif _PLACE.match(line) and len(lead.places) < 2 and _ends_place_run(paragraphs, index):
            lead.places.append(line)
        else:
            break
        index += 1
    if not (lead.bylines or lead.office):
        return paragraphs, Lead()
    return paragraphs[index:], lead


def _is_byline(key: str, known: list[str]) -> bool:
    # Feeds join several dc:creator names into one ("A, Secretary of State, B, …") while
    # the body prints one line each: a line that is part of an author string is a byline.
    return any(key == k or (len(key) >= 12 and key in k) for k in known)


def _is_time(line: str) -> bool:
    return bool(_TIME.match(line) or _DATE.match(line))


def _ends_place_run(paragraphs: list[str], index: int) -> bool:
    # A dateline is one or two place lines followed by a time, a date or the text; a run of
    # capitalised lines going on is more likely a list of headings.
    for following in paragraphs[index + 1 : index + 3]:
        if _is_time(following) or not _PLACE.match(following):
            return True
    return False
