"""ssh:// engines trust and reach hosts as OpenSSH decides, against real sshd's on loopback.

Each case is a user's ssh configuration (its own ~/.ssh: config, known_hosts, keys; engines.ssh_wrapper
makes the real ssh read it). For each, `nimctl status` goes over it twice: the engine API (ssh ...
docker system dial-stdio) and the tunnel to a simulator on the engine host's loopback (ssh -L): the
row says ready only if the tunnel carried the readiness probe. `ssh` itself and `docker -H ssh://`
on the same files must agree with nimctl: both work, or both are refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.engines import SshEngine, client_defaults, client_env, ssh_wrapper, start_sshd
from tests.integration.harness import RUN_ID, base_env, free_port, run_nimctl, write_profile

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Hosts:
    engine: SshEngine  # sshd in front of this machine's Docker engine
    jump: SshEngine  # a second sshd, the bastion for ProxyJump
    jump_log: Path
    nim: str  # a simulator on the engine host's loopback (started through the local socket)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory, docker_client, sim_image: str) -> Iterator[Hosts]:
    engine_process, engine = start_sshd(tmp_path_factory.mktemp("sshd-engine"))
    jump_dir = tmp_path_factory.mktemp("sshd-jump")
    jump_process, jump = start_sshd(jump_dir)
    workdir = tmp_path_factory.mktemp("ssh-nim")
    name = f"nimctl-it-ssh-config-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    profile = write_profile(
        workdir / "nim.toml",
        sim_image,
        workdir,
        gpus="none",
        runtime="",
        needs_ngc_key=False,
        pull="never",
        env={"NVIDIA_VISIBLE_DEVICES": "simulated", "SIM_KEYLESS": "true"},
    )
    local = base_env()
    local.pop("DOCKER_HOST", None)
    up = ["up", "--profile", str(profile), "--name", name, "--port", str(free_port()), "--no-smoke"]
    run_nimctl(*up, env=local, check=True)
    try:
        yield Hosts(engine=engine, jump=jump, jump_log=jump_dir / "sshd.log", nim=name)
    finally:
        run_nimctl("down", "--name", name, env=local)
        for process in (engine_process, jump_process):
            process.terminate()
            process.wait(timeout=10)


def known(host: SshEngine, name: str = "127.0.0.1") -> str:
    return f"[{name}]:{host.port} {host.host_key}\n"


@dataclass
class Client:
    """One user's ~/.ssh, and nimctl, ssh and docker run as that user."""

    home: Path
    hosts: Hosts

    @classmethod
    def make(cls, tmp_path: Path, hosts: Hosts, config: str, known_hosts: str) -> Client:
        home = tmp_path / "home"
        (home / ".ssh").mkdir(parents=True, mode=0o700)
        (home / ".ssh" / "known_hosts").write_text(known_hosts)
        # the case's own blocks first (ssh takes the first value it finds), then the keys and defaults
        defaults = client_defaults(home, hosts.engine.client_key) + f"  IdentityFile {hosts.jump.client_key}\n"
        (home / ".ssh" / "config").write_text(config + "\n" + defaults)
        ssh_wrapper(home)
        return cls(home, hosts)

    def env(self, url: str) -> dict[str, str]:
        env = base_env(DOCKER_HOST=url, DOCKER_CONFIG=str(self.home / ".docker"), **client_env(self.home))
        env.pop("DOCKER_CONTEXT", None)
        return env

    def status(self, url: str):
        return run_nimctl("status", "--name", self.hosts.nim, "--json", env=self.env(url), timeout=120)

    def docker_cli(self, url: str) -> subprocess.CompletedProcess:
        docker = shutil.which("docker") or "docker"
        command = [docker, "-H", url, "version", "--format", "{{.Server.Version}}"]
        return subprocess.run(command, env=self.env(url), capture_output=True, text=True, timeout=60)

    def ssh(self, *target: str) -> subprocess.CompletedProcess:
        command = ["ssh", *target, "true"]
        return subprocess.run(command, env=self.env(""), capture_output=True, text=True, timeout=60)

    def known_hosts(self) -> str:
        return (self.home / ".ssh" / "known_hosts").read_text()


