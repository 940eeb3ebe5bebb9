"""NIM simulator: looks, from a launcher's side, like the Mistral-Small-4-119B-2603 NIM container.

Standard library only: this file runs as `python3.11 -u server.py` on the bare Debian interpreter
inside a FROM-scratch image, and is imported in-process by tests (`start_in_thread`). No model is
loaded; answers are deterministic text built from the request. See docs/architecture.md,
"Simulator contract", for the environment variables and the SIM_BREAK names.
"""

from __future__ import annotations

import base64
import binascii
import collections
import dataclasses
import hashlib
import json
import math
import os
import random
import re
import signal
import socketserver
import struct
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

DEFAULT_MODEL = "mistralai/mistral-small-4-119b-2603"
# What /v1/models lists when SIM_BREAK=models: a real, but different, Mistral NIM model id.
WRONG_MODEL_ID = "mistralai/mistral-small-3.1-24b-instruct-2503"
NIM_RELEASE = "1.7.0-variant"
PROFILE_NAME = "vllm-bf16-tp1-pp1"
DEFAULT_MAX_MODEL_LEN = 131072

BREAK_NAMES = frozenset(
    {
        "models",
        "text",
        "stream",
        "image-base64",
        "image-format",
        "multi-turn",
        "continue-final",
        "reasoning",
        "reasoning-none",
        "tools",
        "tool-args",
        "function-role",
        "max-images",
        "chat-template",
        "hang",
    }
)

IMAGE_FETCH_TIMEOUT_S = 5.0
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_REQUEST_BYTES = 64 * 1024 * 1024
SUPPORTED_FORMATS_TEXT = "GIF, JPG, JPEG and PNG"


# --------------------------------------------------------------------------------------------
# Tiny test images (pure; other code imports these to build requests)
# --------------------------------------------------------------------------------------------


def tiny_png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    """A valid RGB PNG of one solid colour."""
    row = b"\x00" + bytes(rgb) * width  # filter byte 0 (None) then the pixels
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# The classic 1x1 GIF89a: 2-colour palette, one pixel, LZW codes clear / 0 / end.
_TINY_GIF = bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b")


def tiny_gif() -> bytes:
    """A valid 1x1 GIF."""
    return _TINY_GIF


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def tiny_jpeg(width: int = 1, height: int = 1) -> bytes:
    """A valid baseline greyscale JPEG, mid grey.

    Both Huffman tables hold a single 1-bit code ("0"): the DC table codes "difference 0" and the
    AC table codes "end of block", so every 8x8 block is just the two bits "00".
    """
    app0 = _jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = _jpeg_segment(0xDB, b"\x00" + b"\x01" * 64)
    sof0 = _jpeg_segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    one_code = b"\x01" + b"\x00" * 15  # code-length counts: one code of length 1
    dht_dc = _jpeg_segment(0xC4, b"\x00" + one_code + b"\x00")
    dht_ac = _jpeg_segment(0xC4, b"\x10" + one_code + b"\x00")
    sos = _jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    blocks = math.ceil(width / 8) * math.ceil(height / 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)  # pad the last byte with 1-bits, as the standard asks
    scan = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return b"\xff\xd8" + app0 + dqt + sof0 + dht_dc + dht_ac + sos + scan + b"\xff\xd9"


# --------------------------------------------------------------------------------------------
# Image inspection
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    format: str  # "PNG", "JPEG", "GIF", or "unknown" (only with SIM_BREAK=image-format)
    width: int | None
    height: int | None

    def describe(self) -> str:
        if self.width is None:
            return "an image in an unrecognised format"
        return f"{_article_for(self.width)} {self.width}x{self.height} {self.format} image"


def _article_for(number: int) -> str:
    """ "an" before numbers read as eight..., eleven... or eighteen... ("an 8x8", "an 11x4")."""
    digits = str(number)
    spoken_as_eleven_or_eighteen = len(digits) % 3 == 2 and digits[:2] in ("11", "18")
    return "an" if digits[0] == "8" or spoken_as_eleven_or_eighteen else "a"


def sniff_image_format(data: bytes) -> str | None:
    """Name of the format from the magic bytes, None if it is not one of the accepted formats."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    return None


def _other_format_name(data: bytes) -> str:
    """Best guess at an unsupported format, only to make the error message useful."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith(b"BM"):
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return "unknown"


_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF_MARKERS and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def image_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """(width, height) read from the header, None when the header is truncated or corrupt."""
    if fmt == "PNG" and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if fmt == "GIF" and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if fmt == "JPEG":
        return _jpeg_size(data)
    return None


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


