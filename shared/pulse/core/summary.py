"""What a run reports: a typed model where it is made, plain JSON where it goes.

Every run of Pulse (a batch, a publication, a market's month end, a refresh) says what it did. The
code that makes a summary and the code that reads it (handlers, metrics, tests) use its fields;
the places it goes (the ingest report, an event's detail, a completed claim, a Lambda's result,
`summary.json`) get `as_json()`, whose keys are the fields in the order they are declared.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer


class Summary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Fields that are left out of the JSON when they are None, rather than written as null: they
    # say something only in some runs (a superseded snapshot, a refresh with nothing to publish).
    omitted_when_none: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _omit_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.omitted_when_none:
            return {k: v for k, v in data.items() if v is not None or k not in self.omitted_when_none}
        return data

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
