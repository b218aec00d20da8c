"""Reading customer files (``cxopt.data.readers``): the columns a reader requires, and the
errors of bad files and bad parameters (DataError for a file, ArgumentError for a parameter).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from cxopt.data.chunk import REQUIRED_COLUMNS
from cxopt.data.customers import CustomerBase, write_partitioned
from cxopt.data.history import read_history
from cxopt.data.readers import check_columns, chunk_from_batch
from cxopt.errors import ArgumentError, BadInputError, DataError, ScenarioError
from tests.data.test_customers import good_columns, make_scenario, write

DRIVERS = ["missed_delivery", "unreturned_call", "proactive_education"]
HISTORY_COLUMNS = ("customer_id", "revenue", "segment")


@pytest.fixture(scope="module")
def scenario():
    return make_scenario(count=1_000)


def batch_of(cols: dict) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({k: pa.array(v) for k, v in cols.items()})


def read(batch: pa.RecordBatch, **kw):
    codes = {"consumer": 0, "business": 1}
    return chunk_from_batch(batch, DRIVERS, codes, declared=True, where="f.parquet", **kw)


# --------------------------------------------------------------------------------------
# the columns a reader requires
# --------------------------------------------------------------------------------------
def test_a_batch_without_baseline_churn_reads_when_it_is_not_required():
    cols = good_columns()
    del cols["baseline_churn"]
    chunk = read(batch_of(cols), required=HISTORY_COLUMNS)
    np.testing.assert_array_equal(chunk.customer_id, cols["customer_id"])
    np.testing.assert_array_equal(chunk.revenue, cols["revenue"])
    np.testing.assert_array_equal(chunk.segment, [0 if s == "consumer" else 1 for s in cols["segment"]])
    np.testing.assert_array_equal(chunk.baseline_churn, np.zeros(len(cols["revenue"])))
    expected_mask = sum(np.array(cols[f"exposed_{d}"], dtype=np.uint64) << np.uint64(j)
                        for j, d in enumerate(DRIVERS))
    np.testing.assert_array_equal(chunk.mask, expected_mask)


def test_by_default_a_missing_baseline_churn_is_a_data_error_naming_it():
    cols = good_columns()
    del cols["baseline_churn"]
    with pytest.raises(DataError) as info:
        read(batch_of(cols))
    [problem] = info.value.problems
    assert (problem.source, problem.path, problem.reason) == ("f.parquet", "baseline_churn", "missing column")


def test_a_missing_driver_column_is_a_data_error_whatever_is_required():
    cols = good_columns()
    del cols["exposed_unreturned_call"]
    with pytest.raises(DataError, match="exposed_unreturned_call: missing column"):
        read(batch_of(cols), required=HISTORY_COLUMNS)


def test_a_column_that_is_not_required_is_not_checked():
    cols = good_columns()
    cols["baseline_churn"][2] = 7.0  # would be outside [0, 1]
    with pytest.raises(DataError, match="row 3"):
        read(batch_of(cols))
    assert read(batch_of(cols), required=HISTORY_COLUMNS).baseline_churn.max() == 0.0


@pytest.mark.parametrize("required", [("revenue", "segment"), ("customer_id", "revenue"),
                                      (*REQUIRED_COLUMNS, "churned")])
def test_required_columns_must_include_the_keys_and_be_customer_columns(required):
    with pytest.raises(ArgumentError) as info:
        read(batch_of(good_columns()), required=required)
    assert info.value.problems[0].path == "required"


def test_check_columns_requires_what_it_is_told(tmp_path):
    cols = good_columns()
    del cols["baseline_churn"]
    path = write(cols, tmp_path / "history.parquet")
    assert "exposed_proactive_education" in check_columns(path, DRIVERS, required=HISTORY_COLUMNS)
    with pytest.raises(DataError, match="baseline_churn: missing column"):
        check_columns(path, DRIVERS)
    with pytest.raises(DataError, match=r"segment: missing column \(the group key\)"):
        check_columns(write({k: v for k, v in cols.items() if k != "segment"}, tmp_path / "x.parquet"),
                      DRIVERS, required=HISTORY_COLUMNS, hints={"segment": "the group key"})


def test_check_columns_accepts_an_optional_driver_and_rejects_an_unknown_one(tmp_path):
    path = write(good_columns(), tmp_path / "customers.parquet")
    check_columns(path, DRIVERS[:2], optional_drivers=DRIVERS[2:])
    with pytest.raises(DataError, match="exposed_proactive_education.*no pain point or delighter"):
        check_columns(path, DRIVERS[:2])


# --------------------------------------------------------------------------------------
# errors: a file's problem is DataError, a parameter's ArgumentError (both exit 2)
# --------------------------------------------------------------------------------------
def test_a_bad_customer_file_is_a_data_error_not_a_scenario_error(scenario, tmp_path):
    cols = good_columns()
    cols["revenue"][1] = -3.0
    path = write(cols, tmp_path / "customers.parquet")
    with pytest.raises(DataError) as info:
        CustomerBase.from_file(scenario, path).group()
    assert not isinstance(info.value, ScenarioError) and isinstance(info.value, BadInputError)
    [problem] = info.value.problems
    assert (problem.source, problem.path) == (str(path), "revenue")
    assert "row 2 (customer_id 101)" in problem.reason


@pytest.mark.parametrize("name", ["nowhere.parquet", "nothing-*.parquet"])
def test_a_missing_customer_file_is_a_data_error(scenario, tmp_path, name):
    with pytest.raises(DataError):
        CustomerBase.from_file(scenario, str(tmp_path / name))


def test_a_bad_history_is_a_data_error(scenario, tmp_path):
    cols = good_columns()
    del cols["baseline_churn"]
    cols["churned"] = [0, 1, 2, 0, 1, 0]
    path = write(cols, tmp_path / "history.parquet", types={"churned": pa.int64()})
    with pytest.raises(DataError) as info:
        read_history(scenario, path)
    [problem] = info.value.problems
    assert (problem.source, problem.path) == (str(path), "churned") and "row 3" in problem.reason


@pytest.mark.parametrize("call, parameter", [
    (lambda sc, tmp: CustomerBase.synthetic(sc, n=0), "n"),
    (lambda sc, tmp: list(CustomerBase.synthetic(sc).iter_chunks(0)), "chunk_size"),
    (lambda sc, tmp: write_partitioned(CustomerBase.synthetic(sc), tmp / "out", 0), "partitions"),
    (lambda sc, tmp: read_history(sc, tmp / "h.parquet", window_months=0), "window_months"),
], ids=["n", "chunk_size", "partitions", "window_months"])
def test_a_bad_parameter_is_an_argument_error_naming_it(scenario, tmp_path, call, parameter):
    with pytest.raises(ArgumentError) as info:
        call(scenario, tmp_path)
    [problem] = info.value.problems
    assert (problem.source, problem.path) == ("", parameter)
