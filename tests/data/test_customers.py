"""Customer bases (DESIGN.md sections 1 "Customers" and 6 "Customer files").

Synthetic bases are held to the scenario that made them with confidence bounds (four
standard errors of a proportion), the copula to the bivariate normal CDF from
``scipy.stats``, and the grouping pass to a direct NumPy group-by written here. Files are
held to the synthetic base they were written from, and every bad file to an error that
names the file, the column and the first offending row.
"""

from __future__ import annotations

import math
from pathlib import Path

import numba
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from scipy import stats

from cxopt import parse_scenario
from cxopt.errors import DataError
from cxopt.data.atomic import OutputExistsError
from cxopt.data.customers import SYNTHETIC_BLOCK, CustomerBase, CustomerChunk, GroupStats

N = 200_000
SEED = 11
MEDIAN_REVENUE, REVENUE_SIGMA = 900.0, 0.9
SHARES = {"consumer": 0.7, "business": 0.3}
REVENUE_MULTIPLIER = {"consumer": 1.0, "business": 4.0}
# pain points, then delighters: the bit order of the exposure mask
VOLUMES = {
    "missed_delivery": {"consumer": 0.20, "business": 0.20},
    "unreturned_call": {"consumer": 0.05, "business": 0.15},
    "proactive_education": {"consumer": 0.30, "business": 0.30},
}
DRIVERS = list(VOLUMES)


def scenario_data(*, rho: float = 0.3, count: int = N, segments: bool = True,
                  path: str | None = None) -> dict:
    customers = {
        "revenue": {"dist": "lognormal", "median": MEDIAN_REVENUE, "sigma": REVENUE_SIGMA},
        "baseline_churn": {"dist": "beta", "mean": 0.08, "sd": 0.03},
        "exposure_correlation": rho,
    }
    customers.update({"path": path} if path else {"count": count})
    if segments:
        customers["segments"] = [
            {"id": "consumer", "share": SHARES["consumer"]},
            {"id": "business", "share": SHARES["business"],
             "revenue_multiplier": REVENUE_MULTIPLIER["business"],
             "baseline_churn": {"dist": "uniform", "low": 0.02, "high": 0.06}},
        ]
    return {
        "scenario": {"name": "customers under test", "seed": SEED},
        "customers": customers,
        "pain_points": [
            {"id": "missed_delivery", "volume": VOLUMES["missed_delivery"]["consumer"], "severity": 0.03},
            {"id": "unreturned_call", "volume": VOLUMES["unreturned_call"] if segments else 0.05,
             "severity": 0.1},
        ],
        "delighters": [{"id": "proactive_education", "reach": VOLUMES["proactive_education"]["consumer"],
                        "lift": 0.1}],
    }


def make_scenario(**kw):
    return parse_scenario(scenario_data(**kw), source="customers-test.toml")


def concat(chunks) -> CustomerChunk:
    chunks = list(chunks)
    return CustomerChunk(*(np.concatenate([getattr(c, f) for c in chunks]) for f in
                           ("customer_id", "revenue", "baseline_churn", "segment", "mask")))


