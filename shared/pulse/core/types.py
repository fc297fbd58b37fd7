"""Identifier formats shared by every input: file rows, S3 keys and HTTP paths (spec §3)."""

import re

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MARKET_PATTERN = re.compile(r"^[A-Z]{2}$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH_PATTERN = re.compile(r"^\d{4}-\d{2}$")
