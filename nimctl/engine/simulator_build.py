"""The simulator image, built on the engine from nimctl.simulator.image's recipe and context.

Built only when missing or when its recipe hash label differs from this checkout's recipe.
`python -m nimctl.engine.simulator_build` builds it on the local engine and says how long it took.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from nimctl.engine.docker_shims import docker
from nimctl.simulator import image as recipe
from nimctl.simulator.image import SIM_IMAGE


def build_simulator_image(client: Any, tag: str = SIM_IMAGE) -> Any:
    """Build (or rebuild) the simulator image on `client`'s engine; returns the docker-py Image.

    A failed build (or no host python3.11) is a RuntimeError with the build's log lines.
    """
    recipe.require_host_python()
    with (
        tempfile.TemporaryDirectory(prefix="nimctl-sim-build-") as workdir,
        recipe.build_context(Path(workdir)) as context,
    ):
        try:
            image, _logs = client.images.build(
                fileobj=context,
                custom_context=True,
                tag=tag,
                labels=recipe.image_labels(),
                rm=True,
                forcerm=True,
                pull=False,
            )
        except docker.errors.BuildError as err:
            log = [str(entry.get("stream") or entry.get("error") or "").strip() for entry in err.build_log]
            details = "\n".join(line for line in log if line)
            raise RuntimeError(f"building {tag} failed: {err.msg}\n{details}") from err
    return image


def ensure_simulator_image(client: Any, tag: str = SIM_IMAGE) -> Any:
    """The simulator image, built only when it is missing or its recipe hash differs (sources or recipe changed)."""
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return build_simulator_image(client, tag)
    if not recipe.is_current(image.labels):
        return build_simulator_image(client, tag)
    return image


def main() -> None:  # pragma: no cover - convenience: python -m nimctl.engine.simulator_build
    client = docker.from_env()
    started = time.monotonic()
    image = build_simulator_image(client)
    size_mb = image.attrs["Size"] / 1e6
    print(f"built {image.tags} {image.short_id} in {time.monotonic() - started:.1f} s, {size_mb:.1f} MB")


if __name__ == "__main__":  # pragma: no cover
    main()
