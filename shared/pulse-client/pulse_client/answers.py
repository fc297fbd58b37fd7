"""The API's answers, decoded and checked: a placement, a batch, a snapshot answer, an error body.
Anything that is not the promised shape raises `PulseProtocolError` here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from pulse_client.errors import PulseProtocolError
from pulse_client.json_fields import Fields, decode_json
from pulse_client.placement import Campaign, Placement


@dataclass(frozen=True, slots=True)
class SnapshotAnswer:
    """`GET /v1/placements/snapshot`: where the market's current list version is, and what its
    stored object must be (`size` bytes, `sha256` of those bytes)."""

    market: str
    list_version: str
    entries: int
    size: int
    sha256: str
    url: str
    expires_in: int
    etag: str | None


def placement(body: bytes) -> Placement:
    return _placement(_decoded(body, "placement"))


def batch(body: bytes, market: str, video_ids: Sequence[str]) -> list[Placement]:
    """The batch answer's results, checked to be one per requested id, in request order."""
    answer = _decoded(body, "batch")
    results = answer.array("results")
    if len(results) != len(video_ids):
        raise PulseProtocolError(
            "malformed_answer", f"the batch answer has {len(results)} results for {len(video_ids)} ids"
        )
    placements = [
        _placement(Fields(item, f"batch.results[{i}]", PulseProtocolError)) for i, item in enumerate(results)
    ]
    for asked, found in zip(video_ids, placements, strict=True):
        if found.video_id != asked or found.market != market:
            raise PulseProtocolError(
                "malformed_answer",
                f"the batch answer has {found.video_id}/{found.market} where {asked} was asked",
            )
    return placements


def snapshot(body: bytes, etag: str | None) -> SnapshotAnswer:
    answer = _decoded(body, "snapshot")
    url = answer.text("url")
    if not url.startswith(("https://", "http://")):
        raise answer.fail("url", "an http(s) URL")
    sha256 = answer.text("sha256").lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise answer.fail("sha256", "a hex SHA-256")
    found = SnapshotAnswer(
        market=answer.text("market"),
        list_version=answer.text("list_version"),
        entries=answer.integer("entries"),
        size=answer.integer("bytes"),
        sha256=sha256,
        url=url,
        expires_in=answer.integer("expires_in"),
        etag=etag,
    )
    if found.size < 0 or found.entries < 0:
        raise PulseProtocolError("malformed_answer", "snapshot: bytes and entries must not be negative")
    return found


def error(body: bytes, status: int) -> tuple[str, str]:
    """The (code, message) of an error answer. Lenient, unlike the rest: the answer is an error
    whatever its shape, and API Gateway's own errors (429, 502, 504, 403) say `{"message": ...}`."""
    try:
        found = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        found = None
    if isinstance(found, dict):
        inner = found.get("error")
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            return inner["code"], str(inner.get("message", ""))[:500]
        if isinstance(found.get("message"), str):
            return f"http_{status}", found["message"][:500]
    text = body[:200].decode("utf-8", "replace").strip()
    return f"http_{status}", text or f"HTTP {status} with no error body"


def _decoded(body: bytes, what: str) -> Fields:
    return Fields(decode_json(body, f"the {what} answer", PulseProtocolError), what, PulseProtocolError)


def _placement(found: Fields) -> Placement:
    return Placement(
        video_id=found.text("video_id"),
        market=found.text("market"),
        placeable=found.flag("placeable"),
        list_version=found.text_or_none("list_version"),
        category=found.text_or_none("category"),
        iab_categories=tuple(found.texts("iab_categories")),
        rank=found.integer_or_none("rank"),
        creator_id=found.text_or_none("creator_id"),
        campaigns=tuple(_campaign(item, i) for i, item in enumerate(found.array("campaigns"))),
        source="http",
    )


def _campaign(item: object, index: int) -> Campaign:
    found = Fields(item, f"campaigns[{index}]", PulseProtocolError)
    return Campaign(found.text("campaign_id"), found.text("advertiser"), found.integer("priority"))
