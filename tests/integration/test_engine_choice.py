"""Every engine command, with each way of choosing the engine, against the real Docker engine, the
real Podman service, and a socket that does not exist.

The ways (nimctl.engine.choice): --engine-url, NIMCTL_ENGINE_URL, the profile's engine_url,
DOCKER_HOST, DOCKER_CONTEXT and the docker config's current context (both made with the real
`docker context create` in a temporary DOCKER_CONFIG). Each command proves which engine it used:
the image its profile names exists only on the engine meant, the container `logs`/`smoke`/`down`
act on exists only there, and `status`/`doctor` say which engine answered and why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from nimctl.container import MANAGED_FILTER
from tests.integration.engines import PODMAN_URL
from tests.integration.harness import RUN_ID, Result, base_env, free_port, run_nimctl, unavailable, write_profile

pytestmark = pytest.mark.integration

DOCKER_URL = "unix:///var/run/docker.sock"
MISSING_URL = f"unix:///tmp/nimctl-no-engine-{RUN_ID}.sock"
CONTEXT = f"nimctl-engine-test-{RUN_ID}"
WAYS = ("flag", "env", "profile", "DOCKER_HOST", "DOCKER_CONTEXT", "current context")
PHRASES = {
    "flag": "--engine-url",
    "env": "NIMCTL_ENGINE_URL",
    "DOCKER_HOST": "DOCKER_HOST",
    "DOCKER_CONTEXT": f"DOCKER_CONTEXT={CONTEXT}",
    "current context": f"current docker context {CONTEXT}",
}
HINTS = {
    "flag": "check --engine-url",
    "env": "NIMCTL_ENGINE_URL",
    "profile": "engine_url in the profile",
    "DOCKER_HOST": "DOCKER_HOST",
    "DOCKER_CONTEXT": f"docker context inspect {CONTEXT}",
    "current context": f"docker context inspect {CONTEXT}",
}


@dataclass
class Chooser:
    """How one way of choosing points nimctl at `url`: extra arguments, environment, profile."""

    way: str
    url: str
    workdir: Path
    image: str

    def __post_init__(self) -> None:
        self.cache = self.workdir / "cache"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "docker-config"  # empty unless a context is the way
        self.config.mkdir(exist_ok=True)
        extra = {"engine_url": self.url} if self.way == "profile" else {}
        self.profile = write_profile(
            self.workdir / f"choice-{self.way.replace(' ', '-')}.toml",
            self.image,
            self.cache,
            gpus="none",
            runtime="",
            needs_ngc_key=False,
            pull="never",
            port=free_port(),
            env={"NVIDIA_VISIBLE_DEVICES": "simulated", "SIM_KEYLESS": "true"},
            **extra,
        )
        if self.way in ("DOCKER_CONTEXT", "current context"):
            docker_cli = shutil.which("docker")
            if docker_cli is None:
                unavailable("the docker CLI makes the contexts; run scripts/setup-engine.sh")
            context_env = {"DOCKER_CONFIG": str(self.config), "PATH": base_env()["PATH"]}
            create = [docker_cli, "context", "create", CONTEXT, "--docker", f"host={self.url}"]
            subprocess.run(create, env=context_env, check=True, capture_output=True)
            if self.way == "current context":
                use = [docker_cli, "context", "use", CONTEXT]
                subprocess.run(use, env=context_env, check=True, capture_output=True)

    @property
    def phrase(self) -> str:
        return f"profile {self.profile.name}" if self.way == "profile" else PHRASES[self.way]

    def env(self) -> dict[str, str]:
        env = base_env(DOCKER_CONFIG=str(self.config))
        env.pop("DOCKER_HOST", None)
        env.pop("DOCKER_CONTEXT", None)
        if self.way == "env":
            env["NIMCTL_ENGINE_URL"] = self.url
        elif self.way == "DOCKER_HOST":
            env["DOCKER_HOST"] = self.url
        elif self.way == "DOCKER_CONTEXT":
            env["DOCKER_CONTEXT"] = CONTEXT
        return env

    def run(self, command: str, *args: str) -> Result:
        flag = ["--engine-url", self.url] if self.way == "flag" else []
        return run_nimctl(*command.split(), *args, "--profile", str(self.profile), *flag, env=self.env(), timeout=180)


@dataclass
class Target:
    """An engine with a simulator running on it that no other engine has (nor its image tag)."""

    engine: str  # docker | podman
    url: str
    client: object
    image: str  # tagged on this engine only
    marker: str  # a running simulator container, started by `nimctl up`


def _target(engine: str, url: str, client, sim_image: str, workdir: Path):
    image = f"nimctl-choice-{engine}:{RUN_ID}"  # only this engine has it: a command on another fails
    repository, tag = image.split(":")
    client.images.get(sim_image).tag(repository, tag)
    marker = f"nimctl-it-choice-{engine}-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    chooser = Chooser("flag", url, workdir, image)
    up = chooser.run("up", "--name", marker, "--no-smoke")  # the one `up` per engine (way: the flag)
    assert up.returncode == 0, repr(up)
    yield Target(engine=engine, url=url, client=client, image=image, marker=marker)
    down = chooser.run("down", "--name", marker, "--json")
    assert json.loads(down.stdout) == {"removed": [marker]}, repr(down)
    client.images.remove(image)


@pytest.fixture(scope="module")
def docker_target(docker_client, sim_image: str, tmp_path_factory):
    yield from _target("docker", DOCKER_URL, docker_client, sim_image, tmp_path_factory.mktemp("docker-target"))


@pytest.fixture(scope="module")
def podman_target(podman_client, podman_sim_image: str, tmp_path_factory):
    yield from _target("podman", PODMAN_URL, podman_client, podman_sim_image, tmp_path_factory.mktemp("podman-target"))


@pytest.fixture(params=["docker", "podman"])
def target(request) -> Target:
    return request.getfixturevalue(f"{request.param}_target")


def _throwaway(target: Target, name: str) -> None:
    """A stopped container with nimctl's label, for `down` to remove: it exists on this engine only."""
    label, _, value = MANAGED_FILTER.partition("=")
    target.client.api.create_container(target.image, name=name, labels={label: value}, command=["true"])


