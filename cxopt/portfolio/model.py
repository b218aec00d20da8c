"""The integer program, built from the simulation's value tables (DESIGN.md section 2).

:class:`ValueTables` holds the per-trial standalone gains ``g_k`` and pair interactions
``w_kl``; :class:`PortfolioProblem` is what every backend solves: maximise the program's
value (the mean, or ``(1-beta) E + beta CVaR_alpha``) over the portfolios that obey the
:class:`~cxopt.portfolio.constraints.Constraints` and are not excluded by a no-good cut.
:class:`PulpModel` is that problem written for PuLP (built once, cuts added as they come):
pairs linearised compactly after Glover (:func:`interaction_terms`), CVaR rows after
Rockafellar–Uryasev. Modelling only: solving is the backends' job.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Sequence

import numpy as np

from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.risk import parse_risk, risk_value

__all__ = ["ValueTables", "PortfolioProblem", "PulpModel", "build_pulp_model", "add_rules", "interaction_terms",
           "CVAR_PAIR_TERMS"]

CVAR_PAIR_TERMS = 200_000  # trials x pairs above which CVaR rows carry the interactions' mean


@dataclass(frozen=True)
class ValueTables:
    """Per-trial baseline revenue (T,), standalone gains g (K, T), pairs (P, 2) and interactions w (P, T)."""

    baseline: np.ndarray
    gains: np.ndarray
    pairs: np.ndarray
    interactions: np.ndarray

    @classmethod
    def from_simulation(cls, sim) -> "ValueTables":
        g = sim.single_revenue - sim.baseline_revenue[None, :]
        w = (sim.pair_revenue - sim.single_revenue[sim.pairs[:, 0]] - sim.single_revenue[sim.pairs[:, 1]]
             + sim.baseline_revenue[None, :]) if sim.pairs.size else np.zeros((0, sim.trials))
        return cls(sim.baseline_revenue, g, np.asarray(sim.pairs).reshape(-1, 2), w)

    @property
    def trials(self) -> int:
        return int(self.baseline.shape[0])

    @cached_property
    def pair_index(self) -> dict[tuple[int, int], int]:
        return {(int(a), int(b)): q for q, (a, b) in enumerate(self.pairs)}

    def revenue(self, selected: Sequence[int]) -> np.ndarray:
        """The program's per-trial revenue of a selection: baseline + gains + pair interactions."""
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

    ``evaluate`` gives the exact per-trial revenue of portfolios (``(n, T)``; the simulation's
    ``evaluate``); without it the tables are taken as exact (the program has every interaction).
    """

    def __init__(self, tables: ValueTables, constraints: Constraints, objective: str = "mean",
                 evaluate: Callable[[list[tuple[int, ...]]], np.ndarray] | None = None):
        if objective != "mean":
            parse_risk(objective)
        self.tables, self.constraints, self.objective = tables, constraints, objective
        self.excluded: list[tuple[int, ...]] = []  # no-good cuts, in the order they were added
        self._evaluate = evaluate
        self._pulp: PulpModel | None = None
        self._pair_index = tables.pair_index
        self._g_mean, self._w_mean = tables.gains.mean(axis=1), tables.interactions.mean(axis=1)
        self._base_mean = float(tables.baseline.mean())

    @classmethod
    def from_simulation(cls, sim, constraints: Constraints, objective: str = "mean") -> "PortfolioProblem":
        return cls(ValueTables.from_simulation(sim), constraints, objective,
                   evaluate=lambda portfolios: sim.evaluate([list(p) for p in portfolios])[0])

    @classmethod
    def feasibility(cls, constraints: Constraints) -> "PortfolioProblem":
        """Does any portfolio obey the rules? (Objective: the number of initiatives.)"""
        K = len(constraints.ids)
        return cls(ValueTables(np.zeros(1), np.ones((K, 1)), np.zeros((0, 2), dtype=np.int64), np.zeros((0, 1))),
                   constraints)

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

    def exact_revenue(self, portfolios: list[tuple[int, ...]]) -> np.ndarray:
        """Exact per-trial revenue ``(n, T)`` of each portfolio."""
        if self._evaluate is not None:
            return self._evaluate(portfolios)
        return np.array([self.tables.revenue(p) for p in portfolios]).reshape(len(portfolios), self.tables.trials)

    def exact_values(self, portfolios: list[tuple[int, ...]]) -> list[float]:
        rev = self.exact_revenue(portfolios)
        return [risk_value(rev[i], self.objective) for i in range(len(portfolios))]

    def pulp_model(self) -> "PulpModel":
        """The PuLP model of this problem, built on first use; cuts added since are written in."""
        if self._pulp is None:
            self._pulp = build_pulp_model(self.tables, self.constraints, self.objective)
        self._pulp.sync_cuts(self.excluded)
        return self._pulp


class PulpModel:
    """A PuLP problem and its selection variables ``x``."""

    def __init__(self, prob, x):
        self.prob, self.x, self.cuts = prob, x, 0

    def sync_cuts(self, excluded: list[tuple[int, ...]]) -> None:
        import pulp

        for sel in excluded[self.cuts:]:
            inside = [self.x[k] for k in sel]
            outside = [self.x[k] for k in range(len(self.x)) if k not in sel]
            self.cuts += 1
            self.prob += pulp.lpSum(inside) - pulp.lpSum(outside) <= len(sel) - 1, f"nogood_{self.cuts}"

    def selection(self) -> tuple[int, ...] | None:
        """The chosen initiatives (values come back as floats: > 0.5), or None without values."""
        values = [v.value() for v in self.x]
        if any(v is None for v in values):
            return None
        return tuple(k for k, v in enumerate(values) if v > 0.5)


def _var(prob, name: str, low=None, up=None, cat="Continuous"):
    """A variable attached to ``prob`` (PuLP >= 3.3 spelling, older PuLP's otherwise)."""
    import pulp

    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, lowBound=low, upBound=up, cat=cat)
    return pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat)


