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


@dataclass(frozen=True, slots=True)
class Tally:
    """Statements added up: what a summary is made of. Tallies of disjoint sets of statements add
    up to the tally of their union, so a month's statements can be tallied a creator range at a
    time and checked once, on the sum (docs/design.md, "Large month ends")."""

    creators: int = 0
    payable: int = 0
    below_minimum: int = 0
    negative_balance: int = 0
    impressions: int = 0
    platform_share_micros: int = 0
    sums: tuple[int, ...] = (0,) * len(MONEY_FIELDS)  # by MONEY_FIELDS
    wrong: int = 0  # statements whose own arithmetic does not hold
    first_wrong: tuple[str, ...] = ()  # the first few of them, for the error

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            creators=self.creators + other.creators,
            payable=self.payable + other.payable,
            below_minimum=self.below_minimum + other.below_minimum,
            negative_balance=self.negative_balance + other.negative_balance,
            impressions=self.impressions + other.impressions,
            platform_share_micros=self.platform_share_micros + other.platform_share_micros,
            sums=tuple(a + b for a, b in zip(self.sums, other.sums, strict=True)),
            wrong=self.wrong + other.wrong,
            first_wrong=(self.first_wrong + other.first_wrong)[:_SHOWN_WRONG],
        )

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "sums": list(self.sums), "first_wrong": list(self.first_wrong)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tally:
        return cls(**{**data, "sums": tuple(data["sums"]), "first_wrong": tuple(data["first_wrong"])})


_SHOWN_WRONG = 5


def tally(statements: Iterable[Statement], terms: PayoutTerms) -> Tally:
    """Add the statements up, each one's own arithmetic checked (the result says which fail)."""
    sums = [0] * len(MONEY_FIELDS)
    statuses: Counter[str] = Counter()
    creators = impressions = platform = wrong = 0
    first_wrong: list[str] = []
    for s in statements:
        creators += 1
        statuses[s.status] += 1
        impressions += s.impressions
        platform += s.net_revenue_micros - s.creator_share_micros
        for i, name in enumerate(MONEY_FIELDS):
            sums[i] += getattr(s, name)
        if not _reconciles(s, terms):
            wrong += 1
            if len(first_wrong) < _SHOWN_WRONG:
                first_wrong.append(s.creator_id)
    return Tally(
        creators=creators,
        payable=statuses["payable"],
        below_minimum=statuses["below_minimum"],
        negative_balance=statuses["negative_balance"],
        impressions=impressions,
        platform_share_micros=platform,
        sums=tuple(sums),
        wrong=wrong,
        first_wrong=tuple(first_wrong),
    )


def summarize(statements: Iterable[Statement], market: str, month: str, terms: PayoutTerms) -> PayoutSummary:
    """The run's summary: counts, totals by money field, the platform's share, the invariants
    checked; raises InvariantBroken when they do not hold."""
    return summary_of(tally(statements, terms), market, month, terms)


def summary_of(counted: Tally, market: str, month: str, terms: PayoutTerms) -> PayoutSummary:
    """The summary of the month's tally, every invariant of §2.5 checked on it; raises
    InvariantBroken when one does not hold."""
    totals = MoneyTotals(
        **dict(zip(MONEY_FIELDS, counted.sums, strict=True)),
        platform_share_micros=counted.platform_share_micros,
    )
    net_splits = totals.net_revenue_micros == totals.creator_share_micros + totals.platform_share_micros
    balances_carry = (
        totals.opening_balance_micros + totals.creator_share_micros
        == totals.payable_micros + totals.closing_balance_micros
    )
    invariants = Invariants(
        every_statement_reconciles=counted.wrong == 0,
        net_equals_creator_share_plus_platform_share=net_splits,
        opening_plus_share_equals_payable_plus_closing=balances_carry,
    )
    summary = PayoutSummary(
        market=market,
        month=month,
        currency=terms.currency,
        creators=counted.creators,
        statuses=StatusCounts(
            payable=counted.payable,
            below_minimum=counted.below_minimum,
            negative_balance=counted.negative_balance,
        ),
        impressions=counted.impressions,
        totals=totals,
        invariants=invariants,
        rules_version=terms.rules_version,
    )
    broken = [name for name, holds in invariants if not holds]
    if counted.wrong:
        broken.append(f"statements of {list(counted.first_wrong)}")
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
