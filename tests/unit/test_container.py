"""The container record: what the CLI reads from a container, from the inspect data spec.py's labels produce."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from nimctl.container import ContainerInfo, parse_time
from nimctl.settings import load_settings
from nimctl.spec import build_spec


def inspect_data(labels: dict[str, str], status: str = "running", exit_code: int = 0) -> dict:
    return {
        "Id": "abc123",
        "Name": "/nimctl-sim",
        "Image": "sha256:img",
        "State": {"Status": status, "ExitCode": exit_code, "StartedAt": "2026-12-01T02:00:00.123456789Z"},
        "Config": {
            "Image": "nimctl-sim:latest",
            "Labels": labels,
            "Env": ["NIM_MAX_IMAGES_PER_PROMPT=3", "NGC_API_KEY=nvapi-never-kept"],
        },
    }


def test_the_record_reads_back_what_the_spec_wrote(tmp_path: Path) -> None:
    loaded = load_settings({"cache_dir": tmp_path, "port": 8123, "max_images_per_prompt": 3}, profile="sim", environ={})
    spec = build_spec(loaded.settings, loaded.profile.name)
    info = ContainerInfo.from_inspect(inspect_data(spec.labels))
    assert info.managed and info.running
    assert (info.name, info.profile, info.url, info.model) == (
        "nimctl-sim",
        "sim",
        "http://127.0.0.1:8123",
        "mistralai/mistral-small-4-119b-2603",
    )
    assert info.max_images == 3 and info.config_hash == spec.config_hash and info.url == spec.url
    assert info.readiness_path == loaded.settings.readiness_path and info.version
    assert "NGC_API_KEY" not in info.env and info.env["NIM_MAX_IMAGES_PER_PROMPT"] == "3"
    observed = info.observed
    assert (observed.id, observed.managed, observed.config_hash, observed.image_id) == (
        "abc123",
        True,
        spec.config_hash,
        "sha256:img",
    )


def test_a_container_without_nimctls_labels() -> None:
    info = ContainerInfo.from_inspect(inspect_data({}))
    assert not info.managed and info.url == "" and info.config_hash is None
    assert info.max_images == 5 and info.readiness_path == "/v1/health/ready"


def test_exit_code_and_uptime_follow_the_state() -> None:
    started = datetime(2026, 12, 1, 2, 0, 0, 123456, tzinfo=timezone.utc)
    running = ContainerInfo.from_inspect(inspect_data({}))
    assert running.started_at == started and running.exit_code is None
    assert running.uptime(now=datetime(2026, 12, 1, 2, 1, 0, 123456, tzinfo=timezone.utc)) == 60.0
    exited = ContainerInfo.from_inspect(inspect_data({}, status="exited", exit_code=3))
    assert exited.exit_code == 3 and exited.uptime() is None


def test_parse_time_handles_dockers_zero_time() -> None:
    assert parse_time("0001-01-01T00:00:00Z") is None and parse_time(None) is None
    assert parse_time("not a time") is None


def test_the_record_reads_back_the_gpu_request_and_port(tmp_path: Path) -> None:
    loaded = load_settings({"cache_dir": tmp_path, "port": 8123, "gpus": "device=0,2"}, profile="sim", environ={})
    info = ContainerInfo.from_inspect(inspect_data(build_spec(loaded.settings, loaded.profile.name).labels))
    assert info.gpus is not None and info.gpus.device_ids == ("0", "2") and info.host_port == 8123
    older = ContainerInfo.from_inspect(inspect_data({"io.nimctl.managed": "true"}))
    assert older.gpus is None and older.host_port is None  # made by a nimctl without these labels