def _parse_delay_range(value: Any) -> tuple[float, float]:
    """1.5 -> (1.5, 1.5); "0.5-2" -> (0.5, 2.0); a (lo, hi) pair is checked and kept."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        low, high = float(value[0]), float(value[1])
    elif isinstance(value, (int, float)):
        low = high = float(value)
    else:
        text = str(value).strip()
        low_text, sep, high_text = text.partition("-")
        try:
            low = float(low_text)
            high = float(high_text) if sep else low
        except ValueError:
            raise ValueError(f"expected seconds or 'a-b', got {text!r}") from None
    if low < 0 or high < low:
        raise ValueError(f"expected 0 <= a <= b, got {low}-{high}")
    return low, high


def _parse_breaks(value: Any) -> frozenset[str]:
    names = value.split(",") if isinstance(value, str) else list(value)
    breaks = frozenset(name.strip() for name in names if name.strip())
    unknown = sorted(breaks - BREAK_NAMES)
    if unknown:
        raise ValueError(f"unknown name(s) {', '.join(unknown)}; known: {', '.join(sorted(BREAK_NAMES))}")
    return breaks


@dataclasses.dataclass(frozen=True)
class SimConfig:
    ngc_api_key: str = dataclasses.field(default="", repr=False)  # never shown
    nvidia_visible_devices: str | None = None
    cache_path: str = "/opt/nim/.cache"
    served_model_name: str = DEFAULT_MODEL
    max_images_per_prompt: int = 5
    max_model_len: int = DEFAULT_MAX_MODEL_LEN
    port: int = 8000
    shm_min_bytes: int = 1 << 30
    live_delay: float = 0.1
    # seconds from live to ready; a number, "a-b" or (a, b): drawn uniformly from [a, b]
    startup_delay: Any = (1.0, 1.0)
    crash_after: float | None = None
    crash_code: int = 3
    exit_after_ready: float | None = None
    token_delay: float = 0.002
    breaks: Any = frozenset()

    def __post_init__(self) -> None:
        # normalise the convenient forms so the rest of the code sees one type
        object.__setattr__(self, "startup_delay", _parse_delay_range(self.startup_delay))
        object.__setattr__(self, "breaks", _parse_breaks(self.breaks))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SimConfig:
        """Read the contract's variables; raises ValueError naming the variable that is wrong."""
        env = os.environ if env is None else env

        def get(name: str, convert: Callable[[str], Any], default: Any) -> Any:
            raw = env.get(name)
            if raw is None or raw.strip() == "":
                return default
            try:
                return convert(raw.strip())
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from None

        return cls(
            ngc_api_key=env.get("NGC_API_KEY", ""),
            nvidia_visible_devices=env.get("NVIDIA_VISIBLE_DEVICES"),
            cache_path=get("NIM_CACHE_PATH", str, "/opt/nim/.cache"),
            served_model_name=get("NIM_SERVED_MODEL_NAME", str, DEFAULT_MODEL),
            max_images_per_prompt=get("NIM_MAX_IMAGES_PER_PROMPT", int, 5),
            max_model_len=get("NIM_MAX_MODEL_LEN", int, DEFAULT_MAX_MODEL_LEN),
            port=get("NIM_SERVER_PORT", int, 8000),
            shm_min_bytes=get("SIM_SHM_MIN_BYTES", int, 1 << 30),
            live_delay=get("SIM_LIVE_DELAY", float, 0.1),
            startup_delay=get("SIM_STARTUP_DELAY", _parse_delay_range, (1.0, 1.0)),
            crash_after=get("SIM_CRASH_AFTER", float, None),
            crash_code=get("SIM_CRASH_CODE", int, 3),
            exit_after_ready=get("SIM_EXIT_AFTER_READY", float, None),
            token_delay=get("SIM_TOKEN_DELAY", float, 0.002),
            breaks=get("SIM_BREAK", _parse_breaks, frozenset()),
        )

    def broken(self, name: str) -> bool:
        return name in self.breaks

    def draw_startup_delay(self) -> float:
        low, high = self.startup_delay
        return random.uniform(low, high)


# --------------------------------------------------------------------------------------------
# Logging, shaped like NIM's: "INFO 2026-01-02 03:04:05.678 source.py:12] message"
# --------------------------------------------------------------------------------------------


class SimLog:
    def __init__(self, stream: TextIO | None = None, keep: int = 0):
        self.stream = stream
        self.lines: collections.deque[str] = collections.deque(maxlen=keep or None)
        self._keep = keep > 0
        self._lock = threading.RLock()  # re-entrant: the signal handler may log on the main thread

    @staticmethod
    def format(level: str, source: str, message: str) -> str:
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
        return f"{level} {stamp} {source}] {message}"

    def write(self, level: str, source: str, message: str) -> None:
        line = self.format(level, source, message)
        with self._lock:
            if self._keep:
                self.lines.append(line)
            if self.stream is not None:
                self.stream.write(line + "\n")
                self.stream.flush()

    def raw(self, text: str) -> None:
        """Banner lines, printed as they are."""
        with self._lock:
            for line in text.splitlines():
                if self._keep:
                    self.lines.append(line)
                if self.stream is not None:
                    self.stream.write(line + "\n")
            if self.stream is not None:
                self.stream.flush()

    def info(self, source: str, message: str) -> None:
        self.write("INFO", source, message)

    def error(self, source: str, message: str) -> None:
        self.write("ERROR", source, message)


