"""A small program solved by ranking every feasible portfolio on the program's own value.

Where the candidate list is short (a walk reduced with a certificate,
:mod:`cxopt.portfolio.reduction`) the risk-averse program is cheaper to solve by enumeration
than by branch and bound: its Rockafellar–Uryasev rows (one per trial) make every LP node
cost as much as the whole enumeration of a few thousand portfolios. The ranking is the
program's, not the simulation's (every portfolio valued with standalone gains and pair
interactions, exactly as the integer program values it), so each "solve" returns the same
portfolio the integer program would (ties: the smaller portfolio, then the lower indices),
proven: every feasible portfolio was ranked. No-good cuts are honoured by skipping what they
exclude.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time

import numpy as np

from cxopt.portfolio.backends.base import Backend
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.result import STATUS_INFEASIBLE, STATUS_OPTIMAL, SolveOutcome
from cxopt.portfolio.risk import parse_risk

__all__ = ["RankedProgramBackend", "RankedProgram", "RANKED_LIMIT", "COMBINATIONS_LIMIT", "TooManyPortfolios",
           "portfolio_count_bound", "feasible_matrix", "ranked_program"]

RANKED_LIMIT = 250_000  # feasible portfolios: above this the integer program solves it
COMBINATIONS_LIMIT = 3_000_000  # subsets listed (before the rules) at most to find the feasible ones
BATCH = 4096


def portfolio_count_bound(problem: PortfolioProblem) -> int:
    """How many portfolios the rules could allow at most (subsets of the free candidates up to the limit)."""
    cons = problem.constraints
    free = len(cons.ids) - len(cons.forbid)
    return sum(math.comb(free, s) for s in range(min(cons.max_initiatives, free) + 1))


class TooManyPortfolios(Exception):
    """More feasible portfolios than :data:`RANKED_LIMIT`: the integer program solves this one."""


def feasible_matrix(cons, limit: int | None = None) -> np.ndarray:
    """Every portfolio the rules allow as rows of a 0/1 matrix ``(n, K)`` (vectorised checks of
    :meth:`~cxopt.portfolio.constraints.Constraints.violations`; rows by size, then lexicographic).

    Subsets are listed and checked :data:`BATCH` x 16 at a time; more than ``limit`` feasible ones raise
    :class:`TooManyPortfolios`.
    """
    K = len(cons.ids)
    free = [k for k in range(K) if k not in cons.forbid]
    kept, count = [], 0
    for size in range(min(cons.max_initiatives, len(free)) + 1):
        combos = itertools.combinations(free, size)
        while True:
            chunk = list(itertools.islice(combos, BATCH * 16))
            if not chunk:
                break
            x = np.zeros((len(chunk), K), dtype=np.int8)
            if size:
                np.put_along_axis(x, np.array(chunk, dtype=np.int64), 1, axis=1)
            x = x[_allowed(cons, x)]
            count += len(x)
            if limit is not None and count > limit:
                raise TooManyPortfolios(f"more than {limit:,} feasible portfolios")
            kept.append(x)
            if size == 0:
                break
    return np.concatenate(kept) if kept else np.zeros((0, K), dtype=np.int8)


def _allowed(cons, x: np.ndarray) -> np.ndarray:
    """Which rows (0/1 selections) obey every rule."""
    K = x.shape[1]
    ok = np.ones(x.shape[0], dtype=bool)
    if cons.budget is not None:
        slack = 1e-6 * np.abs(cons.costs).max(axis=0, initial=0.0)
        ok &= np.all(x.astype(np.float64) @ cons.costs <= cons.budget * (1 + 1e-9) + slack, axis=1)
    for owner in dict.fromkeys(cons.owners):
        members = [k for k in range(K) if cons.owners[k] == owner]
        if len(members) > cons.capacity_of(owner):
            ok &= x[:, members].sum(axis=1) <= cons.capacity_of(owner)
    for grp in cons.exclusive:
        ok &= x[:, list(grp)].sum(axis=1) <= 1
    for a, b in cons.requires:
        ok &= x[:, a] <= x[:, b]
    for k in cons.must:
        ok &= x[:, k] == 1
    return ok


def _dense_pairs(tables, values: np.ndarray, K: int) -> np.ndarray:
    w = np.zeros((K, K))
    pairs = np.asarray(tables.pairs, dtype=np.int64).reshape(-1, 2)
    if pairs.size:
        w[pairs[:, 0], pairs[:, 1]] = values
    return w  # upper triangle: x W x' counts each pair once


def _risk_rows(v: np.ndarray, objective: str) -> np.ndarray:
    """``(1-beta) mean + beta CVaR_alpha`` of each row (:func:`cxopt.portfolio.risk.risk_value`, by rows)."""
    alpha, beta = parse_risk(objective)
    T = v.shape[1]
    k = alpha * T
    whole = int(math.floor(k + 1e-12))
    frac = k - whole if whole < T and k - whole > 1e-12 else 0.0
    part = np.partition(v, whole, axis=1) if whole < T else v
    total = part[:, :whole].sum(axis=1) + (frac * part[:, whole] if frac else 0.0)
    return (1 - beta) * v.mean(axis=1) + beta * total / k


class RankedProgram:
    """A problem's feasible portfolios, best first by the program's value, ranked lazily.

    The mean objective's value needs no trials: every portfolio is valued at once. A risk objective's
    value needs its trials; each portfolio first gets a cheap upper bound, ``(1-beta) mean + beta E_q``
    (``CVaR <= E_q`` for any reweighting ``q`` of at most ``1/alpha``: here the worst ``alpha`` share of
    the baseline's and of the best-by-mean portfolio's trials), and the exact program value is computed
    in the bound's order only as far as the next portfolio asked for needs: a portfolio is returned
    once its value beats every bound not yet computed.
    """

    def __init__(self, problem: PortfolioProblem):
        from cxopt.portfolio.reduction import tail_weights

        t0 = time.perf_counter()
        self.problem, self.constraints = problem, problem.constraints
        tables = problem.tables
        K, T = tables.gains.shape
        x = feasible_matrix(problem.constraints, RANKED_LIMIT)
        self.x = x
        xf = x.astype(np.float64)
        self.size = x.sum(axis=1)
        w_mean = tables.interactions.mean(axis=1)
        wm = self.wm = _dense_pairs(tables, w_mean, K)
        self.pair_mean = np.einsum("ij,jk,ik->i", xf, wm, xf) if len(tables.pairs) else np.zeros(len(x))
        mean = float(tables.baseline.mean()) + xf @ tables.gains.mean(axis=1) + self.pair_mean
        self.value = np.full(len(x), np.nan)
        self.excluded_rows: set[int] = set()
        if problem.objective == "mean":
            self.value[:] = mean
            self.order = np.lexsort((np.arange(len(x)), self.size, -mean))
            self.bound = mean[self.order]
        else:
            alpha, beta = parse_risk(problem.objective)
            lead = int(np.argmax(mean)) if len(x) else 0
            tails = [tables.baseline] + ([self._trials(xf[lead: lead + 1])[0]] if len(x) else [])
            e_q = np.full(len(x), np.inf)
            for values in tails:
                q = tail_weights(values, alpha)
                wq = _dense_pairs(tables, tables.interactions @ q, K) if problem.per_trial_pairs else wm
                pq = np.einsum("ij,jk,ik->i", xf, wq, xf) if len(tables.pairs) else 0.0
                e_q = np.minimum(e_q, float(tables.baseline @ q) + xf @ (tables.gains @ q) + pq)
            ub = (1 - beta) * mean + beta * e_q
            ub += 1e-9 * np.abs(ub)  # rounding: the bound must not fall below the value it bounds
            self.order = np.lexsort((np.arange(len(x)), -ub))
            self.bound = ub[self.order]
        self.build_seconds = time.perf_counter() - t0  # counted in the first solve's seconds
        self.served = 0  # portfolios returned so far (a new walk on the same rules ranks afresh)
        self.done = 0  # portfolios (in self.order) whose exact program value is known
        self.heap: list = []  # (-value, size, row) of valued portfolios not yet returned

    def _trials(self, xf: np.ndarray) -> np.ndarray:
        tables = self.problem.tables
        v = tables.baseline[None, :] + xf @ tables.gains
        if self.problem.per_trial_pairs:
            pairs = np.asarray(tables.pairs, dtype=np.int64).reshape(-1, 2)
            if pairs.size:
                v += (xf[:, pairs[:, 0]] * xf[:, pairs[:, 1]]) @ tables.interactions
        elif len(tables.pairs):
            v += np.einsum("ij,jk,ik->i", xf, self.wm, xf)[:, None]
        return v

    def _value_more(self) -> None:
        rows = self.order[self.done: self.done + BATCH // 16]
        if np.isnan(self.value[rows]).any():
            self.value[rows] = _risk_rows(self._trials(self.x[rows].astype(np.float64)), self.problem.objective)
        for r in rows:
            heapq.heappush(self.heap, (-self.value[r], int(self.size[r]), tuple(np.flatnonzero(self.x[r])), int(r)))
        self.done += len(rows)

    def best_not_in(self, excluded: set) -> tuple[int, ...] | None:
        self.served += 1
        while True:
            while self.heap and self.heap[0][2] in excluded:
                heapq.heappop(self.heap)
            n = len(self.order)
            if self.heap and (self.done >= n or -self.heap[0][0] > self.bound[self.done]):
                return heapq.heappop(self.heap)[2]
            if self.done >= n:
                return None
            self._value_more()


class RankedProgramBackend(Backend):
    """The program ranked by enumeration (small programs; see the module's text)."""

    name = "ranked"
    STATUS_MAP = {"best_found": STATUS_OPTIMAL, "none_left": STATUS_INFEASIBLE}

    def solve_problem(self, problem: PortfolioProblem, time_limit: float | None) -> SolveOutcome:
        t0 = time.perf_counter()
        ranked = problem.sessions.get(self.name)
        if ranked is None or ranked.constraints is not problem.constraints or (ranked.served and not problem.excluded):
            ranked = problem.sessions[self.name] = RankedProgram(problem)  # TooManyPortfolios above the limit
        if not ranked.served:
            t0 -= ranked.build_seconds  # the ranking is this walk's first solve
        best = ranked.best_not_in(set(problem.excluded))
        if best is None:
            return SolveOutcome(self.STATUS_MAP["none_left"], seconds=time.perf_counter() - t0, native="none_left")
        problem.incumbent = best
        return SolveOutcome(self.STATUS_MAP["best_found"], best, problem.estimate(best),
                            seconds=time.perf_counter() - t0, native="best_found")


def ranked_program(problem: PortfolioProblem) -> RankedProgram | None:
    """The problem's ranking, ready for :class:`RankedProgramBackend` (kept on the problem), or None where it
    has too many portfolios (more than :data:`COMBINATIONS_LIMIT` subsets or :data:`RANKED_LIMIT` feasible)."""
    if portfolio_count_bound(problem) > COMBINATIONS_LIMIT:
        return None
    try:
        ranked = problem.sessions[RankedProgramBackend.name] = RankedProgram(problem)
    except TooManyPortfolios:
        return None
    return ranked
