"""deploy's failure policy, driven through `deploy.up(..., connect=...)` with a fake engine.

Which container is removed or kept after a crash, a refused start, a readiness timeout or
Ctrl-C, with and without --keep-on-failure, for a container this run created, one it only
started, and one that was already running. The fake satisfies `ports.EnginePort`; the
readiness wait is the real one, fed by the fake's signals (and a real little HTTP server
where the container must answer ready).
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from nimctl import deploy
from nimctl.container import ContainerInfo, OneOffResult
from nimctl.deploy import UpOptions
from nimctl.engine.kind import EngineKind
from nimctl.engine.port import EnginePort
from nimctl.errors import (
    ConfigError,
    ContainerExited,
    EngineUnreachable,
    Interrupted,
    NimctlError,
    PreflightFailed,
    ReadinessTimeout,
    StoppedElsewhere,
)
from nimctl.plan import Plan
from nimctl.reporter import Reporter
from nimctl.settings import LoadedSettings, load_settings
from nimctl.spec import LABEL_CONFIG_HASH, build_spec
from tests.unit.test_readiness import HealthServer

SIM_IMAGE_ID = "sha256:sim"
LOG = "".join(f"line {n}\n" for n in range(80)) + "boom: the model did not fit\n"


class FakeSignals:
    """The container's exit and a Ctrl-C, as the readiness wait sees them."""

    def __init__(self, exit_code: int | None, interrupt: bool):
        self._exit_code = exit_code
        self._interrupt = interrupt
        self.oom_killed = False
        self.closed = False
        self.disturbed: str | None = None

    def wait(self, timeout: float) -> None:
        if self._interrupt:
            raise KeyboardInterrupt
        # otherwise return at once: nothing happened, and the test need not sleep

    def exit_code(self) -> int | None:
        return self._exit_code

    def disturbance(self) -> str | None:
        return self.disturbed

    def follow_logs(self, since: float) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class FakeEngine:
    """Just enough of an engine for `up`: containers by name, a start that may be refused."""

    kind = EngineKind("docker", "fake")

    def __init__(
        self,
        existing: ContainerInfo | None = None,
        *,
        refuse_start: NimctlError | None = None,
        exit_code: int | None = None,
        interrupt: bool = False,
        disturbed: str | None = None,
    ):
        self.disturbed = disturbed
        self.containers: dict[str, ContainerInfo] = {existing.name: existing} if existing else {}
        self.refuse_start = refuse_start
        self.exit_code = exit_code
        self.interrupt = interrupt
        self.calls: list[str] = []
        self.removed: list[tuple[str, int]] = []  # (id, stop timeout)
        self.signal_feeds: list[FakeSignals] = []
        self.oneoff_result = OneOffResult(exit_code=0, lines=[])
        self.oneoff_specs: list = []

    def _find(self, name_or_id: str) -> ContainerInfo | None:
        return next((c for c in self.containers.values() if name_or_id in (c.name, c.id)), None)

    def _set_state(self, info: ContainerInfo, state: str) -> None:
        self.containers[info.name] = replace(info, state=state)

    def inspect(self, name_or_id: str) -> ContainerInfo | None:
        return self._find(name_or_id)

    def managed_containers(self, name: str | None = None) -> list[ContainerInfo]:
        return [c for c in self.containers.values() if c.managed and name in (None, c.name)]

    def image_id(self, reference: str) -> str | None:
        return SIM_IMAGE_ID

    def engine_info(self) -> dict:
        self.calls.append("engine_info")
        return {}

    def version(self) -> str:
        return "fake"

    def reach(self, url: str) -> contextlib.AbstractContextManager[str]:
        return contextlib.nullcontext(url)

    def list_gpus(self, spec) -> tuple[int, str]:
        self.calls.append("list_gpus")
        return 0, "GPU 0: fake (UUID: GPU-0)"

    def login(self, registry, key):  # the simulator profile never pulls
        raise AssertionError("no login expected")

    def pull(self, reference, auth, on_event):
        raise AssertionError("no pull expected")

    def build_simulator(self, reference: str) -> str:
        self.calls.append("build")
        return SIM_IMAGE_ID

    def create(self, spec) -> str:
        self.calls.append("create")
        info = container(spec.name, spec.labels, state="created", container_id="new-id")
        self.containers[spec.name] = info
        return info.id

    def start(self, container_id: str) -> None:
        self.calls.append("start")
        if self.refuse_start is not None:
            raise self.refuse_start
        self._set_state(self._find(container_id), "running")

    def stop_and_remove(self, container_id: str, timeout: int) -> None:
        self.removed.append((container_id, timeout))
        info = self._find(container_id)
        if info is not None:
            del self.containers[info.name]

    def run_oneoff(self, spec, on_line) -> OneOffResult:
        self.calls.append("run_oneoff")
        self.oneoff_specs.append(spec)
        for line in self.oneoff_result.lines:
            on_line(line)
        return self.oneoff_result

    def logs(self, container_id: str, tail: int | str = "all") -> str:
        info = self._find(container_id)
        return "" if info is None or info.state == "created" else LOG  # one that never ran has none

    def stop_restarts(self, container_id: str, timeout: int) -> None:
        self.calls.append("stop_restarts")
        info = self._find(container_id)
        if info is not None:
            self._set_state(info, "exited")

    def deaths(self, container_id: str, since: float) -> list[tuple[float, int | None]]:
        return []

    def signals(self, container_id: str) -> FakeSignals:
        feed = FakeSignals(self.exit_code, self.interrupt)
        feed.disturbed = self.disturbed
        self.signal_feeds.append(feed)
        return feed


