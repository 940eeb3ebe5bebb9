from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nimctl.domain import GpuRequest, parse_size
from nimctl.env_names import NVIDIA_ENV_NAMES, NVIDIA_VARIABLES, env_help, env_names, is_settings_variable
from nimctl.errors import ConfigError, ExitCode
from nimctl.options import parse_env_pairs
from nimctl.settings import SETTING_NAMES, Settings, load_settings

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
    s = load_settings({}, environ={"CONTAINER_NAME": "aa", "NIMCTL_CONTAINER_NAME": "bb"}).settings
    assert s.container_name == "bb"


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


@pytest.mark.parametrize("key", ["NGC_API_KEY", "HF_TOKEN", "hf_token"])
@pytest.mark.parametrize("layer", ["flag", "NIMCTL_ENV", "profile"])
def test_a_secret_in_the_env_table_is_refused_with_the_way_to_give_it(key: str, layer: str, tmp_path) -> None:
    secret = "nvapi-never-echoed"
    flags, environ, profile = {}, {}, None
    if layer == "flag":
        flags = {"env": {key: secret}}
    elif layer == "NIMCTL_ENV":
        environ = {"NIMCTL_ENV": json.dumps({key: secret})}
    else:
        profile = str(tmp_path / "p.toml")
        (tmp_path / "p.toml").write_text(f'[env]\n{key} = "{secret}"\n')
    with pytest.raises(ConfigError) as refused:
        load_settings(flags, profile=profile, environ=environ)
    assert refused.value.exit_code == 2
    assert f"{key} is a secret" in refused.value.message and secret not in refused.value.message
    assert f"export {key.upper()}" in (refused.value.hint or "")


def test_the_sim_profile_gets_its_key_the_normal_way() -> None:
    loaded = load_settings({}, profile="sim", environ={"NGC_API_KEY": "nvapi-real"})
    assert loaded.settings.ngc_api_key.get_secret_value() == "nvapi-real"
    assert "NGC_API_KEY" not in loaded.settings.env
    assert load_settings({}, profile="sim", environ={}).settings.ngc_api_key is None


def test_env_table_merges_across_all_three_layers(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text('[env]\nA = "profile"\nB = "profile"\nC = "profile"\n')
    environ = {"NIMCTL_ENV": json.dumps({"B": "env", "C": "env"})}
    loaded = load_settings({"env": {"C": "flag"}}, profile=str(profile), environ=environ)
    assert loaded.settings.env == {"A": "profile", "B": "env", "C": "flag"}
    assert loaded.sources["env"] == "flag"


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"A": 1}'])
def test_env_variable_that_is_not_a_json_object_of_strings_is_refused(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}, environ={"NIMCTL_ENV": text})
    assert info.value.message.startswith("invalid setting env (from env NIMCTL_ENV): ")


def test_env_lookup_ignores_case_and_reports_the_name_as_spelled() -> None:
    loaded = load_settings({}, environ={"nimctl_port": "7300", "Container_Name": "mixed"})
    assert (loaded.settings.port, loaded.sources["port"]) == (7300, "env nimctl_port")
    assert (loaded.settings.container_name, loaded.sources["container_name"]) == ("mixed", "env Container_Name")


def test_invalid_env_value_names_setting_and_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}, environ={"NIM_MAX_IMAGES_PER_PROMPT": "0"})
    assert info.value.message.startswith("invalid setting max_images_per_prompt (from env NIM_MAX_IMAGES_PER_PROMPT): ")


def test_nvidia_variable_says_when_a_generic_name_picked_the_value() -> None:
    loaded = load_settings({"port": 7400}, environ={"CONTAINER_NAME": "ci-job", "NIMCTL_IMAGE": "x/y:1"})
    assert loaded.nvidia_variable("container_name") == "CONTAINER_NAME"
    assert loaded.env_variable("container_name") == "CONTAINER_NAME"
    assert loaded.nvidia_variable("image") is None and loaded.env_variable("image") == "NIMCTL_IMAGE"
    assert loaded.nvidia_variable("port") is None and loaded.env_variable("port") is None
    assert loaded.nvidia_variable("cache_dir") is None  # default


def test_every_setting_reads_exactly_its_env_names() -> None:
    # The alias generator builds the names the environment source reads; no field spells its own.
    for field in SETTING_NAMES:
        assert Settings.model_fields[field].validation_alias.choices == list(env_names(field))
    assert env_names("container_name") == ("NIMCTL_CONTAINER_NAME", "CONTAINER_NAME")
    assert set(NVIDIA_ENV_NAMES) <= set(SETTING_NAMES)
    assert NVIDIA_VARIABLES == (
        "NGC_API_KEY",
        "LOCAL_NIM_CACHE",
        "NIM_MAX_IMAGES_PER_PROMPT",
        "IMG_NAME",
        "CONTAINER_NAME",
        "NIM_MODEL_PROFILE",
        "NIM_MODEL_PATH",
        "NIM_SERVED_MODEL_NAME",
        "HF_TOKEN",
    )


