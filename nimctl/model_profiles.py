"""Parse what a NIM image's `list-model-profiles` prints: the GPUs it saw and its profiles.

Pure. The output is for humans and varies between NIM releases, so the parser is lenient:
indentation may be lost (as in NVIDIA's own docs), log lines may be interleaved, a section may
say `<None>`, ids may be shortened, and an unknown section is kept under its own title.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

RUNNABLE = "Compatible with system and runnable"
LORA = "With LoRA support"
LOW_MEMORY = "Compatible with system but low memory"
INCOMPATIBLE = "Incompatible with system"

# `- <id> (<name>) [requires >=N GB/gpu ...]`; ids are 64 hex, docs sometimes shorten them with … or ...
_PROFILE = re.compile(
    r"^-\s+(?P<id>[0-9a-f]{8,64})(?:…|\.\.\.)?\s*(?:\(\s*(?P<name>[^()]*?)\s*\))?\s*(?:\[(?P<note>[^\]]*)\])?\s*$"
)
# `- <title>:` optionally followed by `<None>`
_SECTION = re.compile(r"^-\s+(?P<title>[A-Za-z][^:]*?):\s*(?P<rest><None>)?\s*$")
_REQUIRES = re.compile(r"requires\s*>=?\s*(?P<gb>\d+(?:\.\d+)?)\s*GB", re.IGNORECASE)
# `-  [26b9:10de] (0) NVIDIA L40S (L40S) [current utilization: 0%]`
_GPU = re.compile(
    r"^-\s+(?:\[(?P<pci>[^\]]*)\]\s*)?\((?P<index>\d+)\)\s*(?P<name>.*?)\s*"
    r"(?:\[current utilization:\s*(?P<util>\d+(?:\.\d+)?)%\])?\s*$"
)
_FREE_GPUS = "free gpus"
_BUSY_GPUS = "non-free gpus"


@dataclass
class ModelProfile:
    id: str
    name: str
    runnable: bool
    lora: bool
    low_memory: bool
    requires_gb_per_gpu: float | None
    section: str  # the section it was listed under, as the image titled it
    note: str = ""  # the bracketed remark, e.g. "requires >=45 GB/gpu, try --max-model-len=4096 ..."


@dataclass
class ProfileListing:
    gpus: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"free": [], "busy": []})
    profiles: list[ModelProfile] = field(default_factory=list)

    @property
    def runnable(self) -> list[ModelProfile]:
        return [profile for profile in self.profiles if profile.runnable]

    def find(self, id_or_name: str) -> ModelProfile | None:
        """The profile `NIM_MODEL_PROFILE=id_or_name` would select: an exact id or name."""
        for profile in self.profiles:
            if id_or_name in (profile.id, profile.name):
                return profile
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"gpus": self.gpus, "profiles": [asdict(profile) for profile in self.profiles]}


def _gpu(match: re.Match[str]) -> dict[str, Any]:
    util = match.group("util")
    return {
        "index": int(match.group("index")),
        "name": match.group("name"),
        "pci_id": match.group("pci"),
        "utilization_pct": float(util) if util is not None else None,
    }


class _Reader:
    """Walks the lines once, remembering the block (system info / profiles) and the section."""

    def __init__(self) -> None:
        self.listing = ProfileListing()
        self.block = ""
        self.gpu_kind: str | None = None
        self.top_section = ""  # the last top-level section, which a LoRA sub-section belongs to
        self.lora = False

    def feed(self, raw: str) -> None:
        line = raw.strip()
        upper = line.upper()
        if upper == "SYSTEM INFO":
            self.block, self.gpu_kind = "system", None
            return
        if upper == "MODEL PROFILES":
            self.block, self.gpu_kind = "profiles", None
            return
        if not line.startswith("-"):
            return  # a log line, a banner, a blank line
        if self.block == "system":
            self._system_line(line)
        elif self.block == "profiles":
            self._profile_line(line)

    def _system_line(self, line: str) -> None:
        section = _SECTION.match(line)
        if section:
            title = section.group("title").strip().lower()
            self.gpu_kind = {_FREE_GPUS: "free", _BUSY_GPUS: "busy"}.get(title)
            return
        gpu = _GPU.match(line)
        if gpu and self.gpu_kind:
            self.listing.gpus[self.gpu_kind].append(_gpu(gpu))

    def _profile_line(self, line: str) -> None:
        profile = _PROFILE.match(line)
        if profile:
            self._add(profile)
            return
        section = _SECTION.match(line)
        if section:
            title = section.group("title").strip()
            if title.lower() == LORA.lower():
                self.lora = True
            else:
                self.top_section, self.lora = title, False

    def _add(self, match: re.Match[str]) -> None:
        note = (match.group("note") or "").strip()
        requires = _REQUIRES.search(note)
        name = match.group("name") or ""
        top = self.top_section.lower()
        self.listing.profiles.append(
            ModelProfile(
                id=match.group("id"),
                name=name,
                runnable=top == RUNNABLE.lower(),
                lora=self.lora or "lora" in name.lower(),
                low_memory=top == LOW_MEMORY.lower(),
                requires_gb_per_gpu=float(requires.group("gb")) if requires else None,
                section=f"{self.top_section} / {LORA}" if self.lora else self.top_section,
                note=note,
            )
        )


def parse_profile_listing(text: str) -> ProfileListing:
    """The GPUs and profiles in `list-model-profiles` output (anything else in `text` is ignored)."""
    reader = _Reader()
    for line in text.splitlines():
        reader.feed(line)
    return reader.listing
