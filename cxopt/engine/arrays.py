"""The plain arrays the kernels take, built from a scenario and group statistics.

Every evaluation path (grouped, class-sum, sampled, distributed) builds its inputs here, once:
which segments each initiative targets, which groups each initiative (or portfolio) can
change, the interacting pairs, the padded portfolio table and the class tables of the
class-sum kernel.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from cxopt.data.customers import GroupStats
from cxopt.errors import Problem, ScenarioError
from cxopt.model.scenario import Scenario

__all__ = ["segment_targets", "driver_masks", "affected_groups", "affected_lists", "interacting_pairs",
           "portfolio_table", "ClassTables", "class_tables", "MAX_CLASS_DRIVERS", "PairTables", "pair_tables",
           "MAX_PAIR_DRIVERS"]

MAX_CLASS_DRIVERS = 12  # above this many touched drivers, the per-group kernel is used


def segment_targets(sc: Scenario, groups: GroupStats) -> np.ndarray:
    """(K, S) bool: which segments initiative k targets (all when it names none)."""
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


def driver_masks(sc: Scenario) -> np.ndarray:
    """(K,) uint64: bit j set when initiative k acts on driver j."""
    ids = {d: j for j, d in enumerate(sc.driver_ids)}
    out = np.zeros(len(sc.initiatives), dtype=np.uint64)
    for k, init in enumerate(sc.initiatives):
        for d in init.fixes:
            out[k] |= np.uint64(1) << np.uint64(ids[d])
    return out


def affected_groups(sc: Scenario, groups: GroupStats) -> np.ndarray:
    """(K, G) bool: which groups initiative k can change (exposed to one of its drivers, targeted)."""
    dm = driver_masks(sc)
    tgt = segment_targets(sc, groups)
    hit = (groups.mask[None, :] & dm[:, None]) != 0
    return hit & tgt[:, groups.segment]


def portfolio_table(portfolios: Sequence[Sequence[int]]) -> np.ndarray:
    """(P, max size) int32: each portfolio's initiative indices, padded with -1."""
    kmax = max([len(p) for p in portfolios] + [1])
    port = np.full((len(portfolios), kmax), -1, dtype=np.int32)
    for i, p in enumerate(portfolios):
        port[i, : len(p)] = p
    return port


def interacting_pairs(sc: Scenario, groups: GroupStats) -> np.ndarray:
    """Pairs (k, l), k < l, whose affected groups overlap: only they can interact."""
    # counts in float64 (exact below 2**53; not uint8, where 256 shared groups would wrap to 0)
    aff = affected_groups(sc, groups).astype(np.float64)
    overlap = aff @ aff.T
    k, l = np.nonzero(np.triu(overlap > 0, 1))  # row by row: (0, 1), (0, 2), ..., (1, 2), ...
    return np.stack([k, l], axis=1).astype(np.int64).reshape(-1, 2)


