"""Reading a customer history: one validating, streaming pass to exact counts per group.

A history is the customer file of DESIGN.md section 6 plus ``churned`` and optionally
``observed_months``; :func:`read_history` reduces it to :class:`HistoryGroups` for
:func:`cxopt.calibration.fit.calibrate`, and :func:`synthetic_history` writes one from a scenario.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from cxopt.data.atomic import atomic_path
from cxopt.data.base import CustomerBase
from cxopt.data.chunk import DEFAULT_CHUNK, EXPOSED_PREFIX
from cxopt.data.readers import check_columns, chunk_from_batch, is_csv, iter_batches, resolve_paths
from cxopt.errors import ArgumentError, DataError, Problem, ScenarioError
from cxopt.model.scenario import Scenario

__all__ = ["HistoryGroups", "read_history", "sum_by_key", "synthetic_history"]

CHURNED, OBSERVED = "churned", "observed_months"
# the customer file's columns a history has (no baseline_churn: that is what calibration fits)
CUSTOMER_COLUMNS = ("customer_id", "revenue", "segment")
DENSE_KEYS = 1 << 22  # per chunk, keys up to this are counted by direct indexing (bincount)


# --------------------------------------------------------------------------------------
# the history, grouped
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryGroups:
    """Exact counts of a history per (segment, exposure mask, observed months) group.

    ``drivers`` names the mask bits: every pain point (in scenario order), then the
    delighters whose ``exposed_`` column the history has.
    """

    segment: np.ndarray  # int32 code into segments
    mask: np.ndarray  # uint64
    months: np.ndarray  # int64, observed months (1..window)
    customers: np.ndarray  # int64 n_g
    churned: np.ndarray  # int64 y_g
    revenue: np.ndarray  # float64
    revenue_churned: np.ndarray  # float64
    segments: tuple[str, ...]
    drivers: tuple[str, ...]
    n_pains: int
    window_months: int
    source: str = "<history>"

    @property
    def n_customers(self) -> int:
        return int(self.customers.sum())

    @property
    def n_churned(self) -> int:
        return int(self.churned.sum())

    def exposed(self, j: int) -> np.ndarray:
        return ((self.mask >> np.uint64(j)) & np.uint64(1)).astype(bool)


def read_history(scenario: Scenario, path: str | os.PathLike, *, window_months: int | None = None,
                 chunk_size: int = DEFAULT_CHUNK, progress: Callable | None = None,
                 dense_keys: int = DENSE_KEYS) -> HistoryGroups:
    """Stream a history file (Parquet, CSV, directory or glob) into :class:`HistoryGroups`.

    Every value is validated; a problem raises :class:`~cxopt.errors.DataError` naming the
    file, the column and ``row N (customer_id X)``.
    """
    window = _window(scenario, window_months)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ArgumentError("chunk_size", f"expected a number of rows >= 1, got {chunk_size!r}")
    paths = resolve_paths(str(path))
    pains = [p.id for p in scenario.pain_points]
    names_of, delighters = _check_history_columns(scenario, paths)
    drivers = pains + delighters
    declared = bool(scenario.customers.segments)
    seg_codes: dict[str, int] = {s.id: i for i, s in enumerate(scenario.customers.segments)}
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in paths if not is_csv(p))
    tables, done = [], 0
    for p, names in names_of.items():
        columns = [*CUSTOMER_COLUMNS, CHURNED, *(EXPOSED_PREFIX + d for d in drivers)]
        has_months = OBSERVED in names
        if has_months:
            columns.append(OBSERVED)
        row0 = 0
        for batch in _history_batches(p, columns, names, chunk_size):
            n = batch.num_rows
            chunk = chunk_from_batch(batch, drivers, seg_codes, declared=declared, where=str(p), row0=row0,
                                     required=CUSTOMER_COLUMNS)
            churned = _flag(batch, CHURNED, str(p), row0)
            months = _months(batch, window, str(p), row0) if has_months else np.full(n, window, dtype=np.int64)
            code = chunk.segment.astype(np.int64) * window + (months - 1)
            tables.append(_group_chunk(code, chunk.mask, churned, chunk.revenue, len(drivers), dense_keys))
            row0 += n
            done += n
            if progress is not None:
                progress("read history", done, total)
    code, mask, (n_g, y_g, rev, rev_y) = sum_by_key(
        np.concatenate([t[0] for t in tables]) if tables else np.zeros(0, np.int64),
        np.concatenate([t[1] for t in tables]) if tables else np.zeros(0, np.uint64),
        [np.concatenate([t[2][k] for t in tables]) if tables else np.zeros(0) for k in range(4)])
    if int(n_g.sum()) == 0:
        raise DataError(Problem(str(path), "", "the history has no rows"))
    segment, months = code // window, code % window + 1
    names = list(seg_codes)
    if not declared:  # codes in order of appearance; canonical order is by name
        order = sorted(range(len(names)), key=lambda s: names[s])
        remap = np.empty(len(names), dtype=np.int64)
        remap[np.array(order, dtype=np.int64)] = np.arange(len(order))
        segment = remap[segment]
        names = [names[s] for s in order]
    idx = np.lexsort((months, mask, segment))
    return HistoryGroups(
        segment=segment[idx].astype(np.int32), mask=mask[idx], months=months[idx].astype(np.int64),
        customers=n_g[idx].astype(np.int64), churned=y_g[idx].astype(np.int64), revenue=rev[idx],
        revenue_churned=rev_y[idx], segments=tuple(names), drivers=tuple(drivers), n_pains=len(pains),
        window_months=window, source=", ".join(str(p) for p in paths))


def _window(sc: Scenario, window_months: int | None) -> int:
    if window_months is None:
        return sc.horizon_months
    if isinstance(window_months, bool) or not isinstance(window_months, (int, np.integer)) or window_months < 1:
        raise ArgumentError("window_months", f"expected a whole number of months >= 1, got {window_months!r}")
    return int(window_months)


def _check_history_columns(sc: Scenario, paths: list[Path]) -> tuple[dict[Path, list[str]], list[str]]:
    """Each file's column names, once the required ones are there and no driver is unknown; the
    delighters whose columns every file has (the same in every file)."""
    pains, delighters = [p.id for p in sc.pain_points], [d.id for d in sc.delighters]
    hint = {CHURNED: "bool: did the customer leave within the observation window?"}
    names: dict[Path, list[str]] = {}
    found: list[str] | None = None
    for path in paths:
        names[path] = check_columns(path, pains, required=(*CUSTOMER_COLUMNS, CHURNED),
                                    optional_drivers=delighters, hints=hint)
        here = [d for d in delighters if EXPOSED_PREFIX + d in names[path]]
        if found is not None and here != found:
            odd = sorted(set(here) ^ set(found))[0]
            raise DataError(Problem(str(path), EXPOSED_PREFIX + odd,
                                    f"column present in some history files only ({paths[0]})"))
        found = here
    return names, found or []


def _history_batches(path: Path, columns: list[str], names: list[str],
                     chunk_size: int) -> Iterator[pa.RecordBatch]:
    if not is_csv(path):
        yield from iter_batches(path, columns, chunk_size)
        return
    types = {"customer_id": pa.int64(), "revenue": pa.float64(), "segment": pa.string(), CHURNED: pa.bool_(),
             OBSERVED: pa.float64(), **{c: pa.bool_() for c in columns if c.startswith(EXPOSED_PREFIX)}}
    convert = pacsv.ConvertOptions(include_columns=columns, strings_can_be_null=True, column_types=types)
    read = pacsv.ReadOptions(block_size=max(1 << 20, chunk_size * 64))
    try:
        with pacsv.open_csv(path, read_options=read, convert_options=convert) as reader:
            yield from reader
    except pa.ArrowInvalid as exc:
        m = re.search(r"CSV column #(\d+)", str(exc))
        if m and int(m.group(1)) < len(names):
            _locate_csv_error(path, names[int(m.group(1))], types.get(names[int(m.group(1))]))
        raise DataError(Problem(str(path), "", f"cannot read: {exc}")) from None


def _locate_csv_error(path: Path, column: str, kind) -> None:
    """Re-read one column as text to name the first value that does not convert (error path only)."""
    def ok(v: str) -> bool:
        if kind == pa.bool_():
            return v in ("", "0", "1", "true", "false", "True", "False", "TRUE", "FALSE")
        try:
            (int if kind == pa.int64() else float)(v)
            return True
        except ValueError:
            return v == ""
    convert = pacsv.ConvertOptions(include_columns=["customer_id", column],
                                   column_types={"customer_id": pa.string(), column: pa.string()})
    row = 0
    with pacsv.open_csv(path, convert_options=convert) as reader:
        for batch in reader:
            values, ids = batch.column(column).to_pylist(), batch.column("customer_id").to_pylist()
            for i, v in enumerate(values):
                if not ok(v):
                    expected = {pa.bool_(): "true/false (or 0/1)", pa.int64(): "a whole number"}.get(kind,
                                                                                                  "a number")
                    reason = f"row {row + i + 1} (customer_id {ids[i]}): expected {expected}, got {v!r}"
                    raise DataError(Problem(str(path), column, reason))
            row += len(values)


def _fail(batch: pa.RecordBatch, col: str, where: str, row0: int, i: int, reason: str):
    cid = batch.column("customer_id")[i].as_py()
    raise DataError(Problem(where, col, f"row {row0 + i + 1} (customer_id {cid}): {reason}"))


def _flag(batch: pa.RecordBatch, name: str, where: str, row0: int) -> np.ndarray:
    arr = batch.column(name)
    if arr.null_count:
        _fail(batch, name, where, row0, int(np.flatnonzero(np.asarray(arr.is_null()))[0]), "missing value")
    if pa.types.is_boolean(arr.type):
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_integer(arr.type):
        v = arr.to_numpy(zero_copy_only=False)
        bad = np.flatnonzero((v != 0) & (v != 1))
        if bad.size:
            _fail(batch, name, where, row0, int(bad[0]), f"expected true/false (or 0/1), got {v[bad[0]]}")
        return v.astype(bool)
    raise DataError(Problem(where, name, f"expected a boolean column (true/false or 0/1), got {arr.type}"))


def _months(batch: pa.RecordBatch, window: int, where: str, row0: int) -> np.ndarray:
    arr = batch.column(OBSERVED)
    if arr.null_count:
        _fail(batch, OBSERVED, where, row0, int(np.flatnonzero(np.asarray(arr.is_null()))[0]), "missing value")
    if not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
        raise DataError(Problem(where, OBSERVED, f"expected numbers of months, got {arr.type}"))
    v = arr.to_numpy(zero_copy_only=False).astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(v) | (v <= 0) | (v > window + 1e-9))
    if bad.size:
        i = int(bad[0])
        reason = (f"{v[i]:g} exceeds the {window}-month observation window (set a longer window_months)"
                  if np.isfinite(v[i]) and v[i] > 0 else f"{v[i]:g}: expected months in (0, {window}]")
        _fail(batch, OBSERVED, where, row0, i, reason)
    return np.clip(np.rint(v), 1, window).astype(np.int64)


def _group_chunk(code, mask, churned, revenue, n_bits, dense_keys):
    """One chunk reduced to (code, mask) -> [n, y, revenue, revenue of churned] (exact counts)."""
    n_codes = int(code.max()) + 1 if code.size else 1
    if n_bits <= 40 and n_codes << n_bits <= dense_keys:
        key = (code << n_bits) | mask.astype(np.int64)
        n = np.bincount(key)
        y = np.bincount(key[churned], minlength=n.size)
        rev = np.bincount(key, weights=revenue, minlength=n.size)
        rev_y = np.bincount(key[churned], weights=revenue[churned], minlength=n.size)
        nz = np.flatnonzero(n)
        return (nz >> n_bits, (nz & ((1 << n_bits) - 1)).astype(np.uint64),
                [n[nz], y[nz], rev[nz], rev_y[nz]])
    ch = churned.astype(np.int64)
    return sum_by_key(code, mask, [np.ones_like(code), ch, revenue, revenue * ch])


def sum_by_key(code, mask, cols):
    """Sum ``cols`` over equal (code, mask) keys, sorted (stable: a fixed order of summation)."""
    if code.size == 0:
        return code, mask, cols
    order = np.lexsort((mask, code))
    c, m = code[order], mask[order]
    start = np.flatnonzero(np.r_[True, (c[1:] != c[:-1]) | (m[1:] != m[:-1])])
    return c[start], m[start], [np.add.reduceat(x[order], start) for x in cols]

# --------------------------------------------------------------------------------------
# synthetic history (the worked example; tests)
# --------------------------------------------------------------------------------------
def synthetic_history(scenario: Scenario, n: int, out: str | os.PathLike, *, seed: int | None = None,
                      truth: str = "draw", observed_share: float = 0.0, force: bool = False,
                      chunk_size: int = DEFAULT_CHUNK, progress: Callable | None = None) -> dict:
    """Write a history of ``n`` customers generated by the model from the scenario's values.

    Customers come from :meth:`CustomerBase.synthetic` (segments, revenue, correlated
    exposures, per-customer baseline churn ``p_i``). The true severities are one draw from
    each pain point's severity distribution (``truth="draw"``, seeded: the world the
    planner's ranges were guessing at) or their means (``truth="mean"``); no market
    multiplier. A share ``observed_share`` of customers joined during the window and is
    observed for 1..H-1 months (column ``observed_months``). Parquet, or CSV when ``out``
    ends in ``.csv``; written atomically.

    Returns
    -------
    dict
        The truth: ``severity`` per pain point, ``baseline_churn`` (mean of p_i) per segment,
        ``customers``, ``churned``, ``path``.
    """
    if truth not in ("draw", "mean"):
        raise ArgumentError("truth", f"expected 'draw' or 'mean', got {truth!r}")
    if not 0.0 <= observed_share < 1.0:
        raise ArgumentError("observed_share", f"expected a share in [0, 1), got {observed_share!r}")
    for i, seg in enumerate(scenario.customers.segments):
        if seg.share is None:
            raise ScenarioError(Problem(scenario.source, f"customers.segments[{i}].share",
                                        "a synthetic history needs every segment's share"))
    for i, p in enumerate(scenario.pain_points):
        if p.volume is None and scenario.customers.count is None:
            raise ScenarioError(Problem(scenario.source, f"pain_points[{i}].complaints",
                                        "a synthetic history needs a volume (complaints need customers.count)"))
    seed = scenario.scenario.seed if seed is None else int(seed)
    base = CustomerBase.synthetic(scenario, n=n, seed=seed)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x7347])))
    sev = np.array([float(p.severity.sample(rng, 1)[0]) if truth == "draw" else p.severity.mean()
                    for p in scenario.pain_points])
    H, drivers, segments = scenario.horizon_months, scenario.driver_ids, list(base.segments)
    csv = str(out).lower().endswith(".csv")
    seg_type = pa.string() if csv else pa.dictionary(pa.int32(), pa.string())
    fields = [("customer_id", pa.int64()), ("revenue", pa.float64()), ("segment", seg_type), (CHURNED, pa.bool_())]
    fields += [(OBSERVED, pa.int64())] if observed_share > 0 else []
    fields += [(EXPOSED_PREFIX + d, pa.bool_()) for d in drivers]
    schema = pa.schema(fields)
    seg_names, seg_dict = np.array(segments, dtype=object), pa.array(segments, type=pa.string())
    churned_total, done = 0, 0
    with atomic_path(out, force=force) as tmp:
        writer = pacsv.CSVWriter(tmp, schema) if csv else pq.ParquetWriter(tmp, schema, compression="zstd")
        try:
            for k, c in enumerate(base.iter_chunks(chunk_size)):
                r = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x4859, k])))
                keep = np.ones(len(c))
                for j in range(len(sev)):
                    keep *= np.where((c.mask >> np.uint64(j)) & np.uint64(1), 1.0 - sev[j], 1.0)
                survive = (1.0 - c.baseline_churn) * keep
                seg = (pa.array(seg_names[c.segment], type=pa.string()) if csv else
                       pa.DictionaryArray.from_arrays(pa.array(c.segment, type=pa.int32()), seg_dict))
                cols = [pa.array(c.customer_id), pa.array(c.revenue), seg]
                months = None
                if observed_share > 0:
                    months = np.where(r.random(len(c)) < observed_share, r.integers(1, max(H, 2), len(c)), H)
                    survive = survive ** (months / H)
                churned = r.random(len(c)) >= survive
                churned_total += int(churned.sum())
                cols.append(pa.array(churned))
                if months is not None:
                    cols.append(pa.array(months.astype(np.int64)))
                cols += [pa.array(((c.mask >> np.uint64(j)) & np.uint64(1)).astype(bool))
                         for j in range(len(drivers))]
                writer.write_table(pa.Table.from_arrays(cols, schema=schema))
                done += len(c)
                if progress is not None:
                    progress("write history", done, n)
        finally:
            writer.close()
    churn = {s.id: (s.baseline_churn or scenario.customers.baseline_churn).mean()
             for s in scenario.customers.segments}
    return {"severity": {p.id: float(v) for p, v in zip(scenario.pain_points, sev)},
            "baseline_churn": churn or {"all": scenario.customers.baseline_churn.mean()},
            "customers": int(n), "churned": churned_total, "path": str(out)}
