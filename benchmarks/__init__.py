"""Measured comparisons: every figure is a ratio of two things run interleaved in one process tree.

Run a benchmark with ``python -m benchmarks.<name>`` (``--quick`` for a smoke run, ``--json FILE``
to keep the numbers); ``python -m benchmarks.run_all`` runs them all and writes
``benchmarks/results.md``.
"""