def assert_same_chunk(a: CustomerChunk, b: CustomerChunk) -> None:
    for f in ("customer_id", "revenue", "baseline_churn", "segment", "mask"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


def assert_same_groups(a: GroupStats, b: GroupStats) -> None:
    assert a.segments == b.segments
    assert a.drivers == b.drivers
    for f in ("segment", "mask", "customers", "revenue", "revenue_churn", "churn"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.max_churn == b.max_churn


def exposed(chunk: CustomerChunk, j: int) -> np.ndarray:
    return (chunk.mask >> np.uint64(j)) & np.uint64(1) == 1


def within_proportion_bounds(observed: float, p: float, n: int, what: str) -> None:
    se = math.sqrt(p * (1.0 - p) / n)
    assert abs(observed - p) <= 4.0 * se, f"{what}: observed {observed:.5f}, expected {p:.5f} +- {4 * se:.5f}"


@pytest.fixture(scope="module")
def scenario():
    return make_scenario()


@pytest.fixture(scope="module")
def customers(scenario) -> CustomerChunk:
    """The full stream of the synthetic base (default chunking)."""
    return concat(CustomerBase.synthetic(scenario).iter_chunks())


@pytest.fixture(scope="module")
def groups(scenario) -> GroupStats:
    return CustomerBase.synthetic(scenario).group()


@pytest.fixture
def numba_threads():
    """Set numba's thread count inside a test; restored afterwards."""
    before = numba.get_num_threads()
    yield numba.set_num_threads
    numba.set_num_threads(before)


# --------------------------------------------------------------------------------------
# synthetic base: the scenario's numbers, within sampling error
# --------------------------------------------------------------------------------------
def test_synthetic_base_has_the_requested_size_and_ids(customers):
    assert len(customers) == N
    np.testing.assert_array_equal(customers.customer_id, np.arange(N))


@pytest.mark.parametrize("segment", list(SHARES))
def test_segment_shares_match_the_scenario(customers, scenario, segment):
    code = scenario.segment_ids.index(segment)
    share = float(np.mean(customers.segment == code))
    within_proportion_bounds(share, SHARES[segment], N, f"share of {segment}")


@pytest.mark.parametrize("segment", list(SHARES))
@pytest.mark.parametrize("driver", DRIVERS)
def test_driver_volume_per_segment_matches_the_scenario(customers, scenario, driver, segment):
    in_segment = customers.segment == scenario.segment_ids.index(segment)
    volume = float(np.mean(exposed(customers, DRIVERS.index(driver))[in_segment]))
    within_proportion_bounds(volume, VOLUMES[driver][segment], int(in_segment.sum()),
                             f"{driver} in {segment}")


def joint_exposure(v1: float, v2: float, rho: float) -> float:
    """P(z1 < Phi^-1(v1), z2 < Phi^-1(v2)) for standard normals with correlation rho."""
    cov = [[1.0, rho], [rho, 1.0]]
    return float(stats.multivariate_normal(mean=[0.0, 0.0], cov=cov).cdf(
        [stats.norm.ppf(v1), stats.norm.ppf(v2)]))


@pytest.mark.parametrize("rho", [0.0, 0.6])
@pytest.mark.parametrize("pair,segment", [
    (("missed_delivery", "proactive_education"), "consumer"),
    (("missed_delivery", "unreturned_call"), "business"),
    (("unreturned_call", "proactive_education"), "consumer"),
])
def test_joint_exposure_follows_the_gaussian_copula(rho, pair, segment):
    sc = make_scenario(rho=rho)
    chunk = CustomerBase.synthetic(sc).synthetic_rows(0, N)
    in_segment = chunk.segment == sc.segment_ids.index(segment)
    a, b = (exposed(chunk, DRIVERS.index(d))[in_segment] for d in pair)
    expected = joint_exposure(VOLUMES[pair[0]][segment], VOLUMES[pair[1]][segment], rho)
    within_proportion_bounds(float(np.mean(a & b)), expected, int(in_segment.sum()),
                             f"P({pair[0]} and {pair[1]}) in {segment}, rho={rho}")


def test_positive_exposure_correlation_raises_the_joint_exposure_above_independence():
    # guards the copula test against a reference that would agree with anything
    v1, v2 = VOLUMES["missed_delivery"]["consumer"], VOLUMES["proactive_education"]["consumer"]
    assert joint_exposure(v1, v2, 0.0) == pytest.approx(v1 * v2, rel=1e-6)
    assert joint_exposure(v1, v2, 0.6) > v1 * v2 + 0.03


@pytest.mark.parametrize("segment", list(SHARES))
@pytest.mark.parametrize("z", [-1.0, 0.0, 1.0])
def test_revenue_is_lognormal_with_median_times_segment_multiplier(customers, scenario, segment, z):
    # P(r <= median * multiplier * exp(sigma z)) = Phi(z); z = 0 is the median
    in_segment = customers.segment == scenario.segment_ids.index(segment)
    threshold = MEDIAN_REVENUE * REVENUE_MULTIPLIER[segment] * math.exp(REVENUE_SIGMA * z)
    below = float(np.mean(customers.revenue[in_segment] <= threshold))
    within_proportion_bounds(below, float(stats.norm.cdf(z)), int(in_segment.sum()),
                             f"revenue quantile at z={z} in {segment}")


@pytest.mark.parametrize("segment,mean,sd", [
    ("consumer", 0.08, 0.03),  # [customers] baseline_churn = beta(mean 0.08, sd 0.03)
    ("business", 0.04, 0.04 / math.sqrt(12)),  # its own uniform(0.02, 0.06)
])
def test_baseline_churn_mean_per_segment(customers, scenario, segment, mean, sd):
    in_segment = customers.segment == scenario.segment_ids.index(segment)
    p = customers.baseline_churn[in_segment]
    assert abs(p.mean() - mean) <= 4.0 * sd / math.sqrt(p.size)
    assert p.min() >= 0.0 and p.max() <= 1.0


# --------------------------------------------------------------------------------------
# a customer depends only on (seed, i)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("start,stop", [
    (0, 10),
    (1_000, 1_100),
    (SYNTHETIC_BLOCK - 7, SYNTHETIC_BLOCK + 9),  # across a block boundary
    (3, 2 * SYNTHETIC_BLOCK + 5),  # spans three blocks
    (N - 25, N),  # the last, partial block
])
def test_synthetic_rows_equal_the_slice_of_the_full_stream(scenario, customers, start, stop):
    rows = CustomerBase.synthetic(scenario).synthetic_rows(start, stop)
    assert_same_chunk(rows, CustomerChunk(*(getattr(customers, f)[start:stop] for f in
                                            ("customer_id", "revenue", "baseline_churn", "segment", "mask"))))


