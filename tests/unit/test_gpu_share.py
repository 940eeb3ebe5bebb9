"""GPU requests as docker reads them, which devices they claim, and the overlap refusal of `up`."""

from __future__ import annotations

from pathlib import Path

import pytest

from nimctl.domain import GpuRequest
from nimctl.errors import ExitCode, PreflightFailed
from nimctl.gpu_share import claimed_devices, holders, overlap, refuse_shared_gpus
from nimctl.settings import load_settings
from nimctl.spec import LABEL_GPUS, build_spec
from tests.unit.test_deploy_policy import FakeEngine, container, run_up, sim_settings, spec_labels


@pytest.mark.parametrize(
    ("text", "count", "ids", "normalized"),
    [
        ("device=1", None, ("1",), "device=1"),
        ("device=0,2", None, ("0", "2"), "device=0,2"),
        ('"device=0,2"', None, ("0", "2"), "device=0,2"),  # docker's quoting
        ("0,1", None, ("0", "1"), "device=0,1"),
        ("device=GPU-3f2a-77", None, ("GPU-3f2a-77",), "device=GPU-3f2a-77"),
        ("2", 2, (), "2"),  # a bare number stays a count
        ("all", -1, (), "all"),
        ("none", None, (), "none"),
    ],
)
def test_parse_and_normalize(text: str, count: int | None, ids: tuple, normalized: str) -> None:
    request = GpuRequest.parse(text)
    assert (request.count, request.device_ids, request.normalized) == (count, ids, normalized)
    assert GpuRequest.parse(request.normalized) == request  # the label reads back as the same request


@pytest.mark.parametrize("text", ["device=", "device=a", "lots", "device=1;2", "²"])  # "²".isdigit() is True
def test_bad_selections_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a GPU selection"):
        GpuRequest.parse(text)


def test_a_count_claims_the_first_devices_and_all_claims_everything() -> None:
    assert claimed_devices(GpuRequest.parse("3")) == {"0", "1", "2"}
    assert claimed_devices(GpuRequest.parse("all")) is None
    assert claimed_devices(GpuRequest.parse("none")) == frozenset()


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("device=1", "device=0,1", "GPU 1"),
        ("device=0,2", "device=1", None),
        ("2", "device=1", "GPU 1"),  # a count of 2 is devices 0 and 1
        ("2", "device=2", None),
        ("1", "1", "GPU 0"),
        ("all", "device=3", "GPUs 3"),  # the total is unknown: all overlaps anything
        ("all", "all", "all GPUs"),
        ("none", "all", None),
        ("device=2,10", "12", "GPUs 2,10"),
    ],
)
def test_overlap(first: str, second: str, shared: str | None) -> None:
    assert overlap(GpuRequest.parse(first), GpuRequest.parse(second)) == shared
    assert overlap(GpuRequest.parse(second), GpuRequest.parse(first)) == shared


def held(name: str, gpus: str, state: str = "running"):
    return container(name, {"io.nimctl.managed": "true", LABEL_GPUS: gpus}, state=state, container_id=name + "-id")


def test_holders_skip_itself_stopped_containers_and_unlabelled_ones() -> None:
    others = [
        held("me", "all"),
        held("stopped", "all", state="exited"),
        container("older-nimctl", {"io.nimctl.managed": "true"}, state="running"),
        held("other", "device=1"),
        held("elsewhere", "device=3"),
    ]
    found = holders(GpuRequest.parse("device=0,1"), "me", others)
    assert [(h.name, h.devices) for h in found] == [("other", "GPU 1")]


def test_refusal_names_the_holder_and_exits_8() -> None:
    with pytest.raises(PreflightFailed) as refused:
        refuse_shared_gpus(GpuRequest.parse("2"), "new", [held("first-nim", "device=1")])
    assert refused.value.exit_code == ExitCode.PREFLIGHT_FAILED == 8
    assert "GPU 1 held by first-nim (gpus device=1)" in refused.value.message
    assert "--share-gpus" in refused.value.hint


def test_the_spec_labels_the_normalized_request(tmp_path: Path) -> None:
    loaded = load_settings({"cache_dir": tmp_path, "gpus": '"device=0,2"'}, profile="sim", environ={})
    assert build_spec(loaded.settings, loaded.profile.name).labels[LABEL_GPUS] == "device=0,2"


def gpu_settings(tmp_path: Path, gpus: str, share: bool | None = None):
    loaded = sim_settings(tmp_path)
    settings = loaded.settings.model_copy(update={"gpus": gpus, "share_gpus": bool(share)})
    return loaded.__class__(settings=settings, profile=loaded.profile, sources=loaded.sources)


def test_up_refuses_before_creating_anything(tmp_path: Path) -> None:
    engine = FakeEngine(held("first-nim", "device=1"))
    with pytest.raises(PreflightFailed, match="held by first-nim"):
        run_up(gpu_settings(tmp_path, "device=0,1"), engine)
    assert "create" not in engine.calls and "build" not in engine.calls


def test_share_gpus_lets_up_create_it(tmp_path: Path) -> None:
    engine = FakeEngine(held("first-nim", "device=1"), exit_code=3)  # exits at once: the create is what counts
    with pytest.raises(Exception, match="exited with code 3"):
        run_up(gpu_settings(tmp_path, "device=0,1", share=True), engine)
    assert "create" in engine.calls


def test_converging_on_its_own_running_container_is_no_overlap(tmp_path: Path) -> None:
    loaded = gpu_settings(tmp_path, "device=1")
    mine = container("policy-test", spec_labels(loaded), state="exited")
    engine = FakeEngine(mine, exit_code=3)
    with pytest.raises(Exception, match="exited with code 3"):
        run_up(loaded, engine)
    assert "start" in engine.calls


def test_a_holder_that_appeared_during_the_pull_is_seen_before_the_create(tmp_path: Path) -> None:
    engine = FakeEngine()
    listings = iter([[], [held("raced-in", "all", state="created")]])  # the early check, then the one at create
    engine.managed_containers = lambda name=None: next(listings)
    with pytest.raises(PreflightFailed, match="held by raced-in"):
        run_up(gpu_settings(tmp_path, "device=0"), engine)
    assert "create" not in engine.calls


@pytest.mark.parametrize(
    ("gpus", "share", "status", "detail"),
    [
        ("device=0,1", None, "fail", "gpus device=0,1: GPU 1 held by first-nim (gpus device=1)"),
        ("device=0,1", True, "warn", "held by first-nim (gpus device=1); shared (--share-gpus)"),
        ("device=2", None, "pass", "gpus device=2: no other nimctl container holds them"),
        ("none", None, "skip", "no GPU requested"),
    ],
)
def test_doctor_reports_gpus_another_nim_holds(tmp_path: Path, gpus: str, share, status: str, detail: str) -> None:
    from nimctl.preflight import check_gpu_sharing

    engine = FakeEngine(held("first-nim", "device=1"))
    check = check_gpu_sharing(gpu_settings(tmp_path, gpus, share).settings, engine)
    assert (check.name, check.status) == ("gpu sharing", status)
    assert detail in check.detail
    assert ("--share-gpus" in check.hint) == (status in ("fail", "warn"))
