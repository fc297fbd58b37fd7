"""The shapes every input shares, defined once: ids, markets, categories, dates and months.

File rows (`pulse.ingest.records`), batch folders, the API's paths and bodies, the schedules'
inputs and the rules document all use these, so a format cannot drift between them. The patterns
spell digits as [0-9]: `\\d` would also match other scripts' digits.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

ID = r"^[A-Za-z0-9_-]{1,64}$"
ID_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"  # ID's, for fast checks
MARKET = r"^[A-Z]{2}$"
CATEGORY = r"^[a-z][a-z0-9_]{0,31}$"
CURRENCY = r"^[A-Z]{3}$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"

ID_PATTERN = re.compile(ID)
MARKET_PATTERN = re.compile(MARKET)
CATEGORY_PATTERN = re.compile(CATEGORY)
CURRENCY_PATTERN = re.compile(CURRENCY)
DATE_PATTERN = re.compile(DATE)
MONTH_PATTERN = re.compile(MONTH)


def _real_date(value: str) -> str:
    dt.date.fromisoformat(value)  # raises ValueError for 2026-02-30
    return value


Id = Annotated[str, StringConstraints(pattern=ID)]
MarketCode = Annotated[str, StringConstraints(pattern=MARKET)]
CategorySlug = Annotated[str, StringConstraints(pattern=CATEGORY)]
CurrencyCode = Annotated[str, StringConstraints(pattern=CURRENCY)]
IsoDate = Annotated[str, StringConstraints(pattern=DATE), AfterValidator(_real_date)]
IsoMonth = Annotated[str, StringConstraints(pattern=MONTH)]


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"