@pytest.mark.parametrize("chunk_size", [1_000, SYNTHETIC_BLOCK, 3 * SYNTHETIC_BLOCK, 1 << 20])
def test_chunk_size_does_not_change_the_stream(scenario, customers, chunk_size):
    assert_same_chunk(concat(CustomerBase.synthetic(scenario).iter_chunks(chunk_size)), customers)


def test_a_customer_does_not_depend_on_the_size_of_the_base(scenario, customers):
    # customer i of a 100,000-customer base is customer i of the 200,000-customer base
    n = 100_000
    small = concat(CustomerBase.synthetic(scenario, n=n).iter_chunks())
    assert_same_chunk(small, CustomerBase.synthetic(scenario).synthetic_rows(0, n))


def test_a_different_seed_gives_different_customers(scenario, customers):
    other = CustomerBase.synthetic(scenario, seed=SEED + 1).synthetic_rows(0, 1000)
    assert not np.array_equal(other.revenue, customers.revenue[:1000])


# --------------------------------------------------------------------------------------
# grouping: the sufficient statistics per (segment, mask)
# --------------------------------------------------------------------------------------
def numpy_group_by(chunk: CustomerChunk) -> dict[str, np.ndarray]:
    """The reference: np.unique on (segment, mask) and weighted bincounts."""
    keys = np.column_stack([chunk.segment.astype(np.uint64), chunk.mask])
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    r, p = chunk.revenue, chunk.baseline_churn
    return {
        "segment": unique[:, 0].astype(np.int64),
        "mask": unique[:, 1],
        "customers": np.bincount(inverse),
        "revenue": np.bincount(inverse, weights=r),
        "revenue_churn": np.bincount(inverse, weights=r * p),
        "churn": np.bincount(inverse, weights=p),
    }


def test_group_keys_and_counts_equal_a_numpy_group_by(groups, customers):
    ref = numpy_group_by(customers)
    np.testing.assert_array_equal(groups.segment, ref["segment"])
    np.testing.assert_array_equal(groups.mask, ref["mask"])
    np.testing.assert_array_equal(groups.customers, ref["customers"])


