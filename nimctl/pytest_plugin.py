"""pytest plugin (entry point `nimctl`): a NIM as a session fixture, converged like `nimctl up`.

    def test_answers(nim, nim_client):
        reply = nim_client.chat.completions.create(model=nim.model, messages=[...])

A running, ready deployment with the same configuration is reused untouched; otherwise one is
started and waited for. At the end only what this test run started is removed (unless
`--nim-keep`). With pytest-xdist the workers share one deployment: a JSON file per deployment
in a directory of this run, guarded by an fcntl lock, counts the users and remembers whether
the run started it; the controller, the last process out, removes it.

Nothing heavy is imported at plugin load (docker, openai, pydantic load when `nim` is first
requested), and a session that does not request `nim` starts nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from nimctl.errors import ExitCode, NimctlError

STARTING_ACTIONS = ("create", "recreate", "start")  # UpResult.action values that mean "this run started it"
RUN_DIR_KEY = "nimctl_run_dir"  # in xdist's workerinput
_run_dir_key = pytest.StashKey[Path]()
_controller_key = pytest.StashKey[bool]()

EXIT_MEANINGS = {
    ExitCode.INTERNAL: "internal error in nimctl",
    ExitCode.USAGE: "usage or configuration error",
    ExitCode.ENGINE_UNREACHABLE: "the Docker engine is unreachable",
    ExitCode.PULL_FAILED: "the image pull failed",
    ExitCode.CONTAINER_EXITED: "the container exited during start-up",
    ExitCode.READINESS_TIMEOUT: "the NIM was not ready in time",
    ExitCode.SMOKE_FAILED: "a smoke check failed",
    ExitCode.PREFLIGHT_FAILED: "a preflight check failed",
    ExitCode.BUSY: "another nimctl is still starting the same container",
    ExitCode.INTERRUPTED: "interrupted",
}


@dataclass(frozen=True)
class Nim:
    """What the `nim` fixture gives: the OpenAI base URL (ending in /v1), the model id, the container."""

    url: str
    model: str
    name: str | None  # None with --nim-url: nimctl manages nothing
    started: bool = False  # this test run started it (and will remove it unless --nim-keep)


# --- shared state (one JSON file per deployment and test run) --------------------------------


@dataclass
class ShareState:
    users: int = 0  # processes of this run using the deployment now
    started: bool = False  # this run started it
    name: str = ""
    url: str = ""
    model: str = ""
    error: str = ""  # a failed start, so other workers report it instead of waiting all over again


def acquire(state: ShareState, action: str) -> None:
    """One more user, after `up` converged with `action`."""
    state.users += 1
    state.started = state.started or action in STARTING_ACTIONS


def release(state: ShareState, *, keep: bool, controller_waits: bool) -> bool:
    """One user fewer; True when this process must remove the deployment.

    The last user out removes what the run started, unless kept or an xdist controller (which
    outlives every worker) will do it at the very end.
    """
    state.users = max(0, state.users - 1)
    return state.users == 0 and state.started and not keep and not controller_waits


def finish(state: ShareState, *, keep: bool) -> bool:
    """At the controller's end every worker is gone: remove what the run started, unless kept."""
    return state.started and not keep


@contextmanager
def shared_state(path: Path) -> Iterator[ShareState]:
    """The state at `path` under an exclusive fcntl lock; written back when the block ends, even by
    an exception (a recorded start failure must reach the other workers)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # blocks while another worker starts the NIM
        try:
            state = ShareState(**json.loads(path.read_text())) if path.exists() else ShareState()
            try:
                yield state
            finally:
                path.write_text(json.dumps(asdict(state)))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def state_path(run_dir: Path, name: str) -> Path:
    return run_dir / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".json")


def _run_dir(config: pytest.Config) -> Path:
    """This test run's directory: the controller's under xdist, else this process's own."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput and RUN_DIR_KEY in workerinput:
        return Path(workerinput[RUN_DIR_KEY])
    if _run_dir_key not in config.stash:
        base = Path(tempfile.gettempdir()) / f"nimctl-pytest-{os.getuid()}"
        config.stash[_run_dir_key] = base / uuid.uuid4().hex
    return config.stash[_run_dir_key]


