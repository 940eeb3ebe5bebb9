"""Stand-ins for the two rich modules typer's help imports but nimctl's CLI never uses.

typer.rich_utils (loaded for every `--help` and usage error) imports `rich.markdown` (and with it
markdown-it) and `rich.traceback` (rich.pretty, attrs, pygments) at module level: about two thirds
of `nimctl --help`. nimctl uses rich markup, not markdown, and turns typer's pretty tracebacks
off, so neither class is ever used. In the CLI's own process (`main`, never on `import nimctl`)
each module is replaced by a stand-in whose classes load the real module the first time they are
called, asked for an attribute or used in isinstance, so nothing breaks if they ever are used.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

DEFERRED = {"rich.markdown": ("Markdown",), "rich.traceback": ("Traceback",)}


def _real_module(name: str) -> types.ModuleType:
    module = sys.modules.get(name)
    if isinstance(module, _StandInModule):
        del sys.modules[name]
        real = importlib.import_module(name)
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, real)
        return real
    return importlib.import_module(name)


class _StandInClass(type):
    """The class of a stand-in class: calls, attributes and isinstance go to the real class."""

    def _real(cls) -> type:
        return getattr(_real_module(cls._module_name), cls.__name__)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._real()(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(cls._real(), name)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls._real())


class _StandInModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:  # anything but the stand-in classes: the real module
        if name.startswith("__"):  # the import system asks for __path__ etc.: a plain module has none
            raise AttributeError(name)
        return getattr(_real_module(self.__name__), name)


def defer_unused_rich_modules() -> None:
    """Install the stand-ins, unless a real module is loaded already (then there is nothing to save)."""
    try:
        import rich
    except ImportError:  # typer then formats help without rich
        return
    for name, classes in DEFERRED.items():
        if name in sys.modules:
            continue
        module = _StandInModule(name, f"stand-in for {name} (nimctl.cli.lazy_rich)")
        for class_name in classes:
            setattr(module, class_name, _StandInClass(class_name, (), {"_module_name": name}))
        sys.modules[name] = module
        setattr(rich, name.rpartition(".")[2], module)
