#!/usr/bin/env python3
"""Benchmark nimctl against what users compare it with, in one run, on the same simulator image.

Run it with the project's venv (it imports docker-py, testcontainers and nimctl's simulator image
builder, and runs the real `nimctl` CLI that sits next to the interpreter):

    .venv/bin/python scripts/bench.py                      # every figure, 5 repetitions
    .venv/bin/python scripts/bench.py --reps 1 --json out.json
    .venv/bin/python scripts/bench.py --only cli-start,smoke

Comparators
    nimctl          the real CLI (`nimctl up ...` as a subprocess; its stderr is read live and
                    every line is timestamped, so "reports ready" is the instant its line arrives)
    runbook-1s/5s   NVIDIA's hand-written way: `docker run -d ...`, then the shell loop
                    `until [ "$(curl -s -o /dev/null -w '%{http_code}' $URL)" = 200 ]; do sleep 1; done`
                    (re-implemented in Python with the same semantics: probe, then sleep the interval)
    runbook-0.1s    the same loop polling every 0.1 s (figure 4 only)
    testcontainers  testcontainers-python `DockerContainer` + `HttpWaitStrategy` on /v1/health/ready,
                    its default 1 s poll interval, Ryuk disabled (no image pulls on this machine)

Figures (keys for --only)
    readiness-lag   1: lag from the simulator's `ready_at_ms=` log line to each tool reporting ready
                       (random SIM_STARTUP_DELAY per run), and health requests per second while loading
    crash           2: the simulator exits during start-up (SIM_CRASH_AFTER); time from its exit to each
                       tool giving up, bounded by --crash-wait
    unchanged-up    3: `nimctl up` again on a running, ready deployment: wall time and restarts
    whole-up        4: whole `nimctl up --no-smoke` vs `docker run -d` + a 0.1 s loop: ratio of wall times
    cli-start       5: `nimctl --help` and `nimctl status` with --status-deployments deployments running
    smoke           6: the quick and full smoke suites against the simulator: wall time

--reps N repeats every start-up scenario N times; the cheap CLI measurements (figures 3, 5, 6)
take 4*N samples. --nimctl COMMAND measures another nimctl (e.g. a wrapper around a patched copy).
Results are in docs/benchmarks.md. Medians and p95s (linear interpolation between order statistics) are printed as a
markdown table on stdout; progress goes to stderr; --json FILE writes every sample.

Every container the benchmark creates is removed at the end, also on Ctrl-C, SIGTERM and errors:
those it creates itself carry the label io.nimctl.bench=1 (and io.nimctl.bench.run=<run id>),
nimctl's own are removed with `nimctl down --name`. Traffic goes only to 127.0.0.1 and to the
benchmark's own containers.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SIM_PROFILE = REPO / "configs" / "sim.toml"
BENCH_LABEL = "io.nimctl.bench"
RUN_LABEL = "io.nimctl.bench.run"
READY_PATH = "/v1/health/ready"
CONTAINER_PORT = 8000
CACHE_MOUNT = "/opt/nim/.cache"
PLACEHOLDER_KEY = "simulator-placeholder-not-a-key"
HEALTH_LINE = re.compile(r'"GET /v1/health/ready HTTP/1\.[01]" (\d{3})')
READY_AT = re.compile(r"ready_at_ms=(\d+)")

FIGURES = ("readiness-lag", "crash", "unchanged-up", "whole-up", "cli-start", "smoke")
TOOLS_WAIT = ("nimctl", "runbook-1s", "runbook-5s", "testcontainers")


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# statistics and the result model
# --------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Target:
    """Met when the median and the p95 are both at most their bound."""

    median_max: float | None
    p95_max: float | None
    text: str

    def met(self, median: float, p95: float) -> bool:
        ok = True
        if self.median_max is not None:
            ok = ok and median <= self.median_max
        if self.p95_max is not None:
            ok = ok and p95 <= self.p95_max
        return ok


@dataclass
class Row:
    figure: str
    tool: str
    unit: str  # "ms", "s", "req/s", "x", "restarts"
    samples: list[float] = field(default_factory=list)
    target: Target | None = None
    errors: list[str] = field(default_factory=list)
    note: str = ""
    # rows where "not noticed" is a result, not an error (figure 2's comparators)
    not_noticed: int = 0
    bound_s: float | None = None
    retries: int = 0  # runs repeated after a failure (see Bench.interference)
    extra: list[dict[str, Any]] = field(default_factory=list)  # per-sample details for the JSON

    def add(self, value: float, **details: Any) -> None:
        self.samples.append(value)
        self.extra.append({"value": value, **details})

    def fail(self, error: str) -> None:
        self.errors.append(error)
        self.extra.append({"error": error})

    @property
    def median(self) -> float | None:
        return percentile(self.samples, 50) if self.samples else None

    @property
    def p95(self) -> float | None:
        return percentile(self.samples, 95) if self.samples else None

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if not self.samples or self.errors or self.not_noticed:
            return False
        if self.unit == "restarts":  # any restart at all misses "0 restarts"
            return max(self.samples) <= (self.target.p95_max or 0)
        return self.target.met(self.median, self.p95)

    def cell(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.unit == "ms":
            return f"{value:.0f} ms"
        if self.unit == "s":
            return f"{value:.2f} s"
        if self.unit == "req/s":
            return f"{value:.1f} req/s"
        if self.unit == "x":
            return f"{value:.2f}×"
        if self.unit == "restarts":
            return f"{value:.0f}"
        return f"{value:.3g}"

    def markdown(self) -> str:
        n_runs = len(self.samples) + len(self.errors) + self.not_noticed
        median, p95 = self.cell(self.median), self.cell(self.p95)
        if self.not_noticed:
            bound = f"{self.bound_s:.0f} s" if self.bound_s is not None else "the bound"
            text = f"did not notice within {bound} ({self.not_noticed}/{n_runs})"
            if self.samples:
                median = f"{median} ({len(self.samples)}/{n_runs} noticed)"
            else:
                median, p95 = text, "—"
        if self.errors:
            p95 += f" ({len(self.errors)}/{n_runs} runs failed)"
        met = "—" if self.met is None else ("yes" if self.met else "**no**")
        tool = f"{self.tool} (n={n_runs})"
        if self.retries:
            tool += f" [{self.retries} run(s) repeated after a failure, see JSON]"
        if self.note:
            tool += f" — {self.note}"
        return f"| {self.figure} | {tool} | {median} | {p95} | {self.target.text if self.target else '—'} | {met} |"

    def to_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "tool": self.tool,
            "unit": self.unit,
            "n": len(self.samples),
            "median": self.median,
            "p95": self.p95,
            "samples": self.samples,
            "target": None
            if self.target is None
            else {"median_max": self.target.median_max, "p95_max": self.target.p95_max, "text": self.target.text},
            "met": self.met,
            "errors": self.errors,
            "not_noticed": self.not_noticed,
            "bound_s": self.bound_s,
            "retries": self.retries,
            "note": self.note,
            "runs": self.extra,
        }


# --------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------


@dataclass
class CmdResult:
    cmd: list[str]
    returncode: int | None
    wall: float  # seconds from just before Popen to the process's exit
    t_start: float  # epoch seconds
    t_end: float
    stderr: list[tuple[float, str]]  # (epoch seconds when the line arrived, line)
    stdout: str

    def first(self, pattern: str) -> float | None:
        regex = re.compile(pattern)
        for stamp, line in self.stderr:
            if regex.search(line):
                return stamp
        return None

    def tail(self, lines: int = 8) -> str:
        return " | ".join(line for _, line in self.stderr[-lines:])


def up_action(result: CmdResult, name: str) -> str | None:
    """The plan `nimctl up` reported: "• NAME: noop (...)" → "noop"."""
    regex = re.compile(rf"^• {re.escape(name)}: (noop|create|start|recreate) \(")
    for _, line in result.stderr:
        match = regex.match(line)
        if match:
            return match.group(1)
    return None


def retried(job: Callable[[], Any], what: str, attempts: int = 2) -> tuple[Any, list[str]]:
    """Run a one-shot scenario; on a failure run it once more (other test runs on the machine may
    remove nimctl's containers with `nimctl down --all`). Every failure is returned and recorded."""
    failures: list[str] = []
    for attempt in range(attempts):
        try:
            return job(), failures
        except Exception as exc:  # noqa: BLE001
            failures.append(str(exc))
            log(f"{what}: attempt {attempt + 1} failed: {exc}")
    raise RuntimeError(" / ".join(failures))


def _read_lines(stream: Any, sink: list[tuple[float, str]]) -> None:
    for raw in iter(stream.readline, b""):
        sink.append((time.time(), raw.decode("utf-8", "replace").rstrip("\r\n")))
    stream.close()


def _read_all(stream: Any, sink: list[bytes]) -> None:
    sink.append(stream.read())
    stream.close()


# --------------------------------------------------------------------------------------------
# the benchmark's context: docker client, temp dirs, the registry of what it created, cleanup
# --------------------------------------------------------------------------------------------


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
        self.nimctl = shlex.split(args.nimctl) if args.nimctl else self._nimctl_command()
        self.env = self._clean_env()
        self.image = ""
        self.image_id = ""
        self.uid_gid = f"{os.getuid()}:{os.getgid()}"
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._ports: set[int] = set()
        self._seq = 0
        self._profiles: dict[tuple, Path] = {}
        self.created_nimctl: set[str] = set()
        self.created_direct: set[str] = set()
        self.procs: set[subprocess.Popen] = set()
        self.die_times: dict[str, float] = {}
        self._events_stream: Any = None
        # deployments of this run removed by someone else (another test run's `nimctl down --all`)
        self.interference: list[dict[str, Any]] = []

    # -- set-up ------------------------------------------------------------------------------

    @staticmethod
    def _nimctl_command() -> list[str]:
        beside = Path(sys.executable).parent / "nimctl"
        if beside.exists():
            return [str(beside)]
        return [sys.executable, "-m", "nimctl"]

    def _clean_env(self) -> dict[str, str]:
        """The machine's env without nimctl's variables (as tests/integration/harness.py does)."""
        dropped = ("NGC_API_KEY", "LOCAL_NIM_CACHE", "NIM_MAX_IMAGES_PER_PROMPT", "IMG_NAME", "CONTAINER_NAME")
        env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith("NIMCTL_")}
        env["XDG_RUNTIME_DIR"] = str(self.runtime_dir)  # nimctl's deployment locks
        env["COLUMNS"] = "200"  # no wrapped lines: each message is one line we can match
        env["PYTHONUNBUFFERED"] = "1"  # every stderr line reaches us when it is written
        return env

    def prepare(self) -> None:
        from nimctl.simulator.image import SIM_IMAGE, ensure_simulator_image

        base = tomllib.loads(SIM_PROFILE.read_text())
        self.image = base.get("image", SIM_IMAGE)
        log(f"simulator image {self.image}: building if missing")
        image = ensure_simulator_image(self.client, tag=self.image)
        self.image_id = image.id
        threading.Thread(target=self._follow_die_events, daemon=True, name="bench-events").start()

    def _follow_die_events(self) -> None:
        import docker

        client = docker.from_env(timeout=None)
        try:
            stream = client.api.events(decode=True, filters={"type": "container", "event": "die"})
            self._events_stream = stream
            for event in stream:
                name = event.get("Actor", {}).get("Attributes", {}).get("name", "")
                if name.startswith(f"nimctl-bench-{self.run_id}-"):
                    stamp = event.get("timeNano")
                    self.die_times[name] = stamp / 1e9 if stamp else float(event.get("time", time.time()))
        except Exception:  # noqa: BLE001, S110 - the stream is closed under us at the end
            pass

    def name(self, tag: str) -> str:
        with self._lock:
            self._seq += 1
            return f"nimctl-bench-{self.run_id}-{tag}-{self._seq}"

    def free_port(self) -> int:
        with self._lock:
            while True:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))
                    port = sock.getsockname()[1]
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
                    "gpus": "none",
                    "runtime": "",
                    "cache_dir": str(self.cache_dir),
                    "log_dir": str(self.log_dir),
                    "min_free_disk_gb": 0,
                    "stop_timeout": 5,
                    "timeout": 120,
                }
            )
            base_env = dict(base.pop("env", {}))
            base_env.setdefault("NVIDIA_VISIBLE_DEVICES", "simulated")
            base_env.setdefault("NGC_API_KEY", PLACEHOLDER_KEY)
            base_env.update(env)
            lines = [f"{k} = {_toml_value(v)}" for k, v in base.items()]
            lines.append("")
            lines.append("[env]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in base_env.items())
            path = self.tmp / f"bench-{len(self._profiles)}.toml"
            path.write_text("\n".join(lines) + "\n")
            self._profiles[key] = path
            return path

    # -- running things ----------------------------------------------------------------------

    def run(self, cmd: list[str], timeout: float = 180, env: dict[str, str] | None = None) -> CmdResult:
        """Run a command, timestamping each stderr line as it arrives."""
        err: list[tuple[float, str]] = []
        out: list[bytes] = []
        t_start = time.time()
        m_start = time.monotonic()
        proc = subprocess.Popen(
            cmd, env=env or self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        with self._lock:
            self.procs.add(proc)
        readers = [
            threading.Thread(target=_read_lines, args=(proc.stderr, err), daemon=True),
            threading.Thread(target=_read_all, args=(proc.stdout, out), daemon=True),
        ]
        for reader in readers:
            reader.start()
        # A blocking wait: Popen.wait(timeout=...) polls with sleeps of up to 50 ms, which would
        # round every wall time up to the next 50 ms step. The timeout is a timer instead.
        timed_out = threading.Event()

        def on_timeout() -> None:
            timed_out.set()
            _stop_process(proc)

        timer = threading.Timer(timeout, on_timeout)
        timer.daemon = True
        timer.start()
        try:
            returncode: int | None = proc.wait()
        finally:
            timer.cancel()
        wall = time.monotonic() - m_start
        t_end = time.time()
        if timed_out.is_set():
            returncode = None
        for reader in readers:
            reader.join(timeout=10)
        with self._lock:
            self.procs.discard(proc)
        return CmdResult(
            cmd, returncode, wall, t_start, t_end, list(err), (out[0] if out else b"").decode("utf-8", "replace")
        )

    def nimctl_up(self, name: str, port: int, profile: Path, *extra: str, timeout: float = 180) -> CmdResult:
        with self._lock:
            if self.stop.is_set():  # the benchmark is being cleaned up: create nothing new
                raise KeyboardInterrupt("cleanup in progress")
            self.created_nimctl.add(name)
        return self.run(
            [*self.nimctl, "up", "--profile", str(profile), "--name", name, "--port", str(port), *extra],
            timeout=timeout,
        )

    def nimctl_down(self, name: str) -> bool:
        result = self.run([*self.nimctl, "down", "--name", name, "--timeout", "5"], timeout=60)
        if result.returncode == 0:
            with self._lock:
                self.created_nimctl.discard(name)
            return True
        log(f"`nimctl down --name {name}` failed ({result.returncode}): {result.tail()}")
        return False

    def running(self, name: str) -> bool:
        attrs = self.inspect(name)
        return bool(attrs) and attrs.get("State", {}).get("Status") == "running"

    def interfered(self, name: str, where: str) -> None:
        log(f"WARNING: {name} was removed by another process (e.g. a test's `nimctl down --all`) during {where}")
        with self._lock:
            self.interference.append({"name": name, "where": where, "at": time.time()})

    def ensure_up(self, name: str, port: int, profile: Path, where: str) -> None:
        """(Re)start a long-lived deployment of this run if someone else removed it."""
        if self.running(name):
            return
        self.interfered(name, where)
        result = self.nimctl_up(name, port, profile, "--no-smoke")
        if result.returncode != 0:
            raise RuntimeError(f"`nimctl up` of {name} exited {result.returncode}: {result.tail()}")

    def labels(self) -> dict[str, str]:
        return {BENCH_LABEL: "1", RUN_LABEL: self.run_id}

    def container_env(self, **extra: str) -> dict[str, str]:
        return {"NVIDIA_VISIBLE_DEVICES": "simulated", **extra}

    def docker_run(self, name: str, port: int, env: dict[str, str]) -> CmdResult:
        """NVIDIA's runbook: `docker run -d ...` (the docker CLI, as a user types it)."""
        with self._lock:
            if self.stop.is_set():  # the benchmark is being cleaned up: create nothing new
                raise KeyboardInterrupt("cleanup in progress")
            self.created_direct.add(name)
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
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if name in self.die_times:
                return self.die_times[name]
            time.sleep(0.02)
        return self.die_times.get(name)

    # -- cleanup -----------------------------------------------------------------------------

    def cleanup(self) -> None:
        self.stop.set()
        with self._lock:
            procs = list(self.procs)
        for proc in procs:
            if proc.poll() is None:
                log(f"stopping pid {proc.pid} ({shlex.join(proc.args[:3])} ...)")
                _stop_process(proc)
        # nimctl's containers: `nimctl down --name`, two at a time
        names = sorted(self.created_nimctl)
        if names:
            log(f"removing {len(names)} nimctl deployment(s) with `nimctl down --name`")
            _parallel([lambda n=n: self.nimctl_down(n) for n in names], workers=3)
        leftovers = [n for n in sorted(self.created_nimctl) if self.inspect(n) is not None]
        for name in leftovers:  # `nimctl down` failed: do not leave it running
            log(f"{name} is still there after `nimctl down`; removing it directly")
            self.remove(name)
        # the containers created directly (runbook, testcontainers): by name and by label, twice
        # (a worker thread may have been creating one while the first sweep ran)
        for sweep in range(2):
            for name in sorted(self.created_direct):
                self.remove(name)
            try:
                for summary in self.client.api.containers(all=True, filters={"label": f"{RUN_LABEL}={self.run_id}"}):
                    self.client.api.remove_container(summary["Id"], force=True)
            except Exception as exc:  # noqa: BLE001
                log(f"label sweep failed: {exc}")
            if sweep == 0:
                time.sleep(1.0)
        if self._events_stream is not None:
            try:
                self._events_stream.close()
            except Exception:  # noqa: BLE001, S110 - best effort at exit
                pass
        left = self.client.api.containers(all=True, filters={"name": f"nimctl-bench-{self.run_id}-"})
        if left:
            log(f"WARNING: containers left behind: {[c['Names'] for c in left]}")
        else:
            log("cleanup done: no container of this run is left")

    def remove_scratch(self, keep: bool) -> None:
        """The temp dir (profiles, cache, nimctl's failure logs): kept when something failed."""
        if keep:
            log(f"scratch files (nimctl's failure logs among them) kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _stop_process(proc: subprocess.Popen) -> None:
    """SIGINT first (nimctl then removes what it started), then SIGKILL after 15 s."""
    try:
        proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 15
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
    except ProcessLookupError:
        pass


def _parallel(jobs: Iterable[Callable[[], Any]], workers: int) -> list[Any]:
    """Run jobs in daemon threads, at most `workers` at once; exceptions are returned, not raised."""
    jobs = list(jobs)
    results: list[Any] = [None] * len(jobs)
    slots = threading.Semaphore(workers)

    def wrap(index: int, job: Callable[[], Any]) -> None:
        try:
            results[index] = job()
        except BaseException as exc:  # noqa: BLE001
            results[index] = exc
        finally:
            slots.release()

    threads = []
    for index, job in enumerate(jobs):
        slots.acquire()
        thread = threading.Thread(target=wrap, args=(index, job), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=0.5)  # short joins: Ctrl-C still reaches the main thread
    return results


# --------------------------------------------------------------------------------------------
# what the simulator's log says
# --------------------------------------------------------------------------------------------


def ready_at(log_text: str) -> float | None:
    match = READY_AT.search(log_text)
    return int(match.group(1)) / 1000.0 if match else None


def health_requests(log_text: str) -> tuple[int, int]:
    """(GETs of /v1/health/ready answered "not ready" before the first 200, all of them up to it)."""
    not_ready = total = 0
    for line in log_text.splitlines():
        match = HEALTH_LINE.search(line)
        if match:
            total += 1
            if match.group(1) == "200":
                break
            not_ready += 1
    return not_ready, total


def live_at(timestamped_log: str) -> float | None:
    """When the simulator's HTTP server started (its "Uvicorn running on" line, docker's timestamp)."""
    for line in timestamped_log.splitlines():
        stamp, _, text = line.partition(" ")
        if "Uvicorn running on" in text:
            return docker_time(stamp)
    return None


def docker_time(text: str | None) -> float | None:
    """Docker's RFC 3339 nanosecond timestamps → epoch seconds."""
    if not text or text.startswith("0001-"):
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    return datetime.fromisoformat(text).timestamp()


def started_at(attrs: dict[str, Any] | None) -> float | None:
    return docker_time((attrs or {}).get("State", {}).get("StartedAt"))


# --------------------------------------------------------------------------------------------
# the comparators
# --------------------------------------------------------------------------------------------


def http_status(url: str, timeout: float = 10.0) -> int | None:
    """`curl -s -o /dev/null -w '%{http_code}' URL`: the status, or None when nothing answered."""
    parts = url.split("/", 3)
    host, _, port = parts[2].partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80), timeout=timeout)
    try:
        conn.request("GET", "/" + parts[3], headers={"User-Agent": "curl/7.88.1", "Accept": "*/*"})
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def runbook_loop(url: str, interval: float, deadline: float, stop: threading.Event) -> tuple[float | None, int]:
    """until [ "$(curl ... $url)" = 200 ]; do sleep $interval; done — bounded by `deadline` (monotonic).

    Returns (epoch seconds when the loop ended with a 200, or None when the bound was hit; requests).
    """
    requests = 0
    while True:
        requests += 1
        if http_status(url) == 200:
            return time.time(), requests
        if time.monotonic() >= deadline or stop.is_set():
            return None, requests
        time.sleep(interval)


def _testcontainers() -> tuple[Any, Any]:
    from testcontainers.core.config import ConnectionMode
    from testcontainers.core.config import testcontainers_config as config
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    config.ryuk_disabled = True  # Ryuk is an image to pull; cleanup is ours
    config.tc_host_override = "127.0.0.1"  # traffic only to 127.0.0.1
    config.connection_mode_override = ConnectionMode.docker_host  # the published port, not a bridge IP
    return DockerContainer, HttpWaitStrategy


@dataclass
class TcOutcome:
    t_ready: float | None  # epoch seconds when start() returned
    t_raised: float | None  # epoch seconds when start() raised
    error: BaseException | None


def testcontainers_start(bench: Bench, name: str, port: int, env: dict[str, str], timeout: float) -> TcOutcome:
    DockerContainer, HttpWaitStrategy = _testcontainers()
    container = DockerContainer(
        bench.image,
        name=name,
        env={"NGC_API_KEY": PLACEHOLDER_KEY, **env},
        labels=bench.labels(),
        shm_size="2g",
        user=bench.uid_gid,
    )
    container.with_volume_mapping(str(bench.cache_dir), CACHE_MOUNT, "rw")
    container.ports[str(CONTAINER_PORT)] = ("127.0.0.1", port)  # docker-py's (ip, port) form
    container.waiting_for(HttpWaitStrategy(CONTAINER_PORT, READY_PATH).with_startup_timeout(timeout))
    with bench._lock:
        if bench.stop.is_set():  # the benchmark is being cleaned up: create nothing new
            raise KeyboardInterrupt("cleanup in progress")
        bench.created_direct.add(name)
    try:
        container.start()
        return TcOutcome(time.time(), None, None)
    except Exception as exc:  # noqa: BLE001 - TimeoutError is the expected "gave up"
        return TcOutcome(None, time.time(), exc)


# --------------------------------------------------------------------------------------------
# figure 1: readiness lag and health requests
# --------------------------------------------------------------------------------------------

LAG_TARGET = Target(50.0, 150.0, "median ≤ 50 ms, p95 ≤ 150 ms")
RATE_TARGET = Target(2.0, 2.0, "≤ 2 req/s")


def _wait_run(bench: Bench, tool: str, delay: str, timeout: float = 120) -> dict[str, Any]:
    """One start-up, waited for by `tool`. Returns the instants and the container's log facts."""
    name = bench.name(tool.replace(".", ""))
    port = bench.free_port()
    url = f"http://127.0.0.1:{port}{READY_PATH}"
    out: dict[str, Any] = {"name": name, "delay": delay}
    try:
        if tool == "nimctl":
            result = bench.nimctl_up(name, port, bench.profile(SIM_STARTUP_DELAY=delay), "--no-smoke", timeout=timeout)
            if result.returncode != 0:
                raise RuntimeError(f"nimctl up exited {result.returncode}: {result.tail()}")
            out["t_report"] = result.first(rf"^ready {re.escape(name)}: ")
            out["t_phase_ready"] = result.first(rf"^• {re.escape(name)}: ready$")
            out["t_exit"] = result.t_end
            out["wall_s"] = result.wall
            if out["t_report"] is None:
                raise RuntimeError(f"no 'ready {name}:' line on nimctl's stderr: {result.tail()}")
        elif tool.startswith("runbook-"):
            interval = float(tool.removeprefix("runbook-").removesuffix("s"))
            started = bench.docker_run(name, port, bench.container_env(SIM_STARTUP_DELAY=delay))
            if started.returncode != 0:
                raise RuntimeError(f"docker run exited {started.returncode}: {started.tail()}")
            t_ready, _ = runbook_loop(url, interval, time.monotonic() + timeout, bench.stop)
            if t_ready is None:
                raise RuntimeError(f"not ready within {timeout:.0f} s")
            out["t_report"] = t_ready
        elif tool == "testcontainers":
            outcome = testcontainers_start(bench, name, port, bench.container_env(SIM_STARTUP_DELAY=delay), timeout)
            if outcome.error is not None:
                raise RuntimeError(f"testcontainers: {type(outcome.error).__name__}: {str(outcome.error)[:200]}")
            out["t_report"] = outcome.t_ready
        else:
            raise ValueError(tool)
        text = bench.logs(name, timestamps=True)
        out["ready_at"] = ready_at(text)
        out["requests_not_ready"], out["requests"] = health_requests(text)
        out["live_at"] = live_at(text)
        out["started_at"] = started_at(bench.inspect(name))
        if out["ready_at"] is None:
            raise RuntimeError("no ready_at_ms= line in the container's log")
        return out
    finally:
        if tool == "nimctl":
            bench.nimctl_down(name)
        else:
            bench.remove(name)


def _add_rate(row: Row, run: dict[str, Any]) -> float:
    """Health requests per second while the server was live but not ready (its 503 answers)."""
    waited = run["ready_at"] - run["live_at"] if run.get("live_at") else 0.0
    if waited > 0:
        row.add(
            run["requests_not_ready"] / waited,
            requests_not_ready=run["requests_not_ready"],
            requests_total=run["requests"],
            live_but_loading_s=waited,
        )
    else:
        row.fail(f"no live/ready instants in the log of {run['name']}")
    return waited


def fig_readiness(bench: Bench, reps: int) -> list[Row]:
    fig = "1 readiness lag"
    delay = bench.args.delay_range
    lag = {tool: Row(fig, tool, "ms", target=LAG_TARGET if tool == "nimctl" else None) for tool in TOOLS_WAIT}
    rate = {
        tool: Row("1 health req/s while loading", tool, "req/s", target=RATE_TARGET if tool == "nimctl" else None)
        for tool in TOOLS_WAIT
    }
    for rep in range(reps):
        order = list(TOOLS_WAIT)
        random.shuffle(order)  # no tool always runs first or last
        for tool in order:
            try:
                run, failures = retried(lambda t=tool: _wait_run(bench, t, delay), f"fig 1 rep {rep + 1} {tool}")
                if failures:
                    lag[tool].extra.append({"retried_after": failures})
                    lag[tool].retries += 1
            except Exception as exc:  # noqa: BLE001
                log(f"fig 1 rep {rep + 1} {tool}: FAILED {exc}")
                lag[tool].fail(str(exc))
                rate[tool].fail(str(exc))
                continue
            value = (run["t_report"] - run["ready_at"]) * 1000
            details = {k: run.get(k) for k in ("name", "t_report", "ready_at", "t_phase_ready", "t_exit", "requests")}
            if run.get("t_phase_ready") is not None:
                details["phase_line_lag_ms"] = (run["t_phase_ready"] - run["ready_at"]) * 1000
            if run.get("t_exit") is not None:
                details["exit_lag_ms"] = (run["t_exit"] - run["ready_at"]) * 1000
            lag[tool].add(value, **details)
            waited = _add_rate(rate[tool], run)
            log(
                f"fig 1 rep {rep + 1}/{reps} {tool:14s} lag {value:7.1f} ms, "
                f"{run['requests_not_ready']} 'not ready' answers over {waited:.1f} s live-but-loading"
            )
    rows = [lag[t] for t in TOOLS_WAIT] + [rate[t] for t in TOOLS_WAIT]
    # a long wait: does nimctl keep to ~1 probe a second when nothing happens for a while?
    long_wait = bench.args.long_wait
    if long_wait > 0:
        row = Row("1 health req/s while loading", "nimctl", "req/s", target=RATE_TARGET, note=f"{long_wait:g} s wait")
        try:
            run, _ = retried(lambda: _wait_run(bench, "nimctl", f"{long_wait:g}"), "fig 1 long wait")
            waited = _add_rate(row, run)
            log(f"fig 1 long wait: nimctl got {run['requests_not_ready']} 'not ready' answers in {waited:.1f} s")
        except Exception as exc:  # noqa: BLE001
            row.fail(str(exc))
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------
# figure 2: crash during start-up
# --------------------------------------------------------------------------------------------

CRASH_TARGET = Target(1.0, 1.0, "≤ 1 s")


def _crash_nimctl(bench: Bench, crash_after: str) -> dict[str, Any]:
    name = bench.name("crash-nimctl")
    port = bench.free_port()
    try:
        result = bench.nimctl_up(
            name,
            port,
            bench.profile(SIM_STARTUP_DELAY="60"),
            "--no-smoke",
            "--env",
            f"SIM_CRASH_AFTER={crash_after}",
            timeout=120,
        )
        died = bench.die_time(name)
        if died is None:
            raise RuntimeError(f"no die event for {name} (nimctl exited {result.returncode}: {result.tail()})")
        if result.returncode == 0:
            raise RuntimeError("nimctl up reported success although the simulator crashed")
        t_error = result.first(r"^error: ") or result.t_end
        return {
            "name": name,
            "died_at": died,
            "t_gave_up": t_error,
            "t_exit": result.t_end,
            "returncode": result.returncode,
            "exit_after_die_s": result.t_end - died,
        }
    finally:
        bench.nimctl_down(name)


def _crash_comparator(bench: Bench, tool: str, crash_after: str, bound: float) -> dict[str, Any]:
    name = bench.name("crash-" + tool.replace(".", ""))
    port = bench.free_port()
    env = bench.container_env(SIM_STARTUP_DELAY="60", SIM_CRASH_AFTER=crash_after)
    budget = float(crash_after) + bound + 1.0  # from the start: covers the crash plus the bound
    try:
        if tool.startswith("runbook-"):
            interval = float(tool.removeprefix("runbook-").removesuffix("s"))
            started = bench.docker_run(name, port, env)
            if started.returncode != 0:
                raise RuntimeError(f"docker run exited {started.returncode}: {started.tail()}")
            t_ready, requests = runbook_loop(
                f"http://127.0.0.1:{port}{READY_PATH}", interval, time.monotonic() + budget, bench.stop
            )
            gave_up, error = (t_ready, "loop ended with a 200") if t_ready else (None, None)
        else:
            outcome = testcontainers_start(bench, name, port, env, timeout=budget)
            requests = None
            if outcome.error is None:
                gave_up, error = None, "start() returned although the container crashed"
            elif isinstance(outcome.error, TimeoutError):
                gave_up, error = None, None  # its own timeout, not the crash: it did not notice
            else:
                gave_up, error = outcome.t_raised, f"{type(outcome.error).__name__}: {str(outcome.error)[:160]}"
        attrs = bench.inspect(name)
        finished = docker_time((attrs or {}).get("State", {}).get("FinishedAt"))
        return {
            "name": name,
            "died_at": finished,
            "die_event_at": bench.die_times.get(name),
            "exit_code": (attrs or {}).get("State", {}).get("ExitCode"),
            "t_gave_up": gave_up,
            "how": error,
            "requests": requests,
        }
    finally:
        bench.remove(name)


def fig_crash(bench: Bench, reps: int) -> list[Row]:
    fig = "2 crash → gave up"
    bound = bench.args.crash_wait
    tools = ("nimctl", "runbook-1s", "runbook-5s", "testcontainers")
    rows = {t: Row(fig, t, "s", target=CRASH_TARGET if t == "nimctl" else None, bound_s=bound) for t in tools}
    for rep in range(reps):
        crash_after = f"{random.uniform(1.5, 3.5):.2f}"
        # nimctl alone (its timing matters); the comparators together (they only wait out the bound)
        try:
            run, failures = retried(lambda c=crash_after: _crash_nimctl(bench, c), f"fig 2 rep {rep + 1} nimctl")
            if failures:
                rows["nimctl"].retries += 1
                run["retried_after"] = failures
            value = run["t_gave_up"] - run["died_at"]
            rows["nimctl"].add(value, **run)
            log(f"fig 2 rep {rep + 1}/{reps} nimctl gave up {value:.3f} s after the exit (crash at {crash_after} s)")
        except Exception as exc:  # noqa: BLE001
            log(f"fig 2 rep {rep + 1} nimctl: FAILED {exc}")
            rows["nimctl"].fail(str(exc))
        others = [t for t in tools if t != "nimctl"]
        results = _parallel(
            [lambda t=t, c=crash_after: _crash_comparator(bench, t, c, bound) for t in others], workers=3
        )
        for tool, run in zip(others, results):
            row = rows[tool]
            if isinstance(run, BaseException):
                if isinstance(run, KeyboardInterrupt):
                    raise run
                row.fail(str(run))
                log(f"fig 2 rep {rep + 1} {tool}: FAILED {run}")
                continue
            if run["died_at"] is None:
                row.fail(f"the container did not exit (state {run})")
                continue
            gave_up = run["t_gave_up"]
            if gave_up is not None and gave_up - run["died_at"] <= bound:
                row.add(gave_up - run["died_at"], **run)
                log(f"fig 2 rep {rep + 1}/{reps} {tool} gave up {gave_up - run['died_at']:.3f} s after the exit")
            else:
                row.not_noticed += 1
                row.extra.append({"not_noticed": True, **run})
                log(f"fig 2 rep {rep + 1}/{reps} {tool}: did not notice the exit within {bound:.0f} s")
    return [rows[t] for t in tools]


# --------------------------------------------------------------------------------------------
# figure 3: unchanged `up` on a running, ready deployment
# --------------------------------------------------------------------------------------------


def _identity(attrs: dict[str, Any] | None) -> tuple:
    state = (attrs or {}).get("State", {})
    return (attrs or {}).get("Id"), state.get("StartedAt"), (attrs or {}).get("RestartCount"), state.get("Status")


def fig_unchanged_up(bench: Bench, reps: int) -> list[Row]:
    fig = "3 unchanged up"
    wall = Row(fig, "nimctl up --no-smoke", "s", target=Target(1.0, 1.0, "≤ 1 s"))
    wall_smoke = Row(fig, "nimctl up (default: quick smoke)", "s", note="informational")
    restarts = Row(fig + " restarts", "nimctl up (both variants)", "restarts", target=Target(0, 0, "0"))
    name, port = bench.name("unchanged"), bench.free_port()
    profile = bench.profile(SIM_STARTUP_DELAY="0.5")
    first = bench.nimctl_up(name, port, profile, "--no-smoke")
    try:
        if first.returncode != 0:
            raise RuntimeError(f"setup `nimctl up` exited {first.returncode}: {first.tail()}")
        for i in range(4 * reps):
            for row, extra in ((wall, ("--no-smoke",)), (wall_smoke, ())):
                bench.ensure_up(name, port, profile, "figure 3")
                before = _identity(bench.inspect(name))
                result = bench.nimctl_up(name, port, profile, *extra)
                after = _identity(bench.inspect(name))
                action = up_action(result, name)
                if action == "create":  # it had vanished before nimctl looked: not an unchanged `up`
                    bench.interfered(name, "figure 3 (sample discarded)")
                    continue
                if result.returncode != 0:
                    if not bench.running(name):
                        bench.interfered(name, "figure 3 (sample discarded)")
                        continue
                    row.fail(f"exited {result.returncode}: {result.tail()}")
                    continue
                changed = int(before != after)
                row.add(result.wall, action=action, before=before, after=after)
                restarts.add(changed, variant=row.tool, action=action, before=before, after=after)
            log(
                f"fig 3 {i + 1}/{4 * reps}: --no-smoke {wall.cell(wall.samples[-1] if wall.samples else None)}, "
                f"with smoke {wall_smoke.cell(wall_smoke.samples[-1] if wall_smoke.samples else None)}"
            )
    except Exception as exc:  # noqa: BLE001
        log(f"fig 3: FAILED {exc}")
        wall.fail(str(exc))
    finally:
        bench.nimctl_down(name)
    # restarts: per run 0 or 1 (container Id/StartedAt/RestartCount/status changed around the run)
    restarts.note = f"{sum(restarts.samples):.0f} restart(s) in {len(restarts.samples)} runs"
    return [wall, wall_smoke, restarts]


# --------------------------------------------------------------------------------------------
# figure 4: whole `up` vs `docker run -d` + a 0.1 s loop
# --------------------------------------------------------------------------------------------


def _whole_nimctl(bench: Bench, delay: str) -> float:
    name, port = bench.name("whole-nimctl"), bench.free_port()
    try:
        result = bench.nimctl_up(name, port, bench.profile(SIM_STARTUP_DELAY=delay), "--no-smoke")
        if result.returncode != 0:
            raise RuntimeError(f"nimctl up exited {result.returncode}: {result.tail()}")
        return result.wall
    finally:
        bench.nimctl_down(name)


def _whole_runbook(bench: Bench, delay: str) -> float:
    name, port = bench.name("whole-runbook"), bench.free_port()
    try:
        started = time.monotonic()
        run = bench.docker_run(name, port, bench.container_env(SIM_STARTUP_DELAY=delay))
        if run.returncode != 0:
            raise RuntimeError(f"docker run exited {run.returncode}: {run.tail()}")
        t_ready, _ = runbook_loop(f"http://127.0.0.1:{port}{READY_PATH}", 0.1, time.monotonic() + 120, bench.stop)
        if t_ready is None:
            raise RuntimeError("not ready within 120 s")
        return time.monotonic() - started
    finally:
        bench.remove(name)


def fig_whole_up(bench: Bench, reps: int) -> list[Row]:
    fig = "4 whole up"
    # the sim profile's own start-up delay (configs/sim.toml), the same for both sides
    delay = str(tomllib.loads(SIM_PROFILE.read_text()).get("env", {}).get("SIM_STARTUP_DELAY", "2"))
    nim = Row(fig, "nimctl up --no-smoke", "s", note=f"SIM_STARTUP_DELAY={delay}")
    book = Row(fig, "runbook-0.1s (docker run -d + loop)", "s", note=f"SIM_STARTUP_DELAY={delay}")
    ratio = Row(fig + " ratio", "nimctl / runbook-0.1s", "x", target=Target(1.1, 1.1, "≤ 1.1×"))
    log("fig 4: warm-up (untimed)")
    for job in (_whole_nimctl, _whole_runbook):
        try:
            job(bench, delay)
        except Exception as exc:  # noqa: BLE001
            log(f"fig 4 warm-up: {exc}")
    for rep in range(reps):
        order = [(_whole_nimctl, nim), (_whole_runbook, book)]
        if rep % 2:
            order.reverse()  # alternate which one runs first
        walls: dict[str, float] = {}
        for job, row in order:
            try:
                walls[row.tool], failures = retried(lambda j=job: j(bench, delay), f"fig 4 rep {rep + 1} {row.tool}")
                row.add(walls[row.tool], **({"retried_after": failures} if failures else {}))
                row.retries += bool(failures)
            except Exception as exc:  # noqa: BLE001
                row.fail(str(exc))
                log(f"fig 4 rep {rep + 1} {row.tool}: FAILED {exc}")
        if len(walls) == 2:
            ratio.add(walls[nim.tool] / walls[book.tool], nimctl_s=walls[nim.tool], runbook_s=walls[book.tool])
            log(f"fig 4 rep {rep + 1}/{reps}: nimctl {walls[nim.tool]:.2f} s, runbook {walls[book.tool]:.2f} s")
        else:
            ratio.fail("one side failed")
    return [nim, book, ratio]


# --------------------------------------------------------------------------------------------
# figure 5: CLI start
# --------------------------------------------------------------------------------------------


def fig_cli_start(bench: Bench, reps: int) -> list[Row]:
    fig = "5 CLI start"
    samples = 4 * reps
    count = bench.args.status_deployments
    help_row = Row(fig, "nimctl --help", "s", target=Target(0.3, 0.3, "≤ 300 ms"))
    status_row = Row(fig, "nimctl status", "s", target=Target(0.5, 0.5, "≤ 500 ms"))
    bench.run([*bench.nimctl, "--help"])  # warm-up: bytecode caches, page cache
    for i in range(samples):
        result = bench.run([*bench.nimctl, "--help"], timeout=60)
        if result.returncode == 0 and "Usage" in result.stdout:
            help_row.add(result.wall)
        else:
            help_row.fail(f"exited {result.returncode}")
    log(f"fig 5: --help median {help_row.cell(help_row.median)}")

    ports = {bench.name("status"): bench.free_port() for _ in range(count)}
    names = list(ports)
    profile = bench.profile(SIM_STARTUP_DELAY="0")
    log(f"fig 5: starting {count} deployments for `nimctl status`")
    ups = _parallel([lambda n=n: bench.nimctl_up(n, ports[n], profile, "--no-smoke") for n in names], workers=2)
    try:
        failed = [n for n, r in zip(names, ups) if isinstance(r, BaseException) or r.returncode != 0]
        if failed:
            raise RuntimeError(f"{len(failed)} of the {count} deployments did not start")

        def listed() -> tuple[int, int, int]:
            listing = bench.run([*bench.nimctl, "status", "--json"], timeout=60)
            rows = json.loads(listing.stdout) if listing.returncode == 0 else []
            ours = [r for r in rows if r.get("name") in ports]
            return len(ours), sum(1 for r in ours if r.get("ready")), len(rows)

        bench.run([*bench.nimctl, "status"])  # warm-up
        for i in range(samples):
            for n in names:
                bench.ensure_up(n, ports[n], profile, "figure 5")
            result = bench.run([*bench.nimctl, "status"], timeout=60)
            if result.returncode == 0:
                status_row.add(result.wall)
            else:
                status_row.fail(f"exited {result.returncode}: {result.tail()}")
        ours, ready, total = listed()
        status_row.note = f"{ours} deployments of this run ({ready} ready) among {total} listed"
        log(f"fig 5: status median {status_row.cell(status_row.median)} ({status_row.note})")
    except Exception as exc:  # noqa: BLE001
        status_row.fail(str(exc))
        log(f"fig 5 status: FAILED {exc}")
    finally:
        _parallel([lambda n=n: bench.nimctl_down(n) for n in names], workers=3)
    return [help_row, status_row]


# --------------------------------------------------------------------------------------------
# figure 6: smoke suites
# --------------------------------------------------------------------------------------------


def fig_smoke(bench: Bench, reps: int) -> list[Row]:
    from nimctl.smoke import ALL_CHECKS, QUICK_CHECKS, run_checks

    fig = "6 smoke"
    quick_target, full_target = Target(2.0, 2.0, "≤ 2 s"), Target(5.0, 5.0, "≤ 5 s")
    rows = {
        "cli-quick": Row(fig, "nimctl smoke --checks quick", "s", target=quick_target),
        "cli-all": Row(fig, "nimctl smoke --checks all", "s", target=full_target),
        "api-quick": Row(fig, "run_checks(QUICK_CHECKS), in-process", "s", target=quick_target),
        "api-all": Row(fig, "run_checks(ALL_CHECKS), in-process", "s", target=full_target),
    }
    name, port = bench.name("smoke"), bench.free_port()
    url = f"http://127.0.0.1:{port}"
    profile = bench.profile(SIM_STARTUP_DELAY="0.5")
    try:
        first = bench.nimctl_up(name, port, profile, "--no-smoke")
        if first.returncode != 0:
            raise RuntimeError(f"setup `nimctl up` exited {first.returncode}: {first.tail()}")
        run_checks(base_url=url, checks=QUICK_CHECKS)  # warm-up: imports openai once in this process

        def cli(suite: str) -> tuple[bool, float, str]:
            result = bench.run([*bench.nimctl, "smoke", "--url", url, "--checks", suite], timeout=120)
            return result.returncode == 0, result.wall, f"exited {result.returncode}: {result.tail()}"

        def api(checks: tuple[str, ...]) -> tuple[bool, float, str]:
            started = time.monotonic()
            report = run_checks(base_url=url, checks=checks)
            elapsed = time.monotonic() - started
            failed = ", ".join(r.name for r in report.results if not r.passed)
            return report.ok, elapsed, f"a check failed: {failed}"

        jobs = {
            "cli-quick": lambda: cli("quick"),
            "cli-all": lambda: cli("all"),
            "api-quick": lambda: api(QUICK_CHECKS),
            "api-all": lambda: api(ALL_CHECKS),
        }
        for i in range(4 * reps):
            for key, job in jobs.items():
                bench.ensure_up(name, port, profile, "figure 6")
                ok, elapsed, why = job()
                if ok:
                    rows[key].add(elapsed)
                elif not bench.running(name):
                    bench.interfered(name, f"figure 6 {key} (sample discarded)")
                else:
                    rows[key].fail(why)
            log(
                f"fig 6 {i + 1}/{4 * reps}: "
                + ", ".join(f"{k} {r.samples[-1]:.2f} s" for k, r in rows.items() if r.samples)
            )
    except Exception as exc:  # noqa: BLE001
        log(f"fig 6: FAILED {exc}")
        rows["cli-quick"].fail(str(exc))
    finally:
        bench.nimctl_down(name)
    return list(rows.values())


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------

RUNNERS: dict[str, Callable[[Bench, int], list[Row]]] = {
    "readiness-lag": fig_readiness,
    "crash": fig_crash,
    "unchanged-up": fig_unchanged_up,
    "whole-up": fig_whole_up,
    "cli-start": fig_cli_start,
    "smoke": fig_smoke,
}


def markdown(rows: list[Row]) -> str:
    lines = ["| figure | tool | median | p95 | target | met? |", "| --- | --- | --- | --- | --- | --- |"]
    lines.extend(row.markdown() for row in rows)
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}
    try:
        import docker

        version = docker.from_env().version()
        info["docker_engine"] = version.get("Version")
    except Exception as exc:  # noqa: BLE001
        info["docker_engine"] = f"unknown ({exc})"
    for package in ("nimctl", "testcontainers", "docker"):
        try:
            from importlib.metadata import version as pkg_version

            info[package] = pkg_version(package)
        except Exception:  # noqa: BLE001, S110 - a missing version is not worth failing for
            pass
    return info