def interaction_terms(prob, x, pairs: list[tuple[int, int]], w_mean: np.ndarray, max_size: int):
    """The expression sum_{k<l} w_kl x_k x_l, linearised the compact way (Glover, 1975).

    z_k stands for x_k * s_k with s_k = sum_l w_kl x_l. At most ``max_size`` initiatives are
    chosen, so s_k <= U_k when k is chosen (U_k: the max_size - 1 largest positive w_kl) and
    s_k >= L_k always (L_k: the max_size most negative). Maximising, only upper envelopes are needed:
    z_k <= U_k x_k and z_k <= s_k - L_k (1 - x_k). Exact for binary x; K variables and 2K
    rows instead of a variable and three rows per pair, and a far tighter LP relaxation.
    """
    import pulp

    K = len(x)
    partners: list[list[tuple[int, float]]] = [[] for _ in range(K)]
    for q, (a, b) in enumerate(pairs):
        if w_mean[q] != 0.0:
            partners[a].append((b, float(w_mean[q])))
            partners[b].append((a, float(w_mean[q])))
    terms = []
    for k in range(K):
        if not partners[k]:
            continue
        weights = sorted(v for _, v in partners[k])
        # with k chosen, at most max_size - 1 partners are: U_k; with k left out, up to max_size: L_k
        low = sum(v for v in weights[:max_size] if v < 0)
        high = sum(v for v in weights[::-1][: max(max_size - 1, 0)] if v > 0)
        z = _var(prob, f"z{k}")
        s_k = pulp.lpSum(v * x[l] for l, v in partners[k])
        prob += z <= high * x[k], f"glover{k}_on"
        prob += z <= s_k - low * (1 - x[k]), f"glover{k}_sum"
        terms.append(z)
    return 0.5 * pulp.lpSum(terms)  # each pair is counted from both ends


def build_pulp_model(tables: ValueTables, cons: Constraints, objective: str) -> PulpModel:
    import pulp

    g, w = tables.gains, tables.interactions
    K = len(cons.ids)
    prob = pulp.LpProblem("cxopt_portfolio", pulp.LpMaximize)
    x = [_var(prob, f"x{k}", cat=pulp.LpBinary) for k in range(K)]
    pairs = [tuple(map(int, p)) for p in tables.pairs]
    g_mean, w_mean = g.mean(axis=1), w.mean(axis=1)
    base = float(tables.baseline.mean())
    interactions = interaction_terms(prob, x, pairs, w_mean, cons.max_initiatives)
    mean_expr = pulp.lpSum(float(g_mean[k]) * x[k] for k in range(K)) + interactions
    if objective == "mean":
        prob += mean_expr + base
    else:
        alpha, beta = parse_risk(objective)
        T = tables.trials
        eta = _var(prob, "eta")
        u = [_var(prob, f"u{t}", 0) for t in range(T)]
        # per-trial interactions in every CVaR row while the model stays small (a variable y_kl = x_k x_l
        # per pair); beyond that their mean (the exact re-evaluation of the candidates corrects it)
        per_trial_pairs = T * len(pairs) <= CVAR_PAIR_TERMS
        if per_trial_pairs:
            y = [_var(prob, f"y{q}", 0, 1) for q in range(len(pairs))]
            for q, (a, b) in enumerate(pairs):
                prob += y[q] <= x[a], f"pair{q}_a"
                prob += y[q] <= x[b], f"pair{q}_b"
                prob += y[q] >= x[a] + x[b] - 1, f"pair{q}_ab"
        for t in range(T):
            v_t = float(tables.baseline[t]) + pulp.lpSum(float(g[k, t]) * x[k] for k in range(K) if g[k, t] != 0)
            if per_trial_pairs:
                v_t += pulp.lpSum(float(w[q, t]) * y[q] for q in range(len(pairs)) if w[q, t] != 0)
            else:
                v_t += interactions
            prob += u[t] >= eta - v_t, f"cvar{t}"
        prob += (1 - beta) * (mean_expr + base) + beta * (eta - (1.0 / (alpha * T)) * pulp.lpSum(u))
    add_rules(prob, x, cons)
    return PulpModel(prob, x)


def add_rules(prob, x, cons: Constraints) -> None:
    """Section 2's rules as rows of ``prob``."""
    import pulp

    K = len(x)
    prob += pulp.lpSum(x) <= cons.max_initiatives, "max_initiatives"
    if cons.budget is not None:
        for p, name in enumerate(cons.periods):
            prob += pulp.lpSum(float(cons.costs[k, p]) * x[k] for k in range(K)) <= float(cons.budget[p]), f"budget_{p}"
    for i, owner in enumerate(sorted(set(cons.owners))):
        members = [k for k in range(K) if cons.owners[k] == owner]
        if len(members) > cons.owner_capacity:
            prob += pulp.lpSum(x[k] for k in members) <= cons.owner_capacity, f"owner_{i}"
    for i, grp in enumerate(cons.exclusive):
        prob += pulp.lpSum(x[k] for k in grp) <= 1, f"exclusive_{i}"
    for i, (a, b) in enumerate(cons.requires):
        prob += x[a] <= x[b], f"requires_{i}"
    for k in sorted(cons.must):
        prob += x[k] == 1, f"must_{k}"
    for k in sorted(cons.forbid):
        prob += x[k] == 0, f"forbid_{k}"
