"""cxopt: turn customer-experience plans into numbers a CFO believes.

Quantify each point of pain and delighter, simulate what candidate initiatives would fix
under honest uncertainty, and pick the few initiatives that keep the most revenue within
budget.

>>> sc = cxopt.load_scenario("scenarios/bottom_up_article.toml")          # doctest: +SKIP
>>> sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc), seed=7)     # doctest: +SKIP
>>> plan = cxopt.build_plan(cxopt.optimize(sim, budget=1_500_000))         # doctest: +SKIP
>>> cxopt.save_plan(plan, "plan")                                          # doctest: +SKIP
>>> cxopt.track("plan", "actuals.csv").reforecast                          # doctest: +SKIP

The public names are imported on first use (PEP 562), so ``import cxopt`` — and the
``cxopt`` command's ``--help`` and ``validate`` — do not pay for numba, SciPy, pyarrow or
PuLP until a name that needs them is touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cxopt.kernels import config as _numba_config  # noqa: F401  (the numba cache, before numba is imported)
from cxopt.version import __version__

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "CxoptError": "cxopt.errors",
    "BadInputError": "cxopt.errors",
    "ScenarioError": "cxopt.errors",
    "DataError": "cxopt.errors",
    "PlanFileError": "cxopt.errors",
    "ArgumentError": "cxopt.errors",
    "OutputExistsError": "cxopt.errors",
    "InfeasibleError": "cxopt.errors",
    "SolverError": "cxopt.errors",
    "Problem": "cxopt.errors",
    # the scenario
    "Scenario": "cxopt.model.scenario",
    "load_scenario": "cxopt.model.scenario",
    "parse_scenario": "cxopt.model.scenario",
    "Distribution": "cxopt.model.distributions",
    "parse_distribution": "cxopt.model.distributions",
    # customer bases
    "CustomerBase": "cxopt.data.customers",
    "GroupStats": "cxopt.data.customers",
    # the engine
    "Simulation": "cxopt.engine.simulation",
    "simulate": "cxopt.engine.simulation",
    "Executor": "cxopt.engine.executor",
    "LocalExecutor": "cxopt.engine.executor",
    # the portfolio
    "Constraints": "cxopt.portfolio.search",
    "OptimizationResult": "cxopt.portfolio.search",
    "optimize": "cxopt.portfolio.search",
    "frontier": "cxopt.portfolio.frontier",
    # calibration
    "Calibration": "cxopt.calibration.result",
    "calibrate": "cxopt.calibration.fit",
    # the plan
    "Plan": "cxopt.plan.build",
    "build_plan": "cxopt.plan.build",
    "RiskReport": "cxopt.plan.risk",
    "market_at_risk": "cxopt.plan.risk",
    "StoredPlan": "cxopt.plan.store",
    "load_plan": "cxopt.plan.store",
    "save_plan": "cxopt.report.plandir",
    # tracking
    "Tracking": "cxopt.tracking.track",
    "track": "cxopt.tracking.track",
    "read_actuals": "cxopt.tracking.track",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cxopt' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from cxopt.calibration.fit import calibrate  # noqa: F401
    from cxopt.calibration.result import Calibration  # noqa: F401
    from cxopt.data.customers import CustomerBase, GroupStats  # noqa: F401
    from cxopt.engine.executor import Executor, LocalExecutor  # noqa: F401
    from cxopt.engine.simulation import Simulation, simulate  # noqa: F401
    from cxopt.errors import (ArgumentError, BadInputError, CxoptError, DataError, InfeasibleError,  # noqa: F401
                              OutputExistsError, PlanFileError, Problem, ScenarioError, SolverError)  # noqa: F401
    from cxopt.model.distributions import Distribution, parse_distribution  # noqa: F401
    from cxopt.model.scenario import Scenario, load_scenario, parse_scenario  # noqa: F401
    from cxopt.plan.build import Plan, build_plan  # noqa: F401
    from cxopt.plan.risk import RiskReport, market_at_risk  # noqa: F401
    from cxopt.plan.store import StoredPlan, load_plan  # noqa: F401
    from cxopt.portfolio.frontier import frontier  # noqa: F401
    from cxopt.portfolio.search import Constraints, OptimizationResult, optimize  # noqa: F401
    from cxopt.report.plandir import save_plan  # noqa: F401
    from cxopt.tracking.track import Tracking, read_actuals, track  # noqa: F401
