"""Candidates that cannot reach the walk's portfolios, left out with a bound (a proven reduction).

The no-good walk (:mod:`cxopt.portfolio.search`) asks the program for its best portfolio, then its
second best, and so on, until a stopping value. On a long list most candidates can be in none of
those portfolios, yet each of them carries a column, a Glover row and every interaction into
every solve. An upper bound on the program's value of *any* portfolio that holds candidate ``j``
(:func:`candidate_bounds`) settles it: if the bound is below the value of the last portfolio the
walk took (the one that stopped it, or the last one at the cap), no portfolio holding ``j`` can be
in the walk's sequence, and the walk on the others returns the same portfolios, in the same order,
as the walk on all of them. :func:`walk_reduced` runs the walk on the most promising candidates,
checks that certificate afterwards, and widens the list (to every candidate whose bound reaches
the stopping value) until it holds; when the smaller program runs out of portfolios or has none,
the walk is repeated on every candidate.

The bound, for ``j`` in a portfolio ``S`` of at most ``m`` initiatives (``m`` the focus limit):

    value(S) = base + g_j + sum_{i in S-j} (g_i + w_ij) + sum_{i<k in S-j} w_ik
             <= base + g_j + sum of the m-1 largest positive c_i,   c_i = g_i + w_ij + P_i / 2,

with ``g`` the mean standalone gains, ``w`` the mean pair interactions and ``P_i`` the sum of the
``m-2`` largest positive ``w_ik``: each ``i`` meets at most ``m-2`` partners in ``S-j``. Budgets,
owners and the other rules only shrink the set of portfolios, so the bound holds under any rules.
With a risk objective the program's value is ``(1-beta) mean + beta CVaR <= mean``, so the same
bound holds. A candidate that alone costs more than a budget period's limit is in no portfolio.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.model import PortfolioProblem, ValueTables
from cxopt.portfolio.risk import parse_risk, tail_weights

__all__ = ["candidate_bounds", "restrict_constraints", "reduced_problem", "walk_reduced", "REDUCE_ABOVE"]

REDUCE_ABOVE = 30  # candidates: below this the whole program is small already
_FIRST = 3  # the first list: the (3 x focus limit) candidates with the highest bounds (at least 15)


def candidate_bounds(tables: ValueTables, max_initiatives: int, objective: str = "mean",
                     per_trial_pairs: bool = False, tails: list[np.ndarray] = (),
                     budget: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Per candidate ``j``: an upper bound on the program's value of any portfolio holding ``j``.

    ``objective`` ``"cvar:ALPHA:BETA"``: ``(1-beta)`` times the mean's bound plus ``beta`` times a bound on
    the CVaR. The CVaR is the least mean over reweightings ``q`` of the trials (no trial above ``1/alpha``
    times its share), so ``CVaR(v) <= E_q[v]`` for any such ``q``: the mean's bound with the trials
    weighted by ``q``. ``q`` puts the weight on the worst ``alpha`` share of the baseline's trials and of
    each array in ``tails`` (per-trial values, e.g. of a portfolio the walk found); the least bound holds.
    ``per_trial_pairs``: the program's CVaR rows carry per-trial interactions (else their mean).
    ``budget``: ``(costs, limits)``, the partners must fit in what ``j`` leaves (see :func:`_best_partners`).
    """
    K = tables.gains.shape[0]
    m = max(int(max_initiatives), 1)
    wm = tables.interactions.mean(axis=1)
    w_dense = tables.pair_matrix(wm)
    mean_bound = _linear_bound(tables, np.full(tables.trials, 1.0 / tables.trials), w_dense, m, budget)
    if objective == "mean":
        return mean_bound
    alpha, beta = parse_risk(objective)
    cvar_bound = np.full(K, np.inf)
    for values in [tables.baseline, *tails]:
        q = tail_weights(values, alpha)
        w_q = tables.pair_matrix(tables.interactions @ q) if per_trial_pairs else w_dense
        cvar_bound = np.minimum(cvar_bound, _linear_bound(tables, q, w_q, m, budget))
    return (1 - beta) * mean_bound + beta * cvar_bound


def _linear_bound(tables: ValueTables, q: np.ndarray, w: np.ndarray, m: int, budget=None) -> np.ndarray:
    """The bound on ``E_q[value]`` of any portfolio holding ``j`` (gains weighted by ``q``, pairs ``w``)."""
    g = tables.gains @ q
    return float(tables.baseline @ q) + g + _best_partners(g, w, m, budget)


