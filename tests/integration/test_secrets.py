"""The NGC key appears nowhere: not in output, errors, tracebacks, `config show`, or files nimctl writes.

Every command runs with a recognisable key, failure paths included; then all that was printed
and every file under the log directory and the cache are searched for it.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.harness import TEST_KEY, Deployment, Result, base_env, run_nimctl


def test_key_never_leaks(make_deployment, registry_image: str, registry, tmp_path: Path, docker_client) -> None:
    outputs: list[Result] = []
    ok = make_deployment(registry_image)
    wrong_key = "nvapi-LEAKCHECK-wrong-" + TEST_KEY[-8:]
    bad = make_deployment(registry_image, key=wrong_key)
    crash = make_deployment(registry_image, env={"SIM_CRASH_AFTER": "1", "SIM_STARTUP_DELAY": "30"})
    slow = make_deployment(registry_image, env={"SIM_STARTUP_DELAY": "60"})
    missing = make_deployment(registry.image(tag="no-such-tag"))

    outputs.append(ok.up("--json", "--pull", "always"))  # login + pull + smoke
    outputs.append(ok.up("--json"))  # noop
    outputs.append(ok.nimctl("status", "--json"))
    outputs.append(ok.nimctl("status"))
    outputs.append(ok.nimctl("logs", "--name", ok.name))
    outputs.append(ok.nimctl("smoke", "--url", ok.url, "--json"))
    outputs.append(ok.nimctl("config", "show", "--profile", str(ok.profile)))
    outputs.append(ok.nimctl("config", "show", "--profile", str(ok.profile), "--json"))
    outputs.append(ok.nimctl("doctor", "--profile", str(ok.profile), "--json"))
    outputs.append(ok.nimctl("profiles", "--profile", str(ok.profile), "--verbose", "--json"))
    outputs.append(ok.nimctl("cache", "prefetch", "--profile", str(ok.profile), "--json"))
    outputs.append(ok.nimctl("cache", "ls", "--profile", str(ok.profile), "--json"))
    outputs.append(
        ok.nimctl(
            "up",
            "--profile",
            str(ok.profile),
            "--name",
            ok.name,
            "--port",
            "1",
            "--env",
            f"NGC_API_KEY={TEST_KEY}",
            "--no-smoke",
        )
    )  # refused (exit 2): a secret arrives through the environment only
    outputs.append(
        ok.nimctl(
            "up",
            "--profile",
            str(ok.profile),
            "--name",
            ok.name,
            "--port",
            "1",
            "--no-smoke",
            env={**ok.env, "NGC_API_KEY": TEST_KEY},
        )
    )
    outputs.append(bad.up("--pull", "always", "--no-smoke"))  # registry rejects: the wrong key must not leak either
    outputs.append(crash.up("--no-smoke"))
    outputs.append(slow.up("--no-smoke", "--timeout", "2"))
    outputs.append(missing.up("--no-smoke"))
    # an internal error path: NIMCTL_DEBUG unset, so no traceback and no locals
    outputs.append(run_nimctl("up", "--profile", str(ok.profile), "--gpus", "bogus", env={**ok.env}))
    outputs.append(ok.nimctl("down", "--name", ok.name))
    outputs.append(run_nimctl("status", env=base_env(NGC_API_KEY=TEST_KEY, DOCKER_HOST="unix:///nonexistent.sock")))

    failures = {r.returncode for r in outputs}
    assert {0, 2, 3, 4, 5, 6} <= failures, [repr(r) for r in outputs]
    for result in outputs:
        assert TEST_KEY not in result.output, repr(result)
        assert wrong_key not in result.output, repr(result)
        assert "Traceback" not in result.output, repr(result)

    written = [p for d in (tmp_path,) for p in d.rglob("*") if p.is_file() and "registry" not in p.parts]
    assert any(p.suffix == ".log" for p in written), "the failure paths should have saved logs"
    for path in written:
        text = path.read_bytes()
        assert TEST_KEY.encode() not in text, path
        assert wrong_key.encode() not in text, path
    docker_config = Path("~/.docker/config.json").expanduser()
    if docker_config.exists():
        assert TEST_KEY not in docker_config.read_text()


def test_config_show_masks_the_key_and_names_sources(deployment: Deployment) -> None:
    result = deployment.nimctl("config", "show", "--profile", str(deployment.profile), "--json", check=True)
    assert TEST_KEY not in result.output
    import json

    rows = {row["setting"]: row for row in json.loads(result.stdout)["settings"]}
    assert rows["ngc_api_key"]["value"] == "(set, hidden)"
    assert rows["ngc_api_key"]["source"] == "env NGC_API_KEY"
    assert rows["image"]["source"].startswith("profile ")
    assert rows["port"]["source"] == "default"
