"""Hostile input: everything fetched is untrusted (SECURITY.md).

Feeds and pages built to hurt a parser — entity bombs, external entities, broken bytes,
huge and deep documents — and text built to forge an email header or a Slack mention go
through the real parsers, the normaliser and the email/Slack rendering. Nothing may
execute, inject or reach outside; memory stays bounded (peak RSS of a fresh interpreter,
asserted with generous bounds); nothing but a ParseError leaves a parser.
"""

from __future__ import annotations

import json
import re
import smtplib
import subprocess
import sys
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from monitor.alerts.base import OutboxAlert
from monitor.alerts.email import EmailChannel, EmailOptions
from monitor.alerts.routing import alert_maker
from monitor.alerts.webhook import slack_text
from monitor.errors import ParseError
from monitor.fixture_server import FixtureServer, Route
from monitor.models import Document, RawItem, StoredChange
from monitor.normalize import normalize
from monitor.normalize.text import html_to_text
from monitor.rules import Rule, RuleSet, parse_query
from monitor.settings import Settings
from monitor.sources.article import extract_releases
from monitor.sources.base import ArticleSelectors
from monitor.sources.page import ListingSelectors, PageOptions, PageSource
from monitor.sources.rss import RssOptions, RssSource
from monitor.store import Store
from tests.alerts.conftest import SmtpServer
from tests.conftest import ROOT, poll

FEED_URL = "https://feeds.example.org/hostile.xml"
PAGE_URL = "https://www.example.org/releases/hostile"
# Every character that can end or fold a header line or hide in one.
CONTROL = "".join(chr(c) for c in range(32)) + "\x7f\x85\u2028\u2029"
XML_CONTROL = "\t\n\r"  # the only control characters XML 1.0 lets a feed carry literally
LAUGHS = "\n".join(
    [
        '<!ENTITY lol "lol">',
        *(
            f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
            for n in range(1, 10)
        ),
    ]
)
QUADRATIC = '<!ENTITY a "' + "a" * 50_000 + '">'
RSS_ATTRS = 'version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'


# -- building blocks ----------------------------------------------------------------------


def rss(items: str, *, doctype: str = "", channel: str = "") -> bytes:
    """An RSS 2.0 feed around `items` (XML text), with an optional internal DTD subset."""
    dtd = f"<!DOCTYPE rss [\n{doctype}\n]>\n" if doctype else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{dtd}<rss {RSS_ATTRS}><channel>'
        f"<title>Hostile</title><link>https://www.example.org/</link>{channel}{items}"
        "</channel></rss>"
    ).encode()


def item(title: str, link: str = "https://www.example.org/a", description: str = "") -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link>"
        f"<description>{description}</description></item>"
    )


def xml_text(text: str) -> str:
    """Text as a feed can carry it: escaped, and the control characters XML forbids dropped."""
    return escape("".join(ch for ch in text if ch in XML_CONTROL or ch not in CONTROL[:32]))


def parse_feed(content: bytes) -> list[RawItem]:
    """RssSource.parse, which may raise ParseError and nothing else."""
    try:
        return RssSource(RssOptions(id="hostile", url=FEED_URL)).parse(
            content, FEED_URL, "application/rss+xml"
        )
    except ParseError:
        return []


def documents(raws: list[RawItem]) -> list[Document]:
    now = datetime.now(UTC)
    return [normalize(raw, source_id="hostile", fetched_at=now) for raw in raws]


def rules(name: str = "Biegun mentioned") -> RuleSet:
    return RuleSet([Rule("biegun", name, "biegun", parse_query("biegun"), notify=("mail",))])


def alerts(doc: Document, rule_set: RuleSet | None = None) -> list[OutboxAlert]:
    """The outbox alerts the pipeline would write for `doc` (one per matching rule)."""
    rule_set = rule_set or rules()
    matches = rule_set.match(doc, None)
    change = StoredChange(doc, "new", matches)
    make = alert_maker(rule_set)
    now = datetime.now(UTC)
    return [
        OutboxAlert(i, a.key, a.channel, a.payload, 0, now)
        for i, a in enumerate((a for m in matches for a in make(change, m)), 1)
    ]


