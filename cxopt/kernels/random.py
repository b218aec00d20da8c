"""Counter-based random numbers: a uniform is a hash of (key, customer id, trial) through
splitmix64, so a customer's draw does not depend on which thread or chunk handled it
(NOTES.md, numba). ``key`` already mixes the seed and the stream."""

from __future__ import annotations

import numpy as np
from numba import njit

from cxopt.kernels.config import JIT


@njit(inline="always", **JIT)
def splitmix64(x):
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(inline="always", **JIT)
def counter_uniform(key, customer, trial):
    """Uniform in (0, 1) from (key, customer, trial); ``key`` already mixes seed and stream."""
    h = splitmix64(key ^ splitmix64(np.uint64(customer) + splitmix64(np.uint64(trial))))
    return ((h >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(**JIT)
def fill_uniforms(key, customer_id, t, u):
    """``u[x]`` = the uniform of customer ``customer_id[x]`` in trial ``t``."""
    for x in range(customer_id.shape[0]):
        u[x] = counter_uniform(key, customer_id[x], t)
