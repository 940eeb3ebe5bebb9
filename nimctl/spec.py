"""Settings → ContainerSpec: everything `docker run` would be given, as plain data.

The spec carries the NGC key apart from the ordinary environment (`secret_env`), so it can be
printed, hashed and compared without the key ever being part of it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from nimctl.domain import GpuRequest, host_url
from nimctl.restart import RestartPolicy, parse
from nimctl.settings import Settings
from nimctl.version import __version__

LABEL_PREFIX = "io.nimctl."
LABEL_MANAGED = LABEL_PREFIX + "managed"
LABEL_PROFILE = LABEL_PREFIX + "profile"
LABEL_CONFIG_HASH = LABEL_PREFIX + "config-hash"
LABEL_URL = LABEL_PREFIX + "url"
LABEL_MODEL = LABEL_PREFIX + "model"
LABEL_READINESS_PATH = LABEL_PREFIX + "readiness-path"
LABEL_MAX_IMAGES = LABEL_PREFIX + "max-images"
LABEL_VERSION = LABEL_PREFIX + "version"
# A throwaway container (`nimctl profiles`, `nimctl cache prefetch`): its value names the task.
LABEL_ONEOFF = LABEL_PREFIX + "oneoff"
LABEL_GPUS = LABEL_PREFIX + "gpus"  # the normalized GPU request, read back for the overlap check

LABEL_CAPABILITIES = LABEL_PREFIX + "capabilities"  # the profile's declared capabilities, comma list

NGC_KEY_ENV = "NGC_API_KEY"
HF_TOKEN_ENV = "HF_TOKEN"
MODEL_PROFILE_ENV = "NIM_MODEL_PROFILE"
MODEL_PATH_ENV = "NIM_MODEL_PATH"
SERVED_MODEL_NAME_ENV = "NIM_SERVED_MODEL_NAME"
MODEL_MOUNT_ROOT = "/opt/nim/models"  # a local model directory is mounted read-only under here


@dataclass(frozen=True)
class Mount:
    source: Path
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    url: str  # where the NIM answers on the host
    config_hash: str  # what makes two containers the same deployment (see `config_hash`)
    env: dict[str, str]
    labels: dict[str, str]
    runtime: str | None
    gpus: GpuRequest
    shm_size: int
    mounts: tuple[Mount, ...]
    ports: tuple[PortBinding, ...]
    user: str
    secret_env: dict[str, SecretStr] = field(default_factory=dict, repr=False, compare=False)
    command: tuple[str, ...] = ()  # empty: the image's own (the NIM server)
    restart: RestartPolicy = RestartPolicy()  # the engine's restart policy (default: no)

    @property
    def profile(self) -> str:
        return self.labels[LABEL_PROFILE]


def config_hash(fields: dict) -> str:
    """Stable hash of what makes two containers the same deployment (never includes the key)."""
    blob = json.dumps(fields, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def model_mount(local_dir: Path) -> Mount:
    """Where a local model directory appears in the container: read-only, under its own name."""
    return Mount(source=local_dir, target=f"{MODEL_MOUNT_ROOT}/{local_dir.name or 'model'}", read_only=True)


def build_spec(settings: Settings, profile_name: str) -> ContainerSpec:
    mounts: tuple[Mount, ...] = (Mount(source=settings.cache_dir, target=settings.cache_mount),)
    model_env: dict[str, str] = {}
    if settings.local_model_dir is not None:
        mount = model_mount(settings.local_model_dir)
        mounts += (mount,)
        model_env[MODEL_PATH_ENV] = mount.target
    elif settings.model_path is not None:
        model_env[MODEL_PATH_ENV] = settings.model_path
    if settings.served_model_name:
        model_env[SERVED_MODEL_NAME_ENV] = settings.served_model_name
    env = {
        "NIM_MAX_IMAGES_PER_PROMPT": str(settings.max_images_per_prompt),
        **({MODEL_PROFILE_ENV: settings.model_profile} if settings.model_profile else {}),
        **model_env,
        **settings.env,
    }
    secret_env = {NGC_KEY_ENV: settings.ngc_api_key} if settings.ngc_api_key else {}
    if settings.hf_token is not None and settings.hf_token.get_secret_value():
        secret_env[HF_TOKEN_ENV] = settings.hf_token
    # port auto: hashed as "auto" (a running container's picked port is no change); published as 0
    # until `up` picks or reuses one (`with_host_port`)
    host_port = 0 if settings.port == "auto" else settings.port
    url = host_url(settings.host, host_port)
    ports = (PortBinding(settings.container_port, settings.host, host_port),)
    gpus = settings.gpu_request
    runtime = settings.runtime or None
    hashed = {
        "image": settings.image_reference,
        "env": env,
        "has_ngc_key": NGC_KEY_ENV in secret_env,
        **({"has_hf_token": True} if HF_TOKEN_ENV in secret_env else {}),  # absent: old hashes stay the same
        "runtime": runtime,
        "gpus": [gpus.count, list(gpus.device_ids)],
        "shm_size": settings.shm_size_bytes,
        "mounts": [[str(m.source), m.target, m.read_only] for m in mounts],
        "ports": [[p.container_port, p.host_ip, settings.port] for p in ports],
        "user": settings.run_as,
    }
    restart = parse(settings.restart)
    if restart.restarts:  # hashed only when set: containers made before the setting existed keep their hash
        hashed["restart"] = str(restart)
    fingerprint = config_hash(hashed)
    # Read back only through container.ContainerInfo's properties.
    labels = {
        LABEL_MANAGED: "true",
        LABEL_PROFILE: profile_name,
        LABEL_CONFIG_HASH: fingerprint,
        LABEL_URL: url,
        LABEL_MODEL: expected_model(settings) or "",
        LABEL_READINESS_PATH: settings.readiness_path,
        LABEL_MAX_IMAGES: str(settings.max_images_per_prompt),
        LABEL_VERSION: __version__,
        LABEL_GPUS: gpus.normalized,
        **({LABEL_CAPABILITIES: ",".join(settings.capabilities)} if settings.capabilities is not None else {}),
    }
    return ContainerSpec(
        name=settings.container_name,
        image=settings.image_reference,
        url=url,
        config_hash=fingerprint,
        env=env,
        labels=labels,
        runtime=runtime,
        gpus=gpus,
        shm_size=settings.shm_size_bytes,
        mounts=mounts,
        ports=ports,
        user=settings.run_as,
        secret_env=secret_env,
        restart=restart,
    )


def expected_model(settings: Settings) -> str | None:
    """The model id the settings expect the NIM to serve, if they say: --served-model-name, else the
    profile's served_model unless a model source replaces the profile's model. Only an expectation
    (the smoke `models` check verifies it); what nimctl reports is what /v1/models says."""
    if settings.served_model_name:
        return settings.served_model_name
    return settings.served_model if settings.model_path is None else None


def oneoff_spec(spec: ContainerSpec, task: str, command: list[str]) -> ContainerSpec:
    """`spec` (what `up` would run) as a throwaway container running `command`: same image, runtime,
    GPUs, shm, cache mount, user, key and env; no published port, a unique name, and a label that
    says what it is. It is not `managed`: `status`/`down` never mistake it for a deployment."""
    labels = {LABEL_ONEOFF: task, LABEL_PROFILE: spec.labels.get(LABEL_PROFILE, ""), LABEL_VERSION: __version__}
    return dataclasses.replace(
        spec,
        name=f"{spec.name}-{task}-{uuid.uuid4().hex[:8]}",
        ports=(),
        labels=labels,
        command=tuple(command),
        restart=RestartPolicy(),  # a throwaway container runs once
    )


def with_host_port(spec: ContainerSpec, port: int) -> ContainerSpec:
    """`spec` published on `port` (port auto, once picked); the config hash stays that of "auto"."""
    url = host_url(spec.ports[0].host_ip, port)
    return dataclasses.replace(
        spec,
        url=url,
        ports=tuple(dataclasses.replace(binding, host_port=port) for binding in spec.ports),
        labels={**spec.labels, LABEL_URL: url},
    )


def registry_of(image: str) -> str | None:
    """The registry host of an image reference, or None for Docker Hub / local names.

    As docker does it: the first path component is a registry when it has a dot or a
    port, or is `localhost`.
    """
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def split_reference(image: str) -> tuple[str, str]:
    """`repo[:tag][@digest]` → (repo, tag-or-digest); tag defaults to latest."""
    if "@" in image:
        repo, _, digest = image.partition("@")
        return repo, digest
    last_slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > last_slash:
        return image[:colon], image[colon + 1 :]
    return image, "latest"
