"""The layers settings come from (flags, environment, profile), as pydantic-settings sources.

Each source hands pydantic its values keyed by field name and remembers where each one came
from ("flag", "env NAME", "profile FILE"), so `nimctl config show` reports exactly what pydantic
merged: there is no second precedence loop.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

DEFAULT_SOURCE = "default"


class RecordingSource(PydanticBaseSettingsSource):
    """A source that supplies the fields it has a value for and records each value's origin."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.origins: dict[str, str] = {}

    @abstractmethod
    def origin(self, key: str) -> str:
        """How `nimctl config show` names the place `key` was read from."""

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, is_complex = self.get_field_value(field, name)
            if value is None:  # None means "not given" in every layer
                continue
            values[name] = self.prepare_field_value(name, field, value, is_complex)
            self.origins[name] = self.origin(key)
        return values


class MappingSource(RecordingSource):
    """Values already parsed into Python (flags the user gave, a profile's TOML), keyed by field name."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any], label: str) -> None:
        super().__init__(settings_cls)
        self._values = values
        self._label = label

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def prepare_field_value(self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool) -> Any:
        return value  # no text to decode: a dict setting is a dict already

    def origin(self, key: str) -> str:
        return self._label


def flag_source(settings_cls: type[BaseSettings], flags: Mapping[str, Any]) -> MappingSource:
    """The command-line options the user actually gave."""
    return MappingSource(settings_cls, flags, "flag")


def profile_source(settings_cls: type[BaseSettings], values: Mapping[str, Any], file_name: str) -> MappingSource:
    """A profile TOML's values (load_profile has already refused unknown keys)."""
    return MappingSource(settings_cls, values, f"profile {file_name}")


def default_source(settings_cls: type[BaseSettings], values: Mapping[str, Any]) -> MappingSource:
    """Defaults that depend on the profile (its container name), weaker than every other layer."""
    return MappingSource(settings_cls, values, DEFAULT_SOURCE)


class EnvironmentSource(RecordingSource):
    """The variables named by each field's validation aliases, looked up case-insensitively.

    Only those names are read: a bare field name would pick up USER, HOST, PORT...
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ
        self._key_by_upper = {key.upper(): key for key in environ}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        for name in env_names_of(field):
            key = self._key_by_upper.get(name.upper())
            if key is not None:
                return self._environ[key], key, self.field_is_complex(field)
        return None, field_name, False

    def prepare_field_value(self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool) -> Any:
        try:  # a dict setting (env) is given as a JSON object
            return super().prepare_field_value(field_name, field, value, value_is_complex)
        except json.JSONDecodeError:
            return value  # not JSON: validation then rejects it with the setting and variable named

    def origin(self, key: str) -> str:
        return f"env {key}"


def env_names_of(field: FieldInfo) -> tuple[str, ...]:
    """The environment variables that set `field`, strongest first (its validation aliases)."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(choice for choice in alias.choices if isinstance(choice, str))
    return (alias,) if isinstance(alias, str) else ()


def origins(sources: Sequence[RecordingSource], fields: Sequence[str]) -> dict[str, str]:
    """Where each field's value came from: the strongest source that supplied it, else the default."""
    return {
        field: next((source.origins[field] for source in sources if field in source.origins), DEFAULT_SOURCE)
        for field in fields
    }
