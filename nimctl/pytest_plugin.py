"""pytest plugin (entry point `nimctl`): a NIM as a session fixture, converged like `nimctl up`.

    def test_answers(nim, nim_client):
        reply = nim_client.chat.completions.create(model=nim.model, messages=[...])

Settings: `--nim-profile`, `--nim-engine-url`, `--nim-timeout` on the command line, else the
environment (NIMCTL_*, as for the CLI), else the ini options (`nim_profile`, `nim_engine_url`,
`nim_timeout`, ... one per `nimctl up` setting, in pytest.ini or [tool.pytest.ini_options]), else
the profile and the defaults: pytest-django's order. A conftest.py may override the `nim_settings`
fixture (the keyword arguments of `nimctl.up`) to choose them in code.

A running, ready deployment with the same configuration is reused untouched; otherwise one is
started and waited for. At the end only what this test run started is removed (unless
`--nim-keep`). With pytest-xdist the workers share one deployment: a JSON file per deployment
in a directory of this run, guarded by an fcntl lock, counts the users and remembers whether
the run started it; the controller, the last process out, removes it.

Nothing heavy is imported at plugin load (the API, and with it docker and pydantic, and openai load
through nimctl.lazy when `nim` is first requested), and a session that does not request `nim`
starts nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from nimctl import lazy
from nimctl.errors import ExitCode, NimctlError
from nimctl.options import COMMAND_SETTINGS, SETTING_OPTIONS, SettingOption, parse_env_pairs

if TYPE_CHECKING:
    import openai
    import rich.console as rich_console

    import nimctl.api as api
    import nimctl.settings as nimctl_settings
else:
    api = lazy.module("nimctl.api")
    nimctl_settings = lazy.module("nimctl.settings")
    openai = lazy.module("openai")
    rich_console = lazy.module("rich.console")

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
    engine_url: str = ""  # where it runs (the engine the settings chose), for the controller's removal
    stop_timeout: int = 30


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


# `nimctl up`'s settings, as ini options `nim_<name>` (the smoke suite is left to the tests); the
# first three also as command-line options `--nim-<name>`.
INI_SETTINGS = tuple(name for name in COMMAND_SETTINGS["up"] if name != "smoke")
CMDLINE_SETTINGS = ("profile", "engine_url", "timeout")


def _cmdline_flag(option: SettingOption) -> str:
    return "--nim-" + option.name.replace("_", "-")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nimctl", "NVIDIA NIM fixture (nimctl)")
    for name in CMDLINE_SETTINGS:
        option = SETTING_OPTIONS[name]
        group.addoption(
            _cmdline_flag(option),
            dest=f"nim_{name}",
            type=option.cli_type if option.cli_type in (int, float) else str,
            metavar=option.metavar or name.upper(),
            help=f"{option.help} (`nim` fixture; else {', '.join(option.env)}, else ini {option.ini_name}).",
        )
    group.addoption(
        "--nim-url",
        metavar="URL",
        help="Use this already running endpoint (server root or .../v1); nimctl starts and stops nothing.",
    )
    group.addoption(
        "--nim-keep", action="store_true", default=None, help="Leave a NIM this run started running at the end."
    )
    for name in INI_SETTINGS:
        option = SETTING_OPTIONS[name]
        parser.addini(
            option.ini_name,
            f"nimctl: {option.help} (--nim-* and {', '.join(option.env)} win over it)",
            type="linelist" if option.multiple else "string",
            default=[] if option.multiple else "",
        )
    parser.addini("nim_url", "nimctl: an already running endpoint for `nim` (as --nim-url)", default="")
    parser.addini(
        "nim_keep", "nimctl: leave a NIM this run started running (as --nim-keep)", type="bool", default=False
    )


def _ini_value(option: SettingOption, raw: Any) -> Any:
    """An ini option's text as the API keyword's value (the settings validate it later, as a flag)."""
    if option.multiple:
        return parse_env_pairs(list(raw))
    text = str(raw).strip()
    if option.cli_type is bool:
        return text.lower() in ("1", "true", "yes", "on")
    if option.cli_type in (int, float):
        try:
            return option.cli_type(text)
        except ValueError:
            return text  # the settings say what is wrong with it, naming the setting
    return text


def settings_from_config(config: pytest.Config, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The `nimctl.up` keywords this run gives: the `--nim-*` options, then the ini options no
    environment variable overrides (pytest-django's order: command line > environment > ini)."""
    present = {variable.upper() for variable in environ}
    values: dict[str, Any] = {}
    for name in INI_SETTINGS:
        option = SETTING_OPTIONS[name]
        given = config.getoption(f"nim_{name}", None) if name in CMDLINE_SETTINGS else None
        if given is None and not any(variable.upper() in present for variable in option.env):
            raw = config.getini(option.ini_name)
            given = _ini_value(option, raw) if raw not in ("", []) else None
        if given is not None:
            values[name] = given
    return values


