"""Where numba keeps compiled kernels (``cache=True``): next to the package when it is
writable, else a user cache directory, so an installed read-only package still caches.
Imported first by the package, before numba reads its configuration."""

from __future__ import annotations

import os
from pathlib import Path


def _configure() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = Path(__file__).resolve().parent
    if os.access(here, os.W_OK):
        return
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    target = Path(base) / "cxopt" / "numba"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # numba then compiles without caching
    os.environ["NUMBA_CACHE_DIR"] = str(target)


_configure()
