"""A run of consecutive customers as plain arrays, and the columns of a customer file (DESIGN.md
section 6): what every reader yields and every pass over a base consumes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Iterable

import numpy as np

__all__ = ["CustomerChunk", "DEFAULT_CHUNK", "EXPOSED_PREFIX", "REQUIRED_COLUMNS", "MAX_REVENUE",
           "MAX_TOTAL_REVENUE"]

from cxopt.model.crosscheck import MAX_REVENUE, MAX_TOTAL_REVENUE  # noqa: E402  (stated once, in the model)

DEFAULT_CHUNK = 1 << 20  # rows per streamed chunk
EXPOSED_PREFIX = "exposed_"  # a customer file's driver column: exposed_<driver id>
REQUIRED_COLUMNS = ("customer_id", "revenue", "baseline_churn", "segment")


@dataclass(frozen=True)
class CustomerChunk:
    """Consecutive customers as plain arrays (one row each)."""

    customer_id: np.ndarray  # int64
    revenue: np.ndarray  # float64 >= 0
    baseline_churn: np.ndarray  # float64 in [0, 1]
    segment: np.ndarray  # int32 code into CustomerBase.segments
    mask: np.ndarray  # uint64, bit j = driver j met

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])

    def rows(self, start: int, stop: int) -> "CustomerChunk":
        """Customers ``start..stop-1`` of this chunk (views, no copy)."""
        return CustomerChunk(*(getattr(self, f.name)[start:stop] for f in fields(self)))

    @staticmethod
    def empty() -> "CustomerChunk":
        """No customers (typed arrays of length 0)."""
        return CustomerChunk(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int32),
                             np.zeros(0, np.uint64))

    @staticmethod
    def concat(chunks: Iterable["CustomerChunk"]) -> "CustomerChunk":
        """One chunk holding ``chunks`` in order."""
        parts = list(chunks)
        if not parts:
            return CustomerChunk.empty()
        return CustomerChunk(*(np.concatenate([getattr(p, f.name) for p in parts])
                               for f in fields(CustomerChunk)))
