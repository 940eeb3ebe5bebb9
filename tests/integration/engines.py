"""Helpers for the tests on other engines: the podman service's URL, a private sshd on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.integration.harness import free_port, unavailable

# the service scripts/setup-podman.sh starts; another one can be named for a run
PODMAN_URL = os.environ.get("NIMCTL_TEST_PODMAN_URL", "unix:///run/podman/podman.sock")


@dataclass(frozen=True)
class SshEngine:
    """Docker on this machine, reached the way an operator reaches a GPU box: over SSH."""

    url: str  # ssh://root@127.0.0.1:PORT
    home: Path  # HOME for the client: .ssh/ with the key, its config and known_hosts; bin/ssh
    port: int = 0
    host_key: str = ""  # "ssh-ed25519 AAAA...": the line a known_hosts file holds for it
    client_key: Path = Path()

    def env(self, **extra: str) -> dict[str, str]:
        return {"DOCKER_HOST": self.url, **client_env(self.home), **extra}


def client_env(home: Path) -> dict[str, str]:
    """HOME and PATH for a client whose ssh configuration is `home`/.ssh (see ssh_wrapper)."""
    return {"HOME": str(home), "PATH": f"{home / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}"}


def ssh_wrapper(home: Path) -> None:
    """`home`/bin/ssh: the real ssh reading `home`/.ssh/config.

    OpenSSH takes ~ from the password database, not $HOME, so a test's HOME alone would leave it
    reading root's own ~/.ssh. The wrapper stands for a user whose home is `home`; the config it
    names keeps every file (known_hosts, keys) under `home` too.
    """
    (home / "bin").mkdir(exist_ok=True)
    wrapper = home / "bin" / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {shutil.which("ssh") or "/usr/bin/ssh"} -F "$HOME/.ssh/config" "$@"\n')
    wrapper.chmod(0o755)


def client_defaults(home: Path, key: Path) -> str:
    """The `Host *` block every test ssh config ends with: keys and known_hosts under `home` only."""
    return (
        "Host *\n"
        f"  IdentityFile {key}\n"
        f"  UserKnownHostsFile {home / '.ssh' / 'known_hosts'}\n"
        "  GlobalKnownHostsFile /dev/null\n"
        "  BatchMode yes\n"
    )


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def start_sshd(workdir: Path) -> tuple[subprocess.Popen, SshEngine]:
    """An sshd of our own on a loopback port: generated host and client keys, root by key only.

    Its config names its own authorized_keys file, so neither root's ~/.ssh nor the system's sshd
    (config, port 22) is touched.
    """
    sshd = Path("/usr/sbin/sshd")
    if not sshd.is_file() or shutil.which("ssh-keygen") is None:
        unavailable("openssh-server not installed; run scripts/setup-engine.sh")
    if os.getuid() != 0:
        unavailable("the SSH engine tests log in as root to reach the Docker socket; run them as root")
    home = workdir / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    _keygen(workdir / "host_key")
    client_key = home / ".ssh" / "id_ed25519"
    _keygen(client_key)
    (workdir / "authorized_keys").write_text(client_key.with_suffix(".pub").read_text())
    port = free_port()
    host_key = " ".join((workdir / "host_key.pub").read_text().split()[:2])
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key}\n")
    (home / ".ssh" / "config").write_text(client_defaults(home, client_key))
    ssh_wrapper(home)
    config = workdir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {workdir / 'host_key'}",
                f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
                f"PidFile {workdir / 'sshd.pid'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",  # the key files live under the test's temporary directory
                "AllowTcpForwarding yes",  # nimctl's tunnel to the NIM
                "",
            ]
        )
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    process = subprocess.Popen(
        [str(sshd), "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=open(workdir / "sshd.log", "w")
    )
    deadline = time.monotonic() + 10
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            unavailable(f"the test sshd did not start: {(workdir / 'sshd.log').read_text()[-500:]}")
        time.sleep(0.1)
    engine = SshEngine(
        url=f"ssh://root@127.0.0.1:{port}", home=home, port=port, host_key=host_key, client_key=client_key
    )
    return process, engine


def containers_named(client, name: str) -> list:
    """Containers called `name`, on Docker ("/name") or podman ("name")."""
    return client.containers.list(all=True, filters={"name": f"^/?{name}$"})


def env_of(client, name: str) -> dict[str, str]:
    """A container's environment as the engine reports it (the last of repeated names wins, as in the process)."""
    pairs = client.api.inspect_container(name)["Config"]["Env"] or []
    return dict(pair.split("=", 1) for pair in pairs)