def container(name: str, labels: dict[str, str], *, state: str, container_id: str = "old-id") -> ContainerInfo:
    return ContainerInfo.from_inspect(
        {
            "Id": container_id,
            "Name": "/" + name,
            "Image": SIM_IMAGE_ID,
            "State": {"Status": state, "ExitCode": 0},
            "Config": {"Image": "nimctl-sim:latest", "Labels": labels, "Env": []},
        }
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _private_lock_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))


def sim_settings(tmp_path: Path, port: int | None = None, timeout: float = 0.3, **extra: str) -> LoadedSettings:
    flags = {
        **extra,
        "container_name": "policy-test",
        "cache_dir": tmp_path / "cache",
        "log_dir": tmp_path / "logs",
        "port": port or free_port(),
        "timeout": timeout,
    }
    return load_settings(flags, profile="sim", environ={})


def spec_labels(loaded: LoadedSettings) -> dict[str, str]:
    return build_spec(loaded.settings, loaded.profile.name).labels


def run_up(loaded: LoadedSettings, engine: EnginePort, **options: bool) -> deploy.UpResult:
    report = Reporter(Console(file=io.StringIO(), width=200))
    return deploy.up(loaded, UpOptions(smoke="none", **options), report, connect=lambda: engine)


def saved_logs(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "logs").glob("policy-test-*.log")) if (tmp_path / "logs").exists() else []


# --- a crash during start-up -----------------------------------------------------------------


def test_crash_of_a_created_container_removes_it_and_saves_its_log(tmp_path: Path) -> None:
    engine = FakeEngine(exit_code=3)
    with pytest.raises(ContainerExited) as failure:
        run_up(sim_settings(tmp_path), engine)
    assert engine.calls[-2:] == ["create", "start"]
    assert engine.removed == [("new-id", 5)] and engine.containers == {}
    [log] = saved_logs(tmp_path)
    assert log.read_text() == LOG
    assert "exited with code 3 during start-up" in failure.value.message
    assert failure.value.details[-1] == "boom: the model did not fit" and str(log) in failure.value.details[0]
    assert str(log) in failure.value.hint and "removed" in failure.value.hint
    assert all(feed.closed for feed in engine.signal_feeds)


