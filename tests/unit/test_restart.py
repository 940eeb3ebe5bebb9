"""Restart policies and crash loops as data (nimctl/restart.py), the setting, the hash and the engine's policy."""

from __future__ import annotations

import pytest

from nimctl.container import ContainerInfo
from nimctl.engine.create_request import restart_policy as _restart_policy
from nimctl.errors import ConfigError
from nimctl.restart import GAVE_UP, LOOPING, RestartPolicy, crash_loop, parse, recent_restarts
from nimctl.settings import load_settings
from nimctl.spec import build_spec, oneoff_spec

NOW = 1_000_000.0


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("no", RestartPolicy("no")),
        ("always", RestartPolicy("always")),
        ("unless-stopped", RestartPolicy("unless-stopped")),
        ("on-failure", RestartPolicy("on-failure", 0)),
        ("on-failure:3", RestartPolicy("on-failure", 3)),
        (" On-Failure:2 ", RestartPolicy("on-failure", 2)),
    ],
)
def test_policies_parse_as_docker_reads_them(text: str, policy: RestartPolicy) -> None:
    assert parse(text) == policy
    assert parse(str(policy)) == policy  # the normalized form reads back the same


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("sometimes", "no restart policy"),
        ("", "no restart policy"),
        ("always:3", "only on-failure takes a retry count"),
        ("on-failure:0", "1 or more"),
        ("on-failure:-1", "1 or more"),
        ("on-failure:x", "1 or more"),
        ("on-failure:", "1 or more"),
    ],
)
def test_bad_policies_say_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse(text)


def test_the_setting_is_validated_with_a_usage_error() -> None:
    with pytest.raises(ConfigError) as failure:
        load_settings({"restart": "sometimes"}, profile="sim", environ={})
    assert failure.value.exit_code == 2 and "restart" in failure.value.message
    assert load_settings({"restart": "ON-FAILURE:4"}, profile="sim", environ={}).settings.restart == "on-failure:4"
    assert load_settings({}, profile="sim", environ={}).settings.restart == "no"  # one-shot by default


def test_the_environment_and_a_profile_set_it(tmp_path) -> None:
    assert load_settings({}, profile="sim", environ={"NIMCTL_RESTART": "always"}).settings.restart == "always"
    profile = tmp_path / "p.toml"
    profile.write_text('restart = "unless-stopped"\n')
    assert load_settings({}, profile=str(profile), environ={}).settings.restart == "unless-stopped"


def spec_for(**flags):
    loaded = load_settings(flags, profile="sim", environ={})
    return build_spec(loaded.settings, loaded.profile.name)


def test_the_policy_is_part_of_the_configuration_hash() -> None:
    default = spec_for()
    assert spec_for(restart="no").config_hash == default.config_hash  # "no" hashes as before the setting
    hashes = {spec_for(restart=p).config_hash for p in ("always", "unless-stopped", "on-failure", "on-failure:2")}
    assert len(hashes) == 4 and default.config_hash not in hashes
    assert spec_for(restart="On-Failure:2").config_hash == spec_for(restart="on-failure:2").config_hash


def test_the_engine_gets_the_policy_but_a_oneoff_never_does() -> None:
    spec = spec_for(restart="on-failure:3")
    assert _restart_policy(spec, None) == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert _restart_policy(spec_for(restart="always"), None) == {"Name": "always", "MaximumRetryCount": 0}
    assert _restart_policy(spec_for(), None) is None
    assert _restart_policy(spec, ["nvidia-smi", "-L"]) is None  # the GPU probe
    assert _restart_policy(oneoff_spec(spec, "profiles", ["list-model-profiles"]), None) is None


def test_inspect_gives_the_restart_count_and_policy() -> None:
    attrs = {
        "Id": "abc",
        "Name": "/n",
        "RestartCount": 2,
        "State": {"Status": "exited", "ExitCode": 3},
        "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}},
        "Config": {"Labels": {}, "Env": []},
    }
    info = ContainerInfo.from_inspect(attrs)
    assert info.restart_count == 2 and info.restart_policy == RestartPolicy("on-failure", 2)
    bare = ContainerInfo.from_inspect({"Id": "x", "Name": "/x", "State": {"Status": "running"}, "HostConfig": {}})
    assert bare.restart_count == 0 and bare.restart_policy == RestartPolicy("no")
    empty = RestartPolicy.from_engine({"Name": "", "MaximumRetryCount": 0})  # docker's "no" on older engines
    assert empty == RestartPolicy("no")


# --- the crash-loop decision ----------------------------------------------------------------------


def deaths(*ages: float) -> list[float]:
    return [NOW - age for age in ages]


