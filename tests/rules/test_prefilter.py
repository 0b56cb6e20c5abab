"""The backtest's pre-filter: the word index never hides a document the matcher would match."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.models import Document
from monitor.rules import RuleSet, parse_query
from monitor.rules.matcher import Rule
from monitor.rules.prefilter import AllOf, AnyOf, Term, required
from monitor.store import Store
from monitor.store.store import _MIGRATIONS
from monitor.store.textindex import fts5_query, tsquery

NOW = datetime(2026, 12, 1, tzinfo=UTC)

# Sentences with the cases that trip indexes: truncations, dotted and hyphenated names,
# accents, non-Latin scripts, punctuation inside words, sentence and paragraph breaks.
SENTENCES = [
    "The Treasury imposed sanctions on three vessels.",
    "Sanctioned entities include Kim Jong Un's relatives.",
    "The U.S.-ROK Working Group met in Seoul.",
    "US ROK talks resumed; the envoy said nothing.",
    "Müller and Søren Ørsted visited Zürich.",
    "Muller met Soren in Zurich.",
    "통일부, 남북 철도 연결 사업 발표.",
    "Special Representative Biegun arrived.",
    "The special envoy is a representative of the State Department.",
    "Were sanctions lifted? No.",
    "Officials eased the embargo.\n\nA new paragraph begins with lifted restrictions.",
    "Mr. Pompeo spoke. E. Biegun listened.",
    "Sanction-related designations (OFAC) were renewed.",
    "Denuclearization talks stalled after the missile launch.",
    "The ship Wise Honest was seized.",
    "Nothing relevant happens here at all.",
    "Ελληνικά νέα για κυρώσεις.",
    "The e.g. abbreviation and 3.5 percent figures.",
    "Sanctionable conduct was not found.",
    "The representative's special mission.",
]
TITLES = ["Press release", "Sanctions update", "Biegun travel", "Müller visit", "Weekly note"]
AUTHORS = [[], ["Mike Pompeo"], ["Søren Ørsted", "Ann Lee"], ["Stephen E. Biegun"]]

QUERIES = [
    "sanction*",
    "sanction* NEAR/5 (lift* OR eas*)",
    '"special representative"',
    '"special representative" AND NOT envoy',
    "sanctions SENT lifted",
    "embargo PARA lifted",
    "embargo SENT lifted",
    "title:sanctions",
    "title:biegun OR author:pompeo",
    "author:søren",
    "muller OR müller",
    "zürich",
    "us-rok",
    "U.S. AND rok",
    "통일부",
    "κυρώσεις",
    "NOT sanction*",
    "envoy AND NOT sanction*",
    '"wise honest" OR (ship NEAR/3 seized)',
    "(sanction* OR embargo) AND (lifted OR eased OR renewed)",
    "@names",
    "@names AND sanction*",
    "denucleari* NEAR/10 missil*",
    "e.g.",
    "3.5",
    "representative* SENT special",
    "mr AND pompeo",
]
LISTS = {"names": parse_query("biegun OR pompeo OR \"kim jong un\" OR ørsted")}


def _documents(count: int) -> list[Document]:
    rng = random.Random(13)
    docs = []
    for n in range(count):
        body = " ".join(rng.sample(SENTENCES, rng.randint(1, 5)))
        docs.append(
            Document(
                id=f"doc-{n:04d}",
                source_id=rng.choice(["state", "treasury"]),
                url=f"https://e.org/{n}",
                title=rng.choice(TITLES),
                body=body,
                authors=rng.choice(AUTHORS),
                content_hash=f"h{n}",
                fetched_at=NOW,
            )
        )
    return docs


def _matched(ruleset: RuleSet, docs: list[Document]) -> set[str]:
    return {d.id for d in docs if ruleset.matching_rules(d)}


@pytest.fixture
def stored(store: Store) -> tuple[Store, list[Document]]:
    docs = _documents(300)
    store.record_poll("state", docs[:200], now=NOW)
    store.record_poll("treasury", docs[200:], now=NOW)
    # A second version replaces the first in the index (same transaction as the document).
    changed = docs[0].model_copy(
        update={"body": "Sanctions were lifted today.", "content_hash": "x"}
    )
    store.record_poll("state", [changed], now=NOW)
    docs[0] = changed
    return store, docs


def test_the_index_finds_every_document_the_matcher_matches(
    stored: tuple[Store, list[Document]],
) -> None:
    store, docs = stored
    wrong = []
    for query in QUERIES:  # one store for all the queries: building it is the slow part
        rule = Rule(id="r", name="r", query=query, ast=parse_query(query, LISTS))
        ruleset = RuleSet([rule], LISTS)
        everything = _matched(ruleset, docs)
        ids = store.candidate_ids(required(rule.ast))
        found = _matched(ruleset, list(store.iter_documents(ids=ids)))
        if found != everything:
            wrong.append(f"{query}: {sorted(everything - found)} missed")
        elif ids is not None and len(ids) == len(docs) and len(everything) < len(docs):
            wrong.append(f"{query}: the index left no document out")
    assert not wrong


def test_an_updated_document_is_found_by_its_new_words_only(
    stored: tuple[Store, list[Document]],
) -> None:
    store, docs = stored
    ids = store.candidate_ids(required(parse_query("lifted AND today")))
    assert ids == ["doc-0000"]


def test_queries_that_any_document_may_match_read_every_document() -> None:
    assert required(parse_query("NOT sanction*")) is None
    assert required(parse_query("envoy OR NOT sanction*")) is None


def test_the_condition_keeps_what_must_be_there() -> None:
    condition = required(parse_query('"special representative" NEAR/5 title:biegun AND NOT x'))
    both = ("title", "body")
    assert condition == AllOf(
        (
            Term("special", False, both),
            Term("representative", False, both),
            Term("biegun", False, ("title",)),
        )
    )
    assert required(parse_query("sanction* OR Müller")) == AnyOf(
        (Term("sanction", True, both), Term("muller", False, both))
    )


def test_index_queries_quote_every_word() -> None:
    condition = AnyOf((Term("and", False, ("title",)), Term("sø", True, ("body", "author"))))
    assert fts5_query(condition) == '(({title} : "and") OR ({body author} : "sø"*))'
    assert tsquery(condition) == "('and':A | 'sø':*BC)"


def test_the_migration_indexes_the_documents_already_stored(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config as AlembicConfig

    url = f"sqlite:///{tmp_path}/monitor.db"
    store = Store.open(url)
    docs = _documents(30)
    store.record_poll("state", docs, now=NOW)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with store.engine.begin() as conn:  # back to the schema before the index
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    store.close()
    store = Store.open(url)  # upgrading builds the index from the stored documents
    ruleset = RuleSet([Rule(id="r", name="r", query="sanction*", ast=parse_query("sanction*"))])
    ids = store.candidate_ids(required(parse_query("sanction*")))
    assert ids is not None and _matched(ruleset, docs) <= set(ids)
    assert 0 < len(ids) < len(docs)
    store.close()
