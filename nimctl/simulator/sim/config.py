"""The simulator's configuration: `SimConfig`, read from the contract's environment variables, and
the SIM_BREAK names (docs/architecture.md, "Simulator contract")."""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Callable, Mapping
from typing import Any

from .model_source import served_name

DEFAULT_MODEL = "mistralai/mistral-small-4-119b-2603"
# The release a simulator reports unless SIM_RELEASE says: the Mistral NIM's, or (model-free mode,
# which only NIM LLM 2.x has) the current 2.x release.
NIM_RELEASE = "1.7.0-variant"
MODEL_FREE_RELEASE = "2.1.6"
# Public NIM images pull and start without a key from this release on (NVIDIA's "keyless" 2.0.10).
KEYLESS_SINCE = (2, 0, 10)
CAPABILITIES = ("text", "vision", "tools", "reasoning")
NOT_SERVING_MODES = ("error", "drop")
# What /v1/models lists when SIM_BREAK=models: a real, but different, Mistral NIM model id.
WRONG_MODEL_ID = "mistralai/mistral-small-3.1-24b-instruct-2503"
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


def _non_negative(value: str) -> float:
    number = float(value)
    if number < 0:
        raise ValueError(f"expected seconds >= 0, got {value}")
    return number


def _parse_breaks(value: Any) -> frozenset[str]:
    names = value.split(",") if isinstance(value, str) else list(value)
    breaks = frozenset(name.strip() for name in names if name.strip())
    unknown = sorted(breaks - BREAK_NAMES)
    if unknown:
        raise ValueError(f"unknown name(s) {', '.join(unknown)}; known: {', '.join(sorted(BREAK_NAMES))}")
    return breaks


def _parse_capabilities(value: Any) -> frozenset[str]:
    names = value.split(",") if isinstance(value, str) else list(value)
    capabilities = frozenset(name.strip() for name in names if name.strip())
    unknown = sorted(capabilities - set(CAPABILITIES))
    if unknown:
        raise ValueError(f"unknown capability {', '.join(unknown)}; known: {', '.join(CAPABILITIES)}")
    if "text" not in capabilities:
        raise ValueError("the capabilities must include text")
    return capabilities


def _parse_names(value: Any) -> tuple[str, ...]:
    """A comma list (or a sequence) of names, blanks dropped."""
    names = value.split(",") if isinstance(value, str) else list(value)
    return tuple(name.strip() for name in names if name.strip())


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _parse_not_serving(value: Any) -> str:
    text = str(value or "").strip().lower()
    if text and text not in NOT_SERVING_MODES:
        raise ValueError(f"expected one of {', '.join(NOT_SERVING_MODES)}, got {value!r}")
    return text


def release_tuple(release: str) -> tuple[int, ...] | None:
    """ "2.0.10" -> (2, 0, 10); "1.7.0-variant" -> (1, 7, 0); None when it starts with no number."""
    numbers: list[int] = []
    for part in release.split("-", 1)[0].split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers) or None


@dataclasses.dataclass(frozen=True)
class SimConfig:
    ngc_api_key: str = dataclasses.field(default="", repr=False)  # never shown
    nvidia_visible_devices: str | None = None
    cache_path: str = "/opt/nim/.cache"
    # NIM_SERVED_MODEL_NAME; empty: derived from the model source (model-free) or DEFAULT_MODEL.
    # After construction it always holds the name the simulator serves.
    served_model_name: str = ""
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
    # -- NIM LLM 2.x and model-free NIM ---------------------------------------------------------
    model_path: str = ""  # NIM_MODEL_PATH or the container's first argument: hf://, ngc://, a directory
    hf_token: str = dataclasses.field(default="", repr=False)  # HF_TOKEN, never shown
    hf_gated: Any = ()  # SIM_HF_GATED: Hugging Face repositories (fnmatch patterns) that need HF_TOKEN
    model_architectures: Any = ("LlamaForCausalLM",)  # SIM_MODEL_ARCHITECTURES: config.json of hf:// / ngc://
    release: str = ""  # SIM_RELEASE; empty: NIM_RELEASE, or MODEL_FREE_RELEASE in model-free mode
    keyless: bool | None = None  # SIM_KEYLESS; None: true from release 2.0.10 on
    capabilities: Any = CAPABILITIES  # SIM_CAPABILITIES: what the simulated model does
    not_serving: str = ""  # SIM_NOT_SERVING: error | drop; ready, but completions fail
    not_serving_after: float = 0.0  # SIM_NOT_SERVING_AFTER: seconds after ready the engine dies

    def __post_init__(self) -> None:
        # normalise the convenient forms so the rest of the code sees one type
        object.__setattr__(self, "startup_delay", _parse_delay_range(self.startup_delay))
        object.__setattr__(self, "breaks", _parse_breaks(self.breaks))
        object.__setattr__(self, "capabilities", _parse_capabilities(self.capabilities))
        object.__setattr__(self, "hf_gated", _parse_names(self.hf_gated))
        object.__setattr__(self, "model_architectures", _parse_names(self.model_architectures))
        object.__setattr__(self, "not_serving", _parse_not_serving(self.not_serving))
        if not self.served_model_name:
            derived = served_name(self.model_path) if self.model_path else DEFAULT_MODEL
            object.__setattr__(self, "served_model_name", derived)
        if not self.release:
            object.__setattr__(self, "release", MODEL_FREE_RELEASE if self.model_path else NIM_RELEASE)
        if self.keyless is None:
            version = release_tuple(self.release)
            object.__setattr__(self, "keyless", bool(version and version >= KEYLESS_SINCE))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, model_path: str | None = None) -> SimConfig:
        """Read the contract's variables; raises ValueError naming the variable that is wrong.

        `model_path`: the container's first argument when it names a model source; it takes
        precedence over NIM_MODEL_PATH, as in a NIM.
        """
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
            served_model_name=get("NIM_SERVED_MODEL_NAME", str, ""),
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
            model_path=model_path or get("NIM_MODEL_PATH", str, ""),
            hf_token=env.get("HF_TOKEN", ""),
            hf_gated=get("SIM_HF_GATED", _parse_names, ()),
            model_architectures=get("SIM_MODEL_ARCHITECTURES", _parse_names, ("LlamaForCausalLM",)),
            release=get("SIM_RELEASE", str, ""),
            keyless=get("SIM_KEYLESS", _parse_bool, None),
            capabilities=get("SIM_CAPABILITIES", _parse_capabilities, CAPABILITIES),
            not_serving=get("SIM_NOT_SERVING", _parse_not_serving, ""),
            not_serving_after=get("SIM_NOT_SERVING_AFTER", _non_negative, 0.0),
        )

    def broken(self, name: str) -> bool:
        return name in self.breaks

    def can(self, capability: str) -> bool:
        """Whether the simulated model has `capability` (SIM_CAPABILITIES)."""
        return capability in self.capabilities

    @property
    def model_free(self) -> bool:
        return bool(self.model_path)

    def draw_startup_delay(self) -> float:
        low, high = self.startup_delay
        return random.uniform(low, high)
