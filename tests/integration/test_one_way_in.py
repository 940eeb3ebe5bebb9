"""Issue 20 on the real engine: a rotated key is named (and --force-recreate takes it), and
`--profile P` finds P's container whatever its name (the simulator image of this checkout)."""

from __future__ import annotations

from tests.integration.harness import TEST_KEY

SIM = {"gpus": "none", "runtime": "", "env": {"NVIDIA_VISIBLE_DEVICES": "0"}}
DIFFERS = "NGC_API_KEY differs from the one"


def test_a_rotated_key_is_named_and_force_recreate_takes_it(make_deployment, sim_image: str) -> None:
    deployment = make_deployment(sim_image, **SIM)
    assert deployment.up("--no-smoke").returncode == 0
    rotated = {**deployment.env, "NGC_API_KEY": TEST_KEY + "-rotated"}

    again = deployment.up("--no-smoke", "--json", env=rotated)
    assert again.returncode == 0, repr(again)
    assert DIFFERS in again.stderr and "--force-recreate" in again.stderr and '"action": "noop"' in again.stdout
    assert TEST_KEY not in again.output

    same = deployment.up("--no-smoke")
    assert same.returncode == 0 and DIFFERS not in same.stderr

    recreated = deployment.up("--no-smoke", "--force-recreate", env=rotated)
    assert recreated.returncode == 0 and DIFFERS not in recreated.stderr
    after = deployment.up("--no-smoke", env=rotated)
    assert after.returncode == 0 and DIFFERS not in after.stderr
    deployment.nimctl("down", "--name", deployment.name, check=True)


def test_a_profile_finds_its_container_whatever_its_name(make_deployment, sim_image: str) -> None:
    deployment = make_deployment(sim_image, **SIM)
    assert deployment.up("--no-smoke").returncode == 0  # --name: not the profile's default name
    profile = str(deployment.profile)

    logs = deployment.nimctl("logs", "--profile", profile)
    assert logs.returncode == 0 and logs.stdout, repr(logs)
    down = deployment.nimctl("down", "--profile", profile)
    assert down.returncode == 0 and f"removed {deployment.name}" in down.stderr, repr(down)
    nothing = deployment.nimctl("down", "--profile", profile)
    assert nothing.returncode == 0 and "nothing to remove: no nimctl container of profile" in nothing.stderr
