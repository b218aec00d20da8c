"""Bad or unusual input from the command line ends cleanly (issue 16): non-finite options are
exit 2 naming the option; names are text in the terminal, Markdown and HTML; ``validate``
reads the customer file the scenario points to; degenerate but valid bases give exit 0 with
finite numbers."""

from __future__ import annotations

import json
import re
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests import builders
from tests.builders import DROP
from tests.cli.test_cli import SMALL_RUN, assert_clean_error, invoke, small, small_data  # noqa: F401  (fixture)


def finite_numbers(obj) -> None:
    if isinstance(obj, dict):
        for v in obj.values():
            finite_numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            finite_numbers(v)
    elif isinstance(obj, float):
        assert math.isfinite(obj), obj


# --------------------------------------------------------------------------------------
# options
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, flag", [
    (["optimize", "{s}", "--budget", "inf"], "--budget"),
    (["optimize", "{s}", "--budget", "nan"], "--budget"),
    (["optimize", "{s}", "--time-limit", "inf"], "--time-limit"),
    (["report", "{s}", "--budget", "inf"], "--budget"),
    (["frontier", "{s}", "--budgets", "0:inf:2"], "--budgets"),
    (["frontier", "{s}", "--budgets", "nan:100:2"], "--budgets"),
    (["track", "{d}", "{d}/a.csv", "--dispersion", "inf"], "--dispersion"),
    (["track", "{d}", "{d}/a.csv", "--ess-threshold", "nan"], "--ess-threshold"),
    (["track", "{d}", "{d}/a.csv", "--metric-sd", "nan"], "--metric-sd"),
    (["replan", "{d}", "{d}/a.csv", "--budget", "inf"], "--budget"),
], ids=lambda x: x if isinstance(x, str) else " ".join(x[::2]) + " " + x[-1])
def test_non_finite_options_are_exit_2_naming_the_option(small, tmp_path, args, flag):
    args = [a.format(s=small, d=tmp_path) for a in args]
    result = invoke(*args, *(["--customers", "300", "--trials", "20", "--quiet"] if args[0] in ("optimize", "report", "frontier") else []))
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert flag in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------------------
# names are text
# --------------------------------------------------------------------------------------
NAMES = ["Ops [/]", "CRM rebuild [phase 2]", "Ops :100: team", "[x](javascript:alert(1))", "<script>x</script>",
         "*bold* `code` a|b"]


@pytest.fixture(scope="module")
def named(tmp_path_factory) -> Path:
    changes = {f"initiatives[{i}].owner": name for i, name in enumerate(NAMES[:4])}
    changes.update({"scenario.name": NAMES[5], "initiatives[0].name": NAMES[4]})
    return builders.write(tmp_path_factory.mktemp("named") / "named.toml", small_data(changes))


def test_names_print_as_written_in_the_terminal(named):
    result = invoke("optimize", named, *SMALL_RUN)
    assert result.exit_code == 0, result.stderr
    owners = [n for n in NAMES[:3]]
    shown = [o for o in owners if o in result.stdout]
    assert shown, result.stdout  # at least the chosen initiatives' owners appear, verbatim
    assert "💯" not in result.stdout


def test_names_are_text_in_plan_md_and_report_html(named, tmp_path):
    out = tmp_path / "plan"
    result = invoke("optimize", named, "--out", out, *SMALL_RUN)
    assert result.exit_code == 0, result.stderr
    md = (out / "plan.md").read_text(encoding="utf-8")
    # no live link: every "](" that follows a name's closing bracket has the bracket escaped
    assert not re.search(r"(?<!\\)\]\(javascript:", md) and "<script>" not in md
    assert "\\[x\\](javascript:alert(1))" in md or "[x](javascript" not in md
    assert "\\*bold\\*" in md
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>x</script>" not in html


# --------------------------------------------------------------------------------------
# validate reads what the scenario points to
# --------------------------------------------------------------------------------------
def base_table(n: int, *, revenue=None, exposed=True, ids=None) -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table({
        "customer_id": np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64),
        "revenue": rng.uniform(100, 1000, n) if revenue is None else np.full(n, float(revenue)),
        "baseline_churn": np.full(n, 0.07),
        "segment": ["all"] * n,
        "exposed_billing_error": np.full(n, exposed),
        "exposed_long_hold": np.full(n, exposed) & (np.arange(n) % 2 == 0),
    })


def with_path(tmp_path: Path, path: str) -> Path:
    return builders.write(tmp_path / "scenario.toml", small_data({"customers.count": DROP, "customers.path": path}))


@pytest.mark.parametrize("case, needle", [
    ("missing", "no such file"),
    ("corrupt", "cannot read"),
    ("duplicate ids", "appears twice"),
    ("revenue too large", "maximum"),
    ("blank path", "customers.path"),
])
def test_validate_checks_the_customer_file(tmp_path, case, needle):
    f = tmp_path / "customers.parquet"
    if case == "corrupt":
        f.write_bytes(b"PAR1 this is not parquet")
    elif case == "duplicate ids":
        pq.write_table(base_table(50, ids=[1] * 2 + list(range(2, 50))), f)
    elif case == "revenue too large":
        pq.write_table(base_table(50, revenue=1e300), f)
    scenario = with_path(tmp_path, "" if case == "blank path" else "customers.parquet")
    for command in (["validate", scenario], ["risk", scenario, "--quiet"]):
        result = invoke(*command)
        assert_clean_error(result, 2, needle)


def test_validate_accepts_a_good_customer_file(tmp_path):
    pq.write_table(base_table(50), tmp_path / "customers.parquet")
    result = invoke("validate", with_path(tmp_path, "customers.parquet"))
    assert result.exit_code == 0, result.stderr


# --------------------------------------------------------------------------------------
# degenerate but valid bases
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", [
    base_table(1), base_table(40, revenue=0.0), base_table(40, exposed=False),
], ids=["one-customer", "zero-revenue", "nobody-exposed"])
def test_degenerate_bases_optimise_with_finite_numbers(tmp_path, table):
    pq.write_table(table, tmp_path / "customers.parquet")
    scenario = with_path(tmp_path, "customers.parquet")
    result = invoke("optimize", scenario, "--json", "--trials", "50", "--quiet")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    finite_numbers(data)
    assert 0 <= data["baseline"]["churn_rate"]["mean"] <= 1
