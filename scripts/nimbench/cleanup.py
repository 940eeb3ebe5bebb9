"""Remove everything this run created: also after Ctrl-C, SIGTERM and errors."""

from __future__ import annotations

import shutil
import time

from scripts.nimbench.context import RUN_LABEL, Bench
from scripts.nimbench.procs import parallel
from scripts.nimbench.progress import log


def cleanup(bench: Bench) -> None:
    bench.stop.set()
    bench.children.stop_all()
    # nimctl's containers: `nimctl down --name`, a few at a time
    names = sorted(bench.created_nimctl)
    if names:
        log(f"removing {len(names)} nimctl deployment(s) with `nimctl down --name`")
        parallel([lambda n=n: bench.nimctl_down(n) for n in names], workers=3)
    for name in sorted(bench.created_nimctl):  # `nimctl down` failed: do not leave it running
        if bench.inspect(name) is not None:
            log(f"{name} is still there after `nimctl down`; removing it directly")
            bench.remove(name)
    # the containers created directly (runbook, testcontainers): by name and by label, twice
    # (a worker thread may have been creating one while the first sweep ran)
    for sweep in range(2):
        for name in sorted(bench.created_direct):
            bench.remove(name)
        try:
            for summary in bench.client.api.containers(all=True, filters={"label": f"{RUN_LABEL}={bench.run_id}"}):
                bench.client.api.remove_container(summary["Id"], force=True)
        except Exception as exc:  # noqa: BLE001
            log(f"label sweep failed: {exc}")
        if sweep == 0:
            time.sleep(1.0)
    if bench.events_stream is not None:
        try:
            bench.events_stream.close()
        except Exception:  # noqa: BLE001, S110 - best effort at exit
            pass
    left = bench.client.api.containers(all=True, filters={"name": bench.name_prefix})
    if left:
        log(f"WARNING: containers left behind: {[c['Names'] for c in left]}")
    else:
        log("cleanup done: no container of this run is left")


def remove_scratch(bench: Bench, keep: bool) -> None:
    """The temp dir (profiles, cache, nimctl's failure logs): kept when something failed."""
    if keep:
        log(f"scratch files (nimctl's failure logs among them) kept in {bench.tmp}")
    else:
        shutil.rmtree(bench.tmp, ignore_errors=True)
