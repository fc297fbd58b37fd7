"""A creator's earnings (spec §8.2), for arbitrary ledgers: late rows, replays, adjustments, months
closing in between. The lines sum exactly to the totals, the aggregates kept a transaction at a
time equal the entries folded at once, and a closed month's totals equal its statement."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.core.types import next_month
from pulse.money.earnings import (
    Increment,
    LineKey,
    MonthLines,
    earnings,
    increments,
    lines_add_up,
    lines_of,
    terms_of,
)
from pulse.money.ledger import LedgerEntry, Totals, booking_month
from pulse.money.payout import PayoutTerms, statement

TERMS = PayoutTerms("US", "USD", 5000, 50_000_000, 10_000, "rules-1")
MONTHS = ("2026-09", "2026-10", "2026-11", "2026-12")
CREATORS = ("c1", "c2", "c3")


@dataclass(frozen=True)
class Close:
    """A payout run closing the next month."""


revenue = st.builds(
    lambda i, month, creator, video, campaign, impressions, micros: LedgerEntry(
        "revenue",
        f"r{i}",
        "US",
        creator,
        month,
        month,
        micros,
        impressions,
        "b",
        {"video_id": video, "campaign_id": campaign, "category": f"cat-{video}"},
    ),
    st.integers(0, 40),  # a small pool of row ids: replays
    st.sampled_from(MONTHS),
    st.sampled_from(CREATORS),
    st.sampled_from(("v1", "v2", "v3", "v4")),
    st.sampled_from(("k1", "k2", "k3")),
    st.integers(1, 10_000),
    st.integers(0, 10**12),
)
adjustment = st.builds(
    lambda i, month, creator, micros, reason: LedgerEntry(
        "adjustment", f"a{i}", "US", creator, month, month, micros, 0, "b", {"reason": reason}
    ),
    st.integers(0, 10),
    st.sampled_from(MONTHS),
    st.sampled_from(CREATORS),
    st.integers(-(10**10), 10**10),
    st.text(max_size=20),
)
ledgers = st.lists(st.one_of(revenue, adjustment, st.just(Close())), max_size=60)


def _book(events: list[LedgerEntry | Close]) -> tuple[list[LedgerEntry], str | None, list[list[LedgerEntry]]]:
    """What the ledger keeps: each id once (the first delivery), booked into its own month or the
    next open one; and the transactions (runs of entries between closes) it was written in."""
    seen: set[tuple[str, str]] = set()
    last_closed: str | None = None
    booked: list[LedgerEntry] = []
    transactions: list[list[LedgerEntry]] = [[]]
    for event in events:
        if isinstance(event, Close):
            last_closed = next_month(last_closed) if last_closed else MONTHS[0]
            transactions.append([])
            continue
        if (event.kind, event.entry_id) in seen:
            continue  # a replay: its entry exists, the transaction adds nothing
        seen.add((event.kind, event.entry_id))
        month = booking_month(event.own_month, last_closed)
        entry = LedgerEntry(
            event.kind,
            event.entry_id,
            "US",
            event.creator_id,
            month,
            event.own_month,
            event.revenue_micros,
            event.impressions,
            event.source,
            event.detail,
        )
        booked.append(entry)
        transactions[-1].append(entry)
    return booked, last_closed, transactions


def _by_creator_month(entries: list[LedgerEntry]) -> dict[tuple[str, str], list[LedgerEntry]]:
    grouped: dict[tuple[str, str], list[LedgerEntry]] = defaultdict(list)
    for e in entries:
        grouped[(e.month, e.creator_id)].append(e)
    return grouped


def _kept_by_transactions(transactions: list[list[LedgerEntry]]) -> dict[tuple[str, str], MonthLines]:
    """The aggregates as the table keeps them: each transaction adds its own sums, per item."""
    totals: dict[tuple[str, str], Totals] = defaultdict(Totals)
    late: dict[tuple[str, str], int] = defaultdict(int)
    lines: dict[tuple[str, str], dict[LineKey, Increment]] = defaultdict(dict)
    for transaction in transactions:
        sums: dict[tuple[str, str, LineKey], Increment] = defaultdict(Increment)
        for e in transaction:
            totals[(e.month, e.creator_id)] += Totals.of(e)
            late[(e.month, e.creator_id)] += e.late_micros
            for key, inc in increments(e):
                sums[(e.month, e.creator_id, key)] += inc
        for (month, creator, key), inc in sums.items():
            held = lines[(month, creator)]
            held[key] = held.get(key, Increment()) + inc
    return {k: MonthLines(totals[k], late[k], lines[k]) for k in totals}


@settings(max_examples=150, deadline=None)
@given(ledgers)
def test_the_lines_sum_exactly_to_the_totals(events: list[LedgerEntry | Close]) -> None:
    booked, last_closed, transactions = _book(events)
    kept = _kept_by_transactions(transactions)
    for (month, creator), entries in _by_creator_month(booked).items():
        assert kept[(month, creator)] == lines_of(entries)  # kept a transaction at a time = folded
        closed = last_closed is not None and month <= last_closed
        answer = earnings(creator, month, kept[(month, creator)], TERMS, closed=closed)
        assert lines_add_up(answer)
        assert answer.late_revenue_micros == sum(
            e.revenue_micros for e in entries if e.month != e.own_month and e.kind == "revenue"
        )
        assert answer.gross_revenue_micros == sum(e.revenue_micros for e in entries if e.kind == "revenue")
        assert len({v.video_id for v in answer.videos}) == len(answer.videos)
        assert [(-v.revenue_micros, v.video_id) for v in answer.videos] == sorted(
            (-v.revenue_micros, v.video_id) for v in answer.videos
        )
        assert [(-c.revenue_micros, c.campaign_id) for c in answer.campaigns] == sorted(
            (-c.revenue_micros, c.campaign_id) for c in answer.campaigns
        )


@settings(max_examples=150, deadline=None)
@given(ledgers, st.integers(-(10**9), 10**9))
def test_a_closed_month_equals_its_statement(events: list[LedgerEntry | Close], opening: int) -> None:
    booked, last_closed, transactions = _book(events)
    kept = _kept_by_transactions(transactions)
    for (month, creator), entries in _by_creator_month(booked).items():
        if last_closed is None or month > last_closed:
            continue
        # the month end's statement, from the month's totals (whatever the opening balance)
        s = statement(creator, month, sum(map(Totals.of, entries), Totals()), opening, TERMS)
        answer = earnings(creator, month, kept[(month, creator)], terms_of(s, TERMS), closed=True)
        assert answer.matches(s)
        assert lines_add_up(answer)


def test_nothing_about_viewers_only_videos_campaigns_and_amounts() -> None:
    entry = LedgerEntry(
        "revenue",
        "r1",
        "US",
        "c1",
        "2026-11",
        "2026-10",
        7,
        3,
        "b",
        {"video_id": "v1", "campaign_id": "k1", "category": "pets", "served_date": "2026-10-31"},
    )
    answer = earnings("c1", "2026-11", lines_of([entry]), TERMS, closed=False)
    assert [(v.video_id, v.category, v.impressions, v.revenue_micros) for v in answer.videos] == [
        ("v1", "pets", 3, 7)
    ]
    assert [(c.campaign_id, c.impressions, c.revenue_micros) for c in answer.campaigns] == [("k1", 3, 7)]
    assert (answer.late_revenue_micros, answer.creator_share_micros, answer.closed) == (7, 3, False)
