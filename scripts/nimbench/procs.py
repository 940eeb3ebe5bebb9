"""Child processes whose stderr lines are timestamped as they arrive, and a bounded thread pool."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.nimbench.progress import log


@dataclass
class CmdResult:
    cmd: list[str]
    returncode: int | None  # None: killed at its timeout
    wall: float  # seconds from just before Popen to the process's exit
    t_start: float  # epoch seconds
    t_end: float
    stderr: list[tuple[float, str]]  # (epoch seconds when the line arrived, line)
    stdout: str
    cpu_at_line: list[float | None] = field(default_factory=list)  # the child's CPU seconds as each line arrived

    def cpu_share(self, start_pattern: str, end_pattern: str) -> float | None:
        """The child's CPU use between two of its stderr lines, in % of one core (from /proc/<pid>/stat)."""
        marks = [(stamp, cpu, line) for (stamp, line), cpu in zip(self.stderr, self.cpu_at_line, strict=False)]
        start = next(((t, c) for t, c, line in marks if re.search(start_pattern, line)), None)
        end = next(((t, c) for t, c, line in marks if re.search(end_pattern, line)), None)
        if start is None or end is None or start[1] is None or end[1] is None or end[0] <= start[0]:
            return None
        return 100.0 * (end[1] - start[1]) / (end[0] - start[0])

    def first(self, pattern: str) -> float | None:
        """When the first stderr line matching `pattern` arrived."""
        regex = re.compile(pattern)
        for stamp, line in self.stderr:
            if regex.search(line):
                return stamp
        return None

    def tail(self, lines: int = 8) -> str:
        return " | ".join(line for _, line in self.stderr[-lines:])

    def json(self) -> Any:
        """The JSON document on stdout (`--json`)."""
        try:
            return json.loads(self.stdout)
        except ValueError:
            raise RuntimeError(f"no JSON on stdout of {shlex.join(self.cmd[:3])} ...: {self.stdout[:200]!r}") from None


class Children:
    """Runs commands and remembers the running ones, so cleanup can stop them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()

    def run(self, cmd: list[str], env: dict[str, str], timeout: float = 180) -> CmdResult:
        err: list[tuple[float, str]] = []
        cpu: list[float | None] = []
        out: list[bytes] = []
        t_start = time.time()
        m_start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with self._lock:
            self._running.add(proc)
        readers = [
            threading.Thread(target=_read_lines, args=(proc.stderr, err, proc.pid, cpu), daemon=True),
            threading.Thread(target=_read_all, args=(proc.stdout, out), daemon=True),
        ]
        for reader in readers:
            reader.start()
        # A blocking wait: Popen.wait(timeout=...) polls with sleeps of up to 50 ms, which would
        # round every wall time up to the next 50 ms step. The timeout is a timer instead.
        timed_out = threading.Event()

        def on_timeout() -> None:
            timed_out.set()
            stop_process(proc)

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
            self._running.discard(proc)
        stdout = (out[0] if out else b"").decode("utf-8", "replace")
        return CmdResult(cmd, returncode, wall, t_start, t_end, list(err), stdout, list(cpu))

    def stop_all(self) -> None:
        with self._lock:
            procs = list(self._running)
        for proc in procs:
            if proc.poll() is None:
                log(f"stopping pid {proc.pid} ({shlex.join(proc.args[:3])} ...)")
                stop_process(proc)


def _read_lines(stream: Any, sink: list[tuple[float, str]], pid: int, cpu: list[float | None]) -> None:
    for raw in iter(stream.readline, b""):
        cpu.append(cpu_seconds(pid))  # sampled first: the line's own handling is not the child's CPU
        sink.append((time.time(), raw.decode("utf-8", "replace").rstrip("\r\n")))
    stream.close()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a running process (all its threads), from /proc/<pid>/stat; None once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": field 3 is state
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _read_all(stream: Any, sink: list[bytes]) -> None:
    sink.append(stream.read())
    stream.close()


def stop_process(proc: subprocess.Popen) -> None:
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


def parallel(jobs: Iterable[Callable[[], Any]], workers: int) -> list[Any]:
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
