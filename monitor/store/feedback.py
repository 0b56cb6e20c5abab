"""The feedback half of the store: staff votes on alerts, and the labels they give rules.

One row per vote; an alert's verdict is its latest vote, and a rule's label for a document
is the latest vote on any alert of that rule about that document (an alert goes to each
channel under its own key). A signed link casts at most one vote: its id is unique.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from monitor.alerts.feedback import Verdict, Vote
from monitor.errors import StoreError
from monitor.store.access import EngineAccess, db_reason
from monitor.store.tables import feedback, outbox


class LinkUsed(StoreError):
    """The feedback link has cast its vote already."""


@dataclass(frozen=True)
class FeedbackRow:
    alert_key: str
    rule_id: str
    document_id: str
    verdict: Verdict
    at: datetime
    via: str


@dataclass(frozen=True)
class AlertRef:
    """What feedback needs to know of an alert in the outbox (for the CLI and the web page)."""

    id: int
    key: str
    rule_id: str
    document_id: str
    rule_name: str
    title: str
    channel: str


def _row(r: Any) -> FeedbackRow:
    return FeedbackRow(r.alert_key, r.rule_id, r.document_id, r.verdict, r.at, r.via)


class FeedbackStore(EngineAccess):
    """Recording votes and reading them back as labels."""

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as err:
            if isinstance(err, IntegrityError):
                raise
            raise StoreError(f"database error: {db_reason(err)}") from None

    def record(self, vote: Vote, at: datetime, link: str | None = None) -> FeedbackRow:
        """Store a vote; with `link`, raise LinkUsed if that link has voted already."""
        try:
            with self._begin() as conn:
                conn.execute(
                    feedback.insert().values(
                        alert_key=vote.alert_key,
                        rule_id=vote.rule_id,
                        document_id=vote.document_id,
                        verdict=vote.verdict,
                        at=at,
                        via=vote.via,
                        link=link,
                    )
                )
        except IntegrityError:
            raise LinkUsed("this feedback link has been used already") from None
        v = vote
        return FeedbackRow(v.alert_key, v.rule_id, v.document_id, v.verdict, at, v.via)

    def used(self, link: str) -> FeedbackRow | None:
        """The vote a link cast, if it has."""
        with self._begin() as conn:
            found = conn.execute(select(feedback).where(feedback.c.link == link)).first()
        return _row(found) if found else None

    def verdict(self, alert_key: str) -> FeedbackRow | None:
        """An alert's current verdict: its latest vote."""
        query = (
            select(feedback)
            .where(feedback.c.alert_key == alert_key)
            .order_by(feedback.c.at.desc(), feedback.c.id.desc())
            .limit(1)
        )
        with self._begin() as conn:
            found = conn.execute(query).first()
        return _row(found) if found else None

    def verdicts(self, alert_keys: list[str]) -> dict[str, Verdict]:
        """The current verdict of each of these alerts that has one."""
        if not alert_keys:
            return {}
        query = (
            select(feedback.c.alert_key, feedback.c.verdict)
            .where(feedback.c.alert_key.in_(alert_keys))
            .order_by(feedback.c.at, feedback.c.id)
        )
        with self._begin() as conn:
            rows = conn.execute(query).all()
        return {r.alert_key: r.verdict for r in rows}  # the latest vote wins

    def labels(self, rule_id: str | None = None) -> dict[tuple[str, str], bool]:
        """(rule id, document id) → useful?, from the latest vote on each pair."""
        query = select(feedback).order_by(feedback.c.at, feedback.c.id)
        if rule_id is not None:
            query = query.where(feedback.c.rule_id == rule_id)
        with self._begin() as conn:
            rows = conn.execute(query).all()
        return {(r.rule_id, r.document_id): r.verdict == "useful" for r in rows}

    def alert(self, ref: str) -> AlertRef | None:
        """An outbox alert by its id (as `monitor alerts` lists it), its key, or a key prefix
        of 8+ characters (an email's Message-ID, a webhook's Idempotency-Key)."""
        if ref.isdigit() and len(ref) < 19:  # an id; 19+ digits can only be a key
            where = outbox.c.id == int(ref)
        elif len(ref) >= 8:
            where = outbox.c.idempotency_key.startswith(ref.lower(), autoescape=True)
        else:
            return None
        with self._begin() as conn:
            found = conn.execute(select(outbox).where(where).limit(2)).all()
        if len(found) != 1:
            return None
        r = found[0]
        payload = r.payload if isinstance(r.payload, dict) else {}
        return AlertRef(
            r.id,
            r.idempotency_key,
            r.rule_id,
            r.document_id,
            str(payload.get("rule", {}).get("name", r.rule_id)),
            str(payload.get("document", {}).get("title", "")),
            r.channel,
        )
