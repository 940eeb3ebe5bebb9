"""`nimctl k8s render`: every setting's mapping onto the NIMCache / NIMService, errors, the key."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from nimctl.errors import ConfigError, ExitCode
from nimctl.k8s.render import RenderOptions, secret_commands
from nimctl.spec import LABEL_CONFIG_HASH, LABEL_PROFILE, build_spec
from tests.unit.test_k8s_helpers import documents, load

KEY = "nvapi-LEAKCANARY-0123456789abcdef"


def env_of(service: dict) -> dict[str, str]:
    return {item["name"]: item["value"] for item in service["spec"]["env"]}


def test_image_repository_and_tag_feed_the_service_and_the_model_puller() -> None:
    cache, service = documents(
        {"gpus": "1"}, environ={"NIMCTL_IMAGE_REPOSITORY": "nvcr.io/nim/x/y", "NIMCTL_IMAGE_TAG": "2.0"}
    )
    assert service["spec"]["image"]["repository"] == "nvcr.io/nim/x/y"
    assert service["spec"]["image"]["tag"] == "2.0"
    assert cache["spec"]["source"]["ngc"]["modelPuller"] == "nvcr.io/nim/x/y:2.0"


def test_secret_names_default_and_can_be_changed() -> None:
    cache, service = documents({"gpus": "1"})
    ngc = cache["spec"]["source"]["ngc"]
    assert (ngc["pullSecret"], ngc["authSecret"]) == ("ngc-secret", "ngc-api-secret")
    assert (service["spec"]["image"]["pullSecrets"], service["spec"]["authSecret"]) == (
        ["ngc-secret"],
        "ngc-api-secret",
    )
    cache, service = documents({"gpus": "1"}, pull_secret="reg", auth_secret="key")
    assert (cache["spec"]["source"]["ngc"]["pullSecret"], cache["spec"]["source"]["ngc"]["authSecret"]) == (
        "reg",
        "key",
    )
    assert (service["spec"]["image"]["pullSecrets"], service["spec"]["authSecret"]) == (["reg"], "key")


def test_model_profile_selects_what_is_cached_and_served() -> None:
    cache, service = documents({"gpus": "1"}, model_profile="tensorrt_llm-h100-fp8-tp1")
    assert cache["spec"]["source"]["ngc"]["model"] == {"profiles": ["tensorrt_llm-h100-fp8-tp1"]}
    assert service["spec"]["storage"]["nimCache"] == {
        "name": cache["metadata"]["name"],
        "profile": "tensorrt_llm-h100-fp8-tp1",
    }


def test_model_profile_from_the_nims_own_variable_in_the_env_table() -> None:
    cache, service = documents({"gpus": "1", "env": {"NIM_MODEL_PROFILE": "vllm-tp2"}})
    assert cache["spec"]["source"]["ngc"]["model"]["profiles"] == ["vllm-tp2"]
    assert service["spec"]["storage"]["nimCache"]["profile"] == "vllm-tp2"


def test_without_a_model_profile_the_operator_chooses() -> None:
    cache, service = documents({"gpus": "1"})
    assert "model" not in cache["spec"]["source"]["ngc"]
    assert "profile" not in service["spec"]["storage"]["nimCache"]


@pytest.mark.parametrize("gpus", ["1", "4"])
def test_gpu_count_becomes_the_gpu_limit(gpus: str) -> None:
    _, service = documents({"gpus": gpus})
    assert service["spec"]["resources"] == {"limits": {"nvidia.com/gpu": int(gpus)}}


def test_no_gpu_no_limit() -> None:
    _, service = documents(profile="sim")
    assert "resources" not in service["spec"]


@pytest.mark.parametrize("gpus", ["all", "0,1", "GPU-3c1e0b7a-1234"])
def test_host_gpu_selections_ask_for_a_count(gpus: str) -> None:
    with pytest.raises(ConfigError) as caught:
        documents({"gpus": gpus})
    assert caught.value.exit_code == ExitCode.USAGE
    assert "--gpus 2" in caught.value.hint and f"--gpus {gpus}" in caught.value.message


@pytest.mark.parametrize(
    ("shm", "quantity"), [("32GB", "32Gi"), ("2g", "2Gi"), ("1536m", "1536Mi"), ("1.5GB", "1536Mi")]
)
def test_shm_size_becomes_the_shared_memory_limit(shm: str, quantity: str) -> None:
    _, service = documents({"gpus": "1", "shm_size": shm})
    assert service["spec"]["storage"]["sharedMemorySizeLimit"] == quantity


@pytest.mark.parametrize(("user", "ids"), [(None, (1000, 1000)), ("1234:5678", (1234, 5678)), ("4321", (4321, 4321))])
def test_user_becomes_the_cache_job_and_nim_ids(user: str | None, ids: tuple[int, int]) -> None:
    cache, service = documents({"gpus": "1", "user": user})
    for spec in (cache["spec"], service["spec"]):
        assert (spec["userID"], spec["groupID"]) == ids


def test_max_images_and_every_env_entry_reach_the_container_env() -> None:
    _, service = documents(
        {"gpus": "1", "max_images_per_prompt": 3, "env": {"NIM_LOG_LEVEL": "DEBUG"}},
        environ={"NIMCTL_ENV": '{"FROM_ENV": "1", "NIM_LOG_LEVEL": "INFO"}'},
    )
    # --env merges over NIMCTL_ENV key by key; the flag wins where both set a key
    assert env_of(service) == {"NIM_MAX_IMAGES_PER_PROMPT": "3", "FROM_ENV": "1", "NIM_LOG_LEVEL": "DEBUG"}
    _, sim = documents(profile="sim")
    assert env_of(sim) == {
        "NIM_MAX_IMAGES_PER_PROMPT": "5",
        "NVIDIA_VISIBLE_DEVICES": "simulated",
        "SIM_KEYLESS": "true",
        "SIM_STARTUP_DELAY": "2",
    }


def test_container_port_is_the_service_port_and_the_probes_port() -> None:
    _, service = documents({"gpus": "1"}, environ={"NIMCTL_CONTAINER_PORT": "9000"})
    assert service["spec"]["expose"]["service"]["port"] == 9000
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert service["spec"][probe]["probe"]["httpGet"]["port"] == 9000


def test_health_paths_become_the_probes() -> None:
    _, service = documents({"gpus": "1"}, environ={"NIMCTL_READINESS_PATH": "/ready", "NIMCTL_LIVENESS_PATH": "/live"})
    spec = service["spec"]
    assert spec["readinessProbe"]["probe"]["httpGet"]["path"] == "/ready"
    assert spec["startupProbe"]["probe"]["httpGet"]["path"] == "/ready"
    assert spec["livenessProbe"]["probe"]["httpGet"]["path"] == "/live"
    assert all(spec[p]["enabled"] for p in ("readinessProbe", "livenessProbe", "startupProbe"))


@pytest.mark.parametrize(("timeout", "failures"), [(1800, 180), (120, 12), (125, 13)])
def test_startup_probe_lasts_the_profiles_timeout(timeout: int, failures: int) -> None:
    _, service = documents({"gpus": "1"}, environ={"NIMCTL_TIMEOUT": str(timeout)})
    probe = service["spec"]["startupProbe"]["probe"]
    assert probe["failureThreshold"] == failures
    assert probe["failureThreshold"] * probe["periodSeconds"] >= timeout


def test_labels_name_the_profile_and_the_config_hash_of_up() -> None:
    loaded = load({"gpus": "1", "user": "1000:1000"})
    expected = build_spec(loaded.settings, loaded.profile.name).labels
    cache, service = documents({"gpus": "1", "user": "1000:1000"})
    wanted = {LABEL_PROFILE: "mistral-small-4-119b-2603", LABEL_CONFIG_HASH: expected[LABEL_CONFIG_HASH]}
    assert cache["metadata"]["labels"] == service["metadata"]["labels"] == service["spec"]["labels"] == wanted
    _, changed = documents({"gpus": "1", "user": "1000:1000", "shm_size": "16GB"})
    assert changed["metadata"]["labels"][LABEL_CONFIG_HASH] != wanted[LABEL_CONFIG_HASH]


def test_cluster_options_namespace_replicas_storage_service_type() -> None:
    cache, service = documents(
        {"gpus": "1"},
        namespace="nim",
        replicas=3,
        storage_class="fast.ssd",
        cache_size="500GB",
        service_type="NodePort",
    )
    assert cache["metadata"]["namespace"] == service["metadata"]["namespace"] == "nim"
    assert service["spec"]["replicas"] == 3
    assert cache["spec"]["storage"]["pvc"] == {
        "create": True,
        "size": "500Gi",
        "volumeAccessMode": "ReadWriteMany",  # replicas on several nodes share the cache
        "storageClass": "fast.ssd",
    }
    assert service["spec"]["expose"]["service"]["type"] == "NodePort"
    cache, _ = documents({"gpus": "1"})
    assert "namespace" not in cache["metadata"]
    assert cache["spec"]["storage"]["pvc"] == {"create": True, "size": "150Gi", "volumeAccessMode": "ReadWriteOnce"}


@pytest.mark.parametrize(("pull", "policy"), [("always", "Always"), ("missing", "IfNotPresent"), ("never", "Never")])
def test_pull_setting_becomes_the_pull_policy(pull: str, policy: str) -> None:
    _, service = documents({"gpus": "1", "pull": pull})
    assert service["spec"]["image"]["pullPolicy"] == policy


def test_names_come_from_the_container_name() -> None:
    cache, service = documents({"gpus": "1", "container_name": "My_NIM.v2"})
    assert cache["metadata"]["name"] == service["metadata"]["name"] == "my-nim-v2"
    assert service["spec"]["storage"]["nimCache"]["name"] == "my-nim-v2"


@pytest.mark.parametrize(
    ("flags", "options", "named"),
    [
        ({"container_name": "9lives"}, {}, "container name"),
        ({"container_name": "x" * 64}, {}, "container name"),
        ({}, {"namespace": "Prod"}, "--namespace"),
        ({}, {"storage_class": "bad class"}, "--storage-class"),
        ({}, {"pull_secret": "UPPER"}, "--pull-secret"),
        ({}, {"auth_secret": ""}, "--auth-secret"),
        ({}, {"cache_size": "lots"}, "--cache-size"),
        ({}, {"service_type": "Ingress"}, "--service-type"),
        ({}, {"replicas": 0}, "--replicas"),
        ({"image": "nvcr.io/nim/x@sha256:" + "a" * 64}, {}, "digest"),
    ],
)
def test_bad_values_are_config_errors_naming_the_option(flags: dict, options: dict, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        documents({"gpus": "1", **flags}, **options)
    assert named in caught.value.message
    assert caught.value.hint


def test_secret_commands_leave_the_key_as_a_variable() -> None:
    loaded = load({"gpus": "1"}, environ={"NGC_API_KEY": KEY})
    pull, auth = secret_commands(loaded.settings, RenderOptions(namespace="nim", pull_secret="reg", auth_secret="key"))
    assert pull.startswith("kubectl create secret docker-registry reg -n nim --docker-server=nvcr.io ")
    assert "--docker-username='$oauthtoken'" in pull and '--docker-password="$NGC_API_KEY"' in pull
    assert auth == 'kubectl create secret generic key -n nim --from-literal=NGC_API_KEY="$NGC_API_KEY"'
    assert KEY not in pull + auth


def _cli():
    from nimctl.cli.app import app

    return app


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_cli_never_prints_the_key(output: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NGC_API_KEY", KEY)
    refused = CliRunner().invoke(_cli(), ["k8s", "render", "-o", output, "--env", f"NGC_API_KEY={KEY}"])
    assert refused.exit_code == 2 and KEY not in refused.output  # a secret arrives one way: the environment
    result = CliRunner().invoke(_cli(), ["k8s", "render", "--gpus", "1", "-o", output, "-e", "A=1"])
    assert result.exit_code == 0, result.stderr
    assert KEY not in result.stdout and KEY not in result.stderr
    assert "NGC_API_KEY" not in {item["name"] for item in _service_env(result.stdout, output)}
    assert result.stderr.count("kubectl create secret") == 2


def _service_env(stdout: str, output: str) -> list[dict]:
    docs = json.loads(stdout) if output == "json" else list(yaml.safe_load_all(stdout))
    assert [d["kind"] for d in docs] == ["NIMCache", "NIMService"]
    return docs[1]["spec"]["env"]


def test_cli_documents_on_stdout_secret_commands_on_stderr() -> None:
    result = CliRunner().invoke(_cli(), ["k8s", "render", "--profile", "sim", "--namespace", "nim"])
    assert result.exit_code == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs] == ["NIMCache", "NIMService"]
    assert "kubectl create secret generic ngc-api-secret -n nim" in result.stderr
    assert "apiVersion" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gpus", "all"], "--gpus all has no meaning in a cluster"),
        (["--gpus", "1", "-o", "xml"], "invalid --output 'xml'"),
        (["--gpus", "1", "--service-type", "Ingress"], "invalid --service-type"),
    ],
)
def test_cli_bad_input_is_one_error_and_a_hint_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(_cli(), ["k8s", "render", *args])
    assert result.exit_code == ExitCode.USAGE
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and message in lines[0]
    assert lines[1].startswith("hint: ") and len(lines) == 2


def test_text_holding_the_key_is_refused_not_printed() -> None:
    # The last guard in to_text: a "key" that happens to be a rendered word trips it.
    from nimctl.errors import NimctlError
    from nimctl.k8s.render import render, to_text

    loaded = load({"gpus": "1"}, environ={"NGC_API_KEY": "IfNotPresent"})
    resources = render(loaded.settings, loaded.profile.name, RenderOptions())
    with pytest.raises(NimctlError) as caught:
        to_text(resources, "yaml", loaded.settings)
    assert "IfNotPresent" not in caught.value.message + str(caught.value.hint)


@pytest.mark.parametrize(
    ("flags", "environ", "options", "named"),
    [
        ({}, {}, {"namespace": ""}, "--namespace"),
        ({}, {}, {"storage_class": ""}, "--storage-class"),
        ({}, {"NIMCTL_READINESS_PATH": "v1/health/ready"}, {}, "HttpGet.path"),
    ],
)
def test_values_a_cluster_refuses_are_config_errors_not_crashes(
    flags: dict, environ: dict, options: dict, named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        documents({"gpus": "1", **flags}, environ=environ, **options)
    assert named in caught.value.message
