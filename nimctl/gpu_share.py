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
    if mine is ALL or theirs is ALL:
        return "all GPUs" if mine is ALL and theirs is ALL else "GPUs " + ",".join(sorted(mine or theirs or ()))
    common = sorted(mine & theirs, key=lambda device: (len(device), device))  # 2 before 10
    if not common:
        return None
    return ("GPU " if len(common) == 1 else "GPUs ") + ",".join(common)


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
