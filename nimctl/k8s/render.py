"""Settings + render options → NIMCache and NIMService, then YAML or JSON text.

Pure: no cluster, no Docker. The settings are the ones `nimctl up` uses (load_settings), so a
profile tuned on one host becomes the resources the NIM Operator reconciles, nothing retyped.
The NGC key never enters a resource: the pods read it from the auth Secret.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import yaml
from pydantic import ValidationError

from nimctl.errors import ConfigError, NimctlError
from nimctl.k8s import formats
from nimctl.k8s.resources import (
    GPU_RESOURCE,
    CacheSource,
    CacheStorage,
    EnvVar,
    Expose,
    HttpGet,
    Image,
    K8sModel,
    NgcModel,
    NgcSource,
    NIMCache,
    NimCacheRef,
    NIMCacheSpec,
    NIMService,
    NIMServiceSpec,
    ObjectMeta,
    PersistentVolumeClaim,
    Probe,
    ProbeSettings,
    Resources,
    Service,
    ServiceStorage,
)
from nimctl.settings import Settings
from nimctl.spec import LABEL_CONFIG_HASH, LABEL_PROFILE, NGC_KEY_ENV, build_spec, registry_of, split_reference

OutputFormat = Literal["yaml", "json"]
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
# The NIM image runs as uid 1000; the cache job writes as this user and the NIM reads as it.
DEFAULT_UID = 1000
PULL_POLICIES = {"always": "Always", "missing": "IfNotPresent", "never": "Never"}
# Probe timings: the operator's own defaults (api/apps/v1alpha1/nimservice_types.go).
PROBE_PERIOD_SECONDS = 10
STARTUP_INITIAL_DELAY_SECONDS = 30
READY_INITIAL_DELAY_SECONDS = 15


@dataclass(frozen=True)
class RenderOptions:
    """What only a cluster needs; everything else comes from the settings."""

    namespace: str | None = None
    replicas: int = 1
    storage_class: str | None = None
    cache_size: str | None = None  # default: the profile's min_free_disk_gb
    pull_secret: str = "ngc-secret"
    auth_secret: str = "ngc-api-secret"
    service_type: str = "ClusterIP"
    model_profile: str | None = None


def _checked(option: str, check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except ValueError as exc:
        raise ConfigError(f"invalid {option}: {exc}", hint=f"see `nimctl k8s render --help` for {option}") from None


def _gpu_limit(settings: Settings) -> int | None:
    request = settings.gpu_request
    if request.count == -1 or request.device_ids:
        raise ConfigError(
            f"--gpus {settings.gpus} has no meaning in a cluster: a pod asks for a number of GPUs",
            hint="give a count, e.g. --gpus 2 (or --gpus none for no GPU)",
        )
    return request.count or None


def _user_and_group(settings: Settings) -> tuple[int, int]:
    if settings.user is None:  # the host user means nothing in a pod; the NIM image's user does
        return DEFAULT_UID, DEFAULT_UID
    uid, _, gid = settings.user.partition(":")
    return int(uid), int(gid or uid)


def _model_profile(settings: Settings, options: RenderOptions) -> str | None:
    # --model-profile, else a model_profile setting (once the day-2 issue adds one), else the
    # NIM's own variable if the profile's [env] table pins it.
    return options.model_profile or getattr(settings, "model_profile", None) or settings.env.get("NIM_MODEL_PROFILE")


def _image(settings: Settings) -> tuple[str, str]:
    reference = settings.image_reference
    if "@" in reference:
        raise ConfigError(
            f"image {reference} is pinned by digest; the NIM Operator takes a repository and a tag",
            hint="give the image by tag (--image REPO:TAG)",
        )
    return split_reference(reference)


def _probe(path: str, port: int, initial_delay: int, failures: int) -> Probe:
    return Probe(
        enabled=True,
        probe=ProbeSettings(
            http_get=HttpGet(path=path, port=port),
            initial_delay_seconds=initial_delay,
            period_seconds=PROBE_PERIOD_SECONDS,
            timeout_seconds=1,
            success_threshold=1,
            failure_threshold=failures,
        ),
    )


def render(settings: Settings, profile_name: str, options: RenderOptions) -> list[K8sModel]:
    """The NIMCache that downloads the model and the NIMService that serves it from that cache."""
    try:
        return _resources(settings, profile_name, options)
    except ValidationError as exc:  # a setting `up` accepts but a cluster does not (e.g. a relative path)
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"cannot render {exc.title}.{where}: {first['msg']}", hint="see `nimctl config show` and docs/kubernetes.md"
        ) from None


def _resources(settings: Settings, profile_name: str, options: RenderOptions) -> list[K8sModel]:
    name = _checked("container name (--name)", formats.dns_label_from, settings.container_name)
    namespace = (
        _checked("--namespace", formats.check_dns_label, options.namespace) if options.namespace is not None else None
    )
    pull_secret = _checked("--pull-secret", formats.check_dns_subdomain, options.pull_secret)
    auth_secret = _checked("--auth-secret", formats.check_dns_subdomain, options.auth_secret)
    storage_class = (
        _checked("--storage-class", formats.check_dns_subdomain, options.storage_class)
        if options.storage_class is not None
        else None
    )
    default_cache_size = f"{max(1, math.ceil(settings.min_free_disk_gb))}Gi"
    cache_size = _checked("--cache-size", formats.quantity_from_size, options.cache_size or default_cache_size)
    if options.service_type not in SERVICE_TYPES:
        raise ConfigError(
            f"invalid --service-type {options.service_type!r}", hint=f"use one of: {', '.join(SERVICE_TYPES)}"
        )
    if options.replicas < 1:
        raise ConfigError(f"invalid --replicas {options.replicas}: at least 1", hint="scaling to zero is kubectl's job")
    gpus = _gpu_limit(settings)
    uid, gid = _user_and_group(settings)
    repository, tag = _image(settings)
    model_profile = _model_profile(settings, options)

    # The config hash as `up` computes it, for the user the pods run as (not this host's).
    spec = build_spec(settings.model_copy(update={"user": f"{uid}:{gid}"}), profile_name)
    labels = {key: spec.labels[key] for key in (LABEL_PROFILE, LABEL_CONFIG_HASH)}
    _checked("profile name (label value)", formats.check_label_value, labels[LABEL_PROFILE])
    metadata = ObjectMeta(name=name, namespace=namespace, labels=labels)

    cache = NIMCache(
        metadata=metadata,
        spec=NIMCacheSpec(
            source=CacheSource(
                ngc=NgcSource(
                    model_puller=settings.image_reference,
                    pull_secret=pull_secret,
                    auth_secret=auth_secret,
                    model=NgcModel(profiles=[model_profile]) if model_profile else None,
                )
            ),
            storage=CacheStorage(
                pvc=PersistentVolumeClaim(
                    create=True,
                    size=cache_size,
                    # Replicas on several nodes share the one cache volume.
                    volume_access_mode="ReadWriteOnce" if options.replicas == 1 else "ReadWriteMany",
                    storage_class=storage_class,
                )
            ),
            user_id=uid,
            group_id=gid,
        ),
    )
    port = settings.container_port
    service = NIMService(
        metadata=metadata,
        spec=NIMServiceSpec(
            image=Image(
                repository=repository, tag=tag, pull_policy=PULL_POLICIES[settings.pull], pull_secrets=[pull_secret]
            ),
            auth_secret=auth_secret,
            storage=ServiceStorage(
                nim_cache=NimCacheRef(name=name, profile=model_profile),
                shared_memory_size_limit=formats.quantity_from_size(settings.shm_size),
            ),
            resources=Resources(limits={GPU_RESOURCE: gpus}) if gpus else None,
            env=[EnvVar(name=key, value=value) for key, value in spec.env.items() if key != NGC_KEY_ENV],
            expose=Expose(service=Service(type=options.service_type, port=port)),
            replicas=options.replicas,
            user_id=uid,
            group_id=gid,
            labels=labels,
            readiness_probe=_probe(settings.readiness_path, port, READY_INITIAL_DELAY_SECONDS, 3),
            liveness_probe=_probe(settings.liveness_path, port, READY_INITIAL_DELAY_SECONDS, 3),
            # Long enough for the profile's whole readiness timeout, like `up` waits.
            startup_probe=_probe(
                settings.readiness_path,
                port,
                STARTUP_INITIAL_DELAY_SECONDS,
                math.ceil(settings.timeout / PROBE_PERIOD_SECONDS),
            ),
        ),
    )
    return [cache, service]


def to_text(resources: list[K8sModel], output: OutputFormat, settings: Settings) -> str:
    """Multi-document YAML or a JSON list; refuses to return text that holds the NGC key."""
    documents = [resource.to_document() for resource in resources]
    if output == "json":
        text = json.dumps(documents, indent=2) + "\n"
    else:
        text = yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False)
    key = settings.ngc_api_key.get_secret_value() if settings.ngc_api_key else ""
    if key and key in text:  # cannot happen by construction; a last guard, the key stays unsaid
        raise NimctlError("refusing to print resources that contain the NGC key", hint="report this bug")
    return text


def secret_commands(settings: Settings, options: RenderOptions) -> list[str]:
    """The two `kubectl create secret` commands the user runs once, the key left as $NGC_API_KEY."""
    registry = registry_of(settings.image_reference) or "docker.io"
    in_namespace = f" -n {options.namespace}" if options.namespace else ""
    registry_login = (
        f"kubectl create secret docker-registry {options.pull_secret}{in_namespace} --docker-server={registry} "
        "--docker-username='$oauthtoken' --docker-password=\"$NGC_API_KEY\""
    )
    key = f'kubectl create secret generic {options.auth_secret}{in_namespace} --from-literal=NGC_API_KEY="$NGC_API_KEY"'
    return [registry_login, key]