@pytest.mark.parametrize("column", ["revenue", "revenue_churn", "churn"])
def test_group_sums_equal_a_numpy_group_by(groups, customers, column):
    ref = numpy_group_by(customers)
    np.testing.assert_allclose(getattr(groups, column), ref[column], rtol=1e-9, atol=0)


def test_group_max_churn_is_the_largest_baseline_churn(groups, customers):
    assert groups.max_churn == customers.baseline_churn.max()


def test_grouping_does_not_depend_on_chunk_size(scenario):
    assert_same_groups(CustomerBase.synthetic(scenario).group(chunk_size=1 << 16),
                       CustomerBase.synthetic(scenario).group(chunk_size=1 << 20))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_grouping_does_not_depend_on_thread_count(scenario, numba_threads):
    numba_threads(1)
    one = CustomerBase.synthetic(scenario).group(chunk_size=1 << 16)
    numba_threads(2)
    two = CustomerBase.synthetic(scenario).group(chunk_size=1 << 16)
    assert_same_groups(one, two)


# --------------------------------------------------------------------------------------
# files: Parquet, CSV, directories and globs give the synthetic base's groups
# --------------------------------------------------------------------------------------
def customer_table(chunk: CustomerChunk, segments) -> pa.Table:
    """The file layout of DESIGN.md section 6, built here from plain arrays."""
    columns = {
        "customer_id": pa.array(chunk.customer_id, pa.int64()),
        "revenue": pa.array(chunk.revenue, pa.float64()),
        "baseline_churn": pa.array(chunk.baseline_churn, pa.float64()),
        "segment": pa.array(np.asarray(segments, dtype=object)[chunk.segment], pa.string()),
    }
    for j, d in enumerate(DRIVERS):
        columns[f"exposed_{d}"] = pa.array(exposed(chunk, j))
    return pa.table(columns)


