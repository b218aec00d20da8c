"""Customer bases: synthetic (from the scenario and a seed) or read from Parquet/CSV, streamed.

A base is never loaded whole: :meth:`CustomerBase.iter_chunks` yields
:class:`CustomerChunk` objects of plain arrays, and the one streaming pass
:meth:`CustomerBase.group` reduces the base to :class:`GroupStats` — the sufficient
statistics of the model per (segment, exposure mask) (DESIGN.md section 1, "Grouped").

Synthetic customer ``i``'s attributes depend only on ``(seed, i)``: customers are made in
fixed blocks of ``SYNTHETIC_BLOCK`` rows, block ``b`` from its own random stream
``SeedSequence([seed, b])``, so chunk size, partitioning and thread count never change
a customer.

Exposure (synthetic): a one-factor Gaussian copula. Customer ``i`` draws ``w_i`` and,
per driver, ``eps_ij`` (standard normals); ``z_ij = sqrt(rho) w_i + sqrt(1 - rho) eps_ij``
and the customer meets driver ``j`` when ``z_ij < Phi^-1(v_j,s)``, so each driver's
volume is exact in expectation and any two exposures' latent correlation is ``rho``.
"""

from __future__ import annotations

import glob as _glob
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy.special import ndtri

from cxopt.kernels import grouping as kernels
from cxopt.kernels.fixed import fixed_to_float
from cxopt.data.atomic import atomic_path
from cxopt.model.scenario import Scenario
from cxopt.errors import Problem, ScenarioError

__all__ = ["CustomerBase", "CustomerChunk", "GroupStats", "DEFAULT_CHUNK", "SYNTHETIC_BLOCK"]

SYNTHETIC_BLOCK = 1 << 16
DEFAULT_CHUNK = 1 << 20
EXPOSED_PREFIX = "exposed_"
REQUIRED_COLUMNS = ("customer_id", "revenue", "baseline_churn", "segment")
DENSE_KEY_BITS = 12  # up to this many drivers the grouping pass indexes keys directly


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


@dataclass(frozen=True)
class GroupStats:
    """Sufficient statistics of a base per (segment, exposure mask) group.

    Attributes
    ----------
    segment, mask : group keys (int32 code, uint64 mask), sorted by (segment, mask)
    customers : N_g, number of customers
    revenue : A_g = sum r_i
    revenue_churn : B_g = sum r_i p_i
    churn : C_g = sum p_i
    max_churn : the largest baseline churn in the base
    segments, drivers : names of the segment codes and of the mask bits
    """

    segment: np.ndarray
    mask: np.ndarray
    customers: np.ndarray
    revenue: np.ndarray
    revenue_churn: np.ndarray
    churn: np.ndarray
    max_churn: float
    segments: tuple[str, ...]
    drivers: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        return int(self.segment.shape[0])

    @property
    def n_customers(self) -> int:
        return int(self.customers.sum())

    @property
    def total_revenue(self) -> float:
        return float(self.revenue.sum())

    def exposed(self, j: int) -> np.ndarray:
        """Boolean per group: are its customers exposed to driver ``j``?"""
        return (self.mask >> np.uint64(j)) & np.uint64(1) == 1

    def measured_volume(self) -> dict[str, dict[str, float]]:
        """Share of customers exposed to each driver, overall (``"all"``) and per segment."""
        out: dict[str, dict[str, float]] = {}
        n_seg = np.bincount(self.segment, weights=self.customers, minlength=len(self.segments))
        total = max(self.n_customers, 1)
        for j, d in enumerate(self.drivers):
            e = self.exposed(j)
            per = np.bincount(self.segment[e], weights=self.customers[e], minlength=len(self.segments))
            row = {"all": float(per.sum() / total)}
            for s, name in enumerate(self.segments):
                row[name] = float(per[s] / n_seg[s]) if n_seg[s] else 0.0
            out[d] = row
        return out

    @classmethod
    def from_raw(cls, raw: RawGroups, *, drivers: Sequence[str], segment_order: Sequence[str] | None = None,
                 where: str = "") -> "GroupStats":
        """Finalise exact sums: segment codes in ``segment_order`` (default: by name), groups sorted."""
        names = [str(x) for x in raw.segment]
        order = list(segment_order) if segment_order else sorted(set(names))
        code = {s: i for i, s in enumerate(order)}
        seg = np.array([code[x] for x in names], dtype=np.int32)
        idx = np.lexsort((raw.mask, seg))
        sums = raw.sums[idx]
        if int(sums[:, 0].sum()) == 0:
            raise ScenarioError(Problem(where, "", "the customer base has no rows"))
        return cls(
            segment=np.ascontiguousarray(seg[idx]),
            mask=np.ascontiguousarray(raw.mask[idx]),
            customers=sums[:, 0].astype(np.int64),
            revenue=fixed_to_float(sums[:, 1], sums[:, 2]),
            revenue_churn=fixed_to_float(sums[:, 3], sums[:, 4]),
            churn=fixed_to_float(sums[:, 5], sums[:, 6]),
            max_churn=float(raw.maxp.max()) if raw.maxp.size else 0.0,
            segments=tuple(order),
            drivers=tuple(drivers),
        )

    def segment_shares(self) -> dict[str, float]:
        n_seg = np.bincount(self.segment, weights=self.customers, minlength=len(self.segments))
        total = max(self.n_customers, 1)
        return {name: float(n_seg[s] / total) for s, name in enumerate(self.segments)}


