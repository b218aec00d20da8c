"""Reading customer files (Parquet or CSV; a file, a directory of Parquet files or a glob),
streamed in record batches and validated row by row (DESIGN.md section 6).

Every problem raises :class:`~cxopt.errors.DataError` naming the file, the column and the
first offending row (``row N (customer_id X)``, counted from 1 in the file). The same
reader serves the customer base (:mod:`cxopt.data.base`), a history
(:mod:`cxopt.data.history`, which has no ``baseline_churn``: see ``required``) and the Dask
workers (:mod:`cxopt.distributed`).
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cxopt.data.chunk import DEFAULT_CHUNK, EXPOSED_PREFIX, MAX_REVENUE, REQUIRED_COLUMNS, CustomerChunk
from cxopt.errors import ArgumentError, DataError, Problem

__all__ = ["resolve_paths", "is_csv", "schema_names", "count_rows", "iter_batches", "check_columns",
           "chunk_from_batch", "KEY_COLUMNS"]

KEY_COLUMNS = ("customer_id", "segment")  # every reader needs these: rows are named and grouped by them


def resolve_paths(path: str) -> list[Path]:
    """The files ``path`` names: itself, the ``.parquet`` files under a directory, or a glob's matches."""
    p = Path(path)
    if any(c in path for c in "*?["):
        found = sorted(Path(x) for x in glob.glob(path, recursive=True))
        if not found:
            raise DataError(Problem(path, "", "no file matches this pattern"))
        return found
    if p.is_dir():
        found = sorted(x for x in p.rglob("*.parquet") if x.is_file())
        if not found:
            raise DataError(Problem(path, "", "the directory holds no .parquet files"))
        return found
    if not p.exists():
        raise DataError(Problem(path, "", "no such file"))
    return [p]


def is_csv(path: Path) -> bool:
    """Read as CSV (by its name), else as Parquet."""
    return path.suffix.lower() in (".csv", ".txt") or path.name.lower().endswith(".csv.gz")


def schema_names(path: Path) -> list[str]:
    """The file's column names (read from its header or footer only)."""
    try:
        if is_csv(path):
            with open(path, "rb") as fh:
                reader = pacsv.open_csv(fh)
                return list(reader.schema.names)
        return list(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError) as exc:
        kind = "CSV" if is_csv(path) else "Parquet"
        raise DataError(Problem(str(path), "", f"cannot read as {kind}: {exc}")) from None


def count_rows(path: Path) -> int:
    """Rows of the file (Parquet: from its metadata; CSV: one pass over ``customer_id``)."""
    if is_csv(path):
        return sum(b.num_rows for b in iter_batches(path, ["customer_id"], DEFAULT_CHUNK))
    return pq.ParquetFile(path).metadata.num_rows


def iter_batches(path: Path, columns: list[str], chunk_size: int) -> Iterator[pa.RecordBatch]:
    """The file's ``columns`` in record batches of about ``chunk_size`` rows, in file order."""
    try:
        if is_csv(path):
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
        raise DataError(Problem(str(path), "", f"cannot read: {exc}")) from None


def check_columns(path: Path, drivers: Sequence[str], *, required: Sequence[str] = REQUIRED_COLUMNS,
                  optional_drivers: Sequence[str] = (), hints: Mapping[str, str] | None = None) -> list[str]:
    """The file's column names, once it holds every column the reader will need.

    Parameters
    ----------
    path : the file (its header or footer is read, no rows)
    drivers : drivers whose ``exposed_<id>`` column must be present
    required : the other columns that must be present
    optional_drivers : drivers whose column may be present or not
    hints : per column, words added to its "missing column" message

    An ``exposed_`` column of a driver in neither list is an error too (a typo must not pass).
    """
    names, where, hints = schema_names(path), str(path), hints or {}
    for col in required:
        if col not in names:
            hint = f" ({hints[col]})" if col in hints else ""
            raise DataError(Problem(where, col, "missing column" + hint))
    known = set(drivers) | set(optional_drivers)
    for col in names:
        if col.startswith(EXPOSED_PREFIX) and col[len(EXPOSED_PREFIX):] not in known:
            driver = col[len(EXPOSED_PREFIX):]
            raise DataError(Problem(where, col, f"no pain point or delighter {driver!r} in the scenario"))
    for d in drivers:
        if EXPOSED_PREFIX + d not in names:
            raise DataError(Problem(where, EXPOSED_PREFIX + d, f"missing column for driver {d!r}"))
    return names


def _first(bad: np.ndarray) -> int:
    return int(np.flatnonzero(bad)[0])


