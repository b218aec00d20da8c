"""Headless Chromium for the report tests: the DOM of a page after it loaded, and how many of
its plots decoded (the page's own script counts them into ``<body data-loaded>``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["chromium", "loaded_plots", "rendered_dom"]


def chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def rendered_dom(path: Path, profile: Path) -> str:
    """The DOM after load, as headless Chromium (no network, no GPU, no sandbox) builds it."""
    exe = chromium()
    if exe is None:
        pytest.skip("no chromium binary (/usr/bin/chromium or chromium on PATH); "
                    ".ci/run installs Debian's chromium")
    args = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={profile}", "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=5000", "--dump-dom", path.resolve().as_uri()]
    done = subprocess.run(args, capture_output=True, text=True, timeout=90,
                          env={**os.environ, "LANG": "C.UTF-8"})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def loaded_plots(dom: str) -> tuple[int, int]:
    body = re.search(r"<body\b[^>]*>", dom)
    assert body, dom[:500]
    loaded = re.search(r'data-loaded="(\d+)"', body.group(0))
    plots = re.search(r'data-plots="(\d+)"', body.group(0))
    assert loaded and plots, f"the page's load script did not run: {body.group(0)}"
    return int(loaded.group(1)), int(plots.group(1))
