"""`--port auto`: hashed as "auto", a free port picked at create time, a running container's kept."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from nimctl.errors import ConfigError
from nimctl.settings import load_settings
from nimctl.spec import build_spec, with_host_port
from tests.unit.test_deploy_policy import FakeEngine, container, run_up, sim_settings, spec_labels
from tests.unit.test_readiness import HealthServer


def auto_settings(tmp_path: Path, timeout: float = 5):
    loaded = sim_settings(tmp_path, timeout=timeout)
    settings = loaded.settings.model_copy(update={"port": "auto"})
    return loaded.__class__(settings=settings, profile=loaded.profile, sources=loaded.sources)


def recorded_creates(engine: FakeEngine) -> list:
    """The specs `engine.create` is given, in order."""
    specs: list = []
    create = engine.create
    engine.create = lambda spec: specs.append(spec) or create(spec)
    return specs


@pytest.mark.parametrize("text", ["auto", "AUTO", " auto "])
def test_port_accepts_auto(tmp_path: Path, text: str) -> None:
    assert load_settings({"port": text}, profile="sim", environ={}).settings.port == "auto"


@pytest.mark.parametrize("text", ["0", "65536", "eighty"])
def test_port_refuses_what_is_neither_a_port_nor_auto(text: str) -> None:
    with pytest.raises(ConfigError, match="is not a port"):
        load_settings({"port": text}, profile="sim", environ={})


def test_the_picked_port_is_no_config_change(tmp_path: Path) -> None:
    loaded = load_settings({"port": "auto", "cache_dir": tmp_path}, profile="sim", environ={})
    spec = build_spec(loaded.settings, loaded.profile.name)
    picked = with_host_port(spec, 49213)
    assert picked.config_hash == spec.config_hash
    assert picked.url == "http://127.0.0.1:49213" and picked.labels["io.nimctl.url"] == picked.url
    assert picked.ports[0].host_port == 49213
    fixed = build_spec(loaded.settings.with_port(49213), loaded.profile.name)
    assert fixed.config_hash != spec.config_hash  # a fixed port is a different deployment


def test_up_with_auto_creates_on_a_free_port(tmp_path: Path) -> None:
    engine = FakeEngine(exit_code=3)  # exits at once: the created container's spec is what counts
    specs = recorded_creates(engine)
    with pytest.raises(Exception, match="exited with code 3"):
        run_up(auto_settings(tmp_path), engine)
    [spec] = specs
    port = spec.ports[0].host_port
    assert port > 0 and spec.url == f"http://127.0.0.1:{port}" == spec.labels["io.nimctl.url"]


def test_up_with_auto_keeps_the_running_containers_port(tmp_path: Path, ready_nim: HealthServer) -> None:
    port = int(ready_nim.url.rsplit(":", 1)[1])
    loaded = auto_settings(tmp_path)
    labels = spec_labels(loaded) | {"io.nimctl.url": ready_nim.url}
    engine = FakeEngine(container("policy-test", labels, state="running"))
    result = run_up(loaded, engine)
    assert (result.action, result.url) == ("noop", ready_nim.url)
    with socket.socket() as sock:  # the port really is held (by the stand-in NIM)
        with pytest.raises(OSError):
            sock.bind(("127.0.0.1", port))


def test_a_stopped_container_whose_port_was_taken_is_recreated_on_a_new_one(
    tmp_path: Path, ready_nim: HealthServer
) -> None:
    loaded = auto_settings(tmp_path)
    labels = spec_labels(loaded) | {"io.nimctl.url": ready_nim.url}  # its old port, now held by someone else
    engine = FakeEngine(container("policy-test", labels, state="exited"), exit_code=3)
    specs = recorded_creates(engine)
    with pytest.raises(Exception, match="exited with code 3"):
        run_up(loaded, engine)
    [spec] = specs
    assert engine.removed[0][0] == "old-id" and spec.url != ready_nim.url and spec.ports[0].host_port > 0
