"""The Monte Carlo engine: draw trials, reduce the base, evaluate portfolios on every trial.

:func:`simulate` returns a :class:`Simulation`: the value tables the optimiser needs
(baseline, every single initiative, every interacting pair, per trial) and the means to
evaluate any other portfolio exactly on the same draws (:meth:`Simulation.evaluate`).

Two modes (DESIGN.md section 1):

* ``"grouped"`` (default): one streaming pass builds per-(segment, mask) statistics; a
  trial then costs O(groups), independent of the number of customers. Exact in
  expectation over customers' own churn.
* ``"sampled"``: each customer's churn is drawn in every trial (counter-based random
  numbers keyed on customer id and trial), which adds the spread a few large accounts
  bring. Its mean converges to the grouped value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from cxopt.kernels import classes as kernels_classes
from cxopt.kernels import grouped as kernels
from cxopt.data.customers import CustomerBase, GroupStats
from cxopt.engine.draws import Draws, check_retention_bounds, draw_trials
from cxopt.model.scenario import Scenario
from cxopt.errors import Problem, ScenarioError

__all__ = ["Simulation", "simulate", "summarise", "MODES"]

MODES = ("grouped", "sampled")


def summarise(values: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    """``{mean, p10, p50, p90}`` of per-trial values (optionally weighted)."""
    values = np.asarray(values, dtype=np.float64)
    if weights is None:
        q = np.quantile(values, [0.1, 0.5, 0.9])
        return {"mean": float(values.mean()), "p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}
    w = np.asarray(weights, dtype=np.float64)
    if np.all(w == w[0]):  # equal weights: exactly the unweighted summary
        return summarise(values)
    w = w / w.sum()
    order = np.argsort(values, kind="stable")
    cw = np.cumsum(w[order])
    pick = lambda a: float(values[order][min(np.searchsorted(cw, a), len(cw) - 1)])  # noqa: E731
    return {"mean": float(values @ w), "p10": pick(0.1), "p50": pick(0.5), "p90": pick(0.9)}


@dataclass(frozen=True)
class Simulation:
    """Per-trial value tables for one scenario, one base and one set of draws.

    Attributes
    ----------
    baseline_revenue, baseline_customers : (T,) retained with no initiative
    single_revenue, single_customers : (K, T) retained with initiative k alone
    pairs : (n_pairs, 2) indices of interacting initiative pairs (share a customer group)
    pair_revenue, pair_customers : (n_pairs, T)
    """

    scenario: Scenario
    groups: GroupStats
    draws: Draws
    mode: str
    baseline_revenue: np.ndarray
    baseline_customers: np.ndarray
    single_revenue: np.ndarray
    single_customers: np.ndarray
    pairs: np.ndarray
    pair_revenue: np.ndarray
    pair_customers: np.ndarray
    seconds: dict[str, float] = field(default_factory=dict)
    base_description: str = ""
    base: CustomerBase | None = field(default=None, repr=False, compare=False)

    # -- sizes ----------------------------------------------------------------------
    @property
    def trials(self) -> int:
        return self.draws.trials

    @property
    def n_customers(self) -> int:
        return self.groups.n_customers

    @property
    def initiative_ids(self) -> list[str]:
        return self.scenario.initiative_ids

    def index_of(self, initiative: str | int) -> int:
        if isinstance(initiative, (int, np.integer)):
            return int(initiative)
        try:
            return self.initiative_ids.index(initiative)
        except ValueError:
            raise KeyError(f"unknown initiative {initiative!r}") from None

    # -- evaluation -----------------------------------------------------------------
    def evaluate(self, portfolios: Sequence[Iterable[str | int]], draws: Draws | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Retained revenue and customers, (P, T) each, for any portfolios on these draws.

        Grouped mode: exact on the grouped statistics. Sampled mode: each customer's churn
        drawn with the same counter-based uniforms as the simulation, so any portfolio is
        comparable with the baseline and the value tables (one more pass over the base).
        """
        idx = [sorted({self.index_of(k) for k in p}) for p in portfolios]
        if self.mode == "sampled" and self.base is not None:
            from cxopt.engine.sampled import evaluate_sampled

            return evaluate_sampled(self.scenario, self.base, self.groups, draws or self.draws, idx)
        return _evaluate(self.scenario, self.groups, draws or self.draws, idx)

    def churn_rate(self, customers_retained: np.ndarray) -> np.ndarray:
        """Share of customers lost over the horizon, per trial."""
        return 1.0 - np.asarray(customers_retained) / self.n_customers

    def interaction(self) -> dict[tuple[int, int], np.ndarray]:
        """Per-trial revenue interaction w_kl = R(kl) - R(k) - R(l) + R() for the interacting pairs."""
        out = {}
        for q, (k, l) in enumerate(self.pairs):
            out[(int(k), int(l))] = (self.pair_revenue[q] - self.single_revenue[k] - self.single_revenue[l]
                                     + self.baseline_revenue)
        return out


