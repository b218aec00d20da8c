"""Fixtures every test folder shares: the bundled scenarios, the small scenario of
:mod:`tests.builders` (as data, as a file, validated) and a small synthetic base of it."""

from __future__ import annotations

import os

# The thread-count tests compare one numba thread with two: two threads even on one core.
# (Before numba is first imported: it reads this once.)
if "NUMBA_NUM_THREADS" not in os.environ and (os.cpu_count() or 1) < 2:
    os.environ["NUMBA_NUM_THREADS"] = "2"

from pathlib import Path  # noqa: E402
from typing import Any, Callable  # noqa: E402

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

import cxopt  # noqa: E402
from tests import builders  # noqa: E402

SMALL_BASE_CUSTOMERS = 2_000

# hypothesis, as numpy's conftest does it: "ci" (the default) gives the same examples on every
# run, so that a CI failure reproduces locally; HYPOTHESIS_PROFILE=explore searches afresh.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory) -> Path:
    """The grouped-statistics cache of file bases (cxopt.data.cache) in a temporary directory:
    the tests never write to, or read stale entries from, the user's cache."""
    path = tmp_path_factory.mktemp("cxopt-cache")
    before = os.environ.get("CXOPT_CACHE_DIR")
    os.environ["CXOPT_CACHE_DIR"] = str(path)
    yield path
    if before is None:
        os.environ.pop("CXOPT_CACHE_DIR", None)
    else:
        os.environ["CXOPT_CACHE_DIR"] = before


@pytest.fixture(scope="session")
def article_path() -> Path:
    """``scenarios/bottom_up_article.toml`` (paths as constants: ``tests.builders.ARTICLE``...)."""
    return builders.ARTICLE


@pytest.fixture(scope="session")
def b2b_path() -> Path:
    return builders.B2B


@pytest.fixture(params=builders.BUNDLED, ids=lambda p: p.name)
def bundled_scenario(request) -> Path:
    """Each scenario file shipped in ``scenarios/``."""
    return request.param


@pytest.fixture
def write_scenario(tmp_path) -> Callable[..., Path]:
    """``write_scenario(changes=None, name="scenario.toml", **sections)``: the small scenario,
    changed as :func:`tests.builders.scenario` takes it, written to a file in ``tmp_path``."""

    def write(changes: dict[str, Any] | None = None, /, *, name: str = "scenario.toml", **sections: Any) -> Path:
        return builders.write(tmp_path / name, builders.scenario(changes, **sections))

    return write


@pytest.fixture(scope="session")
def small_scenario() -> cxopt.Scenario:
    """The small scenario, validated (read only: scenarios are immutable)."""
    return cxopt.parse_scenario(builders.scenario(), source="small")


@pytest.fixture(scope="session")
def small_base(small_scenario) -> cxopt.CustomerBase:
    """A synthetic base of the small scenario: 2,000 customers, seed 1."""
    return cxopt.CustomerBase.synthetic(small_scenario, n=SMALL_BASE_CUSTOMERS, seed=1)
