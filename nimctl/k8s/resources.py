"""Typed NIMCache and NIMService (apps.nvidia.com/v1alpha1), covering only the fields nimctl sets.

Written from the NIM Operator's published CRD schemas (apps.nvidia.com_nimcaches.yaml and
apps.nvidia.com_nimservices.yaml, NVIDIA/k8s-nim-operator); the commit read is noted in
docs/kubernetes.md. Field names follow the CRDs (camelCase, `userID`); unknown fields are
rejected so a typo cannot reach a cluster, where the API server would silently prune it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from nimctl.k8s.formats import (
    check_dns_label,
    check_dns_subdomain,
    check_label_key,
    check_label_value,
    check_quantity,
)

API_VERSION = "apps.nvidia.com/v1alpha1"
GPU_RESOURCE = "nvidia.com/gpu"

DnsLabel = Annotated[str, AfterValidator(check_dns_label)]
ObjectName = Annotated[str, AfterValidator(check_dns_subdomain)]
Quantity = Annotated[str, AfterValidator(check_quantity)]
LabelKey = Annotated[str, AfterValidator(check_label_key)]
LabelValue = Annotated[str, AfterValidator(check_label_value)]
Port = Annotated[int, Field(ge=1, le=65535)]
Int32 = Annotated[int, Field(ge=0, le=2**31 - 1)]
Int64Id = Annotated[int, Field(ge=0, le=2**63 - 1)]
NonEmpty = Annotated[str, Field(min_length=1)]
ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer"]
PullPolicy = Literal["Always", "IfNotPresent", "Never"]
AccessMode = Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]


class K8sModel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, protected_namespaces=(), frozen=True
    )

    def to_document(self) -> dict[str, Any]:
        """The object as kubectl reads it: CRD field names, unset fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ObjectMeta(K8sModel):
    name: DnsLabel
    namespace: DnsLabel | None = None
    labels: dict[LabelKey, LabelValue] = {}


class EnvVar(K8sModel):
    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    value: str


# --- NIMCache ---------------------------------------------------------------------------------


class NgcModel(K8sModel):
    profiles: list[NonEmpty] = Field(min_length=1)


class NgcSource(K8sModel):
    model_puller: NonEmpty  # required by the CRD
    auth_secret: ObjectName  # required by the CRD
    pull_secret: ObjectName
    model: NgcModel | None = None


class CacheSource(K8sModel):
    # The CRD accepts exactly one of ngc, dataStore or hf; nimctl's NIMs come from NGC.
    ngc: NgcSource


class PersistentVolumeClaim(K8sModel):
    create: bool
    size: Quantity
    volume_access_mode: AccessMode
    storage_class: ObjectName | None = None


class CacheStorage(K8sModel):
    pvc: PersistentVolumeClaim


class NIMCacheSpec(K8sModel):
    source: CacheSource  # required by the CRD
    storage: CacheStorage  # required by the CRD
    user_id: Int64Id = Field(alias="userID")
    group_id: Int64Id = Field(alias="groupID")


class NIMCache(K8sModel):
    api_version: Literal["apps.nvidia.com/v1alpha1"] = API_VERSION
    kind: Literal["NIMCache"] = "NIMCache"
    metadata: ObjectMeta
    spec: NIMCacheSpec


# --- NIMService -------------------------------------------------------------------------------


class Image(K8sModel):
    repository: NonEmpty  # required by the CRD
    tag: NonEmpty  # required by the CRD
    pull_policy: PullPolicy
    pull_secrets: list[ObjectName]


class NimCacheRef(K8sModel):
    name: DnsLabel
    profile: NonEmpty | None = None


class ServiceStorage(K8sModel):
    nim_cache: NimCacheRef
    shared_memory_size_limit: Quantity


class Resources(K8sModel):
    limits: dict[Literal["nvidia.com/gpu"], Annotated[int, Field(ge=1)]]


class Service(K8sModel):
    type: ServiceType
    port: Port


class Expose(K8sModel):
    service: Service


class HttpGet(K8sModel):
    path: Annotated[str, Field(pattern=r"^/")]
    port: Port


class ProbeSettings(K8sModel):
    http_get: HttpGet
    initial_delay_seconds: Int32
    period_seconds: Annotated[int, Field(ge=1, le=2**31 - 1)]
    timeout_seconds: Annotated[int, Field(ge=1, le=2**31 - 1)]
    success_threshold: Literal[1]  # Kubernetes requires 1 for liveness and startup probes
    failure_threshold: Annotated[int, Field(ge=1, le=2**31 - 1)]


class Probe(K8sModel):
    enabled: bool
    probe: ProbeSettings


class NIMServiceSpec(K8sModel):
    image: Image  # the one field the CRD requires
    auth_secret: ObjectName
    storage: ServiceStorage
    resources: Resources | None = None
    env: list[EnvVar]
    expose: Expose
    replicas: Annotated[int, Field(ge=1, le=2**31 - 1)]
    user_id: Int64Id = Field(alias="userID")
    group_id: Int64Id = Field(alias="groupID")
    labels: dict[LabelKey, LabelValue] = {}
    readiness_probe: Probe
    liveness_probe: Probe
    startup_probe: Probe


class NIMService(K8sModel):
    api_version: Literal["apps.nvidia.com/v1alpha1"] = API_VERSION
    kind: Literal["NIMService"] = "NIMService"
    metadata: ObjectMeta
    spec: NIMServiceSpec


RESOURCE_KINDS: dict[str, type[K8sModel]] = {"NIMCache": NIMCache, "NIMService": NIMService}


def parse_document(document: dict[str, Any]) -> K8sModel:
    """A rendered document read back through the strict model of its kind."""
    kind = document.get("kind")
    if kind not in RESOURCE_KINDS:
        raise ValueError(f"kind {kind!r} is not one nimctl renders")
    return RESOURCE_KINDS[kind].model_validate(document)
