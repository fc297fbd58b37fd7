"""A statement a creator can read: for arbitrary months (revenue, adjustments, an opening balance),
the document's totals are its statement's, its lines add up to them, and it says why the payout
is what it is. A document whose lines are not the statement's is never written."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.money.earnings import MonthLines, lines_of
from pulse.money.ledger import LedgerEntry, Totals
from pulse.money.payout import InvariantBroken, PayoutTerms, Statement, statement
from pulse.money.statement_document import (
    document_key,
    payout_reason,
    statement_document,
    write_documents,
)

TERMS = PayoutTerms("US", "USD", 5000, 50_000_000, 10_000, "rules-1")

entries = st.lists(
    st.one_of(
        st.builds(
            lambda i, own, video, campaign, impressions, micros: LedgerEntry(
                "revenue",
                f"r{i}",
                "US",
                "c1",
                "2026-10",
                own,
                micros,
                impressions,
                "b",
                {"video_id": video, "campaign_id": campaign, "category": "pets"},
            ),
            st.integers(0, 10**6),
            st.sampled_from(("2026-09", "2026-10")),  # late rows booked into October
            st.sampled_from(("v1", "v2", "v3")),
            st.sampled_from(("k1", "k2")),
            st.integers(1, 10_000),
            st.integers(0, 10**11),
        ),
        st.builds(
            lambda i, micros: LedgerEntry(
                "adjustment", f"a{i}", "US", "c1", "2026-10", "2026-10", micros, 0, "b", {"reason": "ivt"}
            ),
            st.integers(0, 10**6),
            st.integers(-(10**11), 10**10),
        ),
    ),
    max_size=30,
    unique_by=lambda e: (e.kind, e.entry_id),  # the ledger keeps each id once
)


def _month(booked: list[LedgerEntry], opening: int) -> tuple[Statement, MonthLines]:
    kept = lines_of(booked)
    return statement("c1", "2026-10", kept.totals, opening, TERMS), kept


@settings(max_examples=300, deadline=None)
@given(entries, st.integers(-(10**11), 10**11))
def test_a_document_is_its_statement_itemised(booked: list[LedgerEntry], opening: int) -> None:
    s, kept = _month(booked, opening)
    doc = statement_document(s, kept, TERMS)
    assert {k: doc[k] for k in s.as_dict()} == s.as_dict()
    assert sum(v["revenue_micros"] for v in doc["videos"]) == s.gross_revenue_micros
    assert sum(v["impressions"] for v in doc["videos"]) == s.impressions
    assert sum(c["revenue_micros"] for c in doc["campaigns"]) == s.gross_revenue_micros
    assert sum(a["revenue_micros"] for a in doc["adjustments"]) == s.adjustments_micros
    assert doc["late_revenue_micros"] == sum(e.revenue_micros for e in booked if e.own_month == "2026-09")
    payout = doc["payout"]
    assert payout["available_micros"] == opening + s.creator_share_micros
    assert payout["available_micros"] == payout["paid_micros"] + payout["carried_micros"]
    assert (payout["paid_micros"], payout["carried_micros"]) == (s.payable_micros, s.closing_balance_micros)
    assert payout["carried_to"] == "2026-11"
    # a reason is given unless everything available is paid (nothing paid always has one)
    assert (payout["reason"] is None) == (s.status == "payable" and s.closing_balance_micros == 0)
    json.dumps(doc)  # a JSON document as it is


def test_the_reasons_say_why_nothing_or_not_everything_is_paid() -> None:
    def reason(opening: int, gross: int, adjustments: int = 0) -> tuple[str, str | None]:
        totals = Totals(gross_micros=gross, adjustments_micros=adjustments, entries=1)
        s = statement("c1", "2026-10", totals, opening, TERMS)
        return s.status, payout_reason(s, TERMS)

    status, text = reason(0, 10_000_000)
    assert status == "below_minimum"
    assert text is not None
    assert "below the minimum payout of 50000000 micros" in text
    assert "carried to 2026-11" in text
    status, text = reason(0, 10_000_000, -30_000_000)
    assert status == "negative_balance"
    assert text is not None
    assert "negative" in text
    assert "carried to 2026-11" in text
    assert reason(0, 200_000_000) == ("payable", None)
    status, text = reason(0, 200_004_000)  # 100.002 USD: the 2,000 micros below a cent are carried
    assert status == "payable"
    assert text == "Paid in whole units of USD; the remaining 2000 micros are carried to 2026-11."


def test_lines_that_are_not_the_statements_are_never_written() -> None:
    booked = [
        LedgerEntry("revenue", "r1", "US", "c1", "2026-10", "2026-10", 7, 1, "b", {"video_id": "v1"}),
    ]
    s, kept = _month(booked, 0)
    drifted = MonthLines(kept.totals, kept.late_micros, {})  # lines lost: they no longer add up
    with pytest.raises(InvariantBroken):
        statement_document(s, drifted, TERMS)
    other = statement("c1", "2026-10", Totals(gross_micros=8, impressions=1, entries=1), 0, TERMS)
    with pytest.raises(InvariantBroken):
        statement_document(other, kept, TERMS)


class _Lines:
    def __init__(self, by_creator: dict[str, MonthLines]) -> None:
        self.by_creator = by_creator

    def month_lines(self, market: str, month: str, creator_id: str) -> MonthLines:
        return self.by_creator.get(creator_id, MonthLines())


class _Store:
    def __init__(self) -> None:
        self.written: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def write_document(self, market: str, month: str, creator_id: str, document: bytes) -> None:
        with self._lock:
            self.written[document_key(market, month, creator_id)] = document


def _statements(lines: _Lines, openings: dict[str, int]) -> Iterable[Statement]:
    for creator in sorted({*lines.by_creator, *openings}):
        kept = lines.by_creator.get(creator, MonthLines())
        yield statement(creator, "2026-10", kept.totals, openings.get(creator, 0), TERMS)


def test_every_statement_gets_its_document_under_its_creators_key() -> None:
    by_creator = {
        f"c{i}": lines_of(
            [LedgerEntry("revenue", f"r{i}", "US", f"c{i}", "2026-10", "2026-10", i * 1_000_000, i, "b", {})]
        )
        for i in range(1, 40)
    }
    lines, store = _Lines(by_creator), _Store()
    # c99 has nothing this month but a balance carried in: its document says why nothing is paid
    statements = list(_statements(lines, {"c99": 3_000_000}))
    assert write_documents(statements, TERMS, lines, store, workers=4) == 40
    assert set(store.written) == {
        f"payouts/market=US/month=2026-10/statements/{s.creator_id}.json" for s in statements
    }
    carried = json.loads(store.written["payouts/market=US/month=2026-10/statements/c99.json"])
    assert (carried["opening_balance_micros"], carried["videos"], carried["payout"]["carried_micros"]) == (
        3_000_000,
        [],
        3_000_000,
    )
    assert "below the minimum" in carried["payout"]["reason"]