@dataclass(frozen=True)
class RawGroups:
    """Exact group sums before conversion to floats: keys by segment *name*, int64 fixed point.

    Integer sums add exactly, so partial results from chunks, partitions or machines merge
    to the same bits in any order (:meth:`merge`).
    """

    segment: np.ndarray  # (G,) object: segment names
    mask: np.ndarray  # (G,) uint64
    sums: np.ndarray  # (G, 7) int64: n, rev whole/frac, rev*churn whole/frac, churn whole/frac
    maxp: np.ndarray  # (G,) float64

    @property
    def n_customers(self) -> int:
        return int(self.sums[:, 0].sum())

    @staticmethod
    def merge(parts: Sequence["RawGroups"]) -> "RawGroups":
        """Add partial results (exact, order-independent)."""
        acc = GroupAccumulator(64)
        names: dict[str, int] = {}
        for part in parts:
            codes = np.array([names.setdefault(str(x), len(names)) for x in part.segment], dtype=np.int32)
            acc.add_table(codes, part.mask, part.sums, part.maxp)
        return acc.raw(tuple(names))


class GroupAccumulator:
    """The growing hash table of the grouping pass (exact int64 sums)."""

    def __init__(self, n_bits: int):
        self.n_bits = n_bits
        self.seg = np.full(1 << 12, -1, dtype=np.int32)
        self.mask = np.zeros(1 << 12, dtype=np.uint64)
        self.sums = np.zeros((1 << 12, 7), dtype=np.int64)
        self.maxp = np.zeros(1 << 12, dtype=np.float64)
        self._slice_cap = 1 << 12
        self._n_groups = 0

    def add_chunk(self, chunk: "CustomerChunk") -> None:
        from numba import get_num_threads

        n_slices = max(1, get_num_threads())
        if self.n_bits <= DENSE_KEY_BITS:  # few drivers: index the (segment, mask) key directly
            t_seg, t_mask, sums, maxp = _dense_tables(chunk, n_slices, self.n_bits)
        else:
            while True:
                t_seg, t_mask, sums, maxp, ok = kernels.group_chunk(
                    chunk.segment, chunk.mask, chunk.revenue, chunk.baseline_churn, n_slices, self._slice_cap)
                if ok:
                    break
                self._slice_cap *= 4
        self._merge(t_seg, t_mask, sums, maxp)

    def add_table(self, seg, mask, sums, maxp) -> None:
        self._merge(np.asarray(seg, dtype=np.int32)[None, :], np.asarray(mask, dtype=np.uint64)[None, :],
                    np.asarray(sums, dtype=np.int64)[None, :, :], np.asarray(maxp, dtype=np.float64)[None, :])

    def _merge(self, t_seg, t_mask, sums, maxp) -> None:
        needed = self._n_groups + int((t_seg >= 0).sum())
        if 2 * needed > self.seg.shape[0]:  # keep the table at most half full
            self.seg, self.mask, self.sums, self.maxp = _rehash(self.seg, self.mask, self.sums, self.maxp, 4 * needed)
        added = kernels.merge_groups(self.seg, self.mask, self.sums, self.maxp, t_seg, t_mask, sums, maxp)
        assert added >= 0
        self._n_groups = int((self.seg >= 0).sum())

    def raw(self, segment_names: Sequence[str]) -> RawGroups:
        used = self.seg >= 0
        names = np.array(list(segment_names), dtype=object)
        return RawGroups(segment=names[self.seg[used]] if len(names) else np.zeros(0, dtype=object),
                         mask=self.mask[used].copy(), sums=self.sums[used].copy(), maxp=self.maxp[used].copy())


