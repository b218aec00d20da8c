"""A re-run skips the base: the grouped statistics of a file base, cached in the user's cache directory.

The statistics (:class:`~cxopt.data.groups.GroupStats`) depend only on the base's rows, the
drivers and the segments, so they are stored under a key made of each file's identity
(resolved path, size, modification time, inode) and a content fingerprint (for Parquet the
footer's metadata: row count, schema, every row group's sizes and column statistics — read
without a pass over the rows; for CSV the first and last 64 KiB), the drivers and the
declared segments. Any change to any of them is another key, so a stale entry is never read.
The directory is ``$CXOPT_CACHE_DIR``, else ``$XDG_CACHE_HOME/cxopt/groups``, else
``~/.cache/cxopt/groups``. Entries are written atomically (a private temporary, then rename);
an unreadable entry is ignored and recomputed. Synthetic bases are generated, never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from cxopt.data.groups import GroupStats

__all__ = ["cache_home", "cache_dir", "cache_key", "load_groups", "store_groups", "CACHE_VERSION"]

CACHE_VERSION = 1  # bump when GroupStats or the key changes meaning
_ARRAYS = ("segment", "mask", "customers", "revenue", "revenue_churn", "churn")


def cache_home() -> Path:
    """cxopt's caches: ``$CXOPT_CACHE_DIR``, else ``$XDG_CACHE_HOME/cxopt``, else ``~/.cache/cxopt``."""
    if os.environ.get("CXOPT_CACHE_DIR"):
        return Path(os.environ["CXOPT_CACHE_DIR"])
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "cxopt"


def cache_dir() -> Path:
    """The group statistics' entries: ``$CXOPT_CACHE_DIR`` itself, else ``groups`` in :func:`cache_home`."""
    return cache_home() if os.environ.get("CXOPT_CACHE_DIR") else cache_home() / "groups"


def _fingerprint(path: Path) -> dict:
    st = path.stat()
    out = {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        out["parquet"] = meta.to_dict()
    else:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            h.update(f.read(65536))
            if st.st_size > 65536:
                f.seek(max(st.st_size - 65536, 65536))
                h.update(f.read(65536))
        out["content"] = h.hexdigest()
    return out


def cache_key(paths: Sequence[Path], drivers: Sequence[str], segments: Sequence[str]) -> str:
    """The entry's name: a hash of every file's identity and fingerprint, the drivers and the segments."""
    doc = {"version": CACHE_VERSION, "files": [_fingerprint(Path(p)) for p in paths], "drivers": list(drivers),
           "segments": list(segments)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def load_groups(key: str) -> GroupStats | None:
    """The cached statistics under ``key``, or None (absent or unreadable)."""
    path = cache_dir() / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {name: z[name] for name in _ARRAYS}
        return GroupStats(**arrays, max_churn=float(meta["max_churn"]), segments=tuple(meta["segments"]),
                          drivers=tuple(meta["drivers"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store_groups(key: str, groups: GroupStats) -> None:
    """Write ``groups`` under ``key`` (best effort: a cache that cannot be written is skipped)."""
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".groups-", suffix=".npz")
    except OSError:
        return
    meta = {"max_churn": groups.max_churn, "segments": list(groups.segments), "drivers": list(groups.drivers)}
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta)), **{name: getattr(groups, name) for name in _ARRAYS})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / f"{key}.npz")
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
