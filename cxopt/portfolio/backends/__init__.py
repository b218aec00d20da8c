"""Solver backends behind one interface (:class:`~cxopt.portfolio.backends.base.Backend`):
HiGHS and CBC through PuLP, and exhaustive enumeration. :func:`backend_for` turns the
``solver`` parameter into one."""

from __future__ import annotations

from cxopt.errors import ArgumentError
from cxopt.portfolio.backends.base import Backend
from cxopt.portfolio.backends.cbc import CbcBackend
from cxopt.portfolio.backends.exhaustive import ExhaustiveBackend
from cxopt.portfolio.backends.highs import HighsBackend

__all__ = ["Backend", "BACKENDS", "SOLVER_NAMES", "backend_for", "HighsBackend", "CbcBackend", "ExhaustiveBackend"]

BACKENDS: dict[str, type[Backend]] = {"highs": HighsBackend, "cbc": CbcBackend, "exhaustive": ExhaustiveBackend}
SOLVER_NAMES = ("auto", *BACKENDS)


def backend_for(solver: str) -> Backend:
    """The backend ``solver`` names, ready to run: ``auto`` is HiGHS where available, else CBC, and
    marked :attr:`Backend.auto` (a program with few enough feasible portfolios is ranked instead)."""
    if solver == "auto":
        highs = HighsBackend()
        backend = highs if highs.available() else CbcBackend()
        backend.auto = True
        return backend
    if solver not in BACKENDS:
        raise ArgumentError("solver", f"expected highs, cbc, exhaustive or auto, got {solver!r}")
    backend = BACKENDS[solver]()
    backend.import_solver()
    return backend
