"""Duplicate customer ids, found in the streaming pass with bounded memory.

Method (documented in docs and DESIGN.md section 6's customer file): a hashed bitmap of
``bits`` bits (a one-hash Bloom filter, at most :data:`MAX_BITS` = 2**30 bits = 128 MiB,
about 16 bits per customer below that) is filled from the streamed ids. An id whose bit is
already set, or that shares a bit with another id of the same chunk, is a *suspect*: every
duplicate is a suspect, and a unique id is one with probability about ``n / bits``. Only
when there are suspects, a second pass over the ``customer_id`` column alone counts the
suspects exactly (a sorted array; membership by ``np.isin``) and names the first id seen
twice with both of its places (file and row). The suspects are few (about ``n**2 / (2
bits)``), so memory stays bounded by the bitmap plus them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from cxopt.errors import DataError, Problem

__all__ = ["DuplicateIds", "MAX_BITS"]

MAX_BITS = 1 << 30
MIN_BITS = 1 << 16


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: ids (int64) to well-spread 64-bit hashes."""
    z = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z += np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


class DuplicateIds:
    """Feed every chunk's ids to :meth:`add`; :meth:`check` raises on a duplicate."""

    def __init__(self, expected: int):
        bits = MIN_BITS
        while bits < 16 * max(expected, 1) and bits < MAX_BITS:
            bits <<= 1
        self.bits = bits
        self._words = np.zeros(bits // 64, dtype=np.uint64)
        self._suspects: list[np.ndarray] = []

    def add(self, ids: np.ndarray) -> None:
        if ids.size == 0:
            return
        pos = _mix(ids) & np.uint64(self.bits - 1)
        word = (pos >> np.uint64(6)).astype(np.int64)
        bit = np.left_shift(np.uint64(1), pos & np.uint64(63))
        seen = (self._words[word] & bit) != 0
        order = np.argsort(pos, kind="stable")  # ids sharing a position within this chunk
        sp = pos[order]
        same = np.zeros(ids.size, dtype=bool)
        eq = sp[1:] == sp[:-1]
        same[order[1:][eq]] = True
        same[order[:-1][eq]] = True
        suspect = seen | same
        if suspect.any():
            self._suspects.append(np.unique(ids[suspect]))
        np.bitwise_or.at(self._words, word, bit)

    def check(self, paths: Sequence[Path], read_ids) -> None:
        """Exact check of the suspects: ``read_ids(path)`` yields the file's id arrays in order."""
        self._words = np.zeros(0, dtype=np.uint64)  # the bitmap is no longer needed
        if not self._suspects:
            return
        suspects = np.unique(np.concatenate(self._suspects))
        # an earlier id colliding with a later one is not among the suspects by itself:
        # suspects are compared by hash position, so widen them to every id at those positions
        positions = np.unique(_mix(suspects) & np.uint64(self.bits - 1))
        first: dict[int, str] = {}
        for path in paths:
            row0 = 0
            for ids in read_ids(path):
                hit = np.isin(_mix(ids) & np.uint64(self.bits - 1), positions)
                for i in np.flatnonzero(hit):
                    cid = int(ids[i])
                    place = f"row {row0 + int(i) + 1}"
                    if cid in first:
                        where = first[cid]
                        raise DataError(Problem(
                            str(path), "customer_id",
                            f"{place}: customer_id {cid} appears twice (first at {where}); "
                            "each customer must appear once (the same base twice in one directory?)"))
                    first[cid] = f"{path} row {row0 + int(i) + 1}"
                row0 += ids.size
