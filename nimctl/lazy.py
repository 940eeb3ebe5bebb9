"""The one place a heavy third-party module is loaded on first use instead of at import.

`nimctl --help`, `import nimctl`, the pytest plugin's load and commands that never need it stay
fast: `openai = lazy.module("openai")` at a module's top binds a stand-in that imports the real
module at the first attribute read (`openai.OpenAI(...)`, `except openai.APIError`). Until then
the module is not even in `sys.modules`. Type checkers see the real import:

    if TYPE_CHECKING:
        import openai
    else:
        openai = lazy.module("openai")
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """A stand-in for module `name`, imported at the first attribute read."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.load(), attribute)

    def load(self) -> ModuleType:
        return importlib.import_module(self._name)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def module(name: str) -> Any:
    """A stand-in for module `name` (dotted, e.g. "rich.progress"), loaded on first use."""
    return LazyModule(name)
