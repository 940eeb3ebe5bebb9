"""The simulator as a NIM LLM 2.x: keyless releases, model-free sources (hf://, ngc://, a local
directory) with their failures, and the served name derived from the source."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from nimctl.diagnosis import diagnose
from nimctl.simulator.sim import SimConfig, check_api_key, handle
from nimctl.simulator.sim.config import DEFAULT_MODEL, MODEL_FREE_RELEASE, NIM_RELEASE
from nimctl.simulator.sim.model_source import (
    SUPPORTED_ARCHITECTURES,
    check_model_source,
    is_model_source,
    parse_source,
    served_name,
)
from tests.unit.simulator_client import (
    chat,
    fast_config,
    handle_client,
    message_of,
    ready_state,
    status_of,
    user,
    wait_for,
)
from tests.unit.test_simulator_process import MAIN_COMMAND, container_env, run_main

HF_TOKEN_VALUE = "hf_SIMTEST0123456789abcdefghij"  # recognisable: no output may contain it


def model_dir(tmp_path: Path, config: object | None = None, name: str = "my-model") -> Path:
    """A local model directory; `config` is written as config.json unless None."""
    directory = tmp_path / name
    directory.mkdir()
    if config is not None:
        (directory / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    return directory


LLAMA_CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}


# -- the source and the served name ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("hf://meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-8B-Instruct"),
        ("hf://meta-llama/Llama-3.1-8B-Instruct:main", "meta-llama/Llama-3.1-8B-Instruct"),
        ("ngc://nim/meta/llama-3.3-70b-instruct:hf", "nim/meta/llama-3.3-70b-instruct"),
        ("ngc://nim/meta/llama-3.3-70b-instruct:1.0?file=config.json", "nim/meta/llama-3.3-70b-instruct"),
        ("modelscope://LLM-Research/Llama-3.2-1B-Instruct:d3e55134", "LLM-Research/Llama-3.2-1B-Instruct"),
        ("/mnt/models/my-llama", "/mnt/models/my-llama"),
        ("/mnt/models/my-llama/", "/mnt/models/my-llama"),
        ("hf://org/odd:name:v2", "org/odd-name"),  # a ':' left after the version is replaced
    ],
)
def test_the_served_name_is_the_source_without_scheme_and_version(source: str, name: str) -> None:
    assert served_name(source) == name
    assert SimConfig(model_path=source).served_model_name == name


def test_parse_source_keeps_scheme_location_and_version() -> None:
    source = parse_source("hf://org/model:rev1")
    assert (source.scheme, source.location, source.version) == ("hf", "org/model", "rev1")
    local = parse_source("/models/x")
    assert (local.scheme, local.location, local.version) == ("", "/models/x", "")


def test_what_counts_as_a_model_argument() -> None:
    assert is_model_source("hf://org/m") and is_model_source("/models/m") and is_model_source("s3://b/m")
    assert not is_model_source("list-model-profiles") and not is_model_source("download-to-cache")


def test_nim_served_model_name_overrides_the_derived_name() -> None:
    cfg = SimConfig.from_env({"NIM_MODEL_PATH": "hf://org/model", "NIM_SERVED_MODEL_NAME": "chat"})
    assert cfg.model_path == "hf://org/model" and cfg.served_model_name == "chat"


def test_the_first_argument_takes_precedence_over_nim_model_path() -> None:
    cfg = SimConfig.from_env({"NIM_MODEL_PATH": "hf://org/from-env"}, model_path="hf://org/from-argument")
    assert cfg.model_path == "hf://org/from-argument" and cfg.served_model_name == "org/from-argument"


def test_without_a_source_the_simulator_is_the_mistral_nim_it_always_was() -> None:
    cfg = SimConfig.from_env({})
    assert not cfg.model_free and cfg.served_model_name == DEFAULT_MODEL
    assert cfg.release == NIM_RELEASE and cfg.keyless is False


def test_model_free_mode_is_a_2x_release_unless_told() -> None:
    cfg = SimConfig.from_env({"NIM_MODEL_PATH": "/models/m"})
    assert cfg.release == MODEL_FREE_RELEASE and cfg.keyless is True
    assert SimConfig.from_env({"NIM_MODEL_PATH": "/models/m", "SIM_RELEASE": "2.0.4"}).keyless is False


def test_hf_token_is_read_but_never_shown() -> None:
    cfg = SimConfig.from_env({"HF_TOKEN": HF_TOKEN_VALUE, "SIM_HF_GATED": "meta-llama/*, google/gemma-3-*"})
    assert cfg.hf_token == HF_TOKEN_VALUE and HF_TOKEN_VALUE not in repr(cfg)
    assert cfg.hf_gated == ("meta-llama/*", "google/gemma-3-*")


@pytest.mark.parametrize(
    ("name", "value"),
    [("SIM_KEYLESS", "maybe"), ("SIM_NOT_SERVING", "sometimes"), ("SIM_NOT_SERVING_AFTER", "-1")],
)
def test_bad_values_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        SimConfig.from_env({name: value})


# -- keyless releases -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("release", "keyless"),
    [("1.7.0-variant", False), ("2.0.4", False), ("2.0.9", False), ("2.0.10", True), ("2.1.6", True), ("3.0", True)],
)
def test_releases_from_2_0_10_on_are_keyless(release: str, keyless: bool) -> None:
    cfg = SimConfig.from_env({"SIM_RELEASE": release})
    assert cfg.keyless is keyless
    assert (check_api_key(cfg) is None) is keyless  # no key, an empty cache


def test_sim_keyless_overrides_the_release() -> None:
    # a production-branch or private 2.x image still wants its key
    assert "NGC_API_KEY" in check_api_key(SimConfig.from_env({"SIM_RELEASE": "2.1.6", "SIM_KEYLESS": "false"}))
    assert check_api_key(SimConfig.from_env({"SIM_KEYLESS": "true"})) is None


def test_the_release_is_what_version_and_metadata_report() -> None:
    state = ready_state(fast_config(release="2.1.6", model_path="hf://org/model"))
    assert json.loads(handle(state, "GET", "/v1/version").body)["release"] == "2.1.6"
    metadata = json.loads(handle(state, "GET", "/v1/metadata").body)
    assert metadata["version"] == "2.1.6" and metadata["modelInfo"][0]["modelUrl"] == "hf://org/model"


def test_a_keyless_release_starts_without_a_key(tmp_path: Path) -> None:
    env = container_env(tmp_path, NGC_API_KEY=None, SIM_RELEASE="2.1.6", SIM_STARTUP_DELAY="0")
    base = f"http://127.0.0.1:{env['NIM_SERVER_PORT']}"
    with subprocess.Popen(MAIN_COMMAND, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            wait_for(lambda: status_of(base + "/v1/health/ready") == 200, 10, "ready")
        finally:
            proc.terminate()
        out, _ = proc.communicate(timeout=5)
    assert "Version 2.1.6" in out


def test_a_1x_release_still_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    result = run_main(container_env(tmp_path, NGC_API_KEY=None))
    assert result.returncode == 1 and "NGC_API_KEY is not set" in result.stderr


# -- obtaining the model (the start-up step, as a function) ---------------------------------------------


def test_a_gated_hf_repository_without_a_token_is_a_gated_repo_error() -> None:
    problem = check_model_source(SimConfig(model_path="hf://meta-llama/Llama-3.1-8B-Instruct", hf_gated="meta-llama/*"))
    assert problem is not None
    text = "\n".join(problem.lines)
    assert "huggingface_hub.errors.GatedRepoError: 401 Client Error." in text
    assert "https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/resolve/main/config.json" in text
    assert "Access to model meta-llama/Llama-3.1-8B-Instruct is restricted" in text


def test_the_revision_is_in_the_gated_url() -> None:
    problem = check_model_source(SimConfig(model_path="hf://org/m:v2", hf_gated="org/m"))
    assert problem is not None and "/org/m/resolve/v2/config.json" in "\n".join(problem.lines)


@pytest.mark.parametrize(
    "config",
    [
        {"model_path": "hf://meta-llama/Llama-3.1-8B-Instruct", "hf_gated": "meta-llama/*", "hf_token": "hf_x"},
        {"model_path": "hf://Qwen/Qwen3-8B", "hf_gated": "meta-llama/*"},  # not gated: no token needed
        {"model_path": "ngc://nim/meta/llama:hf", "ngc_api_key": "nvapi-x"},
        {"model_path": "s3://bucket/org/model"},
    ],
    ids=["gated-with-token", "public-hf", "ngc-with-key", "s3"],
)
def test_sources_that_can_be_obtained(config: dict) -> None:
    assert check_model_source(SimConfig(**config)) is None


def test_ngc_without_a_key_is_a_401() -> None:
    problem = check_model_source(SimConfig(model_path="ngc://nim/meta/llama-3.3-70b-instruct:hf"))
    assert problem is not None and problem.lines == (
        "Model download failed for ngc://nim/meta/llama-3.3-70b-instruct:hf: 401 Unauthorized: NGC_API_KEY is not set",
    )


def test_a_remote_model_whose_architecture_vllm_lacks() -> None:
    problem = check_model_source(SimConfig(model_path="hf://org/new", model_architectures="BrandNewForCausalLM"))
    assert problem is not None
    assert problem.lines[0].startswith("ValueError: Model architectures ['BrandNewForCausalLM'] are not supported")
    assert check_model_source(SimConfig(model_path="hf://org/new", model_architectures="X, LlamaForCausalLM")) is None


def test_a_local_directory_with_a_supported_config(tmp_path: Path) -> None:
    for architecture in SUPPORTED_ARCHITECTURES:
        assert (
            check_model_source(
                SimConfig(model_path=str(model_dir(tmp_path, {"architectures": [architecture]}, architecture)))
            )
            is None
        )


@pytest.mark.parametrize(
    ("config", "expected", "cause"),
    [
        (None, "does not appear to have a file named config.json", "model-config-missing"),
        ("{not json", "cannot read", None),
        (
            {"architectures": ["MyNewForCausalLM"]},
            "Model architectures ['MyNewForCausalLM'] are not supported",
            "unsupported-architecture",
        ),
        ({"model_type": "llama"}, "Model architectures [] are not supported", "unsupported-architecture"),
    ],
    ids=["no-config", "bad-json", "unsupported", "no-architectures"],
)
def test_a_local_directory_that_cannot_be_served(tmp_path: Path, config, expected: str, cause: str | None) -> None:
    problem = check_model_source(SimConfig(model_path=str(model_dir(tmp_path, config))))
    assert problem is not None and expected in problem.lines[0]
    found = diagnose(problem.lines)
    assert (found.key if found else None) == cause


def test_a_missing_local_directory(tmp_path: Path) -> None:
    problem = check_model_source(SimConfig(model_path=str(tmp_path / "absent")))
    assert problem is not None and "does not exist" in problem.lines[0]
    assert diagnose(problem.lines).key == "model-config-missing"


@pytest.mark.parametrize("source", ["ftp://host/model", "relative/dir"])
def test_sources_a_nim_does_not_know(source: str) -> None:
    problem = check_model_source(SimConfig(model_path=source))
    assert problem is not None and problem.lines[0].startswith("Model download failed:")


# -- serving: /v1/models and chat use the derived name --------------------------------------------------


def test_models_reports_the_derived_name_and_chat_accepts_only_it(tmp_path: Path) -> None:
    directory = str(model_dir(tmp_path, LLAMA_CONFIG))
    with handle_client(ready_state(fast_config(model_path=directory))) as http:
        assert [m["id"] for m in http.get("/v1/models").json()["data"]] == [directory]
        answer = http.post("/v1/chat/completions", json={"model": directory, "messages": [user("hi")]})
        assert directory in message_of(answer)["content"]
        assert chat(http, [user("hi")]).status_code == 404  # the Mistral name is not served


# -- the container entry point in model-free mode ---------------------------------------------------------


def model_free_env(tmp_path: Path, **overrides: str | None) -> dict[str, str]:
    """A 2.x model-free container: no NGC key unless given."""
    return container_env(tmp_path, NGC_API_KEY=None, SIM_STARTUP_DELAY="0", **overrides)


def test_main_serves_a_local_directory_under_its_path(tmp_path: Path) -> None:
    directory = str(model_dir(tmp_path, LLAMA_CONFIG))
    env = model_free_env(tmp_path, NIM_MODEL_PATH=directory)
    base = f"http://127.0.0.1:{env['NIM_SERVER_PORT']}"
    with subprocess.Popen(MAIN_COMMAND, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            wait_for(lambda: status_of(base + "/v1/health/ready") == 200, 10, "ready")
            models = httpx.get(base + "/v1/models", timeout=5).json()
        finally:
            proc.terminate()
        out, _ = proc.communicate(timeout=5)
    assert [m["id"] for m in models["data"]] == [directory]
    assert f"Using the local model directory {directory}" in out and "Version 2.1.6" in out


def test_main_takes_the_model_as_its_first_argument(tmp_path: Path) -> None:
    env = model_free_env(tmp_path, NIM_SERVED_MODEL_NAME="llama", HF_TOKEN=HF_TOKEN_VALUE, SIM_HF_GATED="meta-llama/*")
    base = f"http://127.0.0.1:{env['NIM_SERVER_PORT']}"
    command = [*MAIN_COMMAND, "hf://meta-llama/Llama-3.1-8B-Instruct"]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            wait_for(lambda: status_of(base + "/v1/health/ready") == 200, 10, "ready")
            models = httpx.get(base + "/v1/models", timeout=5).json()
        finally:
            proc.terminate()
        out, err = proc.communicate(timeout=5)
    assert [m["id"] for m in models["data"]] == ["llama"]
    assert "Downloading meta-llama/Llama-3.1-8B-Instruct from https://huggingface.co" in out
    assert HF_TOKEN_VALUE not in out + err


@pytest.mark.parametrize("token", [None, ""], ids=["unset", "empty"])
def test_main_fails_a_gated_repository_without_hf_token(tmp_path: Path, token: str | None) -> None:
    env = model_free_env(
        tmp_path, NIM_MODEL_PATH="hf://meta-llama/Llama-3.1-8B-Instruct", SIM_HF_GATED="meta-llama/*", HF_TOKEN=token
    )
    result = run_main(env)
    assert result.returncode == 1
    assert "GatedRepoError: 401 Client Error" in result.stderr and "NIM is ready" not in result.stdout
    found = diagnose((result.stdout + result.stderr).splitlines())
    assert found is not None and found.key == "hf-gated"


def test_main_fails_ngc_without_a_key_and_a_local_directory_without_config(tmp_path: Path) -> None:
    ngc = run_main(model_free_env(tmp_path, NIM_MODEL_PATH="ngc://nim/meta/llama-3.3-70b-instruct:hf"))
    assert ngc.returncode == 1 and diagnose(ngc.stderr.splitlines()).key == "download-refused"
    empty = str(model_dir(tmp_path, None))
    local = run_main(model_free_env(tmp_path, NIM_MODEL_PATH=empty))
    assert local.returncode == 1 and diagnose(local.stderr.splitlines()).key == "model-config-missing"
    unsupported = str(model_dir(tmp_path, {"architectures": ["MyNewForCausalLM"]}, "new"))
    arch = run_main(model_free_env(tmp_path, NIM_MODEL_PATH=unsupported))
    assert arch.returncode == 1 and diagnose(arch.stderr.splitlines()).key == "unsupported-architecture"
    for result in (ngc, local, arch):
        assert all(line.startswith("ERROR ") for line in result.stderr.splitlines()), result.stderr


# -- download-to-cache (what `nimctl cache prefetch` runs) in 2.x modes ----------------------------------


def download_to_cache(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*MAIN_COMMAND, "download-to-cache"], env=env, capture_output=True, text=True, timeout=20, check=False
    )


def test_download_to_cache_of_a_keyless_release_needs_no_key(tmp_path: Path) -> None:
    result = download_to_cache(model_free_env(tmp_path, SIM_RELEASE="2.1.6"))
    assert result.returncode == 0, result.stderr
    assert "Downloaded config.json" in result.stdout


def test_download_to_cache_follows_the_model_source(tmp_path: Path) -> None:
    gated = model_free_env(
        tmp_path, NIM_MODEL_PATH="hf://meta-llama/Llama-3.1-8B-Instruct", SIM_HF_GATED="meta-llama/*"
    )
    refused = download_to_cache(gated)
    assert refused.returncode == 1 and diagnose(refused.stderr.splitlines()).key == "hf-gated"
    allowed = download_to_cache({**gated, "HF_TOKEN": HF_TOKEN_VALUE})
    assert allowed.returncode == 0, allowed.stderr
    assert HF_TOKEN_VALUE not in allowed.stdout + allowed.stderr