# --------------------------------------------------------------------------------------
def _segment_targets(sc: Scenario, groups: GroupStats) -> np.ndarray:
    K, S = len(sc.initiatives), len(groups.segments)
    out = np.zeros((K, max(S, 1)), dtype=np.bool_)
    pos = {s: i for i, s in enumerate(groups.segments)}
    for k, init in enumerate(sc.initiatives):
        if init.segments is None:
            out[k, :] = True
            continue
        for s in init.segments:
            if s not in pos:
                raise ScenarioError(Problem(sc.source, f"initiatives[{k}].segments",
                                            f"segment {s!r} does not occur in the customer base"))
            out[k, pos[s]] = True
    return out


def _driver_masks(sc: Scenario) -> np.ndarray:
    ids = {d: j for j, d in enumerate(sc.driver_ids)}
    out = np.zeros(len(sc.initiatives), dtype=np.uint64)
    for k, init in enumerate(sc.initiatives):
        for d in init.fixes:
            out[k] |= np.uint64(1) << np.uint64(ids[d])
    return out


def affected_groups(sc: Scenario, groups: GroupStats) -> np.ndarray:
    """(K, G) bool: which groups initiative k can change (exposed to one of its drivers, targeted)."""
    dm = _driver_masks(sc)
    tgt = _segment_targets(sc, groups)
    hit = (groups.mask[None, :] & dm[:, None]) != 0
    return hit & tgt[:, groups.segment]


MAX_CLASS_DRIVERS = 12  # above this many touched drivers, the per-group kernel is used


def _evaluate(sc: Scenario, groups: GroupStats, draws: Draws, portfolios: list[list[int]]
              ) -> tuple[np.ndarray, np.ndarray]:
    """Retained revenue and customers (P, T) for each portfolio (lists of initiative indices)."""
    P, T = len(portfolios), draws.trials
    out_rev = np.empty((P, T))
    out_cust = np.empty((P, T))
    if P == 0:
        return out_rev, out_cust
    fixes = [sorted({int(draws.fix_driver[e]) for e in range(draws.fix_ptr[k], draws.fix_ptr[k + 1])})
             for k in range(len(sc.initiatives))]
    touched = [tuple(sorted({j for k in p for j in fixes[k]})) for p in portfolios]
    small = [i for i in range(P) if len(touched[i]) <= MAX_CLASS_DRIVERS]
    large = [i for i in range(P) if len(touched[i]) > MAX_CLASS_DRIVERS]
    common = (groups.segment, groups.mask, groups.customers.astype(np.float64), groups.revenue,
              groups.revenue_churn, groups.churn, len(sc.pain_points), max(len(groups.segments), 1),
              draws.strength, draws.market, draws.fix_ptr, draws.fix_driver, draws.effect,
              _segment_targets(sc, groups), draws.success, draws.golive, sc.horizon_months)
    if small:
        sets = sorted({touched[i] for i in small})
        set_index = {ts: q for q, ts in enumerate(sets)}
        order = sorted(small, key=lambda i: set_index[touched[i]])
        port = _padded([portfolios[i] for i in order])
        port_set = np.array([set_index[touched[i]] for i in order], dtype=np.int64)
        set_ptr = np.zeros(len(sets) + 1, dtype=np.int64)
        set_drivers = np.array([j for ts in sets for j in ts], dtype=np.int64)
        aff_ptr = np.zeros(len(sets) + 1, dtype=np.int64)
        idx_parts, cls_parts = [], []
        for q, ts in enumerate(sets):
            set_ptr[q + 1] = set_ptr[q] + len(ts)
            bits = np.zeros(groups.n_groups, dtype=np.int64)
            for x, j in enumerate(ts):
                bits |= ((groups.mask >> np.uint64(j)) & np.uint64(1)).astype(np.int64) << x
            hit = np.flatnonzero(bits)
            idx_parts.append(hit)
            cls_parts.append((groups.segment[hit].astype(np.int64) << len(ts)) | bits[hit])
            aff_ptr[q + 1] = aff_ptr[q] + hit.size
        aff_idx = np.concatenate(idx_parts).astype(np.int64)
        aff_cls = np.concatenate(cls_parts).astype(np.int64)
        rev, cust = kernels_classes.evaluate_grouped_classes(port, port_set, set_ptr, set_drivers, aff_ptr, aff_idx,
                                                     aff_cls, *common)
        out_rev[order], out_cust[order] = rev, cust
    if large:
        aff = affected_groups(sc, groups)
        ptr = np.zeros(len(large) + 1, dtype=np.int64)
        lists = []
        for q, i in enumerate(large):
            hit = np.flatnonzero(aff[portfolios[i]].any(axis=0))
            lists.append(hit)
            ptr[q + 1] = ptr[q] + hit.size
        rev, cust = kernels.evaluate_grouped(_padded([portfolios[i] for i in large]), ptr,
                                             np.concatenate(lists).astype(np.int64), *common)
        out_rev[large], out_cust[large] = rev, cust
    return out_rev, out_cust


