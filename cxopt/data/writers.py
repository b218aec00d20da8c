"""Writing customer bases as Parquet: one file in row groups, or a directory of partitions
written in parallel; always atomically (temporary name, then rename: :mod:`cxopt.data.atomic`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cxopt.data.atomic import atomic_dir, atomic_path
from cxopt.data.chunk import DEFAULT_CHUNK, EXPOSED_PREFIX, CustomerChunk
from cxopt.errors import ArgumentError

__all__ = ["parquet_schema", "chunk_table", "write_parquet", "write_partitioned"]


def parquet_schema(drivers: Sequence[str]) -> pa.Schema:
    """The customer file's columns (DESIGN.md section 6): segment dictionary-encoded, one bool per driver."""
    return pa.schema(
        [("customer_id", pa.int64()), ("revenue", pa.float64()), ("baseline_churn", pa.float64()),
         ("segment", pa.dictionary(pa.int32(), pa.string()))]
        + [(EXPOSED_PREFIX + d, pa.bool_()) for d in drivers]
    )


def chunk_table(chunk: CustomerChunk, drivers: Sequence[str], schema: pa.Schema,
                segments: pa.Array) -> pa.Table:
    """``chunk`` as a table of ``schema`` (``segments``: the segment names, in code order)."""
    cols = [
        pa.array(chunk.customer_id), pa.array(chunk.revenue), pa.array(chunk.baseline_churn),
        pa.DictionaryArray.from_arrays(pa.array(chunk.segment, type=pa.int32()), segments),
    ]
    for j in range(len(drivers)):
        cols.append(pa.array(((chunk.mask >> np.uint64(j)) & np.uint64(1)).astype(np.bool_)))
    return pa.Table.from_arrays(cols, schema=schema)


def write_parquet(chunks: Iterable[CustomerChunk], path: str | os.PathLike, *, drivers: Sequence[str],
                  segments: Sequence[str], force: bool = False,
                  progress: Callable[[int], None] | None = None) -> Path:
    """Write ``chunks`` to ``path``, a row group (or more) each, atomically."""
    schema = parquet_schema(drivers)
    seg_dict = pa.array(list(segments), type=pa.string())
    with atomic_path(path, force=force) as tmp:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for chunk in chunks:
                writer.write_table(chunk_table(chunk, drivers, schema, seg_dict))
                if progress is not None:
                    progress(len(chunk))
    return Path(path)


def write_partitioned(base, out: str | os.PathLike, partitions: int, *, force: bool = False,
                      chunk_size: int = DEFAULT_CHUNK, workers: int | None = None,
                      progress: Callable[[int], None] | None = None) -> Path:
    """Write a synthetic base (a :class:`~cxopt.data.base.CustomerBase`) as a directory of
    ``partitions`` Parquet files, in parallel.

    Partition p holds customers ``[p N / P, (p + 1) N / P)``; a customer depends only on
    (seed, id), so the data are the same whatever ``partitions``.
    """
    from concurrent.futures import ThreadPoolExecutor

    if base.kind != "synthetic":
        raise ArgumentError("base", f"only a synthetic base can be written in partitions, "
                                    f"got {base.describe()}")
    if isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer)) or partitions < 1:
        raise ArgumentError("partitions", f"must be a whole number >= 1, got {partitions!r}")
    if chunk_size < 1:
        raise ArgumentError("chunk_size", f"must be >= 1, got {chunk_size!r}")
    n = base.n_customers
    bounds = [n * p // partitions for p in range(partitions + 1)]
    drivers = base.drivers
    schema = parquet_schema(drivers)
    seg_dict = pa.array(list(base.segments), type=pa.string())

    def write_one(p: int, folder: Path) -> int:
        lo, hi = bounds[p], bounds[p + 1]
        with pq.ParquetWriter(folder / f"part-{p:05d}.parquet", schema, compression="zstd") as writer:
            for start in range(lo, hi, chunk_size):
                chunk = base.synthetic_rows(start, min(hi, start + chunk_size))
                writer.write_table(chunk_table(chunk, drivers, schema, seg_dict))
                if progress is not None:
                    progress(len(chunk))
        return hi - lo

    with atomic_dir(out, force=force) as tmp:
        with ThreadPoolExecutor(max_workers=workers or min(partitions, os.cpu_count() or 1)) as pool:
            list(pool.map(lambda p: write_one(p, tmp), range(partitions)))
    return Path(out)