@pytest.fixture(scope="module")
def parquet_file(scenario, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("parquet") / "customers.parquet"
    CustomerBase.synthetic(scenario).write_parquet(path)
    return path


def test_parquet_round_trip_keeps_the_groups(scenario, groups, parquet_file):
    assert_same_groups(CustomerBase.from_file(scenario, parquet_file).group(), groups)


def test_parquet_file_holds_the_customers(scenario, customers, parquet_file):
    table = pq.read_table(parquet_file)
    assert table.column_names == ["customer_id", "revenue", "baseline_churn", "segment",
                                  *(f"exposed_{d}" for d in DRIVERS)]
    np.testing.assert_array_equal(table["customer_id"].to_numpy(), customers.customer_id)
    np.testing.assert_array_equal(table["revenue"].to_numpy(), customers.revenue)


def test_csv_round_trip_keeps_the_groups(scenario, groups, customers, tmp_path):
    path = tmp_path / "customers.csv"
    pacsv.write_csv(customer_table(customers, scenario.segment_ids), path)
    assert_same_groups(CustomerBase.from_file(scenario, path).group(), groups)


@pytest.fixture(scope="module")
def partitioned(scenario, tmp_path_factory) -> Path:
    """The base in four Parquet files of uneven size (boundaries inside blocks)."""
    folder = tmp_path_factory.mktemp("partitioned")
    base = CustomerBase.synthetic(scenario)
    bounds = [0, 12_345, 70_000, 150_001, N]
    for part, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        pq.write_table(customer_table(base.synthetic_rows(lo, hi), scenario.segment_ids),
                       folder / f"part-{part}.parquet")
    return folder


def test_partitioned_directory_gives_the_same_groups(scenario, groups, partitioned):
    assert_same_groups(CustomerBase.from_file(scenario, partitioned).group(), groups)


def test_glob_gives_the_same_groups(scenario, groups, partitioned):
    assert_same_groups(CustomerBase.from_file(scenario, partitioned / "part-*.parquet").group(), groups)


def test_glob_reads_only_the_files_it_matches(scenario, partitioned):
    subset = CustomerBase.from_file(scenario, partitioned / "part-[01].parquet")
    assert [p.name for p in subset.paths] == ["part-0.parquet", "part-1.parquet"]
    assert subset.group().n_customers == 70_000


def test_directory_includes_sub_directories(scenario, groups, tmp_path):
    base = CustomerBase.synthetic(scenario)
    (tmp_path / "2027" / "01").mkdir(parents=True)
    pq.write_table(customer_table(base.synthetic_rows(0, 100_000), scenario.segment_ids),
                   tmp_path / "first.parquet")
    pq.write_table(customer_table(base.synthetic_rows(100_000, N), scenario.segment_ids),
                   tmp_path / "2027" / "01" / "second.parquet")
    assert_same_groups(CustomerBase.from_file(scenario, tmp_path).group(), groups)


def test_file_base_counts_its_rows(scenario, partitioned):
    assert CustomerBase.from_file(scenario, partitioned).n_customers == N


# --------------------------------------------------------------------------------------
# writing: never overwrite without force, never leave a half file
# --------------------------------------------------------------------------------------
def small_base(scenario):
    return CustomerBase.synthetic(scenario, n=1_000)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


def test_write_parquet_refuses_to_overwrite_without_force(scenario, tmp_path):
    path = tmp_path / "customers.parquet"
    path.write_bytes(b"the planner's own file")
    with pytest.raises(OutputExistsError):
        small_base(scenario).write_parquet(path)
    assert path.read_bytes() == b"the planner's own file"
    assert leftovers(tmp_path) == []


def test_write_parquet_overwrites_with_force(scenario, tmp_path):
    path = tmp_path / "customers.parquet"
    path.write_bytes(b"old")
    small_base(scenario).write_parquet(path, force=True)
    assert pq.read_metadata(path).num_rows == 1_000


def test_failed_write_leaves_no_file_behind(scenario, tmp_path):
    path = tmp_path / "customers.parquet"

    def interrupted(rows: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        CustomerBase.synthetic(scenario, n=3 * SYNTHETIC_BLOCK).write_parquet(
            path, chunk_size=SYNTHETIC_BLOCK, progress=interrupted)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------
# bad customer files: DataError naming the file, the column and the first bad row
# --------------------------------------------------------------------------------------
ROWS = 6
BAD_ROWS = (2, 4)  # 0-based; the first offending row is row 3 (1-based) of the file


def good_columns() -> dict[str, list]:
    return {
        "customer_id": list(range(100, 100 + ROWS)),
        "revenue": [500.0, 900.0, 1200.0, 80.0, 3000.0, 650.0],
        "baseline_churn": [0.05, 0.1, 0.08, 0.02, 0.2, 0.07],
        "segment": ["consumer", "business", "consumer", "consumer", "business", "consumer"],
        "exposed_missed_delivery": [True, False, False, True, False, True],
        "exposed_unreturned_call": [False, False, True, False, True, False],
        "exposed_proactive_education": [False, True, False, False, False, True],
    }


def with_bad(column: str, value) -> dict[str, list]:
    cols = good_columns()
    for i in BAD_ROWS:
        cols[column][i] = value
    return cols


def write(cols: dict[str, list], path: Path, types: dict[str, pa.DataType] | None = None) -> Path:
    types = types or {}
    table = pa.table({k: pa.array(v, types.get(k)) for k, v in cols.items()})
    if path.suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


def read_error(scenario, path: Path) -> str:
    with pytest.raises(DataError) as info:
        CustomerBase.from_file(scenario, path).group()
    return str(info.value)


def assert_names(message: str, path: Path, column: str, row: int | None) -> None:
    assert str(path) in message, message
    assert column in message, message
    if row is not None:
        assert f"row {row}" in message, message
        assert f"row {BAD_ROWS[1] + 1}" not in message, message  # the first, not another


BAD_VALUES = [
    pytest.param("revenue", float("nan"), id="nan-revenue"),
    pytest.param("revenue", None, id="missing-revenue"),
    pytest.param("revenue", -1.0, id="negative-revenue"),
    pytest.param("baseline_churn", 1.5, id="churn-above-1"),
    pytest.param("baseline_churn", -0.01, id="churn-below-0"),
    pytest.param("baseline_churn", float("nan"), id="nan-churn"),
    pytest.param("segment", None, id="missing-segment"),
    pytest.param("segment", "wholesale", id="undeclared-segment"),
    pytest.param("exposed_unreturned_call", None, id="missing-exposure"),
]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("column,value", BAD_VALUES)
def test_bad_value_names_file_column_and_first_row(scenario, tmp_path, suffix, column, value):
    path = write(with_bad(column, value), tmp_path / f"customers{suffix}")
    assert_names(read_error(scenario, path), path, column, BAD_ROWS[0] + 1)


def test_bad_value_in_a_later_batch_names_its_row_in_the_file(scenario, tmp_path):
    n, bad = 3 * SYNTHETIC_BLOCK, 2 * SYNTHETIC_BLOCK + 10
    chunk = CustomerBase.synthetic(scenario, n=n).synthetic_rows(0, n)
    churn = chunk.baseline_churn.copy()
    churn[bad] = 1.25
    table = customer_table(chunk, scenario.segment_ids).set_column(2, "baseline_churn", pa.array(churn))
    path = tmp_path / "customers.parquet"
    pq.write_table(table, path)
    with pytest.raises(DataError) as info:
        CustomerBase.from_file(scenario, path).group(chunk_size=SYNTHETIC_BLOCK)
    assert f"row {bad + 1}" in str(info.value)
    assert "baseline_churn" in str(info.value)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("column", ["customer_id", "revenue", "baseline_churn", "segment",
                                    "exposed_missed_delivery"])
def test_missing_column_is_named(scenario, tmp_path, suffix, column):
    cols = good_columns()
    del cols[column]
    path = write(cols, tmp_path / f"customers{suffix}")
    assert_names(read_error(scenario, path), path, column, None)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_exposure_column_of_an_unknown_driver_is_named(scenario, tmp_path, suffix):
    cols = good_columns()
    cols["exposed_slow_refund"] = [False] * ROWS
    path = write(cols, tmp_path / f"customers{suffix}")
    assert_names(read_error(scenario, path), path, "exposed_slow_refund", None)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_exposure_column_with_a_value_other_than_0_or_1_names_the_row(scenario, tmp_path, suffix):
    cols = with_bad("exposed_missed_delivery", 2)
    cols["exposed_missed_delivery"] = [int(v) for v in cols["exposed_missed_delivery"]]
    path = write(cols, tmp_path / f"customers{suffix}")
    assert_names(read_error(scenario, path), path, "exposed_missed_delivery", BAD_ROWS[0] + 1)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("values", [
    pytest.param(["yes", "no", "yes", "no", "no", "yes"], id="text"),
    pytest.param([1.0, 0.0, 0.5, 0.0, 1.0, 1.0], id="fractions"),
])
def test_non_boolean_exposure_column_is_named(scenario, tmp_path, suffix, values):
    cols = good_columns()
    cols["exposed_missed_delivery"] = values
    path = write(cols, tmp_path / f"customers{suffix}")
    assert_names(read_error(scenario, path), path, "exposed_missed_delivery", None)


def test_csv_empty_segment_is_a_missing_value_when_segments_come_from_the_file(tmp_path):
    sc = make_scenario(segments=False, path="customers.csv")
    path = tmp_path / "customers.csv"
    cols = good_columns()
    cols["segment"][2] = ""
    write(cols, path)
    assert_names(read_error(sc, path), path, "segment", 3)


def test_segments_come_from_the_file_when_the_scenario_declares_none(tmp_path):
    sc = make_scenario(segments=False, path="customers.parquet")
    path = write(good_columns(), tmp_path / "customers.parquet")
    stats_ = CustomerBase.from_file(sc, path).group()
    assert stats_.segments == ("business", "consumer")
    assert stats_.segment_shares() == pytest.approx({"business": 2 / 6, "consumer": 4 / 6})
