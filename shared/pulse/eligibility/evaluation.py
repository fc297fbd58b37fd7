"""Creator eligibility (spec §2.2): pure rules, no storage.

A creator's eligibility record is derived from its latest snapshot row and the rules in force.
`fingerprint` captures everything a record says, so storage can skip writes that change nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from pulse.core.rules import Rules
from pulse.ingest.fast_records import FastCreator
from pulse.ingest.records import CreatorRow

Status = Literal["active", "invited", "ineligible"]
STATUSES: tuple[Status, ...] = ("active", "invited", "ineligible")


RuleValue = int | bool | str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reason:
    """A failed rule: the value the rule requires and the creator's own (e.g. 100000 and 93500)."""

    code: str
    required: RuleValue
    actual: RuleValue

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the API and the events: {"code", "required", "actual"}."""
        required = list(self.required) if isinstance(self.required, tuple) else self.required
        actual = list(self.actual) if isinstance(self.actual, tuple) else self.actual
        return {"code": self.code, "required": required, "actual": actual}

    def describe(self) -> str:
        """The sentence an operator reads, e.g. "followers_below_minimum: needs 100000, has 93500"."""
        return f"{self.code}: needs {self.required}, has {self.actual}"


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The eligibility record of one creator in one market."""

    creator_id: str
    market: str
    status: Status
    reasons: tuple[Reason, ...]
    as_of: str  # the snapshot date the record was derived from
    rules_version: str
    account_type: str
    followers: int
    age_verified_18: bool
    videos_30d: int
    standing: str
    enrolled: bool

    @property
    def fingerprint(self) -> str:
        """A digest of what the record says (not of when): equal digests mean nothing to write."""
        parts = [
            self.status,
            self.rules_version,
            self.account_type,
            str(self.followers),
            str(self.age_verified_18),
            str(self.videos_30d),
            self.standing,
            str(self.enrolled),
            *(f"{r.code}|{r.required!r}|{r.actual!r}" for r in self.reasons),
        ]
        return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


def failed_rules(row: CreatorRow | FastCreator, snapshot: dt.date, rules: Rules) -> tuple[Reason, ...]:
    """Every rule the creator fails, in the order of §2.2 (not only the first)."""
    reasons: list[Reason] = []
    if row.followers < rules.min_followers:
        reasons.append(Reason("followers_below_minimum", rules.min_followers, row.followers))
    if rules.age_verified_18_required and not row.age_verified_18:
        reasons.append(Reason("age_not_verified", True, False))
    if row.videos_30d < rules.min_videos_30d:
        reasons.append(Reason("too_few_recent_videos", rules.min_videos_30d, row.videos_30d))
    if row.standing not in rules.allowed_standing:
        reasons.append(Reason("standing_not_allowed", tuple(sorted(rules.allowed_standing)), row.standing))
    market = rules.markets.get(row.market)
    if market is None:
        # The row's market is not a programme market at all: it has no launch date to reach.
        reasons.append(Reason("market_not_launched", tuple(sorted(rules.markets)), row.market))
    elif snapshot < market.launch_date:
        reasons.append(Reason("market_not_launched", market.launch_date.isoformat(), snapshot.isoformat()))
    return tuple(reasons)


def evaluate(row: CreatorRow | FastCreator, snapshot: str, rules: Rules) -> Eligibility:
    reasons = failed_rules(row, dt.date.fromisoformat(snapshot), rules)
    status: Status = "ineligible" if reasons else ("active" if row.enrolled else "invited")
    return Eligibility(
        creator_id=row.creator_id,
        market=row.market,
        status=status,
        reasons=reasons,
        as_of=snapshot,
        rules_version=rules.version,
        account_type=row.account_type,
        followers=row.followers,
        age_verified_18=row.age_verified_18,
        videos_30d=row.videos_30d,
        standing=row.standing,
        enrolled=row.enrolled,
    )


def confirmed_on(as_of: str, absent: bool, last_seen: str | None, latest_snapshot: str | None) -> str:
    """The last snapshot that confirmed a stored record (see docs/design.md): the market's latest
    applied snapshot, which held the creator unless it was marked absent from it, in which case
    the last snapshot it was in. Records are written only when they change, so `as_of` alone
    would make every unchanged creator look stale."""
    if absent and last_seen is not None:
        return last_seen
    return latest_snapshot or as_of


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A creator's eligibility record as stored: what `GET /v1/creators/{id}` answers from."""

    creator_id: str
    market: str
    status: Status
    reasons: list[dict[str, Any]]
    as_of: str
    rules_version: str
    absent: bool = False
    last_seen: str | None = None

    def as_seen_on(
        self, today: dt.date, latest_snapshot: str | None, rules: Rules
    ) -> tuple[Status, list[dict[str, Any]], str]:
        """Status, reasons and confirmation date as they stand today."""
        confirmed = confirmed_on(self.as_of, self.absent, self.last_seen, latest_snapshot)
        status, reasons = as_seen_on(self.status, self.reasons, confirmed, today, rules)
        return status, reasons, confirmed


@dataclass(frozen=True, slots=True)
class CurrentEligibility:
    """A creator's stored status and the last snapshot that confirmed it (see docs/design.md)."""

    creator_id: str
    status: Status
    confirmed_on: str


def placement_block(current: CurrentEligibility | None, video_snapshot: str, rules: Rules) -> str | None:
    """Why a creator's videos cannot be placed for a video snapshot; None when they can.

    Eligibility confirmed more than `eligibility_max_age_days` before the snapshot being ranked
    counts as not active (`eligibility_stale`).
    """
    if current is None:
        return "creator_unknown"
    if current.status != "active":
        return f"creator_{current.status}"
    oldest_fresh = dt.date.fromisoformat(video_snapshot) - dt.timedelta(days=rules.eligibility_max_age_days)
    if dt.date.fromisoformat(current.confirmed_on) < oldest_fresh:
        return "eligibility_stale"
    return None


def as_seen_on(
    status: Status, reasons: list[dict[str, Any]], confirmed_on: str, today: dt.date, rules: Rules
) -> tuple[Status, list[dict[str, Any]]]:
    """A stored status as it stands today: eligibility confirmed too long ago is not active."""
    oldest_fresh = today - dt.timedelta(days=rules.eligibility_max_age_days)
    if dt.date.fromisoformat(confirmed_on) >= oldest_fresh:
        return status, reasons
    stale = Reason("eligibility_stale", oldest_fresh.isoformat(), confirmed_on).as_dict()
    return "ineligible", [*reasons, stale]
