"""The API on http://127.0.0.1:3000 for the local stack: each HTTP request becomes the API Gateway
REST proxy event API Gateway would send, ApiFunction's handler answers it, and its proxy response
becomes the HTTP response. (No SigV4 here: IAM authorisation is API Gateway's part on AWS.)"""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pulse_cli.lambdas import invoke
from pulse_cli.template import Stack
from pulse_local.apigw import rest_event

MAX_BODY = 1_048_576  # larger bodies are refused here, as API Gateway refuses over 10 MB


def make_server(stack: Stack, port: int = 3000) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        server_version = "pulse-local"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, {"Content-Type": ["application/json"]}, b'{"message": "Request Too Long"}')
                return
            body = self.rfile.read(length) if length else None
            headers = dict(self.headers.items())
            response: dict[str, Any] = invoke(
                stack, "ApiFunction", rest_event(self.command, self.path, body, headers)
            )
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
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return  # the function's own JSON logs say what happened

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def serve_in_background(stack: Stack, port: int = 3000) -> ThreadingHTTPServer:
    server = make_server(stack, port)
    threading.Thread(target=server.serve_forever, name="pulse-http", daemon=True).start()
    return server
