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
import time

import numpy as np

from cxopt.portfolio.backends.base import Backend
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.result import STATUS_INFEASIBLE, STATUS_OPTIMAL, SolveOutcome
from cxopt.portfolio.risk import parse_risk, risk_rows, tail_weights

__all__ = ["RankedProgramBackend", "RankedProgram", "RANKED_LIMIT", "TooManyPortfolios",
           "feasible_indices", "feasible_matrix", "ranked_program"]

RANKED_LIMIT = 1_000_000  # portfolios within the budget: above this the integer program solves it
BATCH = 4096


class TooManyPortfolios(Exception):
    """More feasible portfolios than :data:`RANKED_LIMIT`: the integer program solves this one."""


def feasible_indices(cons, limit: int | None = None) -> np.ndarray:
    """Every portfolio the rules allow, as rows of sorted candidate indices padded with ``K`` (one past
    the last candidate), ``(n, max_initiatives)``; rows by size, then lexicographic.

    Built size by size, each portfolio extended by the candidates above its last one, and kept only
    while it fits the budget (a portfolio over it has no feasible superset): a tight budget lists few
    subsets however long the list. The other rules are checked on the rows at the end
    (:meth:`~cxopt.portfolio.constraints.Constraints.violations`, vectorised). More than ``limit``
    portfolios within the budget raise :class:`TooManyPortfolios`.
    """
    K = len(cons.ids)
    free = np.array([k for k in range(K) if k not in cons.forbid], dtype=np.int64)
    if cons.budget is not None:
        cap = cons.budget_cap()
        costs = cons.costs
    else:
        cap, costs = np.zeros(0), np.zeros((K, 0))
    width = max(min(cons.max_initiatives, free.size), 0)
    level = np.zeros((1, 0), dtype=np.int64)  # portfolios of the current size, as sorted indices
    spend = np.zeros((1, costs.shape[1]))
    levels = [level]
    count = 1
    for size in range(1, width + 1):
        last = level[:, -1] if size > 1 else np.full(len(level), -1)
        parts, spends = [], []
        for j in free:
            rows = np.flatnonzero(last < j)
            if not rows.size:
                continue
            sp = spend[rows] + costs[j]
            if cap.size:
                fits = np.all(sp <= cap, axis=1)
                rows, sp = rows[fits], sp[fits]
            parts.append(np.column_stack([level[rows], np.full(rows.size, j)]))
            spends.append(sp)
        level = np.concatenate(parts) if parts else np.zeros((0, size), dtype=np.int64)
        if not len(level):
            break
        spend = np.concatenate(spends)
        order = np.lexsort(level.T[::-1])  # lexicographic
        level, spend = level[order], spend[order]
        count += len(level)
        if limit is not None and count > limit:
            raise TooManyPortfolios(f"more than {limit:,} portfolios within the budget")
        levels.append(level)
    idx = np.full((count, width), K, dtype=np.int64)
    row = 0
    for lv in levels:
        idx[row: row + len(lv), : lv.shape[1]] = lv
        row += len(lv)
    return idx[_allowed(cons, idx)]


def feasible_matrix(cons, limit: int | None = None) -> np.ndarray:
    """:func:`feasible_indices` as a 0/1 matrix ``(n, K)``."""
    K = len(cons.ids)
    idx = feasible_indices(cons, limit)
    x = np.zeros((len(idx), K + 1), dtype=np.int8)
    np.put_along_axis(x, idx, 1, axis=1)
    return x[:, :K]


def _allowed(cons, idx: np.ndarray) -> np.ndarray:
    """Which rows (sorted candidate indices, padded with K) obey every rule."""
    K = len(cons.ids)
    ok = np.ones(idx.shape[0], dtype=bool)
    if cons.budget is not None:
        costs = np.vstack([cons.costs, np.zeros((1, cons.costs.shape[1]))])
        ok &= np.all(costs[idx].sum(axis=1) <= cons.budget_cap(), axis=1)
    for owner in dict.fromkeys(cons.owners):
        member = np.array([cons.owners[k] == owner for k in range(K)] + [False])
        if member.sum() > cons.capacity_of(owner):
            ok &= member[idx].sum(axis=1) <= cons.capacity_of(owner)
    for grp in cons.exclusive:
        member = np.zeros(K + 1, dtype=bool)
        member[list(grp)] = True
        ok &= member[idx].sum(axis=1) <= 1
    has = lambda k: (idx == k).any(axis=1)  # noqa: E731
    for a, b in cons.requires:
        ok &= ~has(a) | has(b)
    for k in cons.must:
        ok &= has(k)
    return ok


