"""Issue 20 item 1 on the real engine: a value the engine would refuse (or misread) is exit 2 from the
real `nimctl` command, with a message naming the value, and no container is created: not the NIM's,
not the GPU probe's. The profile is one `up` would otherwise start (the simulator, no GPUs), so only
validation stands between these values and the engine.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nimctl.validation import shown
from tests.integration.harness import RUN_ID, Result, base_env, free_port, run_nimctl, untag, write_profile

TEST_IMAGE = f"nimctl-validate-test:{RUN_ID}"  # every container our runs could create uses this image

BAD_NAMES = ["../x", "a b", "-lead", "x/y", "nimé", "x\ny", ".x", "_x", "v" * 300]  # "x[/]": issue 20 item 2 (markup)
BAD_IMAGES = ["nvcr.io/NIM/x:1", "repo:tag:extra", "repo@sha256:abc", "::", "-lead", "a/" * 130 + "x"]
BAD_USERS = ["4294967295", "1000:4294967296", "-1"]
BAD_SIZES = ["8388608t", "9223372036854775808", "0"]


@pytest.fixture
def bad_input_setup(tmp_path: Path, docker_client, sim_image: str):
    docker_client.images.get(sim_image).tag(*TEST_IMAGE.split(":"))
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    profile = write_profile(tmp_path / f"validate-{RUN_ID}.toml", TEST_IMAGE, cache_dir, gpus="none", runtime="")
    env = base_env(NIMCTL_PORT=str(free_port()))
    started = int(time.time()) - 1
    yield profile, env
    created = [
        event["Actor"]["Attributes"].get("name")
        for event in docker_client.events(
            since=started,
            until=int(time.time()) + 1,
            filters={"type": "container", "event": "create"},
            decode=True,
        )
        if event["Actor"]["Attributes"].get("image") == TEST_IMAGE
        or f"validate-{RUN_ID}" in event["Actor"]["Attributes"].get("name", "")
    ]
    untag(docker_client, TEST_IMAGE)
    assert created == [], f"containers created despite a refused value: {created}"


def refused(profile: Path, env: dict[str, str], *args: str) -> Result:
    result = run_nimctl("up", "--profile", str(profile), "--no-smoke", *args, env=env, timeout=60)
    assert result.returncode == 2, repr(result)
    assert "Traceback" not in result.output, repr(result)
    return result


def test_bad_container_names_are_exit_2_before_the_engine(bad_input_setup, docker_client) -> None:
    profile, env = bad_input_setup
    for name in BAD_NAMES:
        result = refused(profile, env, "--name", name)
        assert "invalid setting container_name (from flag)" in result.stderr, repr(result)
        assert shown(name) in result.stderr, repr(result)
        if "/" not in name and "\n" not in name:  # names docker's API can be asked about
            assert docker_client.containers.list(all=True, filters={"name": f"^/{name}$"}) == []
    result = refused(profile, env, "--name", "")
    assert "a container name cannot be empty" in result.stderr, repr(result)
    # from the environment too, named as such
    result = refused(profile, {**env, "CONTAINER_NAME": "a b"})
    assert "invalid setting container_name (from env CONTAINER_NAME): container name 'a b'" in result.stderr


def test_bad_image_references_are_exit_2_before_the_engine(bad_input_setup) -> None:
    profile, env = bad_input_setup
    name = f"validate-{RUN_ID}-image"
    for image in BAD_IMAGES:
        result = refused(profile, env, "--name", name, "--image", image)
        assert "invalid setting image (from flag)" in result.stderr and shown(image) in result.stderr, repr(result)
    result = refused(profile, env, "--name", name, "--image", "nvcr.io/NIM/x:1")
    assert "upper-case letters are not allowed in a repository name" in result.stderr
    result = refused(profile, env, "--name", name, "--image", "")  # not the default
    assert "an image reference cannot be empty" in result.stderr, repr(result)


def test_bad_users_and_sizes_are_exit_2_before_the_engine(bad_input_setup) -> None:
    profile, env = bad_input_setup
    name = f"validate-{RUN_ID}-user"
    for user in BAD_USERS:
        result = refused(profile, env, "--name", name, "--user", user)
        assert "invalid setting user (from flag)" in result.stderr and repr(user) in result.stderr, repr(result)
    for size in BAD_SIZES:
        result = refused(profile, env, "--name", name, "--shm-size", size)
        assert "invalid setting shm_size (from flag)" in result.stderr and repr(size) in result.stderr, repr(result)


def test_bad_cache_dirs_are_exit_2_before_the_engine(bad_input_setup, tmp_path: Path) -> None:
    profile, env = bad_input_setup
    name = f"validate-{RUN_ID}-cache"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "gone")
    result = refused(profile, env, "--name", name, "--cache-dir", str(dangling))
    assert "invalid setting cache_dir (from flag)" in result.stderr, repr(result)
    assert f"the symlink {str(dangling)!r} points to {str(tmp_path / 'gone')!r}" in result.stderr, repr(result)

    a_file = tmp_path / "weights.bin"
    a_file.write_bytes(b"w")
    result = refused(profile, env, "--name", name, "--cache-dir", str(a_file))
    assert "is a file, not a directory" in result.stderr, repr(result)
    assert a_file.read_bytes() == b"w"

    result = refused(profile, {**env, "LOCAL_NIM_CACHE": str(a_file / "sub")}, "--name", name)
    assert "invalid setting cache_dir (from env LOCAL_NIM_CACHE)" in result.stderr, repr(result)


def test_a_profile_that_is_a_directory_or_huge_and_a_url_that_is_not_one(bad_input_setup, tmp_path: Path) -> None:
    profile, env = bad_input_setup
    directory = tmp_path / "profile.toml"
    directory.mkdir()
    result = run_nimctl("up", "--profile", str(directory), env=env, timeout=60)
    assert result.returncode == 2 and "is a directory, not a file" in result.stderr, repr(result)

    huge = tmp_path / "huge.toml"
    with open(huge, "wb") as handle:
        handle.truncate(200 * 1024**2)
    result = run_nimctl("up", "--profile", str(huge), env=env, timeout=60)
    assert result.returncode == 2 and "more than the 1048576 a profile may have" in result.stderr, repr(result)

    result = run_nimctl("smoke", "--url", "not a url", env=env, timeout=60)
    assert result.returncode == 2 and "invalid --url: URL 'not a url'" in result.stderr, repr(result)
    assert "models" not in result.stdout  # no check ran
