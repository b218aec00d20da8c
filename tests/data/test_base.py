"""The customer base's public ways to share a pass (``cxopt.data.base``): group statistics made
elsewhere are adopted as the base's own, exact sums finalise to what ``group()`` gives, and
the head of a base is its first customers.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxopt.data.chunk import CustomerChunk
from cxopt.data.customers import CustomerBase, RawGroups
from cxopt.errors import ArgumentError
from tests.data.test_customers import assert_same_chunk, assert_same_groups, make_scenario

N = 5_000


@pytest.fixture(scope="module")
def scenario():
    return make_scenario(count=N)


@pytest.fixture(scope="module")
def unsegmented(tmp_path_factory):
    """A file base whose segments come from its rows (first seen is not the sorted order)."""
    sc = make_scenario(segments=False, path="customers.parquet")
    rng = np.random.default_rng(5)
    n = 3_000
    path = tmp_path_factory.mktemp("unsegmented") / "customers.parquet"
    pq.write_table(pa.table({
        "customer_id": np.arange(n, dtype=np.int64), "revenue": rng.lognormal(6, 0.5, n),
        "baseline_churn": rng.uniform(0, 0.2, n), "segment": rng.choice(["zeta", "alpha", "mid"], n),
        **{f"exposed_{d}": rng.random(n) < 0.3 for d in sc.driver_ids},
    }), path, row_group_size=700)
    return sc, path


def no_reading(*_, **__):
    raise AssertionError("the base was read")


# --------------------------------------------------------------------------------------
# adopting group statistics
# --------------------------------------------------------------------------------------
def test_adopted_groups_are_what_group_returns_without_reading(scenario, monkeypatch):
    grouped = CustomerBase.synthetic(scenario, seed=3).group()
    base = CustomerBase.synthetic(scenario, seed=3)
    assert base.cached_groups is None
    assert base.adopt_groups(grouped) is grouped
    monkeypatch.setattr(base, "iter_chunks", no_reading)
    assert base.group() is grouped and base.cached_groups is grouped


def test_a_file_base_after_adopting_equals_one_after_grouping(unsegmented, monkeypatch):
    sc, path = unsegmented
    grouped = CustomerBase.from_file(sc, path)
    stats = grouped.group()
    adopted = CustomerBase.from_file(sc, path)
    adopted.adopt_groups(stats)
    monkeypatch.setattr(adopted, "iter_chunks", no_reading)
    assert adopted.segments == grouped.segments == ("alpha", "mid", "zeta")
    assert adopted.n_customers == grouped.n_customers == 3_000
    assert_same_groups(adopted.group(), stats)


def test_finalised_raw_groups_equal_group(unsegmented, scenario):
    sc, path = unsegmented
    for make in (lambda: CustomerBase.from_file(sc, path), lambda: CustomerBase.synthetic(scenario, seed=4)):
        raw = make().raw_groups(chunk_size=1_000)
        halves = RawGroups(raw.segment[::2], raw.mask[::2], raw.sums[::2], raw.maxp[::2]), \
            RawGroups(raw.segment[1::2], raw.mask[1::2], raw.sums[1::2], raw.maxp[1::2])
        assert_same_groups(make().finalise_groups(RawGroups.merge(halves)), make().group())


def test_groups_of_another_base_are_refused(scenario):
    other_size = CustomerBase.synthetic(scenario, n=N + 1, seed=3).group()
    with pytest.raises(ArgumentError, match="customers"):
        CustomerBase.synthetic(scenario, seed=3).adopt_groups(other_size)
    own = CustomerBase.synthetic(scenario, seed=3).group()
    fewer_drivers = dataclasses.replace(own, drivers=own.drivers[:2])
    with pytest.raises(ArgumentError, match="drivers"):
        CustomerBase.synthetic(scenario, seed=3).adopt_groups(fewer_drivers)
    unsegmented = make_scenario(count=N, segments=False)
    with pytest.raises(ArgumentError, match="segments"):
        CustomerBase.synthetic(scenario, seed=3).adopt_groups(
            CustomerBase.synthetic(unsegmented, seed=3).group())
    with pytest.raises(ArgumentError) as info:
        CustomerBase.synthetic(scenario).adopt_groups("groups")
    assert info.value.problems[0].path == "groups"


def test_refused_groups_leave_the_base_as_it_was(scenario):
    base = CustomerBase.synthetic(scenario, seed=3)
    with pytest.raises(ArgumentError):
        base.adopt_groups(CustomerBase.synthetic(scenario, n=N + 1, seed=3).group())
    assert base.cached_groups is None and base.n_customers == N


# --------------------------------------------------------------------------------------
# the head of a base, chunks
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 999, 3_000, 10_000])
def test_head_is_the_first_customers_of_the_stream(unsegmented, scenario, n):
    sc, path = unsegmented
    for base in (CustomerBase.from_file(sc, path), CustomerBase.synthetic(scenario, seed=2)):
        everyone = CustomerChunk.concat(base.iter_chunks(1_000))
        head = base.head(n)
        assert len(head) == min(n, base.n_customers)
        assert_same_chunk(head, everyone.rows(0, n))


def test_concat_of_no_chunks_is_an_empty_chunk():
    empty = CustomerChunk.concat([])
    assert len(empty) == 0 and empty.mask.dtype == np.uint64 and empty.segment.dtype == np.int32
