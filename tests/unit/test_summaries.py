"""Run summaries are typed where they are made and plain JSON where they go (pulse.core.summary)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from pulse.core.runs import ClaimStore, run_once
from pulse.ingest.batch_run import BatchRunSummary
from pulse.lists.publication import PublicationOutcome
from pulse.lists.videos_snapshot import RefreshOutcome, VideosOutcome
from pulse.money.ledger import RevenueOutcome

PUBLISHED = PublicationOutcome(
    market="US", list_version="v1", snapshot="2026-11-27", entries={"gaming": 2}, excluded={}, unchanged=False
)


class MemoryClaims:
    """A ClaimStore that keeps completed summaries as the state table does: as JSON text."""

    def __init__(self) -> None:
        self.done: dict[str, str] = {}

    def claim(self, run_id: str, token: str, lease_seconds: int, attempt: str = "") -> dict[str, Any] | None:
        text = self.done.get(run_id)
        return None if text is None else json.loads(text)

    def complete(self, run_id: str, token: str, summary: dict[str, Any]) -> None:
        self.done[run_id] = json.dumps(summary)

    def release(self, run_id: str, token: str, attempt: str = "") -> None:
        pass


def _batch(outcome: VideosOutcome) -> BatchRunSummary:
    return BatchRunSummary(
        dataset="videos",
        market="US",
        batch="videos/market=US/snapshot=2026-11-27/",
        rows_read=3,
        rows_accepted=3,
        rows_rejected=0,
        rejected_by_reason={},
        report_key="ingest-reports/videos/market=US/snapshot=2026-11-27/report.json",
        status="processed",
        outcome=outcome,
    )


def test_fields_that_say_something_only_in_some_runs_are_left_out_when_none() -> None:
    ranked = VideosOutcome(snapshot="2026-11-27", pool_sizes={}, top_k={}, published=PUBLISHED)
    late = VideosOutcome(
        snapshot="2026-11-20", pool_sizes={}, top_k={}, superseded_by="2026-11-27", published=None
    )
    assert list(ranked.as_json()) == ["snapshot", "pool_sizes", "top_k", "published"]
    assert late.as_json()["published"] is None  # not left out: None says "not published"
    assert late.as_json()["superseded_by"] == "2026-11-27"
    assert RefreshOutcome(market="US", published=PUBLISHED).as_json() == {
        "market": "US",
        "published": PUBLISHED.as_json(),
    }
    assert "error" not in _batch(ranked).as_json()


def test_a_redelivered_run_gets_the_first_runs_summary_back_typed_and_whole() -> None:
    claims: ClaimStore = MemoryClaims()
    summary = _batch(VideosOutcome(snapshot="2026-11-27", pool_sizes={"gaming": 9}, top_k={}, published=None))
    runs = 0

    def work() -> BatchRunSummary:
        nonlocal runs
        runs += 1
        return summary

    first = run_once(claims, "BATCH#x", "t", work, BatchRunSummary, lease_seconds=60)
    again = run_once(claims, "BATCH#x", "t", work, BatchRunSummary, lease_seconds=60)
    assert (runs, first.duplicate, again.duplicate) == (1, False, True)
    assert again.summary.rows_read == 3
    assert again.as_json() == {**first.as_json(), "duplicate": True}


def test_an_outcome_takes_exactly_its_own_fields() -> None:
    with pytest.raises(ValidationError):
        RevenueOutcome.model_validate(
            {
                "entries_recorded": 1,
                "duplicates": 0,
                "not_on_list": 0,
                "revenue_micros_recorded": 5,
                "booked_late": 0,
                "last_closed_month": None,
                "unexpected": 1,
            }
        )
