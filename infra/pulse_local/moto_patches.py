"""A faster rollback for moto's TransactWriteItems, for the local stack and the benchmarks.

moto 5 backs up every table a transaction touches with `copy.deepcopy` before applying it, so
each transaction costs time in proportion to the whole table: a million ledger entries would
make every later transaction copy a million items. This patch keeps moto's semantics (all or
nothing, the same errors and cancellation reasons) but backs up only the items the transaction
names, and puts them back if it is cancelled. It changes the test double, never the code under test.
"""

from __future__ import annotations

import copy
from typing import Any


def install() -> None:
    from moto.dynamodb import models  # noqa: PLC0415
    from moto.dynamodb.models.table import Table  # noqa: PLC0415

    if getattr(models.DynamoDBBackend.transact_write_items, "_pulse_patched", False):
        return
    original = models.DynamoDBBackend.transact_write_items

    class _KeepTables:
        """`copy` as moto's transaction code sees it: tables are not copied, anything else is."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    setattr(models, "copy", _KeepTables)  # noqa: B010  # the name moto's module looks up

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved: list[tuple[str, dict[str, Any], Any]] = []
        for entry in transact_items[:100]:
            _, op = next(iter(entry.items()))
            name = op.get("TableName")
            if name not in self.tables:
                continue
            table = self.tables[name]
            if "Item" in op:
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            current = self.get_item(name, key)
            saved.append((name, key, None if current is None else current.to_json()["Attributes"]))
        try:
            original(self, transact_items)
        except Exception:
            for name, key, attributes in reversed(saved):
                if attributes is None:
                    if self.get_item(name, key) is not None:
                        self.delete_item(name, key)
                else:
                    self.put_item(name, copy.deepcopy(attributes))
            raise

    transact_write_items._pulse_patched = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
