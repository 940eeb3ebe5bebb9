"""The simulated model manifest, as a NIM image has one: which profiles exist, which of them the
GPUs the container was given can run, the one it selects (NIM_MODEL_PROFILE or its own choice),
what `list-model-profiles` prints, and the cache layout `download-to-cache` fills.

Nothing here loads a model: the GPUs are NVIDIA_VISIBLE_DEVICES (counted), each with
SIM_GPU_MEMORY_GB of memory; the downloaded "model" is a few small files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

from .config import PROFILE_NAME, SimConfig

GPU_NAME = "NVIDIA H100 80GB HBM3 (simulated)"
GPU_PCI_ID = "2330:10de"
COMPLETE_MARKER = ".nim-sim-complete"  # written last: a half-finished download is not a cached model
MODEL_FILES = ("config.json", "tokenizer.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
FILE_BYTES = 64 * 1024


@dataclasses.dataclass(frozen=True)
class SimProfile:
    name: str
    tp: int
    requires_gb: int
    lora: bool = False
    note: str = ""  # what the NIM adds to the requires bracket

    def id(self, model: str) -> str:
        return hashlib.sha256(f"{model}:{self.name}".encode()).hexdigest()


# The first runnable non-LoRA profile is the NIM's own choice; PROFILE_NAME stays the default.
MANIFEST: tuple[SimProfile, ...] = (
    SimProfile(PROFILE_NAME, tp=1, requires_gb=72),
    SimProfile("vllm-fp8-tp2-pp1", tp=2, requires_gb=40),
    SimProfile("vllm-bf16-tp4-pp1", tp=4, requires_gb=36),
    SimProfile("vllm-bf16-tp1-pp1-lora", tp=1, requires_gb=76, lora=True),
    SimProfile(
        "vllm-bf16-tp1-pp1-256k", tp=1, requires_gb=96, note="try --max-model-len=131072 to reduce to >=72 GB/gpu"
    ),
)


def gpu_count(cfg: SimConfig) -> int:
    """GPUs the container was given: NVIDIA_VISIBLE_DEVICES as a list (`0,1`); `all` or one name is one."""
    devices = (cfg.nvidia_visible_devices or "").strip()
    if devices.lower() in ("", "void", "none"):
        return 0
    return len([part for part in devices.split(",") if part.strip()])


def classify(cfg: SimConfig, profile: SimProfile) -> str:
    """runnable | low-memory | incompatible, on the GPUs this container has."""
    if profile.tp > gpu_count(cfg):
        return "incompatible"
    return "runnable" if profile.requires_gb <= cfg.gpu_memory_gb else "low-memory"


def runnable(cfg: SimConfig) -> list[SimProfile]:
    return [profile for profile in MANIFEST if classify(cfg, profile) == "runnable"]


def find(cfg: SimConfig, id_or_name: str) -> SimProfile | None:
    return next((p for p in MANIFEST if id_or_name in (p.name, p.id(cfg.served_model_name))), None)


def no_match_line(requested: str) -> str:
    """The NIM's refusal of a NIM_MODEL_PROFILE it cannot run here."""
    return (
        f"Model download failed: Environment variable NIM_MODEL_PROFILE is set to {requested}, "
        "but no matching profile_id or profile description is found in manifest."
    )


def select(cfg: SimConfig) -> SimProfile | None:
    """The profile the NIM runs: NIM_MODEL_PROFILE when it names a runnable one, else the first runnable.

    None when NIM_MODEL_PROFILE names nothing runnable here (the NIM then refuses with no_match_line),
    or nothing at all is runnable.
    """
    choices = runnable(cfg)
    if cfg.model_profile:
        wanted = find(cfg, cfg.model_profile)
        return wanted if wanted in choices else None
    plain = [profile for profile in choices if not profile.lora]
    return (plain or choices or [None])[0]


def _requires(profile: SimProfile) -> str:
    return f" [requires >={profile.requires_gb} GB/gpu" + (f", {profile.note}" if profile.note else "") + "]"


def listing_lines(cfg: SimConfig) -> list[str]:
    """What `list-model-profiles` prints (its log lines go elsewhere)."""
    model = cfg.served_model_name
    lines = ["SYSTEM INFO", "- Free GPUs:" + ("" if gpu_count(cfg) else " <None>")]
    lines += [f"  -  [{GPU_PCI_ID}] ({i}) {GPU_NAME} [current utilization: 0%]" for i in range(gpu_count(cfg))]
    lines.append("- Non-free GPUs: <None>")
    lines.append("MODEL PROFILES")
    sections = (
        ("runnable", "Compatible with system and runnable"),
        ("low-memory", "Compatible with system but low memory"),
        ("incompatible", "Incompatible with system"),
    )
    for kind, title in sections:
        members = [p for p in MANIFEST if classify(cfg, p) == kind]
        if not members:
            lines.append(f"- {title}: <None>")
            continue
        lines.append(f"- {title}:")
        lines += [f"  - {p.id(model)} ({p.name}){_requires(p)}" for p in members if not p.lora]
        lora = [p for p in members if p.lora]
        if lora:
            lines.append("  - With LoRA support:")
            lines += [f"    - {p.id(model)} ({p.name}){_requires(p)}" for p in lora]
    return lines


# -- the cache ---------------------------------------------------------------------------------------


def model_dir(cfg: SimConfig) -> str:
    org_model = cfg.served_model_name.replace("/", "--")
    return os.path.join(cfg.cache_path, "ngc", "hub", f"models--nim--{org_model}")


def snapshot_dir(cfg: SimConfig, profile: SimProfile) -> str:
    return os.path.join(model_dir(cfg), "snapshots", profile.name)


def is_cached(cfg: SimConfig, profile: SimProfile) -> bool:
    return os.path.isfile(os.path.join(snapshot_dir(cfg, profile), COMPLETE_MARKER))


def file_bytes(profile: SimProfile, name: str) -> bytes:
    """Deterministic stand-in content, FILE_BYTES long (JSON files are small and valid)."""
    if name.endswith(".json"):
        return json.dumps({"profile": profile.name, "file": name, "simulated": True}).encode()
    seed = hashlib.sha256(f"{profile.name}/{name}".encode()).digest()
    return (seed * (FILE_BYTES // len(seed) + 1))[:FILE_BYTES]
