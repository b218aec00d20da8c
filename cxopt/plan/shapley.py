"""Exact Shapley values over a small set of players from the value of every subset (DESIGN.md
section 3): shared by the contributions (plan/build.py) and the per-driver shares (plan/explain.py)."""

from __future__ import annotations

import itertools
import math

import numpy as np

__all__ = ["shapley"]


def shapley(values: dict[frozenset, np.ndarray], players: list[int]) -> dict[int, np.ndarray]:
    """Exact Shapley values from the value of every subset (arrays: per trial).

    Parameters
    ----------
    values : {frozenset(subset): value}
        Must hold every subset of ``players`` (the empty set included).
    """
    n = len(players)
    out = {}
    for k in players:
        others = [p for p in players if p != k]
        acc = 0.0
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                s = frozenset(subset)
                acc = acc + weight * (values[s | {k}] - values[s])
        out[k] = np.asarray(acc, dtype=np.float64)
    return out
