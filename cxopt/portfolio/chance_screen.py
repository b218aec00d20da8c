"""The screen behind the chance-constrained choice on large cases (:mod:`cxopt.portfolio.chance`).

Valuing every feasible portfolio exactly costs about portfolios x trials x groups (16,324 x
10,000 x 22,168 in ``benchmarks/bench_goal.py``: hours). Only the portfolios that can matter are
valued exactly:

1. **Surrogate, every portfolio.** Per trial, retained revenue and churn from the value tables the
   simulation already holds (baseline + each member's standalone gain + each member pair's
   interaction: the integer program's terms; interactions among three or more are left out), CX
   levels exactly (:func:`cxopt.kernels.screen.level_values`, the same bits as
   :func:`cxopt.engine.levels.metric_levels`). Per portfolio: how many trials meet every target
   with a slack to spare, for a ladder of slacks (:data:`SLACKS`, in units of the metric's largest
   standalone effect in a trial), the surrogate objective's mean and each requirement's quantile.
2. **Exact, best first.** Among the portfolios that could qualify — the surrogate meets the
   confidence and the requirements once every surrogate value is allowed twice the largest
   per-trial surrogate-vs-exact gap seen so far — portfolios are valued exactly (the simulation's
   own evaluation) in the objective's order, in batches that double. The walk stops when the next
   candidate cannot win: revenue or value, its surrogate mean plus twice the largest mean gap seen
   is below the best exact qualifying value (the rule of the no-good walk in
   :mod:`cxopt.portfolio.search`); cost, it costs more than the cheapest qualifying one found
   (cost is exact).

What is returned is always verified on the trials (its probability and objective are exact).
The stopping and screening rules are heuristics (the gaps of portfolios not valued are assumed
below twice the largest seen), so the choice is called proven only when every portfolio was
valued exactly, or when nothing rests on the surrogate: the cost objective with targets and
requirements in CX levels only (then the screen's counts are the exact counts, the order is the
exact order and the walk is the enumeration in cost order). Its record against brute force is in
docs/decisions.md.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from cxopt.engine.arrays import interacting_pairs, segment_targets
from cxopt.engine.grouped import evaluate_pairs
from cxopt.engine.levels import level_weights, metric_info
from cxopt.engine.simulation import Simulation
from cxopt.errors import ArgumentError
from cxopt.portfolio.backends.exhaustive import EXHAUSTIVE_LIMIT

__all__ = ["SurrogateTables", "surrogate_tables", "Screen", "screen_portfolios", "ScreenChoice", "screened_choice",
           "SLACKS", "FIRST_BATCH", "CHUNK_CELLS", "level_inputs", "portfolio_table", "portfolio_costs",
           "feasible_list",
           "surrogate_values"]

# slack ladder, in units of the metric's largest standalone effect in one trial
SLACKS = np.array([0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, np.inf])
FIRST_BATCH = 8  # portfolios valued exactly in the first batch (then 16, 32, ... up to MAX_BATCH)
MAX_BATCH = 256
NEAR_RUNG = 7  # SLACKS[7] = 0.1: the least slack at which a portfolio counts as a near miss
CHUNK_CELLS = 8_000_000  # portfolio-trial cells per metric screened at once (memory: 64 MB per metric)
SURROGATE = ("retained_revenue", "churn")  # metrics the surrogate approximates; levels are exact


def portfolio_table(portfolios: Sequence[Sequence[int]]) -> np.ndarray:
    """(P, Kmax) int64, each portfolio's members ascending, padded with -1."""
    kmax = max([len(p) for p in portfolios] + [1])
    out = np.array([tuple(p) + (-1,) * (kmax - len(p)) for p in portfolios], dtype=np.int64).reshape(-1, kmax)
    valid = (out[:, 1:] >= 0)
    if (valid & (out[:, 1:] <= out[:, :-1])).any():  # not ascending already (enumerations are)
        for i, p in enumerate(portfolios):
            out[i, :len(p)] = sorted(int(k) for k in p)
    return out