def _load(bench: Bench) -> dict[str, Any]:
    """Noise indicators: load average and the containers of other users running right now."""
    try:
        others = [
            c["Names"][0].lstrip("/")
            for c in bench.client.api.containers(filters={"status": "running"})
            if not c["Names"][0].lstrip("/").startswith(f"nimctl-bench-{bench.run_id}-")
        ]
    except Exception:  # noqa: BLE001
        others = []
    return {"loadavg": os.getloadavg(), "foreign_running_containers": others, "at": time.time()}


def _git_revision() -> str | None:
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], check=False, capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "nimctl"],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return rev.stdout.strip() + ("-dirty(nimctl/)" if dirty.stdout.strip() else "")
    except Exception:  # noqa: BLE001
        return None


def _relative(path: str) -> str:
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark nimctl against the NVIDIA runbook (docker run + curl loop) and testcontainers.",
        epilog="figures: " + ", ".join(FIGURES) + ". Exit status: 0 when every measurement was taken "
        "(whether or not targets are met), 1 when some failed, 130 when interrupted.",
    )
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each start-up scenario (default 5)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every sample as JSON to FILE")
    parser.add_argument("--only", default=",".join(FIGURES), help="comma list of figures to run (default: all)")
    parser.add_argument("--crash-wait", type=float, default=30.0, help="figure 2: seconds a tool gets to notice (30)")
    parser.add_argument(
        "--long-wait",
        type=float,
        default=20.0,
        help="figure 1: seconds of the long wait for nimctl's request rate (20; 0: skip)",
    )
    parser.add_argument("--delay-range", default="2-6", help="figure 1: SIM_STARTUP_DELAY range (default 2-6)")
    parser.add_argument(
        "--status-deployments", type=int, default=10, help="figure 5: deployments running during `nimctl status` (10)"
    )
    parser.add_argument(
        "--nimctl",
        metavar="COMMAND",
        help="the nimctl command to measure (default: the `nimctl` next to this interpreter), "
        "e.g. a wrapper around a patched copy, to measure a proposed fix",
    )
    parser.add_argument("--seed", type=int, help="random seed (start-up delays are drawn by the simulator)")
    args = parser.parse_args(argv)
    args.figures = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = [f for f in args.figures if f not in FIGURES]
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; known: {', '.join(FIGURES)}")
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.seed is not None:
        random.seed(args.seed)

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # Ctrl-C even when started in the background of a script (which ignores SIGINT); the children
    # then get the default action back on exec, so nimctl too cleans up after an interrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    started = time.monotonic()
    command = shlex.join([_relative(sys.executable), *sys.argv])
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "reps": args.reps,
        "figures_run": args.figures,
        "machine": machine(),
        "nimctl_command": args.nimctl or "(the nimctl next to the interpreter)",
        "git": _git_revision(),
        "complete": False,
        "rows": [],
    }
    rows: list[Row] = []
    bench = Bench(args)
    report["run_id"] = bench.run_id
    interrupted = False
    try:
        bench.prepare()
        report["image"] = {"reference": bench.image, "id": bench.image_id}
        for figure in args.figures:
            log(f"=== {figure} (reps {args.reps}) ===")
            report.setdefault("load", {})[figure] = {"start": _load(bench)}
            t0 = time.monotonic()
            rows.extend(RUNNERS[figure](bench, args.reps))
            report["load"][figure]["end"] = _load(bench)
            log(f"=== {figure} done in {time.monotonic() - t0:.0f} s ===")
        report["complete"] = True
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: cleaning up")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # let the cleanup finish
        bench.cleanup()
        report["seconds"] = round(time.monotonic() - started, 1)
        report["interference"] = bench.interference
        report["rows"] = [row.to_dict() for row in rows]
        report["figures"] = {
            figure: [row.to_dict() for row in rows if row.figure.split(" ", 1)[0] == str(FIGURES.index(figure) + 1)]
            for figure in args.figures
        }
        if args.json:
            args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
            log(f"wrote {args.json}")
    print(markdown(rows))
    log(f"total {report['seconds']:.0f} s")
    failed = [f"{row.figure} / {row.tool}" for row in rows if row.errors]
    bench.remove_scratch(keep=bool(failed) or interrupted)
    if interrupted:
        return 130
    if failed:  # a measurement could not be taken (a missed target is a result, not a failure)
        log(f"measurements failed in: {'; '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