def chunk_from_batch(batch: pa.RecordBatch, drivers: Sequence[str], segment_codes: dict[str, int], *,
                     declared: bool, where: str, row0: int = 0,
                     required: Sequence[str] = REQUIRED_COLUMNS) -> CustomerChunk:
    """Validate one record batch of a customer file and turn it into a :class:`CustomerChunk`.

    Parameters
    ----------
    batch : rows of the file, with the ``required`` columns and ``exposed_<d>`` for every driver
    drivers : the drivers of the mask's bits, in bit order
    segment_codes : segment name -> code; a segment met for the first time is added (in order of
        appearance) unless ``declared``, when it is an error
    declared : the scenario declares its segments
    where, row0 : the file (for messages) and the batch's first row in it (0-based)
    required : the columns of :data:`REQUIRED_COLUMNS` the batch must have; ``customer_id`` and
        ``segment`` always. A value column left out (``baseline_churn`` of a history, say) is
        neither read nor checked and comes back as zeros.

    Raises
    ------
    DataError
        A missing column or a bad value: missing, not a number, negative revenue, churn outside
        [0, 1], an undeclared segment, an exposure other than true/false (0/1); the message
        names ``where``, the column and the first offending row.
    """
    required = tuple(required)
    if not set(KEY_COLUMNS) <= set(required) or not set(required) <= set(REQUIRED_COLUMNS):
        raise ArgumentError("required", f"expected columns among {list(REQUIRED_COLUMNS)} including "
                                        f"{list(KEY_COLUMNS)}, got {list(required)}")
    present = set(batch.schema.names)
    for name in [*required, *(EXPOSED_PREFIX + d for d in drivers)]:
        if name not in present:
            raise DataError(Problem(where, name, "missing column"))
    n = batch.num_rows

    def column(name: str) -> pa.Array:
        return batch.column(batch.schema.get_field_index(name))

    def fail(col: str, i: int, reason: str) -> None:
        cid = column("customer_id")[i].as_py()
        raise DataError(Problem(where, col, f"row {row0 + i + 1} (customer_id {cid}): {reason}"))

    def numeric(name: str, dtype) -> np.ndarray:
        if name not in required:
            return np.zeros(n, dtype=dtype)
        arr = column(name)
        if arr.null_count:
            fail(name, _first(np.asarray(arr.is_null())), "missing value")
        try:
            return np.ascontiguousarray(arr.to_numpy(zero_copy_only=False).astype(dtype, copy=False))
        except (ValueError, TypeError, pa.ArrowInvalid):
            reason = f"expected {np.dtype(dtype).name} values, got {arr.type}"
            raise DataError(Problem(where, name, reason)) from None

    cid_arr = column("customer_id")
    if cid_arr.null_count:
        row = row0 + _first(np.asarray(cid_arr.is_null())) + 1
        raise DataError(Problem(where, "customer_id", f"row {row}: missing value"))
    customer_id = numeric("customer_id", np.int64)
    revenue = numeric("revenue", np.float64)
    churn = numeric("baseline_churn", np.float64)
    bad = ~np.isfinite(revenue)
    if bad.any():
        fail("revenue", _first(bad), "not a number")
    bad = revenue < 0
    if bad.any():
        fail("revenue", _first(bad), f"negative revenue {revenue[_first(bad)]:g}")
    bad = revenue > MAX_REVENUE
    if bad.any():
        fail("revenue", _first(bad), f"revenue {revenue[_first(bad)]:g} above the maximum {MAX_REVENUE:g} "
                                     "a customer may bring in a year")
    bad = ~np.isfinite(churn)
    if bad.any():
        fail("baseline_churn", _first(bad), "not a number")
    bad = (churn < 0) | (churn > 1)
    if bad.any():
        fail("baseline_churn", _first(bad), f"{churn[_first(bad)]:g} outside [0, 1]")

    seg = column("segment")
    if seg.null_count:
        fail("segment", _first(np.asarray(seg.is_null())), "missing value")
    if not pa.types.is_dictionary(seg.type):
        seg = seg.cast(pa.string()).dictionary_encode()
    names = [str(x) for x in seg.dictionary.to_pylist()]
    lookup = np.empty(len(names), dtype=np.int32)
    for k, name in enumerate(names):
        if name not in segment_codes:
            if declared:
                first = _first(np.asarray(seg.indices) == k)
                fail("segment", first,
                     f"segment {name!r} is not declared in the scenario's [[customers.segments]]")
            segment_codes[name] = len(segment_codes)
        lookup[k] = segment_codes[name]
    segment = lookup[np.asarray(seg.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]

    mask = np.zeros(n, dtype=np.uint64)
    for j, d in enumerate(drivers):
        name = EXPOSED_PREFIX + d
        arr = column(name)
        if arr.null_count:
            fail(name, _first(np.asarray(arr.is_null())), "missing value")
        if pa.types.is_boolean(arr.type):
            values = arr.to_numpy(zero_copy_only=False)
        elif pa.types.is_integer(arr.type):
            values = arr.to_numpy(zero_copy_only=False)
            bad = (values != 0) & (values != 1)
            if bad.any():
                fail(name, _first(bad), f"expected true/false (or 0/1), got {values[_first(bad)]}")
            values = values.astype(np.bool_)
        else:
            raise DataError(Problem(where, name, f"expected a boolean column, got {arr.type}"))
        mask |= values.astype(np.uint64) << np.uint64(j)
    return CustomerChunk(customer_id, revenue, churn, np.ascontiguousarray(segment), mask)