def _run_all(chooser: Chooser, commands: dict[str, tuple[str, ...]]) -> dict[str, Result]:
    """The commands at once (each is a process mostly waiting on the engine), by key."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(chooser.run, *command) for key, command in commands.items()}
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("way", WAYS)
def test_every_command_uses_the_engine_chosen(target: Target, way: str, tmp_path: Path) -> None:
    chooser = Chooser(way, target.url, tmp_path, target.image)
    doomed = f"nimctl-it-choice-down-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    _throwaway(target, doomed)
    results = _run_all(
        chooser,
        {
            "status": ("status",),
            "doctor": ("doctor", "--json"),
            "logs": ("logs", "--name", target.marker, "--tail", "3"),
            "smoke": ("smoke", "--name", target.marker, "--checks", "models", "--json"),
            "profiles": ("profiles", "--json"),  # the profile's image exists on this engine only
            "prefetch": ("cache prefetch", "--json"),
            "down": ("down", "--name", doomed, "--json"),  # a container on this engine only
        },
    )

    status = results["status"]
    assert status.returncode == 0, repr(status)
    assert f"engine: {target.engine} " in status.stderr and f"(from {chooser.phrase})" in status.stderr
    assert target.marker in status.output  # the simulator `up` started there

    doctor = results["doctor"]
    engine_check = json.loads(doctor.stdout)[0]
    assert doctor.returncode == 0 and engine_check["status"] == "pass", repr(doctor)
    assert engine_check["detail"].startswith(f"reachable: {target.engine} ")
    assert f"(from {chooser.phrase})" in engine_check["detail"]

    logs = results["logs"]
    assert logs.returncode == 0 and logs.stdout.strip(), repr(logs)
    smoke = results["smoke"]
    assert smoke.returncode == 0 and json.loads(smoke.stdout)["ok"] is True, repr(smoke)
    profiles = results["profiles"]
    assert profiles.returncode == 0 and json.loads(profiles.stdout)["profiles"], repr(profiles)
    assert results["prefetch"].returncode == 0, repr(results["prefetch"])
    assert json.loads(results["down"].stdout) == {"removed": [doomed]}, repr(results["down"])


ENGINE_COMMANDS = {
    "status": ("status",),
    "logs": ("logs", "--name", "nimctl-none"),
    "down": ("down", "--name", "nimctl-none"),
    "doctor": ("doctor",),
    "smoke": ("smoke", "--name", "nimctl-none"),
    "profiles": ("profiles",),
    "cache prefetch": ("cache prefetch",),
    "up": ("up", "--no-smoke"),
}


@pytest.mark.parametrize("way", WAYS)
def test_an_engine_that_is_not_there_is_named_with_a_hint_for_the_way_it_was_chosen(way: str, tmp_path: Path) -> None:
    chooser = Chooser(way, MISSING_URL, tmp_path, "nimctl-never-used:1")
    for command, result in _run_all(chooser, ENGINE_COMMANDS).items():
        # doctor reports the engine as its first failed check (exit 8, as for any failed check)
        assert result.returncode == (8 if command == "doctor" else 3), repr(result)
        named = f"cannot reach the engine at {MISSING_URL} (from {chooser.phrase})"
        assert named in " ".join(result.stderr.split()), repr(result)
        assert "hint: check" in result.stderr and HINTS[way] in result.stderr.split("hint:")[-1], repr(result)
        if way in ("flag", "profile", "DOCKER_CONTEXT", "current context"):
            assert "DOCKER_HOST" not in result.stderr.split("hint:")[-1], repr(result)  # the old hint, whatever the way


def test_an_unknown_context_is_a_usage_error(tmp_path: Path) -> None:
    env = base_env(DOCKER_CONFIG=str(tmp_path), DOCKER_CONTEXT="nimctl-no-such-context")
    env.pop("DOCKER_HOST", None)
    result = run_nimctl("status", env=env)
    assert result.returncode == 2, repr(result)
    assert "'nimctl-no-such-context'" in result.stderr and "known contexts: default" in result.stderr
