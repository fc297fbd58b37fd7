from typing import Any

import pytest

from pulse.core.rules import load_rules
from pulse.eligibility.evaluation import evaluate
from pulse.ingest.records import CreatorRow
from tests.factories import creator

RULES = load_rules()


def _row(**overrides: Any) -> CreatorRow:
    return CreatorRow.model_validate(creator("c1", **overrides))


def test_an_eligible_enrolled_creator_is_active() -> None:
    record = evaluate(_row(), "2026-11-27", RULES)
    assert record.status == "active"
    assert record.reasons == ()
    assert record.rules_version == RULES.version
    assert record.as_of == "2026-11-27"


def test_an_eligible_creator_not_yet_enrolled_is_invited() -> None:
    assert evaluate(_row(enrolled=False), "2026-11-27", RULES).status == "invited"


def test_exactly_the_minimum_is_enough() -> None:
    assert evaluate(_row(followers=100_000, videos_30d=5), "2026-11-27", RULES).status == "active"


@pytest.mark.parametrize(
    ("overrides", "code", "required", "actual"),
    [
        ({"followers": 93_500}, "followers_below_minimum", 100_000, 93_500),
        ({"age_verified_18": False}, "age_not_verified", True, False),
        ({"videos_30d": 4}, "too_few_recent_videos", 5, 4),
        ({"standing": "warning"}, "standing_not_allowed", ["good"], "warning"),
    ],
)
def test_each_rule_reports_what_is_required_and_what_the_creator_has(
    overrides: dict[str, Any], code: str, required: object, actual: object
) -> None:
    record = evaluate(_row(**overrides), "2026-11-27", RULES)
    assert record.status == "ineligible"
    assert [r.as_dict() for r in record.reasons] == [{"code": code, "required": required, "actual": actual}]


def test_every_failed_rule_is_reported_not_only_the_first() -> None:
    row = _row(
        market="GB", followers=10, age_verified_18=False, videos_30d=0, standing="banned", enrolled=True
    )
    record = evaluate(row, "2022-09-30", RULES)
    assert [r.code for r in record.reasons] == [
        "followers_below_minimum",
        "age_not_verified",
        "too_few_recent_videos",
        "standing_not_allowed",
        "market_not_launched",
    ]
    assert record.reasons[-1].as_dict() == {
        "code": "market_not_launched",
        "required": "2022-10-01",
        "actual": "2022-09-30",
    }
    assert record.reasons[0].describe() == "followers_below_minimum: needs 100000, has 10"


def test_a_market_launches_on_its_launch_date() -> None:
    assert evaluate(_row(market="GB"), "2022-10-01", RULES).status == "active"


def test_fingerprint_changes_with_content_but_not_with_the_snapshot_date() -> None:
    first = evaluate(_row(), "2026-11-26", RULES)
    assert evaluate(_row(), "2026-11-27", RULES).fingerprint == first.fingerprint
    assert evaluate(_row(followers=250_001), "2026-11-27", RULES).fingerprint != first.fingerprint
    assert evaluate(_row(enrolled=False), "2026-11-27", RULES).fingerprint != first.fingerprint
