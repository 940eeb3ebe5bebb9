"""`--baseline REV` (scripts/nimbench/baseline.py): the alternation, the merged rows, the ratios."""

from __future__ import annotations

import pytest

from scripts.nimbench.baseline import BASELINE, WORK, alternation, merge_rows, ratio_markdown, ratio_rows
from scripts.nimbench.rows import Row, Target


def test_the_sides_alternate_rev_first() -> None:
    assert alternation(1) == [BASELINE, WORK]
    assert alternation(3) == [BASELINE, WORK, BASELINE, WORK, BASELINE, WORK]
    with pytest.raises(ValueError):
        alternation(0)


def row(tool: str, *samples: float, figure: str = "5 CLI start", errors: tuple[str, ...] = ()) -> Row:
    made = Row(figure, tool, "s", target=Target(0.15, 0.3, "t"))
    for value in samples:
        made.add(value)
    for error in errors:
        made.fail(error)
    return made


def test_one_repetition_at_a_time_merges_into_one_row_per_figure_and_tool() -> None:
    merged = merge_rows([[row("help", 0.1), row("status", 0.3)], [row("help", 0.2), row("status", 0.5, errors=("x",))]])
    assert [(r.tool, r.samples, r.errors) for r in merged] == [("help", [0.1, 0.2], []), ("status", [0.3, 0.5], ["x"])]
    assert len(merged[0].extra) == 2


def test_merging_does_not_change_the_inputs() -> None:
    first = row("help", 0.1)
    merge_rows([[first], [row("help", 0.2)]])
    assert first.samples == [0.1]


def test_ratios_are_working_tree_over_rev_by_figure_and_tool() -> None:
    base = [row("help", 0.2, 0.2, 0.4), row("only in rev", 1.0)]
    work = [row("help", 0.1, 0.1, 0.1), row("new figure", 2.0)]
    ratios = {r.tool: r for r in ratio_rows(base, work)}
    assert ratios["help"].median_ratio == pytest.approx(0.5)
    assert ratios["help"].max_ratio == pytest.approx(0.25)
    assert ratios["new figure"].median_ratio is None and ratios["new figure"].base is None
    assert ratios["only in rev"].median_ratio is None and ratios["only in rev"].work is None
    as_json = ratios["help"].to_dict()
    assert as_json["baseline"]["median"] == pytest.approx(0.2) and as_json["work"]["max"] == pytest.approx(0.1)
    assert as_json["ratio_median"] == pytest.approx(0.5)


def test_a_zero_baseline_has_no_ratio() -> None:
    (ratio,) = ratio_rows([row("x", 0.0)], [row("x", 1.0)])
    assert ratio.median_ratio is None


def test_the_table_shows_both_sides_and_the_ratios() -> None:
    text = ratio_markdown(ratio_rows([row("help", 0.2)], [row("help", 0.1)]), "16ce3f0")
    header, rule, line = text.splitlines()
    assert header.startswith("| figure | tool | 16ce3f0: median | working tree: median | ratio |")
    assert rule.count("---") == 8
    assert line == "| 5 CLI start | help (n=1) | 0.20 s | 0.10 s | 0.50 | 0.20 s | 0.10 s | 0.50 |"


def test_the_profile_keys_are_asked_of_the_baselines_own_checkout(tmp_path) -> None:
    # an older revision refuses a profile key added since (`capabilities`): the bench asks REV's
    # Settings, in REV's checkout, which keys it knows (never this checkout's nimctl)
    import os
    import sys

    from scripts.nimbench.baseline import profile_keys

    (tmp_path / "nimctl").mkdir()
    (tmp_path / "nimctl" / "__init__.py").write_text("")
    (tmp_path / "nimctl" / "settings.py").write_text("class Settings:\n    model_fields = {'image': 1, 'old_key': 2}\n")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    os.symlink(sys.executable, tmp_path / ".venv" / "bin" / "python")
    assert profile_keys([str(tmp_path / ".venv" / "bin" / "nimctl")]) == {"image", "old_key"}