def _best_partners(g: np.ndarray, w: np.ndarray, m: int, budget: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> np.ndarray:
    """Per ``j``: a bound on what at most ``m-1`` partners ``i`` can add to ``j``, each ``c_ji = g_i + w_ij +
    P_i / 2`` (``P_i``: the ``m-2`` largest positive ``w_ik``): the sum of the ``m-1`` largest positive ones.

    ``budget`` ``(costs (K, periods), limits (periods,))``: the partners must also fit in what ``j`` leaves
    of each period's limit: the best choice under both limits by dynamic programming over costs rounded
    down to a grid of :data:`_GRID` steps (rounding down only admits more choices: still a bound).
    """
    K = g.shape[0]
    if m == 1 or K <= 1:
        return np.zeros(K)
    pos = np.maximum(w, 0.0)
    if m - 2 <= 0:
        partner = np.zeros(K)
    elif m - 2 >= K:
        partner = pos.sum(axis=1)
    else:
        partner = -np.partition(-pos, m - 3, axis=1)[:, : m - 2].sum(axis=1)
    c = np.maximum((g + 0.5 * partner)[None, :] + w, 0.0)  # c[j, i] = g_i + w_ij + P_i / 2, if positive
    np.fill_diagonal(c, 0.0)  # j is not its own partner (a partner adding 0 changes no bound)
    r = min(m - 1, K - 1)
    best = -np.partition(-c, r - 1, axis=1)[:, :r].sum(axis=1)
    if budget is None:
        return best
    costs, limits = budget
    for p in range(costs.shape[1]):
        if np.all(costs[:, p] >= 0) and limits[p] >= 0:
            best = np.minimum(best, _knapsack(c, costs[:, p], limits[p], r))
    return best


_GRID = 256  # cost steps of the partners' knapsack


def _knapsack(c: np.ndarray, cost: np.ndarray, limit: float, r: int) -> np.ndarray:
    """Per row ``j``: the most ``sum c[j, i]`` over at most ``r`` columns ``i != j`` whose costs fit in
    ``limit - cost[j]``, costs rounded down to steps of ``limit / _GRID`` (a bound on the exact optimum)."""
    K = c.shape[0]
    step = limit / _GRID if limit > 0 else 1.0
    weight = np.floor(cost / step).astype(np.int64)
    room = np.clip(np.floor((limit - cost) / step + 1e-9).astype(np.int64), -1, _GRID)
    value = np.zeros((K, r + 1, _GRID + 1))  # value[j, k, b]: at most k partners, rounded cost at most b
    for i in range(K):
        wi = weight[i]
        if wi > _GRID or not c[:, i].any():
            continue
        gain = c[:, i][:, None, None]
        take = value[:, :-1, : _GRID + 1 - wi] + gain
        value[:, 1:, wi:] = np.maximum(value[:, 1:, wi:], take)  # take: from the values before item i
    out = value[np.arange(K), r, np.maximum(room, 0)]
    return np.where(room < 0, 0.0, out)


def restrict_constraints(cons: Constraints, keep: list[int]) -> Constraints:
    """The rules on the candidates ``keep`` only (indices renumbered in ``keep``'s order).

    A kept candidate that requires one left out can never be chosen: it is forbidden. Every must-include
    is kept (``ValueError`` otherwise: no portfolio on the kept candidates would be allowed).
    """
    pos = {k: i for i, k in enumerate(keep)}
    if not cons.must <= set(pos):
        raise ValueError("every must-include candidate must be kept")
    forbid = {pos[k] for k in cons.forbid if k in pos}
    requires = []
    for a, b in cons.requires:
        if a in pos and b in pos:
            requires.append((pos[a], pos[b]))
        elif a in pos:
            forbid.add(pos[a])
    exclusive = tuple(g for g in (tuple(pos[k] for k in grp if k in pos) for grp in cons.exclusive) if len(g) > 1)
    return replace(cons, ids=tuple(cons.ids[k] for k in keep), costs=cons.costs[keep],
                   owners=tuple(cons.owners[k] for k in keep), exclusive=exclusive, requires=tuple(requires),
                   must=frozenset(pos[k] for k in cons.must), forbid=frozenset(forbid))


def _restrict_tables(tables: ValueTables, keep: list[int]) -> ValueTables:
    pos = np.full(tables.gains.shape[0], -1, dtype=np.int64)
    pos[keep] = np.arange(len(keep))
    pairs = np.asarray(tables.pairs, dtype=np.int64).reshape(-1, 2)
    mapped = pos[pairs] if pairs.size else pairs
    inside = (mapped >= 0).all(axis=1) if pairs.size else np.zeros(0, dtype=bool)
    return ValueTables(tables.baseline, tables.gains[keep], mapped[inside], tables.interactions[inside])


def reduced_problem(problem: PortfolioProblem, keep: list[int]) -> PortfolioProblem:
    """The problem on the candidates ``keep`` (sorted), kept on ``problem`` for the next walk (a frontier
    step, a re-solve): its model and any solver's copy of it live on; each walk starts without cuts."""
    keep = sorted(keep)
    cache = problem.reductions
    cons = restrict_constraints(problem.constraints, keep)
    sub = cache.get(tuple(keep))
    if sub is None:
        evaluate = None
        if not problem.program_is_exact:
            def evaluate(portfolios, _keep=tuple(keep)):
                return problem.exact_revenue([tuple(_keep[i] for i in p) for p in portfolios])
        sub = PortfolioProblem(_restrict_tables(problem.tables, keep), cons, problem.objective, evaluate=evaluate,
                               objective_name=problem.objective_name)
        sub.worth = problem.worth
        sub.per_trial_pairs = problem.per_trial_pairs  # the same program as the whole problem's
        cache[tuple(keep)] = sub
    else:
        sub.restart(cons)
    return sub


def _unaffordable(cons: Constraints) -> np.ndarray:
    """Candidates that alone cost more than a budget period's limit (in no feasible portfolio)."""
    if cons.budget is None:
        return np.zeros(len(cons.ids), dtype=bool)
    return (cons.costs > cons.budget_cap()).any(axis=1)  # Constraints.over_budget of each one alone


def walk_reduced(problem: PortfolioProblem, walk, top: int, time_limit: float | None):
    """``walk(problem, top, time_limit)`` (the no-good walk, returning ``(best, candidates, proven, stopped_by,
    solve_seconds, last_value)`` with selections in that problem's indices) on as few candidates as the
    certificate allows; the same return, in ``problem``'s indices, and ``problem.incumbent`` set."""
    cons = problem.constraints
    K = len(cons.ids)
    # the limits with the allowance of Constraints.over_budget (a portfolio it accepts is bounded)
    budget = None if cons.budget is None else (cons.costs, cons.budget_cap())
    bounds = candidate_bounds(problem.tables, cons.max_initiatives, problem.objective, problem.per_trial_pairs,
                              budget=budget)
    unaffordable = _unaffordable(cons)
    free = [k for k in range(K) if k not in cons.forbid and not unaffordable[k]]
    must = set(cons.must)
    first = max(_FIRST * cons.max_initiatives, 15)
    order = sorted(free, key=lambda k: (-bounds[k], k))
    keep = set(order[:first]) | must
    seconds: list[float] = []
    walks, solved_by = 0, ""
    while True:
        while True:  # what a kept candidate needs comes along (prerequisites of prerequisites too)
            needed = {b for a, b in cons.requires if a in keep} - keep
            if not needed:
                break
            keep |= needed
        if len(keep) >= len(set(free) | must):
            break
        sub = reduced_problem(problem, sorted(keep))
        sub.incumbent = _map_in(problem.incumbent, sorted(keep))
        outcome = walk(sub, top, time_limit)
        walks += 1
        solved_by = sub.solved_by
        if outcome is None:  # the smaller program has no portfolio, or ran out: the whole one decides
            break
        best, candidates, proven, stopped_by, solve_seconds, last_value = outcome
        seconds += solve_seconds
        if stopped_by == "exhausted":
            break
        # the certificate: no candidate left out can be in a portfolio worth the walk's last value (a
        # risk objective's bound tightened with the tails of the portfolios the walk found)
        if problem.objective != "mean":
            kept = sorted(keep)
            tails = [problem.program_trials([kept[i] for i in c.selected]) for c in candidates[:2]]
            bounds = np.minimum(bounds, candidate_bounds(problem.tables, cons.max_initiatives, problem.objective,
                                                         problem.per_trial_pairs, tails, budget))
        tol = 1e-9 * max(abs(last_value), 1.0)
        reach = {k for k in free if k not in keep and bounds[k] >= last_value - tol}
        if not reach:
            kept = sorted(keep)
            back = _map_out(best, kept)
            problem.incumbent = back.selected
            problem.search_note = {"candidates": len(free), "kept": len(kept), "walks": walks,
                                   "certificate": "no candidate left out can reach the walk's last value",
                                   "program_solved_by": solved_by}
            return back, tuple(_map_out(c, kept) for c in candidates), proven, stopped_by, seconds, last_value
        keep |= reach
    problem.restart(problem.constraints)
    best, candidates, proven, stopped_by, solve_seconds, last_value = walk(problem, top, time_limit)
    return best, candidates, proven, stopped_by, seconds + solve_seconds, last_value


def _map_in(selected, keep: list[int]):
    if selected is None:
        return None
    pos = {k: i for i, k in enumerate(keep)}
    return tuple(pos[k] for k in selected) if all(k in pos for k in selected) else None


def _map_out(candidate, keep: list[int]):
    return replace(candidate, selected=tuple(keep[i] for i in candidate.selected))
