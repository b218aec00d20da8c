"""Straightforward NumPy reference implementations, for the benchmarks' speed ratios.

:func:`sampled_reference` is the per-customer sampled evaluation (DESIGN.md section 1,
"Per-customer, sampled") written the obvious way: for each trial, vectorised over the
customers, each portfolio's horizon retention is built epoch by epoch from the
per-customer products over drivers

    rho_i = (1 - m_t p_i prod_{d in e_i} (1 - lambda_d F_d)) * prod_{j in e_i, pain} (1 - sigma_j (1 - F_j))

and every customer is kept when a uniform falls below it. It shares no code with the
numba path (only the scenario's segment targeting and the draws).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cxopt.customers import CustomerBase, CustomerChunk

__all__ = ["load_customers", "counter_uniforms", "sampled_reference"]

_U53 = 1.0 / 9007199254740992.0


def load_customers(base: CustomerBase, chunk_size: int | None = None) -> CustomerChunk:
    """The whole base as one chunk (the reference holds every customer in memory)."""
    parts = list(base.iter_chunks(chunk_size) if chunk_size else base.iter_chunks())
    return CustomerChunk(*(np.concatenate([getattr(p, name) for p in parts])
                           for name in ("customer_id", "revenue", "baseline_churn", "segment", "mask")))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def counter_uniforms(key: int, customer_id: np.ndarray, trial: int) -> np.ndarray:
    """The counter-based uniforms of ``cxopt.kernels.counter_uniform``, vectorised in NumPy."""
    cid = np.asarray(customer_id, dtype=np.int64).astype(np.uint64)
    ht = _splitmix64(np.array([trial], dtype=np.uint64))[0]
    with np.errstate(over="ignore"):
        h = _splitmix64(np.uint64(key) ^ _splitmix64(cid + ht))
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * _U53


def sampled_reference(customers: CustomerChunk, seg_target: np.ndarray, n_pains: int, draws,
                      portfolios: Sequence[Sequence[int]], horizon: int, *,
                      rng: np.random.Generator | None = None, key: int | None = None,
                      trials: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Retained revenue and customers, (P, T) each, with every customer's churn drawn.

    Parameters
    ----------
    customers : every customer (:func:`load_customers`)
    seg_target : (K, S) bool, initiative k acts on segment s (``cxopt.engine._segment_targets``)
    n_pains : number of pain points (the first drivers; the rest are delighters)
    draws : ``cxopt.draws.Draws``
    portfolios : lists of initiative indices (``[]``: the baseline)
    horizon : H months
    rng : NumPy generator of the customers' uniforms (default: seeded 0)
    key : if given, use the engine's counter-based uniforms with this key instead of
        ``rng`` (same uniforms as the numba path: results then match it customer by customer)
    trials : evaluate only the first ``trials`` trials (timing on a subset)
    """
    rng = rng or np.random.default_rng(0)
    T = draws.trials if trials is None else min(int(trials), draws.trials)
    P = len(portfolios)
    r = customers.revenue
    p = customers.baseline_churn
    seg = customers.segment
    n = r.shape[0]
    n_seg = seg_target.shape[1]
    D = draws.strength.shape[1]
    exposed = [((customers.mask >> np.uint64(j)) & np.uint64(1)).astype(bool) for j in range(D)]
    fixes = [[(int(draws.fix_driver[e]), e) for e in range(draws.fix_ptr[k], draws.fix_ptr[k + 1])]
             for k in range(len(draws.fix_ptr) - 1)]

    rev = np.zeros((P, T))
    cust = np.zeros((P, T))
    for t in range(T):
        u = counter_uniforms(key, customers.customer_id, t) if key is not None else rng.random(n)
        m_t = draws.market[t]

        def rho(live: list[int]) -> np.ndarray:
            pain = np.ones(n)
            delight = np.ones(n)
            for j in range(D):
                # 1 - F per segment: product over live initiatives fixing j, targeting s
                not_f = np.ones(n_seg)
                for k in live:
                    for driver, e in fixes[k]:
                        if driver == j:
                            not_f[seg_target[k]] *= 1.0 - draws.effect[t, e]
                F = 1.0 - not_f[seg]
                s_j = draws.strength[t, j]
                if j < n_pains:
                    pain *= np.where(exposed[j], 1.0 - s_j * (1.0 - F), 1.0)
                else:
                    delight *= np.where(exposed[j], 1.0 - s_j * F, 1.0)
            return (1.0 - m_t * p * delight) * pain

        base_rho = rho([])
        for q, members in enumerate(portfolios):
            delivered = [k for k in members if draws.success[t, k] and draws.golive[t, k] < horizon]
            if not delivered:
                retention = base_rho
            else:
                months = sorted({int(draws.golive[t, k]) for k in delivered})
                retention = months[0] * base_rho
                for x, start in enumerate(months):
                    stop = months[x + 1] if x + 1 < len(months) else horizon
                    live = [k for k in delivered if draws.golive[t, k] <= start]
                    retention = retention + (stop - start) * rho(live)
                retention = retention / horizon
            kept = u < retention
            rev[q, t] = r[kept].sum()
            cust[q, t] = kept.sum()
    return rev, cust
