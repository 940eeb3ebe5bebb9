"""Any NIM LLM (issue 18), on the real engine: a keyless 2.x image from a registry without auth,
model-free sources (hf://, ngc://, a local directory), the served name the NIM reports, HF_TOKEN kept
secret, and smoke checks that follow the model's capabilities.

The simulator is the NIM here: SIM_RELEASE=2.1.6 makes it a keyless 2.x NIM, NIM_MODEL_PATH (nimctl's
--model-path) a model-free one, SIM_HF_GATED a gated Hugging Face repository, SIM_CAPABILITIES a
text-only model (docs/architecture.md, the simulator's table)."""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from pathlib import Path

import docker.errors
import pytest

from nimctl.spec import MODEL_MOUNT_ROOT
from tests.integration.harness import Deployment, run_nimctl

pytestmark = pytest.mark.integration

TWO_X = {"SIM_RELEASE": "2.1.6"}  # a public 2.x NIM: keyless
GATED_REPO = "meta-llama/Llama-3.1-8B-Instruct"


@pytest.fixture
def two_x(make_deployment, public_registry_image: str):
    """A deployment of the public (no auth) 2.x image, without any key in the environment."""

    def make(env: dict[str, str] | None = None, **overrides) -> Deployment:
        overrides.setdefault("needs_ngc_key", False)
        return make_deployment(public_registry_image, key=None, env={**TWO_X, **(env or {})}, **overrides)

    return make


def container_or_none(docker_client, name: str):
    try:
        return docker_client.containers.get(name)
    except docker.errors.NotFound:
        return None


def container_env(docker_client, name: str) -> dict[str, str]:
    attrs = docker_client.api.inspect_container(name)
    return dict(item.split("=", 1) for item in attrs["Config"]["Env"])


def up_json(deployment: Deployment, *extra: str, env: dict[str, str] | None = None):
    result = deployment.up("--json", *extra, **({"env": env} if env is not None else {}))
    return result, (json.loads(result.stdout) if result.returncode == 0 else None)


def status_row(deployment: Deployment, env: dict[str, str] | None = None) -> dict:
    """The deployment's `status --json` row. status probes with a short deadline per request (a slow
    answer shows as none that time): on this shared, loaded machine, ask again a few times."""
    for _ in range(5):
        result = deployment.nimctl("status", "--json", **({"env": env} if env is not None else {}))
        assert result.returncode == 0, repr(result)
        (row,) = [row for row in json.loads(result.stdout) if row["name"] == deployment.name]
        if row["ready"] and row["model"] is not None:
            break
    return row


