"""Plain-text tables for the CLI: what a poll found, what the store holds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.models import Match, PollResult

if TYPE_CHECKING:  # the worker imports the store (SQLAlchemy); `rules list` needs neither
    from monitor.alerts.worker import Delivery


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _cut(text: str | None, width: int) -> str:
    text = text or "-"
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: list[str], rows: Iterable[list[str]], widths: list[int | None]) -> str:
    """A fixed-width table; the last column, and columns of width None, take what they need."""
    every = [headers, *rows]
    fixed = [
        w if w is not None else max(len(row[i]) for row in every) for i, w in enumerate(widths)
    ]
    return "\n".join(_line(cells, fixed) for cells in every)


def _line(cells: list[str], widths: list[int]) -> str:
    padded = [_cut(c, w).ljust(w) for c, w in zip(cells[:-1], widths, strict=False)]
    return "  ".join([*padded, cells[-1]]).rstrip()


_CHANGE_HEADERS = ["SOURCE", "CHANGE", "KIND", "PUBLISHED (UTC)", "V", "TITLE"]
_CHANGE_WIDTHS = [24, 9, 14, 16, 2]
_SHOWN = ("new", "updated")


def change_lines(result: PollResult, show: tuple[str, ...] = _SHOWN) -> list[str]:
    """One poll's lines of the changes table (the widths are fixed: a poll's lines can be
    rendered as it ends, and its documents let go)."""
    return [
        _line(
            [
                result.source_id,
                c.change,
                c.document.kind or "-",
                _when(c.document.published_at),
                str(c.document.version),
                c.document.title,
            ],
            _CHANGE_WIDTHS,
        )
        for c in result.changes
        if c.change in show
    ]


def changes_report(lines: list[str]) -> str:
    """The changes table of these lines (`change_lines`)."""
    if not lines:
        return "No new or updated documents."
    return "\n".join([_line(_CHANGE_HEADERS, _CHANGE_WIDTHS), *lines])


def changes_table(results: list[PollResult], *, show: tuple[str, ...] = _SHOWN) -> str:
    """New and updated documents of a poll cycle, one line each."""
    return changes_report([line for r in results for line in change_lines(r, show)])


def summary_table(results: list[PollResult]) -> str:
    """One line per source: status, counts, time, and the error if any."""
    rows = []
    for r in results:
        if r.status == "error":
            detail = r.error or "failed"
        elif r.status == "not_modified":
            detail = "not modified (304)"
        else:
            detail = (
                f"{r.items} items: {r.count('new')} new, {r.count('updated')} updated, "
                f"{r.count('unchanged')} unchanged, {r.count('sighting')} seen elsewhere first"
            )
            if r.baseline_note():
                detail += f"; {r.baseline_note()}"
        if r.note:
            detail += f"; {r.note}"
        if r.item_errors:
            detail += f"; {len(r.item_errors)} page(s) failed: " + "; ".join(r.item_errors)
        rows.append([r.source_id, r.status, f"{r.duration:.2f}s", detail])
    return table(["SOURCE", "STATUS", "TIME", "RESULT"], rows, [24, 12, 6])


def documents_table(rows: list[Any]) -> str:
    """Stored documents, one line each, with when they were stored and published."""
    if not rows:
        return "No documents stored."
    body = [
        [
            row.id[:12],
            row.source_id,
            row.kind or "-",
            _when(row.first_seen_at),
            _when(row.published_at),
            str(row.version),
            row.title,
        ]
        for row in rows
    ]
    return table(
        ["ID", "SOURCE", "KIND", "STORED (UTC)", "PUBLISHED (UTC)", "V", "TITLE"],
        body,
        [12, 24, 14, 16, 16, 2],
    )


def matches_report(results: list[PollResult], mark: Callable[[Match], str] | None = None) -> str:
    """Every rule match of a poll cycle: rule, document, and the matching sentence."""
    render = mark or (lambda m: m.marked())
    blocks = []
    for r in results:
        for c in r.changes:
            for m in c.matches:
                update = " (updated document)" if c.change == "updated" else ""
                blocks.append(
                    f"[{m.rule_id}] {m.rule_name}{update}\n"
                    f"  {c.document.title}\n"
                    f"  {r.source_id} · {c.document.kind or '-'} · "
                    f"{_when(c.document.published_at)} UTC · {c.document.url}\n"
                    f"  > {render(m)}"
                )
    if not blocks:
        return "No rule matched."
    return "\n\n".join(blocks)


def deliveries_table(deliveries: list[Delivery]) -> str:
    """One line per message sent (or not): channel, status, what it carried."""
    if not deliveries:
        return "Nothing to deliver."
    rows = []
    for d in deliveries:
        outcome = d.outcome
        detail = getattr(outcome, "error", None) or getattr(outcome, "detail", "")
        what = d.subjects[0] if len(d.subjects) == 1 else f"digest of {len(d.subjects)} alerts"
        rows.append([d.channel, d.status, str(detail), what])
    return table(["CHANNEL", "STATUS", "DETAIL", "ALERT"], rows, [14, 10, 26])
