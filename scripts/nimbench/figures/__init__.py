"""One module per figure; FIGURES are the keys of --only, in the order they run."""

from __future__ import annotations

from collections.abc import Callable

from scripts.nimbench.context import Bench
from scripts.nimbench.figures.chatty_wait import fig_chatty_wait
from scripts.nimbench.figures.cli_start import fig_cli_start
from scripts.nimbench.figures.crash import fig_crash
from scripts.nimbench.figures.readiness import fig_readiness
from scripts.nimbench.figures.smoke import fig_smoke
from scripts.nimbench.figures.unchanged_up import fig_unchanged_up
from scripts.nimbench.figures.whole_up import fig_whole_up
from scripts.nimbench.rows import Row

RUNNERS: dict[str, Callable[[Bench, int], list[Row]]] = {
    "readiness-lag": fig_readiness,
    "crash": fig_crash,
    "unchanged-up": fig_unchanged_up,
    "whole-up": fig_whole_up,
    "cli-start": fig_cli_start,
    "smoke": fig_smoke,
    "chatty-wait": fig_chatty_wait,
}
FIGURES = tuple(RUNNERS)
