"""Keys of the stored value tables: hashes of exactly the arrays a table is computed from.

A portfolio's per-trial values (grouped mode) are computed from

* what every portfolio shares: the grouped statistics, the market multiplier and every pain's
  severity and delighter's lift in each trial, the horizon, the counts of pains and segments;
* what each member brings: the drivers it fixes, its effect on each in each trial, whether and
  when it is delivered in each trial, the segments it targets;
* the code that computes them: the source of the whole package, and the versions of NumPy,
  SciPy, numba and llvmlite.

:func:`table_keys` hashes the first and each initiative's second once; a portfolio's key is the
hash of the shared digest and its members' digests in index order, so an edited initiative moves
only the keys of the tables it is in. The keys are SHA-2-strength hashes (BLAKE2b, 160 bits).
"""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

if TYPE_CHECKING:  # types only: the draws module takes its keys from here
    from cxopt.data.groups import GroupStats
    from cxopt.engine.draws import Draws

__all__ = ["TableKeys", "table_keys", "code_digest", "array_digest", "ppf_key"]

_DIGEST = 20
_GROUP_ARRAYS = ("segment", "mask", "customers", "revenue", "revenue_churn", "churn")


def _hasher() -> "hashlib._Hash":
    return hashlib.blake2b(digest_size=_DIGEST)


def _update(h, a: np.ndarray) -> None:
    a = np.ascontiguousarray(a)
    h.update(f"{a.dtype.str}{a.shape}".encode())
    h.update(memoryview(a).cast("B"))


def array_digest(*arrays: np.ndarray | str | int | float) -> bytes:
    """The hash of a sequence of arrays and plain values (each with its dtype and shape)."""
    h = _hasher()
    for a in arrays:
        if isinstance(a, np.ndarray):
            _update(h, a)
        else:
            h.update(repr(a).encode() + b"\x00")
    return h.digest()


@lru_cache(maxsize=1)
def code_digest() -> bytes:
    """The hash of the code behind every stored value: the package's source and the versions of the
    numerical libraries, on this kind of machine."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:  # without importing it (numba's import is a third of a second)
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    # the whole package's source: whatever computes a stored value (the kernels, the engine, a plan
    # function's Simulation.stored) is in it; 2 MB, a few milliseconds
    h = _hasher()
    h.update(source_digest(Path(__file__).resolve().parent.parent))
    h.update(f"{np.__version__} {installed('scipy')} {installed('numba')} {installed('llvmlite')} "
             f"{platform.machine()}".encode())
    return h.digest()


def source_digest(root: Path) -> bytes:
    """The hash of every ``*.py`` file below ``root``, with its path."""
    h = _hasher()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\x00")
        h.update(path.read_bytes() + b"\x00")
    return h.digest()


@dataclass(frozen=True)
class TableKeys:
    """The digests behind every table of one simulation (see the module's docstring).

    Attributes
    ----------
    shared : bytes
        Code, grouped statistics and the trials' shared draws.
    initiatives : tuple of bytes
        Each initiative's own inputs, by index.
    """

    shared: bytes
    initiatives: tuple[bytes, ...]

    def _key(self, kind: str, members: Iterable[int], extra: bytes = b"") -> str:
        h = _hasher()
        h.update(kind.encode() + b"\x00" + self.shared)
        for k in members:
            h.update(self.initiatives[k])
        h.update(extra)
        return h.hexdigest()

    def portfolio(self, members: Sequence[int]) -> str:
        """The key of one portfolio's exact values (members: initiative indices)."""
        return self._key("portfolio", sorted(set(int(k) for k in members)))

    def pair(self, k: int, l: int) -> str:
        """The key of the pair table's row for (k, l) (valued through the pair's interaction)."""
        return self._key("pair", (int(k), int(l)))

    def call(self, kind: str, inputs: Sequence[np.ndarray]) -> str:
        """The key of a computation on this simulation's shared inputs and the arrays ``inputs``
        (:meth:`cxopt.engine.simulation.Simulation.stored`)."""
        return self._key("call:" + kind, (), array_digest(*inputs))

    def batch(self, portfolios: Sequence[Sequence[int]], kind: str = "nested") -> str:
        """The key of a batch valued together: ``"nested"``, subsets of one portfolio whose values
        depend on the batch; ``"paths"``, monthly paths (:func:`cxopt.engine.paths.monthly_paths`)."""
        union = sorted({int(k) for p in portfolios for k in p})
        pos = {k: i for i, k in enumerate(union)}
        shape = repr([sorted(pos[int(k)] for k in p) for p in portfolios]).encode()
        return self._key(kind, union, shape)


def table_keys(groups: GroupStats, draws: Draws, targets: np.ndarray, n_pains: int, n_segments: int,
               horizon: int) -> TableKeys:
    """The digests of one simulation's inputs (``targets``: (K, S) segments each initiative targets)."""
    shared = array_digest(code_digest(), *(getattr(groups, name) for name in _GROUP_ARRAYS),
                          repr(tuple(groups.segments)), repr(tuple(groups.drivers)), draws.market, draws.strength,
                          int(n_pains), int(n_segments), int(horizon))
    out = []
    for k in range(draws.success.shape[1]):
        lo, hi = int(draws.fix_ptr[k]), int(draws.fix_ptr[k + 1])
        out.append(array_digest(draws.fix_driver[lo:hi], draws.effect[:, lo:hi], draws.success[:, k],
                                draws.golive[:, k], targets[k]))
    return TableKeys(shared=shared, initiatives=tuple(out))


def ppf_key(kind: str, params: dict, lower: float, upper: float, u: np.ndarray) -> str:
    """The key of a column of draws: the distribution (kind, parameters, valid range) at the uniforms ``u``."""
    h = _hasher()
    h.update(code_digest())
    h.update(repr((kind, sorted((str(k), float(v)) for k, v in params.items()), float(lower), float(upper))).encode())
    _update(h, np.asarray(u, dtype=np.float64))
    return "ppf-" + h.hexdigest()
