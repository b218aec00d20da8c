"""The customer base: synthetic (from the scenario and a seed) or read from Parquet/CSV, streamed.

A base is never loaded whole: :meth:`CustomerBase.iter_chunks` yields
:class:`~cxopt.data.chunk.CustomerChunk` objects of plain arrays, and the one streaming pass
:meth:`CustomerBase.group` reduces the base to :class:`~cxopt.data.groups.GroupStats` — the
sufficient statistics of the model per (segment, exposure mask) (DESIGN.md section 1,
"Grouped"). A pass made elsewhere (the Dask workers of :mod:`cxopt.distributed`) hands its
result to the base with :meth:`CustomerBase.adopt_groups`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from cxopt.data import cache
from cxopt.data.chunk import DEFAULT_CHUNK, EXPOSED_PREFIX, MAX_TOTAL_REVENUE, REQUIRED_COLUMNS, CustomerChunk
from cxopt.data.groups import GroupAccumulator, GroupStats, RawGroups
from cxopt.data.readers import check_columns, chunk_from_batch, count_rows, iter_batches, resolve_paths
from cxopt.data.synthetic import SyntheticSpec, synthetic_chunks, synthetic_rows
from cxopt.data.unique import DuplicateIds
from cxopt.data.writers import write_parquet
from cxopt.errors import ArgumentError, DataError, Problem, ScenarioError
from cxopt.model.scenario import Scenario

__all__ = ["CustomerBase", "prefetch"]


class CustomerBase:
    """A customer base, streamed in chunks. Build with :meth:`synthetic` or :meth:`from_file`.

    Examples
    --------
    >>> sc = load_scenario("scenarios/bottom_up_article.toml")      # doctest: +SKIP
    >>> base = CustomerBase.synthetic(sc, n=1_000_000, seed=7)       # doctest: +SKIP
    >>> stats = base.group()                                         # doctest: +SKIP
    """

    def __init__(self, scenario: Scenario, *, kind: str, n: int | None, seed: int | None,
                 paths: Sequence[Path] = (), segments: Sequence[str] = ()):
        self.scenario = scenario
        self.kind = kind
        self._n = n
        self.seed = seed
        self.paths = tuple(paths)
        self._segments = tuple(segments)
        self._groups: GroupStats | None = None
        self.use_cache = True  # file bases: read and write the group cache (cxopt.data.cache); --no-cache

    # -- construction ---------------------------------------------------------------
    @classmethod
    def synthetic(cls, scenario: Scenario, n: int | None = None, seed: int | None = None) -> "CustomerBase":
        """A synthetic base of ``n`` customers (default: the scenario's ``count``)."""
        if n is not None and (isinstance(n, bool) or int(n) != n or n < 1):
            raise ArgumentError("n", f"a synthetic base needs a whole number of customers >= 1, got {n!r}")
        n = scenario.customers.count if n is None else int(n)
        if n is None or n < 1:
            raise ScenarioError(Problem(scenario.source, "customers.count",
                                        "a synthetic base needs at least 1 customer"))
        seed = scenario.scenario.seed if seed is None else int(seed)
        segments = scenario.segment_ids or ["all"]
        return cls(scenario, kind="synthetic", n=n, seed=seed, segments=segments)

    @classmethod
    def from_file(cls, scenario: Scenario, path: str | os.PathLike) -> "CustomerBase":
        """A base read from a Parquet file, a directory of Parquet files, a glob, or a CSV file."""
        paths = resolve_paths(str(path))
        for p in paths:
            check_columns(p, scenario.driver_ids)
        return cls(scenario, kind="file", n=None, seed=None, paths=paths, segments=scenario.segment_ids)

    @classmethod
    def from_scenario(cls, scenario: Scenario, *, customers: int | None = None,
                      base_path: str | os.PathLike | None = None, seed: int | None = None) -> "CustomerBase":
        """The base a command works on: the file ``base_path``, else ``customers`` synthetic
        customers, else the scenario's own (its ``customers.path`` or ``customers.count``)."""
        if base_path is not None:
            return cls.from_file(scenario, base_path)
        if customers is not None:
            return cls.synthetic(scenario, n=customers, seed=seed)
        if scenario.customers.path is not None:
            return cls.from_file(scenario, scenario.customers.path)
        return cls.synthetic(scenario, seed=seed)

    # -- properties -----------------------------------------------------------------
    @property
    def n_customers(self) -> int:
        if self._n is None:
            self._n = sum(count_rows(p) for p in self.paths)
        return self._n

    @property
    def segments(self) -> tuple[str, ...]:
        """Segment names in code order (for a file without declared segments: after :meth:`group`)."""
        if not self._segments:
            self.group()
        return self._segments

    @property
    def declared_segments(self) -> tuple[str, ...]:
        """The segments known before any row is read, in code order: the scenario's declared ones
        (a synthetic base without any has the one segment ``"all"``); empty for a file whose
        segments are the values of its ``segment`` column."""
        if self.kind == "synthetic":
            return tuple(self.scenario.segment_ids or ["all"])
        return tuple(self.scenario.segment_ids)

    @property
    def drivers(self) -> list[str]:
        return self.scenario.driver_ids

    @property
    def cached_groups(self) -> GroupStats | None:
        """The group statistics if a pass has made them (:meth:`group`, :meth:`adopt_groups`), else None."""
        return self._groups

    def describe(self) -> str:
        if self.kind == "synthetic":
            return f"synthetic base of {self.n_customers:,} customers (seed {self.seed})"
        return ", ".join(str(p) for p in self.paths)

    # -- streaming ------------------------------------------------------------------
    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[CustomerChunk]:
        """Yield the base in consecutive chunks of about ``chunk_size`` rows."""
        if isinstance(chunk_size, bool) or int(chunk_size) != chunk_size or chunk_size < 1:
            raise ArgumentError("chunk_size", f"expected a number of rows >= 1, got {chunk_size!r}")
        chunk_size = int(chunk_size)
        if self.kind == "synthetic":
            yield from prefetch(synthetic_chunks(SyntheticSpec.from_scenario(self.scenario), self.seed,
                                                 self.n_customers, chunk_size))
        else:
            yield from prefetch(self._file_chunks(chunk_size))

    def head(self, n: int) -> CustomerChunk:
        """The base's first ``n`` customers as one chunk."""
        if n <= 0:
            return CustomerChunk.empty()
        if self.kind == "synthetic":
            return self.synthetic_rows(0, min(n, self.n_customers))
        parts, have = [], 0
        for chunk in self.iter_chunks(min(DEFAULT_CHUNK, n)):
            parts.append(chunk)
            have += len(chunk)
            if have >= n:
                break
        return CustomerChunk.concat(parts).rows(0, n)

    def synthetic_rows(self, start: int, stop: int) -> CustomerChunk:
        """Customers ``start..stop-1`` of a synthetic base (any range: for partitions)."""
        spec = SyntheticSpec.from_scenario(self.scenario)
        return synthetic_rows(spec, self.seed, self.n_customers, start, stop)

    # -- grouping -------------------------------------------------------------------
    def group(self, chunk_size: int = DEFAULT_CHUNK,
              progress: Callable[[int], None] | None = None) -> GroupStats:
        """One streaming pass: the base's :class:`GroupStats` (cached)."""
        if self._groups is None:
            key = self._cache_key()
            cached = cache.load_groups(key) if key is not None else None
            if cached is not None:
                self.adopt_groups(cached)  # a re-run on the same file: no pass over it (cxopt.data.cache)
                return self._groups
            acc = GroupAccumulator(len(self.drivers))
            for chunk in self.iter_chunks(chunk_size):
                acc.add_chunk(chunk)
                if progress is not None:
                    progress(len(chunk))
            self.adopt_groups(self.finalise_groups(acc.raw(self._segments)))
            if key is not None:
                cache.store_groups(key, self._groups)
        return self._groups

    def _cache_key(self) -> str | None:
        """The group cache's key for a file base (None: synthetic, or ``use_cache`` off)."""
        if self.kind != "file" or not self.use_cache:
            return None
        return cache.cache_key(self.paths, self.drivers, self.scenario.segment_ids)

    def raw_groups(self, chunk_size: int = DEFAULT_CHUNK) -> RawGroups:
        """The exact (fixed-point) group sums of this base, keyed by segment name: for merging
        partial results from several machines (:meth:`RawGroups.merge`)."""
        acc = GroupAccumulator(len(self.drivers))
        for chunk in self.iter_chunks(chunk_size):
            acc.add_chunk(chunk)
        return acc.raw(self._segments)

    def finalise_groups(self, raw: RawGroups) -> GroupStats:
        """The :class:`GroupStats` of this base from its exact sums (made here or merged from
        parts), with this base's drivers and segment order: the declared segments, else by name."""
        return GroupStats.from_raw(raw, drivers=self.drivers, segment_order=self.declared_segments or None,
                                   where=self.describe())

    def adopt_groups(self, groups: GroupStats) -> GroupStats:
        """Take ``groups``, made by a pass over this base elsewhere (another process, the Dask
        workers), as this base's own: :meth:`group` returns them without reading the base, and
        the segments and the customer count are theirs. Returns ``groups``.

        Raises
        ------
        ArgumentError
            ``groups`` cannot be this base's: other drivers, other declared segments, or another
            number of customers than the base is known to hold.
        """
        if not isinstance(groups, GroupStats):
            raise ArgumentError("groups", f"expected GroupStats, got {type(groups).__name__}")
        if tuple(groups.drivers) != tuple(self.drivers):
            raise ArgumentError("groups", f"drivers {list(groups.drivers)} are not the base's {self.drivers}")
        declared = self.declared_segments
        if declared and tuple(groups.segments) != declared:
            raise ArgumentError("groups",
                                f"segments {list(groups.segments)} are not the base's {list(declared)}")
        if self._n is not None and groups.n_customers != self._n:
            raise ArgumentError("groups", f"{groups.n_customers:,} customers, but the base holds {self._n:,}")
        self._n = groups.n_customers
        self._segments = tuple(groups.segments)
        self._groups = groups
        return groups

    # -- files ------------------------------------------------------------------------
    def _file_chunks(self, chunk_size: int) -> Iterator[CustomerChunk]:
        columns = [*REQUIRED_COLUMNS, *(EXPOSED_PREFIX + d for d in self.drivers)]
        seg_codes = {s: i for i, s in enumerate(self._segments)}
        declared = bool(self.scenario.segment_ids)
        duplicates = DuplicateIds(self.n_customers)  # bounded memory: cxopt.data.unique
        total = 0.0  # a float sum beside the kernels' int64 ones, so that those cannot wrap
        for path in self.paths:
            row0 = 0
            for batch in iter_batches(path, columns, chunk_size):
                chunk = chunk_from_batch(batch, self.drivers, seg_codes, declared=declared, where=str(path),
                                         row0=row0)
                duplicates.add(chunk.customer_id)
                total += float(chunk.revenue.sum())
                if total > MAX_TOTAL_REVENUE:
                    raise DataError(Problem(str(path), "revenue", f"rows up to {row0 + len(chunk)}: the base's "
                                            f"revenue adds up to more than {MAX_TOTAL_REVENUE:g}"))
                row0 += batch.num_rows
                yield chunk
        duplicates.check(self.paths, lambda p: self._id_batches(p, chunk_size))
        if not declared:
            self._segments = tuple(seg_codes)

    def _id_batches(self, path: Path, chunk_size: int) -> Iterator[np.ndarray]:
        for b in iter_batches(path, ["customer_id"], chunk_size):
            yield np.asarray(b.column(0).to_numpy(zero_copy_only=False), dtype=np.int64)

    def check_customer_ids(self, chunk_size: int = DEFAULT_CHUNK) -> None:
        """Raise :class:`~cxopt.errors.DataError` if a customer id appears twice in the base's files.

        The same bounded-memory method as the grouping pass (:mod:`cxopt.data.unique`), over the
        ``customer_id`` column alone: for passes that read the rows elsewhere (the Dask
        workers), so that a file base is checked whichever path groups it. A synthetic base has
        unique ids by construction.
        """
        if self.kind != "file":
            return
        duplicates = DuplicateIds(self.n_customers)
        for path in self.paths:
            for ids in self._id_batches(path, chunk_size):
                duplicates.add(ids)
        duplicates.check(self.paths, lambda p: self._id_batches(p, chunk_size))

    # -- writing ----------------------------------------------------------------------
    def write_parquet(self, path: str | os.PathLike, *, force: bool = False, chunk_size: int = DEFAULT_CHUNK,
                      progress: Callable[[int], None] | None = None) -> Path:
        """Write the base to ``path`` in row groups, atomically (temporary name, then rename)."""
        return write_parquet(self.iter_chunks(chunk_size), path, drivers=self.drivers, segments=self.segments,
                             force=force, progress=progress)


def prefetch(chunks: Iterator[CustomerChunk], depth: int = 2) -> Iterator[CustomerChunk]:
    """Make the next chunks in a background thread while the caller works on this one.

    Decoding Parquet and drawing synthetic customers release the GIL, so reading overlaps
    the grouping kernels. Order is kept; an error in the reader is raised here.
    """
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        q.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            q.put(exc)

    thread = threading.Thread(target=work, name="cxopt-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
