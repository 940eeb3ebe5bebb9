"""Issue 9.3: the key requirement follows the NIM (needs_ngc_key), not the registry's host name."""

from __future__ import annotations

from pathlib import Path

import pytest

from nimctl.preflight import FAIL, PASS, SKIP, WARN, check_ngc_key
from nimctl.settings import Settings, load_settings


def settings(cache: Path, **values) -> Settings:
    return Settings(cache_dir=cache, **values)


@pytest.mark.parametrize("image", ["nvcr.io/nim/x:1", "mirror.example.org:5000/nim/x:1", "local-nim:1"])
def test_no_key_and_an_empty_cache_fails_for_any_registry(tmp_path: Path, image: str) -> None:
    check = check_ngc_key(settings(tmp_path / "missing", image=image), needs_pull=True)
    assert check.status == FAIL and "NGC_API_KEY" in check.hint
    (tmp_path / "empty").mkdir()
    assert check_ngc_key(settings(tmp_path / "empty", image=image), needs_pull=False).status == FAIL


def test_no_key_and_a_filled_cache_warns_offline_and_touches_nothing(tmp_path: Path) -> None:
    (tmp_path / "weights").write_bytes(b"w")
    check = check_ngc_key(settings(tmp_path, image="mirror.example.org/nim/x:1"), needs_pull=False)
    assert check.status == WARN and "starting offline from the cache" in check.detail
    assert [p.name for p in tmp_path.iterdir()] == ["weights"] and (tmp_path / "weights").read_bytes() == b"w"


def test_key_set_passes_and_the_simulator_needs_none(tmp_path: Path) -> None:
    assert check_ngc_key(settings(tmp_path, ngc_api_key="nvapi-x"), needs_pull=True).status == PASS
    sim = load_settings({"cache_dir": str(tmp_path / "c")}, profile="sim", environ={}).settings
    assert sim.needs_ngc_key is False
    assert check_ngc_key(sim.model_copy(update={"ngc_api_key": None}), needs_pull=True).status == SKIP
