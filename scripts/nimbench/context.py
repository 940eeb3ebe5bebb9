"""Bench: the run's docker client, scratch dirs, names, ports and profiles, and what it created."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from pathlib import Path
from typing import Any

from nimctl.env_names import without_settings_variables
from scripts.nimbench.procs import Children, CmdResult
from scripts.nimbench.progress import log

REPO = Path(__file__).resolve().parents[2]
SIM_PROFILE = REPO / "configs" / "sim.toml"
BENCH_LABEL = "io.nimctl.bench"
RUN_LABEL = "io.nimctl.bench.run"
READY_PATH = "/v1/health/ready"
CONTAINER_PORT = 8000
CACHE_MOUNT = "/opt/nim/.cache"
PLACEHOLDER_KEY = "simulator-placeholder-not-a-key"


class Bench:
    def __init__(self, args: argparse.Namespace):
        import docker

        self.args = args
        self.run_id = uuid.uuid4().hex[:6]
        self.client = docker.from_env(timeout=120)
        self.client.ping()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"nimctl-bench-{self.run_id}-"))
        self.cache_dir = self.tmp / "cache"
        self.cache_dir.mkdir()
        self.log_dir = self.tmp / "logs"
        self.runtime_dir = self.tmp / "run"
        self.runtime_dir.mkdir()
        self.nimctl = shlex.split(args.nimctl) if args.nimctl else _nimctl_beside_interpreter()
        self.env = self._clean_env()
        self.image = ""
        self.image_id = ""
        self.uid_gid = f"{os.getuid()}:{os.getgid()}"
        self.stop = threading.Event()  # set by cleanup: nothing new gets created after it
        self._lock = threading.Lock()
        self._ports: set[int] = set()
        self._seq = 0
        self._profiles: dict[tuple, Path] = {}
        self.created_nimctl: set[str] = set()
        self.created_direct: set[str] = set()
        self.children = Children()
        self.die_times: dict[str, float] = {}
        self.events_stream: Any = None
        self.nimctl_only = False  # --baseline: figures 1 and 2 run nimctl alone (no runbook, testcontainers)
        # --baseline: the profile keys REV knows; the profiles both sides run get only these, so
        # an older revision is not refused a key added since (e.g. `capabilities`)
        self.profile_keys: set[str] | None = None

    # -- set-up ------------------------------------------------------------------------------

    def _clean_env(self) -> dict[str, str]:
        """The machine's env without nimctl's variables (as tests/integration/harness.py does)."""
        env = without_settings_variables(dict(os.environ))
        env["XDG_RUNTIME_DIR"] = str(self.runtime_dir)  # nimctl's deployment locks
        env["COLUMNS"] = "200"  # no wrapped lines: each message is one line we can match
        env["PYTHONUNBUFFERED"] = "1"  # every stderr line reaches us when it is written
        env["XDG_CACHE_HOME"] = str(self.tmp / "xdg-cache")  # the run's own GPU evidence (nimctl.gpu_evidence)
        env["NIMCTL_SHARE_GPUS"] = "true"  # other checkouts' GPU containers on this engine do not stop ours
        return env

    def prepare(self) -> None:
        from nimctl.engine.simulator_build import ensure_simulator_image
        from nimctl.simulator.image import recipe_hash

        # A tag of the bench's own, by recipe: the shared nimctl-sim:latest is rebuilt by whichever
        # checkout runs next with another simulator, and nimctl (profile build = "simulator") would
        # rebuild it mid-run, or per side in a --baseline run. The profiles below never build.
        self.image = f"nimctl-sim-bench:{recipe_hash()[:12]}"
        log(f"simulator image {self.image}: building if missing")
        self.image_id = ensure_simulator_image(self.client, tag=self.image).id
        threading.Thread(target=self._follow_die_events, daemon=True, name="bench-events").start()

    def _follow_die_events(self) -> None:
        import docker

        client = docker.from_env(timeout=None)
        try:
            stream = client.api.events(decode=True, filters={"type": "container", "event": "die"})
            self.events_stream = stream
            for event in stream:
                name = event.get("Actor", {}).get("Attributes", {}).get("name", "")
                if name.startswith(self.name_prefix):
                    stamp = event.get("timeNano")
                    self.die_times[name] = stamp / 1e9 if stamp else float(event.get("time", time.time()))
        except Exception:  # noqa: BLE001, S110 - the stream is closed under us at the end
            pass

    @property
    def name_prefix(self) -> str:
        return f"nimctl-bench-{self.run_id}-"

    def name(self, tag: str) -> str:
        with self._lock:
            self._seq += 1
            return f"{self.name_prefix}{tag}-{self._seq}"

    def free_port(self) -> int:
        with self._lock:
            while True:
                port = _unused_port()
                if port not in self._ports:
                    self._ports.add(port)
                    return port

    def profile(self, **env: str) -> Path:
        """A profile based on configs/sim.toml, with its own cache/log dirs and extra [env] values."""
        key = tuple(sorted(env.items()))
        with self._lock:
            if key in self._profiles:
                return self._profiles[key]
            base = tomllib.loads(SIM_PROFILE.read_text())
            base.pop("container_name", None)  # every run passes its own --name
            base.update(
                {
                    "image": self.image,
                    "build": "",  # use the bench's image as it is (see prepare)
                    "pull": "never",
                    "gpus": "none",
                    "runtime": "",
                    "cache_dir": str(self.cache_dir),
                    "log_dir": str(self.log_dir),
                    "min_free_disk_gb": 0,
                    "stop_timeout": 5,
                    "timeout": 120,
                }
            )
            if self.profile_keys is not None:
                for unknown in sorted(set(base) - self.profile_keys):
                    log(f"profile: `{unknown}` left out: the baseline does not know it (both sides run without it)")
                    base.pop(unknown)
            base_env = dict(base.pop("env", {}))
            base_env.setdefault("NVIDIA_VISIBLE_DEVICES", "simulated")
            base_env.setdefault("SIM_KEYLESS", "true")  # a key never goes in [env]: nimctl refuses it
            base_env.update(env)
            lines = [f"{k} = {_toml_value(v)}" for k, v in base.items()]
            lines += ["", "[env]"]
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in base_env.items())
            # the run id in the file name: nimctl labels its containers with this profile name
            path = self.tmp / f"bench-{self.run_id}-{len(self._profiles)}.toml"
            path.write_text("\n".join(lines) + "\n")
            self._profiles[key] = path
            return path

    # -- running things ----------------------------------------------------------------------

    def run(self, cmd: list[str], timeout: float = 180, env: dict[str, str] | None = None) -> CmdResult:
        return self.children.run(cmd, env=env or self.env, timeout=timeout)

    def claim(self, name: str, created: set[str]) -> None:
        """Record a container about to be created, unless cleanup has begun."""
        with self._lock:
            if self.stop.is_set():
                raise KeyboardInterrupt("cleanup in progress")
            created.add(name)

    def nimctl_up(self, name: str, port: int, profile: Path, *extra: str, timeout: float = 180) -> CmdResult:
        """`nimctl up --json ...`: its summary on stdout, its progress lines on stderr."""
        self.claim(name, self.created_nimctl)
        cmd = [*self.nimctl, "up", "--profile", str(profile), "--name", name, "--port", str(port), "--json", *extra]
        return self.run(cmd, timeout=timeout)

    def nimctl_down(self, name: str) -> bool:
        result = self.run([*self.nimctl, "down", "--name", name, "--timeout", "5"], timeout=60)
        if result.returncode == 0:
            with self._lock:
                self.created_nimctl.discard(name)
            return True
        log(f"`nimctl down --name {name}` failed ({result.returncode}): {result.tail()}")
        return False

    def labels(self) -> dict[str, str]:
        return {BENCH_LABEL: "1", RUN_LABEL: self.run_id}

    def container_env(self, **extra: str) -> dict[str, str]:
        return {"NVIDIA_VISIBLE_DEVICES": "simulated", **extra}

    def docker_run(self, name: str, port: int, env: dict[str, str]) -> CmdResult:
        """NVIDIA's runbook: `docker run -d ...` (the docker CLI, as a user types it)."""
        self.claim(name, self.created_direct)
        cmd = ["docker", "run", "-d", "--name", name]
        for key, value in self.labels().items():
            cmd += ["--label", f"{key}={value}"]
        cmd += ["--shm-size=2GB", "-e", "NGC_API_KEY"]
        for key, value in env.items():
            cmd += ["-e", f"{key}={value}"]
        cmd += ["-v", f"{self.cache_dir}:{CACHE_MOUNT}", "-u", self.uid_gid]
        cmd += ["-p", f"127.0.0.1:{port}:{CONTAINER_PORT}", self.image]
        return self.run(cmd, timeout=60, env={**os.environ, "NGC_API_KEY": PLACEHOLDER_KEY})

    def remove(self, name: str) -> None:
        import docker.errors

        try:
            self.client.api.remove_container(name, force=True)
        except docker.errors.NotFound:
            pass
        with self._lock:
            self.created_direct.discard(name)

    def inspect(self, name: str) -> dict[str, Any] | None:
        import docker.errors

        try:
            return self.client.api.inspect_container(name)
        except docker.errors.NotFound:
            return None

    def logs(self, name: str, timestamps: bool = False) -> str:
        import docker.errors

        try:
            return self.client.api.logs(name, timestamps=timestamps).decode("utf-8", "replace")
        except docker.errors.NotFound:
            return ""

    def die_time(self, name: str, wait: float = 3.0) -> float | None:
        """When docker reported the container's exit (its events arrive a little late)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if name in self.die_times:
                return self.die_times[name]
            time.sleep(0.02)
        return self.die_times.get(name)


def _nimctl_beside_interpreter() -> list[str]:
    beside = Path(sys.executable).parent / "nimctl"
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "nimctl"]


def _unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):  # e.g. capabilities = ["text", "vision"]
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string
