"""The one place a heavy third-party module (or a CLI command's module: nimctl/cli/app.py) is
loaded on first use instead of at import.

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

import sys
from types import ModuleType
from typing import Any


def import_module(name: str) -> ModuleType:
    """Import module `name` (dotted) now and return it, as `import name` does.

    The import statement's own path (the builtin `__import__`), not `importlib.import_module`:
    only the former is reported by `python -X importtime`, which the import budgets
    (tests/unit/test_import_budgets.py) and the start-up benchmark read.
    """
    __import__(name)
    return sys.modules[name]


class LazyModule:
    """A stand-in for module `name`, imported at the first attribute read (after module `after`)."""

    __slots__ = ("_after", "_name")

    def __init__(self, name: str, after: str | None = None):
        self._name = name
        self._after = after

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.load(), attribute)

    def load(self) -> ModuleType:
        if self._after is not None:
            import_module(self._after)
        return import_module(self._name)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def module(name: str, after: str | None = None) -> Any:
    """A stand-in for module `name` (dotted, e.g. "rich.progress"), loaded on first use.

    `after` is a module to import first: docker-py is imported by nimctl.engine.docker_shims,
    which keeps paramiko out (`lazy.module("docker", after=DOCKER_IMPORTER)`).
    """
    return LazyModule(name, after)


DOCKER_IMPORTER = "nimctl.engine.docker_shims"
