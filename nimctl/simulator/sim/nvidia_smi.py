#!/usr/bin/python3.11
"""A stand-in `nvidia-smi` (installed as /usr/bin/nvidia-smi in the simulator image): with `-L` it
lists the GPUs the engine gave the container, read from NVIDIA_VISIBLE_DEVICES as the NVIDIA
runtime (Docker) or a CDI spec (Podman) sets it. Nothing given: "No devices were found", exit 6,
as the real tool does. So nimctl's GPU check is tested against a real engine without a GPU.
"""

from __future__ import annotations

import os
import sys

SIM_GPU_COUNT = 2  # what "all" means here
NO_DEVICES_EXIT = 6  # nvidia-smi's exit code when it finds no device
GPU_NAME = "NVIDIA Simulated GPU (nimctl stand-in)"


def visible_gpus(value: str | None) -> list[str]:
    if value is None or value.strip() in ("", "void", "none"):
        return []
    if value.strip() == "all":
        return [str(index) for index in range(SIM_GPU_COUNT)]
    return [part.strip() for part in value.split(",") if part.strip()]


def listing(gpus: list[str]) -> str:
    lines = []
    for index, device in enumerate(gpus):
        uuid = device if device.startswith("GPU-") else f"GPU-00000000-0000-4000-8000-{int(device):012d}"
        lines.append(f"GPU {index}: {GPU_NAME} (UUID: {uuid})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    gpus = visible_gpus(os.environ.get("NVIDIA_VISIBLE_DEVICES"))
    if not gpus:
        print("No devices were found")
        return NO_DEVICES_EXIT
    if "-L" in argv or "--list-gpus" in argv:
        print(listing(gpus))
        return 0
    print(f"stand-in nvidia-smi: {len(gpus)} GPU(s); only -L is implemented")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
