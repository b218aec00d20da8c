"""The Dask path (optional extra ``cxopt[distributed]``): the passes over the customer base,
spread over the workers of a Dask cluster, with results identical to one machine.

The base is cut into *fragments*: consecutive Parquet row groups of one file (a partitioned
base gives at least one fragment per file), a whole CSV file, or a range of customers of a
synthetic base (customer ``i`` depends only on ``(seed, i)``). A pure function reduces each
fragment to exact integer sums — the group sums of :class:`~cxopt.data.groups.RawGroups` for
the grouping pass, the per-(portfolio, trial) retained revenue (fixed point) and customers
for the sampled path (:func:`cxopt.engine.sampled.sampled_partials`, whose uniforms are keyed on
customer id and trial). Integer sums add exactly, so combining the parts gives the same bits
whatever the number of fragments or workers and whatever order they finish in; the group
statistics are then finalised exactly as :meth:`CustomerBase.group` does. Because the tasks
are pure, a worker lost mid-run has its fragments recomputed elsewhere by Dask, and the
result does not change.

Workers read the base's files themselves: on a cluster of several machines the base must
sit on a filesystem every worker sees at the same path (see ``docs/distributed.md``).
"""

from __future__ import annotations

import atexit
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cxopt.data.base import CustomerBase
from cxopt.data.chunk import DEFAULT_CHUNK, EXPOSED_PREFIX, REQUIRED_COLUMNS, CustomerChunk
from cxopt.data.groups import GroupAccumulator, GroupStats, RawGroups
from cxopt.data.readers import chunk_from_batch, is_csv, iter_batches
from cxopt.data.synthetic import SYNTHETIC_BLOCK
from cxopt.engine.draws import Draws
from cxopt.errors import ArgumentError, BadInputError, DataError, Problem
from cxopt.kernels.fixed import fixed_to_float
from cxopt.model.scenario import Scenario

if TYPE_CHECKING:  # dask is optional: imported lazily, never at module import
    from distributed import Client

__all__ = ["connect", "shutdown", "warm_up", "parse_cluster", "plan_fragments", "plan_sampled_tasks",
           "group_distributed", "evaluate_sampled_distributed", "Fragment", "DistributedUnavailable",
           "INSTALL_HINT"]

INSTALL_HINT = "pip install 'cxopt[distributed]'"
FRAGMENT_ROWS = 1 << 22  # the most customers one task reads (about 4 million)
FRAGMENTS_PER_WORKER = 4  # smaller fragments below FRAGMENT_ROWS keep every worker busy to the end
SAMPLED_FRAGMENT_ROWS = 1 << 22  # sampled path: customers per task (kept in memory across trial blocks)
WORKER_WAIT_SECONDS = 60.0


class DistributedUnavailable(ImportError):
    """The Dask path was asked for but dask[distributed] is not installed."""


def _dask():
    try:
        import distributed
    except ImportError as exc:
        raise DistributedUnavailable(
            f"a Dask cluster needs Dask, which is not installed ({exc}): {INSTALL_HINT}") from None
    return distributed


# --------------------------------------------------------------------------------------
# connecting
# --------------------------------------------------------------------------------------
def parse_cluster(spec: str | None) -> tuple[str, Any]:
    """``("local", workers)`` or ``("address", "tcp://HOST:PORT")`` for a ``cluster`` value.

    ``None`` or ``""`` means the scheduler in ``DASK_SCHEDULER_ADDRESS``. ``"local"`` starts
    one worker per CPU; ``"local:N"`` N workers. Any ``scheme://...`` address (tcp, tls, ...)
    is passed to Dask as it is; a bare ``HOST:PORT`` means ``tcp://HOST:PORT``.
    """
    text = (spec or "").strip()
    if not text:
        text = os.environ.get("DASK_SCHEDULER_ADDRESS", "").strip()
        if not text:
            raise ArgumentError("cluster", "no scheduler address: give local[:WORKERS] or "
                                           "tcp://HOST:PORT, or set DASK_SCHEDULER_ADDRESS")
    if text == "local" or text.startswith("local:"):
        count = text.partition(":")[2]
        if not count:
            return "local", _cpu_count()
        if not count.isdigit() or int(count) < 1:
            raise ArgumentError("cluster", f"expected local:WORKERS with WORKERS >= 1, got {text!r}")
        return "local", int(count)
    if "://" in text:
        return "address", text
    host, _, port = text.rpartition(":")
    if host and port.isdigit():
        return "address", f"tcp://{text}"
    raise ArgumentError("cluster",
                        f"expected local, local:WORKERS, tcp://HOST:PORT or HOST:PORT, got {text!r}")


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_CONNECTIONS: dict[tuple[str, Any], tuple["Client", Any]] = {}


