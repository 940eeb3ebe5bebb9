"""Tiny, valid test images for the smoke checks, so they need neither Pillow nor files.

The encoders live in the simulator's stdlib-only package (the simulator serves and reads the same
images); this module names the formats the smoke checks send.
"""

from __future__ import annotations

from nimctl.simulator.sim.imaging import NVIDIA_GREEN, SIDE, bmp, data_url, gif, jpeg, png

__all__ = ["NVIDIA_GREEN", "SIDE", "bmp", "data_url", "gif", "jpeg", "png", "supported_images"]


# The formats NVIDIA's page lists as supported, as (label, MIME type, bytes).
def supported_images() -> list[tuple[str, str, bytes]]:
    return [("PNG", "image/png", png()), ("JPEG", "image/jpeg", jpeg()), ("GIF", "image/gif", gif())]
