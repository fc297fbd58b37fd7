"""`make costs`: volume tiers are charged tier by tier, and the table's figures add up."""

import pytest

from pulse_local import costs


def test_volume_tiers_are_charged_tier_by_tier() -> None:
    assert costs.tiered(333e6, costs.REST_TIERS) == pytest.approx(333 * 3.50)
    assert costs.tiered(1e9, costs.REST_TIERS) == pytest.approx(333 * 3.50 + 667 * 2.80)
    # 10,000 lookups a second for 30 days, as the issue priced it: about $2.2 a million.
    month = costs.tiered(25.92e9, costs.REST_TIERS)
    assert month == pytest.approx(333 * 3.50 + 667 * 2.80 + 19_000 * 2.38 + 5_920 * 1.51)
    assert month / 25_920 == pytest.approx(2.2065, abs=1e-4)
    assert costs.tiered(0, costs.HTTP_TIERS) == 0


def test_each_row_is_the_sum_of_its_parts_and_snapshot_clients_cost_only_their_polls() -> None:
    rows = costs.rows(10_000, instances=100, batch=100, before=True)
    for row in rows:
        assert row.total == pytest.approx(row.gateway + row.function + row.storage)
    by_way = {(r.front_door, r.how.split(",")[0]): r for r in rows}
    before = by_way[("REST API", "single lookups")]
    assert before.per_million(before.storage) == pytest.approx(costs.DYNAMODB_PER_MILLION_READS)
    snapshot = next(r for r in rows if r.front_door == "snapshot clients")
    polls = 100 * costs.SECONDS_A_MONTH / 10
    assert snapshot.gateway == pytest.approx(polls / 1e6 * 3.50)
    assert snapshot.total < min(r.total for r in rows if r is not snapshot)
