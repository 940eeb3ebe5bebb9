"""The plugin's bookkeeping: who uses a deployment, whether this run started it, who removes it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from nimctl.errors import ContainerExited
from nimctl.pytest_plugin import (
    ShareState,
    acquire,
    failure_text,
    finish,
    openai_base,
    release,
    shared_state,
    state_path,
)


def test_the_run_started_it_when_any_user_created_started_or_recreated_it():
    state = ShareState()
    acquire(state, "create")
    acquire(state, "noop")  # a second worker finds it running
    assert (state.users, state.started) == (2, True)
    reused = ShareState()
    acquire(reused, "noop")
    assert reused.started is False
    for action in ("start", "recreate"):
        started = ShareState()
        acquire(started, action)
        assert started.started


def test_the_last_user_out_removes_what_the_run_started():
    state = ShareState()
    acquire(state, "create")
    acquire(state, "noop")
    assert release(state, keep=False, controller_waits=False) is False  # one still uses it
    assert release(state, keep=False, controller_waits=False) is True
    assert state.users == 0


@pytest.mark.parametrize(
    ("action", "keep", "controller_waits"),
    [("noop", False, False), ("create", True, False), ("create", False, True)],
)
def test_nothing_is_removed_when_reused_kept_or_left_to_the_controller(action, keep, controller_waits):
    state = ShareState()
    acquire(state, action)
    assert release(state, keep=keep, controller_waits=controller_waits) is False


def test_the_controller_removes_what_the_run_started_unless_kept():
    started = ShareState(users=1, started=True)  # a worker that died without its teardown
    assert finish(started, keep=False) is True
    assert finish(started, keep=True) is False
    assert finish(ShareState(started=False), keep=False) is False


def test_state_persists_and_a_failure_inside_the_block_is_still_written(tmp_path):
    path = state_path(tmp_path / "run", "nim/with:odd name")
    assert path.parent == tmp_path / "run" and "/" not in path.name and " " not in path.name
    with shared_state(path) as state:
        acquire(state, "create")
    with pytest.raises(RuntimeError), shared_state(path) as state:
        state.error = "nimctl could not provide the NIM"
        raise RuntimeError
    with shared_state(path) as state:
        assert (state.users, state.started, state.error) == (1, True, "nimctl could not provide the NIM")


def test_the_state_lock_serialises_users(tmp_path):
    path = state_path(tmp_path, "nim")
    order: list[str] = []
    holding = threading.Event()

    def first():
        with shared_state(path) as state:
            holding.set()
            time.sleep(0.3)  # a start in progress
            acquire(state, "create")
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(5)
    with shared_state(path) as state:
        order.append(f"second sees {state.users} user")
    thread.join()
    assert order == ["first done", "second sees 1 user"]


def test_failure_text_carries_the_exit_code_meaning_the_log_tail_and_the_hint():
    error = ContainerExited("nim exited with code 3 during start-up", hint="full log: /x.log", details=["CUDA error"])
    text = failure_text(error)
    assert text.splitlines() == [
        "nimctl could not provide the NIM (exit code 5: the container exited during start-up)",
        "error: nim exited with code 3 during start-up",
        "CUDA error",
        "hint: full log: /x.log",
    ]


def test_openai_base_ends_in_v1():
    assert openai_base("http://h:1") == "http://h:1/v1"
    assert openai_base("http://h:1/v1/") == "http://h:1/v1"


def test_loading_the_plugin_imports_neither_docker_nor_openai():
    code = (
        "import sys, nimctl.pytest_plugin; "
        "print(sorted(m for m in ('docker', 'openai', 'pydantic_settings') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_plugin_is_registered_through_the_pytest11_entry_point():
    from importlib.metadata import entry_points

    (entry,) = [e for e in entry_points(group="pytest11") if e.name == "nimctl"]
    assert entry.value == "nimctl.pytest_plugin"
