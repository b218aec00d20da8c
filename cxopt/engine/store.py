"""Per-trial value tables kept between runs: a content-addressed store on disk.

A planner runs ``optimize`` again and again on one base while editing initiatives. The
simulation's tables (the baseline, each initiative alone, each interacting pair) and every
portfolio the search and the plan value exactly are pure functions of arrays: the base's
grouped statistics, the trials' draws and each initiative's own draws. The store keeps each
table under a hash of exactly those arrays (:mod:`cxopt.engine.fingerprint`), so

* a re-run with nothing changed reads every table instead of computing it;
* an edited initiative changes its own draws, hence only the keys of the tables it is in:
  the others are still read (draw streams are keyed by each item's index);
* a stale entry cannot be read: any change to an input is another key, and the code that
  computes the values is part of the key (its source's hash).

The entries live in one SQLite database (Python's ``sqlite3``): a run writes thousands of
tables at once (19,900 pair tables for 200 candidates), which as files cost the file system
half a millisecond each and as rows of one transaction a tenth of that. Each entry holds its
array and the hash of its bytes; an entry whose bytes do not match is ignored and recomputed,
and a damaged database is set aside (``tables.sqlite.unreadable``, one at most) and started
afresh; a locked (another run's write for more than 10 s), read-only or full one is skipped
for the run. The file is ``$CXOPT_CACHE_DIR/tables/tables.sqlite``, else under
``$XDG_CACHE_HOME/cxopt/tables``, else ``~/.cache/cxopt/tables``; it is kept under ``$CXOPT_CACHE_MAX_BYTES`` (default 2 GiB) by
removing the least recently used entries. Runs at the same time share it (SQLite's locking).
A store that cannot be used is skipped: the values are computed as without it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from cxopt.data.cache import cache_home
from cxopt.engine.fingerprint import ppf_key
from cxopt.errors import BadInputError, Problem
from cxopt.model.distributions import Distribution

__all__ = ["TableStore", "tables_dir", "default_store", "DEFAULT_MAX_BYTES", "FORMAT"]

DEFAULT_MAX_BYTES = 2 << 30
FORMAT = 2  # the database's user_version: another format is dropped and started afresh
_MAGIC = b"CXT1"
_FILE = "tables.sqlite"
_CHUNK = 500  # keys per SELECT ... IN (...)
TIMEOUT = 10.0  # seconds to wait for another run's write before this run goes without the store


def tables_dir() -> Path:
    """Where the tables live: ``tables`` in :func:`cxopt.data.cache.cache_home` (``$CXOPT_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/cxopt``, else ``~/.cache/cxopt``)."""
    return cache_home() / "tables"


def _max_bytes() -> int:
    """``$CXOPT_CACHE_MAX_BYTES`` (default 2 GiB); anything but a whole number of bytes is refused,
    naming the variable (a cap silently ignored would fill the disk, or empty the store)."""
    text = os.environ.get("CXOPT_CACHE_MAX_BYTES", "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise BadInputError(Problem("environment", "CXOPT_CACHE_MAX_BYTES",
                                    f"expected a whole number of bytes, 0 or more (e.g. 2147483648), got {text!r}"))
    return value


class TableStore:
    """Arrays on disk under content keys (hex strings), least recently used removed first.

    Parameters
    ----------
    directory : path
        Where the database is; created on the first write.
    max_bytes : int, optional
        :meth:`prune` keeps the entries' total size at most this (default
        ``$CXOPT_CACHE_MAX_BYTES`` or 2 GiB).

    Attributes
    ----------
    hits, misses, writes : int
        Counts since this object was made (what a run read, computed and stored).
    """

    def __init__(self, directory: str | os.PathLike, max_bytes: int | None = None) -> None:
        self.directory = Path(directory)
        self.max_bytes = _max_bytes() if max_bytes is None else int(max_bytes)
        self.hits = self.misses = self.writes = 0
        self._db: sqlite3.Connection | None = None
        self._usable = True
        self._set_aside = False

    def __repr__(self) -> str:
        return f"TableStore({str(self.directory)!r})"

    @property
    def path(self) -> Path:
        return self.directory / _FILE

    # -- the database ---------------------------------------------------------------------------
    def _connection(self, create: bool) -> sqlite3.Connection | None:
        """The open database (None: absent and not ``create``, or unusable: then skipped for good)."""
        for _ in range(2):  # a damaged database is set aside by the first failure, then one made afresh
            if self._db is not None or not self._usable:
                return self._db
            try:
                if not create and not self.path.is_file():
                    return None
                self.directory.mkdir(parents=True, exist_ok=True)
                self._db = _open(self.path)
            except (OSError, sqlite3.Error) as exc:
                self._failed(exc)
        return self._db

    def _failed(self, exc: OSError | sqlite3.Error) -> None:
        """A use of the database failed. Damage (not a database, a malformed page: sqlite3's plain
        DatabaseError) sets the file aside as ``tables.sqlite.unreadable``, once per store, so that the
        next use starts afresh; anything else (locked past the timeout, read-only, a full disk, a
        directory that cannot be read) turns the store off for this run: values are computed."""
        self.close()
        if type(exc) is sqlite3.DatabaseError and not self._set_aside:
            self._set_aside = True
            try:
                os.replace(self.path, self.path.with_name(f"{_FILE}.unreadable"))
                for leftover in (self.path.with_name(f"{_FILE}-journal"),):
                    if leftover.exists():
                        os.unlink(leftover)
                return
            except OSError:
                pass
        self._usable = False

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None

    # -- reading and writing ----------------------------------------------------------------------
    def get(self, key: str) -> np.ndarray | None:
        """The array stored under ``key``, or None (absent, unreadable, or its bytes do not match)."""
        return self.get_many([key])[0]

    def get_many(self, keys: Sequence[str]) -> list[np.ndarray | None]:
        """:meth:`get` of each key (one query per 500 keys); the entries found are marked used now."""
        out: list[np.ndarray | None] = [None] * len(keys)
        db = self._connection(create=False)
        if db is not None and keys:
            pos: dict[str, list[int]] = {}
            for i, k in enumerate(keys):
                pos.setdefault(k, []).append(i)
            unique = list(pos)
            found = []
            try:
                for start in range(0, len(unique), _CHUNK):
                    part = unique[start: start + _CHUNK]
                    rows = db.execute(f"SELECT key, data FROM blobs WHERE key IN ({','.join('?' * len(part))})",
                                      part).fetchall()
                    for key, data in rows:
                        array = _decode(data)
                        if array is not None:
                            found.append(key)
                            for n, i in enumerate(pos[key]):
                                out[i] = array if n == 0 else array.copy()  # each its own, like get()
                if found:
                    now = time.time_ns()
                    with _transaction(db):
                        db.executemany("UPDATE entries SET used = ? WHERE key = ?", ((now, k) for k in found))
            except sqlite3.Error as exc:  # what was read is still good (each entry checked by its hash)
                self._failed(exc)
        got = sum(a is not None for a in out)
        self.hits += got
        self.misses += len(keys) - got
        return out

    def put(self, key: str, array: np.ndarray) -> None:
        """Store ``array`` under ``key`` (best effort: a store that cannot be written is skipped)."""
        self.put_many([(key, array)])

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store each ``(key, array)`` in one transaction (all or none), encoding one at a time."""
        items = iter(items)
        first = next(items, None)
        db = self._connection(create=True) if first is not None else None
        if db is None:
            return
        now = time.time_ns()

        sizes: list[tuple[str, int, int]] = []

        def blobs():
            for key, array in itertools.chain([first], items):
                blob = _encode(array)
                sizes.append((key, now, len(blob)))
                yield key, blob

        try:
            with _transaction(db):
                db.executemany("INSERT OR REPLACE INTO blobs (key, data) VALUES (?, ?)", blobs())
                db.executemany("INSERT OR REPLACE INTO entries (key, used, size) VALUES (?, ?, ?)", sizes)
            self.writes += len(sizes)
        except sqlite3.Error as exc:  # nothing of this batch was written (one transaction)
            self._failed(exc)

    def get_or_compute(self, key: str, compute: Callable[[], np.ndarray],
                       shape: tuple[int, ...] | None = None) -> np.ndarray:
        """The float64 array under ``key`` (of ``shape``, when given), or ``compute()``'s, stored under it."""
        got = self.get(key)
        if got is not None and got.dtype == np.float64 and got.ndim >= 1 and (shape is None or got.shape == shape):
            return got
        out = np.asarray(compute(), dtype=np.float64)
        self.put(key, out)
        return out

    def inverse_cdf(self, dist: Distribution, u: np.ndarray) -> np.ndarray:
        """``dist.ppf(u)``, read from the store when a run before applied this distribution to these
        uniforms, else computed and stored (a fixed value is not stored: it costs nothing). For
        :func:`cxopt.engine.draws.draw_trials`: a re-run computes no inverse CDF (scipy.stats, whose
        import alone is half a second, is not imported)."""
        if dist.is_fixed:
            return dist.ppf(u)
        u = np.ascontiguousarray(u, dtype=np.float64)
        return self.get_or_compute(ppf_key(dist.kind, dict(dist.params), dist.lower, dist.upper, u),
                                   lambda: dist.ppf(u), u.shape)

    def prune(self) -> int:
        """Remove the least recently used entries until their total is at most ``max_bytes`` (and give
        the freed pages back to the file system); the number removed."""
        total = self.size()  # 0 without a database, or when it cannot be read
        if total <= self.max_bytes:
            return 0
        db = self._db
        try:
            drop = []
            for key, size in db.execute("SELECT key, size FROM entries ORDER BY used, key").fetchall():
                if total <= self.max_bytes:
                    break
                drop.append((key,))
                total -= size
            with _transaction(db):
                db.executemany("DELETE FROM entries WHERE key = ?", drop)
                db.executemany("DELETE FROM blobs WHERE key = ?", drop)
            db.execute("PRAGMA incremental_vacuum").fetchall()
            return len(drop)
        except sqlite3.Error as exc:
            self._failed(exc)
            return 0

    def size(self) -> int:
        """The entries' total size in bytes."""
        db = self._connection(create=False)
        if db is None:
            return 0
        try:
            return int(db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0])
        except sqlite3.Error as exc:
            self._failed(exc)
            return 0