def portfolio_costs(cons, portfolios: Sequence[Sequence[int]]) -> np.ndarray:
    """(P,) :meth:`Constraints.total_cost` of each portfolio, the same bits: with one budget period and
    fewer than 8 members NumPy adds the members' costs one by one from 0, as done here at once."""
    table = portfolio_table(portfolios) if len(portfolios) else np.zeros((0, 1), dtype=np.int64)
    if cons.costs.ndim != 2 or cons.costs.shape[1] != 1 or table.shape[1] >= 8:
        return np.array([cons.total_cost(p) for p in portfolios], dtype=np.float64)
    c = cons.costs[:, 0]
    out = np.zeros(len(portfolios))
    for a in range(table.shape[1]):
        k = table[:, a]
        out = np.where(k >= 0, out + c[np.maximum(k, 0)], out)
    return out


def feasible_list(cons) -> list[tuple[int, ...]]:
    """:func:`cxopt.portfolio.backends.exhaustive.feasible_portfolios`, the same list in the same order,
    with the rules of :meth:`Constraints.violations` checked on all combinations of a size at once
    (budget spends added member by member, as NumPy adds a handful of rows: the same bits)."""
    K = len(cons.ids)
    free = [k for k in range(K) if k not in cons.forbid]
    owners = {o: i for i, o in enumerate(dict.fromkeys(cons.owners))}
    owner_of = np.array([owners[o] for o in cons.owners], dtype=np.int64)
    capacity = np.array([cons.capacity_of(o) for o in owners], dtype=np.int64)
    if cons.budget is not None:
        limit = cons.budget_cap()
    out: list[tuple[int, ...]] = []
    for size in range(0, min(cons.max_initiatives, len(free)) + 1):
        combos = list(itertools.combinations(free, size))
        table = np.array(combos, dtype=np.int64).reshape(len(combos), size)
        ok = np.ones(len(combos), dtype=bool)
        member = np.zeros((len(combos), K), dtype=bool)
        member[np.arange(len(combos))[:, None], table] = True
        if cons.budget is not None:
            spend = np.zeros((len(combos), cons.costs.shape[1]))
            for a in range(size):
                spend = spend + cons.costs[table[:, a]] if a else cons.costs[table[:, a]].copy()
            ok &= ~(spend > limit).any(axis=1)
        for a in range(size):
            same = (owner_of[table] == owner_of[table[:, a]][:, None]).sum(axis=1)
            ok &= same <= capacity[owner_of[table[:, a]]]
        for g in cons.exclusive:
            ok &= member[:, list(set(g))].sum(axis=1) <= 1
        for a, b in cons.requires:
            ok &= ~member[:, a] | member[:, b]
        for k in cons.must:
            ok &= member[:, k]
        out.extend(combos[i] for i in np.flatnonzero(ok))
        if len(out) > EXHAUSTIVE_LIMIT:
            raise ArgumentError("solver", f"more than {EXHAUSTIVE_LIMIT:,} feasible portfolios: too many to "
                                          "enumerate; use solver='highs' or 'cbc'")
    return out


@dataclass(frozen=True)
class SurrogateTables:
    """Per-trial tables of the surrogate quantities (``names``): baseline (M, T), standalone gains
    (M, K, T), pair interactions (M, Q, T) with ``pair_of[k, l]`` their row (-1: no interaction),
    and ``scale`` (M,): the largest standalone effect in any trial (the unit of the slack ladder).
    ``revenue_means``: the mean over trials of the retained-revenue baseline (scalar), gains (K,) and
    interactions (Q,): the surrogate's mean retained revenue is linear in them, no trial needed."""

    names: tuple[str, ...]
    base: np.ndarray
    gains: np.ndarray
    pair_of: np.ndarray
    inter: np.ndarray
    scale: np.ndarray
    revenue_means: tuple[float, np.ndarray, np.ndarray]

    def mean_revenue(self, table: np.ndarray) -> np.ndarray:
        """(P,) the surrogate's mean retained revenue of the portfolios of a padded ``table``."""
        b, g, w = self.revenue_means
        out = np.full(table.shape[0], b)
        for a in range(table.shape[1]):
            k = table[:, a]
            out += np.where(k >= 0, g[np.maximum(k, 0)], 0.0)
            for c in range(a + 1, table.shape[1]):
                l = table[:, c]
                q = np.where((k >= 0) & (l >= 0), self.pair_of[np.maximum(k, 0), np.maximum(l, 0)], -1)
                out += np.where(q >= 0, w[np.maximum(q, 0)] if w.size else 0.0, 0.0)
        return out


