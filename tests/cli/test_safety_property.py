"""Property (issue 16): generated scenarios and customer files, valid and invalid, through
``cxopt validate`` and ``cxopt optimize --json``: the exit code is 0, 2 or 3, never a
traceback; with exit 0 stdout is one JSON object whose numbers are finite, churn rates lie in
[0, 1] and retained revenue between 0 and the base's revenue. Derandomised (tests/conftest.py's
"ci" profile), a modest number of examples, no deadline (numba compiles on first use)."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.test_cli import invoke

BAD_VALUES = ["nan", "inf", "-1", "true", '"x"', "1e300", "0", "[]"]

REVENUES = ["0", "100", '{ dist = "lognormal", median = 500.0, sigma = 1.0 }']
numbers = st.floats(min_value=0, max_value=1, allow_nan=False)


@st.composite
def scenarios(draw) -> tuple[str, dict | None]:
    """A scenario (TOML) and, or not, a customer file's columns; sometimes one value is bad."""
    n_pains = draw(st.integers(1, 3))
    pains = [f"p{i}" for i in range(n_pains)]
    use_file = draw(st.booleans())
    lines = ["[scenario]", f"trials = {draw(st.integers(1, 40))}", f"horizon_months = {draw(st.integers(1, 24))}",
             "", "[customers]"]
    columns = None
    if use_file:
        n = draw(st.integers(1, 30))
        revenue = draw(st.lists(st.sampled_from([0.0, 1.0, 500.0, 1e6, 1e12]), min_size=n, max_size=n))
        churn = draw(st.lists(numbers, min_size=n, max_size=n))
        columns = {"customer_id": list(range(n)), "revenue": revenue, "baseline_churn": churn,
                   "segment": ["all"] * n}
        for p in pains:
            columns[f"exposed_{p}"] = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        if draw(st.integers(0, 4)) == 0:  # a bad file
            bad = draw(st.sampled_from(["dup", "neg", "huge", "churn", "nan"]))
            if bad == "dup" and n > 1:
                columns["customer_id"][-1] = 0
            elif bad == "neg":
                columns["revenue"][0] = -5.0
            elif bad == "huge":
                columns["revenue"][0] = 1e300
            elif bad == "churn":
                columns["baseline_churn"][0] = 1.5
            elif bad == "nan":
                columns["revenue"][0] = float("nan")
        lines.append('path = "customers.parquet"')
    else:
        lines.append(f"count = {draw(st.integers(1, 300))}")
        revenue = draw(st.sampled_from(REVENUES))
        lines.append(f"revenue = {revenue}")
    for p in pains:
        lines += ["", "[[pain_points]]", f'id = "{p}"', f"volume = {draw(numbers)!r}", f"severity = {draw(numbers)!r}"]
        if draw(st.booleans()):
            lines.append(f"nps_impact = {draw(st.integers(-30, 0))}")
    for k in range(draw(st.integers(1, 4))):
        fixes = ", ".join(f"{p} = {draw(numbers)!r}" for p in draw(st.lists(st.sampled_from(pains), min_size=1,
                                                                                   max_size=n_pains, unique=True)))
        lines += ["", "[[initiatives]]", f'id = "k{k}"', f'owner = "{draw(st.sampled_from(["A", "B [x]", ":100:"]))}"',
                  f"cost = {draw(st.integers(0, 1000))}", f"success_probability = {draw(numbers)!r}",
                  f"fixes = {{ {fixes} }}"]
    lines += ["", "[budget]", f"total = {draw(st.integers(0, 2000))}"]
    text = "\n".join(lines) + "\n"
    if draw(st.integers(0, 3)) == 0:  # one bad value in a numeric field
        field = draw(st.sampled_from(["volume = ", "severity = ", "cost = ", "total = ", "trials = "]))
        at = text.index(field) + len(field)
        end = text.index("\n", at)
        text = text[:at] + draw(st.sampled_from(BAD_VALUES)) + text[end:]
    return text, columns


def finite(obj) -> None:
    if isinstance(obj, dict):
        for v in obj.values():
            finite(v)
    elif isinstance(obj, list):
        for v in obj:
            finite(v)
    elif isinstance(obj, float):
        assert math.isfinite(obj), obj


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_any_scenario_ends_cleanly_with_true_numbers(case):
    text, columns = case
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        (folder / "s.toml").write_text(text, encoding="utf-8")
        if columns is not None:
            pq.write_table(pa.table(columns), folder / "customers.parquet")
        checked = invoke("validate", folder / "s.toml")
        assert checked.exit_code in (0, 2), checked.stderr
        result = invoke("optimize", folder / "s.toml", "--json", "--quiet")
    assert "Traceback" not in result.stderr
    assert result.exit_code in (0, 2, 3), (result.exit_code, result.stderr, text)
    if checked.exit_code == 2:  # validate finds what the commands find
        assert result.exit_code == 2, (checked.stderr, result.stderr, text)
    if result.exit_code != 0:
        assert result.stdout == ""
        return
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    finite(data)
    total = data["revenue"]
    for side in ("baseline", "portfolio"):
        for q in ("mean", "p10", "p50", "p90"):
            assert 0.0 <= data[side]["churn_rate"][q] <= 1.0
            assert -1e-6 * max(total, 1) <= data[side]["retained_revenue"][q] <= total * (1 + 1e-9) + 1e-6
