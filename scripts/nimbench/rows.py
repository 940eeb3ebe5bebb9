"""The result model: a target, and a row of samples for one figure and tool (markdown and JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scripts.nimbench.stats import percentile


@dataclass
class Target:
    """Met when the median and the p95 are both at most their bound."""

    median_max: float | None
    p95_max: float | None
    text: str

    def met(self, median: float, p95: float) -> bool:
        ok = True
        if self.median_max is not None:
            ok = ok and median <= self.median_max
        if self.p95_max is not None:
            ok = ok and p95 <= self.p95_max
        return ok


@dataclass
class Row:
    figure: str
    tool: str
    unit: str  # "ms", "s", "req/s", "x", "restarts"
    samples: list[float] = field(default_factory=list)
    target: Target | None = None
    errors: list[str] = field(default_factory=list)
    note: str = ""
    # rows where "not noticed" is a result, not an error (figure 2's comparators)
    not_noticed: int = 0
    bound_s: float | None = None
    retries: int = 0  # runs repeated after a failure (see retry.py)
    extra: list[dict[str, Any]] = field(default_factory=list)  # per-sample details for the JSON

    def add(self, value: float, **details: Any) -> None:
        self.samples.append(value)
        self.extra.append({"value": value, **details})

    def fail(self, error: str) -> None:
        self.errors.append(error)
        self.extra.append({"error": error})

    @property
    def median(self) -> float | None:
        return percentile(self.samples, 50) if self.samples else None

    @property
    def p95(self) -> float | None:
        return percentile(self.samples, 95) if self.samples else None

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if not self.samples or self.errors or self.not_noticed:
            return False
        if self.unit == "restarts":  # any restart at all misses "0 restarts"
            return max(self.samples) <= (self.target.p95_max or 0)
        return self.target.met(self.median, self.p95)

    def cell(self, value: float | None) -> str:
        if value is None:
            return "—"
        formats = {"ms": "{:.0f} ms", "s": "{:.2f} s", "req/s": "{:.1f} req/s", "x": "{:.2f}×", "restarts": "{:.0f}"}
        return formats.get(self.unit, "{:.3g}").format(value)

    def markdown(self) -> str:
        n_runs = len(self.samples) + len(self.errors) + self.not_noticed
        median, p95 = self.cell(self.median), self.cell(self.p95)
        if self.not_noticed:
            bound = f"{self.bound_s:.0f} s" if self.bound_s is not None else "the bound"
            text = f"did not notice within {bound} ({self.not_noticed}/{n_runs})"
            if self.samples:
                median = f"{median} ({len(self.samples)}/{n_runs} noticed)"
            else:
                median, p95 = text, "—"
        if self.errors:
            p95 += f" ({len(self.errors)}/{n_runs} runs failed)"
        met = "—" if self.met is None else ("yes" if self.met else "**no**")
        tool = f"{self.tool} (n={n_runs})"
        if self.retries:
            tool += f" [{self.retries} run(s) repeated after a failure, see JSON]"
        if self.note:
            tool += f" — {self.note}"
        return f"| {self.figure} | {tool} | {median} | {p95} | {self.target.text if self.target else '—'} | {met} |"

    def to_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "tool": self.tool,
            "unit": self.unit,
            "n": len(self.samples),
            "median": self.median,
            "p95": self.p95,
            "samples": self.samples,
            "target": None
            if self.target is None
            else {"median_max": self.target.median_max, "p95_max": self.target.p95_max, "text": self.target.text},
            "met": self.met,
            "errors": self.errors,
            "not_noticed": self.not_noticed,
            "bound_s": self.bound_s,
            "retries": self.retries,
            "note": self.note,
            "runs": self.extra,
        }


def markdown(rows: list[Row]) -> str:
    lines = ["| figure | tool | median | p95 | target | met? |", "| --- | --- | --- | --- | --- | --- |"]
    lines.extend(row.markdown() for row in rows)
    return "\n".join(lines)