def local_model(tmp_path: Path, name: str = "my-llama", *, config: bool = True) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    if config:
        (directory / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    (directory / "tokenizer.json").write_text("{}")
    return directory


# --- keys follow the image and the model source ----------------------------------------------------


def test_a_public_2x_image_pulls_and_starts_without_any_key(two_x, docker_client, public_registry_image: str):
    deployment = two_x()
    assert "NGC_API_KEY" not in deployment.env
    result, summary = up_json(deployment, "--smoke", "quick")
    assert result.returncode == 0, repr(result)
    assert summary["ready"] and summary["image"] == public_registry_image
    assert "logging in" not in result.stderr  # anonymous pull
    assert "NGC_API_KEY" not in container_env(docker_client, deployment.name)
    # the model-specific 2.x image serves its own model; nimctl reports what /v1/models says
    assert summary["model"] == summary["smoke"]["model"] == "mistralai/mistral-small-4-119b-2603"


def test_an_ngc_source_without_a_key_is_refused_before_anything_is_created(two_x, docker_client):
    deployment = two_x()
    result = deployment.up("--no-smoke", "--model-path", "ngc://nim/meta/llama-3.3-70b-instruct:hf")
    assert result.returncode == 8, repr(result)
    assert "NGC_API_KEY is not set" in result.stderr and "ngc://nim/meta/llama-3.3-70b-instruct:hf" in result.stderr
    assert container_or_none(docker_client, deployment.name) is None


def test_a_registry_that_asks_for_credentials_still_gets_todays_answer(make_deployment, registry_image, docker_client):
    # a 2.x profile (no key needed for the model) whose image sits in a registry that wants a login
    deployment = make_deployment(registry_image, key=None, needs_ngc_key=False, env=TWO_X)
    result = deployment.up("--no-smoke")
    assert result.returncode == 4, repr(result)
    assert "NGC_API_KEY is not set" in result.stderr
    assert container_or_none(docker_client, deployment.name) is None


def test_a_profile_that_needs_the_key_still_needs_it(two_x, docker_client):
    deployment = two_x(needs_ngc_key=True)  # a 1.x-style profile: its NIM downloads from NGC
    result = deployment.up("--no-smoke")
    assert result.returncode == 8, repr(result)
    assert "NGC_API_KEY is not set" in result.stderr
    assert container_or_none(docker_client, deployment.name) is None


# --- Hugging Face: gated without HF_TOKEN, and HF_TOKEN kept secret -----------------------------


def test_a_gated_hf_model_without_hf_token_fails_with_the_cause_and_the_fix(two_x, docker_client):
    deployment = two_x(env={"SIM_HF_GATED": "meta-llama/*"})
    result = deployment.up("--no-smoke", "--model-path", f"hf://{GATED_REPO}")
    assert result.returncode == 5, repr(result)
    assert "gated Hugging Face repository" in result.stderr
    assert "set HF_TOKEN" in result.stderr
    assert container_or_none(docker_client, deployment.name) is None  # removed after the failed start


def test_with_hf_token_the_gated_model_serves_and_the_token_is_never_shown(two_x, docker_client, tmp_path):
    token = "hf_TESTTOKEN" + secrets.token_hex(12)
    deployment = two_x(env={"SIM_HF_GATED": "meta-llama/*"})
    env = {**deployment.env, "HF_TOKEN": token}
    result, summary = up_json(deployment, "--model-path", f"hf://{GATED_REPO}:main", env=env)
    assert result.returncode == 0, repr(result)
    assert summary["model"] == GATED_REPO  # the scheme and the :revision removed, as the NIM derives it
    assert container_env(docker_client, deployment.name)["HF_TOKEN"] == token  # the NIM got it
    outputs = [
        result,
        deployment.nimctl("status", "--json", env=env),
        deployment.nimctl("logs", "--name", deployment.name, env=env),
        deployment.nimctl("config", "show", "--profile", str(deployment.profile), env=env),
        deployment.nimctl("config", "show", "--json", "--profile", str(deployment.profile), env=env),
        deployment.nimctl("smoke", "--name", deployment.name, "--json", env=env),
    ]
    for output in outputs:
        assert token not in output.output, repr(output)
    shown = json.loads(outputs[4].stdout)["settings"]
    (row,) = [row for row in shown if row["setting"] == "hf_token"]
    assert row["value"] == "(set, hidden)" and row["source"] == "env HF_TOKEN"
    # a failed start with the token set: its saved log does not hold it either
    failing = two_x(env={"SIM_MODEL_ARCHITECTURES": "NoSuchForCausalLM"})
    failed = failing.up("--no-smoke", "--model-path", f"hf://{GATED_REPO}", env={**failing.env, "HF_TOKEN": token})
    assert failed.returncode == 5 and "not supported by the NIM's backend" in failed.stderr, repr(failed)
    assert token not in failed.output
    logs = list((failing.cache_dir.parent / "logs").glob("*.log"))
    assert logs, "the failed start's log was saved"
    for path in [*logs, *tmp_path.rglob("*.log")]:
        assert token not in path.read_text(errors="replace"), path


# --- a local model directory ----------------------------------------------------------------------


def test_a_local_model_is_mounted_read_only_and_served_under_its_derived_name(two_x, docker_client, tmp_path):
    model_dir = local_model(tmp_path)
    deployment = two_x()
    result, summary = up_json(deployment, "--model-path", str(model_dir), "--smoke", "quick")
    assert result.returncode == 0, repr(result)
    target = f"{MODEL_MOUNT_ROOT}/my-llama"
    mounts = {m["Destination"]: m for m in docker_client.api.inspect_container(deployment.name)["Mounts"]}
    assert mounts[target]["Source"] == str(model_dir) and mounts[target]["RW"] is False
    assert container_env(docker_client, deployment.name)["NIM_MODEL_PATH"] == target
    # the NIM names a local model by its path; nimctl reports that, not the profile's served_model
    assert summary["model"] == target and summary["smoke"]["model"] == target and summary["smoke"]["ok"]
    assert status_row(deployment)["model"] == target
    smoke = deployment.nimctl("smoke", "--name", deployment.name, "--json")
    assert smoke.returncode == 0, repr(smoke)
    assert json.loads(smoke.stdout)["model"] == target


def test_a_local_directory_without_config_json_is_refused_before_anything_is_created(two_x, docker_client, tmp_path):
    model_dir = local_model(tmp_path, config=False)
    deployment = two_x()
    result = deployment.up("--no-smoke", "--model-path", str(model_dir))
    assert result.returncode == 2, repr(result)
    assert "config.json" in result.stderr and "model_path" in result.stderr
    missing = deployment.up("--no-smoke", "--model-path", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr, repr(missing)
    assert container_or_none(docker_client, deployment.name) is None


def test_served_model_name_overrides_the_derived_name(two_x, docker_client, tmp_path):
    deployment = two_x()
    result, summary = up_json(
        deployment, "--model-path", "hf://Qwen/Qwen2.5-0.5B-Instruct", "--served-model-name", "my-model"
    )
    assert result.returncode == 0, repr(result)
    assert summary["model"] == "my-model" and summary["smoke"]["model"] == "my-model"
    assert container_env(docker_client, deployment.name)["NIM_SERVED_MODEL_NAME"] == "my-model"
    assert status_row(deployment)["model"] == "my-model"


# --- smoke checks follow the model's capabilities -------------------------------------------------


def test_smoke_all_on_a_text_only_model_skips_what_it_lacks_with_reasons(two_x, tmp_path):
    deployment = two_x(env={"SIM_CAPABILITIES": "text"})  # the test profile declares no capabilities
    up = deployment.up("--no-smoke", "--model-path", "hf://Qwen/Qwen2.5-0.5B-Instruct")
    assert up.returncode == 0, repr(up)
    junit = tmp_path / "smoke.xml"
    result = deployment.nimctl(
        "smoke", "--name", deployment.name, "--checks", "all", "--json", "--junit-xml", str(junit)
    )
    assert result.returncode == 0, repr(result)
    report = json.loads(result.stdout)
    statuses = {check["name"]: check for check in report["checks"]}
    assert report["model"] == "Qwen/Qwen2.5-0.5B-Instruct"
    for name in ("image-base64", "max-images", "reasoning", "tools"):
        assert statuses[name]["status"] == "skip", statuses[name]
    assert "not a multimodal model" in statuses["image-base64"]["reason"]
    assert "no reasoning capability" in statuses["reasoning"]["reason"]
    assert "--enable-auto-tool-choice" in statuses["tools"]["reason"]
    for name in ("models", "text", "multi-turn", "chat-template"):
        assert statuses[name]["status"] == "pass", statuses[name]
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    skipped = [case.get("name") for case in suite.iter("testcase") if case.find("skipped") is not None]
    assert {"image-base64", "reasoning", "tools"} <= set(skipped)


def test_a_declared_capability_the_model_lacks_fails_the_smoke(two_x):
    deployment = two_x(env={"SIM_CAPABILITIES": "text"}, capabilities=["text", "vision"])
    up = deployment.up("--no-smoke")
    assert up.returncode == 0, repr(up)
    result = deployment.nimctl("smoke", "--name", deployment.name, "--checks", "all", "--json")
    assert result.returncode == 7, repr(result)
    statuses = {check["name"]: check["status"] for check in json.loads(result.stdout)["checks"]}
    assert statuses["image-base64"] == "fail" and statuses["max-images"] == "fail"
    assert statuses["tools"] == "skip" and statuses["reasoning"] == "skip"  # not declared
    assert statuses["text"] == "pass"


# --- profiles and cache prefetch on a model-free image --------------------------------------------


def test_profiles_and_prefetch_work_on_a_model_free_image(two_x, tmp_path):
    deployment = two_x()
    source = ("--model-path", "hf://Qwen/Qwen2.5-0.5B-Instruct")
    listing = deployment.nimctl("profiles", "--profile", str(deployment.profile), *source, "--json")
    assert listing.returncode == 0, repr(listing)
    assert json.loads(listing.stdout)["profiles"], listing.stdout
    prefetch = deployment.nimctl("cache", "prefetch", "--profile", str(deployment.profile), *source)
    assert prefetch.returncode == 0, repr(prefetch)
    assert any(deployment.cache_dir.iterdir())


def test_the_shipped_2x_profiles_load(tmp_path):
    for profile, image in (
        ("llama-3.1-8b-instruct", "nvcr.io/nim/meta/llama-3.1-8b-instruct:2."),
        ("model-free-nim", "nvcr.io/nim/nvidia/model-free-nim:2."),
    ):
        result = run_nimctl("config", "show", "--json", "--profile", profile)
        assert result.returncode == 0, repr(result)
        rows = {row["setting"]: row["value"] for row in json.loads(result.stdout)["settings"]}
        assert rows["image (effective)"].startswith(image) and rows["needs_ngc_key"] is False