def affected_lists(sc: Scenario, groups: GroupStats, portfolios: Sequence[Sequence[int]]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """CSR lists (ptr, idx) of the groups each portfolio can change (the others keep the baseline)."""
    aff = affected_groups(sc, groups)
    ptr = np.zeros(len(portfolios) + 1, dtype=np.int64)
    lists = []
    for i, p in enumerate(portfolios):
        hit = np.flatnonzero(aff[list(p)].any(axis=0)) if len(p) else np.zeros(0, dtype=np.int64)
        lists.append(hit)
        ptr[i + 1] = ptr[i] + hit.size
    idx = np.concatenate(lists).astype(np.int64) if lists else np.zeros(0, dtype=np.int64)
    return ptr, idx


class ClassTables:
    """Inputs of the class-sum kernel for portfolios grouped by the set of drivers they touch.

    Within one driver set, a group's *class* is (segment, which of the set's drivers it is
    exposed to): every group of a class changes the same way, so a portfolio costs
    O(classes), not O(groups).
    """

    __slots__ = ("port_set", "set_ptr", "set_drivers", "aff_ptr", "aff_idx", "aff_cls")

    def __init__(self, groups: GroupStats, touched: Sequence[tuple[int, ...]]):
        sets = sorted(set(touched))
        set_index = {ts: q for q, ts in enumerate(sets)}
        self.port_set = np.array([set_index[ts] for ts in touched], dtype=np.int64)
        self.set_ptr = np.zeros(len(sets) + 1, dtype=np.int64)
        self.set_drivers = np.array([j for ts in sets for j in ts], dtype=np.int64)
        self.aff_ptr = np.zeros(len(sets) + 1, dtype=np.int64)
        idx_parts, cls_parts = [], []
        for q, ts in enumerate(sets):
            self.set_ptr[q + 1] = self.set_ptr[q] + len(ts)
            bits = np.zeros(groups.n_groups, dtype=np.int64)
            for x, j in enumerate(ts):
                bits |= ((groups.mask >> np.uint64(j)) & np.uint64(1)).astype(np.int64) << x
            hit = np.flatnonzero(bits)
            idx_parts.append(hit)
            cls_parts.append((groups.segment[hit].astype(np.int64) << len(ts)) | bits[hit])
            self.aff_ptr[q + 1] = self.aff_ptr[q] + hit.size
        self.aff_idx = np.concatenate(idx_parts).astype(np.int64)
        self.aff_cls = np.concatenate(cls_parts).astype(np.int64)


def class_tables(groups: GroupStats, touched: Sequence[tuple[int, ...]]) -> ClassTables:
    """The class-sum kernel's tables for portfolios touching the driver sets ``touched``
    (portfolios must come sorted by their set's index: sort by ``sorted(set(touched))``)."""
    return ClassTables(groups, touched)


MAX_PAIR_DRIVERS = 6  # pairs touching more drivers between them go through the portfolio kernels


class PairTables:
    """Inputs of the pair-interaction kernel (:mod:`cxopt.kernels.pairs`).

    A group's retention is a product over the drivers it meets, so with U the drivers a pair
    (k, l) touches, sum over groups of weight * prod_{j in U met} (baseline_j + delta_j) is
    sum over subsets X of U of prod_{j in X} delta_j * S_X, S_X the group sums over the groups
    meeting every driver of X (each weighted by its baseline factors outside X). The
    interaction w_kl keeps only the subsets that meet both k's and l's drivers (or a driver
    both fix): a subset of k's own drivers alone cancels exactly. Subsets no group meets are
    left out.

    Attributes
    ----------
    fast : (Q,) positions, in the pair list given, of the pairs valued here; ``slow`` the others
        (more than ``max_drivers`` drivers between them, or a driver fixed twice by one initiative)
    pairs : (Q, 2) the fast pairs
    u_ptr, u_driver, u_fix : CSR, each fast pair's drivers, ascending, and for each the fix
        entries (columns of the draws' ``effect``) of k and of l on it, -1 where none
    x_ptr, x_local, x_index : CSR, each fast pair's subsets: bits over its ``u_driver``
        positions and the row of the subset in ``xs_mask``
    xs_mask : (n_x,) uint64, the distinct subsets (drivers as bits) met by at least one group
    ent_ptr, ent_group : CSR, the groups meeting every driver of each subset, ascending
    """

    __slots__ = ("fast", "slow", "pairs", "u_ptr", "u_driver", "u_fix", "x_ptr", "x_local", "x_index", "xs_mask",
                 "ent_ptr", "ent_group")

    def __init__(self, fix_ptr: np.ndarray, fix_driver: np.ndarray, g_mask: np.ndarray, pairs: np.ndarray,
                 max_drivers: int = MAX_PAIR_DRIVERS):
        K = len(fix_ptr) - 1
        fixes = [{int(fix_driver[e]): e for e in range(fix_ptr[k], fix_ptr[k + 1])} for k in range(K)]
        twice = [len(fixes[k]) < fix_ptr[k + 1] - fix_ptr[k] for k in range(K)]
        masks = [sum(1 << j for j in f) for f in fixes]
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        g_mask = np.asarray(g_mask, dtype=np.uint64)
        by_driver: dict[int, np.ndarray] = {}
        xs: dict[int, int] = {}  # subset mask -> row (-1: no group meets it)
        ent_parts: list[np.ndarray] = []
        keys: dict[tuple[int, int], tuple[list[int], list[int], list[int]]] = {}
        fast, slow = [], []
        for q, (k, l) in enumerate(pairs.tolist()):
            mk, ml = masks[k], masks[l]
            if twice[k] or twice[l] or bin(mk | ml).count("1") > max_drivers:
                slow.append(q)
                continue
            fast.append(q)
            if (mk, ml) in keys:
                continue
            u = [j for j in range((mk | ml).bit_length()) if ((mk | ml) >> j) & 1]
            own_k = sum(1 << x for x, j in enumerate(u) if not (ml >> j) & 1)
            own_l = sum(1 << x for x, j in enumerate(u) if not (mk >> j) & 1)
            local, index = [], []
            for b in range(1, 1 << len(u)):
                if b & ~own_k == 0 or b & ~own_l == 0:
                    continue  # only k's (or only l's) own drivers: cancels in w_kl
                xm = sum(1 << j for x, j in enumerate(u) if (b >> x) & 1)
                if xm not in xs:
                    j0 = (xm & -xm).bit_length() - 1
                    if j0 not in by_driver:
                        by_driver[j0] = np.flatnonzero((g_mask >> np.uint64(j0)) & np.uint64(1))
                    cand = by_driver[j0]
                    hit = cand[(g_mask[cand] & np.uint64(xm)) == np.uint64(xm)]
                    xs[xm] = len(ent_parts) if hit.size else -1
                    if hit.size:
                        ent_parts.append(hit)
                if xs[xm] >= 0:
                    local.append(b)
                    index.append(xs[xm])
            keys[(mk, ml)] = (u, local, index)
        self.fast = np.array(fast, dtype=np.int64)
        self.slow = np.array(slow, dtype=np.int64)
        self.pairs = pairs[self.fast].reshape(-1, 2)
        fast_pairs = self.pairs.tolist()
        rows = [keys[(masks[k], masks[l])] for k, l in fast_pairs]
        self.u_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        self.u_ptr[1:] = np.cumsum([len(r[0]) for r in rows])
        self.u_driver = np.array([j for r in rows for j in r[0]], dtype=np.int64)
        entry = np.full((K, max([j + 1 for f in fixes for j in f] + [1])), -1, dtype=np.int64)
        for k, f in enumerate(fixes):
            for j, e in f.items():
                entry[k, j] = e
        n_u = np.diff(self.u_ptr)
        self.u_fix = np.stack([entry[np.repeat(self.pairs[:, 0], n_u), self.u_driver],
                               entry[np.repeat(self.pairs[:, 1], n_u), self.u_driver]], axis=1).reshape(-1, 2)
        self.x_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        self.x_ptr[1:] = np.cumsum([len(r[1]) for r in rows])
        self.x_local = np.array([b for r in rows for b in r[1]], dtype=np.int64)
        self.x_index = np.array([x for r in rows for x in r[2]], dtype=np.int64)
        self.xs_mask = np.zeros(len(ent_parts), dtype=np.uint64)
        for xm, row in xs.items():
            if row >= 0:
                self.xs_mask[row] = np.uint64(xm)
        self.ent_ptr = np.zeros(len(ent_parts) + 1, dtype=np.int64)
        self.ent_ptr[1:] = np.cumsum([h.size for h in ent_parts])
        self.ent_group = (np.concatenate(ent_parts) if ent_parts else np.zeros(0)).astype(np.int64)


def pair_tables(groups: GroupStats, fix_ptr: np.ndarray, fix_driver: np.ndarray, pairs: np.ndarray,
                max_drivers: int = MAX_PAIR_DRIVERS) -> PairTables:
    """The pair-interaction kernel's tables for ``pairs``, given the draws' fix entries (``fix_ptr``,
    ``fix_driver``)."""
    return PairTables(fix_ptr, fix_driver, groups.mask, pairs, max_drivers)
