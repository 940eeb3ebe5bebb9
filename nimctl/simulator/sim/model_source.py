"""Model-free NIM (NIM LLM 2.x): the model source, the name served for it, and the start-up step that
obtains the model or fails the way a NIM does.

The source is NIM_MODEL_PATH or the container's first argument: `hf://org/model[:revision]`,
`ngc://org/[team/]model[:version]`, another scheme a NIM knows (s3://, gs://, modelscope://), or an
absolute directory path. Nothing is downloaded: a remote source "has" a config.json whose
architectures are SIM_MODEL_ARCHITECTURES; a local directory is read for real.

Failures, each as the log lines a NIM prints (tests/unit/test_diagnosis.py feeds these very lines
to nimctl's diagnosis table):
- an hf:// repository listed in SIM_HF_GATED, without HF_TOKEN: huggingface_hub's GatedRepoError (401);
- ngc:// without NGC_API_KEY: NGC's 401;
- a local directory that is missing or has no config.json;
- a config.json whose `architectures` vLLM does not support.
The HF_TOKEN value never appears in a line.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for annotations: config.py imports this module
    from .config import SimConfig

SCHEMES = ("hf", "ngc", "s3", "gs", "modelscope")
HF_ENDPOINT = "https://huggingface.co"

# A sample of the architectures vLLM's model registry knows (config.json's `architectures` names).
SUPPORTED_ARCHITECTURES = (
    "DeepseekV3ForCausalLM",
    "Gemma3ForCausalLM",
    "Gemma3ForConditionalGeneration",
    "GptOssForCausalLM",
    "LlamaForCausalLM",
    "LlavaForConditionalGeneration",
    "Mistral3ForConditionalGeneration",
    "MistralForCausalLM",
    "MixtralForCausalLM",
    "NemotronHForCausalLM",
    "Phi3ForCausalLM",
    "PixtralForConditionalGeneration",
    "Qwen2ForCausalLM",
    "Qwen2_5_VLForConditionalGeneration",
    "Qwen3ForCausalLM",
    "Qwen3MoeForCausalLM",
)


@dataclasses.dataclass(frozen=True)
class ModelSource:
    text: str  # as given
    scheme: str  # "hf", "ngc", ...; "" for a local directory
    location: str  # org/model with the scheme, query and version removed; or the directory
    version: str  # the trailing :version (revision); "" when there is none


def is_model_source(arg: str) -> bool:
    """Whether a container argument names a model (a URI or an absolute path), not a command."""
    return "://" in arg or arg.startswith("/")


def parse_source(text: str) -> ModelSource:
    text = text.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return ModelSource(text, "", text.rstrip("/") or "/", "")
    rest = rest.split("?", 1)[0].strip("/")
    location, colon, version = rest.rpartition(":")
    if not colon or "/" in version:
        location, version = rest, ""
    return ModelSource(text, scheme.lower(), location, version)


def served_name(text: str) -> str:
    """The name a model-free NIM serves when NIM_SERVED_MODEL_NAME is unset (NVIDIA's rule): the
    source without its URI scheme and trailing :<version>, any ':' left replaced (here by '-').
    A local directory has no scheme: its name is the path (as vLLM names a model by its path)."""
    return parse_source(text).location.replace(":", "-")


@dataclasses.dataclass(frozen=True)
class SourceProblem:
    """Why the model could not be obtained: ERROR lines, all from one NIM source file."""

    origin: str  # the NIM file:line the lines carry
    lines: tuple[str, ...]


def is_gated(cfg: SimConfig, repository: str) -> bool:
    return any(fnmatch.fnmatchcase(repository, pattern) for pattern in cfg.hf_gated)


def gated_repo_error(source: ModelSource) -> SourceProblem:
    """huggingface_hub's answer to an anonymous download from a gated repository."""
    request_id = f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"
    revision = source.version or "main"
    return SourceProblem(
        "hf_downloader.py:142",
        (
            f"Model download failed for {source.text}: huggingface_hub.errors.GatedRepoError: "
            f"401 Client Error. (Request ID: {request_id})",
            f"Cannot access gated repo for url {HF_ENDPOINT}/{source.location}/resolve/{revision}/config.json.",
            f"Access to model {source.location} is restricted. You must have access to it and be authenticated "
            "to access it. Please log in.",
        ),
    )


def ngc_unauthorized(source: ModelSource) -> SourceProblem:
    return SourceProblem(
        "ngc_injector.py:201",
        (f"Model download failed for {source.text}: 401 Unauthorized: NGC_API_KEY is not set",),
    )


def unsupported_architectures(architectures: list[str] | tuple[str, ...]) -> SourceProblem:
    """vLLM's refusal of a model whose architectures its registry lacks."""
    return SourceProblem(
        "registry.py:498",
        (
            f"ValueError: Model architectures {list(architectures)!r} are not supported for now. "
            f"Supported architectures: dict_keys({list(SUPPORTED_ARCHITECTURES)!r})",
        ),
    )


def missing_directory(path: str) -> SourceProblem:
    return SourceProblem(
        "model_source.py:88",
        (
            f"Model download failed: the local model directory {path} does not exist in the container "
            "(mount it, e.g. -v /host/model:/models/model:ro, and point NIM_MODEL_PATH at the mount)",
        ),
    )


def missing_config(path: str) -> SourceProblem:
    """transformers' words for a directory without config.json."""
    return SourceProblem(
        "model_source.py:96",
        (f"OSError: {path} does not appear to have a file named config.json.",),
    )


def _check_architectures(architectures: list[str] | tuple[str, ...]) -> SourceProblem | None:
    if any(name in SUPPORTED_ARCHITECTURES for name in architectures):
        return None
    return unsupported_architectures(architectures)


def _check_local(source: ModelSource) -> SourceProblem | None:
    path = source.location
    if not os.path.isdir(path):
        return missing_directory(path)
    config = os.path.join(path, "config.json")
    if not os.path.isfile(config):
        return missing_config(path)
    try:
        with open(config, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as err:
        return SourceProblem("model_source.py:104", (f"ValueError: cannot read {config} as JSON: {err}",))
    architectures = data.get("architectures") if isinstance(data, dict) else None
    if not isinstance(architectures, list):
        architectures = []
    return _check_architectures([str(name) for name in architectures])


def check_model_source(cfg: SimConfig) -> SourceProblem | None:
    """Obtain the model of a model-free simulator: None when it could, else why not."""
    source = parse_source(cfg.model_path)
    if not source.scheme:
        if not source.location.startswith("/"):
            return SourceProblem(
                "model_source.py:60",
                (f"Model download failed: {source.text!r} is neither a model URI nor an absolute directory path",),
            )
        return _check_local(source)
    if source.scheme not in SCHEMES:
        return SourceProblem(
            "model_source.py:64",
            (
                f"Model download failed: unsupported model source scheme {source.scheme}:// in {source.text} "
                f"(known: {', '.join(s + '://' for s in SCHEMES)}, or an absolute directory path)",
            ),
        )
    if source.scheme == "hf" and not cfg.hf_token.strip() and is_gated(cfg, source.location):
        return gated_repo_error(source)
    if source.scheme == "ngc" and not cfg.ngc_api_key.strip():
        return ngc_unauthorized(source)
    return _check_architectures(cfg.model_architectures)


def source_log_lines(cfg: SimConfig) -> list[tuple[str, str]]:
    """(origin, message) INFO lines a model-free NIM logs while it obtains its model."""
    source = parse_source(cfg.model_path)
    lines = [("manifest.py:77", f"Model-free NIM: generating a manifest for {source.text}")]
    if source.scheme == "hf":
        revision = source.version or "main"
        where = f"{HF_ENDPOINT} (revision {revision})"
        lines.append(("hf_downloader.py:98", f"Downloading {source.location} from {where} to {cfg.cache_path}"))
    elif source.scheme:
        lines.append(("model_source.py:120", f"Downloading {source.text} to {cfg.cache_path} (simulated)"))
    else:
        lines.append(("model_source.py:124", f"Using the local model directory {source.location}"))
    lines.append(("manifest.py:102", f"Serving the model as {cfg.served_model_name}"))
    return lines
