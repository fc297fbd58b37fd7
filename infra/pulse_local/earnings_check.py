"""Earnings against statements and entries (spec §8.2), through the API as a creator calls it.

- `closed_month_equals_statements`: for every statement of a closed month (its `statements.csv`),
  `GET /v1/creators/{id}/earnings/{month}` equals it field for field, and its lines add up; the
  statement's document (its route gives the link) holds the same fields and the same lines;
- `open_month_equals_entries`: for every creator with entries in an open month, the answer equals
  the month's ledger entries folded (totals and every line), and its lines add up.

Used by `make demo` (on the demo's month end) and by tests/integration/test_earnings.py (a few
creators), so that both check the same thing.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

from pulse.aws import clients
from pulse.aws.dynamo import batch_get
from pulse.aws.ledger_table import DynamoLedgerStore, entry_from_item, entry_key
from pulse.aws.payout_table import DynamoPayoutStore
from pulse.money.earnings import (
    STATEMENT_FIELDS,
    AdjustmentLine,
    CampaignLine,
    Earnings,
    VideoLine,
    lines_add_up,
    lines_of,
)
from pulse.money.ledger import LedgerEntry
from pulse.money.payout import CSV_FIELDS
from pulse.money.statement_document import document_key
from pulse_cli.template import Stack

Get = Callable[[str], tuple[int, Any]]  # a path of the API -> (status, JSON body)


class EarningsDiffer(AssertionError):
    """An earnings answer differs from what it must equal."""


def _earnings(get: Get, market: str, month: str, creator: str) -> dict[str, Any]:
    status, body = get(f"/v1/creators/{creator}/earnings/{month}?market={market}")
    if status != 200:
        raise EarningsDiffer(f"{creator} {month}: {status} {body}")
    _check_lines(body)
    return body  # type: ignore[no-any-return]


def _check_lines(e: dict[str, Any]) -> None:
    """The answer's lines add up as the domain says they must (`earnings.lines_add_up`)."""
    answer = Earnings(
        **{
            **e,
            "videos": [VideoLine(**v) for v in e["videos"]],
            "campaigns": [CampaignLine(**c) for c in e["campaigns"]],
            "adjustments": [AdjustmentLine(**a) for a in e["adjustments"]],
        }
    )
    if not lines_add_up(answer):
        raise EarningsDiffer(f"{e['creator_id']} {e['month']}: the lines do not add up: {e}")


def closed_month_equals_statements(stack: Stack, get: Get, market: str, month: str) -> int:
    """Every statement of the closed month against the route; returns how many were compared."""
    key = f"payouts/market={market}/month={month}/statements.csv"
    body = clients.s3().get_object(Bucket=stack.name_of("ReportsBucket"), Key=key)["Body"].read()
    count = 0
    for row in csv.DictReader(io.StringIO(body.decode())):
        answer = _earnings(get, market, month, row["creator_id"])
        differ = [name for name in STATEMENT_FIELDS if str(answer[name]) != row[name]]
        if differ or not answer["closed"]:
            raise EarningsDiffer(f"{row['creator_id']} {month}: {differ or 'closed'} differ: {answer} {row}")
        _document_equals(stack, get, row, answer)
        count += 1
    return count


def _document_equals(stack: Stack, get: Get, row: dict[str, str], answer: dict[str, Any]) -> None:
    """The statement's document (through its route's link) holds the statement's row and the
    earnings' lines."""
    creator, market, month = row["creator_id"], row["market"], row["month"]
    status, link = get(f"/v1/creators/{creator}/statements/{month}/document?market={market}")
    key = document_key(market, month, creator)
    if status != 200 or key.rsplit("/", 1)[1] + "?" not in link["url"]:
        raise EarningsDiffer(f"{creator} {month}: no link to its document: {status} {link}")
    body = clients.s3().get_object(Bucket=stack.name_of("ReportsBucket"), Key=key)["Body"].read()
    document = json.loads(body)
    differ = [name for name in CSV_FIELDS if str(document[name]) != row[name]]
    differ += [name for name in ("videos", "campaigns", "adjustments") if document[name] != answer[name]]
    if differ:
        raise EarningsDiffer(f"{creator} {month}: the document's {differ} differ: {document} {row}")


