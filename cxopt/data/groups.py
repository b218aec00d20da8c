"""Group statistics: a customer base reduced to its sufficient statistics per (segment,
exposure mask) (DESIGN.md section 1, "Grouped"), built with the grouping kernels.

:class:`GroupAccumulator` is the growing table of one streaming pass (exact int64 fixed-point
sums: the same bits for any thread count, chunk size or partitioning); :class:`RawGroups`
its exact result keyed by segment *name*, which merges across chunks, partitions and
machines; :class:`GroupStats` the finalised floats the engine reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from cxopt.data.chunk import CustomerChunk
from cxopt.errors import DataError, Problem

__all__ = ["GroupStats", "RawGroups", "GroupAccumulator", "DENSE_KEY_BITS"]


def _kernels():
    """The grouping kernels, imported on first use: a run that reads its groups from the cache never
    imports numba (a third of a second)."""
    from cxopt.kernels import grouping

    return grouping


def _fixed_to_float(whole: np.ndarray, frac: np.ndarray) -> np.ndarray:
    from cxopt.kernels.fixed import fixed_to_float

    return fixed_to_float(whole, frac)

DENSE_KEY_BITS = 12  # up to this many drivers the grouping pass indexes keys directly


@dataclass(frozen=True)
class GroupStats:
    """Sufficient statistics of a base per (segment, exposure mask) group.

    Attributes
    ----------
    segment, mask : group keys (int32 code, uint64 mask), sorted by (segment, mask)
    customers : N_g, number of customers
    revenue : A_g = sum r_i
    revenue_churn : B_g = sum r_i p_i
    churn : C_g = sum p_i
    max_churn : the largest baseline churn in the base
    segments, drivers : names of the segment codes and of the mask bits
    """

    segment: np.ndarray
    mask: np.ndarray
    customers: np.ndarray
    revenue: np.ndarray
    revenue_churn: np.ndarray
    churn: np.ndarray
    max_churn: float
    segments: tuple[str, ...]
    drivers: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        return int(self.segment.shape[0])

    @property
    def n_customers(self) -> int:
        return int(self.customers.sum())

    @property
    def total_revenue(self) -> float:
        return float(self.revenue.sum())

    def exposed(self, j: int) -> np.ndarray:
        """Boolean per group: are its customers exposed to driver ``j``?"""
        return (self.mask >> np.uint64(j)) & np.uint64(1) == 1

    def measured_volume(self) -> dict[str, dict[str, float]]:
        """Share of customers exposed to each driver, overall (``"all"``) and per segment."""
        out: dict[str, dict[str, float]] = {}
        n_seg = np.bincount(self.segment, weights=self.customers, minlength=len(self.segments))
        total = max(self.n_customers, 1)
        for j, d in enumerate(self.drivers):
            e = self.exposed(j)
            per = np.bincount(self.segment[e], weights=self.customers[e], minlength=len(self.segments))
            row = {"all": float(per.sum() / total)}
            for s, name in enumerate(self.segments):
                row[name] = float(per[s] / n_seg[s]) if n_seg[s] else 0.0
            out[d] = row
        return out

    @classmethod
    def from_raw(cls, raw: RawGroups, *, drivers: Sequence[str], segment_order: Sequence[str] | None = None,
                 where: str = "") -> "GroupStats":
        """Finalise exact sums: segment codes in ``segment_order`` (default: by name), groups sorted."""
        names = [str(x) for x in raw.segment]
        order = list(segment_order) if segment_order else sorted(set(names))
        code = {s: i for i, s in enumerate(order)}
        seg = np.array([code[x] for x in names], dtype=np.int32)
        idx = np.lexsort((raw.mask, seg))
        sums = raw.sums[idx]
        if int(sums[:, 0].sum()) == 0:
            raise DataError(Problem(where, "", "the customer base has no rows"))
        return cls(
            segment=np.ascontiguousarray(seg[idx]),
            mask=np.ascontiguousarray(raw.mask[idx]),
            customers=sums[:, 0].astype(np.int64),
            revenue=_fixed_to_float(sums[:, 1], sums[:, 2]),
            revenue_churn=_fixed_to_float(sums[:, 3], sums[:, 4]),
            churn=_fixed_to_float(sums[:, 5], sums[:, 6]),
            max_churn=float(raw.maxp.max()) if raw.maxp.size else 0.0,
            segments=tuple(order),
            drivers=tuple(drivers),
        )

    def segment_shares(self) -> dict[str, float]:
        n_seg = np.bincount(self.segment, weights=self.customers, minlength=len(self.segments))
        total = max(self.n_customers, 1)
        return {name: float(n_seg[s] / total) for s, name in enumerate(self.segments)}


@dataclass(frozen=True)
class RawGroups:
    """Exact group sums before conversion to floats: keys by segment *name*, int64 fixed point.

    Integer sums add exactly, so partial results from chunks, partitions or machines merge
    to the same bits in any order (:meth:`merge`).
    """

    segment: np.ndarray  # (G,) object: segment names
    mask: np.ndarray  # (G,) uint64
    sums: np.ndarray  # (G, 7) int64: n, rev whole/frac, rev*churn whole/frac, churn whole/frac
    maxp: np.ndarray  # (G,) float64

    @property
    def n_customers(self) -> int:
        return int(self.sums[:, 0].sum())

    @staticmethod
    def merge(parts: Sequence["RawGroups"]) -> "RawGroups":
        """Add partial results (exact, order-independent)."""
        acc = GroupAccumulator(64)
        names: dict[str, int] = {}
        for part in parts:
            codes = np.array([names.setdefault(str(x), len(names)) for x in part.segment], dtype=np.int32)
            acc.add_table(codes, part.mask, part.sums, part.maxp)
        return acc.raw(tuple(names))


class GroupAccumulator:
    """The growing hash table of the grouping pass (exact int64 sums)."""

    def __init__(self, n_bits: int):
        self.n_bits = n_bits
        self.seg = np.full(1 << 12, -1, dtype=np.int32)
        self.mask = np.zeros(1 << 12, dtype=np.uint64)
        self.sums = np.zeros((1 << 12, 7), dtype=np.int64)
        self.maxp = np.zeros(1 << 12, dtype=np.float64)
        self._slice_cap = 1 << 12
        self._n_groups = 0

    def add_chunk(self, chunk: CustomerChunk) -> None:
        from numba import get_num_threads

        n_slices = max(1, get_num_threads())
        if self.n_bits <= DENSE_KEY_BITS:  # few drivers: index the (segment, mask) key directly
            t_seg, t_mask, sums, maxp = _dense_tables(chunk, n_slices, self.n_bits)
        else:
            while True:
                t_seg, t_mask, sums, maxp, ok = _kernels().group_chunk(
                    chunk.segment, chunk.mask, chunk.revenue, chunk.baseline_churn, n_slices, self._slice_cap)
                if ok:
                    break
                self._slice_cap *= 4
        self._merge(t_seg, t_mask, sums, maxp)

    def add_table(self, seg, mask, sums, maxp) -> None:
        self._merge(np.asarray(seg, dtype=np.int32)[None, :], np.asarray(mask, dtype=np.uint64)[None, :],
                    np.asarray(sums, dtype=np.int64)[None, :, :], np.asarray(maxp, dtype=np.float64)[None, :])

    def _merge(self, t_seg, t_mask, sums, maxp) -> None:
        needed = self._n_groups + int((t_seg >= 0).sum())
        if 2 * needed > self.seg.shape[0]:  # keep the table at most half full
            self.seg, self.mask, self.sums, self.maxp = _rehash(self.seg, self.mask, self.sums, self.maxp, 4 * needed)
        added = _kernels().merge_groups(self.seg, self.mask, self.sums, self.maxp, t_seg, t_mask, sums, maxp)
        assert added >= 0
        self._n_groups = int((self.seg >= 0).sum())

    def raw(self, segment_names: Sequence[str]) -> RawGroups:
        used = self.seg >= 0
        names = np.array(list(segment_names), dtype=object)
        return RawGroups(segment=names[self.seg[used]] if len(names) else np.zeros(0, dtype=object),
                         mask=self.mask[used].copy(), sums=self.sums[used].copy(), maxp=self.maxp[used].copy())


def _dense_tables(chunk: CustomerChunk, n_slices: int, n_bits: int):
    """Dense per-slice sums turned into the sparse table form :func:`kernels.merge_groups` takes."""
    sums, maxp = _kernels().group_chunk_dense(chunk.segment, chunk.mask, chunk.revenue, chunk.baseline_churn,
                                              n_slices, n_bits)
    keys = np.arange(sums.shape[1], dtype=np.int64)
    t_seg = np.where(sums[:, :, 0] > 0, (keys >> n_bits).astype(np.int32)[None, :], np.int32(-1)).astype(np.int32)
    t_mask = np.broadcast_to((keys & ((1 << n_bits) - 1)).astype(np.uint64), t_seg.shape).copy()
    return t_seg, t_mask, sums, maxp


def _rehash(g_seg, g_mask, g_sums, g_maxp, at_least: int):
    cap = 1 << max(12, int(math.ceil(math.log2(max(at_least, 2)))))
    n_seg = np.full(cap, -1, dtype=np.int32)
    n_mask = np.zeros(cap, dtype=np.uint64)
    n_sums = np.zeros((cap, 7), dtype=np.int64)
    n_maxp = np.zeros(cap, dtype=np.float64)
    used = g_seg >= 0
    added = _kernels().merge_groups(
        n_seg, n_mask, n_sums, n_maxp, g_seg[used][None, :], g_mask[used][None, :], g_sums[used][None, :, :],
        g_maxp[used][None, :]
    )
    assert added >= 0
    return n_seg, n_mask, n_sums, n_maxp