def test_model_profile_comes_from_nvidias_name_and_reaches_the_container_env() -> None:
    from nimctl.spec import build_spec

    loaded = load_settings({}, environ={"NIM_MODEL_PROFILE": "vllm-bf16-tp1-pp1"})
    assert loaded.settings.model_profile == "vllm-bf16-tp1-pp1"
    assert build_spec(loaded.settings, "p").env["NIM_MODEL_PROFILE"] == "vllm-bf16-tp1-pp1"
    flagged = load_settings({"model_profile": "abc"}, environ={"NIMCTL_MODEL_PROFILE": "def"})
    assert flagged.settings.model_profile == "abc"
    assert "NIM_MODEL_PROFILE" not in build_spec(load_settings({}, environ={}).settings, "p").env
    with pytest.raises(ConfigError, match="model_profile"):
        load_settings({"model_profile": "two words"}, environ={})


@pytest.mark.parametrize(
    ("name", "read"),
    [("NIMCTL_PORT", True), ("nimctl_profile", True), ("CONTAINER_NAME", True), ("img_name", True)]
    + [("USER", False), ("PORT", False), ("HOST", False), ("NIM_SERVER_PORT", False)],
)
def test_is_settings_variable(name: str, read: bool) -> None:
    assert is_settings_variable(name) is read


def test_env_help_lists_nvidias_name_then_the_prefixed_one() -> None:
    assert env_help("cache_dir") == "[env: LOCAL_NIM_CACHE, NIMCTL_CACHE_DIR]"
    assert env_help("port") == "[env: NIMCTL_PORT]"


def test_every_setting_is_used_by_some_code() -> None:
    # A setting nothing reads is a promise nimctl does not keep.
    package = Path(__file__).resolve().parents[2] / "nimctl"
    code = "\n".join(path.read_text() for path in package.rglob("*.py"))
    unused = [field for field in SETTING_NAMES if not re.search(rf"\.{field}\b", code)]
    assert unused == []


def test_config_show_reports_each_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from nimctl.cli.app import app

    profile = tmp_path / "p.toml"
    profile.write_text("port = 7000\n")
    monkeypatch.setenv("CONTAINER_NAME", "from-ci")
    monkeypatch.setenv("NGC_API_KEY", "nvapi-hidden-in-show")
    result = CliRunner().invoke(app, ["config", "show", "--profile", str(profile), "--json"])
    assert result.exit_code == 0, result.output
    assert "nvapi-hidden-in-show" not in result.output
    rows = {row["setting"]: row for row in json.loads(result.stdout)["settings"]}
    assert rows["container_name"] == {"setting": "container_name", "value": "from-ci", "source": "env CONTAINER_NAME"}
    assert (rows["port"]["value"], rows["port"]["source"]) == (7000, "profile p.toml")
    assert (rows["host"]["value"], rows["host"]["source"]) == ("127.0.0.1", "default")
    assert rows["ngc_api_key"]["value"] == "(set, hidden)"
    assert set(rows) == {*SETTING_NAMES, "image (effective)"}


def test_flag_help_shows_the_variables_that_set_it() -> None:
    from nimctl.cli.app import app

    result = CliRunner().invoke(app, ["up", "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # click wraps help at 80 columns
    assert "[env: LOCAL_NIM_CACHE, NIMCTL_CACHE_DIR]" in text
    assert "[env: CONTAINER_NAME, NIMCTL_CONTAINER_NAME]" in text
    assert "[env: NIMCTL_PROFILE]" in text


def test_each_profile_has_its_own_default_container_name(tmp_path: Path) -> None:
    assert load_settings({}, profile="sim", environ={}).settings.container_name == "nimctl-sim"
    default = load_settings({}, environ={}).settings.container_name
    assert default == "mistralai-mistral-small-4-119b-2603"
    bare = tmp_path / "my-model.toml"
    bare.write_text('image = "example.org/x:1"\n')
    loaded = load_settings({}, profile=str(bare), environ={})
    assert loaded.settings.container_name == "nimctl-my-model"
    assert loaded.sources["container_name"] == "default"


def test_generic_variables_that_pick_the_target_are_named() -> None:
    loaded = load_settings({}, profile="sim", environ={"CONTAINER_NAME": "ci-job", "IMG_NAME": "x/y:1"})
    assert loaded.generic_sources() == [("name", "CONTAINER_NAME"), ("image", "IMG_NAME")]
    assert load_settings({}, profile="sim", environ={"NIMCTL_CONTAINER_NAME": "nn"}).generic_sources() == []
