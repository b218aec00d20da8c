"""cxopt: turn customer-experience plans into numbers a CFO believes.

Quantify each point of pain and delighter, simulate what candidate initiatives would fix
under honest uncertainty, and pick the few initiatives that keep the most revenue within
budget.

>>> sc = cxopt.load_scenario("scenarios/bottom_up_article.toml")          # doctest: +SKIP
>>> sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc), seed=7)     # doctest: +SKIP
>>> plan = cxopt.build_plan(cxopt.optimize(sim, budget=1_500_000))         # doctest: +SKIP
"""

from cxopt.kernels import config as _numba_cache  # noqa: F401  (before numba is imported)
from cxopt.calibration.fit import Calibration
from cxopt.calibration.fit import calibrate as calibrate
from cxopt.data.customers import CustomerBase, GroupStats
from cxopt.model.distributions import Distribution, parse_distribution
from cxopt.engine.simulation import Simulation, simulate
from cxopt.portfolio.frontier import frontier
from cxopt.portfolio.search import Constraints, InfeasibleError, OptimizationResult
from cxopt.portfolio.search import optimize as optimize  # the function; the module stays importable as cxopt.optimize
from cxopt.plan.build import Plan, build_plan
from cxopt.plan.risk import RiskReport, market_at_risk
from cxopt.model.scenario import Scenario, load_scenario, parse_scenario
from cxopt.errors import ScenarioError

__all__ = [
    "Calibration",
    "calibrate",
    "Constraints",
    "CustomerBase",
    "Distribution",
    "GroupStats",
    "InfeasibleError",
    "OptimizationResult",
    "Plan",
    "RiskReport",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "build_plan",
    "frontier",
    "load_scenario",
    "market_at_risk",
    "optimize",
    "parse_scenario",
    "parse_distribution",
    "simulate",
]
__version__ = "0.1.0"
