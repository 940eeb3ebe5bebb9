"""The simulator's configuration: `SimConfig`, read from the contract's environment variables, and
the SIM_BREAK names (docs/architecture.md, "Simulator contract")."""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Callable, Mapping
from typing import Any

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
    unready_after: float | None = None  # seconds after ready: answer 503 on ready again (live stays 200)
    unready_for: float = 5.0  # ... for this long, then ready again
    log_rate: float = 0.0  # log lines per second during start-up (a chatty NIM)
    token_delay: float = 0.002
    breaks: Any = frozenset()
    model_profile: str = ""  # NIM_MODEL_PROFILE: a profile id or name; empty: the NIM chooses
    gpu_memory_gb: float = 80.0  # memory of each simulated GPU, for the profile list
    download_delay: float = 0.0  # seconds per file download-to-cache "downloads"

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
            unready_after=get("SIM_UNREADY_AFTER", float, None),
            unready_for=get("SIM_UNREADY_FOR", float, 5.0),
            log_rate=get("SIM_LOG_RATE", float, 0.0),
            token_delay=get("SIM_TOKEN_DELAY", float, 0.002),
            breaks=get("SIM_BREAK", _parse_breaks, frozenset()),
            model_profile=get("NIM_MODEL_PROFILE", str, ""),
            gpu_memory_gb=get("SIM_GPU_MEMORY_GB", float, 80.0),
            download_delay=get("SIM_DOWNLOAD_DELAY", float, 0.0),
        )

    def broken(self, name: str) -> bool:
        return name in self.breaks

    def draw_startup_delay(self) -> float:
        low, high = self.startup_delay
        return random.uniform(low, high)