def surrogate_tables(sim: Simulation, names: Sequence[str] = SURROGATE) -> SurrogateTables:
    """The surrogate's tables from the simulation's baseline, singles and interacting pairs.

    A simulation made with ``pairs=False`` has no pair tables: they are valued here (grouped mode
    by :func:`cxopt.engine.grouped.evaluate_pairs`, sampled mode by the simulation's evaluation).
    """
    K, T = len(sim.scenario.initiatives), sim.trials
    pairs, p_rev, p_cust = np.asarray(sim.pairs).reshape(-1, 2), sim.pair_revenue, sim.pair_customers
    if pairs.shape[0] == 0 and K > 1:
        pairs = interacting_pairs(sim.scenario, sim.groups)
        if pairs.shape[0] and sim.mode == "grouped":
            p_rev, p_cust = evaluate_pairs(sim.scenario, sim.groups, sim.draws, pairs,
                                           (sim.baseline_revenue, sim.baseline_customers),
                                           (sim.single_revenue, sim.single_customers))
        elif pairs.shape[0]:
            p_rev, p_cust = sim.evaluate([list(map(int, p)) for p in pairs])
    n = float(sim.n_customers)
    quantities = {"retained_revenue": (sim.baseline_revenue, sim.single_revenue, p_rev),
                  "churn": (1.0 - sim.baseline_customers / n, 1.0 - sim.single_customers / n, 1.0 - p_cust / n)}
    base = np.empty((len(names), T))
    gains = np.empty((len(names), K, T))
    inter = np.empty((len(names), pairs.shape[0], T))
    for m, name in enumerate(names):
        b, s, pv = quantities[name]
        base[m] = b
        gains[m] = s - b[None, :]
        if pairs.shape[0]:
            inter[m] = pv - s[pairs[:, 0]] - s[pairs[:, 1]] + b[None, :]
    pair_of = np.full((K, K), -1, dtype=np.int64)
    for q, (k, l) in enumerate(pairs):
        pair_of[min(k, l), max(k, l)] = q
    scale = np.array([max(float(np.abs(gains[m]).max(initial=0.0)), 1e-300) for m in range(len(names))])
    b, s, pv = quantities["retained_revenue"]
    w_mean = ((pv - s[pairs[:, 0]] - s[pairs[:, 1]] + b[None, :]).mean(axis=1) if pairs.shape[0]
              else np.zeros(0))
    means = (float(b.mean()), (s - b[None, :]).mean(axis=1), w_mean)
    return SurrogateTables(tuple(names), base, gains, pair_of, np.ascontiguousarray(inter), scale, means)


@dataclass(frozen=True)
class Screen:
    """The screen of every portfolio: ``counts[p, r]`` trials meeting every target with slack
    ``SLACKS[r]`` to spare; ``mean_revenue`` (P,) the surrogate's mean retained revenue;
    ``quantiles`` (n_requirements, P) the surrogate's (exact for levels) requirement quantiles."""

    counts: np.ndarray
    mean_revenue: np.ndarray
    quantiles: np.ndarray


def level_inputs(sim: Simulation, name: str) -> tuple:
    """The arguments of :func:`cxopt.kernels.screen.level_values` before ``portfolios`` and ``out``."""
    d = sim.draws
    info = metric_info(sim.scenario, name)
    live = np.ascontiguousarray(d.success & (d.golive <= sim.scenario.horizon_months - 1))
    return (0.0 if info.today is None else float(info.today), np.ascontiguousarray(level_weights(sim, name)), live,
            d.fix_ptr.astype(np.int64), d.fix_driver.astype(np.int64), np.ascontiguousarray(d.effect),
            np.ascontiguousarray(segment_targets(sim.scenario, sim.groups)))


