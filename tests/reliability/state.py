"""What readers see of the system, and a fresh account to start from: the reliability tests'
measures of "nothing changed" and "the same as an undisturbed run"."""

from __future__ import annotations

from typing import Any

import boto3
from moto.core.base_backend import BackendDict

from pulse import bootstrap
from pulse.aws.list_table import DynamoListStore
from pulse.core.rules import load_rules
from pulse_cli.template import REGION, Stack
from pulse_local.resources import create_resources

RULES = load_rules()
ListsContent = tuple[dict[str, list[tuple[int, str, str, int]]], list[Any]]


def lists_content(stack: Stack, market: str = "US") -> ListsContent:
    """Everything a reader sees of a market's lists, through the read paths, less the version name."""
    store = DynamoListStore(stack.name_of("StateTable"))
    current = store.current(market)
    assert current is not None
    lists = {
        c: [(e.rank, e.video_id, e.creator_id, e.score) for e in store.entries(market, current.version, c)]
        for c in RULES.categories
    }
    ids = [v for entries in lists.values() for _, v, _, _ in entries]
    placements = sorted(store.placements(market, current.version, ids).items())
    return {c: v for c, v in lists.items() if v}, placements


def fresh_account(stack: Stack) -> None:
    """An empty moto account holding the template's resources, and functions that forgot it all."""
    BackendDict.reset()
    bootstrap.reset()
    create_resources(stack)


def table_items(stack: Stack) -> list[dict[str, Any]]:
    """Every item of the state table, as stored."""
    pages = boto3.client("dynamodb", region_name=REGION).get_paginator("scan")
    return [item for page in pages.paginate(TableName=stack.name_of("StateTable")) for item in page["Items"]]


def report_objects(stack: Stack) -> dict[str, bytes]:
    """Every object of the reports bucket, by key, as stored."""
    s3, bucket = boto3.client("s3", region_name=REGION), stack.name_of("ReportsBucket")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}
