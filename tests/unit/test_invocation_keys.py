"""The API's log lines carry the Lambda keys of their own invocation, and only theirs."""

import logging
import threading
from types import SimpleNamespace

from pulse.observability import InvocationKeys


def _context(request_id: str) -> SimpleNamespace:
    return SimpleNamespace(
        function_name="api",
        memory_limit_in_mb=1024,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:api",
        aws_request_id=request_id,
    )


def _keys(record: logging.LogRecord) -> tuple[object, ...]:
    return tuple(record.__dict__[k] for k in ("function_request_id", "correlation_id", "cold_start"))


def _record() -> logging.LogRecord:
    return logging.LogRecord("pulse", logging.WARNING, __file__, 1, "line", None, None)


def test_a_line_carries_its_invocation_s_keys_and_cold_start_only_once() -> None:
    keys = InvocationKeys()
    keys.invoked(_context("r1"), "c1")
    first = _record()
    assert keys.filter(first)
    assert _keys(first) == ("r1", "c1", True)
    keys.invoked(_context("r2"), None)
    second = _record()
    keys.filter(second)
    assert _keys(second) == ("r2", None, False)


def test_another_thread_s_lines_get_none_of_them() -> None:
    """The local stack runs every function in one process: an ingest's lines on the main thread
    must not be stamped with the request an API thread is answering."""
    keys = InvocationKeys()
    answering = threading.Thread(target=keys.invoked, args=(_context("api-request"), "c"))
    answering.start()
    answering.join()
    elsewhere = _record()
    assert keys.filter(elsewhere)
    assert not hasattr(elsewhere, "function_request_id")
