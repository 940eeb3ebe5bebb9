"""nimctl's version (its own module, so nothing needs the package's __init__ for it)."""

__version__ = "0.1.0"