def test_three_restarts_in_ten_minutes_is_a_loop() -> None:
    loop = crash_loop(
        RestartPolicy("always"), restarts=3, state="running", exit_code=3, recent_deaths=deaths(300, 200, 10), now=NOW
    )
    assert loop is not None and loop.reason == LOOPING and loop.restarts_recent == 3 and loop.last_exit_code == 3
    assert "restarted 3 times in the last 10 minutes" in loop.describe() and "exit code 3" in loop.describe()


def test_old_restarts_or_too_few_are_no_loop() -> None:
    always = RestartPolicy("always")
    assert (
        crash_loop(always, restarts=7, state="running", exit_code=1, recent_deaths=deaths(900, 800, 5), now=NOW) is None
    )
    assert crash_loop(always, restarts=2, state="running", exit_code=1, recent_deaths=deaths(30, 5), now=NOW) is None
    assert crash_loop(always, restarts=0, state="running", exit_code=None, recent_deaths=(), now=NOW) is None


def test_the_last_death_of_a_container_that_stays_down_was_no_restart() -> None:
    assert recent_restarts(deaths(30, 20, 10), "exited", NOW) == 2
    assert recent_restarts(deaths(30, 20, 10), "running", NOW) == 3
    assert recent_restarts(deaths(30, 20, 10), "restarting", NOW) == 3
    policy = RestartPolicy("unless-stopped")
    assert (
        crash_loop(policy, restarts=3, state="exited", exit_code=0, recent_deaths=deaths(30, 20, 10), now=NOW) is None
    )


def test_an_on_failure_policy_the_engine_gave_up_on() -> None:
    policy = RestartPolicy("on-failure", 2)
    loop = crash_loop(policy, restarts=2, state="exited", exit_code=3, recent_deaths=deaths(9, 6, 3), now=NOW)
    assert loop is not None and loop.reason == GAVE_UP and loop.last_exit_code == 3 and loop.restarts_recent == 2
    assert "gave up" in loop.describe()
    # the give-up is seen without events too (an engine that keeps none), even hours later
    assert crash_loop(policy, restarts=2, state="exited", exit_code=3, now=NOW).reason == GAVE_UP


@pytest.mark.parametrize(
    ("policy", "restarts", "state", "exit_code"),
    [
        (RestartPolicy("on-failure", 2), 1, "running", None),  # still within its retries
        (RestartPolicy("on-failure", 2), 2, "running", None),  # the last retry runs
        (RestartPolicy("on-failure", 2), 2, "exited", 0),  # ended well after its restarts: no failure
        (RestartPolicy("on-failure", 0), 5, "exited", 3),  # no limit: nothing to give up (old deaths)
    ],
)
def test_no_give_up_unless_the_retries_are_used_up_by_a_failure(
    policy: RestartPolicy, restarts: int, state: str, exit_code: int | None
) -> None:
    assert crash_loop(policy, restarts=restarts, state=state, exit_code=exit_code, now=NOW) is None


def row(**changes) -> dict:
    base = {
        "name": "n1",
        "profile": "sim",
        "state": "running",
        "exit_code": None,
        "live": True,
        "ready": True,
        "url": "http://127.0.0.1:8000",
        "via": None,
        "gpus": None,
        "version": None,
        "model_profile": None,
        "metrics": None,
        "uptime_s": 5.0,
        "serving": None,
        "restarts": 0,
        "restart_policy": "no",
        "crash_loop": None,
    }
    return base | changes


def rendered(rows: list[dict]) -> str:
    from rich.console import Console

    from nimctl.cli.status import render

    console = Console(width=400, record=True, force_terminal=False)
    console.print(render(rows, None))
    return console.export_text()


def test_the_table_shows_restarts_crash_loops_and_ready_not_serving() -> None:
    loop = crash_loop(RestartPolicy("on-failure", 2), restarts=2, state="exited", exit_code=3, now=NOW)
    flagged = {
        "reason": loop.reason,
        "restarts_recent": 0,
        "last_exit_code": 3,
        "cause": "the GPUs ran out of memory loading the model",
        "action": "free the GPUs",
        "summary": loop.describe(),
    }
    text = rendered(
        [
            row(name="looping", state="exited", exit_code=3, ready=False, restarts=2, crash_loop=flagged),
            row(name="broken", serving=False),
            row(name="fine", serving=True),
        ]
    )
    assert "exited (3) crash loop" in text
    assert "looping: crash loop: the engine gave up restarting it (last exit code 3); the log says: the GPUs" in text
    broken, fine = (line for line in text.splitlines() if line.startswith(("broken", "fine")))
    assert "ready, not serving" in broken and "ready, not serving" not in fine
