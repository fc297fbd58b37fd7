"""The API's routes as typed calls: a lookup, a batch, the snapshot answer, the snapshot object.

Statuses are judged here: 200 is decoded by `answers`; 304 and 404 `no_list` are outcomes of a
snapshot poll; any other status that the transport did not retry is the API refusing the request
(`PulseRequestError` with the API's code and message).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from pulse_client import answers
from pulse_client.answers import SnapshotAnswer
from pulse_client.errors import (
    PulseProtocolError,
    PulseRequestError,
    PulseUnavailableError,
    SnapshotRefusedError,
)
from pulse_client.placement import Placement
from pulse_client.retry import RetryPolicy
from pulse_client.transport import Reply, Transport

BATCH_LIMIT = 100  # video ids per POST /v1/placements/batch, the API's own limit


class Poll(enum.Enum):
    """A snapshot poll that has no new answer."""

    NOT_MODIFIED = "not_modified"  # 304: the version named by If-None-Match is still current
    NO_LIST = "no_list"  # 404 no_list: the market has no published list yet


class PulseApi:
    def __init__(
        self, base_url: str, transport: Transport, lookups: RetryPolicy, refreshes: RetryPolicy
    ) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        self._base = base_url.rstrip("/")
        self._transport = transport
        self._lookups = lookups
        self._refreshes = refreshes

    def placement(self, video_id: str, market: str) -> Placement:
        url = f"{self._base}/v1/placements/{quote(video_id, safe='')}?{_query(market=market)}"
        reply = _ok(self._transport.request("GET", url, self._lookups))
        found = answers.placement(reply.body)
        if (found.video_id, found.market) != (video_id, market):
            raise PulseProtocolError(
                "malformed_answer", f"asked for {video_id}/{market}, answered {found.video_id}/{found.market}"
            )
        return found

    def batch(self, video_ids: Sequence[str], market: str) -> list[Placement]:
        """One POST of at most BATCH_LIMIT distinct ids: their placements, in the same order."""
        body = json.dumps({"market": market, "video_ids": list(video_ids)}, separators=(",", ":")).encode()
        reply = self._transport.request(
            "POST",
            f"{self._base}/v1/placements/batch",
            self._lookups,
            headers={"Content-Type": "application/json"},
            body=body,
        )
        return answers.batch(_ok(reply).body, market, video_ids)

    def snapshot(self, market: str, etag: str | None) -> SnapshotAnswer | Poll:
        headers = {"If-None-Match": etag} if etag else {}
        url = f"{self._base}/v1/placements/snapshot?{_query(market=market)}"
        reply = self._transport.request("GET", url, self._refreshes, headers=headers)
        if reply.status == 304:
            return Poll.NOT_MODIFIED
        if reply.status == 404 and answers.error(reply.body, 404)[0] == "no_list":
            return Poll.NO_LIST
        found = answers.snapshot(_ok(reply).body, reply.headers.get("ETag"))
        if found.market != market:
            raise PulseProtocolError(
                "malformed_answer", f"asked for the snapshot of {market}, got {found.market}"
            )
        return found

    def download(self, answer: SnapshotAnswer) -> bytes:
        """The stored object, unsigned (the URL is presigned), read up to the size the answer gives."""
        try:
            reply = self._transport.request(
                "GET", answer.url, self._refreshes, signed=False, max_bytes=answer.size
            )
        except PulseUnavailableError as exc:
            if exc.code == "answer_too_large":
                raise SnapshotRefusedError(
                    "size_mismatch", f"the object is over the {answer.size} bytes the answer says"
                ) from None
            raise
        if reply.status != 200:
            code, message = answers.error(reply.body, reply.status)
            raise PulseRequestError(code, f"the snapshot object: {message}", status=reply.status)
        return reply.body


def _ok(reply: Reply) -> Reply:
    if reply.status != 200:
        code, message = answers.error(reply.body, reply.status)
        raise PulseRequestError(code, message, status=reply.status)
    return reply


def _query(**params: str) -> str:
    # Percent-encoded as SigV4 canonicalises it (RFC 3986), so that the URL sent is the URL signed.
    return urlencode(params, quote_via=quote, safe="-_.~")