def connect(spec: "str | Client | None" = None) -> "Client":
    """A Dask client for ``spec`` (see :func:`parse_cluster`); a client passes through.

    A local cluster is started once per process and per ``spec`` and closed at exit: its
    ``N`` worker processes each run one task at a time with ``cpus // N`` numba threads
    (``NUMBA_NUM_THREADS`` in the nanny's environment). An existing scheduler is checked for
    at least one worker that can import cxopt.
    """
    dd = _dask()
    if isinstance(spec, dd.Client):
        return spec
    kind, value = parse_cluster(spec)
    known = _CONNECTIONS.get((kind, value))
    if known is not None and known[0].status == "running":
        return known[0]
    if kind == "local":
        cluster = dd.LocalCluster(
            n_workers=value, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR, env={"NUMBA_NUM_THREADS": str(max(1, _cpu_count() // value))},
        )
        client = dd.Client(cluster)
    else:
        cluster = None
        try:
            client = dd.Client(value, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"cannot reach the Dask scheduler at {value}: {exc}") from None
        _check_workers(client, value)
    _CONNECTIONS[(kind, value)] = (client, cluster)
    return client


def _check_workers(client: "Client", address: str) -> None:
    from cxopt.version import __version__

    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
    except TimeoutError:
        raise ConnectionError(f"the Dask scheduler at {address} has no workers "
                              f"(waited {WORKER_WAIT_SECONDS:.0f} s)") from None
    try:
        versions = client.run(_worker_version)
    except Exception as exc:  # a worker that cannot unpickle a cxopt function: cxopt missing there
        raise ConnectionError(f"the workers of {address} cannot run cxopt ({type(exc).__name__}: {exc}); "
                              f"install the same cxopt on every worker: {INSTALL_HINT}") from None
    other = {w: v for w, v in versions.items() if v != __version__}
    if other:
        raise ConnectionError(f"cxopt {__version__} here but {sorted(set(other.values()))} on workers "
                              f"{sorted(other)}: install the same version everywhere")


def _worker_version() -> str:
    from cxopt.version import __version__

    return __version__


def shutdown() -> None:
    """Close every client and local cluster :func:`connect` opened in this process."""
    while _CONNECTIONS:
        _, (client, cluster) = _CONNECTIONS.popitem()
        client.close()
        if cluster is not None:
            cluster.close()


atexit.register(shutdown)


def warm_up(client: "Client", sc: Scenario) -> None:
    """Compile (or load from numba's cache) the grouping kernels on every worker, so the first
    timed pass does not pay for it on whichever worker gets a task first."""
    client.run(_warm_worker, sc)


def _warm_worker(sc: Scenario) -> None:
    _worker_threads()
    base = CustomerBase.synthetic(sc, n=SYNTHETIC_BLOCK, seed=0)
    acc = GroupAccumulator(len(sc.driver_ids))
    acc.add_chunk(base.synthetic_rows(0, SYNTHETIC_BLOCK))


def worker_count(client: "Client") -> int:
    return max(1, len(client.scheduler_info().get("workers", {})))


# --------------------------------------------------------------------------------------
# fragments
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fragment:
    """One task's share of the base.

    ``path is None``: synthetic customers ``start..stop-1``. Otherwise rows ``start..stop-1``
    of the file ``path`` (``name`` as the user wrote it, for messages), read from its Parquet
    ``row_groups``; a CSV file is one fragment (``row_groups`` empty, ``stop`` None).
    """

    path: str | None
    start: int
    stop: int | None
    row_groups: tuple[int, ...] = ()
    name: str = ""

    @property
    def rows(self) -> int | None:
        return None if self.stop is None else self.stop - self.start


def plan_fragments(base: CustomerBase, fragment_rows: int | None = None, workers: int = 1) -> list[Fragment]:
    """Cut ``base`` into fragments of about ``fragment_rows`` customers, in base order.

    Default size: ``FRAGMENTS_PER_WORKER`` fragments a worker, at most ``FRAGMENT_ROWS``
    rows each. Synthetic ranges start on a block of ``SYNTHETIC_BLOCK`` customers; a Parquet
    file is cut between row groups only. The cut never changes a result.
    """
    if fragment_rows is None:
        n = base.n_customers
        fragment_rows = min(FRAGMENT_ROWS, -(-n // (FRAGMENTS_PER_WORKER * max(workers, 1))))
    fragment_rows = max(1, int(fragment_rows))
    if base.kind == "synthetic":
        step = -(-fragment_rows // SYNTHETIC_BLOCK) * SYNTHETIC_BLOCK
        n = base.n_customers
        return [Fragment(None, lo, min(n, lo + step)) for lo in range(0, n, step)]
    out: list[Fragment] = []
    for path in base.paths:
        full = os.path.abspath(path)
        if is_csv(Path(path)):
            out.append(Fragment(full, 0, None, (), str(path)))
            continue
        meta = pq.ParquetFile(path).metadata
        row, first, groups = 0, 0, []
        for g in range(meta.num_row_groups):
            groups.append(g)
            row += meta.row_group(g).num_rows
            if row - first >= fragment_rows or g == meta.num_row_groups - 1:
                out.append(Fragment(full, first, row, tuple(groups), str(path)))
                first, groups = row, []
    return out


@dataclass(frozen=True)
class _Pass:
    """What every task of one pass needs besides its fragment (scattered once to every worker)."""

    scenario: Scenario
    n_customers: int
    seed: int | None
    segments: tuple[str, ...]  # segment names in code order (prefilled codes)
    declared: bool  # the scenario declares segments: an unknown one is an error
    chunk_size: int
    groups: GroupStats | None = None  # sampled path only
    draws: Draws | None = None
    portfolios: tuple[tuple[int, ...], ...] = ()


def _fragment_chunks(fragment: Fragment, ctx: _Pass, seg_codes: dict[str, int]) -> Iterator[CustomerChunk]:
    """The fragment's customers, in chunks of ``ctx.chunk_size`` rows, exactly as one machine reads them."""
    sc, size = ctx.scenario, ctx.chunk_size
    if fragment.path is None:
        base = CustomerBase.synthetic(sc, n=ctx.n_customers, seed=ctx.seed)
        for lo in range(fragment.start, fragment.stop, size):
            yield base.synthetic_rows(lo, min(fragment.stop, lo + size))
        return
    drivers = sc.driver_ids
    columns = [*REQUIRED_COLUMNS, *(EXPOSED_PREFIX + d for d in drivers)]
    path = Path(fragment.path)
    where = fragment.name or fragment.path
    if fragment.row_groups:
        batches = _row_group_batches(path, fragment.row_groups, columns, size, where)
    else:
        batches = iter_batches(path, columns, size)
    row0 = fragment.start
    for batch in batches:
        yield chunk_from_batch(batch, drivers, seg_codes, declared=ctx.declared, where=where, row0=row0)
        row0 += batch.num_rows


def _row_group_batches(path: Path, row_groups: tuple[int, ...], columns: list[str], size: int,
                       where: str) -> Iterator[pa.RecordBatch]:
    try:
        yield from pq.ParquetFile(path).iter_batches(batch_size=size, row_groups=list(row_groups),
                                                     columns=columns)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(Problem(where, "", f"cannot read: {exc}")) from None


# --------------------------------------------------------------------------------------
# the tasks (pure: same fragment and context, same bits — so Dask may rerun them anywhere)
# --------------------------------------------------------------------------------------
def _worker_threads() -> None:
    """numba threads of this task: ``NUMBA_NUM_THREADS`` from the nanny's environment.

    The worker process may have imported numba (with its default thread count) before the
    nanny set the variable, so it is applied here, per task thread. Results do not depend on it.
    """
    wanted = os.environ.get("NUMBA_NUM_THREADS", "")
    if wanted.isdigit() and int(wanted) >= 1:
        import numba

        numba.set_num_threads(min(int(wanted), numba.config.NUMBA_NUM_THREADS))


class _RemoteProblems(Exception):
    """A :class:`BadInputError` raised on a worker, in a form that pickles: its class (by
    reference) and its problems as plain tuples."""


def _guarded(task, *args):
    """Run ``task(*args)`` on a worker; a :class:`BadInputError` comes back as :class:`_RemoteProblems`."""
    try:
        return task(*args)
    except BadInputError as exc:  # send (source, path, reason) tuples and the error's class
        kind = type(exc)
        problems = [tuple(p) if isinstance(p, tuple) else ("", "", str(p)) for p in exc.problems]
    # raised outside the handler, so no unpicklable __context__ travels with it
    raise _RemoteProblems(kind, problems)


def _group_fragment(fragment: Fragment, ctx: _Pass) -> RawGroups:
    return _guarded(_group_one, fragment, ctx)


def _group_one(fragment: Fragment, ctx: _Pass) -> RawGroups:
    _worker_threads()
    seg_codes = {s: i for i, s in enumerate(ctx.segments)}
    acc = GroupAccumulator(len(ctx.scenario.driver_ids))
    for chunk in _fragment_chunks(fragment, ctx, seg_codes):
        acc.add_chunk(chunk)
    return acc.raw(tuple(seg_codes))


Partials = tuple[np.ndarray, np.ndarray, np.ndarray]  # retained revenue (two fixed-point limbs), customers


def _sample_fragment(task: tuple[Fragment, int, int], ctx: _Pass) -> Partials:
    return _guarded(_sample_one, task, ctx)


def _sample_one(task: tuple[Fragment, int, int], ctx: _Pass) -> Partials:
    from cxopt.engine.sampled import sampled_partials

    _worker_threads()
    fragment, lo, hi = task
    seg_codes = {s: i for i, s in enumerate(ctx.groups.segments)}
    return sampled_partials(ctx.scenario, ctx.groups, ctx.draws, [list(p) for p in ctx.portfolios],
                            lambda: _fragment_chunks(fragment, ctx, seg_codes), trials=(lo, hi),
                            n_rows=fragment.rows, where=fragment.name or "synthetic base")


@contextmanager
def _local_errors() -> Iterator[None]:
    try:
        yield
    except _RemoteProblems as exc:
        kind, problems = exc.args
        raise kind([Problem(*p) for p in problems]) from None


# --------------------------------------------------------------------------------------
# the passes
# --------------------------------------------------------------------------------------
@contextmanager
def _shared(client: "Client", ctx: _Pass):
    """``ctx`` on every worker (a lost worker's copy is fetched from another), released after the pass."""
    [future] = client.scatter([ctx], broadcast=True, hash=False)
    try:
        yield future
    finally:
        future.release()


def group_distributed(sc: Scenario, base: CustomerBase, client: "Client", chunk_size: int = DEFAULT_CHUNK, *,
                      fragment_rows: int | None = None) -> GroupStats:
    """The base's :class:`GroupStats`, computed on the cluster; identical to ``base.group()``.

    Each fragment is reduced to exact :class:`RawGroups` by a worker; the parts are merged in
    fragment order and finalised with the single-machine path's segment order (declared
    order for a synthetic base or declared segments, by name otherwise). Cached on ``base``
    like :meth:`CustomerBase.group`.
    """
    if base.cached_groups is not None:
        return base.cached_groups
    fragments = plan_fragments(base, fragment_rows, worker_count(client))
    ctx = _Pass(scenario=sc, n_customers=base.n_customers if base.kind == "synthetic" else 0, seed=base.seed,
                segments=base.declared_segments, declared=bool(sc.segment_ids),
                chunk_size=int(chunk_size or DEFAULT_CHUNK))
    with _shared(client, ctx) as shared, _local_errors():
        futures = client.map(_group_fragment, fragments, ctx=shared, pure=True)
        # the duplicate-id check reads only customer_id, here, while the workers group the rows
        # (the fragments are cut by row group, so no worker sees the whole base's ids)
        base.check_customer_ids(ctx.chunk_size)
        parts = client.gather(futures)
    # finalised and recorded as base.group() does, so the base behaves the same after either pass
    return base.adopt_groups(base.finalise_groups(RawGroups.merge(parts)))


def evaluate_sampled_distributed(sc: Scenario, base: CustomerBase, groups: GroupStats, draws: Draws,
                                 portfolios: Sequence[Sequence[int]], client: "Client",
                                 chunk_size: int | None = None, *, fragment_rows: int | None = None
                                 ) -> tuple[np.ndarray, np.ndarray]:
    """Retained revenue and customers, (P, T) each, with every customer's churn drawn — on the cluster.

    Identical to :func:`cxopt.engine.sampled.evaluate_sampled`: each fragment's integer partial sums
    (:func:`cxopt.engine.sampled.sampled_partials`) are added as they arrive (integer addition: the
    order cannot change a bit) and converted to floats once.
    """
    dd = _dask()
    tasks = plan_sampled_tasks(base, draws.trials, worker_count(client), fragment_rows)
    ctx = _Pass(scenario=sc, n_customers=base.n_customers if base.kind == "synthetic" else 0, seed=base.seed,
                segments=tuple(groups.segments), declared=bool(sc.segment_ids),
                chunk_size=int(chunk_size or DEFAULT_CHUNK), groups=groups, draws=draws,
                portfolios=tuple(tuple(int(k) for k in p) for p in portfolios))
    P, T = len(portfolios), draws.trials
    whole = np.zeros((P, T), dtype=np.int64)
    frac = np.zeros((P, T), dtype=np.int64)
    count = np.zeros((P, T), dtype=np.int64)
    with _shared(client, ctx) as shared, _local_errors():
        futures = client.map(_sample_fragment, tasks, ctx=shared, pure=True)
        span = {f.key: (lo, hi) for f, (_, lo, hi) in zip(futures, tasks)}
        pending = dd.as_completed(futures)
        del futures  # as_completed holds them; each part is dropped once added
        for future in pending:
            lo, hi = span[future.key]
            w, f, n = future.result()
            whole[:, lo:hi] += w
            frac[:, lo:hi] += f
            count[:, lo:hi] += n
    return fixed_to_float(whole, frac), count.astype(np.float64)


def plan_sampled_tasks(base: CustomerBase, trials: int, workers: int = 1, fragment_rows: int | None = None
                       ) -> list[tuple[Fragment, int, int]]:
    """Tasks of the sampled pass: (fragment, first trial, last trial + 1).

    A task computes the retention coefficients of its trials (O(groups x portfolios) per
    trial) and streams its fragment through them, so customers are cut into few large
    fragments (each coefficient table is then built few times) and trials into ranges until
    every worker has ``FRAGMENTS_PER_WORKER`` tasks.
    """
    if fragment_rows is None:
        fragment_rows = SAMPLED_FRAGMENT_ROWS
    fragments = plan_fragments(base, fragment_rows, workers)
    splits = max(1, min(trials, -(-FRAGMENTS_PER_WORKER * max(workers, 1) // len(fragments))))
    bounds = [trials * b // splits for b in range(splits + 1)]
    return [(f, bounds[b], bounds[b + 1]) for f in fragments for b in range(splits)
            if bounds[b + 1] > bounds[b]]


class DaskExecutor:
    """The engine's executor (:class:`cxopt.engine.executor.Executor`) on a Dask cluster.

    Hand it to :func:`cxopt.simulate` (``executor=DaskExecutor("local:2")``): the grouping
    pass and the sampled evaluation run on the cluster, with results identical to the
    single-machine path.

    Parameters
    ----------
    cluster : str or Client, optional
        ``"local"``, ``"local:N"``, a scheduler address ``"tcp://HOST:PORT"``, ``""``/None for
        ``DASK_SCHEDULER_ADDRESS``, or a connected ``dask.distributed.Client``.
    """

    def __init__(self, cluster: "str | Client | None" = None):
        self.client = connect(cluster)

    def group(self, sc: Scenario, base: CustomerBase, chunk_size: int | None = None,
              progress=None) -> GroupStats:
        return group_distributed(sc, base, self.client, chunk_size=chunk_size or DEFAULT_CHUNK)

    def evaluate_sampled(self, sc: Scenario, base: CustomerBase, groups: GroupStats, draws: Draws,
                         portfolios: Sequence[Sequence[int]], chunk_size: int | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
        return evaluate_sampled_distributed(sc, base, groups, draws, portfolios, self.client,
                                            chunk_size=chunk_size)
