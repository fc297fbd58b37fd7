"""template.yaml is the one description of the system: check what the code relies on it for."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pulse.settings import PipelineSettings
from pulse_cli.lambdas import load_handler
from pulse_cli.template import ROOT, Stack

STACK = Stack()
FUNCTIONS = sorted(STACK.functions)
RESOURCE_VARIABLES = {
    "STATE_TABLE",
    "REPORTS_BUCKET",
    "EVENT_BUS_NAME",
    "INGEST_BUCKET",
    "DEAD_LETTER_QUEUE_URL",
}


def _own_env(logical: str) -> dict[str, Any]:
    return STACK.functions[logical]["Properties"].get("Environment", {}).get("Variables", {})  # type: ignore[no-any-return]


def _intrinsics(value: Any) -> set[str]:
    """The resources a template value refers to, through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found.update(t.split(".")[0] for t in re.findall(r"\$\{([^}]+)\}", text))
            else:
                found |= _intrinsics(arg)
    elif isinstance(value, list):
        for item in value:
            found |= _intrinsics(item)
    return found


def test_the_template_declares_the_logical_ids_the_spec_names() -> None:
    assert STACK.resources["IngestBucket"]["Type"] == "AWS::S3::Bucket"
    assert STACK.resources["ReportsBucket"]["Type"] == "AWS::S3::Bucket"
    assert STACK.resources["EventBus"]["Type"] == "AWS::Events::EventBus"


@pytest.mark.parametrize("logical", FUNCTIONS)
def test_every_function_handler_imports(logical: str) -> None:
    assert callable(load_handler(STACK, logical))


@pytest.mark.parametrize("logical", FUNCTIONS)
def test_every_resource_variable_comes_from_the_template_and_names_a_declared_resource(logical: str) -> None:
    env = _own_env(logical)
    resolved = STACK.function_environment(logical)
    declared = set(STACK.resources) | {f"AWS::{p}" for p in ("StackName", "AccountId", "Region", "Partition")}
    for name, value in env.items():
        if name in RESOURCE_VARIABLES:
            refs = _intrinsics(value)
            assert refs, f"{logical}.{name} is hard-coded: {value!r}"
            assert refs <= declared, f"{logical}.{name} refers to undeclared {refs - declared}"
            physical = set(STACK.physical_names.values())
            assert resolved[name] in physical or resolved[name].startswith("https://"), f"{logical}.{name}"


ASYNC_FUNCTIONS = sorted(
    logical
    for logical, f in STACK.functions.items()
    if any(e["Type"] in ("S3", "ScheduleV2") for e in f["Properties"].get("Events", {}).values())
)


@pytest.mark.parametrize("logical", FUNCTIONS)
def test_every_function_is_built_without_docker(logical: str) -> None:
    assert STACK.functions[logical]["Metadata"]["BuildMethod"] == "makefile"
    assert f"build-{logical}:" in (ROOT / "functions" / "Makefile").read_text()


@pytest.mark.parametrize("logical", ASYNC_FUNCTIONS)
def test_every_asynchronous_function_fails_into_the_dead_letter_queue(logical: str) -> None:
    function = STACK.functions[logical]
    on_failure = function["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}


@pytest.mark.parametrize("logical", FUNCTIONS)
def test_every_function_has_an_errors_alarm(logical: str) -> None:
    alarms = STACK.of_type("AWS::CloudWatch::Alarm").values()
    watched = [
        a
        for a in alarms
        if a["Properties"]["MetricName"] == "Errors"
        and {"Name": "FunctionName", "Value": {"Ref": logical}} in a["Properties"]["Dimensions"]
    ]
    assert len(watched) == 1
    assert watched[0]["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_dead_letter_queue_depth_is_alarmed() -> None:
    alarms = STACK.of_type("AWS::CloudWatch::Alarm").values()
    assert any(
        a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and a["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}
        for a in alarms
    )


@pytest.mark.parametrize("logical", FUNCTIONS)
def test_policies_name_their_resources_and_use_no_wildcard_actions(logical: str) -> None:
    for policy in STACK.functions[logical]["Properties"].get("Policies", []):
        for statement in policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), statement
            assert statement["Resource"] != "*", statement
            assert _intrinsics(statement["Resource"]), f"hard-coded resource in {statement}"


def test_manifests_route_to_their_dataset_function() -> None:
    routes = {(r.bucket_logical, r.prefix, r.suffix): r.function for r in STACK.s3_routes()}
    assert routes[("IngestBucket", "creators/", "_manifest.json")] == "CreatorsIngestFunction"
    assert routes[("IngestBucket", "videos/", "_manifest.json")] == "VideosIngestFunction"
    assert routes[("IngestBucket", "revenue/", "_manifest.json")] == "RevenueIngestFunction"
    assert routes[("IngestBucket", "adjustments/", "_manifest.json")] == "AdjustmentsIngestFunction"


def test_the_daily_refresh_is_scheduled_with_retries_and_a_dead_letter_queue() -> None:
    (event,) = STACK.functions["ListsRefreshFunction"]["Properties"]["Events"].values()
    props = event["Properties"]
    assert event["Type"] == "ScheduleV2"
    assert props["ScheduleExpression"] == "cron(30 3 * * ? *)"
    assert props["ScheduleExpressionTimezone"] == "UTC"
    assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert props["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}


def test_the_layer_pins_exactly_the_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    layer = [
        line.strip()
        for line in (ROOT / "infra" / "layer" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(layer) == sorted(project)
    layer_resource = STACK.resources["SharedLayer"]
    assert layer_resource["Metadata"]["BuildMethod"] == "makefile"
    assert "--platform manylinux2014_aarch64" in Path(ROOT / "infra/layer/Makefile").read_text()
    assert "--python-version 3.13" in Path(ROOT / "infra/layer/Makefile").read_text()


def test_globals_pin_the_runtime_and_architecture() -> None:
    function_globals = STACK.template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]


@pytest.mark.parametrize(
    "logical", [f for f in FUNCTIONS if f.endswith("IngestFunction") or f == "ListsRefreshFunction"]
)
def test_pipeline_functions_get_every_setting_they_read(logical: str) -> None:
    settings = PipelineSettings.model_validate(STACK.function_environment(logical))
    assert settings.state_table == STACK.name_of("StateTable")
    assert settings.reports_bucket == STACK.name_of("ReportsBucket")
    assert settings.event_bus_name == STACK.name_of("EventBus")


def test_new_markets_and_months_are_written_over_64_shards_by_every_writer_alike() -> None:
    """A count is chosen by the function that writes a market's first records or a month's first
    statements, and recorded; every reader takes it from the data (docs/design.md, "Eligibility
    shards"). It is set once, in Globals: functions that share a process (the local stack) agree."""
    creators = PipelineSettings.model_validate(STACK.function_environment("CreatorsIngestFunction"))
    payout = PipelineSettings.model_validate(STACK.function_environment("PayoutFunction"))
    assert (creators.eligibility_shards, payout.statement_shards) == (64, 64)
    own = {
        f
        for f in FUNCTIONS
        for key in ("PULSE_ELIGIBILITY_SHARDS", "PULSE_STATEMENT_SHARDS")
        if key in _own_env(f)
    }
    assert not own
