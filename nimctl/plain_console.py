"""What a human reads on a stream that is no terminal (a CI log, a pipe, NO_COLOR): plain lines,
printed without loading rich.

rich (~30 ms to import) is what nimctl's messages are written for: markup strings ("[red]no[/]")
and rich Text. Off a terminal they are printed without colour anyway, so for text this console
writes what rich would, the text without its markup, and only a real renderable (a table) or
another console feature (a spinner) loads rich, through the console `make_rich` builds.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

Part = str | tuple[str, str]  # text, or (text, rich style)

# rich's markup tags: "[bold]", "[/]", "[link=...]", "[#ff0000]", "[@click]", each maybe after
# backslashes; an odd number of backslashes makes the tag literal text.
MARKUP_TAG = re.compile(r"((\\*)\[([a-z#/@][^[]*?)])")


def markup_text(markup: str) -> str:
    """The text rich prints for `markup`: tags dropped, escaped tags and brackets kept as text.

    (rich would also replace emoji codes such as ":smile:"; nimctl's text is printed as written.)
    """
    if "[" not in markup:
        return markup
    parts: list[str] = []
    position = 0
    for match in MARKUP_TAG.finditer(markup):
        whole, escapes, _tag = match.groups()
        start, end = match.span()
        parts.append(markup[position:start])
        backslashes, escaped = divmod(len(escapes), 2)
        parts.append("\\" * backslashes)
        if escaped:
            parts.append(whole[len(escapes) :])  # "\[bold]" is the text "[bold]"
        position = end
    parts.append(markup[position:])
    return "".join(part.replace("\\[", "[") for part in parts)  # "\[" alone is an escaped bracket too


def _text_of(item: Any, markup: bool) -> str | None:
    """The plain text of a string or a rich Text (by duck type: rich is not loaded for it); else None."""
    if isinstance(item, str):
        return markup_text(item) if markup else item
    plain = getattr(item, "plain", None)
    if isinstance(plain, str) and type(item).__name__ == "Text":
        return plain
    return None


class PlainConsole:
    """A rich Console's `print` for text, to `stream()` (looked up at each call, as rich does for
    stderr); anything else goes to the rich console `make_rich` returns, made on first use."""

    is_terminal = False
    no_color = True

    def __init__(self, make_rich: Callable[[], Any], stream: Callable[[], TextIO] = lambda: sys.stderr):
        self._make_rich = make_rich
        self._rich: Any = None
        self._stream = stream

    @property
    def rich(self) -> Any:
        if self._rich is None:
            self._rich = self._make_rich()
        return self._rich

    def print(self, *objects: Any, sep: str = " ", end: str = "\n", markup: bool | None = None, **options: Any) -> None:
        texts = [_text_of(item, markup is not False) for item in objects]
        if any(text is None for text in texts):  # (styles need nothing: off a terminal there is no colour)
            self.rich.print(*objects, sep=sep, end=end, markup=markup, **options)
            return
        stream = self._stream()
        stream.write(sep.join(text for text in texts if text is not None) + end)
        stream.flush()

    def __getattr__(self, name: str) -> Any:  # status spinners, width...: rich's own
        return getattr(self.rich, name)

    @classmethod
    def quiet(cls) -> PlainConsole:
        """A console that prints nothing (the Python API's default: it returns data instead)."""
        return cls(lambda: _quiet_rich(), stream=lambda: _DISCARD)


def print_parts(console: Any, *parts: Part, **options: Any) -> None:
    """Print one line made of `parts`, each text or (text, style); every part is text, never markup
    (names, urls and engine messages are printed as they are).

    On a PlainConsole the text alone, without loading rich; on a rich console the styled
    `Text.assemble(*parts)`. `options` go to a rich console's `print` (`soft_wrap=True`).
    """
    if isinstance(console, PlainConsole):
        console.print("".join(part if isinstance(part, str) else part[0] for part in parts), markup=False)
        return
    from rich.text import Text  # a rich console: rich is loaded already

    console.print(Text.assemble(*parts), highlight=False, **options)


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


_DISCARD = _Discard()


def _quiet_rich() -> Any:
    import io

    from rich.console import Console

    return Console(file=io.StringIO(), quiet=True, force_terminal=False, no_color=True)
