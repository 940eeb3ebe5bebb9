"""nimctl/engine/local_api.py: which URLs are read over the socket, the filters as the engine takes
them, and which answers are taken (200, 404) or left to docker-py (NoClearAnswer). The engine here is
a stdlib HTTP server on a unix socket; tests/integration/test_local_api.py compares the reads with
docker-py's on the real Docker and Podman engines."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nimctl.engine.local_api import LocalApi, NoClearAnswer, demultiplexed, engine_filters, json_objects, socket_path


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("unix:///var/run/docker.sock", "/var/run/docker.sock"),
        ("unix:///run/podman/podman.sock", "/run/podman/podman.sock"),
        ("http+unix:///run/x.sock", "/run/x.sock"),
        ("/run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
        ("tcp://127.0.0.1:2375", None),
        ("ssh://me@host", None),
        ("npipe:////./pipe/docker_engine", None),
        ("unix://", None),
    ],
)
def test_socket_path(url: str, path: str | None) -> None:
    assert socket_path(url) == path


def test_filters_are_lists_of_text_as_docker_py_sends_them() -> None:
    assert engine_filters({"label": "io.nimctl.managed=true", "name": "^/?n$"}) == {
        "label": ["io.nimctl.managed=true"],
        "name": ["^/?n$"],
    }
    assert engine_filters({"dangling": True, "label": ["a=1", "b"]}) == {"dangling": ["true"], "label": ["a=1", "b"]}


class FakeEngine(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}
    seen: list[str] = []
    posted: list[tuple[str, str | None, bytes]] = []
    delays: dict[str, float] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.seen.append(self.path)
        time.sleep(self.delays.get(self.path.split("?")[0], 0.0))
        status, body = self.answers.get(self.path.split("?")[0], (404, b'{"message": "no such object"}'))
        self.send_response(status)
        if self.path == "/_ping":
            self.send_header("API-Version", "1.43")  # any case: header names are case-insensitive
            self.send_header("Server", "Docker/24.0.7 (linux)")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.posted.append((self.path, self.headers.get("Content-Type"), self.rfile.read(length)))
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass

    def address_string(self) -> str:  # a unix socket has no (host, port)
        return "local"


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (a timeout under test) leaves a broken pipe: not the test's failure


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[str, type[FakeEngine]]]:
    path = str(tmp_path / "engine.sock")
    handler = type("Handler", (FakeEngine,), {"answers": {}, "seen": [], "posted": [], "delays": {}})
    server = UnixServer(path, handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield path, handler
    server.shutdown()
    server.server_close()


def test_reads_use_the_engines_api_version(engine) -> None:
    path, handler = engine
    handler.answers.update(
        {
            "/version": (200, json.dumps({"ApiVersion": "1.41", "Version": "20.10"}).encode()),
            "/v1.41/containers/json": (200, b'[{"Id": "abc"}]'),
            "/v1.41/containers/n1/json": (200, b'{"Id": "abc", "Name": "/n1"}'),
            "/v1.41/images/127.0.0.1:5000/nim/x:1.0/json": (200, b'{"Id": "sha256:1"}'),
        }
    )
    reads = LocalApi(path, 5)
    assert reads.version()["Version"] == "20.10"
    assert reads.containers({"label": "io.nimctl.managed=true"}) == [{"Id": "abc"}]
    assert reads.inspect_container("n1") == {"Id": "abc", "Name": "/n1"}
    assert reads.inspect_image("127.0.0.1:5000/nim/x:1.0") == {"Id": "sha256:1"}  # registry and tag kept as they are
    assert reads.inspect_container("gone") is None  # 404: no such container
    listing = next(seen for seen in handler.seen if seen.startswith("/v1.41/containers/json"))
    assert "all=1" in listing and "io.nimctl.managed%3Dtrue" in listing


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b'{"message": "boom"}'), (200, b"not json"), (301, b""), (200, b'{"no": "list"}')],
)
def test_anything_unclear_is_left_to_docker_py(engine, status: int, body: bytes) -> None:
    path, handler = engine
    handler.answers["/version"] = (200, b'{"ApiVersion": "1.41"}')
    handler.answers["/v1.41/containers/json"] = (status, body)
    handler.answers["/v1.41/containers/n1/json"] = (status, body)
    reads = LocalApi(path, 5)
    reads.version()
    with pytest.raises(NoClearAnswer):
        reads.containers({})
    if body != b'{"no": "list"}':  # a dict is a fine inspect
        with pytest.raises(NoClearAnswer):
            reads.inspect_container("n1")


def test_a_version_without_api_version_is_unclear(engine) -> None:
    path, handler = engine
    handler.answers["/version"] = (200, b'{"Version": "1"}')
    with pytest.raises(NoClearAnswer):
        LocalApi(path, 5).version()


def test_nothing_listening(tmp_path: Path) -> None:
    with pytest.raises(NoClearAnswer):
        LocalApi(str(tmp_path / "missing.sock"), 1).version()


def test_the_ping_headers_fix_the_api_version(engine) -> None:
    path, handler = engine
    handler.answers["/_ping"] = (200, b"OK")
    local = LocalApi(path, 5)
    headers = local.handshake()
    assert headers["Server"] == "Docker/24.0.7 (linux)" and local.prefix == "/v1.43"
    handler.answers["/_ping"] = (500, b"")
    with pytest.raises(NoClearAnswer):
        LocalApi(path, 5).handshake()


def test_create_and_start_take_only_their_clear_answers(engine) -> None:
    path, handler = engine
    handler.answers["/version"] = (200, b'{"ApiVersion": "1.41"}')
    handler.answers["/v1.41/containers/create"] = (201, b'{"Id": "c0ffee", "Warnings": []}')
    handler.answers["/v1.41/containers/c0ffee/start"] = (204, b"")
    local = LocalApi(path, 5)
    local.version()
    body = {"Image": "nim:1", "Env": ["NGC_API_KEY=nvapi-secret"]}
    assert local.create_container("nim", body) == "c0ffee"
    sent_path, content_type, sent = handler.posted[-1]
    assert sent_path == "/v1.41/containers/create?name=nim" and content_type == "application/json"
    assert json.loads(sent) == body
    local.start_container("c0ffee")

    handler.answers["/v1.41/containers/create"] = (409, b'{"message": "name in use"}')
    with pytest.raises(NoClearAnswer) as refused:
        local.create_container("nim", body)
    assert "409" in str(refused.value) and "nvapi-secret" not in str(refused.value)  # never the body
    handler.answers["/v1.41/containers/c0ffee/start"] = (500, b'{"message": "no GPU"}')
    with pytest.raises(NoClearAnswer):
        local.start_container("c0ffee")


EVENTS = st.lists(
    st.dictionaries(st.sampled_from(["Action", "status", "id", "Actor"]), st.text(max_size=8), min_size=1), max_size=6
)


@given(events=EVENTS, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8), newline=st.booleans())
def test_events_are_read_however_the_chunks_cut_them(events: list[dict], cuts: list[int], newline: bool) -> None:
    data = "".join(json.dumps(event) + ("\n" if newline else "") for event in events).encode()
    points = sorted({min(cut, len(data)) for cut in cuts})
    chunks = [data[start:end] for start, end in zip([0, *points], [*points, len(data)], strict=True)]
    assert list(json_objects(chunks)) == events


def test_a_stream_may_answer_later_than_a_call_may(engine) -> None:
    # podman answers a followed log only at the container's next line: that is no timeout
    path, handler = engine
    handler.answers["/version"] = (200, b'{"ApiVersion": "1.41"}')
    handler.answers["/v1.41/containers/c1/logs"] = (200, b"ready\n")
    handler.delays["/v1.41/containers/c1/logs"] = 0.6
    handler.answers["/v1.41/containers/c1/json"] = (200, b"{}")
    handler.delays["/v1.41/containers/c1/json"] = 0.6
    local = LocalApi(path, 0.2)
    local.version()
    stream = local.follow_logs("c1", 1700000000.5)
    try:
        assert b"".join(stream.chunks()) == b"ready\n"
    finally:
        stream.close()
    query = next(seen for seen in handler.seen if "/logs?" in seen)
    assert "follow=1" in query and "since=1700000000.5" in query and "stdout=1" in query and "stderr=1" in query
    with pytest.raises(NoClearAnswer):  # a call that is not a stream still times out
        local.inspect_container("c1")


FRAMES = st.lists(st.tuples(st.sampled_from([1, 2]), st.binary(max_size=300)), max_size=8)


@given(frames=FRAMES)
def test_the_output_of_a_container_is_its_frames_payloads_joined(frames: list[tuple[int, bytes]]) -> None:
    body = b"".join(bytes([kind, 0, 0, 0]) + len(data).to_bytes(4, "big") + data for kind, data in frames)
    assert demultiplexed(body) == b"".join(data for _, data in frames)


@pytest.mark.parametrize("raw", [b"plain text from a TTY\n", b"\x01\x00\x00\x00\x00\x00\x00\x09short", b"\x01\x00"])
def test_output_that_is_not_framed_is_kept_as_it_is(raw: bytes) -> None:
    assert demultiplexed(raw) == raw


def test_stop_and_remove_take_gone_as_done(engine) -> None:
    path, handler = engine
    handler.answers["/version"] = (200, b'{"ApiVersion": "1.41"}')
    local = LocalApi(path, 5)
    local.version()
    assert local.stop("gone", 1) is False  # 404
    handler.answers["/v1.41/containers/c1/stop"] = (304, b"")
    assert local.stop("c1", 1) is True
    handler.answers["/v1.41/containers/c1/stop"] = (500, b'{"message": "cannot stop"}')
    with pytest.raises(NoClearAnswer):
        local.stop("c1", 1)
    assert "t=1" in next(seen for seen in handler.seen if "/stop" in seen)
