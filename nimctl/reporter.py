"""Where `up`, `profiles` and `cache prefetch` tell a human what is happening (stderr)."""

from __future__ import annotations

from typing import Any

from nimctl.plain_console import print_parts


class Reporter:
    """Where `up` tells a human what is happening (stderr). The CLI passes its console: a rich
    Console on a terminal, else a PlainConsole.

    The text is printed as text: names, values and engine messages in it are never read as markup."""

    def __init__(self, console: Any):
        self.console = console

    def step(self, text: str) -> None:
        print_parts(self.console, ("•", "bold cyan"), " ", text)

    def warn(self, text: str) -> None:
        print_parts(self.console, ("warning:", "yellow"), " ", text)

    def phase(self, name: str, phase: str) -> None:
        print_parts(self.console, ("•", "bold cyan"), f" {name}: {phase}")
