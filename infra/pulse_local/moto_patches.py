"""Two speed-ups of moto's DynamoDB, for the local stack and the benchmarks. Each changes the test
double, never the code under test, and keeps moto's answers.

A faster rollback for moto's TransactWriteItems, one transaction at a time:

moto 5 backs up every table a transaction touches with `copy.deepcopy` before applying it, so
each transaction costs time in proportion to the whole table: a million ledger entries would
make every later transaction copy a million items. This patch keeps moto's semantics (all or
nothing, the same errors and cancellation reasons) but backs up only the items the transaction
names, and puts them back if it is cancelled.

A Query of the table (not of an index) that reads only its partition: moto 5 collects and sorts
every item of the table for each Query, then keeps those of the asked partition. With `make run`'s
hundred thousand items, a Query took a tenth of a second of moto's one process, and a few readers
at once (a user's top-list calls beside the demo's own) made the whole server time out. The patch
hands moto's query code the asked partition's items only, in the same order.
"""

from __future__ import annotations

import copy
import inspect
import threading
from typing import Any

_partition = threading.local()  # the (table, hash key) a table Query on this thread asks for
# DynamoDB runs transactions in isolation; moto does not. Two at once on the same item (a ledger's
# sharded totals, a creator's lines: the ingest writes from worker threads, the server serves
# requests on threads) could interleave, and a cancelled one's rollback would put back an item as
# it was before the other's increment, losing it. One transaction at a time here.
_one_transaction = threading.Lock()


def install() -> None:
    _install_transactions()
    _install_partition_queries()


def _install_partition_queries() -> None:
    from moto.dynamodb.models.table import Table  # noqa: PLC0415

    if getattr(Table.query, "_pulse_patched", False):
        return
    original_query = Table.query
    original_all_items = Table.all_items
    signature = inspect.signature(original_query)

    def all_items(self: Any) -> list[Any]:
        asked = getattr(_partition, "asked", None)
        if asked is None or asked[0] is not self:
            return original_all_items(self)
        hash_set = self.items.get(asked[1])  # .get: the partition dict is a defaultdict
        if hash_set is None:
            return []
        if not self.range_key_attr:
            return [hash_set]
        return sorted(hash_set.values(), key=lambda item: item.range_key)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        if bound.arguments.get("index_name") or bound.arguments.get("hash_key") is None:
            return original_query(self, *args, **kwargs)
        _partition.asked = (self, bound.arguments["hash_key"])
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _partition.asked = None

    query._pulse_patched = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def _install_transactions() -> None:
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
        with _one_transaction:
            _transact(self, transact_items)

    def _transact(self: Any, transact_items: list[dict[str, Any]]) -> None:
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
