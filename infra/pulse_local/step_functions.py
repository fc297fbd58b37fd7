"""The template's state machines on moto's Step Functions interpreter, their Lambda tasks calling
the template's real handlers in this process.

moto executes a state machine's ASL (`execute_state_machine`, its port of LocalStack's
interpreter) and sends each `lambda:invoke` task to its Lambda backend, which would run the code
in Docker. `install` points that backend at `pulse_cli.lambdas.invoke` instead: the handler named
in template.yaml, with the function's environment and a Lambda context, as the local stack runs
every other function. Three things of the interpreter are changed for the local stack, never the
definitions: Lambda tasks run the template's handlers; Athena's queries run on DuckDB
(`duckdb_queries`); a Retry's interval is not waited out (the
retry itself still happens, as many times as the definition says); and each execution's thread
is kept so that `wait` can join it instead of polling.

What the interpreter cannot run is listed in the README ("Checked only on AWS").
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from pulse import bootstrap
from pulse.aws import clients
from pulse_cli import lambdas
from pulse_cli.template import ACCOUNT_ID, REGION, ROOT, Stack

if TYPE_CHECKING:
    from moto.core.config import DefaultConfig

CONFIG: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}  # mock_aws(config=CONFIG)
_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/local-state-machine"
_stack: Stack | None = None
_installed = threading.Lock()


def install(stack: Stack) -> None:
    """Route moto's Lambda invocations to `stack`'s handlers (this process, from now on)."""
    global _stack  # noqa: PLW0603  # the one stack whose functions this process serves
    from pulse_local.duckdb_queries import DuckDBQueries  # noqa: PLC0415

    _stack = stack
    bootstrap.use_query_engine(DuckDBQueries)
    with _installed:
        _patch_lambda_invoke()
        _patch_retry_interval()
        _patch_execution_thread()


def _logical_of(stack: Stack, function: str) -> str:
    name = function.rsplit(":function:", 1)[-1].split(":", 1)[0]
    for logical in stack.functions:
        if stack.name_of(logical) == name:
            return logical
    raise LookupError(f"{function} is not a function of template.yaml")


def _patch_lambda_invoke() -> None:
    from moto.awslambda.models import LambdaBackend  # noqa: PLC0415

    if getattr(LambdaBackend.invoke, "_pulse_patched", False):
        return

    def invoke(  # noqa: PLR0917  # moto's signature
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        assert _stack is not None
        event = json.loads(body) if body else {}
        try:
            result = lambdas.invoke(_stack, _logical_of(_stack, function_name), event)
        except Exception as problem:  # Lambda reports a handler's exception as the function's error
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorMessage": str(problem), "errorType": type(problem).__name__}).encode()
        return json.dumps(result).encode()

    invoke._pulse_patched = True  # type: ignore[attr-defined]
    LambdaBackend.invoke = invoke  # type: ignore[method-assign]


def _patch_retry_interval() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: PLC0415

    if getattr(retrier_decl, "_pulse_patched", False):
        return

    class _NoWait:
        @staticmethod
        def sleep(seconds: float) -> None:
            """A Retry's IntervalSeconds, not waited out locally (the retry still happens)."""

    retrier_decl.time = _NoWait  # type: ignore[assignment,attr-defined]
    retrier_decl._pulse_patched = True  # type: ignore[attr-defined]


def _patch_execution_thread() -> None:
    from moto.stepfunctions.parser.backend import execution_worker  # noqa: PLC0415

    worker = execution_worker.ExecutionWorker
    if getattr(worker.start, "_pulse_patched", False):
        return

    def start(self: Any) -> None:
        thread = threading.Thread(target=self._execution_logic, daemon=True)
        self.pulse_thread = thread
        thread.start()

    start._pulse_patched = True  # type: ignore[attr-defined]
    worker.start = start  # type: ignore[method-assign]


def definition_of(stack: Stack, logical: str) -> str:
    """The state machine's ASL with its DefinitionSubstitutions resolved, as SAM deploys it."""
    props = stack.resources[logical]["Properties"]
    text: str = (ROOT / props["DefinitionUri"]).read_text(encoding="utf-8")
    for name, value in stack.resolve(props.get("DefinitionSubstitutions", {})).items():
        text = text.replace("${" + name + "}", str(value))
    return text


def create_state_machines(stack: Stack, endpoint_url: str | None = None) -> None:
    """Every AWS::Serverless::StateMachine of the template, on moto, under its stack name."""
    sfn = clients.session().client("stepfunctions", region_name=REGION, endpoint_url=endpoint_url)
    for logical, resource in stack.of_type("AWS::Serverless::StateMachine").items():
        sfn.create_state_machine(
            name=stack.name_of(logical),
            definition=definition_of(stack, logical),
            roleArn=_ROLE,
            type=resource["Properties"].get("Type", "STANDARD"),
        )


def wait(execution_arn: str, timeout: float = 1800.0) -> dict[str, Any]:
    """Join the execution's thread (in this process), then describe it."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: PLC0415

    execution: Any = stepfunctions_parser_backends[ACCOUNT_ID][REGION].describe_execution(execution_arn)
    thread: threading.Thread | None = getattr(execution.exec_worker, "pulse_thread", None)
    if thread is not None:
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"{execution_arn} still running after {timeout}s")
    sfn = clients.session().client("stepfunctions", region_name=REGION)
    described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
    return described


def executions(state_machine_arn: str) -> list[dict[str, Any]]:
    sfn = clients.session().client("stepfunctions", region_name=REGION)
    listed: list[dict[str, Any]] = sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]
    return listed
