"""The API on http://127.0.0.1:3000 for the local stack, as API Gateway serves it: each HTTP request
is routed to the template's resource and method, becomes the REST proxy event API Gateway would
send, ApiFunction's handler answers it, and its proxy response becomes the HTTP response.
(No SigV4 here: IAM authorisation is API Gateway's part on AWS.)

- Routing follows the template's `Api` events: the most specific resource whose path matches (a
  literal segment before a `{parameter}`, both before a greedy `{proxy+}`), then the method (or
  ANY). A method API Gateway does not support (TRACE, CONNECT, WebDAV's), or one the matched
  resource does not declare, gets API Gateway's own answer: 403 "Missing Authentication Token",
  in the body the template's `GatewayResponses` give it. HEAD answers carry no body.
- Requests are served concurrently, one thread each, and invoke the function without waiting for
  the other functions' invocations (`invoke_concurrently`): the API answers while a batch loads.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from pulse_cli.lambdas import install_environment, invoke_concurrently
from pulse_cli.template import Stack
from pulse_local.apigw import rest_event

MAX_BODY = 1_048_576  # larger bodies are refused here, as API Gateway refuses over 10 MB
FUNCTION = "ApiFunction"
# The methods a REST API resource can have (ANY is all of them); API Gateway answers any other itself.
API_GATEWAY_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
MISSING_TOKEN = "Missing Authentication Token"  # noqa: S105  # nosec B105  # API Gateway's message

invoke: Callable[[Stack, str, dict[str, Any]], Any] = invoke_concurrently  # tests count through it


@dataclass(frozen=True)
class Resource:
    path: str  # as declared: /v1/placements/{video_id}
    methods: frozenset[str]

    def match(self, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
        """How specific the match is (lower is more), and the path parameters; None if no match."""
        want = self.path.strip("/").split("/")
        got = path.strip("/").split("/")
        rank: list[int] = []
        parameters: dict[str, str] = {}
        for i, segment in enumerate(want):
            if segment.startswith("{") and segment.endswith("+}"):
                if i >= len(got) or not got[i]:
                    return None
                parameters[segment[1:-2]] = "/".join(got[i:])
                return (*rank, 2), parameters
            if i >= len(got):
                return None
            if segment.startswith("{"):
                if not got[i]:
                    return None
                parameters[segment[1:-1]] = got[i]
                rank.append(1)
            elif segment != got[i]:
                return None
            else:
                rank.append(0)
        return (tuple(rank), parameters) if len(got) == len(want) else None


def resources_of(stack: Stack) -> list[Resource]:
    """The API's resources and their methods, from the function's `Api` events."""
    methods: dict[str, set[str]] = {}
    for event in stack.functions[FUNCTION]["Properties"]["Events"].values():
        if event["Type"] == "Api":
            methods.setdefault(event["Properties"]["Path"], set()).add(event["Properties"]["Method"].upper())
    return [Resource(path, frozenset(found)) for path, found in methods.items()]


def gateway_answer(stack: Stack, message: str) -> bytes:
    """The body API Gateway gives its own 4xx: the template's DEFAULT_4XX response template."""
    responses = stack.resources["PulseApi"]["Properties"].get("GatewayResponses", {})
    template = responses.get("DEFAULT_4XX", {}).get("ResponseTemplates", {}).get("application/json")
    if template is None:
        return json.dumps({"message": message}).encode()
    return str(template).replace("$context.error.messageString", json.dumps(message)).encode()


def route(resources: list[Resource], method: str, path: str) -> tuple[Resource, dict[str, str]] | None:
    if method not in API_GATEWAY_METHODS:
        return None
    matches = [(found, r) for r in resources if (found := r.match(path)) is not None]
    if not matches:
        return None
    (_, parameters), resource = min(matches, key=lambda m: m[0][0])
    if method not in resource.methods and "ANY" not in resource.methods:
        return None
    return resource, parameters


def make_server(stack: Stack, port: int = 3000) -> ThreadingHTTPServer:
    install_environment(stack, FUNCTION)
    resources = resources_of(stack)
    refusal = gateway_answer(stack, MISSING_TOKEN)

    class Handler(BaseHTTPRequestHandler):
        server_version = "pulse-local"
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway's clients use it
        # Headers and body go out in two writes: with Nagle's algorithm on, a kept-alive client's
        # delayed ACK holds the second one 40 ms.
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True
                self._send(413, {"Content-Type": ["application/json"]}, b'{"message": "Request Too Long"}')
                return
            body = self.rfile.read(length) if length else None
            routed = route(resources, self.command, urlsplit(self.path).path)
            if routed is None:
                self._send(403, {"Content-Type": ["application/json"]}, refusal)
                return
            resource, parameters = routed
            headers = dict(self.headers.items())
            event = rest_event(
                self.command, self.path, body, headers, resource=resource.path, path_parameters=parameters
            )
            response: dict[str, Any] = invoke(stack, FUNCTION, event)
            raw = response.get("body") or ""
            payload = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
            multi = response.get("multiValueHeaders") or {
                k: [v] for k, v in (response.get("headers") or {}).items()
            }
            self._send(int(response["statusCode"]), multi, payload)

        def _send(self, status: int, headers: dict[str, list[str]], payload: bytes) -> None:
            self.send_response(status)
            for name, values in headers.items():
                for value in values:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def __getattr__(self, name: str) -> Any:
            # BaseHTTPRequestHandler looks up do_<METHOD>: every method is served, none is its 501.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            return  # the function's own JSON logs say what happened

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def serve_in_background(stack: Stack, port: int = 3000) -> ThreadingHTTPServer:
    server = make_server(stack, port)
    threading.Thread(target=server.serve_forever, name="pulse-http", daemon=True).start()
    return server
