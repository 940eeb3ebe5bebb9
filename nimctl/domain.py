"""nimctl's domain types and NIM defaults, defined once (standard library only).

Sizes as docker reads them, GPU requests as `--gpus` reads them, the URL a published port answers
on, and the NIM's own defaults (readiness path, images per prompt). Settings, the container spec,
the engine and the CLI import them from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nimctl import validation

DEFAULT_READINESS_PATH = "/v1/health/ready"
DEFAULT_LIVENESS_PATH = "/v1/health/live"
DEFAULT_MAX_IMAGES = 5  # the NIM's own default for NIM_MAX_IMAGES_PER_PROMPT


def parse_size(text: str | int) -> int:
    """Docker's size syntax: ``32GB``, ``32g``, ``512MiB``, ``1073741824`` (units are powers of 1024),
    in bytes, 1 to int64's maximum (the rule is `nimctl.validation.size`)."""
    return validation.size(text)


_DEVICE_ID = re.compile(r"[0-9]+|GPU-[0-9a-fA-F-]+")


WILDCARD_HOSTS = ("0.0.0.0", "", "::")  # publish on every interface (a NIM has no auth: `up` warns)


def host_url(host: str, port: int | str) -> str:
    """The URL a published port answers on from this host."""
    reachable = "127.0.0.1" if host in WILDCARD_HOSTS else host
    return f"http://{reachable}:{port}"


@dataclass(frozen=True)
class GpuRequest:
    """`--gpus` as docker reads it: all, a count, device ids (`device=0,2`, or bare `0,2`), or none."""

    count: int | None = None  # -1 means all
    device_ids: tuple[str, ...] = ()

    @property
    def wanted(self) -> bool:
        return self.count not in (None, 0) or bool(self.device_ids)

    @property
    def normalized(self) -> str:
        """One spelling per request (`all`, `2`, `device=0,2`, `none`): the container's label, and `status`."""
        if self.device_ids:
            return "device=" + ",".join(self.device_ids)
        if self.count == -1:
            return "all"
        return str(self.count) if self.wanted else "none"

    @classmethod
    def parse(cls, text: str) -> GpuRequest:
        # docker's own quoting: --gpus '"device=0,2"' (the comma would otherwise split its CSV)
        value = text.strip().strip('"').strip()
        lowered = value.lower()
        if lowered == "all":
            return cls(count=-1)
        if lowered in ("none", "0", ""):
            return cls(count=None)
        if re.fullmatch(r"[0-9]+", lowered):  # a bare number is a count, as in docker (ASCII digits: "²" is not one)
            return cls(count=int(lowered))
        listed = value[len("device=") :] if lowered.startswith("device=") else value
        ids = tuple(part.strip() for part in listed.split(","))
        if all(_DEVICE_ID.fullmatch(part) for part in ids):
            return cls(device_ids=ids)
        raise ValueError(
            f"{text!r} is not a GPU selection (use all, a count, device=1 or device=0,2, ids like 0,1, or none)"
        )
