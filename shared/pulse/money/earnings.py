"""A creator's earnings of a month (spec §8.2): totals and the lines they are made of.

The ledger keeps, with every entry and in the same transaction, its creator-month's totals (the
statement's `Totals`, plus how much of the gross is late revenue) and its lines: one per video
(category, impressions, revenue), one per campaign, one per adjustment (amount, reason). What an
entry adds to them is `increments(entry)`, used by the ledger's writes and by `lines_of`, which
folds entries into lines the way the table does. The answer's share comes from the statement's
own code (`payout.statement`), so a closed month equals its statement field for field.
See docs/design.md ("Earnings").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from pulse.money.ledger import LedgerEntry, Totals
from pulse.money.payout import PayoutTerms, Statement, statement

LineKind = Literal["V", "C", "A"]  # video, campaign, adjustment


@dataclass(frozen=True, slots=True)
class LineKey:
    kind: LineKind
    line_id: str


@dataclass(frozen=True, slots=True)
class Increment:
    """What one entry adds to one line: numbers added up, an adjustment's reason set."""

    impressions: int = 0
    revenue_micros: int = 0
    text: str = ""  # an adjustment's reason

    def __add__(self, other: Increment) -> Increment:
        return Increment(
            self.impressions + other.impressions,
            self.revenue_micros + other.revenue_micros,
            other.text or self.text,
        )


def increments(entry: LedgerEntry) -> list[tuple[LineKey, Increment]]:
    """The lines an entry adds to: its video's and its campaign's (revenue), or its own
    (adjustment). Nothing about viewers: ids of videos, campaigns and adjustments, and amounts."""
    if entry.kind == "adjustment":
        reason = str(entry.detail.get("reason", ""))
        return [(LineKey("A", entry.entry_id), Increment(0, entry.revenue_micros, reason))]
    # Every revenue row names both (ingest checks them); an entry without (a test's) still adds up.
    video = str(entry.detail.get("video_id", ""))
    campaign = str(entry.detail.get("campaign_id", ""))
    category = str(entry.detail.get("category", ""))
    # A video's line is per category it earned under (a later list may file it elsewhere), so a
    # line is only ever added to, whatever order entries arrive in.
    return [
        (LineKey("V", f"{video}#{category}"), Increment(entry.impressions, entry.revenue_micros)),
        (LineKey("C", campaign), Increment(entry.impressions, entry.revenue_micros)),
    ]


@dataclass(frozen=True, slots=True)
class VideoLine:
    video_id: str
    category: str
    impressions: int
    revenue_micros: int


@dataclass(frozen=True, slots=True)
class CampaignLine:
    campaign_id: str
    impressions: int
    revenue_micros: int


@dataclass(frozen=True, slots=True)
class AdjustmentLine:
    adjustment_id: str
    revenue_micros: int
    reason: str


@dataclass(frozen=True)
class MonthLines:
    """A creator-month as the ledger keeps it: the totals, the late part of the gross, the lines."""

    totals: Totals = field(default_factory=Totals)
    late_micros: int = 0
    lines: dict[LineKey, Increment] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.totals.entries == 0 and not self.lines


def lines_of(entries: Iterable[LedgerEntry]) -> MonthLines:
    """Entries (of one creator-month) folded into their totals and lines, as the ledger does."""
    totals, late = Totals(), 0
    lines: dict[LineKey, Increment] = {}
    for entry in entries:
        totals += Totals.of(entry)
        late += entry.late_micros
        for key, inc in increments(entry):
            lines[key] = lines.get(key, Increment()) + inc
    return MonthLines(totals, late, lines)


@dataclass(frozen=True)
class Earnings:
    """Spec §8.2: a creator's month so far; the lines sum exactly to the totals."""

    creator_id: str
    market: str
    month: str
    currency: str
    closed: bool
    gross_revenue_micros: int
    adjustments_micros: int
    net_revenue_micros: int
    creator_share_bps: int
    creator_share_micros: int
    impressions: int
    late_revenue_micros: int
    videos: list[VideoLine]
    campaigns: list[CampaignLine]
    adjustments: list[AdjustmentLine]
    rules_version: str

    def matches(self, s: Statement) -> bool:
        """Every total equals the statement's field of the same name (spec §8.2, a closed month)."""
        return all(getattr(self, name) == getattr(s, name) for name in STATEMENT_FIELDS)


STATEMENT_FIELDS = (
    "creator_id",
    "market",
    "month",
    "currency",
    "gross_revenue_micros",
    "adjustments_micros",
    "net_revenue_micros",
    "creator_share_bps",
    "creator_share_micros",
    "impressions",
    "rules_version",
)


def earnings(creator_id: str, month: str, kept: MonthLines, terms: PayoutTerms, *, closed: bool) -> Earnings:
    """The earnings of a creator-month; the totals and the share are the statement's own
    (`terms` are the statement's for a closed month, the rules in force for an open one)."""
    s = statement(creator_id, month, kept.totals, 0, terms)
    videos = []
    for key, inc in kept.lines.items():
        if key.kind == "V":
            video, category = key.line_id.split("#", 1)
            videos.append(VideoLine(video, category, inc.impressions, inc.revenue_micros))
    campaigns = [
        CampaignLine(key.line_id, inc.impressions, inc.revenue_micros)
        for key, inc in kept.lines.items()
        if key.kind == "C"
    ]
    adjustments = [
        AdjustmentLine(key.line_id, inc.revenue_micros, inc.text)
        for key, inc in kept.lines.items()
        if key.kind == "A"
    ]
    videos.sort(key=lambda v: (-v.revenue_micros, v.video_id, v.category))
    campaigns.sort(key=lambda c: (-c.revenue_micros, c.campaign_id))
    adjustments.sort(key=lambda a: a.adjustment_id)
    return Earnings(
        creator_id=creator_id,
        market=terms.market,
        month=month,
        currency=terms.currency,
        closed=closed,
        gross_revenue_micros=s.gross_revenue_micros,
        adjustments_micros=s.adjustments_micros,
        net_revenue_micros=s.net_revenue_micros,
        creator_share_bps=s.creator_share_bps,
        creator_share_micros=s.creator_share_micros,
        impressions=s.impressions,
        late_revenue_micros=kept.late_micros,
        videos=videos,
        campaigns=campaigns,
        adjustments=adjustments,
        rules_version=s.rules_version,
    )


def terms_of(s: Statement, terms: PayoutTerms) -> PayoutTerms:
    """The terms a closed month's statement was computed with (its share, currency, rules)."""
    return PayoutTerms(
        market=s.market,
        currency=s.currency,
        creator_share_bps=s.creator_share_bps,
        minimum_micros=terms.minimum_micros,
        minor_unit_micros=terms.minor_unit_micros,
        rules_version=s.rules_version,
    )


def lines_add_up(e: Earnings) -> bool:
    """Spec §8.2: videos and campaigns each sum to the gross and the impressions, adjustments to
    the adjustments."""
    return (
        sum(v.revenue_micros for v in e.videos) == e.gross_revenue_micros
        and sum(v.impressions for v in e.videos) == e.impressions
        and sum(c.revenue_micros for c in e.campaigns) == e.gross_revenue_micros
        and sum(c.impressions for c in e.campaigns) == e.impressions
        and sum(a.revenue_micros for a in e.adjustments) == e.adjustments_micros
        and 0 <= e.late_revenue_micros <= max(e.gross_revenue_micros, 0)
    )