def surrogate_values(sim: Simulation, tables: SurrogateTables, portfolios: Sequence[Sequence[int]],
                     levels: Sequence[str] = ()) -> np.ndarray:
    """(len(tables.names) + len(levels), P, T): the surrogate quantities, then the exact levels."""
    from cxopt.kernels.screen import level_values, pairwise_values

    table = portfolio_table(portfolios)
    M = len(tables.names)
    out = np.empty((M + len(levels), len(portfolios), sim.trials))
    pairwise_values(table, tables.base, tables.gains, tables.pair_of, tables.inter, out[:M])
    for i, name in enumerate(levels):
        level_values(table, *level_inputs(sim, name), out[M + i])
    return out


def screen_portfolios(sim: Simulation, tables: SurrogateTables, portfolios: Sequence[Sequence[int]], targets,
                      requirements, base: dict[str, np.ndarray]) -> Screen:
    """:class:`Screen` of ``portfolios`` (chunks of :data:`CHUNK_CELLS` cells per metric)."""
    from cxopt.kernels.screen import met_counts

    levels = sorted(({t.metric for t in targets} | {r.metric for r in requirements}) - set(SURROGATE))
    names = list(tables.names) + levels
    T = sim.trials
    which = np.array([names.index(t.metric) for t in targets], dtype=np.int64)
    lower = np.array([t.op == "<=" for t in targets], dtype=np.bool_)
    offset = np.array([base[t.metric][0] if t.relative else np.zeros(T) for t in targets]).reshape(len(targets), T)
    value = np.array([t.value for t in targets], dtype=np.float64)
    scale = np.array([tables.scale[tables.names.index(t.metric)] if t.metric in tables.names else 0.0
                      for t in targets], dtype=np.float64)
    P = len(portfolios)
    counts = np.full((P, len(SLACKS)), T, dtype=np.int64)
    mean_rev = np.empty(P)
    quant = np.empty((len(requirements), P))
    step = max(1, CHUNK_CELLS // max(T, 1))
    per_trial = bool(names)
    for start in range(0, P, step):
        part = portfolios[start: start + step]
        mean_rev[start: start + len(part)] = tables.mean_revenue(portfolio_table(part))
        if not per_trial:
            continue
        vals = surrogate_values(sim, tables, part, levels)
        if targets:
            met_counts(vals, which, lower, offset, value, scale, SLACKS, counts[start: start + len(part)])
        for i, r in enumerate(requirements):
            quant[i, start: start + len(part)] = np.quantile(vals[names.index(r.metric)], r.percentile / 100.0,
                                                             axis=1)
    return Screen(counts, mean_rev, quant)


@dataclass(frozen=True)
class ScreenChoice:
    """The walk's outcome: ``index`` of the chosen portfolio (None: none qualified), the exact values
    of every portfolio valued (``exact[i] = (probability, requirements met, mean retained revenue,
    mean objective value)``), whether the choice is proven, and the gaps the rules used."""

    index: int | None
    exact: dict
    proven: bool
    max_trial_gap: dict
    max_mean_gap: float
    slack: float


def screened_choice(sim: Simulation, tables: SurrogateTables, portfolios: Sequence[tuple[int, ...]],
                    cost: np.ndarray, size: np.ndarray, *, targets, requirements, confidence: float, objective: str,
                    worth, base: dict[str, np.ndarray],
                    exact_batch: Callable[[list], dict]) -> ScreenChoice:
    """The chance-constrained choice through the screen (module docstring).

    ``exact_batch(part)`` values a list of portfolios exactly: a dict of (n,) arrays ``probability``,
    ``requirements_met``, ``mean_revenue``, ``mean_value`` and (n, T) arrays per metric of
    :data:`SURROGATE` read by a target or requirement (``values``).
    """
    P, T = len(portfolios), sim.trials
    sc = screen_portfolios(sim, tables, portfolios, targets, requirements, base)
    used = sorted({t.metric for t in targets} | {r.metric for r in requirements})
    approx = [m for m in used if m in SURROGATE]
    rigorous = objective == "cost" and not approx
    net_mean = worth.net.mean(axis=1) if not worth.is_revenue else np.zeros(len(sim.scenario.initiatives))
    table = portfolio_table(portfolios)
    sur_value = worth.margin * sc.mean_revenue + np.where(table >= 0, net_mean[np.maximum(table, 0)], 0.0).sum(axis=1)
    need = confidence - 1e-12
    order_key = (np.lexsort((np.arange(P), size, -sc.mean_revenue, cost)) if objective == "cost"
                 else np.lexsort((np.arange(P), size, -sur_value)))
    rank = np.empty(P, dtype=np.int64)
    rank[order_key] = np.arange(P)
    exact: dict[int, tuple] = {}
    gap_trial = {m: 0.0 for m in approx}
    gap_mean = 0.0
    best: int | None = None
    batch = FIRST_BATCH
    done = np.zeros(P, dtype=bool)

    def rung() -> int:
        r = 0
        for m in approx:
            allow = 2.0 * gap_trial[m] / tables.scale[tables.names.index(m)]
            r = max(r, int(np.searchsorted(SLACKS, allow, side="left")))
        return min(r, len(SLACKS) - 1)

    def possible(r: int) -> np.ndarray:
        ok = sc.counts[:, r] / T >= need if targets else np.ones(P, dtype=bool)
        for i, q in enumerate(requirements):
            d = SLACKS[r] * tables.scale[tables.names.index(q.metric)] if q.metric in approx else 0.0
            ok &= (sc.quantiles[i] + d >= q.value) if q.op == ">=" else (sc.quantiles[i] - d <= q.value)
        return ok

    def key(i: int):
        prob, _, rev, val = exact[i]
        return (float(cost[i]), -rev, int(size[i]), i) if objective == "cost" else (-val, int(size[i]), i)

    while True:
        cand = possible(rung()) & ~done
        if best is not None:
            if objective == "cost":
                cand &= cost <= cost[best]
            else:
                cand &= sur_value + 2.0 * gap_mean >= exact[best][3]
        idx = np.flatnonzero(cand)
        if idx.size == 0 and (done.any() or not approx):
            break
        if idx.size == 0:
            # nothing qualifies by the surrogate as it stands and no gap is measured yet: measure them on
            # the portfolios the surrogate finds likeliest to qualify, then screen again with them
            idx = np.flatnonzero(~done)
            part_idx = idx[np.lexsort((rank[idx], -sc.counts[idx, 0]))][:batch]
        else:
            part_idx = idx[np.argsort(rank[idx], kind="stable")][:batch]
            if part_idx.size < batch and approx:
                # fill the batch with near misses, the best of those that qualify with ten times the slack
                # (at least a tenth of the largest standalone effect):
                # their gaps are the ones that matter, and one or two portfolios measure too little
                wide = min(max(rung() + 2, NEAR_RUNG), len(SLACKS) - 1)
                near = np.flatnonzero(possible(wide) & ~done & ~cand)
                near = near[np.argsort(rank[near], kind="stable")][:batch - part_idx.size]
                part_idx = np.concatenate([part_idx, near])
        out = exact_batch([portfolios[i] for i in part_idx])
        sur = surrogate_values(sim, tables, [portfolios[i] for i in part_idx]) if approx else None
        for n, i in enumerate(part_idx):
            i = int(i)
            done[i] = True
            exact[i] = (float(out["probability"][n]), bool(out["requirements_met"][n]),
                        float(out["mean_revenue"][n]), float(out["mean_value"][n]))
            gap_mean = max(gap_mean, abs(exact[i][3] - sur_value[i]))
            for m in approx:
                gap_trial[m] = max(gap_trial[m],
                                   float(np.abs(out["values"][m][n] - sur[tables.names.index(m), n]).max()))
            if exact[i][1] and (not targets or exact[i][0] >= need) and (best is None or key(i) < key(best)):
                best = i
        batch = min(2 * batch, MAX_BATCH)
    if best is None:  # the best probability reachable: the surrogate's most likely, valued exactly
        pool = np.flatnonzero(~done)
        top = pool[np.lexsort((size[pool], -sc.mean_revenue[pool], -sc.counts[pool, 0]))][:FIRST_BATCH]
        if top.size:
            out = exact_batch([portfolios[i] for i in top])
            for n, i in enumerate(top):
                exact[int(i)] = (float(out["probability"][n]), bool(out["requirements_met"][n]),
                                 float(out["mean_revenue"][n]), float(out["mean_value"][n]))
                done[int(i)] = True
    proven = bool(done.all()) or rigorous
    return ScreenChoice(best, exact, proven, gap_trial, gap_mean, float(SLACKS[rung()]))
