"""The kernels' settings in one place: numba's flags, the sizes they share, and where numba
keeps compiled kernels (``cache=True``).

Plain Python values only: the package imports this module first, before numba is imported,
so that ``NUMBA_CACHE_DIR`` is set before numba reads its configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

# fastmath stays off: it reorders sums, and results are compared to stored golden values
JIT = dict(cache=True, nogil=True, fastmath=False)

TRIAL_CHUNK = 16  # trials per parallel task (results do not depend on it)
FRAC_SCALE = 4294967296.0  # 2**32: the fixed-point fractional unit
EMPTY = 0xFFFFFFFFFFFFFFFF  # uint64 all ones
# customers handled together inside a slice by the sampled kernel: their arrays stay in
# L1/L2 while the kernel loops over the trials of the block
SUB_BLOCK = 1024

# how the per-trial driver values an epoch (cxopt.kernels.epochs.value_trial)
BY_GROUP = 0  # per affected group (evaluate_grouped)
BY_CLASS = 1  # per class of the touched drivers, per group when a severity is 1
FACTORS = 2  # per affected group, the horizon's retention coefficients (sampled path)


def _configure() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = Path(__file__).resolve().parent
    if os.access(here, os.W_OK):
        return
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    target = Path(base) / "cxopt" / "numba"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # numba then compiles without caching
    os.environ["NUMBA_CACHE_DIR"] = str(target)


_configure()
