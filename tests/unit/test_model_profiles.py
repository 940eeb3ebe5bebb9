"""The `list-model-profiles` parser over the shapes NIM images really print (ids made up here)."""

from __future__ import annotations

import hashlib

from nimctl.model_profiles import parse_profile_listing


def hex_id(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


A, B, C, D, E, F = (hex_id(s) for s in "abcdef")

# Indented, with a SYSTEM INFO block, a LoRA sub-section, and interleaved log lines.
INDENTED_WITH_LOGS = f"""\
===========================================
== NVIDIA Inference Microservice LLM NIM ==
===========================================
SYSTEM INFO
- Free GPUs:
  -  [26b9:10de] (0) NVIDIA L40S (L40S) [current utilization: 0%]
  -  [26b9:10de] (1) NVIDIA L40S (L40S) [current utilization: 0%]
- Non-free GPUs:
  -  [26b9:10de] (2) NVIDIA L40S (L40S) [current utilization: 87%]
WARNING 2026-10-21 15:06:40.531 profile_utils.py:879] Profile {F} does not support LoRA, skipping.
MODEL PROFILES
- Compatible with system and runnable:
  - {A} (vllm-bf16-tp2-pp1)
  - {B} (tensorrt_llm-l40s-bf16-tp1-throughput)
INFO 2026-10-21 15:06:40.532 manifest.rs:160] first-level manifest validation skipped
  - With LoRA support:
    - {C} (vllm-bf16-tp2-pp1-lora)
- Incompatible with system:
  - {D} (tensorrt_llm-h100-fp8-tp8-latency)
"""

# Flattened indentation (as NVIDIA's docs page renders it), requires notes and a low-memory section.
FLAT_WITH_REQUIRES = f"""\
MODEL PROFILES
- Compatible with system and runnable:
- {A} (vllm-bf16-tp1-pp1) [requires >=18 GB/gpu]
- With LoRA support:
- {B} (vllm-bf16-tp1-pp1-feat_lora) [requires >=22 GB/gpu]
- Compatible with system but low memory:
- {C} (vllm-bf16-tp1-pp1) [requires >=45 GB/gpu, try --max-model-len=4096 to reduce to >=30 GB/gpu]
- Incompatible with system:
- {D} (vllm-bf16-tp2-pp1) [requires >=18 GB/gpu per 2 GPUs]
"""

# Nothing runnable, `<None>` inline, an unknown section, no GPU is free.
NONE_AND_UNKNOWN = f"""\
SYSTEM INFO
- Free GPUs: <None>
- Non-free GPUs:
  -  [2321:10de] (1) NVIDIA H100 NVL [current utilization: 30%]
MODEL PROFILES
- Compatible with system and runnable: <None>
- Compilable to TRT-LLM using just-in-time compilation of HF models to TRTLLM engines:
  - {E} (tensorrt_llm-trtllm_buildable-bf16-tp1)
- Incompatible with system:
  - {F} (a100-fp16-tp1-throughput)
"""

# Shortened ids (docs and issue reports cut them), and no names in one case.
SHORTENED = """\
MODEL PROFILES
- Compatible with system and runnable:
  - dcec66a5... (vllm-bf16-tp1-pp1) [requires >=18 GB/gpu]
  - 092ed421… (vllm-bf16-tp1-pp1-33.0)
  - 0123456789abcdef
"""


def by_id(text: str) -> dict:
    return {profile.id: profile for profile in parse_profile_listing(text).profiles}


def test_indented_output_with_interleaved_log_lines() -> None:
    listing = parse_profile_listing(INDENTED_WITH_LOGS)
    assert [gpu["index"] for gpu in listing.gpus["free"]] == [0, 1]
    assert listing.gpus["busy"] == [
        {"index": 2, "name": "NVIDIA L40S (L40S)", "pci_id": "26b9:10de", "utilization_pct": 87.0}
    ]
    profiles = by_id(INDENTED_WITH_LOGS)
    assert list(profiles) == [A, B, C, D]  # the id in the WARNING log line is not a profile
    assert profiles[A].runnable and not profiles[A].lora and profiles[A].name == "vllm-bf16-tp2-pp1"
    assert profiles[C].runnable and profiles[C].lora
    assert not profiles[D].runnable and not profiles[D].low_memory
    assert [p.id for p in listing.runnable] == [A, B, C]


def test_flattened_output_keeps_lora_nested_and_reads_requires() -> None:
    profiles = by_id(FLAT_WITH_REQUIRES)
    assert profiles[A].requires_gb_per_gpu == 18.0 and profiles[A].runnable and not profiles[A].lora
    assert profiles[B].runnable and profiles[B].lora and profiles[B].requires_gb_per_gpu == 22.0
    assert profiles[C].low_memory and not profiles[C].runnable and profiles[C].requires_gb_per_gpu == 45.0
    assert "max-model-len=4096" in profiles[C].note
    assert not profiles[D].runnable and profiles[D].requires_gb_per_gpu == 18.0


def test_none_sections_and_unknown_sections_are_kept() -> None:
    listing = parse_profile_listing(NONE_AND_UNKNOWN)
    assert listing.gpus["free"] == [] and [g["index"] for g in listing.gpus["busy"]] == [1]
    assert listing.runnable == []
    profiles = by_id(NONE_AND_UNKNOWN)
    assert profiles[E].section.startswith("Compilable to TRT-LLM") and not profiles[E].runnable
    assert profiles[F].section == "Incompatible with system"


def test_shortened_ids_and_missing_names() -> None:
    profiles = by_id(SHORTENED)
    assert set(profiles) == {"dcec66a5", "092ed421", "0123456789abcdef"}
    assert profiles["0123456789abcdef"].name == "" and profiles["0123456789abcdef"].runnable


def test_json_shape_and_lookup_by_id_or_name() -> None:
    listing = parse_profile_listing(FLAT_WITH_REQUIRES)
    data = listing.to_dict()
    assert set(data) == {"gpus", "profiles"}
    assert {"id", "name", "runnable", "lora", "low_memory", "requires_gb_per_gpu"} <= set(data["profiles"][0])
    assert listing.find(A) is not None and listing.find(A).id == A
    assert listing.find("vllm-bf16-tp1-pp1-feat_lora").id == B
    assert listing.find("nope") is None


def test_text_without_a_listing_gives_nothing() -> None:
    listing = parse_profile_listing("ERROR something failed\n- a dash line outside any block\n")
    assert listing.profiles == [] and listing.gpus == {"free": [], "busy": []}
