"""Straightforward NumPy reference implementations, for the benchmarks' speed ratios.

The per-customer sampled reference lives in the package (``cxopt.bench.run``) so that
``cxopt bench`` can report the same ratio on an installed copy; it shares no code with
the numba path (only the scenario's segment targeting and the draws). Re-exported here
for the benchmark files, with :func:`load_customers`.
"""

from __future__ import annotations

import numpy as np

from cxopt.bench.run import counter_uniforms, sampled_reference
from cxopt.data.customers import CustomerBase, CustomerChunk

__all__ = ["load_customers", "counter_uniforms", "sampled_reference"]


def load_customers(base: CustomerBase, chunk_size: int | None = None) -> CustomerChunk:
    """The whole base as one chunk (the reference holds every customer in memory)."""
    parts = list(base.iter_chunks(chunk_size) if chunk_size else base.iter_chunks())
    return CustomerChunk(*(np.concatenate([getattr(p, name) for p in parts])
                           for name in ("customer_id", "revenue", "baseline_churn", "segment", "mask")))
