"""The project's scripts; the benchmark is the package `scripts.nimbench` (run from the repo root)."""