def _padded(portfolios: list[list[int]]) -> np.ndarray:
    kmax = max([len(p) for p in portfolios] + [1])
    port = np.full((len(portfolios), kmax), -1, dtype=np.int32)
    for i, p in enumerate(portfolios):
        port[i, : len(p)] = p
    return port


def interacting_pairs(sc: Scenario, groups: GroupStats) -> np.ndarray:
    """Pairs (k, l), k < l, whose affected groups overlap: only they can interact."""
    aff = affected_groups(sc, groups).astype(np.int64)  # counts, not uint8: 256 shared groups must not wrap to 0
    overlap = aff @ aff.T
    K = overlap.shape[0]
    return np.array([(k, l) for k in range(K) for l in range(k + 1, K) if overlap[k, l] > 0],
                    dtype=np.int64).reshape(-1, 2)


def simulate(
    scenario: Scenario,
    base: CustomerBase | None = None,
    *,
    trials: int | None = None,
    seed: int | None = None,
    mode: str = "grouped",
    pairs: bool = True,
    chunk_size: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    cluster: str | None = None,
) -> Simulation:
    """Simulate the customer base under the scenario's uncertainty.

    Parameters
    ----------
    scenario : Scenario
    base : CustomerBase, optional
        Default: the scenario's own (synthetic ``count`` or ``path``).
    trials, seed : int, optional
        Default: the scenario's ``[scenario] trials`` and ``seed``.
    mode : {"grouped", "sampled"}
    pairs : bool
        Also evaluate every interacting pair (needed by the optimiser).
    chunk_size : int, optional
        Rows per streamed chunk (results do not depend on it).
    progress : callable(stage, done, total), optional
    cluster : str, optional
        Run the passes over the base on Dask: ``"local"``, ``"local:N"`` or a scheduler
        address ``"tcp://HOST:PORT"`` (needs ``pip install cxopt[distributed]``). Results
        are identical to the single-machine path.

    Returns
    -------
    Simulation
    """
    if mode not in MODES:
        raise ScenarioError(Problem("", "mode", f"expected one of {', '.join(MODES)}, got {mode!r}"))
    sc = scenario
    base = base or CustomerBase.from_scenario(sc)
    trials = sc.scenario.trials if trials is None else int(trials)
    seed = sc.scenario.seed if seed is None else int(seed)
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    total = base.n_customers if base.kind == "synthetic" else None
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress("group", done[0], total or 0)

    from cxopt.data.customers import DEFAULT_CHUNK

    client = None
    if cluster is not None:
        from cxopt import distributed

        client = distributed.connect(cluster)
        groups = distributed.group_distributed(sc, base, client, chunk_size=chunk_size or DEFAULT_CHUNK)
    else:
        groups = base.group(chunk_size or DEFAULT_CHUNK, progress=tick)
    seconds["group"] = time.perf_counter() - t0
    check_retention_bounds(sc, groups.max_churn, base.describe())

    t0 = time.perf_counter()
    draws = draw_trials(sc, trials, seed)
    seconds["draw"] = time.perf_counter() - t0

    K = len(sc.initiatives)
    pair_idx = interacting_pairs(sc, groups) if pairs else np.zeros((0, 2), dtype=np.int64)
    portfolios = [[]] + [[k] for k in range(K)] + [list(map(int, p)) for p in pair_idx]
    t0 = time.perf_counter()
    if mode == "grouped":
        rev, cust = _evaluate(sc, groups, draws, portfolios)
    elif client is not None:
        from cxopt import distributed

        rev, cust = distributed.evaluate_sampled_distributed(sc, base, groups, draws, portfolios, client,
                                                             chunk_size=chunk_size)
    else:
        from cxopt.engine.sampled import evaluate_sampled

        rev, cust = evaluate_sampled(sc, base, groups, draws, portfolios, chunk_size=chunk_size)
    seconds["evaluate"] = time.perf_counter() - t0
    if progress:
        progress("evaluate", len(portfolios), len(portfolios))
    return Simulation(
        scenario=sc,
        groups=groups,
        draws=draws,
        mode=mode,
        baseline_revenue=rev[0],
        baseline_customers=cust[0],
        single_revenue=rev[1: K + 1],
        single_customers=cust[1: K + 1],
        pairs=pair_idx,
        pair_revenue=rev[K + 1:],
        pair_customers=cust[K + 1:],
        seconds=seconds,
        base_description=base.describe(),
        base=base if mode == "sampled" else None,
    )
