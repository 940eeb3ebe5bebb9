"""The CLI's stand-ins for rich.markdown and rich.traceback (nimctl/cli/lazy_rich.py): typer's help
no longer loads them, and a real use still gets the real classes. Each case runs in a fresh
interpreter, since the stand-ins replace modules process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str) -> subprocess.CompletedProcess:
    prelude = "from nimctl.cli.lazy_rich import defer_unused_rich_modules\ndefer_unused_rich_modules()\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_typers_help_module_loads_without_markdown_or_tracebacks() -> None:
    done = run(
        """
        import sys
        import typer.rich_utils
        loaded = [m for m in ("markdown_it", "rich.pretty", "pygments") if m in sys.modules]
        print(loaded)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_real_use_loads_the_real_classes() -> None:
    done = run(
        """
        import io
        from rich.console import Console
        from rich.markdown import Markdown
        from rich.traceback import Traceback
        document = Markdown("# Title")
        assert type(document).__module__ == "rich.markdown" and isinstance(document, Markdown)
        import rich.markdown
        assert rich.markdown.Markdown is type(document)  # the real module replaced the stand-in
        Console(file=io.StringIO()).print(document)
        try:
            raise ValueError("x")
        except ValueError as exc:
            assert Traceback.from_exception(type(exc), exc, exc.__traceback__) is not None
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
