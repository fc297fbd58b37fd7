"""Create the template's data resources (tables, buckets, bus, queues, topics, the Glue catalog's
tables and Athena's work group) on moto.

Used by every integration test and by the local run, so the schema they work against is the
template's own: a key, an index or a TTL changed in template.yaml changes it here too.
"""

from __future__ import annotations

from typing import Any

from pulse.aws import clients
from pulse_cli.template import REGION, Stack

_TABLE_PROPS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")


def _session_client(service: str, endpoint_url: str | None) -> Any:
    return clients.session().client(service, region_name=REGION, endpoint_url=endpoint_url)


def create_resources(stack: Stack, endpoint_url: str | None = None) -> None:
    """Create every data resource of the template (idempotent only on a fresh moto backend)."""
    dynamodb = _session_client("dynamodb", endpoint_url)
    s3 = _session_client("s3", endpoint_url)
    events = _session_client("events", endpoint_url)
    sqs = _session_client("sqs", endpoint_url)
    sns = _session_client("sns", endpoint_url)
    glue = _session_client("glue", endpoint_url)
    athena = _session_client("athena", endpoint_url)
    for logical, resource in stack.resources.items():
        kind = resource["Type"]
        props = stack.resolve(resource.get("Properties", {}))
        name = stack.name_of(logical)
        if kind == "AWS::DynamoDB::Table":
            table: dict[str, Any] = {k: props[k] for k in _TABLE_PROPS if k in props}
            dynamodb.create_table(
                TableName=name, BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"), **table
            )
            ttl = props.get("TimeToLiveSpecification")
            if ttl and ttl.get("Enabled"):
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        elif kind == "AWS::S3::Bucket":
            s3.create_bucket(Bucket=name)
            if props.get("VersioningConfiguration"):
                s3.put_bucket_versioning(
                    Bucket=name, VersioningConfiguration=props["VersioningConfiguration"]
                )
        elif kind == "AWS::Events::EventBus":
            events.create_event_bus(Name=name)
        elif kind == "AWS::SQS::Queue":
            sqs.create_queue(QueueName=name)
        elif kind == "AWS::SNS::Topic":
            sns.create_topic(Name=name)
        elif kind == "AWS::Glue::Database":
            glue.create_database(DatabaseInput=props["DatabaseInput"])
        elif kind == "AWS::Glue::Table":
            glue.create_table(DatabaseName=props["DatabaseName"], TableInput=props["TableInput"])
        elif kind == "AWS::Athena::WorkGroup":
            athena.create_work_group(Name=name, Configuration=props.get("WorkGroupConfiguration", {}))
