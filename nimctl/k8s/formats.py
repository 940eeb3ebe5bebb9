"""Kubernetes value formats nimctl produces: DNS names, label values, resource quantities.

Each check raises ValueError with the reason, so pydantic reports it as a validation error and
the renderer can turn it into a ConfigError that names the setting.
"""

from __future__ import annotations

import re

from nimctl.domain import parse_size

# A Service is created under the NIMService's name, so names follow the stricter RFC 1035 label
# rule (a letter first) that Services need, which is also a valid DNS-1123 label.
_DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
# The quantity grammar the CRDs' openAPIV3Schema uses for int-or-string quantities.
_QUANTITY = re.compile(
    r"(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?"
)
_BINARY_UNITS = (("Ti", 1024**4), ("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024))
_K8S_BINARY_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT])i\s*")

MAX_NAME = 63


def check_dns_label(value: str) -> str:
    if len(value) > MAX_NAME or not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a Kubernetes name (lower-case letters, digits and '-', "
            f"a letter first, at most {MAX_NAME} characters)"
        )
    return value


def check_dns_subdomain(value: str) -> str:
    """Secret and StorageClass names: dot-separated DNS-1123 labels, at most 253 characters."""
    if len(value) > 253 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", value):
        raise ValueError(f"{value!r} is not a Kubernetes object name (lower-case letters, digits, '-' and '.')")
    return value


def dns_label_from(name: str) -> str:
    """A container name as a Kubernetes name: lower case, '_' and '.' as '-' (checked, not invented)."""
    return check_dns_label(re.sub(r"[_.]+", "-", name.lower()).strip("-"))


def check_label_value(value: str) -> str:
    if len(value) > MAX_NAME or not _LABEL_VALUE.fullmatch(value):
        raise ValueError(f"{value!r} is not a Kubernetes label value")
    return value


def check_label_key(key: str) -> str:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", prefix)):
        raise ValueError(f"{key!r} has an invalid label key prefix")
    if len(name) > MAX_NAME or not _LABEL_NAME.fullmatch(name):
        raise ValueError(f"{key!r} is not a Kubernetes label key")
    return key


def check_quantity(value: str) -> str:
    if not _QUANTITY.fullmatch(value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 32Gi, 512Mi)")
    return value


def quantity_from_size(text: str) -> str:
    """Docker's size syntax (32GB, 16g, powers of 1024) or a binary quantity (200Gi) → `32Gi`.

    The largest binary unit that divides the size exactly keeps the value an integer.
    """
    k8s_form = _K8S_BINARY_SIZE.fullmatch(text)
    size = parse_size(f"{k8s_form.group(1)}{k8s_form.group(2)}iB" if k8s_form else text)
    for suffix, factor in _BINARY_UNITS:
        if size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)
