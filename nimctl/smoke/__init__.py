"""The smoke-test client: proves a running NIM answers the way NVIDIA's API page documents.

Importing this package is cheap; the openai SDK loads only when checks run.

    from nimctl.smoke import run_checks, QUICK_CHECKS, ALL_CHECKS
    report = run_checks(base_url="http://127.0.0.1:8000", checks=QUICK_CHECKS)
"""

from nimctl.smoke.report import CheckResult, SmokeReport
from nimctl.smoke.runner import ALL_CHECKS, QUICK_CHECKS, run_checks, select_checks

__all__ = ["ALL_CHECKS", "QUICK_CHECKS", "CheckResult", "SmokeReport", "run_checks", "select_checks"]
