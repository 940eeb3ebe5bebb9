"""Why a NIM died in start-up, read from its last log lines: the one table of known causes.

Each entry is (pattern, cause, what to do). `diagnose(lines)` returns the first entry whose
pattern matches a line, scanning from the newest line back, since the last error is the cause.
Pure: deploy's failure path applies it; tests/unit/test_diagnosis.py has one test per entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnosis:
    key: str
    pattern: re.Pattern[str]
    cause: str
    action: str

    def matches(self, line: str) -> bool:
        return bool(self.pattern.search(line))


def _entry(key: str, pattern: str, cause: str, action: str) -> Diagnosis:
    return Diagnosis(key, re.compile(pattern, re.IGNORECASE), cause, action)


KNOWN_CAUSES: tuple[Diagnosis, ...] = (
    _entry(
        "no-matching-profile",
        r"no matching profile_id or profile description|no matching profile",
        "the model profile (NIM_MODEL_PROFILE) matches no profile this image can run here",
        "run `nimctl profiles` and pass a runnable id or name with --model-profile (or unset it)",
    ),
    _entry(
        "cuda-out-of-memory",
        r"CUDA (error: )?out of memory|torch\.(cuda\.)?OutOfMemoryError|CUDA_ERROR_OUT_OF_MEMORY",
        "the GPUs ran out of memory loading the model",
        "free the GPUs (`nvidia-smi` shows who holds them), give more with --gpus, "
        "or pin a smaller profile (`nimctl profiles`)",
    ),
    _entry(
        "no-gpu",
        r"no GPU is visible|no CUDA-capable device|NVIDIA_VISIBLE_DEVICES is not set|Found no NVIDIA driver"
        r"|could not find any GPU|No supported GPU",
        "the container sees no GPU",
        "install the NVIDIA Container Toolkit, use --gpus all and --runtime nvidia; `nimctl doctor` checks it",
    ),
    _entry(
        "cache-permission",
        r"(permission denied|not writable|read-only file system).*(\.cache|/cache|cache dir)"
        r"|(\.cache|cache dir\w*).*(permission denied|not writable)",
        "the NIM cannot write its model cache",
        "chown the cache dir to the container's user (--user, default yours) or choose --cache-dir",
    ),
    # before download-refused: a 401 from huggingface.co is about HF_TOKEN, not the NGC key
    _entry(
        "hf-gated",
        r"GatedRepoError|Cannot access gated repo|Access to model \S+ is restricted"
        r"|huggingface\.co\S*.*\b401\b|\b401\b.*huggingface\.co",
        "the model is in a gated Hugging Face repository and the NIM has no token with access to it",
        "set HF_TOKEN to a Hugging Face token with access to the repository "
        "(request access on the model's page first); nimctl passes it to the NIM like the NGC key",
    ),
    _entry(
        "model-config-missing",
        r"does not appear to have a file named config\.json|local model directory \S+ does not exist",
        "the local model directory is missing in the container or holds no config.json",
        "point the model path (NIM_MODEL_PATH) at a directory in the Hugging Face layout, with config.json, "
        "tokenizer and weights, and mount it into the container",
    ),
    _entry(
        "unsupported-architecture",
        r"Model architectures \[.*\] (are not supported|failed to be inspected)",
        "the model's architecture (config.json `architectures`) is not supported by the NIM's backend (vLLM)",
        "choose a model whose architecture the image's vLLM supports (NVIDIA's model-free NIM support matrix), "
        "or a newer NIM image",
    ),
    _entry(
        "download-refused",
        r"\b(401|403)\b.*(unauthori[sz]ed|forbidden|download|ngc|authenticat)"
        r"|(unauthori[sz]ed|forbidden|authentication failed).*\b(401|403)\b"
        r"|invalid (ngc )?api key",
        "the model download was refused (401/403): the NGC key is wrong, expired or lacks access to this model",
        "export a valid NGC_API_KEY with access to this model, or prefetch with `nimctl cache prefetch`",
    ),
)


def diagnose(lines: Iterable[str]) -> Diagnosis | None:
    """The known cause of a failed start-up in `lines` (newest match wins), or None."""
    for line in reversed(list(lines)):
        for entry in KNOWN_CAUSES:
            if entry.matches(line):
                return entry
    return None
