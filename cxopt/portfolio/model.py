"""The integer program, built from the simulation's value tables (DESIGN.md section 2).

:class:`ValueTables` holds the per-trial standalone gains ``g_k`` and pair interactions
``w_kl``; :class:`PortfolioProblem` is what every backend solves: maximise the program's
value (the mean, or ``(1-beta) E + beta CVaR_alpha``) over the portfolios that obey the
:class:`~cxopt.portfolio.constraints.Constraints` and are not excluded by a no-good cut.
:meth:`PortfolioProblem.matrix_model` is that problem as arrays
(:mod:`cxopt.portfolio.matrix`; built once, cuts added as they come): pairs linearised
compactly after Glover, CVaR rows after Rockafellar–Uryasev. Modelling only: solving is
the backends' job.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Sequence

import numpy as np

from cxopt.engine.arrays import interacting_pairs
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.matrix import CVAR_PAIR_TERMS, MatrixModel, build_matrix_model, cvar_per_trial_pairs
from cxopt.portfolio.objective import ObjectiveValue, objective_value
from cxopt.portfolio.risk import parse_risk, risk_value

__all__ = ["ValueTables", "PortfolioProblem", "CVAR_PAIR_TERMS"]


@dataclass(frozen=True)
class ValueTables:
    """Per-trial baseline (T,), standalone gains g (K, T), pairs (P, 2) and interactions w (P, T), in the
    objective's units (retained revenue unless built with another :class:`ObjectiveValue`)."""

    baseline: np.ndarray
    gains: np.ndarray
    pairs: np.ndarray
    interactions: np.ndarray

    @classmethod
    def from_simulation(cls, sim, worth: ObjectiveValue | None = None) -> "ValueTables":
        """The simulation's tables, mapped to ``worth``'s units (retained revenue when None)."""
        # retained revenue's tables, once per simulation: (pairs, trials) arrays are large to rebuild for
        # each program (optimize, the frontier, what binds, replan)
        cached = sim.derived.get("value_tables")
        if cached is None:
            g = sim.single_revenue - sim.baseline_revenue[None, :]
            if sim.pairs.size:  # in place, in this order (the same bits)
                w = np.subtract(sim.pair_revenue, sim.single_revenue[sim.pairs[:, 0]])
                w -= sim.single_revenue[sim.pairs[:, 1]]
                w += sim.baseline_revenue[None, :]
            else:
                w = np.zeros((0, sim.trials))
            for a in (g, w):
                a.flags.writeable = False  # shared by every program built on this simulation
            cached = sim.derived["value_tables"] = (g, w)
        g, w = cached
        base = sim.baseline_revenue
        if worth is not None:
            base, g, w = worth.tables(base, g, w)
        return cls(base, g, np.asarray(sim.pairs).reshape(-1, 2), w)

    @property
    def trials(self) -> int:
        return int(self.baseline.shape[0])

    def pair_matrix(self, values: np.ndarray, size: int | None = None) -> np.ndarray:
        """A per-pair quantity (e.g. the interactions' means) as a symmetric ``(size, size)`` matrix, zero
        where two candidates do not interact; ``size`` defaults to the candidates' count (more: padding)."""
        size = self.gains.shape[0] if size is None else size
        w = np.zeros((size, size))
        if len(self.pairs):
            a, b = np.asarray(self.pairs, dtype=np.int64).reshape(-1, 2).T
            w[a, b] = values
            w[b, a] = values
        return w

    @cached_property
    def pair_index(self) -> dict[tuple[int, int], int]:
        return {(int(a), int(b)): q for q, (a, b) in enumerate(self.pairs)}

    def revenue(self, selected: Sequence[int]) -> np.ndarray:
        """The program's per-trial value of a selection (in the tables' units): baseline + gains + pair
        interactions."""
        s = sorted(selected)
        index = self.pair_index
        v = self.baseline + self.gains[s].sum(axis=0)
        for a, b in itertools.combinations(s, 2):
            q = index.get((a, b))
            if q is not None:
                v = v + self.interactions[q]
        return v


