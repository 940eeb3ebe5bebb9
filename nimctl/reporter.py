"""Where `up`, `profiles` and `cache prefetch` tell a human what is happening (stderr)."""

from __future__ import annotations

from typing import Any

from rich.text import Text


class Reporter:
    """Where `up` tells a human what is happening (stderr). The CLI passes a rich Console.

    The text is printed as text: names, values and engine messages in it are never read as markup."""

    def __init__(self, console: Any):
        self.console = console

    def step(self, text: str) -> None:
        self.console.print(Text.assemble(("•", "bold cyan"), " ", text), highlight=False)

    def warn(self, text: str) -> None:
        self.console.print(Text.assemble(("warning:", "yellow"), " ", text), highlight=False)

    def phase(self, name: str, phase: str) -> None:
        self.console.print(Text.assemble(("•", "bold cyan"), f" {name}: {phase}"), highlight=False)