def default_store() -> TableStore:
    """The user's store (:func:`tables_dir`)."""
    return TableStore(tables_dir())


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (the connection is in autocommit mode): all of it or none."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # a failed COMMIT (busy, disk full) too: never leave the lock held
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        raise


def _open(path: Path) -> sqlite3.Connection:
    """The database at ``path`` with the entries' tables, made (or, of another format, emptied) under
    a write lock, so that two runs starting at once do not drop each other's tables."""
    db = sqlite3.connect(path, timeout=TIMEOUT, isolation_level=None)
    try:
        # a cache: each page written once (a rollback journal holds only the few pages a write changes;
        # write-ahead logging would write every table twice) and not forced to disk; a crash of this
        # process rolls back, a crash of the machine may damage the file, which is then set aside
        db.execute("PRAGMA journal_mode = TRUNCATE")
        db.execute("PRAGMA synchronous = OFF")
        if db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:
            db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # a new file: pruning gives pages back
            with _transaction(db):
                if db.execute("PRAGMA user_version").fetchone()[0] != FORMAT:  # read again under the lock
                    db.execute("DROP TABLE IF EXISTS entries")
                    db.execute("DROP TABLE IF EXISTS blobs")
                    # the entries' use apart from their bytes: marking an entry used rewrites a small row
                    db.execute("CREATE TABLE entries (key TEXT PRIMARY KEY, used INTEGER NOT NULL, "
                               "size INTEGER NOT NULL)")
                    db.execute("CREATE TABLE blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL)")
                    db.execute("CREATE INDEX entries_by_use ON entries (used)")
                    db.execute(f"PRAGMA user_version = {FORMAT}")
    except BaseException:
        db.close()
        raise
    return db


def _encode(array: np.ndarray) -> bytes:
    a = np.ascontiguousarray(array)
    payload = a.tobytes()
    header = json.dumps({"dtype": a.dtype.str, "shape": list(a.shape)}).encode()
    digest = hashlib.blake2b(header + payload, digest_size=16).digest()
    return _MAGIC + digest + len(header).to_bytes(4, "little") + header + payload


def _decode(data: bytes) -> np.ndarray | None:
    if not isinstance(data, (bytes, bytearray)) or len(data) < 24 or data[:4] != _MAGIC:
        return None
    digest, n = bytes(data[4:20]), int.from_bytes(data[20:24], "little")
    body = memoryview(data)[24:]
    if len(body) < n or hashlib.blake2b(body, digest_size=16).digest() != digest:
        return None
    try:
        header = json.loads(bytes(body[:n]))
        dtype, shape = np.dtype(header["dtype"]), tuple(int(s) for s in header["shape"])
    except (ValueError, KeyError, TypeError):
        return None
    payload = body[n:]
    if len(payload) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
        return None
    return np.frombuffer(payload, dtype=dtype).reshape(shape).copy()  # writable, owning its memory
