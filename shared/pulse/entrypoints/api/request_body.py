"""What a request body may be (JSON, UTF-8, small, strictly parsed): shared by the resolver's
routes and the hot path, so that both accept exactly the same bodies."""

from __future__ import annotations

import base64
import json
from typing import Any

MAX_BODY_BYTES = 16_384


def strict_json(text: str) -> Any:
    """The body's JSON, strictly: a duplicate key, NaN or Infinity, too deep a nesting or too long
    a number fails to parse like any other malformed JSON (the resolver answers that with a 400)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as exc:  # nesting past the stack; an int of over 4300 digits
        raise json.JSONDecodeError(str(exc)[:200], text, 0) from exc


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise ValueError("a key is given twice")
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def body_bytes(event: dict[str, Any]) -> bytes | None:
    """The body as sent (API Gateway passes a body that is not UTF-8 text base64-encoded)."""
    body = str(event.get("body") or "")
    try:
        if event.get("isBase64Encoded"):
            return base64.b64decode(body, validate=True)
        return body.encode("utf-8", "surrogatepass")
    except ValueError:  # binascii.Error is one
        return None


def is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