def open_month_equals_entries(stack: Stack, get: Get, market: str, month: str) -> int:
    """Every creator with entries in the (open) month against its entries; returns how many."""
    table = stack.name_of("StateTable")
    ledger = DynamoLedgerStore(table)
    count = 0
    for creator, _ in DynamoPayoutStore(table).month_totals(market, month):
        answer = _earnings(get, market, month, creator)
        folded = lines_of(ledger.entries(market, month, creator))
        expected = {
            "gross_revenue_micros": folded.totals.gross_micros,
            "adjustments_micros": folded.totals.adjustments_micros,
            "impressions": folded.totals.impressions,
            "late_revenue_micros": folded.late_micros,
            "videos": sorted(
                (*k.line_id.split("#", 1), i.impressions, i.revenue_micros)
                for k, i in folded.lines.items()
                if k.kind == "V"
            ),
            "campaigns": sorted(
                (k.line_id, i.impressions, i.revenue_micros) for k, i in folded.lines.items() if k.kind == "C"
            ),
            "adjustments": sorted(
                (k.line_id, i.revenue_micros, i.text) for k, i in folded.lines.items() if k.kind == "A"
            ),
        }
        got = {
            **{name: answer[name] for name in list(expected)[:4]},
            "videos": sorted(
                (v["video_id"], v["category"], v["impressions"], v["revenue_micros"])
                for v in answer["videos"]
            ),
            "campaigns": sorted(
                (c["campaign_id"], c["impressions"], c["revenue_micros"]) for c in answer["campaigns"]
            ),
            "adjustments": sorted(
                (a["adjustment_id"], a["revenue_micros"], a["reason"]) for a in answer["adjustments"]
            ),
        }
        if got != expected or answer["closed"]:
            raise EarningsDiffer(f"{creator} {month}: {got} != the entries' {expected}")
        count += 1
    return count


def aggregates_equal_entries(
    stack: Stack, market: str, months: Iterable[str], creators: Iterable[str]
) -> int:
    """The kept totals and lines of each creator-month equal its entries (read from index
    `ledger`) folded; returns how many creator-months were compared."""
    ledger = DynamoLedgerStore(stack.name_of("StateTable"))
    return aggregates_equal(
        stack, market, [e for m in months for c in creators for e in ledger.entries(market, m, c)]
    )


def aggregates_equal(stack: Stack, market: str, entries: Iterable[LedgerEntry]) -> int:
    """The kept totals and lines of every creator-month of `entries` equal those entries folded:
    for checks that know every entry booked (the fault sweeps, which read each batch's entries by
    id: on moto an index Query reads the whole table, and a sweep checks after every fault)."""
    ledger = DynamoLedgerStore(stack.name_of("StateTable"))
    by_month: dict[tuple[str, str], list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        by_month[(entry.month, entry.creator_id)].append(entry)
    for (month, creator), booked in sorted(by_month.items()):
        kept = ledger.month_lines(market, month, creator)
        folded = lines_of(booked)
        if kept != folded:
            raise EarningsDiffer(f"{creator} {month}: kept {kept} != the entries' {folded}")
    return len(by_month)


def entries_by_id(stack: Stack, market: str, kind: str, entry_ids: Iterable[str]) -> list[LedgerEntry]:
    """The entries the ledger holds among those ids (BatchGetItem: the cost follows the ids)."""
    keys = [entry_key(market, kind, entry_id) for entry_id in sorted(set(entry_ids))]
    names = {f"#a{i}": name for i, name in enumerate(_ENTRY_FIELDS)}  # month, source: reserved words
    found = batch_get(stack.name_of("StateTable"), keys, ", ".join(names), names, consistent=True)
    return [entry_from_item(item) for item in found]


_ENTRY_FIELDS = tuple(f.name for f in fields(LedgerEntry))