@pytest.mark.parametrize("state", ["exited", "running"])
def test_crash_removes_the_container_whoever_started_it(tmp_path: Path, state: str) -> None:
    loaded = sim_settings(tmp_path)
    engine = FakeEngine(container("policy-test", spec_labels(loaded), state=state), exit_code=1)
    with pytest.raises(ContainerExited):
        run_up(loaded, engine)
    assert "create" not in engine.calls
    assert ("start" in engine.calls) == (state == "exited")  # a running one is only waited for
    assert engine.removed == [("old-id", 5)]
    assert len(saved_logs(tmp_path)) == 1


# --- a start the engine refused ----------------------------------------------------------------


def refused() -> ContainerExited:
    return ContainerExited("cannot start container new-id: exec: no such file", hint="the engine refused to run it")


def port_taken() -> PreflightFailed:
    return PreflightFailed("the host port is taken (port is already allocated)", hint="choose another --port")


@pytest.mark.parametrize("refusal", [refused, port_taken])
def test_refused_start_removes_the_container_this_run_created(tmp_path: Path, refusal) -> None:
    engine = FakeEngine(refuse_start=refusal())
    with pytest.raises(type(refusal())) as failure:
        run_up(sim_settings(tmp_path), engine)
    assert failure.value.message == refusal().message
    assert engine.removed == [("new-id", 5)]
    assert saved_logs(tmp_path) == []  # it never ran: there is no log to keep


@pytest.mark.parametrize("refusal", [refused, port_taken])
def test_refused_start_of_a_stopped_container_removes_it_too(tmp_path: Path, refusal) -> None:
    # `up` chose to start it (plan START changes something), so its failure is this run's to clean up
    loaded = sim_settings(tmp_path)
    engine = FakeEngine(container("policy-test", spec_labels(loaded), state="exited"), refuse_start=refusal())
    with pytest.raises(type(refusal())):
        run_up(loaded, engine)
    assert engine.removed == [("old-id", 5)]


# --- the readiness timeout ---------------------------------------------------------------------


def test_readiness_timeout_removes_the_container_with_the_stop_timeout(tmp_path: Path) -> None:
    loaded = sim_settings(tmp_path, timeout=0.2)  # nothing listens on the port: never ready
    engine = FakeEngine()
    with pytest.raises(ReadinessTimeout, match="was not ready after"):
        run_up(loaded, engine)
    assert engine.removed == [("new-id", loaded.settings.stop_timeout)]
    assert len(saved_logs(tmp_path)) == 1


# --- Ctrl-C ------------------------------------------------------------------------------------


def test_ctrl_c_removes_a_container_this_run_created(tmp_path: Path) -> None:
    engine = FakeEngine(interrupt=True)
    with pytest.raises(Interrupted):
        run_up(sim_settings(tmp_path), engine)
    assert engine.removed == [("new-id", 5)]


def test_ctrl_c_removes_a_stopped_container_this_run_started(tmp_path: Path) -> None:
    loaded = sim_settings(tmp_path)
    engine = FakeEngine(container("policy-test", spec_labels(loaded), state="exited"), interrupt=True)
    with pytest.raises(Interrupted):
        run_up(loaded, engine)
    assert engine.removed == [("old-id", 5)]


def test_ctrl_c_leaves_a_container_that_was_already_running(tmp_path: Path) -> None:
    loaded = sim_settings(tmp_path)
    engine = FakeEngine(container("policy-test", spec_labels(loaded), state="running"), interrupt=True)
    with pytest.raises(Interrupted):
        run_up(loaded, engine)
    assert engine.removed == [] and engine.containers["policy-test"].state == "running"


# --- --keep-on-failure -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine_args", "error"),
    [
        ({"exit_code": 3}, ContainerExited),
        ({}, ReadinessTimeout),
        ({"refuse_start": refused()}, ContainerExited),
    ],
    ids=["crash", "timeout", "refused-start"],
)
def test_keep_on_failure_keeps_the_container(tmp_path: Path, engine_args: dict, error: type) -> None:
    engine = FakeEngine(**engine_args)
    with pytest.raises(error) as failure:
        run_up(sim_settings(tmp_path, timeout=0.2), engine, keep_on_failure=True)
    assert engine.removed == [] and "policy-test" in engine.containers
    if "refuse_start" not in engine_args:  # a container that ran: its log is saved and named
        [log] = saved_logs(tmp_path)
        assert "--keep-on-failure" in failure.value.hint and str(log) in failure.value.hint


