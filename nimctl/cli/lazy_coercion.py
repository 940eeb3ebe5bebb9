"""typer builds a pydantic TypeAdapter for an option only when the option is given.

typer 0.29 coerces every option of the invoked command through a pydantic TypeAdapter, and builds
it even for an option left out (value None), whose coercion is then "None stays None". `up` has
about 25 options: building their adapters was ~0.2 s of an unchanged `up`. In the CLI's own
process (`main`, never on `import nimctl`), each option's runtime coercion is replaced by a
stand-in that answers a missing value as typer does (None, or () for a multiple option) and
builds typer's own coercion the first time a value is there: the same checks and the same
messages for every value given. (A command's own default of a plain type, `interval: float = 2.0`,
is used as it is.) A typer without this seam (older or newer) is left alone.

A text given to a `str` option, and digits given to an `int` or `float` option without bounds, are
taken as pydantic would take them without building an adapter at all (issue 17: the three adapters
of a typical `up` were ~60 ms). Anything else (a bad number, a path, a bound) goes to typer's own
coercion, so its checks and messages are unchanged.
"""

from __future__ import annotations

import re
from typing import Any

try:  # typer's internals: the seam exists in typer 0.29 (typer.core._TyperParameter)
    from typer._coercion import build_runtime_param
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - another typer: nothing to defer
    _TyperParameter = None


PLAIN = (int, float, str)  # a command's default of its own annotated type is used as it is
INTEGER = re.compile(r"[+-]?[0-9]+")
DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
NOT_SIMPLE = object()


def simple_coercion(value: Any, descriptor: Any) -> Any:
    """`value` as typer's adapter would return it, for a plain text or number; else NOT_SIMPLE."""
    annotation = descriptor.annotation
    if type(value) is not str or descriptor.is_choice or descriptor.is_list:
        return NOT_SIMPLE
    if annotation is str:
        return value
    info = descriptor.parameter_info
    if getattr(info, "min", None) is not None or getattr(info, "max", None) is not None:
        return NOT_SIMPLE
    if annotation is int and INTEGER.fullmatch(value):
        return int(value)
    if annotation is float and DECIMAL.fullmatch(value):
        return float(value)
    return NOT_SIMPLE


class DeferredRuntimeParam:
    """typer's RuntimeParam for one option, built at the first value that is not None."""

    __slots__ = ("_owner", "_real")

    def __init__(self, owner: Any):
        self._owner = owner
        self._real: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if self._real is None:
            if value is None:  # typer's RuntimeParam.coerce for None, unchanged
                return () if (param.multiple or param.nargs == -1) else None
            if (
                value is param.default
                and type(value) in PLAIN
                and self._owner.type_descriptor.annotation is type(value)
            ):
                return value  # the command's own default (`interval: float = 2.0`): nothing to coerce
            simple = simple_coercion(value, self._owner.type_descriptor)
            if simple is not NOT_SIMPLE:
                return simple
        return self.real().coerce(value, param=param, ctx=ctx)

    def real(self) -> Any:
        if self._real is None:
            self._real = build_runtime_param(self._owner.type_descriptor)
        return self._real

    def __getattr__(self, name: str) -> Any:  # anything else typer may ask: the real one
        return getattr(self.real(), name)


def _deferred_runtime_param(self: Any) -> Any:
    if self._runtime_param is None:
        self._runtime_param = DeferredRuntimeParam(self)
    return self._runtime_param


def defer_option_coercion() -> bool:
    """Install the stand-in (True), unless this typer has no such seam (False)."""
    if _TyperParameter is None or not hasattr(_TyperParameter, "get_runtime_param"):
        return False
    if "_runtime_param" not in getattr(_TyperParameter, "__annotations__", {}):
        return False
    _TyperParameter.get_runtime_param = _deferred_runtime_param
    return True
