"""The local stack's moto patches keep moto's answers: the faster transaction rollback its
all-or-nothing semantics, the partition-only Query its items, order, pages and filters."""

import random
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

from pulse_cli.template import REGION, Stack


def _all_pages(dynamodb: Any, **kwargs: Any) -> tuple[list[str], int]:
    keys: list[str] = []
    pages = 0
    while True:
        page = dynamodb.query(**kwargs)
        pages += 1
        keys.extend(f"{i['pk']['S']}/{i['sk']['S']}" for i in page["Items"])
        if "LastEvaluatedKey" not in page:
            return keys, pages
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_a_table_query_answers_from_its_partition_only_with_moto_s_order_pages_and_filters(
    stack: Stack, dynamodb: Any
) -> None:
    table = stack.name_of("StateTable")
    rng = random.Random(7)
    written: dict[str, list[str]] = {"A": [], "B": [], "C": []}
    for n in rng.sample(range(1_000), 300):
        pk = rng.choice("ABC")
        sk = f"{n:04d}"
        written[pk].append(sk)
        item = {"pk": {"S": pk}, "sk": {"S": sk}, "n": {"N": str(n)}}
        item |= {"gsi1pk": {"S": "G"}, "gsi1sk": {"S": sk}} if n % 2 else {}
        dynamodb.put_item(TableName=table, Item=item)
    # Another partition moto would have to sort to answer: the patch never reads it.
    held = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[table]
    held.items[DynamoType({"S": "POISON"})] = {"x": object()}

    expected = sorted(written["B"])
    query = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": "B"}},
    }
    assert _all_pages(dynamodb, **query) == ([f"B/{sk}" for sk in expected], 1)
    assert _all_pages(dynamodb, **query, Limit=7)[0] == [f"B/{sk}" for sk in expected]
    assert _all_pages(dynamodb, **query, ScanIndexForward=False, Limit=9)[0] == [
        f"B/{sk}" for sk in reversed(expected)
    ]
    after = {
        **query,
        "KeyConditionExpression": "pk = :pk AND sk > :after",
        "ExpressionAttributeValues": {":pk": {"S": "B"}, ":after": {"S": "0500"}, ":cap": {"N": "800"}},
        "FilterExpression": "n < :cap",
    }
    assert _all_pages(dynamodb, **after, Limit=5)[0] == [f"B/{sk}" for sk in expected if "0500" < sk < "0800"]
    nobody = {**query, "ExpressionAttributeValues": {":pk": {"S": "NOBODY"}}}
    assert _all_pages(dynamodb, **nobody) == ([], 1)
    assert DynamoType({"S": "NOBODY"}) not in held.items  # asking creates no partition

    del held.items[DynamoType({"S": "POISON"})]  # an index Query is moto's own, over every item
    index = {
        "TableName": table,
        "IndexName": "ledger",
        "KeyConditionExpression": "gsi1pk = :g",
        "ExpressionAttributeValues": {":g": {"S": "G"}},
    }
    odd = sorted((sk, pk) for pk, sks in written.items() for sk in sks if int(sk) % 2)
    assert _all_pages(dynamodb, **index, Limit=50)[0] == [f"{pk}/{sk}" for sk, pk in odd]


def test_a_cancelled_transaction_changes_nothing_and_says_why(stack: Stack, dynamodb: Any) -> None:
    table = stack.name_of("StateTable")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "A"}, "sk": {"S": "1"}, "n": {"N": "1"}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "TAKEN"}, "sk": {"S": "1"}})
    items = [
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": "A"}, "sk": {"S": "1"}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {"Put": {"TableName": table, "Item": {"pk": {"S": "NEW"}, "sk": {"S": "1"}}}},
        {"Delete": {"TableName": table, "Key": {"pk": {"S": "TAKEN"}, "sk": {"S": "1"}}}},
        {"Put": {"TableName": table, "Item": {"pk": {"S": "TAKEN"}, "sk": {"S": "2"}}}},
        {
            "Put": {
                "TableName": table,
                "Item": {"pk": {"S": "A"}, "sk": {"S": "1"}, "n": {"N": "9"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]
    check = {
        "ConditionCheck": {
            "TableName": table,
            "Key": {"pk": {"S": "NOPE"}, "sk": {"S": "1"}},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }
    with pytest.raises(ClientError) as caught:
        dynamodb.transact_write_items(TransactItems=[*items[:4], check])
    reasons = [r["Code"] for r in caught.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "None", "ConditionalCheckFailed"]
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "A"}, "sk": {"S": "1"}})["Item"]["n"] == {
        "N": "1"
    }
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"pk": {"S": "NEW"}, "sk": {"S": "1"}})
    assert "Item" in dynamodb.get_item(TableName=table, Key={"pk": {"S": "TAKEN"}, "sk": {"S": "1"}})
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"pk": {"S": "TAKEN"}, "sk": {"S": "2"}})
    dynamodb.transact_write_items(TransactItems=items[:4])
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "A"}, "sk": {"S": "1"}})["Item"]["n"] == {
        "N": "2"
    }
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"pk": {"S": "TAKEN"}, "sk": {"S": "1"}})
