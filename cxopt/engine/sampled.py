"""The per-customer sampled evaluation (DESIGN.md section 1, "Per-customer, sampled").

Every customer's churn is drawn in every trial, so the per-trial values carry the
aleatoric noise of who actually leaves — large when a few accounts hold the revenue —
on top of the epistemic uncertainty the trials already carry. The mean over customers'
draws is the grouped value.

How (decisions):

* Coefficients, not customers, carry the model: customer ``i`` of group ``g`` (segment,
  exposure mask) is retained over the horizon with probability ``a_g - b_g p_i``
  (``rho`` is linear in ``p_i``), with ``a_g, b_g`` per (trial, portfolio) from the same
  epoch construction as the grouped path. A block of trials' table is built once
  (:func:`kernels_sampled.retention_coefficients`), then the customers are streamed
  through the sampling kernel. Blocks are sized so the table stays within
  ``COEF_BUDGET_BYTES`` (portfolios are blocked too when one trial alone would not fit).
* Customer ``i`` is retained in trial ``t`` iff ``u_it < a - b p_i``; ``u_it`` is a
  counter-based uniform of (sampling key, customer id, trial), identical for every
  portfolio (common random numbers: a portfolio's gain over the baseline is not
  swamped by independent noise). The key is the draws' seed mixed with
  ``SAMPLING_STREAM``, so it differs from every other use of the seed.
* Sums are integers (revenue in fixed point, two int64 limbs; customers as counts), so
  results are identical whatever the thread count, the chunk size or the order of
  customers — which lets each chunk be sorted by group for cache locality.
* A base of at most ``IN_MEMORY_ROWS`` rows is read once and kept (about 40 bytes a
  customer) when there is more than one block to run; a larger one is re-streamed per
  block.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from numba import get_num_threads

from cxopt.kernels import sampled as kernels_sampled
from cxopt.data.customers import DEFAULT_CHUNK, CustomerBase, CustomerChunk, GroupStats
from cxopt.engine.draws import Draws
from cxopt.engine.arrays import affected_lists, portfolio_table, segment_targets
from cxopt.kernels.fixed import fixed_to_float, split_revenue
from cxopt.model.scenario import Scenario
from cxopt.errors import DataError, Problem

__all__ = ["evaluate_sampled", "sampled_partials", "sampling_key", "SAMPLING_STREAM"]

SAMPLING_STREAM = 0x5C0FFEE5A3D1E501  # mixed into the seed: the customers' churn stream
COEF_BUDGET_BYTES = 256 * 2**20  # coefficient table (a and b) of one block
PARTIAL_BUDGET_BYTES = 64 * 2**20  # per-slice integer partials of one block
IN_MEMORY_ROWS = 5_000_000

_M64 = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    """The same mixer as ``kernels.splitmix64``, in Python integers (for the key only)."""
    z = (x + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def sampling_key(seed: int) -> np.uint64:
    """The key of the customers' churn uniforms for a given seed."""
    return np.uint64(_splitmix64((int(seed) & _M64) ^ SAMPLING_STREAM))


# --------------------------------------------------------------------------------------
# customers -> plain arrays the kernel takes
# --------------------------------------------------------------------------------------
class _Prepared:
    """One chunk ready for the sampling kernel: sorted by group, revenue in fixed point."""

    __slots__ = ("customer_id", "churn", "group", "rev_whole", "rev_frac")

    def __init__(self, chunk: CustomerChunk, groups: GroupStats, where: str):
        group = group_index(groups, chunk.segment, chunk.mask, where)
        order = np.argsort(group, kind="stable")
        self.group = np.ascontiguousarray(group[order])
        self.customer_id = np.ascontiguousarray(chunk.customer_id[order], dtype=np.int64)
        self.churn = np.ascontiguousarray(chunk.baseline_churn[order], dtype=np.float64)
        revenue = np.ascontiguousarray(chunk.revenue[order], dtype=np.float64)
        self.rev_whole, self.rev_frac = split_revenue(revenue)

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])


def group_index(groups: GroupStats, segment: np.ndarray, mask: np.ndarray, where: str = "") -> np.ndarray:
    """Index into ``groups`` (sorted by (segment, mask)) of each customer's group."""
    segment = np.asarray(segment)
    mask = np.asarray(mask, dtype=np.uint64)
    out = np.empty(segment.shape[0], dtype=np.int64)
    if segment.shape[0] == 0:
        return out
    n_codes = int(max(segment.max(), groups.segment.max() if groups.n_groups else 0)) + 1
    bounds = np.searchsorted(groups.segment, np.arange(n_codes + 1))
    codes = np.unique(segment)
    for s in codes:
        sel = slice(None) if codes.shape[0] == 1 else segment == s
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        keys = mask[sel]
        pos = lo + np.searchsorted(groups.mask[lo:hi], keys)
        found = pos < hi
        found[found] = groups.mask[pos[found]] == keys[found]
        if not found.all():
            raise DataError(Problem(where, "", "a customer's (segment, exposure) group is missing from the "
                                        "grouped statistics: the base changed after it was grouped"))
        out[sel] = pos
    return out


