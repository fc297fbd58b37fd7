"""What each of the four datasets is: its record, its fast shape, its id field and the checks
that need context.

`validate_row` turns a raw row into a record or a rejection with (reason, field, message), the
one place where pydantic judges every dataset's rows; `fast` is what the read phase's fast path
checks instead (`pulse.ingest.fast_records`), and `to_fast` turns a record pydantic accepted into
the struct that every row is after the read phase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

from pydantic import ValidationError

from pulse.core.rules import Rules
from pulse.ingest.fast_records import (
    ADJUSTMENTS_SHAPE,
    CREATORS_SHAPE,
    REVENUE_SHAPE,
    VIDEOS_SHAPE,
    FastAdjustment,
    FastCreator,
    FastRevenue,
    FastRow,
    FastShape,
    FastVideo,
)
from pulse.ingest.manifest import BatchLocation, Dataset
from pulse.ingest.records import AdjustmentRow, CreatorRow, RevenueRow, Row, VideoRow

R = TypeVar("R", bound=Row)
F = TypeVar("F", bound=FastRow)


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    field: str | None
    message: str


ContextCheck = Callable[[R, BatchLocation, Rules], Rejection | None]


def _market_matches(row: Row, location: BatchLocation, rules: Rules) -> Rejection | None:
    if row.market != location.market:
        return Rejection(
            "market_mismatch", "market", f"row is for {row.market}, batch is for {location.market}"
        )
    return None


def _video_checks(row: VideoRow, location: BatchLocation, rules: Rules) -> Rejection | None:
    if row.category not in rules.categories:
        return Rejection("invalid_value", "category", f"unknown category {row.category[:40]!r}")
    return _market_matches(row, location, rules)


def _revenue_checks(row: RevenueRow, location: BatchLocation, rules: Rules) -> Rejection | None:
    mismatch = _market_matches(row, location, rules)
    if mismatch:
        return mismatch
    expected = rules.currency_of(location.market)
    if row.currency != expected:
        return Rejection(
            "currency_mismatch", "currency", f"{location.market} pays in {expected}, row is in {row.currency}"
        )
    return None


@dataclass(frozen=True)
class DatasetSpec(Generic[R, F]):
    name: Dataset
    record: type[R]
    fast: FastShape
    id_field: str
    check: ContextCheck[R] = field(default=_market_matches)

    @property
    def field_kinds(self) -> dict[str, type]:
        """Each field's JSON kind (int, bool or str), to read CSV cells as the JSON would be."""
        kinds: dict[str, type] = {}
        for name, info in self.record.model_fields.items():
            kinds[name] = info.annotation if info.annotation in (int, bool) else str
        return kinds

    def validate_row(self, document: bytes, location: BatchLocation, rules: Rules) -> R | Rejection:
        try:
            row = cast(R, self.record.model_validate_json(document))
        except ValidationError as exc:
            return rejection_from(exc)
        return self.check(row, location, rules) or row

    def to_fast(self, record: R) -> F:
        """A row pydantic accepted, as the struct the read phase hands on."""
        return cast(F, self.fast.struct(**record.model_dump()))


def rejection_from(exc: ValidationError) -> Rejection:
    """The first problem of a row, as the report shows it."""
    first = exc.errors(include_url=False, include_input=False)[0]
    kind = first["type"]
    where = ".".join(str(p) for p in first["loc"]) or None
    if kind in ("json_invalid", "model_type", "model_attributes_type"):
        return Rejection(
            "malformed_row", None, "row is not a JSON object" if kind != "json_invalid" else first["msg"]
        )
    if kind == "missing":
        return Rejection("missing_field", where, "field is required")
    return Rejection("invalid_value", where, first["msg"])


CREATORS: DatasetSpec[CreatorRow, FastCreator] = DatasetSpec(
    "creators", CreatorRow, CREATORS_SHAPE, "creator_id"
)
VIDEOS: DatasetSpec[VideoRow, FastVideo] = DatasetSpec(
    "videos", VideoRow, VIDEOS_SHAPE, "video_id", _video_checks
)
REVENUE: DatasetSpec[RevenueRow, FastRevenue] = DatasetSpec(
    "revenue", RevenueRow, REVENUE_SHAPE, "row_id", _revenue_checks
)
ADJUSTMENTS: DatasetSpec[AdjustmentRow, FastAdjustment] = DatasetSpec(
    "adjustments", AdjustmentRow, ADJUSTMENTS_SHAPE, "adjustment_id"
)

SPECS: dict[
    str,
    DatasetSpec[CreatorRow, FastCreator]
    | DatasetSpec[VideoRow, FastVideo]
    | DatasetSpec[RevenueRow, FastRevenue]
    | DatasetSpec[AdjustmentRow, FastAdjustment],
] = {spec.name: spec for spec in (CREATORS, VIDEOS, REVENUE, ADJUSTMENTS)}
