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