# --- hooks ---------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nimctl", "NVIDIA NIM fixture (nimctl)")
    group.addoption(
        "--nim-profile",
        metavar="NAME|PATH",
        help="nimctl profile for the `nim` fixture (default: NIMCTL_PROFILE, else nimctl's default).",
    )
    group.addoption(
        "--nim-url",
        metavar="URL",
        help="Use this already running endpoint (server root or .../v1); nimctl starts and stops nothing.",
    )
    group.addoption("--nim-keep", action="store_true", help="Leave a NIM this run started running at the end.")
    group.addoption(
        "--nim-timeout", type=float, metavar="S", help="Seconds to wait for readiness (default: the setting)."
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: every worker shares this run's state directory."""
    node.workerinput[RUN_DIR_KEY] = str(_run_dir(node.config))
    node.config.stash[_controller_key] = True


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The xdist controller, out last, removes what its workers started; the run's state goes."""
    config = session.config
    if hasattr(config, "workerinput") or _run_dir_key not in config.stash:
        return
    run_dir = config.stash[_run_dir_key]
    if not run_dir.is_dir():
        return  # nothing requested `nim`
    if config.stash.get(_controller_key, False):
        from nimctl import api
        from nimctl.settings import load_settings

        settings = load_settings({}, profile=config.getoption("nim_profile")).settings  # the workers' engine
        for path in sorted(run_dir.glob("*.json")):
            with shared_state(path) as state:
                if finish(state, keep=config.getoption("nim_keep")):
                    api.down(state.name, timeout=settings.stop_timeout, engine_url=settings.engine_url)
                    state.started = False
    shutil.rmtree(run_dir, ignore_errors=True)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def nim(request: pytest.FixtureRequest) -> Iterator[Nim]:
    """A ready NIM for the whole session (see the module docstring); errors carry nimctl's report."""
    config = request.config
    url = config.getoption("nim_url")
    if url:
        yield _external(url)
        return
    from nimctl.settings import load_settings

    profile = config.getoption("nim_profile")
    timeout = config.getoption("nim_timeout")
    try:
        settings = load_settings({"timeout": timeout}, profile=profile).settings
    except NimctlError as error:
        pytest.fail(failure_text(error), pytrace=False)
    name = settings.container_name
    path = state_path(_run_dir(config), name)
    console = _progress_console(config)
    with shared_state(path) as state:
        if state.error:
            pytest.fail(state.error, pytrace=False)
        endpoint, root_url = _converge(profile, timeout, state, console)
    try:
        from nimctl import api

        with api.reach(root_url, engine_url=settings.engine_url) as local:  # a tunnel to a remote engine's NIM
            yield replace(endpoint, url=openai_base(local))
    finally:
        controller_waits = RUN_DIR_KEY in (getattr(config, "workerinput", None) or {})
        with shared_state(path) as state:
            if release(state, keep=config.getoption("nim_keep"), controller_waits=controller_waits):
                from nimctl import api

                api.down(name, timeout=settings.stop_timeout, engine_url=settings.engine_url)
                state.started = False
                if console is not None:
                    console.print(f"• {name}: removed (this test run started it; the model cache stays)")


@pytest.fixture(scope="session")
def nim_client(nim: Nim) -> Iterator[Any]:
    """An `openai.OpenAI` for the `nim` endpoint.

    A NIM needs no API key; a placeholder keeps the SDK from sending OPENAI_API_KEY, someone
    else's secret, to it.
    """
    import openai

    client = openai.OpenAI(base_url=nim.url, api_key="not-needed")
    try:
        yield client
    finally:
        client.close()


def _converge(profile: str | None, timeout: float | None, state: ShareState, console: Any) -> tuple[Nim, str]:
    """The deployment, up and ready (reused, started or created), and its URL on the engine's host."""
    from nimctl import api

    try:
        # The tests are the check; `up`'s smoke suite would only delay them (and fail them twice).
        result = api.up(profile, timeout=timeout, smoke="none", console=console)
    except NimctlError as error:
        state.error = failure_text(error)
        pytest.fail(state.error, pytrace=False)
    acquire(state, result.action)
    state.name, state.url, state.model = result.name, result.url, result.model
    nim = Nim(url=openai_base(result.url), model=result.model, name=result.name, started=state.started)
    return nim, result.url


def _external(url: str) -> Nim:
    """--nim-url: ask the endpoint which model it serves; nothing is started or stopped."""
    import urllib.request

    base = openai_base(url)
    try:
        with urllib.request.urlopen(base + "/models", timeout=30) as answer:
            models = [entry["id"] for entry in json.load(answer).get("data", [])]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        pytest.fail(f"--nim-url {url}: {base}/models did not answer with a model list ({exc})", pytrace=False)
    if not models:
        pytest.fail(f"--nim-url {url}: {base}/models lists no model", pytrace=False)
    return Nim(url=base, model=models[0], name=None)


def openai_base(url: str) -> str:
    root = url.rstrip("/")
    return root if root.endswith("/v1") else root + "/v1"


def failure_text(error: NimctlError) -> str:
    """nimctl's report of a failure: what the exit code means, the error, log lines, the hint."""
    code = int(error.exit_code)
    meaning = EXIT_MEANINGS.get(error.exit_code, "failure")
    lines = [f"nimctl could not provide the NIM (exit code {code}: {meaning})", f"error: {error.message}"]
    lines += error.details
    if error.hint:
        lines.append(f"hint: {error.hint}")
    return "\n".join(lines)


def _progress_console(config: pytest.Config) -> Any:
    """nimctl's progress lines on pytest's terminal (a load can take half an hour); quiet in xdist workers."""
    from rich.console import Console

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or hasattr(config, "workerinput"):
        return None  # the API's quiet default

    class _ToTerminal:
        """Writes past pytest's output capture, which holds fixture set-up output until a test ends."""

        def write(self, text: str) -> int:
            with capture.global_and_fixture_disabled():
                reporter.ensure_newline()  # not in the middle of a line of test dots
                reporter.write(text)
                reporter.flush()
            return len(text)

        def flush(self) -> None:
            pass

    return Console(file=_ToTerminal(), force_terminal=False, no_color=True, highlight=False, width=200)