# --------------------------------------------------------------------------------------
# the base
# --------------------------------------------------------------------------------------
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

    # -- construction ---------------------------------------------------------------
    @classmethod
    def synthetic(cls, scenario: Scenario, n: int | None = None, seed: int | None = None) -> "CustomerBase":
        """A synthetic base of ``n`` customers (default: the scenario's ``count``)."""
        n = scenario.customers.count if n is None else int(n)
        if n is None or n < 1:
            raise ScenarioError(Problem(scenario.source, "customers.count", "a synthetic base needs at least 1 customer"))
        seed = scenario.scenario.seed if seed is None else int(seed)
        segments = scenario.segment_ids or ["all"]
        return cls(scenario, kind="synthetic", n=n, seed=seed, segments=segments)

    @classmethod
    def from_file(cls, scenario: Scenario, path: str | os.PathLike) -> "CustomerBase":
        """A base read from a Parquet file, a directory of Parquet files, a glob, or a CSV file."""
        paths = _resolve_paths(str(path))
        base = cls(scenario, kind="file", n=None, seed=None, paths=paths)
        base._check_columns()
        return base

    @classmethod
    def from_scenario(cls, scenario: Scenario, *, customers: int | None = None,
                      base_path: str | os.PathLike | None = None, seed: int | None = None) -> "CustomerBase":
        """The base a command works on: ``--base FILE``, else ``--customers N``, else the scenario's own."""
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
            self._n = sum(_count_rows(p) for p in self.paths)
        return self._n

    @property
    def segments(self) -> tuple[str, ...]:
        """Segment names in code order (for a file without declared segments: after :meth:`group`)."""
        if not self._segments:
            self.group()
        return self._segments

    @property
    def drivers(self) -> list[str]:
        return self.scenario.driver_ids

    def describe(self) -> str:
        if self.kind == "synthetic":
            return f"synthetic base of {self.n_customers:,} customers (seed {self.seed})"
        return ", ".join(str(p) for p in self.paths)

    # -- streaming ------------------------------------------------------------------
    def iter_chunks(self, chunk_size: int = DEFAULT_CHUNK) -> Iterator[CustomerChunk]:
        """Yield the base in consecutive chunks of about ``chunk_size`` rows."""
        if self.kind == "synthetic":
            yield from _prefetch(self._synthetic_chunks(chunk_size))
        else:
            yield from _prefetch(self._file_chunks(chunk_size))

    def group(self, chunk_size: int = DEFAULT_CHUNK, progress=None) -> GroupStats:
        """One streaming pass: the base's :class:`GroupStats` (cached)."""
        if self._groups is None:
            self._groups = self._group(chunk_size, progress)
        return self._groups

    def _group(self, chunk_size: int, progress) -> GroupStats:
        acc = GroupAccumulator(len(self.drivers))
        for chunk in self.iter_chunks(chunk_size):
            acc.add_chunk(chunk)
            if progress is not None:
                progress(len(chunk))
        raw = acc.raw(self._segments)
        if self._n is None:
            self._n = raw.n_customers
        declared = list(self._segments) if (self.kind == "synthetic" or self.scenario.customers.segments) else None
        stats = GroupStats.from_raw(raw, drivers=self.drivers, segment_order=declared, where=self.describe())
        self._segments = stats.segments
        return stats

    def raw_groups(self, chunk_size: int = DEFAULT_CHUNK) -> "RawGroups":
        """The exact (fixed-point) group sums of this base, keyed by segment name: for merging
        partial results from several machines (:meth:`RawGroups.merge`)."""
        acc = GroupAccumulator(len(self.drivers))
        for chunk in self.iter_chunks(chunk_size):
            acc.add_chunk(chunk)
        return acc.raw(self._segments)

    # -- synthetic ------------------------------------------------------------------
    def _synthetic_chunks(self, chunk_size: int) -> Iterator[CustomerChunk]:
        blocks_per_chunk = max(1, chunk_size // SYNTHETIC_BLOCK)
        spec = _SyntheticSpec.from_scenario(self.scenario)
        n = self.n_customers
        n_blocks = (n + SYNTHETIC_BLOCK - 1) // SYNTHETIC_BLOCK
        for b0 in range(0, n_blocks, blocks_per_chunk):
            parts = [spec.block(self.seed, b, n) for b in range(b0, min(n_blocks, b0 + blocks_per_chunk))]
            yield CustomerChunk(*(np.concatenate([p[k] for p in parts]) for k in range(5)))

    def synthetic_rows(self, start: int, stop: int) -> CustomerChunk:
        """Customers ``start..stop-1`` of a synthetic base (any range: for partitions)."""
        spec = _SyntheticSpec.from_scenario(self.scenario)
        b0, b1 = start // SYNTHETIC_BLOCK, (stop - 1) // SYNTHETIC_BLOCK + 1
        parts = [spec.block(self.seed, b, self.n_customers) for b in range(b0, b1)]
        arrays = [np.concatenate([p[k] for p in parts]) for k in range(5)]
        off = start - b0 * SYNTHETIC_BLOCK
        return CustomerChunk(*(a[off: off + stop - start] for a in arrays))

    # -- files ------------------------------------------------------------------------
    def _check_columns(self) -> None:
        drivers = set(self.drivers)
        for path in self.paths:
            names = _schema_names(path)
            where = str(path)
            for col in REQUIRED_COLUMNS:
                if col not in names:
                    raise ScenarioError(Problem(where, col, "missing column"))
            for col in names:
                if col.startswith(EXPOSED_PREFIX) and col[len(EXPOSED_PREFIX):] not in drivers:
                    raise ScenarioError(Problem(
                        where, col, f"no pain point or delighter {col[len(EXPOSED_PREFIX):]!r} in the scenario"))
            for d in self.drivers:
                if EXPOSED_PREFIX + d not in names:
                    raise ScenarioError(Problem(where, EXPOSED_PREFIX + d, f"missing column for driver {d!r}"))
        declared = self.scenario.segment_ids
        if declared:
            self._segments = tuple(declared)

    def _file_chunks(self, chunk_size: int) -> Iterator[CustomerChunk]:
        columns = [*REQUIRED_COLUMNS, *(EXPOSED_PREFIX + d for d in self.drivers)]
        seg_codes = {s: i for i, s in enumerate(self._segments)}
        declared = bool(self.scenario.segment_ids)
        for path in self.paths:
            row0 = 0
            for batch in _iter_batches(path, columns, chunk_size):
                chunk = _chunk_from_batch(batch, self.drivers, seg_codes, declared, str(path), row0)
                row0 += batch.num_rows
                yield chunk
        if not declared:
            self._segments = tuple(seg_codes)

    # -- writing ----------------------------------------------------------------------
    def write_parquet(self, path: str | os.PathLike, *, force: bool = False, chunk_size: int = DEFAULT_CHUNK,
                      progress=None) -> Path:
        """Write the base to ``path`` in row groups, atomically (temporary name, then rename)."""
        drivers = self.drivers
        schema = _parquet_schema(drivers)
        seg_dict = pa.array(list(self.segments), type=pa.string())
        with atomic_path(path, force=force) as tmp:
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                for chunk in self.iter_chunks(chunk_size):
                    writer.write_table(_chunk_table(chunk, drivers, schema, seg_dict))
                    if progress is not None:
                        progress(len(chunk))
        return Path(path)


def _prefetch(chunks: Iterator[CustomerChunk], depth: int = 2) -> Iterator[CustomerChunk]:
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


def write_partitioned(base: "CustomerBase", out: str | os.PathLike, partitions: int, *, force: bool = False,
                      chunk_size: int = DEFAULT_CHUNK, workers: int | None = None, progress=None) -> Path:
    """Write a synthetic base as a directory of ``partitions`` Parquet files, in parallel.

    Partition p holds customers ``[p N / P, (p + 1) N / P)``; a customer depends only on
    (seed, id), so the data are the same whatever ``partitions``.
    """
    from concurrent.futures import ThreadPoolExecutor

    from cxopt.data.atomic import atomic_dir

    if base.kind != "synthetic":
        raise ValueError("only a synthetic base can be written in partitions")
    if partitions < 1:
        raise ScenarioError(Problem("", "--partitions", f"must be >= 1, got {partitions}"))
    n = base.n_customers
    bounds = [n * p // partitions for p in range(partitions + 1)]
    drivers = base.drivers
    schema = _parquet_schema(drivers)
    seg_dict = pa.array(list(base.segments), type=pa.string())

    def write_one(p: int, folder: Path) -> int:
        lo, hi = bounds[p], bounds[p + 1]
        with pq.ParquetWriter(folder / f"part-{p:05d}.parquet", schema, compression="zstd") as writer:
            for start in range(lo, hi, chunk_size):
                chunk = base.synthetic_rows(start, min(hi, start + chunk_size))
                writer.write_table(_chunk_table(chunk, drivers, schema, seg_dict))
                if progress is not None:
                    progress(len(chunk))
        return hi - lo

    with atomic_dir(out, force=force) as tmp:
        with ThreadPoolExecutor(max_workers=workers or min(partitions, os.cpu_count() or 1)) as pool:
            list(pool.map(lambda p: write_one(p, tmp), range(partitions)))
    return Path(out)


def _parquet_schema(drivers: Sequence[str]) -> pa.Schema:
    return pa.schema(
        [("customer_id", pa.int64()), ("revenue", pa.float64()), ("baseline_churn", pa.float64()),
         ("segment", pa.dictionary(pa.int32(), pa.string()))]
        + [(EXPOSED_PREFIX + d, pa.bool_()) for d in drivers]
    )


def _chunk_table(chunk: CustomerChunk, drivers: Sequence[str], schema: pa.Schema, seg_dict: pa.Array) -> pa.Table:
    cols = [
        pa.array(chunk.customer_id), pa.array(chunk.revenue), pa.array(chunk.baseline_churn),
        pa.DictionaryArray.from_arrays(pa.array(chunk.segment, type=pa.int32()), seg_dict),
    ]
    for j in range(len(drivers)):
        cols.append(pa.array(((chunk.mask >> np.uint64(j)) & np.uint64(1)).astype(np.bool_)))
    return pa.Table.from_arrays(cols, schema=schema)


# --------------------------------------------------------------------------------------
# synthetic generation
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _SyntheticSpec:
    cum_share: np.ndarray  # (S,)
    revenue_mult: np.ndarray  # (S,)
    revenue: object
    churn: tuple  # per segment Distribution
    thresholds: np.ndarray  # (D, S) latent thresholds Phi^-1(volume)
    rho: float

    @classmethod
    def from_scenario(cls, sc: Scenario) -> "_SyntheticSpec":
        segs = sc.customers.segments
        seg_ids = sc.segment_ids or ["all"]
        if segs:
            shares = np.array([s.share for s in segs], dtype=np.float64)
            mult = np.array([s.revenue_multiplier for s in segs], dtype=np.float64)
            churn = tuple(s.baseline_churn or sc.customers.baseline_churn for s in segs)
        else:
            shares, mult, churn = np.ones(1), np.ones(1), (sc.customers.baseline_churn,)
        cum = np.cumsum(shares)
        cum[-1] = 1.0
        vol = np.zeros((len(sc.drivers), len(seg_ids)))
        for j, d in enumerate(sc.drivers):
            for s, name in enumerate(seg_ids):
                vol[j, s] = driver_volume(sc, d, name)
        with np.errstate(divide="ignore"):
            thresholds = ndtri(vol)  # -inf for 0, +inf for 1
        return cls(cum, mult, sc.customers.revenue, churn, thresholds, float(sc.customers.exposure_correlation))

    def block(self, seed: int, b: int, n_total: int):
        lo = b * SYNTHETIC_BLOCK
        keep = min(SYNTHETIC_BLOCK, n_total - lo)
        # always a whole block, then cut: a customer must not depend on the size of the base
        n = SYNTHETIC_BLOCK
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, b])))
        customer_id = np.arange(lo, lo + n, dtype=np.int64)
        segment = np.searchsorted(self.cum_share, rng.random(n), side="right").astype(np.int32)
        np.minimum(segment, len(self.cum_share) - 1, out=segment)
        revenue = self.revenue.draw(rng, n) * self.revenue_mult[segment]
        churn = np.empty(n)
        for s, dist in enumerate(self.churn):
            sel = segment == s
            churn[sel] = dist.draw(rng, int(sel.sum()))
        d = self.thresholds.shape[0]
        mask = np.zeros(n, dtype=np.uint64)
        if d:
            common = rng.standard_normal(n) * math.sqrt(self.rho)
            own = rng.standard_normal((d, n))
            own *= math.sqrt(1.0 - self.rho)
            own += common
            limit = self.thresholds[:, segment]  # (D, n)
            exposed = own < limit
            for j in range(d):
                mask |= exposed[j].astype(np.uint64) << np.uint64(j)
        if keep < n:
            return customer_id[:keep], revenue[:keep], churn[:keep], segment[:keep], mask[:keep]
        return customer_id, revenue, churn, segment, mask


