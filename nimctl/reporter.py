"""Where `up`, `profiles` and `cache prefetch` tell a human what is happening (stderr)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nimctl import lazy
from nimctl.plain_console import PlainConsole

if TYPE_CHECKING:
    import rich.text as rich_text
else:
    rich_text = lazy.module("rich.text")  # only for a terminal: a PlainConsole prints the text alone

Part = str | tuple[str, str]  # text, or (text, rich style)


class Reporter:
    """Where `up` tells a human what is happening (stderr). The CLI passes its console: a rich
    Console on a terminal, else a PlainConsole.

    The text is printed as text: names, values and engine messages in it are never read as markup."""

    def __init__(self, console: Any):
        self.console = console

    def step(self, text: str) -> None:
        self._line(("•", "bold cyan"), " ", text)

    def warn(self, text: str) -> None:
        self._line(("warning:", "yellow"), " ", text)

    def phase(self, name: str, phase: str) -> None:
        self._line(("•", "bold cyan"), f" {name}: {phase}")

    def _line(self, *parts: Part) -> None:
        if isinstance(self.console, PlainConsole):
            self.console.print("".join(part if isinstance(part, str) else part[0] for part in parts), markup=False)
        else:
            self.console.print(rich_text.Text.assemble(*parts), highlight=False)