def assert_works(client: Client, url: str, tunnel_to: str) -> None:
    result = client.status(url)
    assert result.returncode == 0, repr(result)
    [row] = json.loads(result.stdout)
    assert row["ready"] is True and row["via"] == f"ssh tunnel to {tunnel_to}", repr(result)  # API and tunnel
    docker_cli = client.docker_cli(url)
    assert docker_cli.returncode == 0, docker_cli.stderr  # the docker CLI agrees on the same files


def strict(value: str) -> str:
    return f"Host *\n  StrictHostKeyChecking {value}\n"


def test_strict_with_a_known_host(tmp_path: Path, hosts: Hosts) -> None:
    client = Client.make(tmp_path, hosts, strict("yes"), known(hosts.engine))
    assert_works(client, hosts.engine.url, "127.0.0.1")


def test_strict_with_an_unknown_host_is_refused_with_the_keyscan_hint(tmp_path: Path, hosts: Hosts) -> None:
    client = Client.make(tmp_path, hosts, strict("yes"), "")
    result = client.status(hosts.engine.url)
    assert result.returncode == 3, repr(result)
    assert "Host key verification failed" in result.stderr and "ssh-keyscan" in result.stderr, repr(result)
    assert client.docker_cli(hosts.engine.url).returncode != 0  # the docker CLI refuses it as well
    assert client.ssh("-p", str(hosts.engine.port), "root@127.0.0.1").returncode != 0  # and ssh itself
    assert client.known_hosts() == ""


def test_accept_new_records_the_key_as_ssh_does(tmp_path: Path, hosts: Hosts) -> None:
    client = Client.make(tmp_path, hosts, strict("accept-new"), "")
    assert_works(client, hosts.engine.url, "127.0.0.1")
    assert f"[127.0.0.1]:{hosts.engine.port} " in client.known_hosts()


def test_no_checking_with_a_throwaway_known_hosts(tmp_path: Path, hosts: Hosts) -> None:
    config = "Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
    client = Client.make(tmp_path, hosts, config, "")
    assert_works(client, hosts.engine.url, "127.0.0.1")


def test_a_custom_user_known_hosts_file(tmp_path: Path, hosts: Hosts) -> None:
    elsewhere = tmp_path / "team" / "known_hosts"
    elsewhere.parent.mkdir()
    elsewhere.write_text(known(hosts.engine))
    config = f"Host *\n  StrictHostKeyChecking yes\n  UserKnownHostsFile {elsewhere}\n"
    client = Client.make(tmp_path, hosts, config, "")  # the default file knows nothing
    assert_works(client, hosts.engine.url, "127.0.0.1")


def test_a_host_alias_with_its_own_port_and_user(tmp_path: Path, hosts: Hosts) -> None:
    config = f"Host gpu-box\n  HostName 127.0.0.1\n  Port {hosts.engine.port}\n  User root\n" + strict("yes")
    client = Client.make(tmp_path, hosts, config, known(hosts.engine))
    assert client.ssh("gpu-box").returncode == 0
    assert_works(client, "ssh://gpu-box", "gpu-box")  # neither port nor user in the URL


def test_proxyjump_through_a_second_sshd(tmp_path: Path, hosts: Hosts) -> None:
    config = (
        f"Host gpu-box\n  HostName 127.0.0.1\n  Port {hosts.engine.port}\n  User root\n  ProxyJump bastion\n"
        f"Host bastion\n  HostName 127.0.0.1\n  Port {hosts.jump.port}\n  User root\n" + strict("yes")
    )
    client = Client.make(tmp_path, hosts, config, known(hosts.engine) + known(hosts.jump))
    jumped = hosts.jump_log.read_text().count("Accepted publickey")
    assert_works(client, "ssh://gpu-box", "gpu-box")
    # the API connection, the tunnel and the docker CLI each went through the bastion
    assert hosts.jump_log.read_text().count("Accepted publickey") >= jumped + 3
