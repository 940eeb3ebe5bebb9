"""The simulator's configuration, image encoders/readers, start-up checks, and its import on bare python."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from nimctl.simulator import sim as sim_package
from nimctl.simulator.sim import (
    SimConfig,
    check_api_key,
    check_cache_writable,
    check_gpu,
    check_shm,
    image_size,
    sniff_image_format,
)
from nimctl.simulator.sim.imaging import gif, jpeg, png
from tests.unit.simulator_client import BMP_BYTES

SIM_DIR = Path(sim_package.__file__).parent


# -- configuration ---------------------------------------------------------------------------


def test_from_env_defaults_match_the_contract():
    cfg = SimConfig.from_env({})
    assert cfg.cache_path == "/opt/nim/.cache"
    assert cfg.served_model_name == "mistralai/mistral-small-4-119b-2603"
    assert cfg.max_images_per_prompt == 5
    assert cfg.port == 8000
    assert cfg.shm_min_bytes == 1073741824
    assert cfg.live_delay == 0.1
    assert cfg.startup_delay == (1.0, 1.0)
    assert cfg.crash_after is None and cfg.crash_code == 3 and cfg.exit_after_ready is None
    assert cfg.token_delay == 0.002
    assert cfg.breaks == frozenset()
    assert cfg.ngc_api_key == "" and cfg.nvidia_visible_devices is None


def test_from_env_reads_every_variable():
    cfg = SimConfig.from_env(
        {
            "NGC_API_KEY": "nvapi-secret",
            "NVIDIA_VISIBLE_DEVICES": "0,1",
            "NIM_CACHE_PATH": "/cache",
            "NIM_SERVED_MODEL_NAME": "my/model",
            "NIM_MAX_IMAGES_PER_PROMPT": "2",
            "NIM_SERVER_PORT": "9000",
            "SIM_SHM_MIN_BYTES": "123",
            "SIM_LIVE_DELAY": "0.5",
            "SIM_STARTUP_DELAY": "0.5-2",
            "SIM_CRASH_AFTER": "4",
            "SIM_CRASH_CODE": "7",
            "SIM_EXIT_AFTER_READY": "9",
            "SIM_TOKEN_DELAY": "0.01",
            "SIM_BREAK": "tools, hang",
        }
    )
    assert (cfg.ngc_api_key, cfg.nvidia_visible_devices, cfg.cache_path) == ("nvapi-secret", "0,1", "/cache")
    assert (cfg.served_model_name, cfg.max_images_per_prompt, cfg.port) == ("my/model", 2, 9000)
    assert (cfg.shm_min_bytes, cfg.live_delay, cfg.startup_delay) == (123, 0.5, (0.5, 2.0))
    assert (cfg.crash_after, cfg.crash_code, cfg.exit_after_ready) == (4.0, 7, 9.0)
    assert cfg.token_delay == 0.01
    assert cfg.breaks == {"tools", "hang"}
    assert all(0.5 <= cfg.draw_startup_delay() <= 2.0 for _ in range(50))
    assert "nvapi-secret" not in repr(cfg)


@pytest.mark.parametrize(
    ("name", "value"),
    [("SIM_STARTUP_DELAY", "soon"), ("SIM_STARTUP_DELAY", "3-1"), ("SIM_BREAK", "nope"), ("NIM_SERVER_PORT", "x")],
)
def test_from_env_rejects_bad_values_naming_the_variable(name, value):
    with pytest.raises(ValueError, match=name):
        SimConfig.from_env({name: value})


# -- tiny images -----------------------------------------------------------------------------


def test_tiny_images_have_the_right_magic_and_size():
    assert sniff_image_format(png(3, 5)) == "PNG" and image_size(png(3, 5), "PNG") == (3, 5)
    assert sniff_image_format(gif(1, 1)) == "GIF" and image_size(gif(1, 1), "GIF") == (1, 1)
    assert sniff_image_format(jpeg(1, 1)) == "JPEG" and image_size(jpeg(1, 1), "JPEG") == (1, 1)
    assert image_size(jpeg(17, 9), "JPEG") == (17, 9)
    assert sniff_image_format(BMP_BYTES) is None
    assert image_size(b"\xff\xd8\xff\xe0\x00", "JPEG") is None  # truncated header


@pytest.mark.skipif(not Path("/usr/bin/python3.11").exists(), reason="needs Debian's python3.11")
def test_sim_package_imports_on_bare_python_with_stdlib_only_and_no_side_effects():
    script = (
        "import sys, threading; sys.path.insert(0, sys.argv[1]); import sim, sim.__main__; "
        "stdlib = sys.stdlib_module_names | {'__main__'}; "
        "extra = sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] not in stdlib}); "
        "print(extra, threading.active_count())"
    )
    result = subprocess.run(
        ["/usr/bin/python3.11", "-I", "-S", "-c", script, str(SIM_DIR.parent)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['sim'] 1"  # nothing but the stdlib, no threads started
    assert result.stderr == ""


# -- start-up checks (container only; tested as functions and through main()) ----------------


def test_check_api_key():
    assert "NGC_API_KEY" in check_api_key(SimConfig(ngc_api_key=""))
    assert check_api_key(SimConfig(ngc_api_key="nvapi-x")) is None


def test_check_cache_writable_probes_without_touching_other_files(tmp_path):
    existing = tmp_path / "model.bin"
    existing.write_bytes(b"weights")
    assert check_cache_writable(SimConfig(cache_path=str(tmp_path))) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]  # the probe is gone
    assert existing.read_bytes() == b"weights"


def test_check_cache_writable_reports_an_unwritable_path(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    problem = check_cache_writable(SimConfig(cache_path=str(blocker / "cache")))  # fails even for root
    assert "not writable" in problem and str(blocker / "cache") in problem


def test_check_shm_compares_the_filesystem_size(tmp_path):
    assert check_shm(SimConfig(shm_min_bytes=1), shm_path=str(tmp_path)) is None
    problem = check_shm(SimConfig(shm_min_bytes=1 << 60), shm_path=str(tmp_path))
    assert str(tmp_path) in problem and "shm-size" in problem
    assert "0 MiB" in check_shm(SimConfig(shm_min_bytes=1), shm_path=str(tmp_path / "missing"))


@pytest.mark.parametrize("devices", [None, "", "void"])
def test_check_gpu_needs_visible_devices(devices):
    assert "NVIDIA_VISIBLE_DEVICES" in check_gpu(SimConfig(nvidia_visible_devices=devices))


def test_check_gpu_accepts_devices():
    assert check_gpu(SimConfig(nvidia_visible_devices="all")) is None


def test_every_sim_module_imports_only_the_stdlib_or_its_siblings():
    modules = sorted(SIM_DIR.glob("*.py"))
    assert {m.name for m in modules} >= {"__init__.py", "__main__.py", "app.py", "httpd.py", "imaging.py"}
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            outside = [n for n in names if n.split(".")[0] not in sys.stdlib_module_names | {"__future__"}]
            assert outside == [], f"{module.name} imports {outside}"


def test_recipe_hash_covers_every_module_the_image_copies(tmp_path, monkeypatch):
    from nimctl.simulator import image as image_module

    copy = tmp_path / "sim"
    copy.mkdir()
    for module in SIM_DIR.glob("*.py"):
        (copy / module.name).write_bytes(module.read_bytes())
    monkeypatch.setattr(image_module, "SERVER_PACKAGE", copy)
    assert [p.name for p in image_module.server_sources()] == sorted(p.name for p in SIM_DIR.glob("*.py"))
    original = image_module.recipe_hash()
    for module in image_module.server_sources():
        text = module.read_bytes()
        module.write_bytes(text + b"\n")
        assert image_module.recipe_hash() != original, module.name
        module.write_bytes(text)
    assert image_module.recipe_hash() == original
    (copy / "extra.py").write_text("")
    assert image_module.recipe_hash() != original
