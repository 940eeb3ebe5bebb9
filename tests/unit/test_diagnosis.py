"""The start-up failure table: one test per known cause, on log lines shaped like a NIM's."""

from __future__ import annotations

import pytest

from nimctl.diagnosis import KNOWN_CAUSES, diagnose

LINES_BY_CAUSE = {
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
