"""Where the passes over the customer base run: the executor the engine is handed.

:func:`cxopt.engine.simulation.simulate` does two things that touch every customer: the
grouping pass (once) and, in sampled mode, the per-customer evaluation. An executor does
both; the engine never needs to know where. :class:`LocalExecutor` (the default) runs them
in this process with numba threads; ``cxopt.distributed.DaskExecutor`` runs them on a Dask
cluster with identical results (integer partial sums added in a fixed order). The core
never imports the distributed engine: the caller (the CLI's ``--cluster``, or a Python user)
builds the executor and hands it in.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from cxopt.data.customers import DEFAULT_CHUNK, CustomerBase, GroupStats
from cxopt.engine.draws import Draws
from cxopt.model.scenario import Scenario

__all__ = ["Executor", "LocalExecutor"]

Progress = Callable[[str, int, int], None]


@runtime_checkable
class Executor(Protocol):
    """Runs the passes over a customer base."""

    def group(self, sc: Scenario, base: CustomerBase, chunk_size: int | None = None,
              progress: Progress | None = None) -> GroupStats:
        """The base's group statistics (one streaming pass)."""
        ...

    def evaluate_sampled(self, sc: Scenario, base: CustomerBase, groups: GroupStats, draws: Draws,
                         portfolios: Sequence[Sequence[int]], chunk_size: int | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """Retained revenue and customers (P, T) with every customer's churn drawn."""
        ...


class LocalExecutor:
    """Both passes in this process (numba threads over chunks of the base)."""

    def group(self, sc: Scenario, base: CustomerBase, chunk_size: int | None = None,
              progress: Progress | None = None) -> GroupStats:
        total = base.n_customers if base.kind == "synthetic" else None
        done = [0]

        def tick(n: int) -> None:
            done[0] += n
            if progress:
                progress("group", done[0], total or 0)

        return base.group(chunk_size or DEFAULT_CHUNK, progress=tick)

    def evaluate_sampled(self, sc: Scenario, base: CustomerBase, groups: GroupStats, draws: Draws,
                         portfolios: Sequence[Sequence[int]], chunk_size: int | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
        from cxopt.engine.sampled import evaluate_sampled

        return evaluate_sampled(sc, base, groups, draws, portfolios, chunk_size=chunk_size)
