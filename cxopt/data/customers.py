"""Customer bases, one import away: the names other stages use, re-exported from the modules
that hold them.

* :mod:`cxopt.data.chunk` — :class:`CustomerChunk`, the customer file's columns
* :mod:`cxopt.data.base` — :class:`CustomerBase` (synthetic or from files, streamed)
* :mod:`cxopt.data.groups` — :class:`GroupStats`, :class:`RawGroups`, :class:`GroupAccumulator`
* :mod:`cxopt.data.synthetic` — the generator, :func:`driver_volume`
* :mod:`cxopt.data.readers` — reading and validating Parquet/CSV customer files
* :mod:`cxopt.data.writers` — :func:`write_partitioned`, Parquet writing
"""

from __future__ import annotations

from cxopt.data.base import CustomerBase, prefetch
from cxopt.data.chunk import DEFAULT_CHUNK, EXPOSED_PREFIX, REQUIRED_COLUMNS, CustomerChunk
from cxopt.data.groups import GroupAccumulator, GroupStats, RawGroups
from cxopt.data.synthetic import SYNTHETIC_BLOCK, driver_volume
from cxopt.data.writers import write_partitioned

__all__ = ["CustomerBase", "CustomerChunk", "GroupStats", "RawGroups", "GroupAccumulator", "DEFAULT_CHUNK",
           "SYNTHETIC_BLOCK", "EXPOSED_PREFIX", "REQUIRED_COLUMNS", "driver_volume", "write_partitioned",
           "prefetch"]