def driver_volume(sc: Scenario, driver, segment: str) -> float:
    """The planned share of a segment's customers exposed to a driver (volume or reach)."""
    value = getattr(driver, "volume", None) if hasattr(driver, "severity") else driver.reach
    if value is None:  # complaints / complaint_rate
        return float(driver.complaints / driver.complaint_rate / sc.customers.count)
    if isinstance(value, dict):
        return float(value[segment])
    return float(value)


# --------------------------------------------------------------------------------------
# file reading
# --------------------------------------------------------------------------------------
def _resolve_paths(path: str) -> list[Path]:
    p = Path(path)
    if any(c in path for c in "*?["):
        found = sorted(Path(x) for x in _glob.glob(path, recursive=True))
        if not found:
            raise ScenarioError(Problem(path, "", "no file matches this pattern"))
        return found
    if p.is_dir():
        found = sorted(x for x in p.rglob("*.parquet") if x.is_file())
        if not found:
            raise ScenarioError(Problem(path, "", "the directory holds no .parquet files"))
        return found
    if not p.exists():
        raise ScenarioError(Problem(path, "", "no such file"))
    return [p]


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() in (".csv", ".txt") or path.name.lower().endswith(".csv.gz")


def _schema_names(path: Path) -> list[str]:
    try:
        if _is_csv(path):
            with open(path, "rb") as fh:
                reader = pacsv.open_csv(fh)
                return list(reader.schema.names)
        return list(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ScenarioError(Problem(str(path), "", f"cannot read as {'CSV' if _is_csv(path) else 'Parquet'}: {exc}")) from None


def _count_rows(path: Path) -> int:
    if _is_csv(path):
        return sum(b.num_rows for b in _iter_batches(path, ["customer_id"], DEFAULT_CHUNK))
    return pq.ParquetFile(path).metadata.num_rows


def _iter_batches(path: Path, columns: list[str], chunk_size: int) -> Iterator[pa.RecordBatch]:
    try:
        if _is_csv(path):
            convert = pacsv.ConvertOptions(
                include_columns=columns,
                strings_can_be_null=True,  # an empty segment cell is a missing value, not a segment ''
                column_types={"customer_id": pa.int64(), "revenue": pa.float64(),
                              "baseline_churn": pa.float64(), "segment": pa.string()},
            )
            read = pacsv.ReadOptions(block_size=max(1 << 20, chunk_size * 64))
            with pacsv.open_csv(path, read_options=read, convert_options=convert) as reader:
                for batch in reader:
                    yield batch
        else:
            pf = pq.ParquetFile(path)
            yield from pf.iter_batches(batch_size=chunk_size, columns=columns)
    except pa.ArrowInvalid as exc:
        raise ScenarioError(Problem(str(path), "", f"cannot read: {exc}")) from None


def _first_bad(bad: np.ndarray) -> int:
    return int(np.flatnonzero(bad)[0])


def _chunk_from_batch(batch: pa.RecordBatch, drivers: list[str], seg_codes: dict[str, int], declared: bool,
                      where: str, row0: int) -> CustomerChunk:
    def column(name: str) -> pa.Array:
        return batch.column(batch.schema.get_field_index(name))

    def fail(col: str, i: int, reason: str) -> None:
        cid = column("customer_id")[i].as_py()
        raise ScenarioError(Problem(where, col, f"row {row0 + i + 1} (customer_id {cid}): {reason}"))

    def numeric(name: str, dtype) -> np.ndarray:
        arr = column(name)
        if arr.null_count:
            fail(name, _first_bad(np.asarray(arr.is_null())), "missing value")
        try:
            return np.ascontiguousarray(arr.to_numpy(zero_copy_only=False).astype(dtype, copy=False))
        except (ValueError, TypeError, pa.ArrowInvalid):
            raise ScenarioError(Problem(where, name, f"expected {np.dtype(dtype).name} values, got {arr.type}")) from None

    cid_arr = column("customer_id")
    if cid_arr.null_count:
        raise ScenarioError(Problem(where, "customer_id", f"row {row0 + _first_bad(np.asarray(cid_arr.is_null())) + 1}: missing value"))
    customer_id = numeric("customer_id", np.int64)
    revenue = numeric("revenue", np.float64)
    churn = numeric("baseline_churn", np.float64)
    bad = ~np.isfinite(revenue)
    if bad.any():
        fail("revenue", _first_bad(bad), "not a number")
    bad = revenue < 0
    if bad.any():
        fail("revenue", _first_bad(bad), f"negative revenue {revenue[_first_bad(bad)]:g}")
    bad = ~np.isfinite(churn)
    if bad.any():
        fail("baseline_churn", _first_bad(bad), "not a number")
    bad = (churn < 0) | (churn > 1)
    if bad.any():
        fail("baseline_churn", _first_bad(bad), f"{churn[_first_bad(bad)]:g} outside [0, 1]")

    seg = column("segment")
    if seg.null_count:
        fail("segment", _first_bad(np.asarray(seg.is_null())), "missing value")
    if not pa.types.is_dictionary(seg.type):
        seg = seg.cast(pa.string()).dictionary_encode()
    names = [str(x) for x in seg.dictionary.to_pylist()]
    lookup = np.empty(len(names), dtype=np.int32)
    for k, name in enumerate(names):
        if name not in seg_codes:
            if declared:
                first = _first_bad(np.asarray(seg.indices) == k)
                fail("segment", first, f"segment {name!r} is not declared in the scenario's [[customers.segments]]")
            seg_codes[name] = len(seg_codes)
        lookup[k] = seg_codes[name]
    segment = lookup[np.asarray(seg.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]

    n = batch.num_rows
    mask = np.zeros(n, dtype=np.uint64)
    for j, d in enumerate(drivers):
        name = EXPOSED_PREFIX + d
        arr = column(name)
        if arr.null_count:
            fail(name, _first_bad(np.asarray(arr.is_null())), "missing value")
        if pa.types.is_boolean(arr.type):
            values = arr.to_numpy(zero_copy_only=False)
        elif pa.types.is_integer(arr.type):
            values = arr.to_numpy(zero_copy_only=False)
            bad = (values != 0) & (values != 1)
            if bad.any():
                fail(name, _first_bad(bad), f"expected true/false (or 0/1), got {values[_first_bad(bad)]}")
            values = values.astype(np.bool_)
        else:
            raise ScenarioError(Problem(where, name, f"expected a boolean column, got {arr.type}"))
        mask |= values.astype(np.uint64) << np.uint64(j)
    return CustomerChunk(customer_id, revenue, churn, np.ascontiguousarray(segment), mask)


def _dense_tables(chunk: CustomerChunk, n_slices: int, n_bits: int):
    """Dense per-slice sums turned into the sparse table form :func:`kernels.merge_groups` takes."""
    sums, maxp = kernels.group_chunk_dense(chunk.segment, chunk.mask, chunk.revenue, chunk.baseline_churn,
                                           n_slices, n_bits)
    keys = np.arange(sums.shape[1], dtype=np.int64)
    t_seg = np.where(sums[:, :, 0] > 0, (keys >> n_bits).astype(np.int32)[None, :], np.int32(-1)).astype(np.int32)
    t_mask = np.broadcast_to((keys & ((1 << n_bits) - 1)).astype(np.uint64), t_seg.shape).copy()
    return t_seg, t_mask, sums, maxp


def _rehash(g_seg, g_mask, g_sums, g_maxp, at_least: int):
    cap = 1 << max(12, int(math.ceil(math.log2(max(at_least, 2)))))
    n_seg = np.full(cap, -1, dtype=np.int32)
    n_mask = np.zeros(cap, dtype=np.uint64)
    n_sums = np.zeros((cap, 7), dtype=np.int64)
    n_maxp = np.zeros(cap, dtype=np.float64)
    used = g_seg >= 0
    added = kernels.merge_groups(
        n_seg, n_mask, n_sums, n_maxp, g_seg[used][None, :], g_mask[used][None, :], g_sums[used][None, :, :],
        g_maxp[used][None, :]
    )
    assert added >= 0
    return n_seg, n_mask, n_sums, n_maxp
