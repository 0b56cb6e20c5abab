"""`monitor rules list` and `monitor rules test`."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli import PROGRESS_THRESHOLD, State, handles_errors, main
from monitor.config import Config
from monitor.documents_io import documents_from_file
from monitor.errors import MonitorError, StoreError
from monitor.models import Document
from monitor.report import table
from monitor.rules import Rule, RuleSet, parse_query
from monitor.rules.learn import THRESHOLD
from monitor.rules.matcher import excluded_hits
from monitor.rules.prefilter import required
from monitor.rules.quality import RuleScore, load_labelled, score_rule
from monitor.rules.query import QuerySyntaxError
from monitor.sources.base import parse_interval

if TYPE_CHECKING:  # SQLAlchemy, for the type only: `rules test --file` does without it
    from monitor.store import Store


@main.group()
def rules() -> None:
    """List watch rules, or test one against stored documents or a file."""


@rules.command("list")
@click.pass_obj
@handles_errors
def rules_list(state: State) -> None:
    """Show every rule with its filters and where its alerts go."""
    config = state.config()
    if not len(config.rules):
        click.echo(f"No rules in {config.directory / 'rules.yaml'}.")
        return
    rows = [
        [
            rule.id,
            ", ".join(rule.notify) or "-",
            _filters(rule) or "all documents",
            f"{rule.name}: {' '.join(rule.query.split())}",
        ]
        for rule in config.rules.rules
    ]
    # Widths fit the content: a filter cut short would hide which sources a rule watches.
    click.echo(table(["RULE", "NOTIFY", "APPLIES TO", "NAME: QUERY"], rows, [None, None, None]))


def _parse_age(text: str) -> timedelta:
    try:
        seconds = parse_interval(text) if text[-1:] != "d" else int(text[:-1]) * 86400
    except (ValueError, IndexError):
        raise click.BadParameter(f"'{text}' is not an age; use e.g. 12h, 30d") from None
    return timedelta(seconds=seconds)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _filters(rule: Rule) -> str:
    parts = [
        f"sources {', '.join(rule.sources)}" if rule.sources else "",
        f"kinds {', '.join(rule.kinds)}" if rule.kinds else "",
    ]
    return "; ".join(part for part in parts if part)


@rules.command("test")
@click.argument("rule_id", required=False)
@click.option("--query", "query_text", metavar="Q", help="Test this query instead of a rule.")
@click.option("--since", metavar="AGE", help="Only documents published in the last AGE (30d).")
@click.option(
    "--source",
    "source_id",
    metavar="ID",
    help="Only this source's documents (with --file: read the file as this source's).",
)
@click.option(
    "--file",
    "file_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Test against a file (.xml/.rss/.atom feed, .html page, .txt/.md, .json as "
    "`monitor show` prints it).",
)
@click.option(
    "--ignore-filters",
    is_flag=True,
    help="Test the rule's query alone, without its sources/kinds filters.",
)
@click.option(
    "--why",
    is_flag=True,
    help="Also show hits the rule's exclude: ignores, and why, and its classifier's score.",
)
@click.option(
    "--labels",
    is_flag=True,
    help="Precision and recall against the feedback on its alerts and the labelled sets.",
)
@click.pass_obj
def rules_test(
    state: State,
    rule_id: str | None,
    query_text: str | None,
    since: str | None,
    source_id: str | None,
    file_path: Path | None,
    ignore_filters: bool,
    why: bool,
    labels: bool,
) -> None:
    """Which documents a rule matches, with the sentence; exit 0 if any, 1 if none, 2 on error.

    With --labels: how well it does on labelled documents (exit 0, or 2 on error).
    """
    if labels:
        try:
            _labels_report(state, rule_id, query_text, ignore_filters)
        except MonitorError as err:
            click.echo(str(err), err=True)
            sys.exit(2)
        sys.exit(0)
    try:
        count, notes = _rules_test(
            state, rule_id, query_text, since, source_id, file_path, ignore_filters, why
        )
    except MonitorError as err:
        click.echo(str(err), err=True)
        sys.exit(2)
    click.echo(f"\n{_plural(count, 'matching document')}.")
    for note in notes:
        click.echo(note)
    sys.exit(0 if count else 1)


def _find_rule(config: Config, rule_id: str | None, query_text: str | None) -> Rule:
    if bool(rule_id) == bool(query_text):
        raise MonitorError("give a RULE_ID or --query 'Q' (one of them)")
    if query_text:
        try:
            ast = parse_query(query_text, config.rules.lists)
        except QuerySyntaxError as err:
            raise MonitorError(f"query: {err}") from None
        return Rule(id="query", name="--query", query=query_text, ast=ast)
    found = config.rules.get(rule_id or "")
    if found is None:
        ids = sorted(r.id for r in config.rules.rules)
        close = difflib.get_close_matches(rule_id or "", ids, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        known = f"; rules: {', '.join(ids)}" if ids else f"; {config.directory}/rules.yaml has none"
        raise MonitorError(f"No rule with id '{rule_id}'{hint}{known}")
    return found


def _rules_test(
    state: State,
    rule_id: str | None,
    query_text: str | None,
    since: str | None,
    source_id: str | None,
    file_path: Path | None,
    ignore_filters: bool,
    why: bool = False,
) -> tuple[int, list[str]]:
    """(matching documents, notes on what was searched and what the filters left out)."""
    config = _learned_config(state)
    rule = _find_rule(config, rule_id, query_text)
    # The query alone is matched; the filters are applied here, to count what they exclude.
    ruleset = RuleSet([replace(rule, sources=(), kinds=())], config.rules.lists)
    query_alone = RuleSet([replace(rule, sources=(), kinds=(), classifier=None)], ruleset.lists)
    notes: list[str] = []
    total = None
    if file_path is not None:
        file_docs = documents_from_file(file_path)
        if source_id:
            config.sources.get(source_id)  # an unknown id is an error that suggests one
            file_docs = [d.model_copy(update={"source_id": source_id}) for d in file_docs]
        docs: Iterable[Document] = file_docs
        notes.append(f"Searched {_plural(len(file_docs), 'document')} in {file_path}.")
    else:
        store = state.store()
        if source_id:
            state.check_source(store, source_id)
        cutoff = datetime.now(UTC) - _parse_age(since) if since else None
        stored = store.count_documents()
        total = store.count_documents(cutoff, source_id)
        # The word index reads only the documents holding the words the query needs; the
        # matcher decides on those (the same matches as reading them all).
        ids = store.candidate_ids(required(rule.ast))
        docs = store.iter_documents(cutoff, source_id, ids=ids)
        notes.append(_searched(store, stored, total, cutoff, since, source_id, state))
        if ids is not None:
            total = min(total, len(ids))
    bold = sys.stdout.isatty()
    count = excluded = 0
    excluded_from_file = False

    def show(doc: Document) -> None:
        nonlocal count, excluded, excluded_from_file
        matches = ruleset.match(doc)
        reasons = (  # --why: the hits `exclude:` ignored, and why
            "".join(f"  excluded: {e.describe()}\n" for e in excluded_hits(rule, doc))
            if why
            else ""
        )
        if why and rule.classifier is not None:
            if matches or query_alone.matching_rules(doc):
                reasons += _classifier_line(rule.classifier.score(doc))
        if not matches:
            if reasons and rule.classifier is not None and query_alone.matching_rules(doc):
                click.echo(f"{doc.title}\n  not matched: the classifier turned it down\n{reasons}")
            elif reasons:
                click.echo(f"{doc.title}\n  not matched: every hit is excluded\n{reasons}")
            return
        if not ignore_filters and not rule.applies_to(doc):
            excluded += 1
            excluded_from_file |= file_path is not None and doc.source_id == "file"
            return
        count += 1
        m = matches[0]
        marked = m.marked("\033[1m", "\033[0m") if bold else m.marked()
        when = doc.published_at.strftime("%Y-%m-%d %H:%M UTC") if doc.published_at else "-"
        click.echo(
            f"{doc.title}\n  {doc.source_id} · {doc.kind or '-'} · {when} · {doc.url}\n"
            f"  {m.field}: {marked}\n{reasons}"
        )

    if total is not None and total > PROGRESS_THRESHOLD:
        with click.progressbar(docs, length=total, label="Testing", file=sys.stderr) as bar:
            for doc in bar:
                show(doc)
    else:
        for doc in docs:
            show(doc)
    if excluded and excluded_from_file and rule.sources:
        notes.append(
            f"{_plural(excluded, 'document')} in the file match the query, but rule "
            f"'{rule.id}' only applies to sources {', '.join(rule.sources)} and documents "
            "read from a file have no source: --ignore-filters tests the query alone "
            "(or --source ID reads the file as that source's)."
        )
    elif excluded:
        notes.append(
            f"{_plural(excluded, 'more document')} match the query but not the rule's "
            f"filters ({_filters(rule)}): --ignore-filters tests the query alone."
        )
    return count, notes


def _searched(
    store: Store,
    stored: int,
    searched: int,
    cutoff: datetime | None,
    since: str | None,
    source_id: str | None,
    state: State,
) -> str:
    """What part of the store was searched, so that '0 matching' has a visible reason."""
    if not stored:
        return (
            f"No documents are stored in {state.database()} yet: "
            "`monitor once` polls the sources, or `monitor demo` stores recorded releases "
            "to try rules on (it says how)."
        )
    if cutoff is None and source_id is None:
        return f"Searched all {_plural(stored, 'stored document')}."
    scope = []
    if source_id:
        scope.append(f"from source '{source_id}'")
    if cutoff is not None:
        scope.append(f"published since {cutoff:%Y-%m-%d %H:%M} UTC (--since {since})")
    line = f"Searched {searched} of {_plural(stored, 'stored document')}: {', '.join(scope)}"
    if cutoff is not None:
        older = store.count_documents(None, source_id) - searched
        newest = store.newest_date(source_id)
        if older and newest is not None:
            line += f"; {older} {'is' if older == 1 else 'are'} older (the newest was published "
            line += f"{newest:%Y-%m-%d})"
    return line + "."


def _classifier_line(score: float) -> str:
    verdict = "kept" if score >= THRESHOLD else "turned down"
    return f"  classifier: score {score:.2f} ({verdict}; it keeps {THRESHOLD:.2f} and above)\n"


def _learned_config(state: State) -> Config:
    """The config, with classifiers trained for its `learn: true` rules."""
    config = state.config()
    config.rules = state.learned(config.rules)
    return config


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _labels_report(
    state: State, rule_id: str | None, query_text: str | None, ignore_filters: bool
) -> None:
    """`rules test RULE --labels`: P/R/F1 on the feedback and on the labelled sets."""
    config = _learned_config(state)
    rule = _find_rule(config, rule_id, query_text)
    if ignore_filters:
        rule = replace(rule, sources=(), kinds=())
    forms = [("query", RuleSet([replace(rule, classifier=None)], config.rules.lists))]
    if rule.classifier is not None:
        forms.append(("query + classifier", RuleSet([rule], config.rules.lists)))
    sets: list[tuple[str, list[tuple[Document, bool]], bool]] = []  # name, items, held out
    store = state.existing_store()
    votes: dict[tuple[str, str], bool] = {}
    if store is not None:
        try:
            votes = store.feedback.labels(rule.id)
        except StoreError:
            votes = {}  # a database from before feedback existed
    voted = [(store.document(d), useful) for (_, d), useful in votes.items()] if store else []
    found = [(doc, useful) for doc, useful in voted if doc is not None]
    sets.append((f"feedback ({_plural(len(votes), 'vote')})", found, False))
    for path in config.rules.labelled:
        items = [(i.document, rule.id in i.expect) for i in load_labelled(path)]
        sets.append((_shown_path(path), items, False))
    for path in config.rules.heldout:
        items = [(i.document, rule.id in i.expect) for i in load_labelled(path)]
        sets.append((f"{_shown_path(path)} (held out)", items, True))
    rows = []
    mistakes: list[tuple[str, str, Document]] = []
    for name, items, held_out in sets:
        for form, compiled in forms:
            s = score_rule(compiled, rule.id, items)
            rows.append(
                [name, form, str(s.documents), str(s.tp), str(s.fp), str(s.fn), str(s.tn)]
                + _figures(s)
            )
            if form == forms[-1][0] and not held_out:  # held-out sets: figures only
                mistakes += [(kind, name, doc) for kind, doc in s.mistakes or []]
    click.echo(f"Rule '{rule.id}' on labelled documents (a document counts once per set):\n")
    header = ["SET", "FORM", "DOCS", "TP", "FP", "FN", "TN", "P", "R", "F1"]
    click.echo(table(header, rows, [None, None, None, None, None, None, None, None, None]))
    if not config.rules.labelled and not config.rules.heldout and config.labelled_empty:
        click.echo(f"\nNo labelled sets: {config.labelled_empty_note()}.")
    elif not config.rules.labelled and not config.rules.heldout:
        click.echo(
            f"\nNo labelled sets: name them under 'labelled:' in {config.directory}/rules.yaml."
        )
    if mistakes:
        click.echo(f"\nMistakes ({forms[-1][0]}; held-out sets are never shown per document):")
        for kind, name, doc in mistakes:
            where = name.split(" (")[0]
            click.echo(f"  {kind:14s}  {where}  {doc.id}  {' '.join(doc.title.split())[:80]}")
    for status in state.learn_statuses:
        if status.rule_id == rule.id:
            click.echo(f"\n{status.describe()}")
    if rule.classifier is not None:
        click.echo(
            "The classifier was trained on the tuning sets and the feedback: only the held-out "
            "figures say how it generalises."
        )


def _figures(s: RuleScore) -> list[str]:
    """P, R and F1, or '-' where a figure is undefined (nothing matched, nothing expected)."""
    p = f"{s.precision:.2f}" if s.tp + s.fp else "-"
    r = f"{s.recall:.2f}" if s.tp + s.fn else "-"
    f1 = f"{s.f1:.2f}" if s.tp + s.fp and s.tp + s.fn else "-"
    return [p, r, f1]
