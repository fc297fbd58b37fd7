"""Opaque pagination cursors for the toplists endpoint: which list version, and after which rank.

A cursor pins the list version it started on, so paging through a list never mixes versions even
if a new one is published meanwhile (old versions stay readable for list_retention_days).
"""

from __future__ import annotations

import base64
import binascii
import json
import re

_VERSION = re.compile(r"^[0-9]{1,20}$")


class BadCursor(ValueError):
    pass


def encode_cursor(version: str, after_rank: int) -> str:
    raw = json.dumps({"v": version, "r": after_rank}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    if not cursor or len(cursor) > 200:
        raise BadCursor("cursor is not one this API returned")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise BadCursor("cursor is not one this API returned") from exc
    if not isinstance(document, dict) or set(document) != {"v", "r"}:
        raise BadCursor("cursor is not one this API returned")
    version, rank = document["v"], document["r"]
    if not isinstance(version, str) or not _VERSION.match(version) or type(rank) is not int or rank < 0:
        raise BadCursor("cursor is not one this API returned")
    return version, rank
