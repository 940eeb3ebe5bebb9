"""Issue 18, the pure parts: model sources, the local model directory, the key a source needs,
HF_TOKEN as a secret, the spec's mount and environment, and the served-model expectation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from nimctl import validation
from nimctl.errors import MASK, ConfigError, ExitCode, redact
from nimctl.preflight import FAIL, SKIP, check_ngc_key
from nimctl.settings import Settings, load_profile, load_settings
from nimctl.spec import (
    HF_TOKEN_ENV,
    MODEL_MOUNT_ROOT,
    MODEL_PATH_ENV,
    SERVED_MODEL_NAME_ENV,
    build_spec,
    expected_model,
)


def model_dir(tmp_path: Path, config: bool = True) -> Path:
    directory = tmp_path / "my-llama"
    directory.mkdir()
    if config:
        (directory / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    return directory


@pytest.mark.parametrize(
    ("source", "scheme"),
    [
        ("hf://meta-llama/Llama-3.1-8B-Instruct", "hf"),
        ("ngc://nim/meta/llama-3.3-70b-instruct:hf", "ngc"),
        ("HF://org/model", "hf"),
        ("s3://bucket/org/model", "s3"),
        ("/models/x", None),
    ],
)
def test_model_source_schemes(source: str, scheme: str | None) -> None:
    assert validation.model_source_scheme(source) == scheme
    assert validation.model_source(source) == source


@pytest.mark.parametrize("bad", ["", "  ", "ftp://x/y", "hf://", "hf:///", "hf://org/mödel", "/models/a\x00b"])
def test_bad_model_sources_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        validation.model_source(bad)


def test_a_relative_model_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert validation.model_source("models/x") == str(tmp_path / "models" / "x")


def test_a_local_model_directory_needs_config_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        validation.local_model_directory(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        validation.local_model_directory(tmp_path / "file")
    empty = model_dir(tmp_path, config=False)
    with pytest.raises(ValueError, match="no config.json"):
        validation.local_model_directory(empty)
    (empty / "config.json").write_text("{}")
    assert validation.local_model_directory(empty) == empty.resolve()


def test_load_settings_refuses_a_local_directory_without_config_json_as_exit_2(tmp_path: Path) -> None:
    directory = model_dir(tmp_path, config=False)
    with pytest.raises(ConfigError) as refused:
        load_settings({"model_path": str(directory), "cache_dir": str(tmp_path / "c")}, profile="sim", environ={})
    assert refused.value.exit_code == ExitCode.USAGE
    assert "model_path" in refused.value.message and "config.json" in refused.value.message


def test_model_path_and_served_name_come_from_nvidias_variables(tmp_path: Path) -> None:
    environ = {"NIM_MODEL_PATH": "hf://org/model", "NIM_SERVED_MODEL_NAME": "mine", "HF_TOKEN": "hf_secret"}
    loaded = load_settings({"cache_dir": str(tmp_path)}, profile="model-free-nim", environ=environ)
    settings = loaded.settings
    assert settings.model_path == "hf://org/model" and settings.served_model_name == "mine"
    assert settings.hf_token is not None and settings.hf_token.get_secret_value() == "hf_secret"
    assert loaded.sources["hf_token"] == "env HF_TOKEN"
    assert "hf_secret" not in repr(settings) and "hf_secret" not in str(settings.model_dump())


def test_hf_token_in_a_profile_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('hf_token = "hf_x"\n')
    with pytest.raises(ConfigError, match="hf_token"):
        load_profile(str(path))


def test_hf_token_through_the_env_table_is_refused() -> None:
    # secrets arrive one way (issue 20): the environment variable, never the env table
    with pytest.raises(ValueError, match="HF_TOKEN"):
        Settings(env={"HF_TOKEN": "hf_x", "A": "b"})


@pytest.mark.parametrize(
    ("values", "needs"),
    [
        ({}, True),  # the Mistral 1.x default: needs_ngc_key
        ({"needs_ngc_key": False}, False),  # a public 2.x image
        ({"needs_ngc_key": False, "model_path": "ngc://nim/meta/x:hf"}, True),
        ({"needs_ngc_key": False, "model_path": "hf://org/x"}, False),
        ({"model_path": "hf://org/x"}, False),  # the source decides, not the profile's model
        ({"model_path": "/models/x"}, False),
    ],
)
def test_the_key_follows_the_model_source(tmp_path: Path, values: dict, needs: bool) -> None:
    settings = Settings(cache_dir=tmp_path / "empty-cache", **values)
    assert settings.needs_key is needs
    check = check_ngc_key(settings, needs_pull=True)
    assert check.status == (FAIL if needs else SKIP), check
    if needs and "model_path" in values:
        assert values["model_path"] in check.detail


def test_the_spec_mounts_a_local_model_read_only_and_points_nim_model_path_at_it(tmp_path: Path) -> None:
    directory = model_dir(tmp_path)
    settings = Settings(model_path=str(directory), cache_dir=tmp_path / "c", hf_token="hf_x")
    spec = build_spec(settings, "p")
    (mount,) = [m for m in spec.mounts if m.source == directory]
    assert mount.read_only and mount.target == f"{MODEL_MOUNT_ROOT}/my-llama"
    assert spec.env[MODEL_PATH_ENV] == mount.target
    assert HF_TOKEN_ENV not in spec.env and spec.secret_env[HF_TOKEN_ENV].get_secret_value() == "hf_x"
    assert "hf_x" not in repr(spec)


def test_a_remote_source_and_a_served_name_are_plain_environment(tmp_path: Path) -> None:
    spec = build_spec(Settings(model_path="hf://org/m", served_model_name="mine", cache_dir=tmp_path), "p")
    assert spec.env[MODEL_PATH_ENV] == "hf://org/m" and spec.env[SERVED_MODEL_NAME_ENV] == "mine"
    assert len(spec.mounts) == 1


def test_the_1x_spec_is_unchanged_by_the_new_settings(tmp_path: Path) -> None:
    spec = build_spec(Settings(cache_dir=tmp_path, ngc_api_key="nvapi-x"), "p")
    assert MODEL_PATH_ENV not in spec.env and SERVED_MODEL_NAME_ENV not in spec.env
    assert set(spec.secret_env) == {"NGC_API_KEY"} and len(spec.mounts) == 1


def test_an_hf_token_changes_the_deployment_like_the_key_does(tmp_path: Path) -> None:
    plain = build_spec(Settings(cache_dir=tmp_path), "p").config_hash
    assert build_spec(Settings(cache_dir=tmp_path, hf_token="hf_a"), "p").config_hash != plain
    assert build_spec(Settings(cache_dir=tmp_path, hf_token="hf_b"), "p").config_hash == (
        build_spec(Settings(cache_dir=tmp_path, hf_token="hf_a"), "p").config_hash  # the value is never hashed
    )


def test_the_expected_model(tmp_path: Path) -> None:
    assert expected_model(Settings(served_model="a/b")) == "a/b"
    assert expected_model(Settings(served_model="a/b", model_path="hf://o/m")) is None  # replaced model
    assert expected_model(Settings(served_model="a/b", served_model_name="mine")) == "mine"
    assert expected_model(Settings()) is None


def test_capabilities_are_a_list_of_known_names() -> None:
    assert Settings(capabilities="text, tools").capabilities == ["text", "tools"]
    assert Settings().capabilities is None
    with pytest.raises(ValueError):
        Settings(capabilities=["text", "telepathy"])


def test_redact_cuts_every_secret() -> None:
    text = "key nvapi-k and token hf_t here"
    assert redact(text, SecretStr("nvapi-k"), SecretStr("hf_t")) == f"key {MASK} and token {MASK} here"
    assert redact(text, None, SecretStr("")) == text


def test_the_shipped_profiles_declare_capabilities() -> None:
    assert load_profile("mistral-small-4-119b-2603").values["capabilities"] == ["text", "vision", "tools", "reasoning"]
    assert load_profile("sim").values["capabilities"] == ["text", "vision", "tools", "reasoning"]
    llama = load_profile("llama-3.1-8b-instruct").values
    assert llama["capabilities"] == ["text", "tools"] and llama["needs_ngc_key"] is False
    assert llama["image_repository"] == "nvcr.io/nim/meta/llama-3.1-8b-instruct" and llama["image_tag"].startswith("2.")
    free = load_profile("model-free-nim").values
    assert free["image_repository"] == "nvcr.io/nim/nvidia/model-free-nim" and "capabilities" not in free