def _pair_sum(idx: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per row: the sum of ``w`` over the pairs of its candidates."""
    out = np.zeros(len(idx))
    for a in range(idx.shape[1]):
        for b in range(a + 1, idx.shape[1]):
            out += w[idx[:, a], idx[:, b]]
    return out


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
        t0 = time.perf_counter()
        self.problem, self.constraints = problem, problem.constraints
        tables = problem.tables
        K, T = tables.gains.shape
        idx = self.idx = feasible_indices(problem.constraints, RANKED_LIMIT)
        self.K = K
        self.size = (idx < K).sum(axis=1)
        self.wm = tables.pair_matrix(tables.interactions.mean(axis=1), K + 1)  # K: the padding
        self.gains = np.vstack([tables.gains, np.zeros((1, T))])  # the padding gains nothing
        g_mean = np.append(tables.gains.mean(axis=1), 0.0)
        self.pair_mean = _pair_sum(idx, self.wm) if len(tables.pairs) else np.zeros(len(idx))
        mean = float(tables.baseline.mean()) + g_mean[idx].sum(axis=1) + self.pair_mean
        self.value = np.full(len(idx), np.nan)
        if problem.objective == "mean":
            self.value[:] = mean
            self.order = np.lexsort((np.arange(len(idx)), self.size, -mean))
            self.bound = mean[self.order]
        else:
            alpha, beta = parse_risk(problem.objective)
            lead = int(np.argmax(mean)) if len(idx) else 0
            tails = [tables.baseline] + ([self._trials(idx[lead: lead + 1])[0]] if len(idx) else [])
            e_q = np.full(len(idx), np.inf)
            for values in tails:
                q = tail_weights(values, alpha)
                if not len(tables.pairs):
                    pq = 0.0
                elif problem.per_trial_pairs:
                    pq = _pair_sum(idx, tables.pair_matrix(tables.interactions @ q, K + 1))
                else:
                    pq = self.pair_mean
                e_q = np.minimum(e_q, float(tables.baseline @ q) + (self.gains @ q)[idx].sum(axis=1) + pq)
            ub = (1 - beta) * mean + beta * e_q
            ub += 1e-9 * np.abs(ub)  # rounding: the bound must not fall below the value it bounds
            self.order = np.lexsort((np.arange(len(idx)), -ub))
            self.bound = ub[self.order]
        self.build_seconds = time.perf_counter() - t0  # counted in the first solve's seconds
        self.served = 0  # portfolios returned so far (a new walk on the same rules ranks afresh)
        self.done = 0  # portfolios (in self.order) whose exact program value is known
        self.heap: list = []  # (-value, size, selection, row) of valued portfolios not yet returned

    def _trials(self, idx: np.ndarray) -> np.ndarray:
        """The program's per-trial values of the rows ``idx`` (``(n, T)``)."""
        tables = self.problem.tables
        v = tables.baseline[None, :] + self.gains[idx].sum(axis=1)
        if not len(tables.pairs):
            return v
        if self.problem.per_trial_pairs:
            index = np.full((self.K + 1, self.K + 1), -1, dtype=np.int64)
            pairs = np.asarray(tables.pairs, dtype=np.int64).reshape(-1, 2)
            index[pairs[:, 0], pairs[:, 1]] = index[pairs[:, 1], pairs[:, 0]] = np.arange(len(pairs))
            rows = np.vstack([tables.interactions, np.zeros((1, tables.trials))])  # -1: no interaction
            for a in range(idx.shape[1]):
                for b in range(a + 1, idx.shape[1]):
                    v += rows[index[idx[:, a], idx[:, b]]]
        else:
            v += _pair_sum(idx, self.wm)[:, None]
        return v

    def _value_more(self) -> None:
        rows = self.order[self.done: self.done + BATCH // 16]
        if np.isnan(self.value[rows]).any():
            self.value[rows] = risk_rows(self._trials(self.idx[rows]), self.problem.objective)
        for r in rows:
            sel = tuple(int(k) for k in self.idx[r] if k < self.K)
            heapq.heappush(self.heap, (-self.value[r], int(self.size[r]), sel, int(r)))
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
    has too many portfolios (more than :data:`RANKED_LIMIT` within the budget)."""
    try:
        ranked = problem.sessions[RankedProgramBackend.name] = RankedProgram(problem)
    except TooManyPortfolios:
        return None
    return ranked
