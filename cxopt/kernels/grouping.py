"""The grouping pass: customers reduced to per-(segment, exposure mask) sums N, sum r,
sum r p, sum p (fixed point) and the largest baseline churn, in one streaming pass.

Two forms: an open-addressing hash table per slice (any number of drivers) and direct
indexing of a small key space (few drivers); the caller merges slices in a fixed order.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cxopt.kernels.config import JIT
from cxopt.kernels.fixed import fx_split
from cxopt.kernels.random import splitmix64


@njit(inline="always", **JIT)
def home_slot(seg, mask, cap_mask):
    """Home slot of (seg, mask) in a table of ``cap_mask + 1`` slots."""
    h = splitmix64(mask ^ (np.uint64(seg) << np.uint64(56)) ^ np.uint64(seg))
    return np.int64(h & np.uint64(cap_mask))


@njit(**JIT)
def insert(t_mask, t_seg, seg, mask, cap_mask):
    """Slot of (seg, mask) in an open-addressing table, inserting it if absent; -1 if full."""
    s = home_slot(seg, mask, cap_mask)
    for _ in range(cap_mask + 1):
        if t_seg[s] == -1:
            t_seg[s] = seg
            t_mask[s] = mask
            return s
        if t_seg[s] == seg and t_mask[s] == mask:
            return s
        s = (s + 1) & cap_mask
    return -1


@njit(parallel=True, **JIT)
def group_chunk(segment, mask, revenue, churn, n_slices, capacity):
    """Reduce one chunk of customers to per-(segment, mask) fixed-point sums.

    Each of ``n_slices`` contiguous slices fills its own hash table (``capacity`` slots,
    a power of two); the caller merges the slices. Returns ``ok`` False when a table
    filled up (retry with a larger capacity).

    Returns
    -------
    t_seg, t_mask : (n_slices, capacity) table keys (t_seg == -1: empty slot)
    sums : (n_slices, capacity, 7) int64: n, rev_whole, rev_frac, rp_whole, rp_frac, p_whole, p_frac
    maxp : (n_slices, capacity) float64, the largest baseline churn in the group
    ok : bool
    """
    n = segment.shape[0]
    cap_mask = capacity - 1
    t_seg = np.full((n_slices, capacity), -1, dtype=np.int32)
    t_mask = np.zeros((n_slices, capacity), dtype=np.uint64)
    sums = np.zeros((n_slices, capacity, 7), dtype=np.int64)
    maxp = np.zeros((n_slices, capacity), dtype=np.float64)
    full = np.zeros(n_slices, dtype=np.bool_)
    step = (n + n_slices - 1) // n_slices
    for s in prange(n_slices):
        lo = s * step
        hi = min(n, lo + step)
        ts = t_seg[s]
        tm = t_mask[s]
        acc = sums[s]
        mp = maxp[s]
        # cache the last key: exposure masks repeat a lot in real bases
        last_seg = np.int32(-2)
        last_mask = np.uint64(0)
        slot = -1
        for i in range(lo, hi):
            sg = segment[i]
            mk = mask[i]
            if sg != last_seg or mk != last_mask:
                slot = insert(tm, ts, sg, mk, cap_mask)
                if slot < 0:
                    full[s] = True
                    break
                last_seg = sg
                last_mask = mk
            r = revenue[i]
            p = churn[i]
            w, f = fx_split(r)
            acc[slot, 0] += 1
            acc[slot, 1] += w
            acc[slot, 2] += f
            w, f = fx_split(r * p)
            acc[slot, 3] += w
            acc[slot, 4] += f
            w, f = fx_split(p)
            acc[slot, 5] += w
            acc[slot, 6] += f
            if p > mp[slot]:
                mp[slot] = p
    return t_seg, t_mask, sums, maxp, not full.any()


@njit(parallel=True, **JIT)
def group_chunk_dense(segment, mask, revenue, churn, n_slices, n_bits):
    """:func:`group_chunk` for a small key space: key = segment * 2**n_bits + mask, direct indexing.

    Returns sums (n_slices, n_keys, 7) and maxp (n_slices, n_keys) (same layout as the table form).
    """
    n = segment.shape[0]
    n_keys = (np.int64(segment.max()) + 1 if n else 1) << n_bits
    sums = np.zeros((n_slices, n_keys, 7), dtype=np.int64)
    maxp = np.zeros((n_slices, n_keys), dtype=np.float64)
    step = (n + n_slices - 1) // n_slices
    for s in prange(n_slices):
        dense_slice(segment, mask, revenue, churn, n_bits, s * step, min(n, (s + 1) * step), sums[s], maxp[s])
    return sums, maxp


@njit(**JIT)
def dense_slice(segment, mask, revenue, churn, n_bits, lo, hi, acc, mp):
    for i in range(lo, hi):
        key = (np.int64(segment[i]) << n_bits) | np.int64(mask[i])
        r = revenue[i]
        p = churn[i]
        acc[key, 0] += 1
        w, f = fx_split(r)
        acc[key, 1] += w
        acc[key, 2] += f
        w, f = fx_split(r * p)
        acc[key, 3] += w
        acc[key, 4] += f
        w, f = fx_split(p)
        acc[key, 5] += w
        acc[key, 6] += f
        mp[key] = max(mp[key], p)


@njit(**JIT)
def merge_groups(g_seg, g_mask, g_sums, g_maxp, t_seg, t_mask, sums, maxp):
    """Add slice tables into the global table (same layout, its own capacity). -1 if full."""
    cap_mask = g_seg.shape[0] - 1
    added = 0
    for s in range(t_seg.shape[0]):
        for j in range(t_seg.shape[1]):
            if t_seg[s, j] == -1:
                continue
            slot = insert(g_mask, g_seg, t_seg[s, j], t_mask[s, j], cap_mask)
            if slot < 0:
                return -1
            for c in range(7):
                g_sums[slot, c] += sums[s, j, c]
            if maxp[s, j] > g_maxp[slot]:
                g_maxp[slot] = maxp[s, j]
            added += 1
    return added


@njit(parallel=True, **JIT)
def pack_mask(exposed):
    """(n, D) booleans -> uint64 masks with bit j set when driver j is met."""
    n, d = exposed.shape
    out = np.zeros(n, dtype=np.uint64)
    for i in prange(n):
        m = np.uint64(0)
        for j in range(d):
            if exposed[i, j]:
                m |= np.uint64(1) << np.uint64(j)
        out[i] = m
    return out