# --------------------------------------------------------------------------------------------
# Request errors
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answer shaped like vLLM's (the server inside the NIM)."""

    def __init__(self, status: int, message: str, kind: str = "BadRequestError"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind

    def body(self) -> dict:
        return {"object": "error", "message": self.message, "type": self.kind, "param": None, "code": self.status}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


# --------------------------------------------------------------------------------------------
# Chat request parsing and validation
# --------------------------------------------------------------------------------------------

KNOWN_ROLES = ("system", "user", "assistant", "tool")
REASONING_EFFORTS = ("none", "low", "medium", "high")


@dataclasses.dataclass
class ImagePart:
    url: str
    info: ImageInfo | None = None  # filled in by load_images


@dataclasses.dataclass
class Message:
    role: str
    text: str
    images: list[ImagePart]
    tool_calls: list[dict]
    tool_call_id: str | None


@dataclasses.dataclass
class ToolSpec:
    name: str
    parameters: dict


@dataclasses.dataclass
class ChatRequest:
    model: str
    messages: list[Message]
    stream: bool
    include_usage: bool
    max_tokens: int | None
    reasoning_effort: str | None
    tools: list[ToolSpec]
    tool_choice: Any
    continue_final: bool
    n: int

    @property
    def images(self) -> list[ImagePart]:
        return [image for message in self.messages for image in message.images]


def _parse_content(content: Any, where: str) -> tuple[str, list[ImagePart]]:
    """String content, or a list of text / image_url parts -> (text, images)."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    if not isinstance(content, list):
        raise bad_request(f"{where}.content must be a string or a list of content parts")
    texts: list[str] = []
    images: list[ImagePart] = []
    for index, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            image_url = part.get("image_url")
            url = image_url.get("url") if isinstance(image_url, dict) else image_url
            if not isinstance(url, str) or not url:
                raise bad_request(f"{where}.content[{index}].image_url.url must be a non-empty string")
            images.append(ImagePart(url))
        else:
            raise bad_request(
                f"{where}.content[{index}]: unsupported content part type {kind!r}; use 'text' or 'image_url'"
            )
    return " ".join(texts), images


def _parse_message(raw: Any, index: int, cfg: SimConfig) -> Message | None:
    """One message; None for a `function` message accepted under SIM_BREAK=function-role."""
    where = f"messages[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("role"), str):
        raise bad_request(f"{where} must be an object with a string 'role'")
    role = raw["role"]
    if role == "function":
        if cfg.broken("function-role"):
            return None  # accepted and ignored
        raise bad_request(f"{where}: the role 'function' is not supported; use the role 'tool' for tool results")
    if role not in KNOWN_ROLES:
        raise bad_request(f"{where}: unsupported role {role!r}; expected one of {', '.join(KNOWN_ROLES)}")
    text, images = _parse_content(raw.get("content"), where)
    if role == "user" and raw.get("content") is None:
        raise bad_request(f"{where}: a user message needs content")
    tool_calls = raw.get("tool_calls") or []
    if role == "assistant":
        _check_tool_calls(tool_calls, where)
    tool_call_id = raw.get("tool_call_id")
    if role == "tool" and not isinstance(tool_call_id, str):
        raise bad_request(f"{where}: a tool message needs a string 'tool_call_id'")
    return Message(role, text, images, list(tool_calls), tool_call_id)


def _check_tool_calls(tool_calls: Any, where: str) -> None:
    if not isinstance(tool_calls, list):
        raise bad_request(f"{where}.tool_calls must be a list")
    for index, call in enumerate(tool_calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or not isinstance(call.get("id"), str) or not isinstance(function, dict):
            raise bad_request(f"{where}.tool_calls[{index}] needs an 'id' and a 'function'")
        if not isinstance(function.get("name"), str):
            raise bad_request(f"{where}.tool_calls[{index}].function needs a 'name'")


def _allowed_after(previous: Message | None) -> tuple[str, ...]:
    """Roles that may follow `previous` (None = start of the conversation, after system messages)."""
    if previous is None:
        return ("user",)
    if previous.role == "user":
        return ("assistant",)
    if previous.role == "assistant":
        return ("tool",) if previous.tool_calls else ("user",)
    return ("tool", "assistant", "user")  # after a tool result


def check_conversation(messages: list[Message], *, continue_final: bool, cfg: SimConfig) -> None:
    """Mistral's rules: system first, then strict user/assistant alternation, tool results right after
    the assistant's tool calls, and a last message from the user (or a tool)."""
    previous: Message | None = None
    known_call_ids: set[str] = set()
    for index, message in enumerate(messages):
        if message.role == "system":
            if previous is not None:
                raise bad_request(f"messages[{index}]: system messages are only allowed at the beginning")
            continue
        allowed = _allowed_after(previous)
        if message.role not in allowed:
            after = f"after a '{previous.role}' message" if previous else "as the first non-system message"
            raise bad_request(
                f"Conversation roles must alternate user/assistant/user/assistant/...: "
                f"messages[{index}] has role '{message.role}' {after}, expected {' or '.join(allowed)}"
            )
        if message.role == "assistant":
            known_call_ids.update(call["id"] for call in message.tool_calls)
        if message.role == "tool" and message.tool_call_id not in known_call_ids:
            raise bad_request(
                f"messages[{index}]: tool_call_id {message.tool_call_id!r} does not match any earlier tool call"
            )
        previous = message
    last_role = previous.role if previous else "system"
    if last_role in ("user", "tool"):
        return
    if last_role == "assistant" and (continue_final or cfg.broken("multi-turn")):
        return
    raise bad_request(
        f"Expected the last message to be from the user or a tool, got role '{last_role}': the last message "
        "must be user. To continue an assistant message, set add_generation_prompt=false and "
        "continue_final_message=true."
    )


def _parse_tools(raw: Any) -> list[ToolSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request("tools must be a list")
    tools = []
    for index, tool in enumerate(raw):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(function, dict):
            raise bad_request(f"tools[{index}] must be {{'type': 'function', 'function': {{...}}}}")
        if not isinstance(function.get("name"), str) or not function["name"]:
            raise bad_request(f"tools[{index}].function needs a 'name'")
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        if not isinstance(parameters, dict):
            raise bad_request(f"tools[{index}].function.parameters must be a JSON schema object")
        tools.append(ToolSpec(function["name"], parameters))
    return tools


def _parse_tool_choice(raw: Any, tools: list[ToolSpec]) -> Any:
    if raw is None or raw in ("auto", "none"):
        return raw
    if raw == "required" or isinstance(raw, dict):
        if not tools:
            raise bad_request("When using `tool_choice`, `tools` must be set.")
        if raw == "required":
            return raw
        name = (raw.get("function") or {}).get("name") if raw.get("type") == "function" else None
        if name not in [tool.name for tool in tools]:
            raise bad_request(f"tool_choice names the function {name!r}, which is not in tools")
        return raw
    raise bad_request("tool_choice must be 'none', 'auto', 'required' or a named function")


def _int_param(body: dict, name: str, minimum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{name} must be an integer")
    if value < minimum:
        raise bad_request(f"{name} must be at least {minimum}, got {value}")
    return value


def parse_chat_request(body: Any, cfg: SimConfig) -> ChatRequest:
    """Validate a /v1/chat/completions body; raises ApiError as the NIM would."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    model = body.get("model") or cfg.served_model_name
    if model != cfg.served_model_name:
        raise ApiError(404, f"The model `{model}` does not exist.", "NotFoundError")
    if body.get("chat_template") is not None and not cfg.broken("chat-template"):
        raise bad_request(
            "chat_template is not supported for Mistral tokenizers: they use their built-in chat template"
        )
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise bad_request("messages must be a non-empty list")
    messages = [m for i, raw in enumerate(raw_messages) if (m := _parse_message(raw, i, cfg)) is not None]

    add_generation_prompt = body.get("add_generation_prompt", True)
    continue_final = bool(body.get("continue_final_message", False))
    if continue_final and add_generation_prompt:
        raise bad_request("Cannot set both `continue_final_message` and `add_generation_prompt` to True.")
    if cfg.broken("continue-final"):
        continue_final = False

    reasoning_effort = body.get("reasoning_effort")
    if reasoning_effort is not None and reasoning_effort not in REASONING_EFFORTS:
        raise bad_request(f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}")
    tools = _parse_tools(body.get("tools"))
    stream = bool(body.get("stream", False))
    stream_options = body.get("stream_options") or {}
    if stream_options and not stream:
        raise bad_request("Stream options can only be defined when `stream=True`.")
    max_tokens = _int_param(body, "max_tokens", 1)
    if max_tokens is None:
        max_tokens = _int_param(body, "max_completion_tokens", 1)
    request = ChatRequest(
        model=model,
        messages=messages,
        stream=stream,
        include_usage=bool(isinstance(stream_options, dict) and stream_options.get("include_usage")),
        max_tokens=max_tokens,
        reasoning_effort=reasoning_effort,
        tools=tools,
        tool_choice=_parse_tool_choice(body.get("tool_choice"), tools),
        continue_final=continue_final,
        n=_int_param(body, "n", 1) or 1,
    )
    _check_image_count(request, cfg)
    check_conversation(messages, continue_final=continue_final, cfg=cfg)
    _check_context_length(request, cfg)
    return request


def _check_image_count(request: ChatRequest, cfg: SimConfig) -> None:
    limit = cfg.max_images_per_prompt
    if len(request.images) > limit and not cfg.broken("max-images"):
        raise bad_request(f"At most {limit} image(s) may be provided in one request.")


def _check_context_length(request: ChatRequest, cfg: SimConfig) -> None:
    prompt = count_prompt_tokens(request)
    wanted = prompt + (request.max_tokens or 0)
    if wanted > cfg.max_model_len:
        raise bad_request(
            f"This model's maximum context length is {cfg.max_model_len} tokens. However, you requested "
            f"{wanted} tokens ({prompt} in the messages, {request.max_tokens} in the completion). "
            "Please reduce the length of the messages or completion."
        )


# --------------------------------------------------------------------------------------------
# Image loading (data: URLs and http(s) URLs)
# --------------------------------------------------------------------------------------------


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
            raise _unsupported_format(_other_format_name(data))
    elif url.startswith(("http://", "https://")):
        data = _fetch_url(url)
    else:
        raise bad_request("Image URLs must be http(s) URLs or base64 data URLs")
    fmt = sniff_image_format(data)
    if fmt is None:
        if cfg.broken("image-format"):
            return ImageInfo("unknown", None, None)
        raise _unsupported_format(_other_format_name(data))
    size = image_size(data, fmt)
    if size is None:
        raise bad_request(f"Cannot identify the image: the {fmt} data is truncated or corrupt")
    return ImageInfo(fmt, size[0], size[1])


def load_images(request: ChatRequest, cfg: SimConfig) -> None:
    for image in request.images:
        image.info = load_image(image.url, cfg)


# --------------------------------------------------------------------------------------------
# Answers (deterministic, built from the request)
# --------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"\s*\S+|\s+$")


def split_tokens(text: str) -> list[str]:
    """Word-ish tokens that join back to the text exactly."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(split_tokens(text))


def count_prompt_tokens(request: ChatRequest) -> int:
    total = 0
    for message in request.messages:
        total += 3 + count_tokens(message.text)  # role markers
        total += sum(count_tokens(json.dumps(call)) for call in message.tool_calls)
    for image in request.images:
        info = image.info
        # Pixtral-like: one token per 16x16 patch, at least one
        total += max(1, math.ceil((info.width or 16) / 16) * math.ceil((info.height or 16) / 16)) if info else 1
    total += sum(count_tokens(json.dumps(tool.parameters)) + 3 for tool in request.tools)
    return total


def _first_words(text: str, limit: int = 12) -> str:
    words = text.split()
    quoted = " ".join(words[:limit])
    return quoted + (" ..." if len(words) > limit else "")


def _last_words(text: str, limit: int = 6) -> str:
    return " ".join(text.split()[-limit:])


def _describe_images(images: list[ImagePart]) -> str:
    descriptions = [image.info.describe() for image in images if image.info]
    if len(descriptions) == 1:
        return descriptions[0]
    return f"{len(descriptions)} images: " + ", ".join(descriptions[:-1]) + " and " + descriptions[-1]


def _last_user(request: ChatRequest) -> Message | None:
    return next((m for m in reversed(request.messages) if m.role == "user"), None)


def _tool_name_for(request: ChatRequest, call_id: str | None) -> str:
    for message in request.messages:
        for call in message.tool_calls:
            if call.get("id") == call_id:
                return call["function"]["name"]
    return "tool"


def compose_reply(request: ChatRequest, model: str) -> str:
    """The answer text: echoes the question, names the images, uses tool results."""
    last = request.messages[-1]
    if last.role == "assistant":  # continue_final_message: continue the partial assistant text
        lead = "" if last.text.endswith((" ", "\n")) or not last.text else " "
        return f'{lead}and that completes the reply that ended with "{_last_words(last.text)}".'

    user = _last_user(request)
    question = _first_words(user.text) if user else ""
    sentences: list[str] = []
    if last.role == "tool":
        trailing_tools = []
        for message in reversed(request.messages):
            if message.role != "tool":
                break
            trailing_tools.insert(0, message)
        for message in trailing_tools:
            name = _tool_name_for(request, message.tool_call_id)
            sentences.append(f'The {name} tool returned "{_first_words(message.text, 20)}".')
        sentences.append(f'Based on that result, this answers "{question}".' if question else "That is the answer.")
        return " ".join(sentences)

    if user and user.images:
        sentences.append(f"I see {_describe_images(user.images)}.")
    elif request.images:
        sentences.append(f"Earlier you shared {_describe_images(request.images)}.")
    sentences.append(f'You asked: "{question}".' if question else "You sent no text.")
    turn = sum(1 for m in request.messages if m.role == "user")
    if turn > 1:
        sentences.append(f"This is turn {turn} of our conversation.")
    sentences.append(f"This is a simulated answer from {model}.")
    return " ".join(sentences)


_REASONING_STEPS = (
    "Let me think about this step by step.",
    "First, I work out what exactly is being asked and which details matter.",
    "Then I check those details once more before answering, so the reply is short and correct.",
)


def compose_reasoning(request: ChatRequest, effort: str) -> str:
    user = _last_user(request)
    question = _first_words(user.text, 8) if user else "the conversation so far"
    steps = {"low": 1, "medium": 2, "high": 3}.get(effort, 3)
    return f'The user asks "{question}". ' + " ".join(_REASONING_STEPS[:steps])


def _argument_hint(request: ChatRequest) -> str:
    """A string argument taken from the question: its last capitalised word (a place, a name...)."""
    user = _last_user(request)
    words = [w.strip(".,;:!?\"'()") for w in (user.text.split() if user else [])]
    proper = [w for w in words[1:] if w[:1].isupper()]
    return proper[-1] if proper else "example"


def example_value(schema: Any, hint: str) -> Any:
    """A value valid for a (simple) JSON schema: required properties filled, enums take their first value."""
    if not isinstance(schema, dict):
        return hint
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            usable = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return example_value((usable or options)[0], hint)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties") or {}
        return {name: example_value(properties.get(name, {}), hint) for name in schema.get("required") or []}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [example_value(schema.get("items", {}), hint) for _ in range(count)]
    if kind in ("integer", "number"):
        return _example_number(schema, kind)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _example_string(schema, hint)


def _example_number(schema: dict, kind: str) -> int | float:
    value: float = 1
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], (int, float)):
        value = max(value, schema["exclusiveMinimum"] + 1)
    if "maximum" in schema and value > schema["maximum"]:
        value = schema["maximum"]
    return math.ceil(value) if kind == "integer" else value


def _example_string(schema: dict, hint: str) -> str:
    formats = {
        "date": "2026-01-01",
        "date-time": "2026-01-01T00:00:00Z",
        "email": "user@example.com",
        "uri": "https://example.com",
        "uuid": "00000000-0000-4000-8000-000000000000",
    }
    value = formats.get(schema.get("format"), hint)
    min_length = int(schema.get("minLength", 0))
    if len(value) < min_length:
        value = value + "x" * (min_length - len(value))
    if "maxLength" in schema:
        value = value[: int(schema["maxLength"])]
    return value


def _chosen_tool(request: ChatRequest, cfg: SimConfig) -> ToolSpec | None:
    """The tool to call, or None when the answer is text (as vLLM's auto tool choice decides)."""
    choice = request.tool_choice
    if not request.tools or choice == "none" or request.messages[-1].role != "user":
        return None
    if choice in (None, "auto") and cfg.broken("tools"):
        return None
    if isinstance(choice, dict):
        return next(tool for tool in request.tools if tool.name == choice["function"]["name"])
    return request.tools[0]


def make_tool_call(tool: ToolSpec, request: ChatRequest, cfg: SimConfig) -> dict:
    arguments = json.dumps(example_value(tool.parameters, _argument_hint(request)))
    if cfg.broken("tool-args"):
        arguments = arguments[:-1]  # drop the closing brace: no longer valid JSON
    return {
        "id": "call_" + uuid.uuid4().hex[:24],
        "type": "function",
        "function": {"name": tool.name, "arguments": arguments},
    }


@dataclasses.dataclass
class Answer:
    reasoning: str | None
    content: str
    tool_calls: list[dict]
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int

    def usage(self) -> dict:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


def _reasoning_effort_in_use(request: ChatRequest, cfg: SimConfig) -> str | None:
    effort = request.reasoning_effort
    if effort in ("low", "medium", "high"):
        return None if cfg.broken("reasoning") else effort
    if effort == "none" and cfg.broken("reasoning-none"):
        return "high"
    return None


def plan_answer(request: ChatRequest, cfg: SimConfig) -> Answer:
    """What one choice says; max_tokens caps reasoning first, then content (as in vLLM)."""
    budget = request.max_tokens if request.max_tokens is not None else cfg.max_model_len
    effort = _reasoning_effort_in_use(request, cfg)
    reasoning_tokens = split_tokens(compose_reasoning(request, effort)) if effort else []
    truncated = len(reasoning_tokens) > budget
    reasoning_tokens = reasoning_tokens[:budget]
    budget -= len(reasoning_tokens)
    reasoning = "".join(reasoning_tokens) if effort else None

    tool = _chosen_tool(request, cfg)
    if tool is not None and not truncated:
        call = make_tool_call(tool, request, cfg)
        used = len(reasoning_tokens) + count_tokens(call["function"]["arguments"])
        return Answer(reasoning, "", [call], "tool_calls", count_prompt_tokens(request), used)

    content_tokens = split_tokens(compose_reply(request, cfg.served_model_name))
    truncated = truncated or len(content_tokens) > budget
    content_tokens = content_tokens[:budget]
    return Answer(
        reasoning=reasoning,
        content="".join(content_tokens),
        tool_calls=[],
        finish_reason="length" if truncated else "stop",
        prompt_tokens=count_prompt_tokens(request),
        completion_tokens=len(reasoning_tokens) + len(content_tokens),
    )


# --------------------------------------------------------------------------------------------
# Response bodies
# --------------------------------------------------------------------------------------------


def completion_body(request: ChatRequest, answers: list[Answer], cfg: SimConfig, response_id: str) -> dict:
    choices = []
    for index, answer in enumerate(answers):
        content: str | None = answer.content
        if answer.tool_calls:
            content = None
        elif cfg.broken("text"):
            content = ""
        message = {
            "role": "assistant",
            "content": content,
            "reasoning": answer.reasoning,
            "reasoning_content": answer.reasoning,
            "tool_calls": answer.tool_calls,
        }
        choices.append(
            {
                "index": index,
                "message": message,
                "logprobs": None,
                "finish_reason": answer.finish_reason,
                "stop_reason": None,
            }
        )
    usage = {
        "prompt_tokens": answers[0].prompt_tokens,
        "completion_tokens": sum(a.completion_tokens for a in answers),
    }
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return {
        "id": response_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": choices,
        "usage": usage,
        "prompt_logprobs": None,
    }


def _pieces(text: str, *, whole: bool = False) -> list[str]:
    if not text:
        return []
    return [text] if whole else split_tokens(text)


def stream_deltas(answer: Answer, cfg: SimConfig) -> Iterator[tuple[dict, str | None]]:
    """(delta, finish_reason) pairs for one choice, in the order vLLM sends them."""
    yield {"role": "assistant", "content": ""}, None
    for piece in _pieces(answer.reasoning or ""):
        yield {"reasoning": piece}, None
    for index, call in enumerate(answer.tool_calls):
        head = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        yield {"tool_calls": [head]}, None
        for piece in _pieces(call["function"]["arguments"]):
            yield {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, None
    for piece in _pieces(answer.content, whole=cfg.broken("stream")):
        yield {"content": piece}, None
    yield {}, answer.finish_reason


def stream_chunks(request: ChatRequest, answers: list[Answer], cfg: SimConfig, response_id: str) -> Iterator[dict]:
    created = int(time.time())

    def chunk(choices: list[dict], **extra: Any) -> dict:
        return {
            "id": response_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": request.model,
            "choices": choices,
            **extra,
        }

    for index, answer in enumerate(answers):
        for delta, finish_reason in stream_deltas(answer, cfg):
            yield chunk([{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])
    if request.include_usage:
        usage = answers[0].usage()
        usage["completion_tokens"] = sum(a.completion_tokens for a in answers)
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        yield chunk([], usage=usage)


def models_body(cfg: SimConfig, created: int) -> dict:
    model_id = WRONG_MODEL_ID if cfg.broken("models") else cfg.served_model_name
    return {
        "object": "list",
        "data": [
            {
                "id": model_id,
                "object": "model",
                "created": created,
                "owned_by": "system",
                "root": model_id,
                "parent": None,
                "max_model_len": cfg.max_model_len,
                "permission": [],
            }
        ],
    }


def metadata_body(cfg: SimConfig) -> dict:
    return {
        "version": NIM_RELEASE,
        "modelInfo": [{"modelUrl": f"ngc://nim/{cfg.served_model_name}", "shortName": cfg.served_model_name}],
        "profile": {"id": profile_id(cfg.served_model_name), "name": PROFILE_NAME},
        "simulated": True,
    }


def profile_id(model: str) -> str:
    return hashlib.sha256(f"{model}:{PROFILE_NAME}".encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


class SimState:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.ready_at_ms: int | None = None
        self.exit_code: int | None = None


class SimApp:
    """Everything the request handler needs: configuration, state and the log."""

    def __init__(self, cfg: SimConfig, log: SimLog, exit_fn: Callable[[int], None]):
        self.cfg = cfg
        self.log = log
        self.state = SimState()
        self.exit_fn = exit_fn
        self.created = int(time.time())

    def die(self, code: int, *error_lines: str) -> None:
        for line in error_lines:
            self.log.error("engine_core.py:532", line)
        self.state.ready.clear()
        self.state.exit_code = code
        self.exit_fn(code)


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SimApp):
        self.app = app
        super().__init__(address, SimRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); a scratch image has no resolver
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class SimRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "uvicorn"
    sys_version = ""
    timeout = 120  # drop idle keep-alive connections eventually
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid the 40 ms delayed-ACK stall
    server: SimHTTPServer

    @property
    def app(self) -> SimApp:
        return self.server.app

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # access lines are written by _log_access in NIM's format

    def _log_access(self, status: int) -> None:
        client = f"{self.client_address[0]}:{self.client_address[1]}"
        self.app.log.info("h11_impl.py", f'{client} - "{self.command} {self.path} {self.request_version}" {status}')

    # -- routing --------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - the base class's naming
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def _routes(self) -> dict[str, dict[str, Callable[[], None]]]:
        return {
            "/v1/health/live": {"GET": self._health_live},
            "/v1/health/ready": {"GET": self._health_ready},
            "/v1/models": {"GET": self._models},
            "/v1/metadata": {"GET": self._metadata},
            "/v1/version": {"GET": self._version},
            "/v1/chat/completions": {"POST": self._chat},
            "/static/sample.png": {"GET": lambda: self._send_bytes(tiny_png(2, 2, (255, 0, 0)), "image/png")},
            "/static/sample.gif": {"GET": lambda: self._send_bytes(tiny_gif(), "image/gif")},
            "/static/sample.jpg": {"GET": lambda: self._send_bytes(tiny_jpeg(8, 8), "image/jpeg")},
            "/static/sample.txt": {"GET": lambda: self._send_bytes(b"not an image\n", "text/plain")},
        }

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        methods = self._routes().get(path)
        try:
            if methods is None:
                self._discard_body()
                self._send_json(404, {"detail": "Not Found"})
            elif method not in methods:
                self._discard_body()
                self._send_json(405, {"detail": "Method Not Allowed"})
            else:
                methods[method]()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing to answer

    # -- endpoints ------------------------------------------------------------------------

    def _health_live(self) -> None:
        self._send_json(200, {"object": "health.response", "message": "Service is live."})

    def _health_ready(self) -> None:
        if self.app.state.ready.is_set():
            self._send_json(200, {"object": "health.response", "message": "Service is ready."})
        else:
            self._send_json(503, {"object": "health.response", "message": "Service is not ready."})

    def _require_ready(self) -> bool:
        if self.app.state.ready.is_set():
            return True
        self._discard_body()
        error = ApiError(503, "The model is still loading; the service is not ready yet.", "ServiceUnavailableError")
        self._send_json(503, error.body())
        return False

    def _models(self) -> None:
        if self._require_ready():
            self._send_json(200, models_body(self.app.cfg, self.app.created))

    def _metadata(self) -> None:
        self._send_json(200, metadata_body(self.app.cfg))

    def _version(self) -> None:
        self._send_json(200, {"release": NIM_RELEASE, "api": "1.0.0"})

    def _chat(self) -> None:
        if not self._require_ready():
            return
        cfg = self.app.cfg
        try:
            body = self._read_json()
            if cfg.broken("hang"):
                self.app.state.stopping.wait()  # never answer; released only when the server stops
                self.close_connection = True
                return
            request = parse_chat_request(body, cfg)
            load_images(request, cfg)
            answers = [plan_answer(request, cfg) for _ in range(request.n)]
        except ApiError as err:
            self._send_json(err.status, err.body())
            return
        response_id = "chatcmpl-" + uuid.uuid4().hex
        if request.stream:
            self._send_stream(stream_chunks(request, answers, cfg, response_id))
        else:
            self._send_json(200, completion_body(request, answers, cfg, response_id))

    # -- bodies ---------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True  # cannot tell where this body ends
            raise bad_request("Invalid Content-Length header") from None
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            raise ApiError(413, f"The request body is larger than {MAX_REQUEST_BYTES} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _discard_body(self) -> None:
        try:
            self._read_body()
        except ApiError:
            pass

    def _read_json(self) -> Any:
        raw = self._read_body()
        try:
            return json.loads(raw or b"null")
        except ValueError as err:
            raise bad_request(f"The request body is not valid JSON: {err}") from None

    def _send_bytes(self, data: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._log_access(status)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send_bytes(json.dumps(payload).encode(), "application/json", status)

    def _write_chunk(self, data: bytes) -> None:
        # HTTP/1.1 chunked transfer coding, so the connection can be kept alive after the stream
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_stream(self, chunks: Iterator[dict]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._log_access(200)
        delay = self.app.cfg.token_delay
        for number, chunk in enumerate(chunks):
            if number and delay > 0:
                time.sleep(delay)
            self._write_chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


# --------------------------------------------------------------------------------------------
# Lifecycle: start-up sequence, in-process handle, container entry point
# --------------------------------------------------------------------------------------------

BANNER = """\
===========================================
== NVIDIA Inference Microservice VLM NIM ==
===========================================

NVIDIA Inference Microservice VLM NIM Version {release}
Model: {model}
(nimctl NIM simulator: no model is loaded and no GPU is used)
"""


def log_profile_selection(app: SimApp) -> None:
    cfg, log = app.cfg, app.log
    log.raw(BANNER.format(release=NIM_RELEASE, model=cfg.served_model_name))
    pid = profile_id(cfg.served_model_name)
    devices = cfg.nvidia_visible_devices or "unset"
    log.info("ngc_profile.py:360", f"Detected GPU(s) from NVIDIA_VISIBLE_DEVICES={devices}")
    log.info("ngc_profile.py:362", f"Valid profile: {pid} ({PROFILE_NAME}) on GPUs [0]")
    log.info("ngc_profile.py:453", f"Selected profile: {pid} ({PROFILE_NAME})")
    log.info("ngc_profile.py:455", "Profile metadata: llm_engine: vllm, precision: bf16, tp: 1, pp: 1")
    log.info("ngc_injector.py:147", f"Downloading model files for profile {pid} to {cfg.cache_path}/ngc/hub")
    log.info("ngc_injector.py:170", "Model files are already in the cache (simulated: nothing downloaded)")


def _crash_during_startup(app: SimApp) -> None:
    if not app.state.ready.is_set() and not app.state.stopping.is_set():
        app.die(
            app.cfg.crash_code, "CUDA error: out of memory", "Engine core initialization failed. See root cause above."
        )


def _crash_after_ready(app: SimApp) -> None:
    if not app.state.stopping.is_set():
        app.die(
            app.cfg.crash_code,
            "CUDA error: out of memory",
            "EngineCore encountered a fatal error and died unexpectedly.",
        )


def _timer(seconds: float, action: Callable[[SimApp], None], app: SimApp) -> threading.Timer:
    timer = threading.Timer(seconds, action, args=(app,))
    timer.daemon = True
    timer.start()
    return timer


def load_then_become_ready(app: SimApp, timers: list[threading.Timer]) -> None:
    """From live to ready: 'load the model' for SIM_STARTUP_DELAY seconds, then serve.

    With SIM_CRASH_AFTER set the start-up never completes: the crash timer ends it.
    """
    cfg, state, log = app.cfg, app.state, app.log
    delay = cfg.draw_startup_delay()
    log.info("model_runner.py:1120", f"Loading model weights for {cfg.served_model_name} ...")
    if state.stopping.wait(delay):
        return
    if cfg.crash_after is not None:
        state.stopping.wait()
        return
    log.info("model_runner.py:1132", f"Loading model weights took {delay:.2f} s")
    log.info("api_server.py:1802", "Application startup complete.")
    ready_at_ms = int(time.time() * 1000)  # taken before the flag: a probe never sees 200 earlier
    state.ready_at_ms = ready_at_ms
    state.ready.set()
    log.info("api_server.py:1810", f"NIM is ready: ready_at_ms={ready_at_ms}")
    if cfg.exit_after_ready is not None:
        timers.append(_timer(cfg.exit_after_ready, _crash_after_ready, app))


class SimHandle:
    """A simulator running in this process (for tests); see start_in_thread."""

    def __init__(self, app: SimApp, server: SimHTTPServer, host: str):
        self.app = app
        self.server = server
        self.host = host
        self.port = server.server_address[1]
        self.base_url = f"http://{host}:{self.port}"
        self.timers: list[threading.Timer] = []
        self._threads: list[threading.Thread] = []
        self._stop_lock = threading.Lock()
        self._stopped = False

    @property
    def config(self) -> SimConfig:
        return self.app.cfg

    @property
    def ready(self) -> bool:
        return self.app.state.ready.is_set()

    @property
    def exit_code(self) -> int | None:
        """Set when the simulated process 'exited' (SIM_CRASH_AFTER / SIM_EXIT_AFTER_READY)."""
        return self.app.state.exit_code

    @property
    def ready_at_ms(self) -> int | None:
        return self.app.state.ready_at_ms

    @property
    def log_lines(self) -> list[str]:
        return list(self.app.log.lines)

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """True once ready; TimeoutError if not ready in time, RuntimeError if it 'crashed' first."""
        deadline = time.monotonic() + timeout
        while not self.app.state.ready.wait(0.01):
            if self.exit_code is not None:
                raise RuntimeError(f"the simulator exited with code {self.exit_code} before it was ready")
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the simulator was not ready within {timeout} s")
        return True

    def _start(self) -> None:
        # a short poll interval makes stop() quick (shutdown waits for the next poll)
        serve = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="nim-sim-http", daemon=True
        )
        startup = threading.Thread(
            target=load_then_become_ready, args=(self.app, self.timers), name="nim-sim-startup", daemon=True
        )
        self._threads = [serve, startup]
        for thread in self._threads:
            thread.start()
        if self.app.cfg.crash_after is not None:
            self.timers.append(_timer(self.app.cfg.crash_after, _crash_during_startup, self.app))

    def _die(self, code: int) -> None:
        # in-process stand-in for os._exit: the "process" stops serving; app.die recorded the code
        self.stop()

    def stop(self) -> None:
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.app.state.stopping.set()
        for timer in self.timers:
            timer.cancel()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def __enter__(self) -> SimHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_in_thread(
    cfg: SimConfig, host: str = "127.0.0.1", port: int = 0, *, log_stream: TextIO | None = None
) -> SimHandle:
    """Serve in background threads of this process; skips the environment start-up checks.

    Log lines are kept on `handle.log_lines` (and echoed to `log_stream` if given). A simulated
    crash stops the server and sets `handle.exit_code` instead of exiting the process.
    """
    log = SimLog(log_stream, keep=10000)
    handle_box: list[SimHandle] = []
    app = SimApp(cfg, log, exit_fn=lambda code: handle_box[0]._die(code))
    server = SimHTTPServer((host, port), app)
    handle = SimHandle(app, server, host)
    handle_box.append(handle)
    log.info("api_server.py:1750", f"Uvicorn running on {handle.base_url} (Press CTRL+C to quit)")
    handle._start()
    return handle


# -- start-up checks (container only) -----------------------------------------------------


def check_api_key(cfg: SimConfig) -> str | None:
    if not cfg.ngc_api_key.strip():
        return "NGC_API_KEY is not set: the NIM needs it to download the model (docker run -e NGC_API_KEY=...)"
    return None


def check_cache_writable(cfg: SimConfig) -> str | None:
    """Create and delete one probe file; nothing else in the cache is touched."""
    path = cfg.cache_path
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".nim-write-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        return f"cache directory {path} is not writable by uid {os.getuid()}: {err.strerror or err}"
    return None


def check_shm(cfg: SimConfig, shm_path: str = "/dev/shm") -> str | None:
    try:
        stats = os.statvfs(shm_path)
        size = stats.f_frsize * stats.f_blocks
    except OSError:
        size = 0
    if size < cfg.shm_min_bytes:
        return (
            f"shared memory {shm_path} is {size / 2**20:.0f} MiB, at least {cfg.shm_min_bytes / 2**20:.0f} MiB "
            "is needed (docker run --shm-size)"
        )
    return None


def check_gpu(cfg: SimConfig) -> str | None:
    devices = (cfg.nvidia_visible_devices or "").strip()
    if not devices or devices == "void":
        return "no GPU is visible: NVIDIA_VISIBLE_DEVICES is not set (run with --gpus all / a GPU device request)"
    return None


def first_startup_problem(cfg: SimConfig, shm_path: str = "/dev/shm") -> str | None:
    for check in (check_api_key, check_cache_writable, lambda c: check_shm(c, shm_path), check_gpu):
        problem = check(cfg)
        if problem:
            return problem
    return None


def _refuse(reason: str) -> int:
    sys.stderr.write(SimLog.format("ERROR", "nim_startup.py:88", f"Refusing to start: {reason}") + "\n")
    sys.stderr.flush()
    return 1


def _exit_now(code: int) -> None:
    # os._exit: immediate, like a real process dying; flush first so the last log lines reach docker
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _install_signal_handlers(log: SimLog) -> None:
    def on_signal(signum: int, _frame: Any) -> None:
        log.info("api_server.py:1900", f"Received {signal.Signals(signum).name}, shutting down")
        _exit_now(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def main() -> int:
    try:
        cfg = SimConfig.from_env(os.environ)
    except ValueError as err:
        return _refuse(f"bad configuration: {err}")
    problem = first_startup_problem(cfg)
    if problem:
        return _refuse(problem)

    log = SimLog(sys.stdout)
    _install_signal_handlers(log)
    app = SimApp(cfg, log, exit_fn=_exit_now)
    timers: list[threading.Timer] = []
    if cfg.crash_after is not None:
        timers.append(_timer(cfg.crash_after, _crash_during_startup, app))
    log_profile_selection(app)
    time.sleep(cfg.live_delay)
    try:
        server = SimHTTPServer(("0.0.0.0", cfg.port), app)
    except OSError as err:
        return _refuse(f"cannot listen on port {cfg.port}: {err.strerror or err}")
    threading.Thread(target=server.serve_forever, name="nim-sim-http", daemon=True).start()
    log.info("api_server.py:1750", f"Uvicorn running on http://0.0.0.0:{cfg.port} (Press CTRL+C to quit)")
    load_then_become_ready(app, timers)
    while True:  # the HTTP and timer threads do the rest; signals end the process
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
