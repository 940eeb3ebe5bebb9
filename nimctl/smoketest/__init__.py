"""The smoke-test client: proves a running NIM answers the way NVIDIA's API page documents.

Importing this package is cheap; the openai SDK loads only when checks run.

    from nimctl.smoke import run_checks, QUICK_CHECKS, ALL_CHECKS
    report = run_checks(base_url="http://127.0.0.1:8000", checks=QUICK_CHECKS)
"""

import sys
import types
from typing import Any

from nimctl.smoke.report import CheckResult, SmokeReport
from nimctl.smoke.runner import ALL_CHECKS, QUICK_CHECKS, run_checks, select_checks

__all__ = ["ALL_CHECKS", "QUICK_CHECKS", "CheckResult", "SmokeReport", "run_checks", "select_checks"]


class _CallableSmoke(types.ModuleType):
    """`nimctl.smoke(...)` is the Python API's smoke (nimctl/api.py), though `nimctl.smoke` is
    also this package: importing a subpackage rebinds the parent's attribute, so the package
    itself must be the callable."""

    def __call__(self, *args: Any, **kwargs: Any) -> SmokeReport:
        from nimctl.api import smoke

        return smoke(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableSmoke
