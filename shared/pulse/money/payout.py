"""Month-end payout statements (spec §2.5): pure arithmetic in integer micros.

For each creator with revenue, adjustments or a balance in a market's month:
net = gross + adjustments; share = sign(net) * floor(|net| * bps / 10000) (toward zero);
available = opening + share; payable = whole minor units of `available` when it reaches the
minimum, else 0; closing = available - payable, carried to the next month.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pulse.core.summary import Summary
from pulse.money.ledger import Totals

PayoutStatus = Literal["payable", "below_minimum", "negative_balance"]
MONEY_FIELDS = (
    "opening_balance_micros",
    "gross_revenue_micros",
    "adjustments_micros",
    "net_revenue_micros",
    "creator_share_micros",
    "payable_micros",
    "closing_balance_micros",
)
CSV_FIELDS = (
    "creator_id",
    "market",
    "month",
    "currency",
    "opening_balance_micros",
    "gross_revenue_micros",
    "adjustments_micros",
    "net_revenue_micros",
    "creator_share_bps",
    "creator_share_micros",
    "payable_micros",
    "payable_minor",
    "closing_balance_micros",
    "impressions",
    "status",
    "rules_version",
)


class StatusCounts(Summary):
    payable: int
    below_minimum: int
    negative_balance: int


class MoneyTotals(Summary):
    """The statements' money fields added up, and what the platform keeps of the net."""

    opening_balance_micros: int
    gross_revenue_micros: int
    adjustments_micros: int
    net_revenue_micros: int
    creator_share_micros: int
    payable_micros: int
    closing_balance_micros: int
    platform_share_micros: int


class Invariants(Summary):
    """The invariants of spec §2.5, as checked over the month's statements."""

    every_statement_reconciles: bool
    net_equals_creator_share_plus_platform_share: bool
    opening_plus_share_equals_payable_plus_closing: bool


class PayoutSummary(Summary):
    """A market's month end: `summary.json` and the detail of PayoutRunCompleted (spec §5, §6)."""

    market: str
    month: str
    currency: str
    creators: int
    statuses: StatusCounts
    impressions: int
    totals: MoneyTotals
    invariants: Invariants
    rules_version: str


class InvariantBroken(RuntimeError):
    """The statements do not reconcile: nothing may be published."""


@dataclass(frozen=True, slots=True)
class Statement:
    creator_id: str
    market: str
    month: str
    currency: str
    opening_balance_micros: int
    gross_revenue_micros: int
    adjustments_micros: int
    net_revenue_micros: int
    creator_share_bps: int
    creator_share_micros: int
    payable_micros: int
    payable_minor: int
    closing_balance_micros: int
    impressions: int
    status: PayoutStatus
    rules_version: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PayoutTerms:
    """What the rules say about a market's payouts, taken once per run."""

    market: str
    currency: str
    creator_share_bps: int
    minimum_micros: int
    minor_unit_micros: int
    rules_version: str


def creator_share(net: int, bps: int) -> int:
    """sign(net) * floor(|net| * bps / 10000): truncated toward zero."""
    share = abs(net) * bps // 10_000
    return share if net >= 0 else -share


def statement(creator_id: str, month: str, totals: Totals, opening: int, terms: PayoutTerms) -> Statement:
    net = totals.gross_micros + totals.adjustments_micros
    share = creator_share(net, terms.creator_share_bps)
    available = opening + share
    if available >= terms.minimum_micros:
        payable = available // terms.minor_unit_micros * terms.minor_unit_micros
    else:
        payable = 0
    status: PayoutStatus = (
        "negative_balance"
        if available < 0
        else "payable"
        if available >= terms.minimum_micros
        else "below_minimum"
    )
    return Statement(
        creator_id=creator_id,
        market=terms.market,
        month=month,
        currency=terms.currency,
        opening_balance_micros=opening,
        gross_revenue_micros=totals.gross_micros,
        adjustments_micros=totals.adjustments_micros,
        net_revenue_micros=net,
        creator_share_bps=terms.creator_share_bps,
        creator_share_micros=share,
        payable_micros=payable,
        payable_minor=payable // terms.minor_unit_micros,
        closing_balance_micros=available - payable,
        impressions=totals.impressions,
        status=status,
        rules_version=terms.rules_version,
    )


def summarize(statements: Iterable[Statement], market: str, month: str, terms: PayoutTerms) -> PayoutSummary:
    """The run's summary: counts, totals by money field, the platform's share, the invariants
    checked; raises InvariantBroken when they do not hold."""
    sums = dict.fromkeys(MONEY_FIELDS, 0)
    statuses: Counter[str] = Counter()
    creators = 0
    impressions = 0
    platform = 0
    wrong: list[str] = []
    for s in statements:
        creators += 1
        statuses[s.status] += 1
        impressions += s.impressions
        platform += s.net_revenue_micros - s.creator_share_micros
        for name in MONEY_FIELDS:
            sums[name] += getattr(s, name)
        if not _reconciles(s, terms):
            wrong.append(s.creator_id)
    totals = MoneyTotals(**sums, platform_share_micros=platform)
    net_splits = totals.net_revenue_micros == totals.creator_share_micros + totals.platform_share_micros
    balances_carry = (
        totals.opening_balance_micros + totals.creator_share_micros
        == totals.payable_micros + totals.closing_balance_micros
    )
    invariants = Invariants(
        every_statement_reconciles=not wrong,
        net_equals_creator_share_plus_platform_share=net_splits,
        opening_plus_share_equals_payable_plus_closing=balances_carry,
    )
    summary = PayoutSummary(
        market=market,
        month=month,
        currency=terms.currency,
        creators=creators,
        statuses=StatusCounts(**{s: statuses[s] for s in ("payable", "below_minimum", "negative_balance")}),
        impressions=impressions,
        totals=totals,
        invariants=invariants,
        rules_version=terms.rules_version,
    )
    broken = [name for name, holds in invariants if not holds]
    if wrong:
        broken.append(f"statements of {wrong[:5]}")
    if broken:
        raise InvariantBroken(f"{market} {month}: {', '.join(broken)} does not hold: {totals.as_json()}")
    return summary


def _reconciles(s: Statement, terms: PayoutTerms) -> bool:
    """One statement's own arithmetic, checked independently of how it was computed."""
    exact = abs(s.net_revenue_micros) * s.creator_share_bps  # the share times 10000, before truncation
    share_truncated = (
        abs(s.creator_share_micros) * 10_000 <= exact < (abs(s.creator_share_micros) + 1) * 10_000
    )
    share_signed = s.creator_share_micros == 0 or (s.creator_share_micros > 0) == (s.net_revenue_micros > 0)
    whole_units = s.payable_micros % terms.minor_unit_micros == 0 and (
        s.payable_micros == s.payable_minor * terms.minor_unit_micros
    )
    available = s.opening_balance_micros + s.creator_share_micros
    paid_only_over_minimum = s.payable_micros == 0 or available >= terms.minimum_micros
    remainder_only = s.payable_micros == 0 or 0 <= s.closing_balance_micros < terms.minor_unit_micros
    return (
        s.net_revenue_micros == s.gross_revenue_micros + s.adjustments_micros
        and share_truncated
        and share_signed
        and s.opening_balance_micros + s.creator_share_micros == s.payable_micros + s.closing_balance_micros
        and s.payable_micros >= 0
        and whole_units
        and paid_only_over_minimum
        and remainder_only
    )
