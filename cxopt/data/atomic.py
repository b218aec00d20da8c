"""Writing outputs safely: never overwrite without ``force``, never leave a half-written file,
never follow a link someone planted, never lose the old output to a kill.

* A temporary is created by :func:`tempfile.mkstemp` / :func:`tempfile.mkdtemp` *in the
  destination's directory* (same file system, so the final ``os.replace`` is one atomic
  step), under an unpredictable name opened exclusively (``O_EXCL``: a symlink planted there
  is refused, never followed). Its name is recognisable:
  ``.cxopt-tmp-<pid>-<output name>-<random>``.
* A directory replaced with ``force`` is first renamed aside to
  ``.cxopt-old-<pid>-<output name>-<random>``, the new one renamed in, then the aside removed.
  A kill between the two renames leaves the aside: the next run for that output (or
  :func:`recover_output`, which commands reading a plan directory call) renames it back.
* Cleanup runs on exceptions, SIGINT and SIGTERM (the CLI turns SIGTERM into ``SystemExit``).
  A SIGKILL cannot be caught: the next run for that output finds temporaries whose pid is no
  longer running and removes them.
* An output path that exists in any form, including a dangling symlink, is an existing
  output (``force`` needed). :func:`check_output` checks a path before any work is done.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cxopt.errors import ArgumentError, OutputExistsError, Problem

__all__ = ["OutputExistsError", "atomic_path", "atomic_dir", "write_text_atomic", "check_output",
           "recover_output", "TMP_PREFIX", "OLD_PREFIX"]

TMP_PREFIX = ".cxopt-tmp-"
OLD_PREFIX = ".cxopt-old-"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's live process (or nonsense): leave it alone
    return True


def _ours(path: Path) -> list[tuple[str, int, Path]]:
    """Temporaries and asides cxopt made for ``path``: (kind, pid, entry)."""
    parent = path.parent
    pattern = re.compile(r"^\.cxopt-(tmp|old)-(\d+)-" + re.escape(path.name) + r"-[A-Za-z0-9_]+$")
    found = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return []
    for entry in entries:
        m = pattern.match(entry.name)
        if m:
            found.append((m.group(1), int(m.group(2)), parent / entry.name))
    return found


def _remove(p: Path) -> None:
    if p.is_symlink() or not p.is_dir():
        try:
            p.unlink()
        except FileNotFoundError:
            pass
    else:
        shutil.rmtree(p, ignore_errors=True)


def recover_output(path: str | os.PathLike) -> None:
    """Finish what a killed run left for ``path``: restore an aside (the old directory of an
    interrupted ``force`` swap) if ``path`` is missing, then remove that run's temporaries.

    Only entries named by cxopt for ``path`` whose process is no longer running are touched.
    """
    path = Path(path)
    stale = [(kind, entry) for kind, pid, entry in _ours(path) if not _pid_alive(pid)]
    for kind, entry in sorted(stale, key=lambda t: t[0] != "old"):
        if kind == "old" and not os.path.lexists(path):
            try:
                os.rename(entry, path)  # the old output comes back under its name
                continue
            except OSError:
                pass
        _remove(entry)


def check_output(path: str | os.PathLike, *, force: bool = False, directory: bool = False,
                 parameter: str = "out") -> Path:
    """Check before any work that ``path`` can be written: raise :class:`OutputExistsError` if it
    exists (a dangling symlink too) and ``force`` is not given, :class:`ArgumentError` (naming
    ``parameter`` and the path) if it cannot be an output: ``.``, a name under a file, a
    directory where a file is expected, or a directory that is not writable."""
    path = Path(path)
    recover_output(path) if path.name not in ("", ".", "..") else None

    def bad(reason: str) -> ArgumentError:
        return ArgumentError(Problem("", parameter, f"{path}: {reason}"))

    if path.name in ("", ".", "..") or str(path) in (".", "..", os.sep):
        raise bad("not a name to write to; give a new file or directory name")
    if os.path.lexists(path):
        if not force:
            raise OutputExistsError(path)
        if not directory and path.is_dir() and not path.is_symlink():
            raise bad("is a directory, expected a file name")
    parent = path.parent
    probe = parent
    while not probe.exists():  # the nearest existing ancestor must be a writable directory
        if os.path.lexists(probe):  # a dangling link in the way
            raise bad(f"{probe} is a broken link")
        probe = probe.parent
    if not probe.is_dir():
        raise bad(f"{probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise bad(f"cannot write in {probe} (permission denied)")
    return path


def _prepare(path: Path, force: bool, directory: bool) -> None:
    check_output(path, force=force, directory=directory, parameter="path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArgumentError(Problem("", "path", f"{path}: cannot create its directory: {exc.strerror}")) from None


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _prefix(path: Path) -> str:
    return f"{TMP_PREFIX}{os.getpid()}-{path.name}-"


@contextmanager
def atomic_path(path: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary file beside ``path`` (created empty, exclusively); on success it
    replaces ``path`` atomically; on failure or interruption it is removed."""
    path = Path(path)
    _prepare(path, force, directory=False)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=_prefix(path))
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if tmp.is_symlink() or not tmp.is_file():
            raise OSError(f"{tmp}: the temporary was replaced while writing; {path} left as it was")
        os.chmod(tmp, 0o666 & ~_umask())
        _fsync_file(tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)


@contextmanager
def atomic_dir(path: str | os.PathLike, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside ``path`` (private until done); on success it takes
    the place of ``path``. With ``force`` an existing ``path`` is renamed aside first and
    removed last, so a kill leaves the old or the new directory (or an aside that the next
    run restores: :func:`recover_output`)."""
    path = Path(path)
    _prepare(path, force, directory=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=_prefix(path)))
    old = None
    try:
        yield tmp
        for f in tmp.iterdir():
            if f.is_file() and not f.is_symlink():
                _fsync_file(f)
        os.chmod(tmp, 0o777 & ~_umask())
        if os.path.lexists(path):
            old = path.with_name(f"{OLD_PREFIX}{os.getpid()}-{path.name}-{secrets.token_hex(6)}")
            os.rename(path, old)
        os.rename(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        if old is not None and not os.path.lexists(path):
            os.rename(old, path)  # put the old output back before anything else
            old = None
        raise
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)
        if old is not None:
            _remove(old)


def write_text_atomic(path: str | os.PathLike, text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
