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

Entries are files ``<key>.cxt`` holding one array and the hash of its bytes; an entry whose
bytes do not match (a torn write, a disk error) is ignored and recomputed. Writes are
atomic (a private temporary, then rename). The directory is ``$CXOPT_CACHE_DIR/tables``,
else ``$XDG_CACHE_HOME/cxopt/tables``, else ``~/.cache/cxopt/tables``; it is kept under
``$CXOPT_CACHE_MAX_BYTES`` (default 2 GiB) by removing the least recently used entries.
A store that cannot be written is skipped: values are computed as without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from cxopt.engine.fingerprint import ppf_key
from cxopt.model.distributions import Distribution

__all__ = ["TableStore", "tables_dir", "default_store", "DEFAULT_MAX_BYTES"]

DEFAULT_MAX_BYTES = 2 << 30
_MAGIC = b"CXT1"
_SUFFIX = ".cxt"


def tables_dir() -> Path:
    """Where the tables live: ``$CXOPT_CACHE_DIR/tables``, else ``$XDG_CACHE_HOME/cxopt/tables``,
    else ``~/.cache/cxopt/tables``."""
    if os.environ.get("CXOPT_CACHE_DIR"):
        return Path(os.environ["CXOPT_CACHE_DIR"]) / "tables"
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "cxopt" / "tables"


def _max_bytes() -> int:
    text = os.environ.get("CXOPT_CACHE_MAX_BYTES", "")
    try:
        return max(int(text), 0) if text else DEFAULT_MAX_BYTES
    except ValueError:
        return DEFAULT_MAX_BYTES


class TableStore:
    """Arrays on disk under content keys (hex strings), least recently used removed first.

    Parameters
    ----------
    directory : path
        Created on the first write.
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
        self._writable = True

    def __repr__(self) -> str:
        return f"TableStore({str(self.directory)!r})"

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}{_SUFFIX}"

    def get(self, key: str) -> np.ndarray | None:
        """The array stored under ``key``, or None (absent, unreadable, or its bytes do not match)."""
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                data = bytearray(os.fstat(f.fileno()).st_size)
                if f.readinto(data) != len(data):
                    data = b""

        except OSError:
            self.misses += 1
            return None
        array = _decode(data)
        if array is None:
            self.misses += 1
            return None
        try:
            os.utime(path)  # recently used: pruned last
        except OSError:
            pass
        self.hits += 1
        return array

    def put(self, key: str, array: np.ndarray) -> None:
        """Store ``array`` under ``key`` (atomic; best effort: a store that cannot be written is skipped)."""
        if not self._writable:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=_SUFFIX)
        except OSError:
            self._writable = False
            return
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_encode(array))
            os.replace(tmp, self._path(key))
            self.writes += 1
        except OSError:
            self._writable = False
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def inverse_cdf(self, dist: Distribution, u: np.ndarray) -> np.ndarray:
        """``dist.ppf(u)``, read from the store when a run before applied this distribution to these
        uniforms, else computed and stored (a fixed value is not stored: it costs nothing). For
        :func:`cxopt.engine.draws.draw_trials`: a re-run computes no inverse CDF (scipy.stats, whose
        import alone is half a second, is not imported)."""
        if dist.is_fixed:
            return dist.ppf(u)
        u = np.ascontiguousarray(u, dtype=np.float64)
        key = ppf_key(dist.kind, dict(dist.params), dist.lower, dist.upper, u)
        got = self.get(key)
        if got is not None and got.shape == u.shape and got.dtype == np.float64:
            return got
        out = np.asarray(dist.ppf(u), dtype=np.float64)
        self.put(key, out)
        return out

    def prune(self) -> int:
        """Remove the least recently used entries until their total is at most ``max_bytes``; the
        number removed."""
        try:
            entries = []
            with os.scandir(self.directory) as it:
                for e in it:
                    if e.name.endswith(_SUFFIX) and not e.name.startswith(".tmp-"):
                        st = e.stat()
                        entries.append((st.st_mtime_ns, st.st_size, e.path))
        except OSError:
            return 0
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            try:
                os.unlink(path)
            except OSError:
                continue
            total -= size
            removed += 1
        return removed


def default_store() -> TableStore:
    """The user's store (:func:`tables_dir`)."""
    return TableStore(tables_dir())


def _encode(array: np.ndarray) -> bytes:
    a = np.ascontiguousarray(array)
    payload = a.tobytes()
    header = json.dumps({"dtype": a.dtype.str, "shape": list(a.shape)}).encode()
    digest = hashlib.blake2b(header + payload, digest_size=16).digest()
    return _MAGIC + digest + len(header).to_bytes(4, "little") + header + payload


def _decode(data: bytearray | bytes) -> np.ndarray | None:
    if len(data) < 24 or data[:4] != _MAGIC:
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
    return np.frombuffer(payload, dtype=dtype).reshape(shape)  # writable when ``data`` is a bytearray
