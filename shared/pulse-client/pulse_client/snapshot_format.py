"""The snapshot object, format `pulse.placements/1`: checked, decoded and indexed.

The object is gzip-compressed UTF-8 JSON; the snapshot answer gives the size and the sha256 of the
stored (compressed) bytes, which are checked before anything is decompressed, so that nothing but
the exact bytes the API published is ever decoded. The JSON holds, per category, the category's
IAB ids and columns of one length (video_ids, ranks, creator_ids, and the scores that no lookup
answers: checked when present, never kept). Everything a lookup can
answer is built here, once per version: the index maps each listed video to its finished
`Placement`, so that a lookup is one dict access.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pulse_client.answers import SnapshotAnswer
from pulse_client.errors import SnapshotRefusedError
from pulse_client.json_fields import Fields, decode_json, is_int
from pulse_client.placement import Placement

FORMAT = "pulse.placements/1"
# The API's video id (spec §4). A listed id is valid by construction; any other is checked before
# the index answers "not listed", so that an id the API would refuse with a 400 is not answered.
VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Not-listed answers kept per index: most videos are not listed, and the popular ones are asked
# for again and again. Bounded (cleared when full), since the ids asked for are not.
NOT_LISTED_KEPT = 16_384
_NO_IAB: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SnapshotIndex:
    """One whole list version of one market. Its answers never change: a new version is a new index."""

    market: str
    list_version: str
    sha256: str
    snapshot: str
    published_at: str
    placements: Mapping[str, Placement]  # the listed videos only
    _not_listed: dict[str, Placement] = field(default_factory=dict, compare=False, repr=False)

    def answer(self, video_id: str) -> Placement | None:
        """The API's answer at this version, or None for an id the API would refuse."""
        found = self.placements.get(video_id) or self._not_listed.get(video_id)
        if found is not None:
            return found
        if not VIDEO_ID.fullmatch(video_id):
            return None
        # Built once and kept: a frozen dataclass takes microseconds to build, a dict access does not.
        # (Two threads may both build one; the answers are equal, and dict operations are atomic.)
        found = Placement(
            video_id, self.market, False, self.list_version, None, _NO_IAB, None, None, None, "snapshot"
        )
        if len(self._not_listed) >= NOT_LISTED_KEPT:
            self._not_listed.clear()
        self._not_listed[video_id] = found
        return found


def verify(data: bytes, answer: SnapshotAnswer) -> None:
    if len(data) != answer.size:
        raise SnapshotRefusedError(
            "size_mismatch", f"the object has {len(data)} bytes, the answer says {answer.size}"
        )
    digest = hashlib.sha256(data).hexdigest()
    if digest != answer.sha256:
        raise SnapshotRefusedError(
            "sha256_mismatch", f"the object's sha256 is {digest}, the answer says {answer.sha256}"
        )


def decode(data: bytes, answer: SnapshotAnswer) -> SnapshotIndex:
    """The index of the object `data`, downloaded for `answer`, or `SnapshotRefusedError`."""
    verify(data, answer)
    try:
        text = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise SnapshotRefusedError("not_gzip", f"the object is not gzip: {exc}") from None
    decoded = decode_json(text, "the snapshot object", SnapshotRefusedError)
    doc = Fields(decoded, "object", SnapshotRefusedError, "malformed_object")
    found = doc.text("format")
    if found != FORMAT:
        raise SnapshotRefusedError(
            "unknown_format", f"the object's format is {found[:100]!r}, not {FORMAT!r}"
        )
    market, version = doc.text("market"), doc.text("list_version")
    if (market, version) != (answer.market, answer.list_version):
        raise SnapshotRefusedError(
            "version_mismatch",
            f"the object holds {market}/{version}, the answer says {answer.market}/{answer.list_version}",
        )
    iab = _iab_categories(doc.child("iab_categories"))
    placements = _placements(doc.child("lists"), iab, market, version)
    if len(placements) != answer.entries:
        raise SnapshotRefusedError(
            "entries_mismatch", f"the object lists {len(placements)} videos, the answer says {answer.entries}"
        )
    return SnapshotIndex(
        market=market,
        list_version=version,
        sha256=answer.sha256,
        snapshot=doc.text("snapshot"),
        published_at=doc.text("published_at"),
        placements=MappingProxyType(placements),
    )


def _iab_categories(found: Fields) -> dict[str, tuple[str, ...]]:
    iab: dict[str, tuple[str, ...]] = {}
    for category, ids in found.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise found.fail(category, "a list of strings")
        iab[category] = tuple(ids)
    return iab


def _placements(
    lists: Fields, iab: Mapping[str, tuple[str, ...]], market: str, version: str
) -> dict[str, Placement]:
    categories = [category for category, _ in lists.items()]
    if set(categories) != set(iab):
        raise SnapshotRefusedError(
            "malformed_object", "the object's lists and iab_categories do not name the same categories"
        )
    placements: dict[str, Placement] = {}
    listed = 0
    for category in categories:
        columns = lists.child(category)
        video_ids, creator_ids = columns.texts("video_ids"), columns.texts("creator_ids")
        ranks = columns.array("ranks")
        if not all(is_int(rank) for rank in ranks):
            raise columns.fail("ranks", "a list of integers")
        # `scores`, the fourth column, answers no lookup; it is checked, not kept, when it is there.
        scores = columns.array("scores") if columns.has("scores") else ranks
        if not all(is_int(score) for score in scores):
            raise columns.fail("scores", "a list of integers")
        if not len(video_ids) == len(ranks) == len(creator_ids) == len(scores):
            raise SnapshotRefusedError("malformed_object", f"the columns of {category} differ in length")
        categories_iab = iab[category]
        for video_id, rank, creator_id in zip(video_ids, ranks, creator_ids, strict=True):
            placements[video_id] = Placement(
                video_id, market, True, version, category, categories_iab, rank, creator_id, None, "snapshot"
            )
        listed += len(video_ids)
    if len(placements) != listed:
        raise SnapshotRefusedError("malformed_object", "a video is listed more than once in the version")
    return placements
