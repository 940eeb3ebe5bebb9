"""Where `up`, `profiles` and `cache prefetch` tell a human what is happening (stderr)."""

from __future__ import annotations

from typing import Any


class Reporter:
    """Where `up` tells a human what is happening (stderr). The CLI passes a rich Console."""

    def __init__(self, console: Any):
        self.console = console

    def step(self, text: str) -> None:
        self.console.print(f"[bold cyan]•[/] {text}", highlight=False)

    def warn(self, text: str) -> None:
        self.console.print(f"[yellow]warning:[/] {text}", highlight=False)

    def phase(self, name: str, phase: str) -> None:
        self.console.print(f"[bold cyan]•[/] {name}: {phase}", highlight=False)
