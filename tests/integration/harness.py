"""Helpers for the integration tests: the registry, the simulator image, running `nimctl`."""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from nimctl.env_names import without_settings_variables

REGISTRY_USER = "$oauthtoken"
TEST_KEY = "nvapi-TESTKEY-" + secrets.token_hex(12)  # recognisable, so leak tests can grep for it
SIM_REPOSITORY = "nim/mistralai/mistral-small-4-119b-2603-sim"
SIM_TAG = "1.7.0-sim"
# the public registry's stand-in for a keyless 2.x NIM image (run it with SIM_RELEASE=2.1.6 etc.)
PUBLIC_SIM_REPOSITORY = "nim/meta/llama-3.1-8b-instruct-sim"
PUBLIC_SIM_TAG = "2.1.6-sim"
TEST_LABEL = "io.nimctl.test-run"
RUN_ID = uuid.uuid4().hex[:8]


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"integration prerequisite missing in CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Registry:
    address: str  # 127.0.0.1:PORT
    key: str  # "": the registry asks for no credentials (start_public_registry)

    def image(self, repository: str = SIM_REPOSITORY, tag: str = SIM_TAG) -> str:
        return f"{self.address}/{repository}:{tag}"

    @property
    def public(self) -> bool:
        return not self.key


def _registry_answers(port: int, status: int = 401) -> bool:
    """Up and answering /v2/ with `status`: 401 demands auth, 200 is a registry without auth."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/v2/")
        return conn.getresponse().status == status
    except OSError:
        return False
    finally:
        conn.close()


def _registry_binary() -> str:
    binary = shutil.which("docker-registry")
    if binary is None:
        unavailable("docker-registry not installed; run scripts/setup-engine.sh")
    return binary


def _serve_registry(binary: str, workdir: Path, port: int, auth: str, answer: int) -> subprocess.Popen:
    """Write the registry's config (storage in workdir, loopback only) and start it."""
    (workdir / "data").mkdir(exist_ok=True)
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth
    )
    process = subprocess.Popen(
        [binary, "serve", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "registry.log", "w"),
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _registry_answers(port, answer):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"the registry did not start: {(workdir / 'registry.log').read_text()[-500:]}")


def start_public_registry(workdir: Path, port: int) -> subprocess.Popen:
    """A registry without auth, as nvcr.io serves public 2.x NIM images from 2.0.10 on ("keyless")."""
    return _serve_registry(_registry_binary(), workdir, port, auth="", answer=200)


def start_registry(workdir: Path, key: str, port: int) -> subprocess.Popen:
    """A registry with htpasswd auth: user `$oauthtoken`, password `key` (as nvcr.io)."""
    binary = _registry_binary()
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        unavailable("htpasswd not installed (apache2-utils); run scripts/setup-engine.sh")
    # -i reads the password from stdin: the key never appears in a process list
    with open(workdir / "htpasswd", "w") as out:
        subprocess.run(
            [htpasswd, "-iBn", REGISTRY_USER],
            input=key,
            text=True,
            stdout=out,
            check=True,
        )
    auth = f"auth:\n  htpasswd:\n    realm: nimctl-test\n    path: {workdir / 'htpasswd'}\n"
    return _serve_registry(binary, workdir, port, auth=auth, answer=401)


def push(docker_client, source: str, target: str, key: str | None) -> None:
    """Tag `source` as `target` and push it; `key` None or "": a registry without auth."""
    repository, _, tag = target.rpartition(":")
    docker_client.images.get(source).tag(repository, tag)
    auth = {"username": REGISTRY_USER, "password": key} if key else None
    for event in docker_client.api.push(repository, tag=tag, auth_config=auth, stream=True, decode=True):
        if "error" in event or "errorDetail" in event:
            raise RuntimeError(f"push failed: {event}")


def untag(docker_client, reference: str) -> None:
    import docker.errors

    try:
        docker_client.images.remove(reference)
    except docker.errors.ImageNotFound:
        pass


# --- running the real command ---------------------------------------------------------------


def base_env(**extra: str) -> dict[str, str]:
    """The machine's environment without nimctl's variables, plus `extra`."""
    env = without_settings_variables(dict(os.environ))
    env["XDG_RUNTIME_DIR"] = os.environ.get("NIMCTL_TEST_RUNTIME_DIR", tempfile.gettempdir())
    env["COLUMNS"] = "200"  # wide tables, so assertions see whole values
    # Other checkouts' tests run GPU containers on this shared engine: `up` would refuse theirs'
    # GPUs. The GPU-overlap tests turn this off for the `up` they expect refused (--no-share-gpus).
    env["NIMCTL_SHARE_GPUS"] = "true"
    env.update(extra)
    return env


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self) -> str:  # shown by pytest on failure
        return (
            f"nimctl {' '.join(self.args)} -> {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )


def run_nimctl(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 180,
    check: bool = False,
) -> Result:
    completed = subprocess.run(
        [sys.executable, "-m", "nimctl", *args],
        env=env if env is not None else base_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    result = Result(list(args), completed.returncode, completed.stdout, completed.stderr)
    if check:
        assert result.returncode == 0, repr(result)
    return result


@dataclass
class Deployment:
    """One test's deployment: its own name, port, cache dir and profile file."""

    name: str
    port: int
    cache_dir: Path
    profile: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def nimctl(self, *args: str, **kwargs) -> Result:
        return run_nimctl(*args, env=kwargs.pop("env", self.env), **kwargs)

    def up_args(self, *extra: str) -> list[str]:
        return ["up", "--profile", str(self.profile), "--name", self.name, "--port", str(self.port), *extra]

    def up(self, *extra: str, **kwargs) -> Result:
        return self.nimctl(*self.up_args(*extra), **kwargs)

    def spawn_up(self, *extra: str, **popen_kwargs) -> subprocess.Popen:
        """`nimctl up` as a running process, for tests that signal it or race it."""
        command = [sys.executable, "-m", "nimctl", *self.up_args(*extra)]
        return subprocess.Popen(command, env=self.env, text=True, **popen_kwargs)


def write_profile(path: Path, image: str, cache_dir: Path, **overrides) -> Path:
    """A test profile: the simulator image, with the real NIM's GPU settings unless overridden."""
    values = {
        "image": image,
        "served_model": "mistralai/mistral-small-4-119b-2603",
        "gpus": "all",
        "runtime": "nvidia",
        "shm_size": "2GB",
        "cache_dir": str(cache_dir),
        "timeout": 60,
        "min_free_disk_gb": 0,
        "stop_timeout": 5,
        "pull": "missing",
        "log_dir": str(cache_dir.parent / "logs"),
    }
    env = {"SIM_STARTUP_DELAY": "0.5", **overrides.pop("env", {})}
    values.update(overrides)
    lines = []
    for key, value in values.items():
        if isinstance(value, bool):  # TOML spells them lower-case
            lines.append(f"{key} = {str(value).lower()}")
        else:
            lines.append(f"{key} = {value!r}".replace("'", '"') if isinstance(value, str) else f"{key} = {value}")
    lines.append("[env]")
    lines.extend(f'{key} = "{value}"' for key, value in env.items())
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass(frozen=True)
class SimDeployment:
    url: str
    model: str
    name: str


def read_until_waiting(process: subprocess.Popen) -> str:
    """A spawned `up`'s stderr up to the line saying it waits for readiness (its phase line)."""
    seen = ""
    for line in process.stderr:
        seen += line
        if ": live" in line or ": starting" in line:
            break
    return seen
