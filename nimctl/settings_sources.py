"""The layers settings come from (flags, environment, profile, defaults), and their merge.

Each source hands the settings model its values keyed by field name and remembers where each one
came from ("flag", "env NAME", "profile FILE"). `merge` is the one precedence rule (a stronger layer
wins, a dict setting such as `env` merges key by key), so `nimctl config show` reports exactly what
was validated.

This was pydantic-settings' job until issue 17: its import (asyncio, argparse and every cloud
provider's source, ~0.15 s) was the largest part of every command's start-up, while nimctl used only
its source protocol and merge. Validation is still pydantic's.
"""

from __future__ import annotations

import json
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo

DEFAULT_SOURCE = "default"


class RecordingSource(ABC):
    """A source that supplies the fields it has a value for and records each value's origin."""

    def __init__(self, settings_cls: type[BaseModel]) -> None:
        self.settings_cls = settings_cls
        self.origins: dict[str, str] = {}

    @abstractmethod
    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str]:
        """(value or None, the key it was read under)."""

    @abstractmethod
    def origin(self, key: str) -> str:
        """How `nimctl config show` names the place `key` was read from."""

    def prepare_field_value(self, field: FieldInfo, value: Any) -> Any:
        return value

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key = self.get_field_value(field, name)
            if value is None:  # None means "not given" in every layer
                continue
            values[name] = self.prepare_field_value(field, value)
            self.origins[name] = self.origin(key)
        return values


class MappingSource(RecordingSource):
    """Values already parsed into Python (flags the user gave, a profile's TOML), keyed by field name."""

    def __init__(self, settings_cls: type[BaseModel], values: Mapping[str, Any], label: str) -> None:
        super().__init__(settings_cls)
        self._values = values
        self._label = label

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str]:
        return self._values.get(field_name), field_name

    def origin(self, key: str) -> str:
        return self._label


def flag_source(settings_cls: type[BaseModel], flags: Mapping[str, Any]) -> MappingSource:
    """The command-line options the user actually gave."""
    return MappingSource(settings_cls, flags, "flag")


def profile_source(settings_cls: type[BaseModel], values: Mapping[str, Any], file_name: str) -> MappingSource:
    """A profile TOML's values (load_profile has already refused unknown keys)."""
    return MappingSource(settings_cls, values, f"profile {file_name}")


def default_source(settings_cls: type[BaseModel], values: Mapping[str, Any]) -> MappingSource:
    """Defaults that depend on the profile (its container name), weaker than every other layer."""
    return MappingSource(settings_cls, values, DEFAULT_SOURCE)


class EnvironmentSource(RecordingSource):
    """The variables named by each field's validation aliases, looked up case-insensitively.

    Only those names are read: a bare field name would pick up USER, HOST, PORT... A dict or list
    setting (env, capabilities) is given as JSON.
    """

    def __init__(self, settings_cls: type[BaseModel], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ
        self._key_by_upper = {key.upper(): key for key in environ}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str]:
        for name in env_names_of(field):
            key = self._key_by_upper.get(name.upper())
            if key is not None:
                return self._environ[key], key
        return None, field_name

    def prepare_field_value(self, field: FieldInfo, value: Any) -> Any:
        if not is_structured(field.annotation):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # not JSON: validation then rejects it with the setting and variable named

    def origin(self, key: str) -> str:
        return f"env {key}"


def is_structured(annotation: Any) -> bool:
    """A dict or list annotation, bare or in a union (`list[str] | None`): read from JSON text."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(is_structured(arg) for arg in typing.get_args(annotation))
    return (origin or annotation) in (dict, list, tuple, set, frozenset)


def env_names_of(field: FieldInfo) -> tuple[str, ...]:
    """The environment variables that set `field`, strongest first (its validation aliases)."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(choice for choice in alias.choices if isinstance(choice, str))
    return (alias,) if isinstance(alias, str) else ()


def merge(sources: Sequence[RecordingSource]) -> dict[str, Any]:
    """What `sources` (strongest first) supply, merged: a stronger layer's value wins, and a dict
    value (the container `env`) is merged key by key, so `--env` adds to a profile's [env]."""
    merged: dict[str, Any] = {}
    for source in reversed(sources):
        _update(merged, source())
    return merged


def _update(into: dict[str, Any], stronger: Mapping[str, Any]) -> None:
    for key, value in stronger.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            nested = dict(into[key])
            _update(nested, value)
            into[key] = nested
        else:
            into[key] = value


def origins(sources: Sequence[RecordingSource], fields: Sequence[str]) -> dict[str, str]:
    """Where each field's value came from: the strongest source that supplied it, else the default."""
    return {
        field: next((source.origins[field] for source in sources if field in source.origins), DEFAULT_SOURCE)
        for field in fields
    }
