"""Synthetic customers, generated from the scenario and a seed.

Customer ``i``'s attributes depend only on ``(seed, i)``: customers are made in fixed blocks
of ``SYNTHETIC_BLOCK`` rows, block ``b`` from its own random stream
``SeedSequence([seed, b])``, so chunk size, partitioning and thread count never change a
customer.

Exposure: a one-factor Gaussian copula. Customer ``i`` draws ``w_i`` and, per driver,
``eps_ij`` (standard normals); ``z_ij = sqrt(rho) w_i + sqrt(1 - rho) eps_ij`` and the
customer meets driver ``j`` when ``z_ij < Phi^-1(v_j,s)``, so each driver's volume is exact
in expectation and any two exposures' latent correlation is ``rho``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from scipy.special import ndtri

from cxopt.data.chunk import CustomerChunk
from cxopt.model.scenario import Scenario

__all__ = ["SYNTHETIC_BLOCK", "SyntheticSpec", "driver_volume", "synthetic_chunks", "synthetic_rows"]

SYNTHETIC_BLOCK = 1 << 16


@dataclass(frozen=True)
class SyntheticSpec:
    """What the generator needs from a scenario, prepared once: segment shares and revenue
    multipliers, distributions, each driver's latent threshold per segment, the copula's rho."""

    cum_share: np.ndarray  # (S,)
    revenue_mult: np.ndarray  # (S,)
    revenue: object
    churn: tuple  # per segment Distribution
    thresholds: np.ndarray  # (D, S) latent thresholds Phi^-1(volume)
    rho: float

    @classmethod
    def from_scenario(cls, sc: Scenario) -> "SyntheticSpec":
        segs = sc.customers.segments
        seg_ids = sc.segment_ids or ["all"]
        if segs:
            shares = np.array([s.share for s in segs], dtype=np.float64)
            mult = np.array([s.revenue_multiplier for s in segs], dtype=np.float64)
            churn = tuple(s.baseline_churn or sc.customers.baseline_churn for s in segs)
        else:
            shares, mult, churn = np.ones(1), np.ones(1), (sc.customers.baseline_churn,)
        cum = np.cumsum(shares)
        cum[-1] = 1.0
        vol = np.zeros((len(sc.drivers), len(seg_ids)))
        for j, d in enumerate(sc.drivers):
            for s, name in enumerate(seg_ids):
                vol[j, s] = driver_volume(sc, d, name)
        with np.errstate(divide="ignore"):
            thresholds = ndtri(vol)  # -inf for 0, +inf for 1
        return cls(cum, mult, sc.customers.revenue, churn, thresholds, float(sc.customers.exposure_correlation))

    def block(self, seed: int, b: int, n_total: int):
        """Block ``b``'s customers as (id, revenue, churn, segment, mask), cut at ``n_total``."""
        lo = b * SYNTHETIC_BLOCK
        keep = min(SYNTHETIC_BLOCK, n_total - lo)
        # always a whole block, then cut: a customer must not depend on the size of the base
        n = SYNTHETIC_BLOCK
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, b])))
        customer_id = np.arange(lo, lo + n, dtype=np.int64)
        segment = np.searchsorted(self.cum_share, rng.random(n), side="right").astype(np.int32)
        np.minimum(segment, len(self.cum_share) - 1, out=segment)
        revenue = self.revenue.draw(rng, n) * self.revenue_mult[segment]
        churn = np.empty(n)
        for s, dist in enumerate(self.churn):
            sel = segment == s
            churn[sel] = dist.draw(rng, int(sel.sum()))
        d = self.thresholds.shape[0]
        mask = np.zeros(n, dtype=np.uint64)
        if d:
            common = rng.standard_normal(n) * math.sqrt(self.rho)
            own = rng.standard_normal((d, n))
            own *= math.sqrt(1.0 - self.rho)
            own += common
            limit = self.thresholds[:, segment]  # (D, n)
            exposed = own < limit
            for j in range(d):
                mask |= exposed[j].astype(np.uint64) << np.uint64(j)
        if keep < n:
            return customer_id[:keep], revenue[:keep], churn[:keep], segment[:keep], mask[:keep]
        return customer_id, revenue, churn, segment, mask


def driver_volume(sc: Scenario, driver, segment: str) -> float:
    """The planned share of a segment's customers exposed to a driver (volume or reach)."""
    value = getattr(driver, "volume", None) if hasattr(driver, "severity") else driver.reach
    if value is None:  # complaints / complaint_rate
        return float(driver.complaints / driver.complaint_rate / sc.customers.count)
    if isinstance(value, dict):
        return float(value[segment])
    return float(value)


def synthetic_chunks(spec: SyntheticSpec, seed: int, n: int, chunk_size: int) -> Iterator[CustomerChunk]:
    """All ``n`` customers in chunks of whole blocks (about ``chunk_size`` rows, at least one block)."""
    blocks_per_chunk = max(1, chunk_size // SYNTHETIC_BLOCK)
    n_blocks = (n + SYNTHETIC_BLOCK - 1) // SYNTHETIC_BLOCK
    for b0 in range(0, n_blocks, blocks_per_chunk):
        parts = [spec.block(seed, b, n) for b in range(b0, min(n_blocks, b0 + blocks_per_chunk))]
        yield CustomerChunk(*(np.concatenate([p[k] for p in parts]) for k in range(5)))


def synthetic_rows(spec: SyntheticSpec, seed: int, n: int, start: int, stop: int) -> CustomerChunk:
    """Customers ``start..stop-1`` of a synthetic base of ``n`` (any range: for partitions)."""
    b0, b1 = start // SYNTHETIC_BLOCK, (stop - 1) // SYNTHETIC_BLOCK + 1
    parts = [spec.block(seed, b, n) for b in range(b0, b1)]
    arrays = [np.concatenate([p[k] for p in parts]) for k in range(5)]
    off = start - b0 * SYNTHETIC_BLOCK
    return CustomerChunk(*(a[off: off + stop - start] for a in arrays))
