"""The benchmark scenario (pain points, delighters and initiatives in the numbers asked for):
the package's own, so ``cxopt bench`` and these benchmarks measure the same thing."""

from cxopt.bench.run import bench_scenario

__all__ = ["bench_scenario"]
