"""The container's entry point (`python3.11 -u -m sim`): check the environment like a NIM, then start.

Refusals are one ERROR line on stderr and exit 1 (a model-free source that cannot be obtained: the
NIM's own ERROR lines, exit 1); SIGTERM/SIGINT exit 0 at once; a simulated crash
exits with SIM_CRASH_CODE.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

from . import profiles
from .checks import first_startup_problem
from .commands import run_command
from .config import SimConfig
from .logs import SimLog
from .model_source import check_model_source, is_model_source
from .startup import SimHandle


def _refuse(reason: str) -> int:
    SimLog(sys.stderr).error("nim_startup.py:88", f"Refusing to start: {reason}")
    return 1


def _exit_now(code: int) -> None:
    # os._exit: immediate, like a real process dying; flush first so the last log lines reach docker
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _install_signal_handlers(log: SimLog) -> None:
    def on_signal(signum: int, _frame: Any) -> None:
        log.info("api_server.py:1900", f"Received {signal.Signals(signum).name}, shutting down")
        _exit_now(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def main() -> int:
    argv = sys.argv[1:]
    # a model-free NIM takes its model as the first argument too (before NIM_MODEL_PATH)
    model_argument = argv[0] if argv and is_model_source(argv[0]) else None
    try:
        cfg = SimConfig.from_env(os.environ, model_path=model_argument)
    except ValueError as err:
        return _refuse(f"bad configuration: {err}")
    if model_argument is None:
        command_exit = run_command(cfg, argv)
        if command_exit is not None:
            return command_exit
    problem = first_startup_problem(cfg)
    if problem:
        return _refuse(problem)
    if cfg.model_profile and profiles.select(cfg) is None:  # the NIM's own refusal, its own words
        SimLog(sys.stderr).error("actions.py:120", profiles.no_match_line(cfg.model_profile))
        return 1
    if cfg.model_free:
        source_problem = check_model_source(cfg)
        if source_problem is not None:  # the download (or vLLM's model check) failed: its own words
            errors = SimLog(sys.stderr)
            for line in source_problem.lines:
                errors.error(source_problem.origin, line)
            return 1

    log = SimLog(sys.stdout)
    _install_signal_handlers(log)
    try:
        SimHandle(cfg, log, on_exit=_exit_now).start("0.0.0.0", cfg.port, announce=True)
    except OSError as err:
        return _refuse(f"cannot listen on port {cfg.port}: {err.strerror or err}")
    while True:  # the HTTP, start-up and timer threads do the rest; signals end the process
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
