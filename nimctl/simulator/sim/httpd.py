"""The HTTP layer: reads a request's body, asks `app.handle`, writes the JSON or SSE answer and the
access-log line. HTTP/1.1 with keep-alive; streams use chunked transfer coding."""

from __future__ import annotations

import socketserver
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .api_error import ApiError, bad_request
from .app import SSE_DONE, Response, SimState, Stream, error_response, handle
from .logs import SimLog

MAX_REQUEST_BYTES = 64 * 1024 * 1024


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: SimState, log: SimLog):
        self.state = state
        self.log = log
        super().__init__(address, SimRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); a scratch image has no resolver
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class SimRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "uvicorn"
    sys_version = ""
    timeout = 120  # drop idle keep-alive connections eventually
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid the 40 ms delayed-ACK stall
    server: SimHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass  # access lines are written by _log_access in NIM's format

    def _log_access(self, status: int) -> None:
        client = f"{self.client_address[0]}:{self.client_address[1]}"
        self.server.log.info("h11_impl.py", f'{client} - "{self.command} {self.path} {self.request_version}" {status}')

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        try:
            try:
                body = self._read_body()
            except ApiError as err:
                self._send(error_response(err))
                return
            reply = handle(self.server.state, method, self.path, body)
            if reply is None:
                self.close_connection = True
            elif isinstance(reply, Stream):
                self._send_stream(reply)
            else:
                self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing to answer

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True  # cannot tell where this body ends
            raise bad_request("Invalid Content-Length header") from None
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            raise ApiError(413, f"The request body is larger than {MAX_REQUEST_BYTES} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)
        self._log_access(response.status)

    def _write_chunk(self, data: bytes) -> None:
        # HTTP/1.1 chunked transfer coding, so the connection can be kept alive after the stream
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_stream(self, stream: Stream) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._log_access(200)
        for number, event in enumerate(stream.events()):
            # the pause separates chunks, not [DONE]: it follows the last chunk at once
            if number and stream.token_delay > 0 and event != SSE_DONE:
                time.sleep(stream.token_delay)
            self._write_chunk(event)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
