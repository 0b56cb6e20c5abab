"""`monitor rules list` and `monitor rules test`."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from monitor.cli import PROGRESS_THRESHOLD, State, handles_errors, main
from monitor.documents_io import documents_from_file
from monitor.errors import ConfigError, MonitorError
from monitor.models import Document
from monitor.report import table
from monitor.rules import Rule, RuleSet, parse_query
from monitor.rules.matcher import excluded_hits
from monitor.sources.base import parse_interval


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
            "; ".join(
                part
                for part in (
                    f"sources {', '.join(rule.sources)}" if rule.sources else "",
                    f"kinds {', '.join(rule.kinds)}" if rule.kinds else "",
                )
                if part
            )
            or "all documents",
            f"{rule.name}: {' '.join(rule.query.split())}",
        ]
        for rule in config.rules.rules
    ]
    click.echo(table(["RULE", "NOTIFY", "APPLIES TO", "NAME: QUERY"], rows, [18, 28, 18]))


def _parse_age(text: str) -> timedelta:
    try:
        seconds = parse_interval(text) if text[-1:] != "d" else int(text[:-1]) * 86400
    except (ValueError, IndexError):
        raise click.BadParameter(f"'{text}' is not an age; use e.g. 12h, 30d") from None
    return timedelta(seconds=seconds)


@rules.command("test")
@click.argument("rule_id", required=False)
@click.option("--query", "query_text", metavar="Q", help="Test this query instead of a rule.")
@click.option("--since", metavar="AGE", help="Only documents published in the last AGE (30d).")
@click.option("--source", "source_id", metavar="ID", help="Only this source's documents.")
@click.option(
    "--file",
    "file_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Test against a file (.xml/.rss/.atom feed, .html page, .txt/.md, .json).",
)
@click.option("--why", is_flag=True, help="Also show hits the rule's exclude: ignores, and why.")
@click.pass_obj
def rules_test(
    state: State,
    rule_id: str | None,
    query_text: str | None,
    since: str | None,
    source_id: str | None,
    file_path: Path | None,
    why: bool,
) -> None:
    """Which documents a rule matches, with the sentence; exit 0 if any, 1 if none, 2 on error."""
    try:
        count = _rules_test(state, rule_id, query_text, since, source_id, file_path, why)
    except MonitorError as err:
        click.echo(f"{type(err).__name__}: {err}", err=True)
        sys.exit(2)
    click.echo(f"\n{count} matching document{'s' if count != 1 else ''}.")
    sys.exit(0 if count else 1)


def _rules_test(
    state: State,
    rule_id: str | None,
    query_text: str | None,
    since: str | None,
    source_id: str | None,
    file_path: Path | None,
    why: bool = False,
) -> int:
    if bool(rule_id) == bool(query_text):
        raise MonitorError("give a RULE_ID or --query 'Q' (one of them)")
    config = state.config()
    if query_text:
        rule = Rule(
            id="query",
            name="--query",
            query=query_text,
            ast=parse_query(query_text, config.rules.lists),
        )
    else:
        found = config.rules.get(rule_id or "")
        if found is None:
            ids = [r.id for r in config.rules.rules]
            close = difflib.get_close_matches(rule_id or "", ids, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"No rule with id '{rule_id}'{hint}")
        rule = found
    ruleset = RuleSet([rule], config.rules.lists)
    if file_path is not None:
        docs: Iterable[Document] = documents_from_file(file_path)
        total = None
    else:
        store = state.store()
        cutoff = datetime.now(UTC) - _parse_age(since) if since else None
        total = store.count_documents(cutoff, source_id)
        docs = store.iter_documents(cutoff, source_id)
    bold = sys.stdout.isatty()
    count = 0

    def show(doc: Document) -> None:
        nonlocal count
        matches = ruleset.match(doc)
        excluded = (
            "".join(f"  excluded: {e.describe()}\n" for e in excluded_hits(rule, doc))
            if why
            else ""
        )
        if not matches:
            if excluded:
                click.echo(f"{doc.title}\n  not matched: every hit is excluded\n{excluded}")
            return
        count += 1
        m = matches[0]
        marked = m.marked("\033[1m", "\033[0m") if bold else m.marked()
        when = doc.published_at.strftime("%Y-%m-%d %H:%M UTC") if doc.published_at else "-"
        click.echo(
            f"{doc.title}\n  {doc.source_id} · {doc.kind or '-'} · {when} · {doc.url}\n"
            f"  {m.field}: {marked}\n{excluded}"
        )

    if total is not None and total > PROGRESS_THRESHOLD:
        with click.progressbar(docs, length=total, label="Testing", file=sys.stderr) as bar:
            for doc in bar:
                show(doc)
    else:
        for doc in docs:
            show(doc)
    return count
