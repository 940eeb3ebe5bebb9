"""Golden files: the rendered resources for the two shipped profiles, byte for byte.

A change to the mapping shows up as a diff of tests/golden/k8s-*.yaml in review. Regenerate on
purpose with `NIMCTL_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_k8s_golden.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests.unit.test_k8s_helpers import GOLDEN_CASES, rendered_text

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
# Read at import: the autouse fixture in tests/conftest.py clears NIMCTL_* before each test.
UPDATE_GOLDEN = os.environ.get("NIMCTL_UPDATE_GOLDEN") == "1"


@pytest.fixture(autouse=True)
def _fixed_home(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cache directory (~/.cache/nim) is part of `up`'s config hash, so HOME must not vary.
    monkeypatch.setenv("HOME", "/home/nimctl")


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_rendered_yaml_matches_the_golden_file(case: str) -> None:
    golden = GOLDEN_DIR / f"k8s-{case}.yaml"
    text = rendered_text(case)
    if UPDATE_GOLDEN:
        golden.write_text(text)
    assert golden.is_file(), f"{golden} missing: run with NIMCTL_UPDATE_GOLDEN=1"
    assert text == golden.read_text()


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_json_output_is_the_same_documents_as_a_list(case: str) -> None:
    assert json.loads(rendered_text(case, "json")) == list(yaml.safe_load_all(rendered_text(case)))


def test_golden_files_hold_a_nimcache_then_a_nimservice() -> None:
    for case in GOLDEN_CASES:
        docs = list(yaml.safe_load_all((GOLDEN_DIR / f"k8s-{case}.yaml").read_text()))
        assert [(d["apiVersion"], d["kind"]) for d in docs] == [
            ("apps.nvidia.com/v1alpha1", "NIMCache"),
            ("apps.nvidia.com/v1alpha1", "NIMService"),
        ]