def block_sizes(P: int, T: int, G: int, n_slices: int) -> tuple[int, int]:
    """(portfolios, trials) per block: the coefficient table and the partials within budget."""
    per_cell = 17 * max(G, 1)  # a and b (float64) and the changed flag, per (trial, portfolio)
    cells = max(1, min(COEF_BUDGET_BYTES // per_cell, PARTIAL_BUDGET_BYTES // (24 * max(n_slices, 1))))
    pb = max(1, min(P, cells))
    tb = max(1, min(T, cells // pb))
    # even blocks: the same work for each
    n_tb = -(-T // tb)
    tb = -(-T // n_tb)
    n_pb = -(-P // pb)
    pb = -(-P // n_pb)
    return pb, tb


# --------------------------------------------------------------------------------------
def evaluate_sampled(sc: Scenario, base: CustomerBase, groups: GroupStats, draws: Draws,
                     portfolios: Sequence[Sequence[int]], chunk_size: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Retained revenue and customers, (P, T) each, with every customer's churn drawn.

    Parameters
    ----------
    sc : Scenario
    base : CustomerBase, the base ``groups`` was built from
    groups : GroupStats of ``base``
    draws : Draws (its ``seed`` keys the customers' churn uniforms)
    portfolios : lists of initiative indices (``[]``: the baseline)
    chunk_size : rows per streamed chunk (results do not depend on it)

    Returns
    -------
    revenue, customers : (P, T) float64
    """
    chunk_size = int(chunk_size or DEFAULT_CHUNK)
    whole, frac, count = sampled_partials(
        sc, groups, draws, portfolios, lambda: base.iter_chunks(chunk_size),
        n_rows=base.n_customers, where=base.describe(),
    )
    return fixed_to_float(whole, frac), count.astype(np.float64)


def sampled_partials(sc: Scenario, groups: GroupStats, draws: Draws, portfolios: Sequence[Sequence[int]],
                     chunks: Callable[[], Iterable[CustomerChunk]], *, trials: tuple[int, int] | None = None,
                     n_rows: int | None = None, where: str = ""
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact integer sums of :func:`evaluate_sampled` over some customers and some trials.

    For splitting the sampled pass across machines (:mod:`cxopt.distributed`): each part of
    the base and range of trials gives its partial sums, and because they are integers,
    adding the parts in any order gives the same bits as one pass over the whole base.
    The uniforms are keyed on the global trial index, so a range of trials draws exactly
    what the whole run draws for those trials.

    Parameters
    ----------
    sc, groups, draws, portfolios : as for :func:`evaluate_sampled` (``groups`` of the *whole* base)
    chunks : called once per block of (trials, portfolios); each call yields the same customers
    trials : ``(lo, hi)``, only trials ``lo..hi-1`` (default: all)
    n_rows : number of customers ``chunks`` yields, if known: up to ``IN_MEMORY_ROWS`` they are
        read once and kept when there is more than one block
    where : the part's name, for messages

    Returns
    -------
    whole, frac, count : (P, hi - lo) int64 — retained revenue in fixed point (two limbs,
        combine with ``kernels.fixed_to_float``) and retained customers
    """
    lo, hi = (0, draws.trials) if trials is None else (int(trials[0]), int(trials[1]))
    P, T, G = len(portfolios), hi - lo, groups.n_groups
    port = portfolio_table(portfolios)
    aff_ptr, aff_idx = affected_lists(sc, groups, portfolios)
    seg_target = segment_targets(sc, groups)
    key = sampling_key(draws.seed)
    n_slices = max(1, 2 * get_num_threads())
    pb, tb = block_sizes(P, max(T, 1), G, n_slices)
    n_blocks = -(-T // tb) * -(-P // pb)

    cached: list[_Prepared] | None = None
    if n_blocks > 1 and n_rows is not None and n_rows <= IN_MEMORY_ROWS:
        cached = [_Prepared(c, groups, where) for c in chunks()]

    def prepared() -> Iterator[_Prepared]:
        if cached is not None:
            yield from cached
        else:
            for c in chunks():
                yield _Prepared(c, groups, where)

    tot_w = np.zeros((P, T), dtype=np.int64)
    tot_f = np.zeros((P, T), dtype=np.int64)
    tot_n = np.zeros((P, T), dtype=np.int64)
    for t0 in range(lo, hi, tb):
        t1 = min(hi, t0 + tb)
        for p0 in range(0, P, pb):
            p1 = min(P, p0 + pb)
            coef_a, coef_b, changed, base_a, base_b = kernels_sampled.retention_coefficients(
                t0, t1, p0, p1, port, aff_ptr, aff_idx, groups.segment, groups.mask, len(sc.pain_points),
                draws.strength, draws.market, draws.fix_ptr, draws.fix_driver, draws.effect, seg_target,
                draws.success, draws.golive, sc.horizon_months,
            )
            for ch in prepared():
                if len(ch) == 0:
                    continue
                w, f, n = kernels_sampled.sample_retained(
                    key, t0, ch.customer_id, ch.churn, ch.group, ch.rev_whole, ch.rev_frac,
                    coef_a, coef_b, changed, base_a, base_b, n_slices,
                )
                tot_w[p0:p1, t0 - lo:t1 - lo] += w.T
                tot_f[p0:p1, t0 - lo:t1 - lo] += f.T
                tot_n[p0:p1, t0 - lo:t1 - lo] += n.T
    return tot_w, tot_f, tot_n
