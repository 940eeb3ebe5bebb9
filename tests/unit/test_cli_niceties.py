"""--version, shell completion, and plain output when not on a terminal or with NO_COLOR."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import nimctl
from nimctl.cli.output import plain_output
from nimctl.pull import PullDisplay


class Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def nimctl_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    """The installed `nimctl` script (completion scripts are named after the program)."""
    environ = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | env
    script = Path(sys.executable).parent / "nimctl"
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=environ, timeout=60)


def test_version():
    result = nimctl_cli("--version")
    assert (result.returncode, result.stdout) == (0, f"nimctl {nimctl.__version__}\n")


def test_completion_is_offered_and_shown():
    assert "--install-completion" in nimctl_cli("--help").stdout
    shown = nimctl_cli("--show-completion", "bash", SHELL="/bin/bash")
    assert shown.returncode == 0 and "_nimctl_completion" in shown.stdout


@pytest.mark.parametrize(
    ("tty", "no_color", "plain"),
    [(False, None, True), (True, "1", True), (True, "", False), (True, None, False)],
)
def test_plain_output_off_a_terminal_or_with_no_color(tty, no_color, plain):
    environ = {} if no_color is None else {"NO_COLOR": no_color}
    assert plain_output(Stream(tty), environ) is plain


def test_a_piped_command_writes_no_escape_codes():
    # A config error goes through the rich console; piped, it must be plain text.
    result = nimctl_cli("up", "--port", "99999", FORCE_COLOR="")
    assert result.returncode == 2
    assert "\x1b[" not in result.stderr and result.stderr.startswith("error: invalid setting port")


def test_no_live_pull_bars_with_no_color_even_on_a_terminal():
    live = PullDisplay(Console(file=io.StringIO(), force_terminal=True), "img:1")
    plain = PullDisplay(Console(file=io.StringIO(), force_terminal=True, no_color=True), "img:1")
    assert live._progress is not None and plain._progress is None
