"""A moto server on 127.0.0.1 in its own process, for the local run and the benchmarks.

A separate process keeps moto's storage out of the measured process (peak RSS is the function's
own) and puts every AWS call through real HTTP, as on AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from pulse_cli.template import REGION


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"moto server did not listen on 127.0.0.1:{port} within {timeout}s")


def aws_environment(endpoint: str) -> dict[str, str]:
    """What boto3 needs to talk to the local server, and only to it."""
    any_credential = "local"  # the local server accepts any credentials; these reach nothing else
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": any_credential,
        "AWS_SECRET_ACCESS_KEY": any_credential,
        "AWS_SESSION_TOKEN": any_credential,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


@contextlib.contextmanager
def moto_server(port: int | None = None, stack_parameters: dict[str, str] | None = None) -> Iterator[str]:
    """Start `moto.server` on 127.0.0.1; yields its endpoint URL and stops it on exit. The server
    runs the template's state machines, their Lambda tasks in its own process (`moto_main`), for
    a stack with `stack_parameters`."""
    chosen = port or free_port()
    # AWS_ENDPOINT_URL stays: the state machines' tasks run in the server's process and call it.
    env = {**os.environ, **aws_environment(f"http://127.0.0.1:{chosen}")}
    env["MOTO_PORT"] = str(chosen)  # where moto's Step Functions interpreter sends its own calls
    env["PULSE_STACK_PARAMETERS"] = json.dumps(stack_parameters or {})
    process = subprocess.Popen(  # noqa: S603  # nosec B603  # our own interpreter and module
        [sys.executable, "-m", "pulse_local.moto_main", "-H", "127.0.0.1", "-p", str(chosen)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        _wait_until_listening(chosen, process)
        yield f"http://127.0.0.1:{chosen}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
