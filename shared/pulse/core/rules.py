"""The programme rules document (spec §2): every threshold is data, validated when loaded.

The document ships inside the package (`programme_rules.json`) so that every function, the CLI and
the tests read the very same rules; each record the system writes names `Rules.version`.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pulse.core.types import CATEGORY_PATTERN, CURRENCY_PATTERN, MARKET_PATTERN

Bps = Annotated[int, Field(ge=0, le=10_000)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Currency(_Frozen):
    minor_unit_digits: int = Field(ge=0, le=6)

    @property
    def minor_unit_micros(self) -> int:
        """Micros in one minor unit (one cent for 2 digits: 10_000 micros)."""
        return int(10 ** (6 - self.minor_unit_digits))


class Market(_Frozen):
    currency: str
    launch_date: dt.date = Field(strict=False)


class Category(_Frozen):
    name: str = Field(min_length=1)
    iab_ids: tuple[str, ...] = Field(min_length=1, strict=False)


class Rules(_Frozen):
    version: str = Field(min_length=1, max_length=64)
    currencies: dict[str, Currency]
    markets: dict[str, Market]
    categories: dict[str, Category]
    min_followers: int = Field(ge=0)
    age_verified_18_required: bool
    min_videos_30d: int = Field(ge=0)
    allowed_standing: frozenset[str] = Field(strict=False)
    top_percent_bps: Bps
    creator_share_bps: Bps
    payout_minimum_micros: int = Field(ge=0)
    eligibility_max_age_days: int = Field(ge=1)
    list_retention_days: int = Field(ge=1)

    @field_validator("currencies")
    @classmethod
    def _currency_codes(cls, value: dict[str, Currency]) -> dict[str, Currency]:
        bad = [code for code in value if not CURRENCY_PATTERN.match(code)]
        if bad:
            raise ValueError(f"currency codes must be ISO 4217 (3 capitals): {bad}")
        return value

    @field_validator("categories")
    @classmethod
    def _category_slugs(cls, value: dict[str, Category]) -> dict[str, Category]:
        bad = [slug for slug in value if not CATEGORY_PATTERN.match(slug)]
        if bad:
            raise ValueError(f"category slugs must be lower snake case: {bad}")
        if not value:
            raise ValueError("at least one category is required")
        return value

    @field_validator("allowed_standing")
    @classmethod
    def _standings(cls, value: frozenset[str]) -> frozenset[str]:
        unknown = value - STANDINGS
        if unknown:
            raise ValueError(f"unknown standing values: {sorted(unknown)}")
        return value

    @model_validator(mode="after")
    def _markets_are_consistent(self) -> Rules:
        for code, market in self.markets.items():
            if not MARKET_PATTERN.match(code):
                raise ValueError(f"market code {code!r} must be two capital letters")
            if market.currency not in self.currencies:
                raise ValueError(f"market {code} uses undeclared currency {market.currency}")
        return self

    def market(self, code: str) -> Market:
        return self.markets[code]

    def currency_of(self, market: str) -> str:
        return self.markets[market].currency

    def minor_unit_micros(self, market: str) -> int:
        return self.currencies[self.currency_of(market)].minor_unit_micros

    def launched_markets(self, on: dt.date) -> list[str]:
        return sorted(code for code, m in self.markets.items() if m.launch_date <= on)


STANDINGS = frozenset({"good", "warning", "restricted", "banned"})


def parse_rules(document: str | bytes) -> Rules:
    """Validate a rules document; raises pydantic.ValidationError with every problem found."""
    return Rules.model_validate(json.loads(document))


@cache
def load_rules(path: str | None = None) -> Rules:
    """The rules in force: the packaged document, or `path` (tests and what-if runs)."""
    if path is not None:
        return parse_rules(Path(path).read_bytes())
    return parse_rules(resources.files("pulse.core").joinpath("programme_rules.json").read_bytes())
