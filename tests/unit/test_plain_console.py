"""nimctl/plain_console.py prints what rich prints off a terminal, without loading rich for text.

rich itself is the oracle: each case (and hypothesis' markup) is printed by a rich Console without
colour, as nimctl's console was before, and by PlainConsole."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.errors import MarkupError
from rich.table import Table
from rich.text import Text

from nimctl.plain_console import PlainConsole, markup_text, print_parts
from nimctl.reporter import Reporter


def rich_prints(*objects: object, **options: object) -> str:
    out = io.StringIO()
    Console(file=out, no_color=True, force_terminal=False, width=1000, highlight=False).print(*objects, **options)
    return out.getvalue()


def plain_prints(*objects: object, **options: object) -> tuple[str, PlainConsole]:
    out = io.StringIO()
    console = PlainConsole(
        lambda: Console(file=out, no_color=True, force_terminal=False, width=1000), stream=lambda: out
    )
    console.print(*objects, **options)
    return out.getvalue(), console


@pytest.mark.parametrize(
    "markup",
    [
        "[green]yes[/]",
        "[red]ready, not serving[/]",
        "[bold cyan]•[/bold cyan] name: ready",
        "no tags at all",
        "a list [1, 2] and a \\[bold] escaped tag",
        "two backslashes \\\\[bold]then bold[/bold]",
        "[link=https://example.com]a link[/link]",
        "[#ff0000]hex[/]",
        "error: [dim]hint[/dim] [[x]]",
        "http://127.0.0.1:8000/v1",
        "",
    ],
)
def test_markup_prints_as_rich_prints_it(markup: str) -> None:
    assert plain_prints(markup)[0] == rich_prints(markup)
    assert plain_prints(markup, markup=False)[0] == rich_prints(markup, markup=False)


@given(st.text(alphabet="ab[]/\\ =#@x", max_size=30))
def test_any_markup_rich_accepts(markup: str) -> None:
    try:
        expected = Text.from_markup(markup, emoji=False).plain
    except MarkupError:
        return  # rich refuses it (a closing tag with nothing open): nimctl never prints such text
    assert markup_text(markup) == expected


def test_emoji_codes_stay_text() -> None:
    assert plain_prints("engine said :smile:")[0] == "engine said :smile:\n"


def test_text_objects_separators_and_ends() -> None:
    text = Text.assemble(("•", "bold cyan"), " name: [not markup]")
    assert plain_prints(text)[0] == rich_prints(text)
    assert plain_prints("a", "b", sep="-", end="!")[0] == rich_prints("a", "b", sep="-", end="!")


def test_a_table_goes_to_rich() -> None:
    table = Table("name", "state")
    table.add_row("n1", "running")
    printed, console = plain_prints(table)
    assert printed == rich_prints(table) and "running" in printed
    assert console._rich is not None  # made for the table


def test_text_needs_no_rich_console() -> None:
    _, console = plain_prints("[green]yes[/]")
    assert console._rich is None


def test_reporter_lines_on_both_consoles() -> None:
    out = io.StringIO()
    plain = PlainConsole(lambda: None, stream=lambda: out)
    Reporter(plain).step("n1: [noop] same configuration")
    Reporter(plain).warn("publishing on 0.0.0.0")
    Reporter(plain).phase("n1", "ready")
    rich_out = io.StringIO()
    rich = Console(file=rich_out, no_color=True, force_terminal=False, width=1000)
    Reporter(rich).step("n1: [noop] same configuration")
    Reporter(rich).warn("publishing on 0.0.0.0")
    Reporter(rich).phase("n1", "ready")
    assert out.getvalue() == rich_out.getvalue()
    assert out.getvalue().splitlines()[0] == "• n1: [noop] same configuration"


def test_quiet_prints_nothing(capsys) -> None:
    PlainConsole.quiet().print("[bold]x[/]")
    Reporter(PlainConsole.quiet()).step("y")
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("value", ["n1", "[bold]n1[/]", "a [red] b", "\\[x]", "[/]"])
def test_styled_parts_print_text_on_both_consoles(value: str) -> None:
    """print_parts (the reporter's lines, `error:`/`hint:`, up's `ready` line): user values are
    never markup, and the plain console prints the same text without making a rich console."""
    parts = (("ready", "bold green"), f" {value}: http://h/v1  model ", (value, "bold"), " (create, 1.0s)")
    out = io.StringIO()
    plain = PlainConsole(lambda: pytest.fail("rich was made for text"), stream=lambda: out)
    print_parts(plain, *parts)
    rich_out = io.StringIO()
    print_parts(Console(file=rich_out, no_color=True, force_terminal=False, width=1000), *parts, soft_wrap=True)
    assert out.getvalue() == rich_out.getvalue() == f"ready {value}: http://h/v1  model {value} (create, 1.0s)\n"


def test_styled_parts_keep_their_styles_on_a_terminal() -> None:
    out = io.StringIO()
    print_parts(Console(file=out, force_terminal=True, color_system="standard", width=1000), ("ready", "green"), " n1")
    assert out.getvalue() == "\x1b[32mready\x1b[0m n1\n"
