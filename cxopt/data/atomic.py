"""Writing outputs safely: never overwrite without ``force``, never leave a half-written file.

Everything is written to ``NAME.tmp-<pid>`` in the destination directory, flushed to disk,
then renamed over the destination in one step (``os.replace``).
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cxopt.errors import OutputExistsError

__all__ = ["OutputExistsError", "atomic_path", "atomic_dir", "write_text_atomic"]


def _fsync(path: Path) -> None:
    if path.is_file():
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())


@contextmanager
def atomic_path(path: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, expected a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_dir(path: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory; on success it takes the place of ``path`` (a directory)."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    old = path.with_name(f"{path.name}.old-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
        for f in tmp.iterdir():
            _fsync(f)
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old.exists():
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink()


def write_text_atomic(path: str | os.PathLike, text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
