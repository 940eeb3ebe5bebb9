"""The images a chat request points to: decode base64 data URLs, fetch http(s) URLs, identify the
bytes, and refuse what the NIM refuses."""

from __future__ import annotations

import base64
import binascii
import re
import urllib.error
import urllib.request

from .api_error import ApiError, bad_request
from .config import SimConfig
from .imaging import ImageInfo, image_size, other_format_name, sniff_image_format
from .rules import ChatRequest

IMAGE_FETCH_TIMEOUT_S = 5.0
MAX_IMAGE_BYTES = 20 * 1024 * 1024
SUPPORTED_FORMATS_TEXT = "GIF, JPG, JPEG and PNG"


def _unsupported_format(found: str) -> ApiError:
    return bad_request(f"Unsupported image format ({found}). Supported image formats are {SUPPORTED_FORMATS_TEXT}.")


def _decode_data_url(url: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep or not header.endswith(";base64"):
        raise bad_request("Image data URLs must be base64 encoded: data:image/<format>;base64,<data>")
    try:
        return base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("Invalid base64 image data in the data URL") from None


def _fetch_url(url: str) -> bytes:
    # no proxies: the simulator only ever fetches what a test serves on loopback or its own network
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=IMAGE_FETCH_TIMEOUT_S) as response:
            data = response.read(MAX_IMAGE_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise bad_request(f"Failed to fetch the image at {url}: {reason}") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise bad_request(f"The image at {url} is larger than {MAX_IMAGE_BYTES} bytes")
    return data


def load_image(url: str, cfg: SimConfig) -> ImageInfo:
    """Fetch or decode one image and identify it, as the NIM does before running the model."""
    if url.startswith("data:"):
        data = _decode_data_url(url)
        if cfg.broken("image-base64"):
            raise _unsupported_format(other_format_name(data))
    elif url.startswith(("http://", "https://")):
        data = _fetch_url(url)
    else:
        raise bad_request("Image URLs must be http(s) URLs or base64 data URLs")
    fmt = sniff_image_format(data)
    if fmt is None:
        if cfg.broken("image-format"):
            return ImageInfo("unknown", None, None)
        raise _unsupported_format(other_format_name(data))
    size = image_size(data, fmt)
    if size is None:
        raise bad_request(f"Cannot identify the image: the {fmt} data is truncated or corrupt")
    return ImageInfo(fmt, size[0], size[1])


def load_images(request: ChatRequest, cfg: SimConfig) -> None:
    for image in request.images:
        image.info = load_image(image.url, cfg)
