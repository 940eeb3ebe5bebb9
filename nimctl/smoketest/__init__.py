"""The smoke-test client: proves a running NIM answers the way NVIDIA's API page documents.

Importing this package is cheap; the openai SDK loads only when checks run.

    from nimctl.smoketest import run_checks, QUICK_CHECKS, ALL_CHECKS
    report = run_checks(base_url="http://127.0.0.1:8000", checks=QUICK_CHECKS)

`nimctl.smoke(...)` (nimctl/api.py) is the Python API's function that finds the NIM and runs these.
"""

from nimctl.smoketest.report import CheckResult, SmokeReport, render_table, write_junit
from nimctl.smoketest.runner import ALL_CHECKS, QUICK_CHECKS, run_checks, select_checks

__all__ = [
    "ALL_CHECKS",
    "QUICK_CHECKS",
    "CheckResult",
    "SmokeReport",
    "render_table",
    "run_checks",
    "select_checks",
    "write_junit",
]