class PortfolioProblem:
    """Maximise the program's value over the portfolios the rules allow, minus excluded ones.

    ``evaluate`` gives the exact per-trial value of portfolios (``(n, T)``, in the tables' units; the
    simulation's ``evaluate`` through the objective's map); without it the tables are taken as exact
    (the program has every interaction). ``objective`` is the risk form (``"mean"`` or
    ``"cvar:ALPHA:BETA"``), ``objective_name`` what is maximised (``"revenue"`` or ``"value"``).
    """

    def __init__(self, tables: ValueTables, constraints: Constraints, objective: str = "mean",
                 evaluate: Callable[[list[tuple[int, ...]]], np.ndarray] | None = None,
                 objective_name: str = "revenue"):
        if objective != "mean":
            parse_risk(objective)
        self.tables, self.constraints, self.objective = tables, constraints, objective
        self.objective_name = objective_name
        self.worth: ObjectiveValue | None = None  # the objective's map, when built from a simulation
        self.excluded: list[tuple[int, ...]] = []  # no-good cuts, in the order they were added
        self._evaluate = evaluate
        self._matrix: MatrixModel | None = None
        self.sessions: dict[str, object] = {}  # a backend's live copy of the model, by backend name
        self.incumbent: tuple[int, ...] | None = None  # the last portfolio a solve returned
        self._pair_index = tables.pair_index
        self._g_mean, self._w_mean = tables.gains.mean(axis=1), tables.interactions.mean(axis=1)
        self._base_mean = float(tables.baseline.mean())
        # the CVaR rows' form (per-trial interactions or their mean), fixed so that a problem on fewer
        # candidates (cxopt.portfolio.reduction) solves the same program as the whole one
        self.per_trial_pairs = cvar_per_trial_pairs(tables.trials, len(tables.pairs))
        self.reductions: dict[tuple[int, ...], "PortfolioProblem"] = {}  # the problem on fewer candidates
        self.search_note: dict | None = None  # how the last walk ran on fewer candidates (reduction.py)
        self.solved_by = ""  # the backend that solved the last walk's program

    @classmethod
    def from_simulation(cls, sim, constraints: Constraints, objective: str = "mean",
                        objective_name: str = "revenue") -> "PortfolioProblem":
        """The problem on a simulation's tables; ``objective_name`` ``"value"`` maps the tables and every
        exact re-evaluation through :func:`~cxopt.portfolio.objective.objective_value` (one map, one place)."""
        worth = objective_value(sim, objective_name)

        def evaluate(portfolios):
            return worth.per_trial(portfolios, sim.evaluate([list(p) for p in portfolios])[0])

        # no two candidates touch the same customer group: retained revenue is a sum over groups, each
        # moved by one initiative at most, so the tables are the whole truth (no higher-order terms) and
        # the program's optimum is proven, not only re-evaluated (grouped mode: exact expectations)
        # (a simulation with pair tables has them for initiatives that share groups: not additive, and the
        # test, a pass over the groups, is skipped: about a second on 200 candidates)
        additive = (sim.mode == "grouped" and sim.pairs.size == 0
                    and interacting_pairs(sim.scenario, sim.groups).size == 0)
        problem = cls(ValueTables.from_simulation(sim, worth), constraints, objective,
                      evaluate=None if additive else evaluate, objective_name=objective_name)
        problem.worth = worth
        return problem

    def with_constraints(self, constraints: Constraints) -> "PortfolioProblem":
        """The same tables, objective and exact evaluation under other rules (a new model; portfolios
        valued already are not valued again: :meth:`cxopt.engine.simulation.Simulation.evaluate` keeps them)."""
        other = PortfolioProblem(self.tables, constraints, self.objective, evaluate=self._evaluate,
                                 objective_name=self.objective_name)
        other.worth = self.worth
        return other

    @classmethod
    def feasibility(cls, constraints: Constraints) -> "PortfolioProblem":
        """Does any portfolio obey the rules? (Objective: the number of initiatives.)"""
        K = len(constraints.ids)
        return cls(ValueTables(np.zeros(1), np.ones((K, 1)), np.zeros((0, 2), dtype=np.int64), np.zeros((0, 1))),
                   constraints)

    @property
    def program_is_exact(self) -> bool:
        """True when the tables are the whole truth (no exact evaluation behind them)."""
        return self._evaluate is None

    def exclude(self, selected: Sequence[int]) -> None:
        """A no-good cut: this exact selection is no longer allowed."""
        self.excluded.append(tuple(sorted(int(k) for k in selected)))

    def estimate(self, selected: Sequence[int]) -> float:
        """The program's objective value of a selection (pairs only)."""
        s = sorted(selected)
        if self.objective != "mean":
            return risk_value(self.tables.revenue(s), self.objective)
        value = self._base_mean + float(self._g_mean[s].sum())
        for a, b in itertools.combinations(s, 2):
            q = self._pair_index.get((a, b))
            if q is not None:
                value += float(self._w_mean[q])
        return value

    def program_value(self, selected: Sequence[int]) -> float:
        """The program's own objective value of a selection (what the solver ranks by): :meth:`estimate`,
        except CVaR rows that carry the interactions' mean rather than their per-trial values."""
        if self.objective == "mean" or self.per_trial_pairs:
            return self.estimate(selected)
        return risk_value(self.program_trials(selected), self.objective)

    def program_trials(self, selected: Sequence[int]) -> np.ndarray:
        """The program's per-trial values of a selection (T,): with per-trial interactions, or their mean
        where the CVaR rows carry the mean (:attr:`per_trial_pairs` False)."""
        if self.per_trial_pairs:
            return self.tables.revenue(selected)
        s = sorted(selected)
        pairs = 0.0
        for a, b in itertools.combinations(s, 2):
            q = self._pair_index.get((a, b))
            if q is not None:
                pairs += float(self._w_mean[q])
        return self.tables.baseline + self.tables.gains[s].sum(axis=0) + pairs

    def exact_revenue(self, portfolios: list[tuple[int, ...]]) -> np.ndarray:
        """Exact per-trial value ``(n, T)`` of each portfolio, in the objective's units (retained revenue
        unless ``objective_name`` is ``"value"``)."""
        if self._evaluate is not None:
            return self._evaluate(portfolios)
        return np.array([self.tables.revenue(p) for p in portfolios]).reshape(len(portfolios), self.tables.trials)

    def exact_values(self, portfolios: list[tuple[int, ...]]) -> list[float]:
        rev = self.exact_revenue(portfolios)
        return [risk_value(rev[i], self.objective) for i in range(len(portfolios))]

    def matrix_model(self) -> MatrixModel:
        """The program as arrays, built on first use; cuts added since are written in (the rows only grow
        until :meth:`restart`)."""
        if self._matrix is None:
            self._matrix = build_matrix_model(self.tables, self.constraints, self.objective, self.per_trial_pairs)
        m = self._matrix
        while m.cuts < len(self.excluded):
            m.add_cut(self.excluded[m.cuts])
        return m

    def restart(self, constraints: Constraints) -> None:
        """Drop every no-good cut and take ``constraints`` (which may differ from the current ones in
        the budget only): the model, and any solver's copy of it, is kept and changed in place."""
        if self._matrix is not None:
            same_shape = _same_but_budget(constraints, self.constraints)
            if not same_shape:
                self._matrix, self.sessions = None, {}
            else:
                self._matrix.drop_cuts()
                if constraints.budget is not None:
                    self._matrix.set_budget(constraints.budget)
        self.constraints, self.excluded = constraints, []

    def warm_start(self) -> tuple[int, ...] | None:
        """A good portfolio the next solve may start from: the last one found when no cut excludes it
        (a frontier step), else the best of it with one initiative dropped that obeys the rules and no cut
        excludes (the walk: the last incumbent itself was just cut)."""
        if self.incumbent is None:
            return None
        excluded = set(self.excluded)
        options = [self.incumbent] + [tuple(k for k in self.incumbent if k != d) for d in self.incumbent]
        options = [s for s in options if s not in excluded and self.constraints.is_feasible(s)]
        return max(options, key=self.estimate) if options else None


def _same_but_budget(a: Constraints, b: Constraints) -> bool:
    """Do two sets of rules differ at most in the budget's limits (so that only right-hand sides move)?"""
    if (a.budget is None) != (b.budget is None) or not np.array_equal(a.costs, b.costs):
        return False
    fields = ("ids", "periods", "max_initiatives", "owners", "owner_capacity", "exclusive", "requires", "must", "forbid",
              "extra_slot")
    return all(getattr(a, f) == getattr(b, f) for f in fields)
