"""The local stack's faster transaction rollback keeps moto's all-or-nothing semantics."""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from pulse_cli.template import Stack


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
