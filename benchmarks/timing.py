"""Timing helper shared by the benchmark files."""

from __future__ import annotations

import time


def best_of(fn, rounds: int) -> tuple[float, float, object]:
    """Best wall-clock seconds, the CPU seconds (all threads) of that round, the result."""
    best, cpu, out = float("inf"), float("inf"), None
    for _ in range(rounds):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        wall, used = time.perf_counter() - t0, time.process_time() - c0
        if wall < best:
            best, cpu = wall, used
    return best, cpu, out


def run_cxopt(args: list[str], env: dict | None = None) -> tuple[float, float, dict]:
    """``python -m cxopt ARGS --json`` in a child process, as a planner runs it: wall seconds, the
    child's CPU seconds (user + sys) and its JSON output; a non-zero exit fails with its stderr."""
    import json
    import resource
    import subprocess
    import sys

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cxopt", *args], capture_output=True, text=True, env=env,
                          check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stderr
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, json.loads(done.stdout)
