"""A statement a creator can read: the month-end statement (spec §5) with its itemisation (the
lines of §8.2) and, in words, why the payout is what it is.

The month end writes one document per statement of the month, beside `statements.csv`, at
`payouts/market=<m>/month=<YYYY-MM>/statements/<creator_id>.json`; the API hands it back as a
short-lived link (`GET /v1/creators/{id}/statements/{month}/document`). A closed month's lines are
final (later revenue is booked into the next month), so a retried month end writes the same bytes.
Each document is checked before it is written: its totals are the statement's, field for field,
and its lines add up to them. Nothing about viewers: videos, campaigns, adjustments and amounts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, Protocol

from pulse.core.concurrency import bounded_map
from pulse.core.types import next_month
from pulse.money.earnings import MonthLines, earnings, lines_add_up, terms_of
from pulse.money.payout import InvariantBroken, PayoutTerms, Statement

FORMAT = "pulse-statement/1"
# Documents in flight in one invocation: each waits on DynamoDB (its lines, a Query a shard at once)
# and S3, not on the CPU (make capacity: the month end's time with them).
DOCUMENT_WORKERS = 32


class LinesSource(Protocol):
    def month_lines(self, market: str, month: str, creator_id: str) -> MonthLines: ...


class DocumentStore(Protocol):
    def write_document(self, market: str, month: str, creator_id: str, document: bytes) -> None: ...


def document_key(market: str, month: str, creator_id: str) -> str:
    return f"payouts/market={market}/month={month}/statements/{creator_id}.json"


def payout_reason(s: Statement, terms: PayoutTerms) -> str | None:
    """Why the payout is not the whole balance available, in words; None when it is."""
    available = s.opening_balance_micros + s.creator_share_micros
    carried_to = next_month(s.month)
    if s.status == "negative_balance":
        return (
            f"Nothing is paid: the balance available ({available} micros, the opening balance plus "
            f"this month's share) is negative because adjustments exceeded earnings. It is carried "
            f"to {carried_to} and offset against the next earnings."
        )
    if s.status == "below_minimum":
        return (
            f"Nothing is paid: the balance available ({available} micros, the opening balance plus "
            f"this month's share) is below the minimum payout of {terms.minimum_micros} micros. "
            f"It is carried to {carried_to}."
        )
    if s.closing_balance_micros:
        return (
            f"Paid in whole units of {s.currency}; the remaining {s.closing_balance_micros} micros "
            f"are carried to {carried_to}."
        )
    return None


def statement_document(s: Statement, kept: MonthLines, terms: PayoutTerms) -> dict[str, Any]:
    """The document of one statement; raises InvariantBroken if the lines are not the statement's."""
    e = earnings(s.creator_id, s.month, kept, terms_of(s, terms), closed=True)
    if not e.matches(s):
        raise InvariantBroken(
            f"{s.market} {s.month} {s.creator_id}: the ledger's totals are not the statement's"
        )
    if not lines_add_up(e):
        raise InvariantBroken(f"{s.market} {s.month} {s.creator_id}: the lines do not add up to the totals")
    return {
        "format": FORMAT,
        **s.as_dict(),
        "late_revenue_micros": e.late_revenue_micros,
        "payout": {
            "available_micros": s.opening_balance_micros + s.creator_share_micros,
            "minimum_micros": terms.minimum_micros,
            "paid_micros": s.payable_micros,
            "paid_minor": s.payable_minor,
            "carried_micros": s.closing_balance_micros,
            "carried_to": next_month(s.month),
            "reason": payout_reason(s, terms),
        },
        "videos": [asdict(v) for v in e.videos],
        "campaigns": [asdict(c) for c in e.campaigns],
        "adjustments": [asdict(a) for a in e.adjustments],
    }


def write_documents(  # what to write, where from, where to
    statements: Iterable[Statement],
    terms: PayoutTerms,
    lines: LinesSource,
    store: DocumentStore,
    workers: int = DOCUMENT_WORKERS,
) -> int:
    """Every statement's document, `workers` at a time; returns how many were written."""

    def one(s: Statement) -> None:
        kept = lines.month_lines(s.market, s.month, s.creator_id)
        body = json.dumps(statement_document(s, kept, terms), indent=2).encode()
        store.write_document(s.market, s.month, s.creator_id, body)

    return sum(1 for _ in bounded_map(one, statements, workers))
