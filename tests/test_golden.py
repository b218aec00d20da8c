"""Behaviour kept across refactoring: the bundled scenarios' outputs equal the stored ones.

``tests/golden/*.json`` were written by ``tests/golden/make_golden.py`` on the first build,
before the re-layout (issue 12). Each case runs the same ``cxopt`` command in process and
compares its JSON, timings aside, to 12 significant digits (moving code may reorder a
floating-point sum, never change a number). A change of behaviour that is meant re-writes
them with the script and says so in its commit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxopt.cli import app
from tests.golden.make_golden import CASES, HERE, strip_timings

ORDER = list(CASES)  # the track case reads the plan written by optimize_article


def same(expected, actual, where: str = "") -> list[str]:
    """Every place where ``actual`` differs from ``expected`` (numbers to 12 significant digits)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        diffs = [f"{where}: keys {sorted(set(expected) ^ set(actual))}"] if set(expected) != set(actual) else []
        for k in sorted(set(expected) & set(actual)):
            diffs += same(expected[k], actual[k], f"{where}.{k}")
        return diffs
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: {len(expected)} items, now {len(actual)}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in same(e, a, f"{where}[{i}]")]
    if isinstance(expected, float) or isinstance(actual, float):
        if isinstance(expected, (int, float)) and isinstance(actual, (int, float)) and \
                math.isclose(expected, actual, rel_tol=1e-12, abs_tol=1e-12):
            return []
    elif expected == actual:
        return []
    return [f"{where}: {expected!r} -> {actual!r}"]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("golden")


@pytest.mark.parametrize("name", ORDER)
def test_bundled_scenarios_give_the_stored_outputs(name, scratch):
    args = [a.replace("{tmp}", str(scratch)) for a in CASES[name]]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    expected = json.loads((HERE / f"{name}.json").read_text())
    diffs = same(expected, strip_timings(json.loads(result.stdout)))
    assert not diffs, f"{name}: " + "; ".join(diffs[:20])


def test_the_comparison_sees_a_changed_number():
    assert same({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 + 1e-9]})
    assert not same({"a": [1.0, 2.0]}, {"a": [1.0, 2.0 * (1 + 1e-15)]})
