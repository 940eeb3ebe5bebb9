"""Which GPUs a request claims, and which other nimctl containers already hold them.

Devices are counted as the NVIDIA runtime hands them out: a count of N is the first N devices
(0..N-1), `all` is every device. The GPU total is unknown here, so `all` overlaps any request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nimctl.container import ContainerInfo
from nimctl.domain import GpuRequest
from nimctl.errors import PreflightFailed

ALL = None  # claimed_devices() of `all`: every device, whatever their number

# a container in these states holds its GPUs, or will once started again by `up`
_HOLDING_STATES = ("running", "restarting", "paused", "created")


def claimed_devices(request: GpuRequest) -> frozenset[str] | None:
    """The device ids a request takes (ALL for every device); empty for none."""
    if request.device_ids:
        return frozenset(request.device_ids)
    if request.count == -1:
        return ALL
    return frozenset(str(index) for index in range(request.count or 0))


def overlap(first: GpuRequest, second: GpuRequest) -> str | None:
    """What two requests both claim, in words ("GPU 1", "all GPUs"), or None when they share nothing."""
    if not (first.wanted and second.wanted):
        return None
    mine, theirs = claimed_devices(first), claimed_devices(second)
    if mine is ALL and theirs is ALL:
        return "all GPUs"
    if mine is ALL or theirs is ALL:
        return "GPUs " + device_list(mine or theirs or ())
    common = mine & theirs
    if not common:
        return None
    return ("GPU " if len(common) == 1 else "GPUs ") + device_list(common)


MAX_LISTED = 8  # device ids a message names before it counts the rest: `doctor --gpus 999` stays one short line


def device_list(devices: Iterable[str]) -> str:
    """Device ids in words, short whatever their number: runs of indices as ranges (`0-998`), at most
    MAX_LISTED parts, then how many more (`GPU-a,GPU-b,... and 4 more`)."""
    ordered = sorted(devices, key=lambda device: (len(device), device))  # 2 before 10
    parts: list[str] = []
    run: list[int] = []

    def close_run() -> None:
        if run:
            parts.append(
                str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" if len(run) > 2 else f"{run[0]},{run[1]}"
            )
            run.clear()

    for device in ordered:
        if device.isdigit() and len(device) < 10:
            if run and int(device) != run[-1] + 1:
                close_run()
            run.append(int(device))
        else:
            close_run()
            parts.append(device)
    close_run()
    shown = ",".join(parts[:MAX_LISTED])
    return shown if len(parts) <= MAX_LISTED else f"{shown},... and {len(parts) - MAX_LISTED} more"


@dataclass(frozen=True)
class Holder:
    name: str
    gpus: GpuRequest
    devices: str  # the overlap, in words


def holders(request: GpuRequest, name: str, others: Iterable[ContainerInfo]) -> list[Holder]:
    """The other nimctl containers (not `name`) holding a GPU that `request` claims."""
    found = []
    for info in others:
        held = info.gpus
        if info.name == name or held is None or info.state not in _HOLDING_STATES:
            continue
        devices = overlap(request, held)
        if devices is not None:
            found.append(Holder(info.name, held, devices))
    return found


SHARE_HINT = "pick other devices (--gpus device=N), stop the holder (nimctl down --name ...), or pass --share-gpus"


def describe_holders(request: GpuRequest, taken: list[Holder]) -> str:
    """`gpus 2: GPU 1 held by nim-a (gpus device=1)`, naming the first holder and counting the rest."""
    first = taken[0]
    more = f" (and {len(taken) - 1} more: {', '.join(h.name for h in taken[1:])})" if len(taken) > 1 else ""
    return f"gpus {request.normalized}: {first.devices} held by {first.name} (gpus {first.gpus.normalized}){more}"


def refuse_shared_gpus(request: GpuRequest, name: str, others: Iterable[ContainerInfo]) -> None:
    """Raise PreflightFailed (exit 8) naming the holder when another container holds a claimed GPU."""
    taken = holders(request, name, others)
    if taken:
        raise PreflightFailed(f"preflight: {describe_holders(request, taken)}", hint=SHARE_HINT)
