"""Typed reads of decoded JSON: each names the field it checks and raises the error it is given,
so that a malformed answer or object fails where it is read, with what was wrong, instead of as
a KeyError or TypeError deep inside the caller."""

from __future__ import annotations

import json
from typing import Any

from pulse_client.errors import PulseError


class Fields:
    """The fields of one JSON object. `where` says what the object is, in error messages; a field
    that is missing or of the wrong type raises `error(code, ...)`."""

    __slots__ = ("_code", "_error", "_obj", "_where")

    def __init__(
        self, obj: object, where: str, error: type[PulseError], code: str = "malformed_answer"
    ) -> None:
        if not isinstance(obj, dict):
            raise error(code, f"{where} is not a JSON object")
        self._obj: dict[str, Any] = obj
        self._where = where
        self._error = error
        self._code = code

    def fail(self, name: str, expected: str) -> PulseError:
        return self._error(self._code, f"{self._where}: {name} is not {expected}")

    def _get(self, name: str) -> Any:
        if name not in self._obj:
            raise self._error(self._code, f"{self._where}: {name} is missing")
        return self._obj[name]

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise self.fail(name, "a string")
        return value

    def text_or_none(self, name: str) -> str | None:
        value = self._get(name)
        if value is not None and not isinstance(value, str):
            raise self.fail(name, "a string or null")
        return value

    def flag(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            raise self.fail(name, "a boolean")
        return value

    def integer(self, name: str) -> int:
        value = self._get(name)
        if not is_int(value):
            raise self.fail(name, "an integer")
        return int(value)

    def integer_or_none(self, name: str) -> int | None:
        value = self._get(name)
        if value is None:
            return None
        if not is_int(value):
            raise self.fail(name, "an integer or null")
        return int(value)

    def texts(self, name: str) -> list[str]:
        value = self._get(name)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(name, "a list of strings")
        return value

    def array(self, name: str) -> list[Any]:
        value = self._get(name)
        if not isinstance(value, list):
            raise self.fail(name, "a list")
        return value

    def child(self, name: str) -> Fields:
        return Fields(self._get(name), f"{self._where}.{name}", self._error, self._code)

    def has(self, name: str) -> bool:
        return name in self._obj

    def items(self) -> list[tuple[str, Any]]:
        return list(self._obj.items())


def is_int(value: object) -> bool:
    """JSON integers only: a bool is an int to Python, never to JSON."""
    return isinstance(value, int) and not isinstance(value, bool)


def decode_json(body: bytes, where: str, error: type[PulseError]) -> object:
    """Strict UTF-8 JSON, or `error`: NaN and Infinity are refused like any other non-JSON text."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise error("not_json", f"{where} is not UTF-8 JSON: {str(exc)[:200]}") from None


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")
