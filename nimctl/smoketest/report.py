"""What a smoke run found, and its three renderings: a table for humans, a dict for --json and
a JUnit XML file for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from nimctl.errors import SmokeFailed

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class CheckResult:
    name: str
    passed: bool
    latency_s: float  # wall time of the whole check
    ttft_s: float | None = None  # time to the first streamed token, for checks that stream
    tokens_per_s: float | None = None  # completion tokens / request time, where usage was given
    reason: str | None = None  # why it failed, or why it was skipped
    skipped: bool = False  # not run (e.g. image-url without --image-url); does not fail the run
    timed_out: bool = False  # the check was abandoned at its deadline

    @property
    def status(self) -> str:
        return "skip" if self.skipped else ("pass" if self.passed else "fail")


@dataclass
class SmokeReport:
    base_url: str
    model: str | None
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.passed or r.skipped for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not (r.passed or r.skipped)]

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "base_url": self.base_url,
            "model": self.model,
            "passed": sum(r.status == "pass" for r in self.results),
            "failed": len(self.failed),
            "skipped": sum(r.skipped for r in self.results),
            "checks": [asdict(r) | {"status": r.status} for r in self.results],
        }

    def failure(self) -> SmokeFailed | None:
        """The error the CLI raises for this report (None when every check passed or was skipped)."""
        failed = self.failed
        if not failed:
            return None
        names = ", ".join(r.name for r in failed)
        ran = sum(not r.skipped for r in self.results)
        return SmokeFailed(
            f"{len(failed)} of {ran} smoke checks failed: {names}",
            hint=(
                "the table above gives each failure's reason; "
                f"repeat just these with `nimctl smoke --checks {','.join(r.name for r in failed)}`"
            ),
        )


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def render_table(report: SmokeReport, console: Console) -> None:
    """Print one row per check, then a one-line summary, on the given (stderr) console."""
    title = f"smoke checks: {report.model or '(model unknown)'} at {report.base_url}"
    table = Table(title=Text(title))
    table.add_column("check")
    table.add_column("result")
    table.add_column("latency", justify="right")
    table.add_column("TTFT", justify="right")
    table.add_column("tokens/s", justify="right")
    table.add_column("reason", overflow="fold")
    style = {"pass": "[green]pass[/]", "fail": "[bold red]FAIL[/]", "skip": "[yellow]skip[/]"}
    for r in report.results:
        table.add_row(
            Text(r.name),
            style[r.status],
            _seconds(r.latency_s),
            _seconds(r.ttft_s),
            "-" if r.tokens_per_s is None else f"{r.tokens_per_s:.1f}",
            Text(r.reason or ""),  # plain Text: a server's message may contain "[...]", not markup
        )
    console.print(table)
    summary = report.to_dict()
    colour = "green" if report.ok else "red"
    console.print(f"[{colour}]{summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped[/]")


def write_junit(report: SmokeReport, path: str | Path) -> Path:
    """Write a JUnit XML file (one testsuite, one testcase per check) that CI systems read."""
    path = Path(path)
    total_time = sum(r.latency_s for r in report.results)
    suites = ET.Element("testsuites")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="nimctl smoke",
        tests=str(len(report.results)),
        failures=str(len(report.failed)),
        errors="0",
        skipped=str(sum(r.skipped for r in report.results)),
        time=f"{total_time:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="base_url", value=report.base_url)
    ET.SubElement(properties, "property", name="model", value=report.model or "")
    for r in report.results:
        case = ET.SubElement(suite, "testcase", classname="nimctl.smoke", name=r.name, time=f"{r.latency_s:.3f}")
        if r.skipped:
            ET.SubElement(case, "skipped", message=r.reason or "skipped")
        elif not r.passed:
            failure = ET.SubElement(case, "failure", message=r.reason or "failed", type="SmokeCheckFailed")
            failure.text = r.reason or "failed"
        metrics = [f"latency_s={r.latency_s:.3f}"]
        if r.ttft_s is not None:
            metrics.append(f"ttft_s={r.ttft_s:.3f}")
        if r.tokens_per_s is not None:
            metrics.append(f"tokens_per_s={r.tokens_per_s:.1f}")
        ET.SubElement(case, "system-out").text = " ".join(metrics)
    ET.indent(suites)  # into an existing directory: `up` and `smoke` check it before they start
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
    return path
