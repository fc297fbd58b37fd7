"""template.yaml, read and resolved as CloudFormation would for one stack on one machine.

Only the intrinsic functions the template uses are resolved (Ref, GetAtt, Sub, Join, Select,
Split, If with Conditions); anything else raises, so a template change cannot silently produce a
local stack that differs from the deployed one.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, …)."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tagged)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as data; a copy of its parse, which is kept while the file is unchanged
    (every integration test builds a Stack: parsing the YAML each time cost 0.1-0.4 s)."""
    stat = path.stat()
    return copy.deepcopy(_parsed(path, stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=4)
def _parsed(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506  # nosec B506  # a SafeLoader
    return loaded


# Resources whose name sits inside an input structure (Ref gives that name, as in CloudFormation).
_NESTED_NAMES = {"AWS::Glue::Database": "DatabaseInput", "AWS::Glue::Table": "TableInput"}


class UnresolvableError(ValueError):
    pass


@dataclass
class Stack:
    """The template's resources with the physical names they get in a stack called `name`."""

    template: dict[str, Any] = field(default_factory=load_template)
    name: str = "pulse-local"
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]  # type: ignore[no-any-return]

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {logical: r for logical, r in self.resources.items() if r["Type"] == kind}

    @cached_property
    def physical_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        explicit = {
            "AWS::S3::Bucket": "BucketName",
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Events::EventBus": "Name",
            "AWS::SQS::Queue": "QueueName",
            "AWS::SNS::Topic": "TopicName",
            "AWS::Serverless::Function": "FunctionName",
            "AWS::Serverless::Api": "Name",
            "AWS::Serverless::StateMachine": "Name",
            "AWS::Athena::WorkGroup": "Name",
        }
        for logical, resource in self.resources.items():
            prop = explicit.get(resource["Type"])
            given = resource.get("Properties", {}).get(prop) if prop else None
            nested = _NESTED_NAMES.get(resource["Type"])
            if nested is not None:
                given = resource.get("Properties", {}).get(nested, {}).get("Name")
            if given is not None:
                # Explicit names may use parameters and pseudo parameters only (as in CloudFormation).
                names[logical] = str(self.resolve(given))
            else:
                # CloudFormation's generated names look like <stack>-<logical>-<suffix>; S3 wants lower case.
                generated = f"{self.name}-{logical}"
                names[logical] = generated.lower() if resource["Type"] == "AWS::S3::Bucket" else generated
        return names

    def name_of(self, logical: str) -> str:
        return self.physical_names[logical]

    def arn_of(self, logical: str) -> str:
        kind = self.resources[logical]["Type"]
        name = self.name_of(logical)
        prefix = f"arn:{PARTITION}"
        return {
            "AWS::S3::Bucket": f"{prefix}:s3:::{name}",
            "AWS::DynamoDB::Table": f"{prefix}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
            "AWS::Events::EventBus": f"{prefix}:events:{REGION}:{ACCOUNT_ID}:event-bus/{name}",
            "AWS::SQS::Queue": f"{prefix}:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::SNS::Topic": f"{prefix}:sns:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::Serverless::Function": f"{prefix}:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
            "AWS::Serverless::StateMachine": f"{prefix}:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}",
        }.get(kind, f"{prefix}:local:{REGION}:{ACCOUNT_ID}:{logical}")

    def _ref(self, target: str) -> str:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{self.name}/local",
        }
        if target in pseudo:
            return pseudo[target]
        params = self.template.get("Parameters", {})
        if target in params:
            return str(self.parameters.get(target, params[target].get("Default", "")))
        if target not in self.resources:
            raise UnresolvableError(f"Ref to undeclared {target!r}")
        kind = self.resources[target]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{self.name_of(target)}"
        if kind in ("AWS::SNS::Topic", "AWS::Serverless::StateMachine"):
            return self.arn_of(target)
        return self.name_of(target)

    def _get_att(self, target: str, attribute: str) -> str:
        if target not in self.resources:
            raise UnresolvableError(f"GetAtt of undeclared {target!r}")
        if attribute == "Arn":
            return self.arn_of(target)
        if attribute in ("QueueName", "Name"):
            return self.name_of(target)
        if attribute == "QueueUrl":
            return self._ref(target)
        raise UnresolvableError(f"GetAtt {target}.{attribute} is not supported locally")

    def _condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((key, arg),) = value.items()
        if key == "Ref":
            return self._ref(arg)
        if key == "Fn::GetAtt":
            return self._get_att(arg[0], arg[1])
        if key == "Fn::Sub":
            template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            resolved_vars = {k: self.resolve(v) for k, v in variables.items()}

            def substitute(match: re.Match[str]) -> str:
                token = match.group(1)
                if token in resolved_vars:
                    return str(resolved_vars[token])
                if "." in token and not token.startswith("AWS::"):
                    target, attribute = token.split(".", 1)
                    return self._get_att(target, attribute)
                return self._ref(token)

            return re.sub(r"\$\{([^}!][^}]*)\}", substitute, template)
        if key == "Fn::Join":
            return str(arg[0]).join(str(self.resolve(v)) for v in arg[1])
        if key == "Fn::Select":
            return self.resolve(arg[1])[int(arg[0])]
        if key == "Fn::Split":
            return str(self.resolve(arg[1])).split(arg[0])
        if key == "Fn::If":
            return self.resolve(arg[1] if self._condition(arg[0]) else arg[2])
        if key == "Fn::Equals":
            return self.resolve(arg[0]) == self.resolve(arg[1])
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key.startswith("Fn::"):
            raise UnresolvableError(f"{key} is not supported locally")
        return {key: self.resolve(arg)}

    # ------------------------------------------------------------ functions
    @property
    def functions(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::Serverless::Function")

    def function_environment(self, logical: str) -> dict[str, str]:
        """The function's environment variables as deployed: Globals first, then its own."""
        globals_env = (
            self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        own = self.functions[logical].get("Properties", {}).get("Environment", {}).get("Variables", {})
        return {k: str(self.resolve(v)) for k, v in {**globals_env, **own}.items()}

    def handler_of(self, logical: str) -> str:
        return str(self.functions[logical]["Properties"]["Handler"])

    def s3_routes(self) -> list[S3Route]:
        """Every SAM `S3` event: which function a new object in which bucket goes to."""
        routes: list[S3Route] = []
        for logical, function in self.functions.items():
            for event in function.get("Properties", {}).get("Events", {}).values():
                if event["Type"] != "S3":
                    continue
                props = event["Properties"]
                rules = {
                    r["Name"]: r["Value"] for r in props.get("Filter", {}).get("S3Key", {}).get("Rules", [])
                }
                bucket_logical = props["Bucket"]["Ref"]
                routes.append(
                    S3Route(
                        bucket_logical,
                        self.name_of(bucket_logical),
                        rules.get("prefix", ""),
                        rules.get("suffix", ""),
                        logical,
                    )
                )
        return routes


@dataclass(frozen=True)
class S3Route:
    bucket_logical: str
    bucket: str
    prefix: str
    suffix: str
    function: str

    def matches(self, bucket: str, key: str) -> bool:
        return bucket == self.bucket and key.startswith(self.prefix) and key.endswith(self.suffix)
