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
           "portfolio_table", "ClassTables", "class_tables", "MAX_CLASS_DRIVERS"]

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
    aff = affected_groups(sc, groups).astype(np.int64)  # counts, not uint8: 256 shared groups must not wrap to 0
    overlap = aff @ aff.T
    K = overlap.shape[0]
    return np.array([(k, l) for k in range(K) for l in range(k + 1, K) if overlap[k, l] > 0],
                    dtype=np.int64).reshape(-1, 2)


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
