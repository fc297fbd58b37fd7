"""Statements and their invariants (spec §2.5), for arbitrary ledgers and balances."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse.money.ledger import Totals
from pulse.money.payout import InvariantBroken, PayoutTerms, Statement, creator_share, statement, summarize

TERMS = PayoutTerms("US", "USD", 5000, 50_000_000, 10_000, "rules-1")


def test_the_share_is_truncated_toward_zero() -> None:
    assert creator_share(3, 5000) == 1
    assert creator_share(-3, 5000) == -1
    assert creator_share(0, 5000) == 0
    assert creator_share(99_999_999, 5000) == 49_999_999


def test_a_payable_month_pays_whole_cents_and_carries_the_rest() -> None:
    s = statement(
        "c1", "2026-11", Totals(gross_micros=120_000_015, adjustments_micros=-5, impressions=7), 3, TERMS
    )
    assert (s.net_revenue_micros, s.creator_share_micros) == (120_000_010, 60_000_005)
    assert (s.payable_micros, s.payable_minor, s.closing_balance_micros, s.status) == (
        60_000_000,
        6000,
        8,
        "payable",
    )


def test_below_the_minimum_everything_is_carried() -> None:
    s = statement("c1", "2026-11", Totals(gross_micros=80_000_000), 0, TERMS)
    assert (s.creator_share_micros, s.payable_micros, s.closing_balance_micros, s.status) == (
        40_000_000,
        0,
        40_000_000,
        "below_minimum",
    )
    later = statement("c1", "2026-12", Totals(gross_micros=20_000_000), s.closing_balance_micros, TERMS)
    assert later.opening_balance_micros == 40_000_000
    assert (later.payable_micros, later.closing_balance_micros, later.status) == (50_000_000, 0, "payable")


def test_a_clawback_can_leave_a_negative_balance_that_is_carried() -> None:
    s = statement("c1", "2026-11", Totals(adjustments_micros=-30_000_001), 10_000_000, TERMS)
    assert (s.creator_share_micros, s.payable_micros, s.closing_balance_micros, s.status) == (
        -15_000_000,
        0,
        -5_000_000,
        "negative_balance",
    )


money = st.integers(-(10**13), 10**13)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10**13), money, money, st.integers(0, 10**9)), max_size=40),
    st.sampled_from([0, 1, 2, 3, 6]),
    st.integers(0, 10_000),
    st.integers(0, 10**9),
)
def test_the_invariants_hold_for_any_ledger(
    rows: list[tuple[int, int, int, int]], digits: int, bps: int, minimum: int
) -> None:
    terms = PayoutTerms("US", "USD", bps, minimum, 10 ** (6 - digits), "r")
    statements = [
        statement(f"c{i}", "2026-11", Totals(g, a, n, 1), opening, terms)
        for i, (g, a, opening, n) in enumerate(rows)
    ]
    summary = summarize(statements, "US", "2026-11", terms).as_json()
    totals = summary["totals"]
    assert all(summary["invariants"].values())
    assert totals["net_revenue_micros"] == totals["creator_share_micros"] + totals["platform_share_micros"]
    assert (
        totals["opening_balance_micros"] + totals["creator_share_micros"]
        == totals["payable_micros"] + totals["closing_balance_micros"]
    )
    assert sum(summary["statuses"].values()) == len(rows)
    for s in statements:
        assert s.payable_micros % terms.minor_unit_micros == 0
        assert abs(s.creator_share_micros) <= abs(s.net_revenue_micros)


def test_a_statement_that_does_not_reconcile_stops_the_run() -> None:
    good = statement("c1", "2026-11", Totals(gross_micros=200_000_000), 0, TERMS)
    bad = Statement(**{**good.as_dict(), "closing_balance_micros": good.closing_balance_micros + 1})
    with pytest.raises(InvariantBroken):
        summarize([good, bad], "US", "2026-11", TERMS)
