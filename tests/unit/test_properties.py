"""Issue 9.6: property-based tests (hypothesis) for everything that parses user input, and the
invariants of `reconcile`."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nimctl.domain import GpuRequest, parse_size
from nimctl.errors import ConfigError
from nimctl.options import parse_env_pairs
from nimctl.plan import Action, Desired, Observed, reconcile
from nimctl.settings import load_settings, parse_profile_text

UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
PROFILE = Path("/profiles/model.toml")  # parse_profile_text only names it


# --- sizes -----------------------------------------------------------------------------------


@given(st.integers(1, 10**6), st.sampled_from(sorted(UNITS)), st.sampled_from(["", "b", "ib"]), st.booleans())
def test_parse_size_of_any_well_formed_size(number: int, unit: str, suffix: str, upper: bool) -> None:
    suffix = "" if unit in ("", "b") or (suffix == "ib" and not unit) else suffix
    text = f"{number}{unit}{suffix}"
    assert parse_size(text.upper() if upper else text) == number * UNITS[unit]


@given(st.text(max_size=20))
def test_parse_size_of_any_text_is_a_positive_int_or_a_value_error(text: str) -> None:
    try:
        size = parse_size(text)
    except ValueError as exc:
        assert repr(text) in str(exc)
    else:
        assert isinstance(size, int) and size > 0


# --- --gpus ----------------------------------------------------------------------------------


@given(st.text(max_size=30))
def test_gpu_request_of_any_text_is_parsed_or_a_value_error(text: str) -> None:
    try:
        request = GpuRequest.parse(text)
    except ValueError as exc:
        assert "is not a GPU selection" in str(exc)
    else:
        assert request.count is None or request.count >= -1
        assert not (request.count and request.device_ids)


@given(st.lists(st.integers(0, 64), min_size=1, max_size=8).map(lambda ids: [str(i) for i in ids]))
def test_gpu_device_id_lists_keep_their_ids(ids: list[str]) -> None:
    text = ",".join(ids)
    request = GpuRequest.parse(text)
    if len(ids) == 1:
        assert request.count == int(ids[0]) or (ids[0] == "0" and request.count is None)
    else:
        assert request.device_ids == tuple(ids) and request.wanted


# --- --env KEY=VALUE -------------------------------------------------------------------------


@given(st.lists(st.text(max_size=20), max_size=6))
def test_env_pairs_of_any_strings_give_a_dict_or_a_config_error(pairs: list[str]) -> None:
    try:
        result = parse_env_pairs(pairs)
    except ConfigError as exc:
        assert "is not KEY=VALUE" in exc.message and exc.hint
        assert any("=" not in pair or pair.startswith("=") for pair in pairs)
    else:
        if not pairs:
            assert result is None
        else:
            assert result == {p.partition("=")[0]: p.partition("=")[2] for p in pairs}


# --- profile TOML ----------------------------------------------------------------------------


@given(st.binary(max_size=200))
def test_any_bytes_as_a_profile_parse_or_name_the_file_and_line(data: bytes) -> None:
    try:
        values = parse_profile_text(PROFILE, data)
    except ConfigError as exc:
        match = re.match(rf"profile {re.escape(str(PROFILE))}:(\d+): ", exc.message)
        assert match, exc.message
        assert 1 <= int(match.group(1)) <= data.count(b"\n") + 1
    else:
        assert isinstance(values, dict)


VALID_LINES = ["port = 8000", 'image = "x/y:1"', "[env]", 'A = "b"', 'gpus = "all"', "timeout = 30.5"]
BREAKERS = ["= 1", 'x = "unterminated', "[[", "port = ", "a.b.= 3", "key = 1 2", "]", "x = [1,", "\x00"]


@given(st.lists(st.sampled_from(VALID_LINES), max_size=4), st.sampled_from(BREAKERS), st.data())
def test_a_broken_line_is_the_line_named(before: list[str], breaker: str, data) -> None:
    after = data.draw(st.lists(st.sampled_from(VALID_LINES), max_size=3))
    text = "\n".join([*before, breaker, *after]) + "\n"
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        pass
    else:
        return  # the mix happens to be valid TOML (a duplicate key is an error, not this)
    with pytest.raises(ConfigError) as raised:
        parse_profile_text(PROFILE, text.encode())
    line = int(re.match(rf"profile {re.escape(str(PROFILE))}:(\d+): ", raised.value.message).group(1))
    assert 1 <= line <= len(before) + 1 + len(after)


SETTING_VALUES = st.one_of(
    st.integers(-5, 70000),
    st.text(max_size=12),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(-3, 3), max_size=3),
)
SETTINGS_TRIED = ["port", "gpus", "shm_size", "timeout", "user", "pull", "env", "smoke", "needs_ngc_key"]


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(SETTINGS_TRIED), SETTING_VALUES, max_size=3))
def test_any_values_in_a_profile_load_or_give_a_config_error_naming_the_file(tmp_path: Path, values: dict) -> None:
    path = tmp_path / "generated.toml"
    # JSON's literals for these types are TOML's too
    path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items()))
    try:
        load_settings({}, profile=str(path), environ={})
    except ConfigError as exc:
        assert "generated.toml" in exc.message and exc.hint


# --- reconcile's invariants ------------------------------------------------------------------

HASHES = st.sampled_from(["h1", "h2", None])
STATES = st.sampled_from(["created", "running", "paused", "restarting", "exited", "dead", "removing"])
PROFILES = st.sampled_from(["sim", "mistral", None])


@st.composite
def desired_and_observed(draw) -> tuple[Desired, Observed]:
    desired = Desired(
        "nim", draw(st.sampled_from(["h1", "h2"])), draw(st.sampled_from(["i1", "i2", None])), draw(PROFILES)
    )
    observed = Observed(
        name="nim",
        id="c1",
        state=draw(STATES),
        managed=draw(st.booleans()),
        config_hash=draw(HASHES),
        image_id=draw(st.sampled_from(["i1", "i2", None])),
        profile=draw(PROFILES),
    )
    return desired, observed


@given(desired_and_observed(), st.booleans())
def test_reconcile_never_touches_a_container_nimctl_did_not_create(pair, force: bool) -> None:
    desired, observed = pair
    plan = reconcile(desired, observed, force_recreate=force)
    if not observed.managed:
        assert plan.action is Action.CONFLICT and plan.remove_id is None


@given(desired_and_observed(), st.booleans())
def test_reconcile_never_leaves_a_changed_config_alone(pair, force: bool) -> None:
    desired, observed = pair
    plan = reconcile(desired, observed, force_recreate=force)
    if observed.config_hash != desired.config_hash:
        assert plan.action is not Action.NOOP and plan.action is not Action.START


@given(desired_and_observed())
def test_reconcile_never_replaces_another_profiles_container_unasked(pair) -> None:
    desired, observed = pair
    plan = reconcile(desired, observed)
    if observed.managed and desired.profile and observed.profile and desired.profile != observed.profile:
        assert plan.action is Action.CONFLICT and desired.profile in plan.reason and observed.profile in plan.reason
    if plan.action is Action.RECREATE:
        assert plan.remove_id == observed.id
