"""Benchmark nimctl against what users compare it with, in one run, on the same simulator image.

Run from the repository root with the project's venv (it imports docker-py, testcontainers and
nimctl's simulator image builder, and runs the real `nimctl` CLI that sits next to the interpreter):

    .venv/bin/python -m scripts.nimbench                      # every figure, 5 repetitions
    .venv/bin/python -m scripts.nimbench --reps 1 --json out.json
    .venv/bin/python -m scripts.nimbench --only cli-start,smoke

Layout (one job per module)
    cli          arguments, signals, the figure loop, the JSON file and the exit status
    context      Bench: docker client, names, ports, profiles, what this run created
    cleanup      removing everything this run created (also on Ctrl-C, SIGTERM, errors)
    procs        child processes with live-timestamped stderr, bounded thread pools
    retry        one repeat of a failed one-shot scenario (tenacity)
    comparators  nimctl, the runbook loop and testcontainers behind one Comparator protocol
    simlog       what the simulator's log says (ready instant, health requests)
    stats        percentiles on statistics.quantiles
    rows         Target and Row: the result model and its markdown/JSON forms
    report       machine facts, load, git revision, the markdown table
    figures/     one module per figure

Results are in docs/benchmarks.md.
"""
