"""Issue 17: the GPU check's evidence is kept per engine, image id and GPU request, used only for an
identical key, dropped when anything changes, and a failed probe is never kept."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from nimctl import gpu_evidence
from nimctl.gpu_evidence import default_path, lookup, make_key, record
from nimctl.preflight import FAIL, PASS, check_gpu_support
from nimctl.settings import load_settings

URL, ENGINE_ID, IMAGE_ID = "unix:///var/run/docker.sock", "ENGINE-A", "sha256:aaa"


def key(**changes: str):
    values = {"engine_url": URL, "engine_id": ENGINE_ID, "image_id": IMAGE_ID, "gpus": "1", "runtime": "nvidia"}
    return make_key(**{**values, **changes})


def test_evidence_counts_only_for_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    record(key(), True, "1 GPU(s) somewhere", path)
    assert lookup(key(), path) == "1 GPU(s) somewhere"
    for change in (
        {"engine_url": "ssh://other"},
        {"engine_id": "ENGINE-B"},
        {"image_id": "sha256:bbb"},
        {"gpus": "all"},
        {"runtime": ""},
    ):
        assert lookup(key(**change), path) is None, change


def test_a_change_replaces_the_engines_entry_and_other_engines_keep_theirs(tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    record(key(), True, "old", path)
    record(key(engine_id="ENGINE-B"), True, "other engine", path)
    record(key(image_id="sha256:new"), True, "new image", path)
    assert lookup(key(), path) is None  # the old image's evidence is gone, not just shadowed
    assert lookup(key(image_id="sha256:new"), path) == "new image"
    assert lookup(key(engine_id="ENGINE-B"), path) == "other engine"
    assert len(json.loads(path.read_text())["engines"]) == 2


def test_a_failed_probe_is_never_kept_and_drops_what_was(tmp_path: Path) -> None:
    path = tmp_path / "evidence.json"
    record(key(), False, "no GPU", path)
    assert not path.exists()
    record(key(), True, "1 GPU", path)
    record(key(gpus="all"), False, "no GPU", path)
    assert lookup(key(), path) is None and lookup(key(gpus="all"), path) is None


def test_no_identity_no_evidence(tmp_path: Path) -> None:
    assert key(engine_id="") is None and key(engine_url="") is None and key(image_id="") is None
    path = tmp_path / "evidence.json"
    record(None, True, "1 GPU", path)
    assert not path.exists() and lookup(None, path) is None


@pytest.mark.parametrize("content", ["", "not json", "[]", '{"version": 99, "engines": {}}', '{"version": 1}'])
def test_an_unreadable_file_is_no_evidence(tmp_path: Path, content: str) -> None:
    path = tmp_path / "evidence.json"
    path.write_text(content)
    assert lookup(key(), path) is None
    record(key(), True, "1 GPU", path)  # and is replaced by a good one
    assert lookup(key(), path) == "1 GPU"


def test_the_file_sits_in_the_users_cache_dir() -> None:
    assert default_path({"XDG_CACHE_HOME": "/x/cache"}) == Path("/x/cache/nimctl/gpu-evidence.json")
    assert default_path({"HOME": "/home/u"}) == Path("/home/u/.cache/nimctl/gpu-evidence.json")


def test_the_engine_url_tells_unix_sockets_apart() -> None:
    api = SimpleNamespace(
        base_url="http+docker://localhost", _custom_adapter=SimpleNamespace(socket_path="/run/a.sock")
    )
    assert gpu_evidence.engine_url(SimpleNamespace(api=api)) == "http+docker://localhost/run/a.sock"
    chosen = SimpleNamespace(choice=SimpleNamespace(url="ssh://box"), api=api)
    assert gpu_evidence.engine_url(chosen) == "ssh://box"
    assert gpu_evidence.engine_url(SimpleNamespace()) is None


class ProbingEngine:
    """Just what the GPU check asks: info (runtimes, ID), the image id, and the probe (counted)."""

    kind = SimpleNamespace(name="docker", is_podman=False, is_local=True)

    def __init__(self, engine_id: str = ENGINE_ID, image_id: str = IMAGE_ID, output: str = "GPU 0: X (UUID: GPU-0)"):
        self.api = SimpleNamespace(base_url="tcp://127.0.0.1:2375")
        self.engine_id, self.image, self.output, self.probes = engine_id, image_id, output, 0

    def engine_info(self) -> dict:
        return {"ID": self.engine_id, "Runtimes": {"nvidia": {}, "runc": {}}}

    def image_id(self, reference: str) -> str:
        return self.image

    def list_gpus(self, spec) -> tuple[int, str]:
        self.probes += 1
        return (0 if self.output.startswith("GPU") else 9), self.output


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def settings(gpus: str = "1"):
    return load_settings({"gpus": gpus, "runtime": "nvidia"}, profile="sim", environ={}).settings


def test_up_reuses_a_passed_probe_and_doctor_always_probes(cache_home: Path) -> None:
    engine = ProbingEngine()
    first = check_gpu_support(settings(), engine, reuse_evidence=True)
    second = check_gpu_support(settings(), engine, reuse_evidence=True)
    assert first.status == second.status == PASS and engine.probes == 1
    assert "kept from an earlier probe" in second.detail
    assert check_gpu_support(settings(), engine).status == PASS and engine.probes == 2  # doctor: no reuse
    assert check_gpu_support(settings("all"), engine, reuse_evidence=True).status == PASS and engine.probes == 3
    engine.image = "sha256:rebuilt"
    assert check_gpu_support(settings("all"), engine, reuse_evidence=True).status == PASS and engine.probes == 4


def test_a_failing_probe_is_run_every_time(cache_home: Path) -> None:
    engine = ProbingEngine()
    check_gpu_support(settings(), engine, reuse_evidence=True)  # a pass kept...
    engine.output = "No devices were found"
    assert check_gpu_support(settings(), engine).status == FAIL  # ...then doctor sees it fail: dropped
    for expected_probes in (3, 4):
        assert check_gpu_support(settings(), engine, reuse_evidence=True).status == FAIL
        assert engine.probes == expected_probes


def test_an_engine_without_an_id_is_always_probed(cache_home: Path) -> None:
    engine = ProbingEngine(engine_id="")
    for expected_probes in (1, 2):
        assert check_gpu_support(settings(), engine, reuse_evidence=True).status == PASS
        assert engine.probes == expected_probes
    assert not (cache_home / "nimctl" / "gpu-evidence.json").exists()
