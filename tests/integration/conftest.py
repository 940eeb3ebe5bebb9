"""Integration fixtures: the real Docker engine, a real private registry with htpasswd auth and a
public one without auth (keyless 2.x images), the simulator image pushed to each, and deployments
run through the real `nimctl` command.

In CI (CI=true) a missing engine or registry binary fails the tests; elsewhere they skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.integration.engines import SshEngine
from tests.integration.harness import (
    PUBLIC_SIM_REPOSITORY,
    PUBLIC_SIM_TAG,
    RUN_ID,
    TEST_KEY,
    Deployment,
    Registry,
    SimDeployment,
    base_env,
    free_port,
    push,
    run_nimctl,
    start_public_registry,
    start_registry,
    unavailable,
    write_profile,
)


@pytest.fixture(scope="session")
def docker_client():
    import docker

    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no engine
        unavailable(f"Docker engine unreachable ({exc}); run scripts/setup-engine.sh")
    yield client
    client.close()


@pytest.fixture(scope="session")
def sim_image(docker_client) -> str:
    """The simulator image of this checkout's code, under a tag named by its recipe hash.

    `nimctl-sim:latest` follows whichever checkout built it last (parallel runs from other
    worktrees rebuild it); the hash tag stays this code's image for the whole session.
    """
    from nimctl.engine.simulator_build import ensure_simulator_image
    from nimctl.simulator.image import SIM_IMAGE, recipe_hash

    pinned = f"nimctl-sim-test:{recipe_hash()[:12]}"
    ensure_simulator_image(docker_client, tag=SIM_IMAGE).tag(pinned)
    return pinned


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp("registry")
    port = free_port()
    process = start_registry(workdir, TEST_KEY, port)
    yield Registry(address=f"127.0.0.1:{port}", key=TEST_KEY)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def registry_image(docker_client, sim_image: str, registry: Registry) -> str:
    """The simulator in the private registry, and NOT present locally under that name."""
    target = registry.image()
    push(docker_client, sim_image, target, registry.key)
    docker_client.images.remove(target)
    return target


@pytest.fixture(scope="session")
def public_registry(tmp_path_factory) -> Iterator[Registry]:
    """A second registry on another loopback port, without auth: anyone may pull (and push)."""
    workdir = tmp_path_factory.mktemp("public-registry")
    port = free_port()
    process = start_public_registry(workdir, port)
    yield Registry(address=f"127.0.0.1:{port}", key="")
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def public_registry_image(docker_client, sim_image: str, public_registry: Registry) -> str:
    """The simulator as a public 2.x image in the registry without auth, NOT present locally under that
    name. It is the plain simulator image: a test makes it behave as 2.x with SIM_RELEASE=2.1.6 (keyless)
    and the other SIM_ variables in its profile's [env]."""
    target = public_registry.image(PUBLIC_SIM_REPOSITORY, PUBLIC_SIM_TAG)
    push(docker_client, sim_image, target, None)
    docker_client.images.remove(target)
    return target


def deployment_factory(tmp_path, client, engine_env: dict[str, str]):
    """Factory for deployments on `client`'s engine (`engine_env` points nimctl at it); every
    container they create is removed afterwards (the cache dir stays)."""
    created: list[str] = []

    def make(image: str | None = None, key: str | None = TEST_KEY, **overrides) -> Deployment:
        index = len(created)
        name = f"nimctl-it-{RUN_ID}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        created.append(name)
        cache_dir = tmp_path / f"cache{index}"
        cache_dir.mkdir()
        # a per-run profile name: `down --all --profile` then removes only what this test made
        profile = write_profile(tmp_path / f"profile-{name}.toml", image or "unset", cache_dir, **overrides)
        env = base_env(**engine_env, **({"NGC_API_KEY": key} if key else {}))
        env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")  # the test's own GPU evidence (nimctl.gpu_evidence)
        return Deployment(name=name, port=free_port(), cache_dir=cache_dir, profile=profile, env=env)

    yield make
    import docker.errors

    for name in created:
        try:
            client.api.remove_container(name, force=True)
        except docker.errors.NotFound:
            pass


@pytest.fixture
def make_deployment(tmp_path, docker_client, registry: Registry):
    """Factory for deployments on the Docker engine."""
    yield from deployment_factory(tmp_path, docker_client, {})


@pytest.fixture(scope="session")
def podman_client():
    """The podman service (scripts/setup-podman.sh) through its Docker-compatible API."""
    import docker

    from tests.integration.engines import PODMAN_URL

    try:
        client = docker.DockerClient(base_url=PODMAN_URL, timeout=60)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no service
        unavailable(f"podman service unreachable at {PODMAN_URL} ({exc}); run scripts/setup-podman.sh")
    yield client
    client.close()


@pytest.fixture(scope="session")
def podman_sim_image(podman_client) -> str:
    """This checkout's simulator image, built by podman itself (through the compat build API)."""
    from nimctl.engine.simulator_build import ensure_simulator_image
    from nimctl.simulator.image import recipe_hash

    tag = f"nimctl-sim-test:{recipe_hash()[:12]}"
    ensure_simulator_image(podman_client, tag=tag)
    return tag


@pytest.fixture
def make_podman_deployment(tmp_path, podman_client):
    """Factory for deployments on podman (nimctl given --engine-url through NIMCTL_ENGINE_URL)."""
    from tests.integration.engines import PODMAN_URL

    yield from deployment_factory(tmp_path, podman_client, {"NIMCTL_ENGINE_URL": PODMAN_URL})


@pytest.fixture(scope="session")
def ssh_engine(tmp_path_factory, docker_client) -> Iterator[SshEngine]:
    """This machine's Docker engine behind a private sshd on loopback (DOCKER_HOST=ssh://...)."""
    from tests.integration.engines import start_sshd

    process, engine = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield engine
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def make_ssh_deployment(tmp_path, docker_client, ssh_engine: SshEngine):
    """Factory for deployments on Docker over SSH."""
    yield from deployment_factory(tmp_path, docker_client, ssh_engine.env())


@pytest.fixture
def deployment(make_deployment, registry_image: str) -> Deployment:
    return make_deployment(registry_image)


@pytest.fixture(scope="module")
def sim_deployment(tmp_path_factory, docker_client, sim_image: str) -> Iterator[SimDeployment]:
    """A simulator launched by `nimctl up --profile sim`, shared by a module's client-usage tests."""
    name = f"nimctl-it-sim-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    port = free_port()
    cache_dir = tmp_path_factory.mktemp("sim-cache")
    env = base_env(NIMCTL_CACHE_DIR=str(cache_dir), NIMCTL_LOG_DIR=str(cache_dir.parent / "logs"))
    run_nimctl(
        "up",
        "--profile",
        "sim",
        "--image",
        sim_image,
        "--name",
        name,
        "--port",
        str(port),
        "--no-smoke",
        env=env,
        check=True,
    )
    yield SimDeployment(
        url=f"http://127.0.0.1:{port}",
        model="mistralai/mistral-small-4-119b-2603",
        name=name,
    )
    run_nimctl("down", "--name", name, env=env)
