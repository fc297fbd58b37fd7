"""The daily refresh: parse the schedule's input, re-publish each market, report what happened."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pulse.bootstrap import clock, list_publication
from pulse.core.types import MARKET_PATTERN
from pulse.lists.videos_snapshot import refresh_market
from pulse.observability import logger, metrics


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    markets: list[str] | None = Field(default=None, min_length=1, max_length=50)


class RefreshInputError(ValueError):
    """The invocation's input is not a refresh request; nothing was published."""


def refresh_lists(event: dict[str, Any]) -> dict[str, Any]:
    try:
        request = RefreshRequest.model_validate(event)
    except ValidationError as exc:
        raise RefreshInputError(f'expected {{}} or {{"markets": [...]}}: {exc.errors()[0]["msg"]}') from exc
    publication = list_publication()
    launched = publication.rules.launched_markets(clock()().date())
    markets = request.markets if request.markets is not None else launched
    unknown = [m for m in markets if not MARKET_PATTERN.match(m) or m not in launched]
    if unknown:
        raise RefreshInputError(f"not launched programme markets: {unknown}")
    logger.info("refresh requested", extra={"markets": markets})
    metrics.add_metric(name="MarketsRefreshed", unit=MetricUnit.Count, value=len(markets))
    results = []
    for market in markets:
        result = refresh_market(market, publication.rankings, publication.publisher)
        logger.info("lists refreshed", extra=result.as_json())
        if result.published is not None:
            entries = sum(result.published.entries.values())
            metrics.add_metric(name="ListEntries", unit=MetricUnit.Count, value=entries)
            metrics.add_metric(name="ListsPublished", unit=MetricUnit.Count, value=1)
        results.append(result.as_json())
    return {"markets": results}
