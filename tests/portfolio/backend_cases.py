"""Canonical portfolio problems with known optima, for every solver backend.

Like cvxpy's ``solver_test_helpers`` and PuLP's ``solver_common``: :class:`BackendCases`
holds the tests; ``test_backends.py`` runs them once per backend by subclassing it with a
``backend`` attribute. The problems are written straight from value tables (no
simulation), small enough to solve by hand: each docstring says why its optimum is the
optimum. Their tables hold every interaction, so the program's value is the exact value
and every backend must land on the same portfolio and value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.model import PortfolioProblem, ValueTables
from cxopt.portfolio.result import SOLVED, STATUS_INFEASIBLE, STATUS_OPTIMAL, STATUS_WORDS


def problem(values, *, costs=None, budget=None, max_initiatives=None, owners=None, owner_capacity=None,
            exclusive=(), requires=(), must=(), forbid=(), interactions=None, baseline=100.0,
            objective="mean") -> PortfolioProblem:
    """A problem from standalone gains per initiative (numbers, or per-trial lists) and pair interactions."""
    gains = np.array([[v] if np.isscalar(v) else list(v) for v in values], dtype=float)
    K, T = gains.shape
    gains = np.broadcast_to(gains, (K, T)).copy()
    pairs = sorted((interactions or {}).items())
    w = np.array([np.broadcast_to(np.asarray(v, dtype=float), (T,)) for _, v in pairs]).reshape(len(pairs), T)
    tables = ValueTables(np.full(T, float(baseline)), gains, np.array([p for p, _ in pairs], dtype=np.int64).reshape(-1, 2), w)
    costs = np.zeros((K, 1)) if costs is None else np.asarray(costs, dtype=float).reshape(K, -1)
    periods = ("total",) if costs.shape[1] == 1 else tuple(f"p{i}" for i in range(costs.shape[1]))
    cons = Constraints(
        ids=tuple(f"i{k}" for k in range(K)), costs=costs, periods=periods,
        budget=None if budget is None else np.atleast_1d(np.asarray(budget, dtype=float)),
        max_initiatives=max_initiatives or K, owners=tuple(owners or (f"o{k}" for k in range(K))),
        owner_capacity=owner_capacity or K, exclusive=tuple(tuple(g) for g in exclusive),
        requires=tuple(requires), must=frozenset(must), forbid=frozenset(forbid))
    return PortfolioProblem(tables, cons, objective)


def knapsack():
    """Budget 7: the best single item (value 10, cost 6) leaves room for nothing; 7 + 6 (cost 4 + 3) wins."""
    return problem([10, 7, 6], costs=[6, 4, 3], budget=7), (1, 2), 113.0


def focus_limit():
    """No budget, at most two: the two largest gains."""
    return problem([5, 4, 3, 2], max_initiatives=2), (0, 1), 109.0


def negative_pair():
    """Two fixes for the same pain overlap (w = -8): the best pair is the best fix and a different one."""
    return problem([10, 9, 6], max_initiatives=2, interactions={(0, 1): -8.0}), (0, 2), 116.0


def positive_pair():
    """Two that reinforce each other (w = +4) beat the best single gain with anything."""
    return problem([3, 3, 5], max_initiatives=2, interactions={(0, 1): 4.0}), (0, 1), 110.0


def exclusion():
    """The two best exclude each other: the best and the third."""
    return problem([10, 9, 2], max_initiatives=2, exclusive=[(0, 1)]), (0, 2), 112.0


def prerequisite():
    """i0 (10) requires i1 (-1): together 9 beats i2 (6) alone and i2 with i1 (5)."""
    return problem([10, -1, 6], max_initiatives=2, requires=[(0, 1)]), (0, 1), 109.0


def owner_capacity():
    """i0 and i1 share an owner who leads one: the best and i2."""
    return problem([10, 9, 2], owners=["A", "A", "B"], owner_capacity=1), (0, 2), 112.0


def must_and_forbid():
    """i3 (-3) must be in, i0 is forbidden, room for two: i1 with i3."""
    return problem([10, 9, 8, -3], max_initiatives=2, must=[3], forbid=[0]), (1, 3), 106.0


def budget_per_period():
    """i0 and i1 fit the total but not the first period together (300 > 200): i0 with i2."""
    return (problem([10, 9, 1], costs=[[150, 0], [150, 0], [0, 100]], budget=[200, 200]), (0, 2), 111.0)


def nothing_pays():
    """Every gain negative: the empty portfolio, worth the baseline."""
    return problem([-1, -2, -0.5]), (), 100.0


def tail_risk():
    """A sure 5 against a coin-flip 0 or 12 (mean 6), one allowed: CVaR of the worst half picks the sure one."""
    gains = [[5, 5], [0, 12]]
    return problem(gains, max_initiatives=1, objective="cvar:0.5:1"), (0,), 105.0


CASES = [knapsack, focus_limit, negative_pair, positive_pair, exclusion, prerequisite, owner_capacity,
         must_and_forbid, budget_per_period, nothing_pays, tail_risk]


class BackendCases:
    """The contract every backend keeps; subclasses set ``backend``."""

    backend = None

    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
    def test_known_optimum(self, case):
        prob, selected, value = case()
        outcome = self.backend.solve(prob, time_limit=30)
        assert outcome.status == STATUS_OPTIMAL, outcome
        assert outcome.selected == selected
        assert math.isclose(outcome.value, value, rel_tol=1e-9)
        assert prob.constraints.violations(outcome.selected) == []

    def test_the_mean_objective_takes_the_gamble(self):
        prob, _, _ = tail_risk()
        mean = PortfolioProblem(prob.tables, prob.constraints, "mean")
        outcome = self.backend.solve(mean, time_limit=30)
        assert outcome.selected == (1,) and math.isclose(outcome.value, 106.0)

    def test_infeasible_is_an_outcome_not_an_exception(self):
        """i0 must be in but costs 10 against a budget of 5."""
        prob = problem([3, 2], costs=[10, 1], budget=5, must=[0])
        outcome = self.backend.solve(prob, time_limit=30)
        assert outcome.status == STATUS_INFEASIBLE
        assert outcome.selected is None and outcome.value is None

    def test_a_no_good_cut_gives_the_runner_up(self):
        prob, best, _ = knapsack()
        prob.exclude(best)
        outcome = self.backend.solve(prob, time_limit=30)
        # the runner-up: i0 alone (10, cost 6) against i1 (7), i2 (6), the empty one
        assert outcome.status in SOLVED and outcome.selected == (0,)
        assert math.isclose(outcome.value, 110.0)

    def test_cutting_every_portfolio_off_is_infeasible(self):
        prob = problem([1, 2], max_initiatives=1)
        for sel in [(), (0,), (1,)]:
            prob.exclude(sel)
        assert self.backend.solve(prob, time_limit=30).status == STATUS_INFEASIBLE

    def test_status_map_speaks_only_cxopt_words(self):
        assert self.backend.STATUS_MAP
        assert set(self.backend.STATUS_MAP.values()) <= STATUS_WORDS

    def test_is_available_and_named(self):
        assert self.backend.available()
        self.backend.import_solver()
        assert self.backend.name in {"highs", "cbc", "exhaustive"}
