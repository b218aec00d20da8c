"""Contributions that add up, for a portfolio of any size (DESIGN.md section 3).

Up to :data:`EXACT_LIMIT` chosen initiatives the Shapley values are exact: every subset is
evaluated (2^10 = 1,024 at the limit). Above it, exact values would need 2^n evaluations
(a 39-initiative plan never came back), so they are estimated by permutation sampling: a
seeded set of orders, each with its reverse (antithetic pairs), every order's prefixes
evaluated on the simulation's common draws, each initiative credited with its marginal
gain where it joins. Every order's marginals add up to the portfolio's gain, so the
estimates still add up exactly; each initiative's standard error is that of the mean over
the independent antithetic pairs. :class:`ShapleyResult` says which method was used.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = ["shapley", "EXACT_LIMIT", "DEFAULT_PERMUTATIONS", "ShapleyResult", "shapley_values", "exact_shapley"]

EXACT_LIMIT = 10  # chosen initiatives up to which every subset is evaluated
DEFAULT_PERMUTATIONS = 64  # antithetic pairs of orders above the limit (128 orders)
METHOD_EXACT = "exact_shapley"
METHOD_SAMPLED = "permutation_sampling"

# subsets -> {value name: (n_subsets, ...) array}, rows in the order of the subsets given
Evaluate = Callable[[list[frozenset]], dict[str, np.ndarray]]


@dataclass(frozen=True)
class ShapleyResult:
    """Each value's contributions per player (per-trial arrays), how they were found and how sure they are.

    ``standard_error[name][k]`` is the standard error of player ``k``'s mean contribution
    (zero when exact); ``subset_values[name]`` holds every subset evaluated (always the empty
    set, each single player and the whole portfolio).
    """

    method: str
    values: dict[str, dict[int, np.ndarray]]
    standard_error: dict[str, dict[int, float]]
    subset_values: dict[str, dict[frozenset, np.ndarray]]
    permutations: int = 0  # orders sampled (0: exact)

    @property
    def exact(self) -> bool:
        return self.method == METHOD_EXACT


def all_subsets(players: Sequence[int]) -> list[frozenset]:
    return [frozenset(c) for r in range(len(players) + 1) for c in itertools.combinations(players, r)]


def exact_shapley(values: dict[frozenset, np.ndarray], players: Sequence[int]) -> dict[int, np.ndarray]:
    """Exact Shapley values from the value of every subset (the same formula as ``plan.build.shapley``)."""
    n = len(players)
    weights = [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    out = {}
    for k in players:
        others = [p for p in players if p != k]
        acc = 0.0
        for size in range(n):
            for subset in itertools.combinations(others, size):
                s = frozenset(subset)
                acc = acc + weights[size] * (values[s | {k}] - values[s])
        out[k] = np.asarray(acc, dtype=np.float64)
    return out


def shapley_values(evaluate: Evaluate, players: Sequence[int], *, exact_limit: int = EXACT_LIMIT,
                   permutations: int = DEFAULT_PERMUTATIONS, seed: int = 0) -> ShapleyResult:
    """Shapley contributions of ``players`` for every value ``evaluate`` returns.

    Exact up to ``exact_limit`` players; above, permutation sampling with ``permutations``
    antithetic pairs of orders drawn from ``seed`` (the same orders for every value: common
    random numbers, so contributions of different values and players are comparable).
    """
    players = [int(p) for p in players]
    n = len(players)
    if n <= exact_limit:
        subsets = all_subsets(players)
        table = _table(evaluate, subsets)
        values = {name: exact_shapley(v, players) for name, v in table.items()}
        se = {name: {k: 0.0 for k in players} for name in table}
        return ShapleyResult(METHOD_EXACT, values, se, table)
    rng = np.random.default_rng(seed)
    orders = []
    for _ in range(permutations):
        order = [players[i] for i in rng.permutation(n)]
        orders += [order, order[::-1]]
    prefixes = {frozenset(), frozenset(players), *(frozenset({k}) for k in players)}
    for order in orders:
        prefixes.update(frozenset(order[:i]) for i in range(1, n))
    subsets = sorted(prefixes, key=lambda s: (len(s), sorted(s)))
    table = _table(evaluate, subsets)
    values, se = {}, {}
    for name, v in table.items():
        # marginal of each player in each order, per trial: (orders, ..., per player)
        sums = {k: 0.0 for k in players}
        pair_means = {k: np.zeros(permutations) for k in players}
        for o, order in enumerate(orders):
            prev = v[frozenset()]
            for i, k in enumerate(order):
                cur = v[frozenset(order[: i + 1])]
                d = cur - prev
                sums[k] = sums[k] + d
                pair_means[k][o // 2] += 0.5 * (float(np.mean(d)) if d.size else 0.0)  # a value with no columns
                prev = cur
        values[name] = {k: np.asarray(sums[k] / len(orders), dtype=np.float64) for k in players}
        se[name] = {k: float(np.std(pair_means[k], ddof=1) / math.sqrt(permutations)) if permutations > 1
                    else math.inf for k in players}
    return ShapleyResult(METHOD_SAMPLED, values, se, table, permutations=len(orders))


def _table(evaluate: Evaluate, subsets: list[frozenset]) -> dict[str, dict[frozenset, np.ndarray]]:
    out = evaluate(subsets)
    return {name: {s: np.asarray(rows[i], dtype=np.float64) for i, s in enumerate(subsets)}
            for name, rows in out.items()}


shapley = exact_shapley  # the name plan.build and plan.explain import