def email_message(alert_list: list[OutboxAlert], tmp_path: Path | None = None) -> EmailMessage:
    """The message the email channel would send for these alerts."""
    settings = Settings(smtp_from="monitor@example.org", config_dir=tmp_path or Path("config"))
    channel = EmailChannel(
        "mail", EmailOptions(type="email", to=["analysts@example.org"]), settings
    )
    return channel.render(alert_list)


def email(alert_list: list[OutboxAlert], tmp_path: Path | None = None) -> bytes:
    return bytes(email_message(alert_list, tmp_path))


def stray_controls(field: str, value: str) -> set[str]:
    """Control characters in a field; only the body keeps line breaks (its paragraphs)."""
    allowed = {"\n"} if field == "body" else set()
    return set(value) & (set(CONTROL) - allowed)


def text_fields(doc: Document) -> dict[str, str]:
    return {
        "title": doc.title,
        "summary": doc.summary,
        "body": doc.body,
        "authors": " ".join(doc.authors),
        "kind": doc.kind or "",
        "office": doc.office or "",
        "location": doc.location or "",
    }


def isolated(case: str, timeout: float) -> dict[str, Any]:
    """Run `case` (a function below) in a fresh interpreter: its result, seconds, peak RSS."""
    code = (
        "import json, resource, time\n"
        # A broken parser must fail the test, not take the machine: 3 GB of address space.
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        f"from tests.test_hostile import {case} as case\n"
        "started = time.monotonic()\n"
        "result = case()\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child forked from
        # a large pytest process would report the parent's size.
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
        "peak = int(hwm[0].split()[1]) / 1024 if hwm else "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'result': result, 'seconds': time.monotonic() - started,\n"
        "    'peak_mb': peak}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{case} failed:\n{done.stderr[-3000:]}"
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# -- cases run in their own interpreter (memory is measured per case) ---------------------


def _longest_field(docs: list[Document]) -> int:
    return max((len(v) for d in docs for v in text_fields(d).values()), default=0)


def case_billion_laughs() -> dict[str, Any]:
    atom = (
        '<?xml version="1.0"?><!DOCTYPE feed [' + LAUGHS + "]>"
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        "<entry><title>&lol9;</title><id>urn:x:1</id>"
        '<link href="https://www.example.org/a"/><content>&lol9;</content></entry></feed>'
    ).encode()
    page = (
        f"<!DOCTYPE html [{LAUGHS}]><html><body><article><h1>&lol9;</h1>"
        "<p>&lol9; &lol9; &lol9;</p></article></body></html>"
    ).encode()
    return {
        "rss": _longest_field(
            documents(parse_feed(rss(item("&lol9;", description="&lol9;"), doctype=LAUGHS)))
        ),
        "atom": _longest_field(documents(parse_feed(atom))),
        "page": _longest_field(documents(extract_releases(page, PAGE_URL, ArticleSelectors()))),
    }


def case_quadratic_blowup() -> dict[str, Any]:
    # 2,000 references to one 50 KB entity: a 60 KB feed that expands to 100 MB per field.
    refs = "&a;" * 2_000
    feed = rss(item(refs, description=refs) + item("Biegun good"), doctype=QUADRATIC)
    return {"rss": _longest_field(documents(parse_feed(feed)))}


def case_many_items() -> dict[str, Any]:
    items = "".join(
        f"<item><title>Biegun {n}</title><link>https://www.example.org/r/{n}</link></item>"
        for n in range(100_000)
    )
    raws = parse_feed(rss(items))
    docs = documents(raws)
    return {"items": len(raws), "documents": len({d.id for d in docs})}


def case_deep_nesting() -> dict[str, Any]:
    depth = 100_000
    nest = "<div>" * depth + "<p>deep inside</p>" + "</div>" * depth
    page = (
        "<html><head><title>Biegun in depth</title></head><body><article><h1>Biegun in depth</h1>"
        f"<p>Envoy Biegun spoke first.</p>{nest}</article></body></html>"
    )
    [page_doc] = documents(extract_releases(page.encode(), PAGE_URL, ArticleSelectors()))
    feed_body = html_to_text("<p>Envoy Biegun spoke first.</p>" + nest)
    xml_nest = "<x>" * depth + "Biegun" + "</x>" * depth
    feed_docs = documents(parse_feed(rss(item("Biegun deep", description=escape(nest)) + xml_nest)))
    return {
        "page_title": page_doc.title,
        "page_body_start": page_doc.body[:200],
        "fragment_start": feed_body[:200],
        "feed_titles": [d.title for d in feed_docs],
    }


def case_huge_title() -> dict[str, Any]:
    megabyte = "Biegun " * 150_000  # 1 MB
    feed = rss(item(megabyte, description=megabyte) + item("Short", description="Biegun"))
    docs = documents(parse_feed(feed))
    page = f"<html><body><article><h1>{megabyte}</h1><p>{megabyte}</p></article></body></html>"
    docs += documents(extract_releases(page.encode(), PAGE_URL, ArticleSelectors()))
    longest_line = 0
    slack = 0
    for doc in docs:
        found = alerts(doc)
        if found:
            raw = email(found)
            longest_line = max(longest_line, *(len(line) for line in raw.split(b"\n")))
            slack = max(slack, len(slack_text(found)))
    return {
        "titles": [len(d.title) for d in docs],
        "longest_email_line": longest_line,
        "slack": slack,
    }


# -- entity expansion and external entities -----------------------------------------------


def test_billion_laughs_is_not_expanded() -> None:
    run = isolated("case_billion_laughs", timeout=120)
    # Expanded, each &lol9; is 3 GB of text.
    assert all(n < 1_000 for n in run["result"].values()), run
    assert run["peak_mb"] < 250, run
    assert run["seconds"] < 30, run


def test_quadratic_entity_blowup_is_not_expanded() -> None:
    run = isolated("case_quadratic_blowup", timeout=120)
    assert run["result"]["rss"] < 100_000, run
    assert run["peak_mb"] < 250, run
    assert run["seconds"] < 30, run


def _xxe_inputs(server: FixtureServer) -> dict[str, bytes]:
    spy = server.url("/xxe")
    system = f'<!ENTITY file SYSTEM "file:///etc/passwd"><!ENTITY net SYSTEM "{spy}">'
    param = f'<!ENTITY % remote SYSTEM "{spy}-dtd"> %remote;'
    return {
        "rss": rss(item("Biegun &file; &net;", description="&file; &net;"), doctype=system),
        "rss with a parameter entity": rss(item("Biegun"), doctype=param),
        "rss with an external DTD": (
            f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{spy}-ext">'
            f"<rss {RSS_ATTRS}><channel><title>t</title>{item('Biegun')}</channel></rss>"
        ).encode(),
        "atom": (
            f'<?xml version="1.0"?><!DOCTYPE feed [{system}]>'
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry>'
            "<title>Biegun &file;</title><id>urn:x:1</id>"
            '<link href="https://www.example.org/a"/><content>&file; &net;</content>'
            "</entry></feed>"
        ).encode(),
        "xhtml page": (
            f'<?xml version="1.0"?><!DOCTYPE html [{system}]>'
            '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>&file;</title></head>'
            "<body><article><h1>Biegun &file;</h1><p>&file; &net;</p>"
            f'<iframe src="file:///etc/passwd"></iframe><img src="{spy}-img"/>'
            "</article></body></html>"
        ).encode(),
    }


def test_external_entities_are_never_read_or_fetched(server: FixtureServer) -> None:
    server.routes["/xxe"] = Route(body=b"NETWORK-SECRET", content_type="text/plain")
    secret = Path("/etc/passwd").read_text().splitlines()[0]
    for name, content in _xxe_inputs(server).items():
        if name == "xhtml page":
            raws = extract_releases(content, PAGE_URL, ArticleSelectors(), "application/xhtml+xml")
        else:
            raws = parse_feed(content)
        for doc in documents(raws):
            for field, value in text_fields(doc).items():
                assert secret not in value and "root:" not in value, (name, field)
                assert "NETWORK-SECRET" not in value, (name, field)
    assert server.requests == [], "a parser fetched an external entity, DTD or image"


# -- broken bytes -------------------------------------------------------------------------


BROKEN_BYTES = rss(
    "<item><title>Bie\xff\xfegun \x00 statement\x00</title><link>https://www.example.org/a</link>"
    "<author>a@example.org (Ned\x00 Price)</author><category>Media\x00 Note</category>"
    "<description>Envoy \xc3 Biegun\x00 met \x80\x81 envoys.</description></item>"
    + item("Biegun good", "https://www.example.org/good", "Envoy Biegun"),
    channel="<language>en\x00</language>",
).replace(b"\xc3\xbf\xc3\xbe", b"\xff\xfe")  # invalid UTF-8 on purpose, not its encoding


def test_invalid_utf8_and_nul_bytes_leave_no_control_characters_in_the_text() -> None:
    docs = documents(parse_feed(BROKEN_BYTES))
    assert {d.url for d in docs} >= {"https://www.example.org/good"}
    for doc in docs:
        for field, value in text_fields(doc).items():
            assert not stray_controls(field, value), (field, value)
    page = b"<html><body><article><h1>Bie\xffgun\x00</h1><p>Envoy\x00 Biegun \xc3</p></article>"
    for charset in ("utf-8", "iso-8859-1", None):
        content_type = f"text/html; charset={charset}" if charset else None
        [doc] = documents(extract_releases(page, PAGE_URL, ArticleSelectors(), content_type))
        for field, value in text_fields(doc).items():
            assert not stray_controls(field, value), (charset, field, value)


NUL_LINK = rss(
    item("Biegun nul link", "https://www.example.org/a\x00b", "Biegun")
    + item("Biegun good", "https://www.example.org/good", "Envoy Biegun"),
    channel="<language>en\x00</language>",
)


def test_nul_bytes_in_links_and_language_never_reach_a_document() -> None:
    docs = documents(parse_feed(NUL_LINK))
    assert "https://www.example.org/good" in {d.url for d in docs}
    for doc in docs:
        assert "\x00" not in doc.url and "\x00" not in (doc.language or "")


def test_a_feed_with_nul_bytes_is_stored_on_every_backend(
    store: Store, request: pytest.FixtureRequest
) -> None:
    docs = documents(parse_feed(BROKEN_BYTES) + parse_feed(NUL_LINK))
    changes = store.record_poll("hostile", docs, now=datetime.now(UTC), match=rules().match)
    assert "https://www.example.org/good" in {c.document.url for c in changes}
    assert all(c.change == "new" for c in changes)


# -- size ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_megabyte_titles_are_capped_everywhere() -> None:
    run = isolated("case_huge_title", timeout=120)
    result = run["result"]
    assert len(result["titles"]) == 3 and max(result["titles"]) <= 1000, run
    assert result["longest_email_line"] <= 998, run  # RFC 5322 line limit
    assert 0 < result["slack"] < 10_000, run
    assert run["peak_mb"] < 400, run
    assert run["seconds"] < 60, run


@pytest.mark.slow
def test_a_feed_of_100000_items_parses_in_bounded_memory() -> None:
    run = isolated("case_many_items", timeout=400)
    assert run["result"] == {"items": 100_000, "documents": 100_000}, run
    # A 4 MB feed (under the 10 MB fetch cap); measured ~140 MB and ~35 s on a loaded
    # 2-core machine.
    assert run["peak_mb"] < 700, run
    assert run["seconds"] < 240, run


@pytest.mark.slow
def test_100000_nested_elements_neither_recurse_nor_lose_the_text_around_them() -> None:
    run = isolated("case_deep_nesting", timeout=300)
    result = run["result"]
    assert result["page_title"] == "Biegun in depth", run
    assert "Envoy Biegun spoke first." in result["page_body_start"], run
    assert result["fragment_start"].startswith("Envoy Biegun spoke first."), run
    assert "Biegun deep" in result["feed_titles"], run
    assert run["peak_mb"] < 600, run
    assert run["seconds"] < 120, run


# -- headers and chat markup ----------------------------------------------------------------

FORGED = "\r\nBcc: victim@evil.example\r\nX-Injected: yes\r\n\r\n<html>forged body"


def _hostile_feed_documents() -> list[Document]:
    title = f"Biegun visit{CONTROL}{FORGED}"
    author = f"Ned Price{FORGED}"
    kind = f"Media Note{FORGED}"
    feed = rss(
        "<item>"
        f"<title>{xml_text(title)}</title><link>https://www.example.org/a</link>"
        f"<dc:creator>{xml_text(author)}</dc:creator><category>{xml_text(kind)}</category>"
        f"<description>{xml_text('Envoy Biegun met them.' + FORGED)}</description>"
        "</item>"
    )
    source = RssSource(RssOptions(id="hostile", url=FEED_URL, kind_from_category=True))
    docs = documents(source.parse(feed, FEED_URL, "application/rss+xml"))
    # Stored payloads may also come from elsewhere (older versions, other sources): the
    # renderer must hold even when a field was never cleaned.
    raw = docs[0].model_copy(update={"title": title, "authors": [author], "kind": kind})
    return [*docs, raw]


def test_control_characters_in_fetched_fields_never_reach_an_email_header(
    tmp_path: Path,
) -> None:
    rule_set = rules(name=f"Biegun{FORGED}")
    sent = []
    for doc in _hostile_feed_documents():
        found = alerts(doc, rule_set)
        assert found
        for batch in ([found[0]], found + found):  # one alert, and a digest
            rendered = email_message(batch, tmp_path)
            raw = bytes(rendered)
            head = raw.split(b"\n\n", 1)[0]
            names = [line.split(b":", 1)[0] for line in head.split(b"\n") if line[:1] not in b" \t"]
            assert sorted(names) == sorted(
                [
                    b"Subject",
                    b"From",
                    b"To",
                    b"Message-ID",
                    b"Date",
                    b"MIME-Version",
                    b"Content-Type",
                ]
            ), head
            message = message_from_bytes(raw, policy=policy.default)
            assert message["Bcc"] is None and message["X-Injected"] is None
            assert not set(str(message["Subject"])) & set(CONTROL), message["Subject"]
            sent.append(rendered)
    # Through a real SMTP session too: the envelope and the delivered headers stay ours.
    smtp = SmtpServer().start()
    try:
        with smtplib.SMTP("127.0.0.1", smtp.port, timeout=10) as client:
            for rendered in sent:
                client.send_message(rendered)  # as the email channel sends
    finally:
        smtp.stop()
    assert len(smtp.inbox.messages) == len(sent)
    for recipients, message in smtp.inbox.messages:
        assert recipients == ["analysts@example.org"]
        assert message["Bcc"] is None and message["X-Injected"] is None


def _links(slack: str) -> list[str]:
    return re.findall(r"<([^<>]*)>", slack)


def test_fetched_text_cannot_ping_or_add_links_in_a_slack_message() -> None:
    spoof = "<!channel> <!here> <!everyone> <@U024BE7LH> <#C024BE7LR> <https://evil.example|Read>"
    title = f"Biegun {spoof}{CONTROL}{FORGED}"
    feed = rss(item(xml_text(title), description=xml_text(f"Envoy Biegun said {spoof}{FORGED}")))
    docs = documents(parse_feed(feed))
    raw = docs[0].model_copy(update={"title": title})
    for doc in [*docs, raw]:
        found = alerts(doc)
        text = slack_text(found)
        # The only markup is ours: one link, to the document, titled with escaped text.
        assert _links(text) == [f"{doc.url}|{_links(text)[0].split('|', 1)[1]}"], text
        assert "<!" not in text and "<@" not in text and "<#" not in text, text
        assert "evil.example|" not in text.replace("&lt;https://evil.example|", ""), text
        if doc is not raw:  # what the pipeline stores: line breaks only between our lines
            assert not set(text) & (set(CONTROL) - {"\n"}), repr(text)
            assert len(text.split("\n")) == 2, repr(text)


HOSTILE_LINKS = {
    "slack": "https://www.example.org/a>b<!channel><https://evil.example|Click to read>",
    "javascript": "javascript:alert(document.cookie)",
    "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file": "file:///etc/passwd",
    "vbscript": "vbscript:msgbox(1)",
}


def test_a_hostile_link_cannot_break_out_of_the_slack_link_or_the_email_href(
    tmp_path: Path,
) -> None:
    for name, link in HOSTILE_LINKS.items():
        docs = documents(parse_feed(rss(item("Biegun link", escape(link), "Envoy Biegun"))))
        for doc in docs:
            assert doc.url.startswith(("http://", "https://")), (name, doc.url)
            found = alerts(doc)
            text = slack_text(found)
            assert len(_links(text)) == 1 and "<!channel>" not in text, (name, text)
            html = message_from_bytes(email(found, tmp_path), policy=policy.default)
            body = html.get_body(("html",))
            assert body is not None
            hrefs = re.findall(r'href="([^"]*)"', body.get_content())
            assert all(h.startswith(("http://", "https://")) for h in hrefs), (name, hrefs)


def test_scripts_in_fetched_html_never_run_or_reach_an_email(tmp_path: Path) -> None:
    hostile = (
        "<p>Envoy Biegun met them.</p><script>alert('feed')</script>"
        "<img src=x onerror=\"alert('img')\"><iframe src='javascript:alert(1)'></iframe>"
        "<a href=\"javascript:alert('link')\">read more</a><svg onload=alert(1)><p>x</p></svg>"
        "<style>body{background:url(javascript:alert(1))}</style>"
    )
    feed_docs = documents(
        parse_feed(
            rss(
                item(
                    "Biegun <script>alert(1)</script>", "https://www.example.org/a", escape(hostile)
                )
            )
        )
    )
    page = (
        "<html><head><script>alert('head')</script>"
        '<link rel="canonical" href="javascript:alert(1)"></head>'
        "<body onload=\"alert('body')\"><article><h1>Biegun page</h1>"
        f"{hostile}</article></body></html>"
    )
    page_docs = documents(extract_releases(page.encode(), PAGE_URL, ArticleSelectors()))
    assert [d.url for d in page_docs] == [PAGE_URL]
    for doc in feed_docs + page_docs:
        assert "alert(" not in doc.body and "javascript:" not in doc.body, doc.body
        found = alerts(doc)
        message = message_from_bytes(email(found, tmp_path), policy=policy.default)
        html_part = message.get_body(("html",))
        assert html_part is not None
        html = html_part.get_content()
        assert "<script" not in html and "<img" not in html and "<iframe" not in html
        assert "javascript:" not in html and "onerror" not in html.replace("onerror=&#34;", "")


def test_non_http_links_are_neither_fetched_nor_stored_nor_alerted(
    server: FixtureServer, tmp_path: Path, settings: Settings
) -> None:
    entries = "".join(
        item(f"Biegun via {name}", escape(link), "Envoy Biegun")
        for name, link in HOSTILE_LINKS.items()
        if name != "slack"
    )
    good = server.url("/good")
    server.routes["/good"] = Route(
        body=b"<html><body><article><h1>Biegun good</h1><p>Envoy Biegun met them.</p>"
        b"</article></body></html>"
    )
    server.routes["/feed"] = Route(
        body=rss(entries + item("Biegun good", good, "Envoy Biegun")),
        content_type="application/rss+xml",
    )
    # The good article is on loopback: a source must opt in to follow links there.
    opt_in = {"allow_private": True} if "allow_private" in RssOptions.model_fields else {}
    source = RssOptions(id="hostile", url=server.url("/feed"), follow_links=True, **opt_in)
    store = Store.open(settings.database_url)
    rule_set = RuleSet(
        [Rule("biegun", "Biegun", "biegun", parse_query("biegun"), notify=("mail",))]
    )
    try:
        [first] = poll([source], store, settings, rules=rule_set)
        queued = store.outbox.claim_due(datetime.now(UTC), 60, {})
        urls = {a.payload["document"]["url"] for a in queued}
        assert good in urls and all(u.startswith(("http://", "https://")) for u in urls), urls
        # Only the feed was requested: nothing tried to "fetch" the other schemes, and a
        # link that can never be fetched is given up on, not retried at every poll.
        assert {r.path for r in server.requests} == {"/feed", "/good"}
        assert not any("will retry" in e for e in first.item_errors), first.item_errors
        [second] = poll([source], store, settings, rules=rule_set)
        assert second.status == "not_modified", second
    finally:
        store.close()


def test_a_listing_page_with_script_links_yields_no_script_items() -> None:
    page = (
        b"<html><body><ul>"
        b'<li class="r"><a href="javascript:alert(1)">Biegun one</a></li>'
        b'<li class="r"><a href="/releases/two">Biegun two</a></li>'
        b'<li class="r"><a href="  JaVaScRiPt:alert(1)">Biegun three</a></li>'
        b"</ul></body></html>"
    )
    source = PageSource(
        PageOptions(id="hostile", type="page", url=PAGE_URL, listing=ListingSelectors(item="li.r"))
    )
    raws = source.parse(page, PAGE_URL, "text/html")
    good = [r for r in raws if r.url.startswith("https://")]
    assert [r.title for r in good] == ["Biegun two"]
