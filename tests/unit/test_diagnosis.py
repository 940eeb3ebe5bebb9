"""The start-up failure table: one test per known cause, on log lines shaped like a NIM's.

The model-free causes use the simulator's own lines (nimctl/simulator/sim/model_source.py), so the
table and the simulator cannot drift apart."""

from __future__ import annotations

import pytest

from nimctl.diagnosis import KNOWN_CAUSES, diagnose
from nimctl.simulator.sim import model_source
from nimctl.simulator.sim.config import SimConfig
from nimctl.simulator.sim.logs import nim_line


def simulator_lines(problem: model_source.SourceProblem | None) -> list[str]:
    """A source problem's ERROR lines, formatted as the simulator logs them."""
    assert problem is not None
    return [nim_line("ERROR", 1767225600.0, problem.origin, line) for line in problem.lines]


def model_free_problem(path: str) -> model_source.SourceProblem | None:
    return model_source.check_model_source(SimConfig(model_path=path))


SIM_GATED = simulator_lines(
    model_source.check_model_source(
        SimConfig(model_path="hf://meta-llama/Llama-3.1-8B-Instruct", hf_gated="meta-llama/*")
    )
)
SIM_NO_CONFIG = simulator_lines(model_source.missing_config("/models/my-model"))
SIM_NO_DIRECTORY = simulator_lines(model_source.missing_directory("/models/absent"))
SIM_UNSUPPORTED = simulator_lines(model_source.unsupported_architectures(["MyNewForCausalLM"]))
SIM_NGC_NO_KEY = simulator_lines(model_source.check_model_source(SimConfig(model_path="ngc://nim/meta/llama:hf")))

LINES_BY_CAUSE = {
    "hf-gated": SIM_GATED[-1],
    "model-config-missing": SIM_NO_CONFIG[-1],
    "unsupported-architecture": SIM_UNSUPPORTED[-1],
    "no-matching-profile": (
        "ERROR 2026-09-16 16:22:59.101 actions.py:120] Model download failed: Environment variable "
        "NIM_MODEL_PROFILE is set to 0123abcd (vllm-bf16-tp1-pp1), but no matching profile_id or profile "
        "description is found in manifest."
    ),
    "cuda-out-of-memory": (
        "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity "
        "of 79.10 GiB of which 1.10 GiB is free."
    ),
    "no-gpu": "RuntimeError: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU",
    "cache-permission": (
        "PermissionError: [Errno 13] Permission denied: '/opt/nim/.cache/ngc/hub/models--nim--mistralai'"
    ),
    "download-refused": (
        "ERROR 2026-01-01 10:00:00.000 ngc_injector.py:200] Model download failed: "
        "HTTP status 401 Unauthorized while fetching the manifest from NGC"
    ),
}


def test_every_table_entry_has_a_test_line() -> None:
    assert {entry.key for entry in KNOWN_CAUSES} == set(LINES_BY_CAUSE)


@pytest.mark.parametrize("key", sorted(LINES_BY_CAUSE))
def test_each_cause_is_recognised_among_ordinary_lines(key: str) -> None:
    lines = [
        "INFO 2026-01-01 10:00:00.000 ngc_profile.py:360] Detected GPU(s) from NVIDIA_VISIBLE_DEVICES=0",
        LINES_BY_CAUSE[key],
        "INFO 2026-01-01 10:00:01.000 api_server.py:1900] shutting down",
    ]
    found = diagnose(lines)
    assert found is not None and found.key == key
    assert found.cause and found.action


def test_the_profile_cause_sends_the_user_to_nimctl_profiles() -> None:
    found = diagnose([LINES_BY_CAUSE["no-matching-profile"]])
    assert found is not None and "nimctl profiles" in found.action


def test_the_newest_known_line_wins() -> None:
    found = diagnose([LINES_BY_CAUSE["no-gpu"], LINES_BY_CAUSE["cuda-out-of-memory"]])
    assert found is not None and found.key == "cuda-out-of-memory"


def test_unknown_logs_have_no_diagnosis() -> None:
    assert diagnose(["INFO all good", "ERROR something nobody has seen before", "GET /v1/models 401"]) is None


# -- the model-free causes, on the simulator's lines ----------------------------------------------


@pytest.mark.parametrize("line", SIM_GATED)
def test_each_line_of_the_gated_repository_error_is_the_hf_cause(line: str) -> None:
    found = diagnose([line])
    assert found is not None and found.key == "hf-gated", line
    assert "HF_TOKEN" in found.action


def test_a_plain_401_from_huggingface_co_is_the_hf_cause_not_the_ngc_key() -> None:
    line = (
        "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://huggingface.co/api/models/org/m"
    )
    found = diagnose([line])
    assert found is not None and found.key == "hf-gated"


def test_ngc_source_without_a_key_is_the_download_refusal() -> None:
    found = diagnose(SIM_NGC_NO_KEY)
    assert found is not None and found.key == "download-refused" and "NGC_API_KEY" in found.action


@pytest.mark.parametrize("lines", [SIM_NO_CONFIG, SIM_NO_DIRECTORY], ids=["no-config-json", "no-directory"])
def test_a_local_directory_without_config_json_is_diagnosed(lines: list[str]) -> None:
    found = diagnose(lines)
    assert found is not None and found.key == "model-config-missing" and "config.json" in found.action


def test_an_unsupported_architecture_is_diagnosed() -> None:
    found = diagnose(SIM_UNSUPPORTED)
    assert found is not None and found.key == "unsupported-architecture"
    # vLLM's other wording of the same refusal
    other = "ValueError: Model architectures ['FooForCausalLM'] failed to be inspected. Please check the logs."
    assert diagnose([other]).key == "unsupported-architecture"


def test_the_simulator_checks_a_real_local_directory(tmp_path) -> None:
    """The lines above come from the same checks a local directory goes through."""
    model = tmp_path / "model"
    model.mkdir()
    assert diagnose(simulator_lines(model_free_problem(str(model)))).key == "model-config-missing"
    (model / "config.json").write_text('{"architectures": ["MyNewForCausalLM"]}')
    assert diagnose(simulator_lines(model_free_problem(str(model)))).key == "unsupported-architecture"
