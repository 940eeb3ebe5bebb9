"""Did a secret change? Salted fingerprints, compared in memory, never stored, printed or logged.

`up` on an unchanged running deployment leaves the container alone, so a rotated NGC key would
silently stay the old one inside it. ContainerInfo keeps, instead of the secrets it reads from the
container's environment, their fingerprints under this process's random salt; `up` fingerprints
the secrets it would start the container with under the same salt and names the ones that differ.

Nothing is persisted: no label, no file (a label would put a key's fingerprint wherever the
container's labels are shown or copied). The salt lives in this process only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping
from typing import Any

_SALT = os.urandom(32)  # this process's: a fingerprint means nothing outside it


def fingerprint(value: str, salt: bytes = _SALT) -> str:
    """A salted SHA-256 of one secret's value (hex)."""
    return hashlib.sha256(salt + value.encode("utf-8", "surrogatepass")).hexdigest()


def _plain(value: Any) -> str | None:
    if value is None:
        return None
    reveal = getattr(value, "get_secret_value", None)  # pydantic's SecretStr
    return str(reveal() if reveal is not None else value)


def fingerprints(secrets: Mapping[str, Any], names: Iterable[str] | None = None) -> dict[str, str]:
    """name -> fingerprint for each secret given (a str or a SecretStr; None or "" is absent),
    only those among `names` if given."""
    wanted = None if names is None else set(names)
    found = {}
    for name, value in secrets.items():
        plain = _plain(value)
        if plain and (wanted is None or name in wanted):
            found[name] = fingerprint(plain)
    return found


def changed_secrets(wanted: Mapping[str, Any], running: Mapping[str, str]) -> list[str]:
    """The names whose secret differs between `wanted` (name -> value) and a container's
    fingerprints (`running`): a different value, or one given on one side only."""
    mine = fingerprints(wanted)
    return sorted(
        name for name in set(mine) | set(running) if not hmac.compare_digest(mine.get(name, ""), running.get(name, ""))
    )
