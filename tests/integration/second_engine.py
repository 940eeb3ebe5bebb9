"""A second, private Docker engine for tests that must stop an engine: the shared one is never touched.

Its own socket, data-root, exec-root and pidfile under /tmp, no iptables rules, and its own bridge
interface (published ports go through docker's userland proxy), so nothing it does reaches the
shared engine's containers or networks. Needs root and dockerd.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import docker

from tests.integration.harness import unavailable


@dataclass
class SecondEngine:
    root: Path
    bridge: str
    process: subprocess.Popen | None = None
    starts: int = field(default=0)

    @property
    def host(self) -> str:
        return f"unix://{self.root}/docker.sock"

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, timeout=60)

    def start(self) -> None:
        """Start it; a restart right after a kill may time out waiting for its containerd: once more then."""
        try:
            self._start_once()
        except RuntimeError:
            self.stop()
            self._start_once()

    def _start_once(self) -> None:
        (self.root / "docker.pid").unlink(missing_ok=True)  # left by a killed engine
        self.starts += 1
        log = open(self.root / f"dockerd-{self.starts}.log", "w")
        self.process = subprocess.Popen(
            [
                "dockerd",
                "-H",
                self.host,
                "--data-root",
                str(self.root / "data"),
                "--exec-root",
                str(self.root / "exec"),
                "--pidfile",
                str(self.root / "docker.pid"),
                "--bridge",
                self.bridge,
                "--iptables=false",
                "--ip-masq=false",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.client().ping()
                return
            except Exception:  # noqa: BLE001 - not answering yet
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"the second engine did not start: {(self.root / f'dockerd-{self.starts}.log').read_text()[-800:]}"
        )

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill of dockerd would; returns once its containerd is gone too."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while self.containerd_pids() and time.monotonic() < deadline:
            time.sleep(0.1)

    def shut_down(self) -> None:
        """SIGTERM, as `systemctl stop docker` does: the engine stops its containers, then itself."""
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=60)

    def containerd_pids(self) -> list[int]:
        """The engine's own containerd (it runs one under its exec-root), not the shims of its containers."""
        marker = f"{self.root}/exec/containerd/containerd.toml"
        return [pid for pid, cmdline in _processes() if marker in cmdline and "containerd-shim" not in cmdline]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def start_second_engine(image: str, source_client: docker.DockerClient) -> SecondEngine:
    if os.geteuid() != 0 or shutil.which("dockerd") is None or shutil.which("ip") is None:
        unavailable("a second engine needs root, dockerd and ip")
    root = Path(tempfile.mkdtemp(prefix="nimctl-e2-", dir="/tmp"))  # short: unix socket paths are limited
    bridge = "nimt" + uuid.uuid4().hex[:8]
    subnet = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.1/24"
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", subnet, "dev", bridge], check=True)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
    engine = SecondEngine(root=root, bridge=bridge)
    engine.start()
    engine.client().images.load(source_client.images.get(image).save(named=image))
    return engine


def _processes() -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
            except OSError:
                continue  # ended meanwhile
    return found


def remove_second_engine(engine: SecondEngine) -> None:
    """Stop it (its containers with it), then remove its bridge and its directories."""
    try:
        if engine.process is None or engine.process.poll() is not None:
            engine.start()  # a killed engine is started again, so it removes its own containers
        client = engine.client()
        for container in client.containers.list(all=True):
            container.remove(force=True)
        engine.stop()
    finally:
        subprocess.run(["ip", "link", "del", engine.bridge], check=False)
        subprocess.run(["umount", str(engine.root / "data")], check=False, stderr=subprocess.DEVNULL)
        shutil.rmtree(engine.root, ignore_errors=True)
