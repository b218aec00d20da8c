"""Fixed-point accumulation: a sum over customers is kept as two int64 limbs (whole units and
units of 2**-32). Integer sums are exact, so the result is identical whatever the order of
accumulation: thread count, chunk size or partitioning cannot change it.

The limbs wrap silently above ~9.2e18 whole units: callers bound what may enter them."""

from __future__ import annotations

import numpy as np
from numba import njit

from cxopt.kernels.config import FRAC_SCALE, JIT


@njit(inline="always", **JIT)
def fx_split(x):
    """x >= 0 as (whole units, units of 2**-32), rounded to the nearest 2**-32."""
    if x < 2147483648.0:
        # one conversion: x * 2**32 is exact, and fits an int64 below 2**31
        v = np.int64(x * FRAC_SCALE + 0.5)
        return v >> np.int64(32), v & np.int64(0xFFFFFFFF)
    whole = np.int64(x)  # truncation == floor for x >= 0
    return whole, np.int64((x - whole) * FRAC_SCALE + 0.5)


def fixed_to_float(whole: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Combine the two fixed-point limbs into float64 (exact up to the final rounding)."""
    return whole.astype(np.float64) + frac.astype(np.float64) / FRAC_SCALE


@njit(**JIT)
def split_revenue(revenue):
    """Each customer's revenue as its two fixed-point limbs (whole units, units of 2**-32)."""
    n = revenue.shape[0]
    whole = np.empty(n, dtype=np.int64)
    frac = np.empty(n, dtype=np.int64)
    for i in range(n):
        w, f = fx_split(revenue[i])
        whole[i] = w
        frac[i] = f
    return whole, frac
