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

A re-run reads what it computed before: with a :class:`~cxopt.engine.store.TableStore` (grouped
mode; by default for a file base whose group cache is on), every table and every portfolio
valued exactly is kept under the hash of exactly its inputs (:mod:`cxopt.engine.fingerprint`),
so an unchanged run computes nothing again and an edited initiative recomputes only the tables
it is in. The values are the same bits with the store or without it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from cxopt.data.customers import CustomerBase, GroupStats
from cxopt.engine.arrays import affected_groups, interacting_pairs, segment_targets  # noqa: F401  (re-exported)
from cxopt.engine.draws import Draws, check_retention_bounds, draw_trials
from cxopt.engine.executor import Executor, LocalExecutor
from cxopt.engine.fingerprint import TableKeys, table_keys
from cxopt.engine.grouped import evaluate_grouped, evaluate_pairs
from cxopt.engine.store import TableStore, default_store
from cxopt.engine.summary import summarise
from cxopt.errors import ArgumentError
from cxopt.model.scenario import Scenario

__all__ = ["Simulation", "simulate", "summarise", "MODES"]

MODES = ("grouped", "sampled")


MEMO_PORTFOLIOS = 256  # portfolios whose per-trial values Simulation.evaluate keeps


@dataclass(frozen=True)
class Simulation:
    """Per-trial value tables for one scenario, one base and one set of draws.

    Attributes
    ----------
    baseline_revenue, baseline_customers : (T,) retained with no initiative
    single_revenue, single_customers : (K, T) retained with initiative k alone
    pairs : (n_pairs, 2) indices of interacting initiative pairs (share a customer group)
    pair_revenue, pair_customers : (n_pairs, T); grouped mode: R(k) + R(l) - R() + w_kl with w_kl
        summed over the groups both act on (:func:`cxopt.engine.grouped.evaluate_pairs`), equal to
        :meth:`evaluate` of the pair to rounding (about 1e-15 of the revenue)
    store : TableStore or None
        Where :func:`simulate` read and wrote the tables, and where :meth:`evaluate` reads and writes
        every portfolio it values on these draws (None: nothing kept between runs)
    keys : TableKeys or None
        The digests of this simulation's inputs the store's keys are made of
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
    # portfolio -> (revenue, customers) on these draws; not an init field, so replace() starts afresh
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    # arrays derived from the tables once and read by every program built on them (e.g. the optimiser's
    # interactions: cxopt.portfolio.model.ValueTables); read-only, like the tables
    derived: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    # where exact values are kept between runs (grouped mode), and the keys of this simulation's inputs:
    # set by simulate(); not init fields, so a replace() with other draws or groups cannot file its
    # values under these keys
    store: TableStore | None = field(default=None, init=False, repr=False, compare=False)
    keys: TableKeys | None = field(default=None, init=False, repr=False, compare=False)

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
    def evaluate(self, portfolios: Sequence[Iterable[str | int]], draws: Draws | None = None, *,
                 nested: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Retained revenue and customers, (P, T) each, for any portfolios on these draws.

        Grouped mode: exact on the grouped statistics. Sampled mode: each customer's churn
        drawn with the same counter-based uniforms as the simulation, so any portfolio is
        comparable with the baseline and the value tables (one more pass over the base).

        ``nested``: the portfolios are subsets of one portfolio (a plan's contributions); those not
        kept already are valued together from the class sums of their drivers' union
        (:func:`cxopt.engine.grouped.evaluate_grouped`), equal to rounding, and not kept (what is
        kept stays the same bits whichever batch asked first).
        """
        idx = [sorted({self.index_of(k) for k in p}) for p in portfolios]
        if draws is not None and draws is not self.draws:
            return self._evaluate(idx, draws)
        # on the simulation's own draws the same portfolio gives the same numbers: the search, the
        # plan's contributions and its binding study ask for many of them again, so the last
        # MEMO_PORTFOLIOS are kept (bounded memory)
        keys = [tuple(p) for p in idx]
        todo = [list(k) for k in dict.fromkeys(keys) if k not in self._memo]
        fresh: dict = {}
        if todo:
            rev, cust = self._stored_evaluate(todo, nested)
            for i, p in enumerate(todo):
                (fresh if nested else self._memo)[tuple(p)] = (rev[i], cust[i])
        out = [fresh[k] if k in fresh else self._memo[k] for k in keys]
        while len(self._memo) > max(MEMO_PORTFOLIOS, len(set(keys))):
            self._memo.pop(next(iter(self._memo)))
        T = self.trials
        return (np.array([r for r, _ in out]).reshape(len(keys), T),
                np.array([c for _, c in out]).reshape(len(keys), T))

    def remember(self, portfolios: Sequence[Iterable[int]], revenue: np.ndarray, customers: np.ndarray) -> None:
        """Keep per-trial values already computed on these draws (rows of ``revenue``, ``customers``)
        for :meth:`evaluate`: ``simulate`` hands it the baseline and the singles it has just valued
        with the same function, so asking for them again costs nothing and gives the same bits."""
        for i, p in enumerate(portfolios):
            self._memo[tuple(sorted({self.index_of(k) for k in p}))] = (revenue[i], customers[i])

    def stored(self, kind: str, inputs: Sequence[np.ndarray],
               compute: Callable[[], Sequence[np.ndarray]]) -> tuple[np.ndarray, ...]:
        """``compute()``'s arrays (all of one shape and float64), read from the store when a run before
        computed them from the same shared inputs (the grouped statistics and the trials' shared draws)
        and the same ``inputs``, else computed and stored. ``kind`` names the computation: the caller
        promises that ``compute`` reads nothing but those (and the code, which is in the key)."""
        if self.store is None or self.keys is None:
            return tuple(compute())
        return tuple(self.store.get_or_compute(self.keys.call(kind, inputs), lambda: np.stack(compute())))

    def _stored_evaluate(self, todo: list[list[int]], nested: bool) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_evaluate` on the simulation's draws, through the store when there is one: each
        portfolio under its own key, or a nested batch under the batch's (its bits depend on it)."""
        if self.store is None or self.keys is None:
            return self._evaluate(todo, self.draws, nested=nested)
        if nested:
            both = self.store.get_or_compute(self.keys.batch(todo),
                                             lambda: np.stack(self._evaluate(todo, self.draws, nested=True)),
                                             (2, len(todo), self.trials))
            return both[0], both[1]
        return read_through(self.store, [self.keys.portfolio(p) for p in todo], len(todo), self.trials,
                            lambda miss: self._evaluate([todo[i] for i in miss], self.draws))

    def _evaluate(self, idx: list[list[int]], draws: Draws, nested: bool = False) -> tuple[np.ndarray, np.ndarray]:
        if self.mode == "sampled" and self.base is not None:
            from cxopt.engine.sampled import evaluate_sampled

            return evaluate_sampled(self.scenario, self.base, self.groups, draws, idx)
        return evaluate_grouped(self.scenario, self.groups, draws, idx, nested=nested)

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
    executor: Executor | None = None,
    store: TableStore | None | str = "auto",
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
    executor : Executor, optional
        Where the passes over the base run (default :class:`LocalExecutor`: this process).
        ``cxopt.distributed.DaskExecutor("local:2")`` runs them on Dask (``pip install
        cxopt[distributed]``) with identical results.
    store : TableStore, None or "auto"
        Where the tables and every portfolio valued exactly are kept between runs (grouped mode;
        the same bits as without). ``"auto"`` (default): the user's store
        (:func:`cxopt.engine.store.default_store`) for a file base whose group cache is on
        (``CustomerBase.use_cache``, ``--no-cache``), none otherwise.

    Returns
    -------
    Simulation
    """
    if mode not in MODES:
        raise ArgumentError("mode", f"expected one of {', '.join(MODES)}, got {mode!r}")
    sc = scenario
    base = base or CustomerBase.from_scenario(sc)
    trials = sc.scenario.trials if trials is None else int(trials)
    seed = sc.scenario.seed if seed is None else int(seed)
    seconds: dict[str, float] = {}

    if isinstance(store, str):
        if store != "auto":
            raise ArgumentError("store", f"expected a TableStore, None or 'auto', got {store!r}")
        store = default_store() if base.kind == "file" and base.use_cache else None
    if mode != "grouped":
        store = None
    executor = executor or LocalExecutor()
    t0 = time.perf_counter()
    groups = executor.group(sc, base, chunk_size, progress)
    seconds["group"] = time.perf_counter() - t0
    check_retention_bounds(sc, groups.max_churn, base.describe())

    t0 = time.perf_counter()
    draws = draw_trials(sc, trials, seed, None if store is None else store.inverse_cdf)
    seconds["draw"] = time.perf_counter() - t0

    K = len(sc.initiatives)
    pair_idx = interacting_pairs(sc, groups) if pairs else np.zeros((0, 2), dtype=np.int64)
    t0 = time.perf_counter()
    keys = None
    if mode == "grouped":  # the pairs from the baseline, the singles and their interaction
        portfolios = [[]] + [[k] for k in range(K)]
        if store is not None:
            keys = table_keys(groups, draws, segment_targets(sc, groups), len(sc.pain_points),
                              max(len(groups.segments), 1), sc.horizon_months)
        rev, cust = read_through(store, None if keys is None else [keys.portfolio(p) for p in portfolios],
                                 len(portfolios), trials,
                                 lambda miss: evaluate_grouped(sc, groups, draws, [portfolios[i] for i in miss]))
        rev0, cust0 = (rev[0], cust[0]), (rev[1:], cust[1:])
        pair_rev, pair_cust = read_through(
            store, None if keys is None else [keys.pair(k, l) for k, l in pair_idx], len(pair_idx), trials,
            lambda miss: evaluate_pairs(sc, groups, draws, pair_idx[miss], rev0, cust0))
    else:
        portfolios = [[]] + [[k] for k in range(K)] + [list(map(int, p)) for p in pair_idx]
        rev, cust = executor.evaluate_sampled(sc, base, groups, draws, portfolios, chunk_size=chunk_size)
        pair_rev, pair_cust = rev[K + 1:], cust[K + 1:]
    seconds["evaluate"] = time.perf_counter() - t0
    if progress:
        n = 1 + K + len(pair_idx)
        progress("evaluate", n, n)
    sim = Simulation(
        scenario=sc,
        groups=groups,
        draws=draws,
        mode=mode,
        baseline_revenue=rev[0],
        baseline_customers=cust[0],
        single_revenue=rev[1: K + 1],
        single_customers=cust[1: K + 1],
        pairs=pair_idx,
        pair_revenue=pair_rev,
        pair_customers=pair_cust,
        seconds=seconds,
        base_description=base.describe(),
        base=base if mode == "sampled" else None,
    )
    object.__setattr__(sim, "store", store)
    object.__setattr__(sim, "keys", keys)
    if mode == "grouped":  # evaluate() of the baseline and the singles: these very numbers (no second pass)
        sim.remember([[]] + [[k] for k in range(K)], rev, cust)
    if store is not None:
        store.prune()
    return sim


def read_through(store: TableStore | None, keys: Sequence[str] | None, n: int, trials: int,
                 compute: Callable[[list[int]], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-trial (revenue, customers), (n, trials) each, of n tables: those ``store`` holds under their
    ``keys`` read, the others computed in one call ``compute(missing indices)`` and stored.

    Without a store (``store`` or ``keys`` None) it is ``compute(list(range(n)))``.
    """
    if store is None or keys is None:
        return compute(list(range(n)))
    rev, cust = np.empty((n, trials)), np.empty((n, trials))
    missing = []
    for i, got in enumerate(store.get_many(keys)):
        if got is not None and got.shape == (2, trials) and got.dtype == np.float64:
            rev[i], cust[i] = got
        else:
            missing.append(i)
    if missing:
        r, c = compute(missing)
        rev[missing], cust[missing] = r, c
        store.put_many((keys[i], np.stack([r[q], c[q]])) for q, i in enumerate(missing))
    return rev, cust