def _keep(config: pytest.Config) -> bool:
    flag = config.getoption("nim_keep")
    return bool(config.getini("nim_keep")) if flag is None else bool(flag)


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
        for path in sorted(run_dir.glob("*.json")):
            with shared_state(path) as state:
                if finish(state, keep=_keep(config)):  # on the engine the worker that started it used
                    api.down(state.name, timeout=state.stop_timeout, engine_url=state.engine_url or None)
                    state.started = False
    shutil.rmtree(run_dir, ignore_errors=True)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def nim_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The keyword arguments of `nimctl.up` the session's NIM is started with (profile, name, port,
    engine_url, timeout, ...; the environment and the profile fill in the rest, as for the CLI).

    From the `--nim-*` and `nim_*` ini options by default; override it in a conftest.py to choose
    in code:

        @pytest.fixture(scope="session")
        def nim_settings():
            return {"profile": "sim", "port": "auto", "timeout": 120}
    """
    return settings_from_config(request.config)


@pytest.fixture(scope="session")
def nim(request: pytest.FixtureRequest, nim_settings: Mapping[str, Any]) -> Iterator[Nim]:
    """A ready NIM for the whole session (see the module docstring); errors carry nimctl's report."""
    config = request.config
    url = config.getoption("nim_url") or config.getini("nim_url")
    if url:
        yield _external(url)
        return
    options = dict(nim_settings)
    try:
        loaded = nimctl_settings.load_options("up", options, settings=options.get("settings"))
    except NimctlError as error:
        pytest.fail(failure_text(error), pytrace=False)
    settings = loaded.settings
    name = settings.container_name
    path = state_path(_run_dir(config), name)
    console = _progress_console(config)
    with shared_state(path) as state:
        if state.error:
            pytest.fail(state.error, pytrace=False)
        endpoint, root_url = _converge(options, state, console)
        state.engine_url, state.stop_timeout = settings.engine_url or "", settings.stop_timeout
    try:
        with api.reach(root_url, engine_url=settings.engine_url) as local:  # a tunnel to a remote engine's NIM
            yield replace(endpoint, url=openai_base(local))
    finally:
        controller_waits = RUN_DIR_KEY in (getattr(config, "workerinput", None) or {})
        with shared_state(path) as state:
            if release(state, keep=_keep(config), controller_waits=controller_waits):
                api.down(name, timeout=settings.stop_timeout, engine_url=settings.engine_url)
                state.started = False
                if console is not None:
                    console.print(f"• {name}: removed (this test run started it; the model cache stays)", markup=False)


@pytest.fixture(scope="session")
def nim_client(nim: Nim) -> Iterator[Any]:
    """An `openai.OpenAI` for the `nim` endpoint.

    A NIM needs no API key; a placeholder keeps the SDK from sending OPENAI_API_KEY, someone
    else's secret, to it.
    """
    client = openai.OpenAI(base_url=nim.url, api_key="not-needed")
    try:
        yield client
    finally:
        client.close()


def _converge(options: Mapping[str, Any], state: ShareState, console: Any) -> tuple[Nim, str]:
    """The deployment, up and ready (reused, started or created), and its URL on the engine's host."""
    try:
        # The tests are the check; `up`'s smoke suite would only delay them (and fail them twice).
        result = api.up(**{**options, "smoke": "none", "console": console})
    except NimctlError as error:
        state.error = failure_text(error)
        pytest.fail(state.error, pytrace=False)
    acquire(state, result.action)
    state.name, state.url, state.model = result.name, result.url, result.model
    # the id /v1/models reports once ready (the served name), never the profile's
    nim = Nim(url=openai_base(result.url), model=result.model or "", name=result.name, started=state.started)
    return nim, result.url


def _external(url: str) -> Nim:
    """--nim-url: ask the endpoint which model it serves; nothing is started or stopped."""
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

    return rich_console.Console(file=_ToTerminal(), force_terminal=False, no_color=True, highlight=False, width=200)
