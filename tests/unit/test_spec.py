from __future__ import annotations

import os
from pathlib import Path

import pytest

from nimctl.domain import GpuRequest
from nimctl.settings import load_settings
from nimctl.spec import (
    LABEL_CONFIG_HASH,
    LABEL_MANAGED,
    LABEL_PROFILE,
    LABEL_URL,
    build_spec,
    registry_of,
    split_reference,
)


def spec_for(flags: dict | None = None, environ: dict | None = None, profile: str | None = None):
    loaded = load_settings(flags or {}, profile=profile, environ=environ or {"NGC_API_KEY": "nvapi-spec-test"})
    return build_spec(loaded.settings, loaded.profile.name)


def test_spec_is_nvidias_docker_run(tmp_path: Path) -> None:
    spec = spec_for({"cache_dir": tmp_path})
    assert spec.name == "mistralai-mistral-small-4-119b-2603"
    assert spec.image == "nvcr.io/nim/mistralai/mistral-small-4-119b-2603:1.7.0-variant"
    assert spec.runtime == "nvidia"
    assert spec.gpus == GpuRequest(count=-1)
    assert spec.shm_size == 32 * 1024**3
    assert [(m.source, m.target) for m in spec.mounts] == [(tmp_path, "/opt/nim/.cache")]
    assert [(p.container_port, p.host_ip, p.host_port) for p in spec.ports] == [(8000, "127.0.0.1", 8000)]
    assert spec.env == {"NIM_MAX_IMAGES_PER_PROMPT": "5"}
    assert spec.secret_env["NGC_API_KEY"].get_secret_value() == "nvapi-spec-test"
    assert spec.user == f"{os.getuid()}:{os.getgid()}"
    assert spec.labels[LABEL_MANAGED] == "true"
    assert spec.labels[LABEL_PROFILE] == "mistral-small-4-119b-2603"
    assert spec.labels[LABEL_URL] == "http://127.0.0.1:8000"


def test_key_never_in_env_repr_or_hash() -> None:
    spec = spec_for(environ={"NGC_API_KEY": "nvapi-spec-test"})
    assert spec.secret_env["NGC_API_KEY"].get_secret_value() == "nvapi-spec-test"
    assert "NGC_API_KEY" not in spec.env
    assert "nvapi-spec-test" not in repr(spec)
    other_key = spec_for(environ={"NGC_API_KEY": "nvapi-another"})
    assert spec.config_hash == other_key.config_hash  # rotating the key is not a config change


@pytest.mark.parametrize(
    "change",
    [
        {"port": 9000},
        {"shm_size": "16GB"},
        {"gpus": "2"},
        {"image": "nvcr.io/nim/x:2"},
        {"max_images_per_prompt": 7},
        {"env": {"NIM_LOG_LEVEL": "DEBUG"}},
        {"runtime": ""},
        {"user": "1234:1234"},
        {"cache_dir": Path("/elsewhere")},
    ],
)
def test_every_runtime_relevant_change_changes_the_hash(change: dict) -> None:
    assert spec_for(change).labels[LABEL_CONFIG_HASH] != spec_for().labels[LABEL_CONFIG_HASH]


def test_hash_ignores_waiting_and_smoke_settings() -> None:
    base = spec_for().config_hash
    assert spec_for({"timeout": 5, "smoke": "none", "pull": "always"}).config_hash == base


def test_host_all_interfaces_still_gives_a_local_url() -> None:
    spec = spec_for({"host": "0.0.0.0", "port": 8123})
    assert spec.url == "http://127.0.0.1:8123"
    assert spec.ports[0].host_ip == "0.0.0.0"


def test_gpu_ids_and_none() -> None:
    assert spec_for({"gpus": "0,2"}).gpus == GpuRequest(device_ids=("0", "2"))
    assert spec_for({"gpus": "none"}).gpus.wanted is False


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("nvcr.io/nim/mistralai/x:1", "nvcr.io"),
        ("127.0.0.1:5000/nim/x:1", "127.0.0.1:5000"),
        ("localhost/x", "localhost"),
        ("nimctl-sim:latest", None),
        ("library/ubuntu:22.04", None),
    ],
)
def test_registry_of(image: str, registry: str | None) -> None:
    assert registry_of(image) == registry


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("nvcr.io/nim/x:1.7.0-variant", ("nvcr.io/nim/x", "1.7.0-variant")),
        ("127.0.0.1:5000/nim/x", ("127.0.0.1:5000/nim/x", "latest")),
        ("x@sha256:abc", ("x", "sha256:abc")),
    ],
)
def test_split_reference(image: str, parts: tuple[str, str]) -> None:
    assert split_reference(image) == parts
