import datetime as dt
import json

import pytest
from pydantic import ValidationError

from pulse.core.rules import load_rules, parse_rules


def _document(**changes: object) -> str:
    base = load_rules().model_dump(mode="json")
    base.update(changes)
    return json.dumps(base)


def test_the_packaged_rules_carry_the_defaults_of_the_spec() -> None:
    rules = load_rules()
    assert rules.version
    assert rules.min_followers == 100_000
    assert rules.age_verified_18_required is True
    assert rules.min_videos_30d == 5
    assert rules.allowed_standing == frozenset({"good"})
    assert rules.top_percent_bps == 400
    assert rules.creator_share_bps == 5000
    assert rules.payout_minimum_micros == 50_000_000
    assert rules.eligibility_max_age_days == 7
    assert rules.list_retention_days == 45
    assert len(rules.categories) == 12
    assert rules.categories["tv_movies"].iab_ids == ("640", "324")
    assert {m: (v.currency, v.launch_date.isoformat()) for m, v in rules.markets.items()} == {
        "US": ("USD", "2022-06-01"),
        "GB": ("GBP", "2022-10-01"),
        "DE": ("EUR", "2022-10-01"),
        "FR": ("EUR", "2022-10-01"),
        "IT": ("EUR", "2022-10-01"),
        "ES": ("EUR", "2022-10-01"),
    }
    assert rules.minor_unit_micros("GB") == 10_000


def test_launched_markets_follow_launch_dates() -> None:
    rules = load_rules()
    assert rules.launched_markets(dt.date(2022, 7, 1)) == ["US"]
    assert rules.launched_markets(dt.date(2022, 10, 1)) == ["DE", "ES", "FR", "GB", "IT", "US"]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"top_percent_bps": 10_001}, "top_percent_bps"),
        ({"creator_share_bps": -1}, "creator_share_bps"),
        ({"version": ""}, "version"),
        ({"allowed_standing": ["good", "superb"]}, "superb"),
        ({"markets": {"US": {"currency": "XXX", "launch_date": "2022-06-01"}}}, "undeclared currency"),
        ({"categories": {"Bad Slug": {"name": "x", "iab_ids": ["1"]}}}, "snake case"),
        ({"min_followers": "100000"}, "min_followers"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_an_invalid_rules_document_is_refused_with_the_reason(
    change: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        parse_rules(_document(**change))
