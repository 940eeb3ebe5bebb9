from __future__ import annotations

from pathlib import Path

import pytest

from nimctl.errors import ConfigError, ExitCode
from nimctl.settings import GpuRequest, load_settings, parse_env_pairs, parse_size

DEFAULT_IMAGE = "nvcr.io/nim/mistralai/mistral-small-4-119b-2603:1.7.0-variant"


def test_defaults_match_nvidias_docker_run() -> None:
    s = load_settings({}, environ={}).settings
    assert s.image_reference == DEFAULT_IMAGE
    assert s.container_name == "mistralai-mistral-small-4-119b-2603"
    assert (s.runtime, s.gpus, s.shm_size_bytes) == ("nvidia", "all", 32 * 1024**3)
    assert (s.container_port, s.port, s.host) == (8000, 8000, "127.0.0.1")
    assert s.cache_mount == "/opt/nim/.cache"
    assert s.cache_dir == Path("~/.cache/nim").expanduser()
    assert s.max_images_per_prompt == 5
    assert s.readiness_path == "/v1/health/ready"
    assert s.served_model == "mistralai/mistral-small-4-119b-2603"
    assert (s.pull, s.timeout) == ("missing", 1800)


def test_precedence_flag_over_env_over_profile_over_default(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text('port = 7000\nshm_size = "8g"\nhost = "0.0.0.0"\n')
    env = {"NIMCTL_PORT": "7100", "NIMCTL_SHM_SIZE": "4g"}
    loaded = load_settings({"port": 7200}, profile=str(profile), environ=env)
    s = loaded.settings
    assert s.port == 7200 and loaded.sources["port"] == "flag"
    assert s.shm_size == "4g" and loaded.sources["shm_size"] == "env NIMCTL_SHM_SIZE"
    assert s.host == "0.0.0.0" and loaded.sources["host"] == "profile p.toml"
    assert s.container_port == 8000 and loaded.sources["container_port"] == "default"


def test_nvidia_variable_names_work_as_they_are(tmp_path: Path) -> None:
    env = {
        "NGC_API_KEY": "nvapi-abc",
        "LOCAL_NIM_CACHE": str(tmp_path / "cache"),
        "NIM_MAX_IMAGES_PER_PROMPT": "9",
        "IMG_NAME": "registry.local:5000/nim/x:2",
        "CONTAINER_NAME": "my-nim",
    }
    s = load_settings({}, environ=env).settings
    assert s.ngc_api_key is not None and s.ngc_api_key.get_secret_value() == "nvapi-abc"
    assert s.cache_dir == tmp_path / "cache"
    assert s.max_images_per_prompt == 9
    assert s.image_reference == "registry.local:5000/nim/x:2"
    assert s.container_name == "my-nim"


def test_nimctl_prefix_beats_the_nvidia_name() -> None:
    s = load_settings({}, environ={"CONTAINER_NAME": "a", "NIMCTL_CONTAINER_NAME": "b"}).settings
    assert s.container_name == "b"


def test_unrelated_generic_variables_are_ignored() -> None:
    # USER, HOST, PORT are common in shells and CI; only prefixed names count.
    s = load_settings({}, environ={"USER": "someone", "HOST": "10.0.0.1", "PORT": "1", "TIMEOUT": "3"}).settings
    assert (s.user, s.host, s.port, s.timeout) == (None, "127.0.0.1", 8000, 1800)


def test_ngc_key_is_secret() -> None:
    s = load_settings({}, environ={"NGC_API_KEY": "nvapi-very-secret"}).settings
    assert "nvapi-very-secret" not in repr(s) and "nvapi-very-secret" not in str(s)


def test_profile_env_table_merges_with_env_flags(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text('[env]\nA = "1"\nB = "2"\n')
    s = load_settings({"env": {"B": "3", "C": "4"}}, profile=str(profile), environ={}).settings
    assert s.env == {"A": "1", "B": "3", "C": "4"}


def test_sim_profile_needs_no_gpu_and_builds_locally() -> None:
    s = load_settings({}, profile="sim", environ={}).settings
    assert s.gpu_request.wanted is False and s.runtime == ""
    assert s.build == "simulator" and s.image_reference == "nimctl-sim:latest"
    assert s.env["NVIDIA_VISIBLE_DEVICES"]


@pytest.mark.parametrize(
    ("flags", "profile_text", "needle"),
    [
        ({"gpus": "many"}, None, "gpus"),
        ({"shm_size": "lots"}, None, "shm_size"),
        ({"port": 70000}, None, "port"),
        ({"port": 0}, None, "port"),
        ({"pull": "sometimes"}, None, "pull"),
        ({"user": "root"}, None, "user"),
        ({"env": {"1BAD": "x"}}, None, "env"),
        ({}, "colour = 'blue'\n", "colour"),
        ({}, "port = [\n", "not valid TOML"),
        ({}, "ngc_api_key = 'nvapi-in-a-file'\n", "ngc_api_key"),
    ],
)
def test_bad_settings_name_the_setting(tmp_path: Path, flags: dict, profile_text: str | None, needle: str) -> None:
    profile = None
    if profile_text is not None:
        path = tmp_path / "bad.toml"
        path.write_text(profile_text)
        profile = str(path)
    with pytest.raises(ConfigError) as info:
        load_settings(flags, profile=profile, environ={})
    assert needle in info.value.message
    assert info.value.hint
    assert info.value.exit_code == ExitCode.USAGE
    assert "\n" not in info.value.message


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}, profile="no-such-model", environ={})
    assert "no-such-model" in info.value.message
    assert "sim" in (info.value.hint or "") and "mistral-small-4-119b-2603" in (info.value.hint or "")


def test_env_profile_variable_selects_the_profile() -> None:
    loaded = load_settings({}, environ={"NIMCTL_PROFILE": "sim"})
    assert loaded.profile.name == "sim"


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("32GB", 32 * 1024**3),
        ("32g", 32 * 1024**3),
        ("512MiB", 512 * 1024**2),
        ("1024", 1024),
        ("1.5g", int(1.5 * 1024**3)),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "g", "-1g", "0", "12x", "1 2g"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("all", GpuRequest(count=-1)),
        ("2", GpuRequest(count=2)),
        ("0,1", GpuRequest(device_ids=("0", "1"))),
        ("GPU-3a1b-77", GpuRequest(device_ids=("GPU-3a1b-77",))),
        ("none", GpuRequest(count=None)),
    ],
)
def test_gpu_request_parse(text: str, expected: GpuRequest) -> None:
    assert GpuRequest.parse(text) == expected


def test_env_pairs() -> None:
    assert parse_env_pairs(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    assert parse_env_pairs([]) is None
    with pytest.raises(ConfigError):
        parse_env_pairs(["NOEQUALS"])


def test_key_given_in_the_env_table_becomes_the_secret() -> None:
    s = load_settings({"env": {"NGC_API_KEY": "nvapi-via-env-flag"}}, environ={}).settings
    assert "NGC_API_KEY" not in s.env
    assert s.ngc_api_key is not None and s.ngc_api_key.get_secret_value() == "nvapi-via-env-flag"
    assert (
        load_settings({}, profile="sim", environ={"NGC_API_KEY": "nvapi-real"}).settings.ngc_api_key.get_secret_value()
        == "nvapi-real"
    )