# --- what is decided before anything starts ------------------------------------------------------


def test_a_foreign_container_of_that_name_is_never_touched(tmp_path: Path) -> None:
    engine = FakeEngine(container("policy-test", {"maintainer": "someone else"}, state="running"))
    with pytest.raises(ConfigError, match="not created by nimctl"):
        run_up(sim_settings(tmp_path), engine)
    assert engine.calls == [] and engine.removed == []  # no preflight, no build, nothing removed


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> list[Plan]:
    """Every plan `up` makes (it must make one)."""
    made: list[Plan] = []
    real_reconcile = deploy.reconcile

    def recording_reconcile(*args, **kwargs) -> Plan:
        made.append(real_reconcile(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(deploy, "reconcile", recording_reconcile)
    return made


def test_running_unchanged_deployment_skips_preflight_and_plans_once(
    tmp_path: Path, ready_nim: HealthServer, plans: list[Plan]
) -> None:
    # a GPU request: preflight would run nvidia-smi in a throwaway container (list_gpus)
    loaded = sim_settings(tmp_path, port=int(ready_nim.url.rsplit(":", 1)[1]), timeout=5, gpus="1")
    engine = FakeEngine(container("policy-test", spec_labels(loaded), state="running"))
    result = run_up(loaded, engine)
    assert result.action == "noop" and result.ready and result.url == ready_nim.url
    assert "list_gpus" not in engine.calls and "start" not in engine.calls and engine.removed == []
    assert len(plans) == 1


def test_a_changed_deployment_runs_preflight_and_recreates(
    tmp_path: Path, ready_nim: HealthServer, plans: list[Plan]
) -> None:
    loaded = sim_settings(tmp_path, port=int(ready_nim.url.rsplit(":", 1)[1]), timeout=5, gpus="1")
    old_labels = {**spec_labels(loaded), LABEL_CONFIG_HASH: "an-older-config"}
    engine = FakeEngine(container("policy-test", old_labels, state="running"))
    result = run_up(loaded, engine)
    assert result.action == "recreate" and len(plans) == 1
    calls = [call for call in engine.calls if call != "engine_info"]  # asked for the GPU evidence key
    assert calls == ["list_gpus", "build", "create", "start"]  # the GPU check is preflight's
    assert engine.removed == [("old-id", loaded.settings.stop_timeout)]


def test_the_real_engine_and_the_fake_both_offer_the_port() -> None:
    from nimctl.engine import Engine

    wanted = [name for name in vars(EnginePort) if not name.startswith("_")]
    assert "create" in wanted and "signals" in wanted
    assert [name for name in wanted if not callable(getattr(Engine, name, None))] == []
    assert [name for name in wanted if not callable(getattr(FakeEngine, name, None))] == []


def test_a_known_cause_in_the_log_becomes_the_message_and_the_hint(tmp_path: Path, monkeypatch) -> None:
    refusal = "ERROR actions.py:120] NIM_MODEL_PROFILE is set to x, but no matching profile_id or profile description"
    monkeypatch.setattr(sys.modules[__name__], "LOG", LOG + refusal + "\n")
    engine = FakeEngine(exit_code=1)
    with pytest.raises(ContainerExited) as failure:
        run_up(sim_settings(tmp_path), engine)
    assert "matches no profile" in failure.value.message
    assert failure.value.hint.startswith("run `nimctl profiles`") and "full log:" in failure.value.hint


def test_publishing_on_every_interface_is_a_warned_choice(tmp_path: Path, ready_nim: HealthServer) -> None:
    loaded = sim_settings(tmp_path, port=int(ready_nim.url.rsplit(":", 1)[1]), timeout=5, host="0.0.0.0")
    report = Reporter(Console(file=io.StringIO(), width=300))
    engine = FakeEngine(container("policy-test", spec_labels(loaded), state="running"))  # the health server's port
    result = deploy.up(loaded, UpOptions(smoke="none"), report, connect=lambda: engine)
    assert result.ready and result.action == "noop"  # warned even on the fast path
    said = report.console.file.getvalue()
    assert "warning: publishing on 0.0.0.0" in said and "no auth" in said


def test_readiness_goes_through_the_engines_reach(tmp_path: Path, ready_nim: HealthServer) -> None:
    """A remote engine's NIM is probed through reach() (the tunnel): here the spec's port has nothing."""
    loaded = sim_settings(tmp_path, port=free_port(), timeout=5)
    engine = FakeEngine(container("policy-test", spec_labels(loaded), state="running"))
    engine.kind = EngineKind("docker", "fake", "ssh://root@gpu-box")
    reached: list[str] = []

    @contextlib.contextmanager
    def tunnel(url: str) -> Iterator[str]:
        reached.append(url)
        yield ready_nim.url

    engine.reach = tunnel
    result = run_up(loaded, engine)
    assert result.ready and reached == [loaded.settings.url]
    assert result.url == loaded.settings.url and result.via == "ssh tunnel to gpu-box"


# --- another command or the engine's end disturbs the wait (issue 9.4) -----------------------


@pytest.mark.parametrize("what", ["stopped", "removed"])
def test_a_container_stopped_by_another_command_is_left_to_it(tmp_path: Path, what: str) -> None:
    engine = FakeEngine(disturbed=what)
    with pytest.raises(StoppedElsewhere) as failure:
        run_up(sim_settings(tmp_path), engine)
    assert failure.value.exit_code == 5
    assert f"was {what} by another command" in failure.value.message
    assert engine.removed == [] and saved_logs(tmp_path) == []  # not fought over, no log of a stop


def test_the_engine_going_away_is_exit_3_without_cleanup_calls(tmp_path: Path) -> None:
    engine = FakeEngine(disturbed="engine gone")
    with pytest.raises(EngineUnreachable) as failure:
        run_up(sim_settings(tmp_path), engine)
    assert failure.value.exit_code == 3 and "the Docker engine went away" in failure.value.message
    assert engine.removed == [] and "logs" not in engine.calls


class TurningSignals(FakeSignals):
    """A stop request first; what follows it (a removal, the engine's end) shows up a moment later."""

    def __init__(self, then: str | None):
        super().__init__(exit_code=0, interrupt=False)
        self.disturbed = "stopped"
        self._then = then

    def wait(self, timeout: float) -> None:
        if self._then is not None:
            self.disturbed = self._then


@pytest.mark.parametrize(("then", "said"), [("engine gone", "engine gone"), ("removed", "removed"), (None, "stopped")])
def test_a_stop_request_is_told_apart_by_what_follows_it(then: str | None, said: str) -> None:
    assert deploy._who_stopped_it(TurningSignals(then), "stopped", settle=0.2) == said


@pytest.mark.parametrize(("policy", "disarmed"), [("always", True), ("on-failure:3", True), ("no", False)])
def test_a_kept_crash_is_not_left_to_its_restart_policy(tmp_path: Path, policy: str, disarmed: bool) -> None:
    engine = FakeEngine(exit_code=3)
    with pytest.raises(ContainerExited):
        run_up(sim_settings(tmp_path, restart=policy), engine, keep_on_failure=True)
    assert ("stop_restarts" in engine.calls) is disarmed
    assert engine.removed == [] and "policy-test" in engine.containers


@pytest.mark.parametrize("policy", ["always", "unless-stopped"])
def test_a_startup_crash_under_a_restart_policy_still_removes_the_container(tmp_path: Path, policy: str) -> None:
    engine = FakeEngine(exit_code=3)
    with pytest.raises(ContainerExited):
        run_up(sim_settings(tmp_path, restart=policy), engine)
    assert [container_id for container_id, _ in engine.removed] == ["new-id"] and engine.containers == {}
