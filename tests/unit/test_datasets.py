import json

import pytest

from pulse.core.rules import load_rules
from pulse.ingest.datasets import ADJUSTMENTS, CREATORS, REVENUE, VIDEOS, Rejection
from pulse.ingest.manifest import locate_batch
from tests.factories import creator

RULES = load_rules()
CREATORS_AT = locate_batch("creators/market=US/snapshot=2026-11-27/_manifest.json")
VIDEOS_AT = locate_batch("videos/market=US/snapshot=2026-11-27/_manifest.json")
REVENUE_AT = locate_batch("revenue/market=GB/date=2026-11-27/b1/_manifest.json")
ADJUSTMENTS_AT = locate_batch("adjustments/market=US/b1/_manifest.json")


def _rejected(verdict: object) -> Rejection:
    assert isinstance(verdict, Rejection), verdict
    return verdict


def _doc(row: dict[str, object]) -> bytes:
    return json.dumps(row).encode()


def test_a_valid_creator_row_is_accepted_and_unknown_fields_are_dropped() -> None:
    row = CREATORS.validate_row(_doc({**creator("c1"), "email": "x@example.com"}), CREATORS_AT, RULES)
    assert not isinstance(row, Rejection)
    assert "email" not in row.model_dump()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"creator_id": "has space"},
            Rejection("invalid_value", "creator_id", "String should match pattern '^[A-Za-z0-9_-]{1,64}$'"),
        ),
        (
            {"creator_id": "x" * 65},
            Rejection("invalid_value", "creator_id", "String should match pattern '^[A-Za-z0-9_-]{1,64}$'"),
        ),
        (
            {"followers": -1},
            Rejection("invalid_value", "followers", "Input should be greater than or equal to 0"),
        ),
        ({"followers": "100"}, Rejection("invalid_value", "followers", "Input should be a valid integer")),
        ({"followers": 1.5}, Rejection("invalid_value", "followers", "Input should be a valid integer")),
        ({"enrolled": "true"}, Rejection("invalid_value", "enrolled", "Input should be a valid boolean")),
        (
            {"standing": "great"},
            Rejection(
                "invalid_value", "standing", "Input should be 'good', 'warning', 'restricted' or 'banned'"
            ),
        ),
        ({"market": "GB"}, Rejection("market_mismatch", "market", "row is for GB, batch is for US")),
    ],
)
def test_invalid_creator_rows_say_which_field_and_why(
    changes: dict[str, object], expected: Rejection
) -> None:
    assert CREATORS.validate_row(_doc({**creator("c1"), **changes}), CREATORS_AT, RULES) == expected


def test_a_missing_field_is_named() -> None:
    row = creator("c1")
    del row["videos_30d"]
    assert CREATORS.validate_row(_doc(row), CREATORS_AT, RULES) == Rejection(
        "missing_field", "videos_30d", "field is required"
    )


def test_a_row_that_is_not_an_object_is_malformed() -> None:
    assert _rejected(CREATORS.validate_row(b"[1,2]", CREATORS_AT, RULES)).reason == "malformed_row"
    assert _rejected(CREATORS.validate_row(b"{oops", CREATORS_AT, RULES)).reason == "malformed_row"


def _video(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "video_id": "v1",
        "creator_id": "c1",
        "market": "US",
        "category": "pets",
        "posted_at": "2026-11-26T08:00:00Z",
        "views_24h": 1,
        "likes_24h": 1,
        "comments_24h": 0,
        "shares_24h": 0,
        "brand_safe": True,
    }
    row.update(changes)
    return row


def test_video_rows_check_category_and_timestamp() -> None:
    assert not isinstance(VIDEOS.validate_row(_doc(_video()), VIDEOS_AT, RULES), Rejection)
    assert _rejected(VIDEOS.validate_row(_doc(_video(category="cats")), VIDEOS_AT, RULES)).field == "category"
    assert (
        _rejected(VIDEOS.validate_row(_doc(_video(posted_at="2026-11-26")), VIDEOS_AT, RULES)).field
        == "posted_at"
    )
    assert (
        _rejected(VIDEOS.validate_row(_doc(_video(posted_at="2026-11-26T25:00:00Z")), VIDEOS_AT, RULES)).field
        == "posted_at"
    )


def _revenue(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "row_id": "r1",
        "served_date": "2026-11-27",
        "market": "GB",
        "video_id": "v1",
        "list_version": "0001",
        "campaign_id": "k1",
        "impressions": 10,
        "revenue_micros": 1_500_000,
        "currency": "GBP",
    }
    row.update(changes)
    return row


def test_revenue_rows_must_be_in_the_market_currency_with_real_dates() -> None:
    assert not isinstance(REVENUE.validate_row(_doc(_revenue()), REVENUE_AT, RULES), Rejection)
    wrong = REVENUE.validate_row(_doc(_revenue(currency="EUR")), REVENUE_AT, RULES)
    assert wrong == Rejection("currency_mismatch", "currency", "GB pays in GBP, row is in EUR")
    assert (
        _rejected(REVENUE.validate_row(_doc(_revenue(served_date="2026-02-30")), REVENUE_AT, RULES)).field
        == "served_date"
    )
    assert (
        _rejected(REVENUE.validate_row(_doc(_revenue(impressions=0)), REVENUE_AT, RULES)).field
        == "impressions"
    )


def test_adjustments_are_signed_and_their_reason_is_bounded() -> None:
    row = {
        "adjustment_id": "a1",
        "market": "US",
        "creator_id": "c1",
        "month": "2026-11",
        "revenue_micros": -5,
        "reason": "ivt",
    }
    assert not isinstance(ADJUSTMENTS.validate_row(_doc(row), ADJUSTMENTS_AT, RULES), Rejection)
    long_reason = _rejected(
        ADJUSTMENTS.validate_row(_doc({**row, "reason": "x" * 201}), ADJUSTMENTS_AT, RULES)
    )
    assert long_reason.field == "reason"
    assert (
        _rejected(ADJUSTMENTS.validate_row(_doc({**row, "month": "2026-13"}), ADJUSTMENTS_AT, RULES)).field
        == "month"
    )
