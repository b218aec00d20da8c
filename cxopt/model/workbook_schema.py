"""The scenario workbook's sheets and columns, described once.

The reader (:mod:`cxopt.model.workbook`), the workbook writer and template
(:mod:`cxopt.report.workbook_scenario`) and the commented TOML template all follow these
descriptions, so that a column the reader knows is a column the template explains.

Two layouts:

* ``fields`` sheets (Scenario, Customers, Market, Budget) hold one section of the scenario
  file, one field per row: ``field``, then ``value`` (or the distribution columns), then
  ``about``. A table value spreads over rows ``name.key`` (``total.h1``, ``total.h2``).
* ``table`` sheets hold one item per row, one column per field, under a header in row 1.
  ``volume.<segment>`` / ``reach.<segment>`` columns give a value per segment.

An uncertain value is the group of columns :data:`DIST_COLUMNS`: ``value`` alone for a fixed
number, or ``dist`` with the parameters its distribution takes (see
:mod:`cxopt.model.distributions`): uniform (low, high), triangular and pert (low, mode,
high), beta (mean, sd or a, b), lognormal (median, sigma), normal (mean, sd).
"""

from __future__ import annotations

from dataclasses import dataclass

from cxopt.model.distributions import PARAMETERS

__all__ = ["Column", "Sheet", "DIST_COLUMNS", "DIST_KINDS", "SHEETS", "SHEET_BY_NAME", "RULES", "EXAMPLE",
           "EMPTY_TEXT", "dist_params"]

DIST_COLUMNS = ("value", "dist", "low", "mode", "high", "mean", "sd", "median", "sigma", "a", "b")
DIST_KINDS = tuple(PARAMETERS)
RULES = ("exclusive", "requires", "must", "forbid")
EMPTY_TEXT = '""'  # a text cell holding an empty text (an empty cell means: not given)


def dist_params(kind: str) -> tuple[tuple[str, ...], ...]:
    """The parameter sets a distribution kind accepts (e.g. beta: (mean, sd) or (a, b))."""
    return PARAMETERS[kind]


@dataclass(frozen=True)
class Column:
    """One column of a table sheet, or one field (row) of a fields sheet.

    ``kind``: ``text``, ``id``, ``number``, ``integer``, ``date``, ``ids`` (comma-separated),
    ``dist`` (the :data:`DIST_COLUMNS` group), ``choice`` (one of ``choices``), ``boolean``
    (TRUE or FALSE).
    ``per_key``: a table value may spread over ``name.<key>`` columns (or field rows); ``key``
    says what the key is (``segment``, ``period``).
    ``lower``/``upper``: the range the template's data validation enforces (the scenario's
    own validation is the authority).
    """

    name: str
    kind: str
    about: str
    required: bool = False
    choices: tuple[str, ...] = ()
    per_key: bool = False
    key: str = "key"
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class Sheet:
    """One sheet: its name, layout, the scenario section it fills and its columns (or fields)."""

    name: str
    layout: str  # "fields" or "table"
    section: str  # the scenario key it fills ("scenario", "pain_points", "customers.segments", ...)
    about: str
    columns: tuple[Column, ...]
    required: bool = False

    def column(self, name: str) -> Column | None:
        base = name.split(".", 1)[0]
        for c in self.columns:
            if c.name == name or (c.per_key and c.name == base and "." in name):
                return c
        return None


SHARE = dict(lower=0.0, upper=1.0)
_ID = "identifier: no spaces or dots"

SHEETS: tuple[Sheet, ...] = (
    Sheet("Scenario", "fields", "scenario", "The scenario: its name, horizon, start month, trials, seed, "
          "margin and sponsor.", (
        Column("name", "text", "name of the scenario"),
        Column("description", "text", "what the scenario is about"),
        Column("currency", "text", "currency of every amount (e.g. USD)"),
        Column("horizon_months", "integer", "months the plan covers (1-120)", lower=1, upper=120),
        Column("start", "date", "month 0 of the horizon, as text YYYY-MM (e.g. 2027-01)"),
        Column("trials", "integer", "Monte Carlo trials", lower=1),
        Column("seed", "integer", "random seed (same seed, same numbers)", lower=0),
        Column("margin", "number", "contribution margin in (0, 1]: return figures count margin on retained "
                                   "revenue (empty: revenue itself)", **SHARE),
        Column("sponsor", "text", "the plan's sponsor, named on the goal"),
    )),
    Sheet("Customers", "fields", "customers", "The customer base: a synthetic count or a customer file, "
          "revenue per customer and background churn.", (
        Column("count", "integer", "customers of a synthetic base (or give path)", lower=1),
        Column("path", "text", "customer file (Parquet/CSV), relative to this workbook (or give count)"),
        Column("revenue", "dist", "revenue per customer per year (uncertain: dist columns)"),
        Column("baseline_churn", "dist", "background churn per year, a share in [0, 1]"),
        Column("exposure_correlation", "number", "latent correlation between driver exposures [0, 0.99]",
               lower=0.0, upper=0.99),
    ), required=True),
    Sheet("Segments", "table", "customers.segments", "Customer segments (optional; none means one for all).", (
        Column("id", "id", f"segment id ({_ID})", required=True),
        Column("name", "text", "segment name"),
        Column("share", "number", "share of customers in [0, 1]; shares sum to 1", **SHARE),
        Column("revenue_multiplier", "number", "revenue relative to the base's (> 0)", lower=0.0),
        Column("baseline_churn", "dist", "this segment's background churn (overrides Customers)"),
    )),
    Sheet("Market", "fields", "market", "The market: a multiplier on every churn rate.", (
        Column("churn_multiplier", "dist", "multiplier on churn next year (uncertain: dist columns)"),
    )),
    Sheet("Metrics", "table", "metrics", "The CX metrics the company watches (NPS, CSAT, CES or its own): "
          "today's level, unit and direction; drivers move them (Impacts sheet).", (
        Column("metric", "id", "metric name, an identifier (e.g. csat); not churn or retained_revenue",
               required=True),
        Column("name", "text", "name to show (e.g. CSAT)"),
        Column("baseline", "number", "the level today", required=True),
        Column("unit", "text", 'unit of the level (left empty: points; "" for none)'),
        Column("higher_is_better", "boolean", "TRUE when a higher level is better, FALSE when lower is (left empty: TRUE)",
               choices=("TRUE", "FALSE")),
    )),
    Sheet("Pain points", "table", "pain_points", "Points of pain: who meets them and how many leave because of them.", (
        Column("id", "id", f"pain point id ({_ID})", required=True),
        Column("name", "text", "what the customer meets"),
        Column("owner", "text", "who owns the pain"),
        Column("volume", "number", "share of customers exposed in a year; or volume.<segment> columns",
               per_key=True, key="segment", **SHARE),
        Column("complaints", "number", "complaints a year (instead of volume; needs complaint_rate)", lower=0.0),
        Column("complaint_rate", "number", "share of the exposed who complain, in (0, 1]", **SHARE),
        Column("nps_impact", "number", "NPS points lost among exposed customers (negative); the same as "
                                       "an 'nps' row on the Impacts sheet"),
        Column("severity", "dist", "chance an exposed customer leaves because of it (dist columns)", required=True),
    )),
    Sheet("Delighters", "table", "delighters", "Delighters: do nothing until an initiative delivers them.", (
        Column("id", "id", f"delighter id ({_ID})", required=True),
        Column("name", "text", "what the customer gets"),
        Column("reach", "number", "share of customers eligible; or reach.<segment> columns",
               required=True, per_key=True, key="segment", **SHARE),
        Column("nps_impact", "number", "NPS points gained among those reached; the same as an 'nps' row on "
                                       "the Impacts sheet"),
        Column("lift", "dist", "relative cut in background churn among those reached (dist columns)", required=True),
    )),
    Sheet("Impacts", "table", "impacts", "Impacts of pain points and delighters on the CX metrics (besides "
          "nps_impact), one row per driver and metric.", (
        Column("driver", "id", "pain point or delighter id", required=True),
        Column("metric", "id", "metric name (Metrics sheet, or any other identifier)", required=True),
        Column("impact", "number", "points the metric moves among exposed (pain point, negative) or reached "
                                   "(delighter) customers", required=True),
    )),
    Sheet("Initiatives", "table", "initiatives", "Candidate initiatives, one row each (effects and costs per "
          "period on their own sheets).", (
        Column("id", "id", f"initiative id ({_ID})", required=True),
        Column("name", "text", "what will be done"),
        Column("owner", "text", "the one person accountable", required=True),
        Column("cost", "number", "total cost (or per period on the Costs sheet)", lower=0.0),
        Column("success_probability", "number", "chance it is delivered at all, in [0, 1]", **SHARE),
        Column("start_month", "integer", "month work starts (0 = start of the horizon)", lower=0),
        Column("segments", "ids", "segments it targets, comma-separated (empty: all)"),
        Column("review", "text", "review rhythm (weekly, monthly, ...)"),
        Column("metric", "text", "the process metric its owner moves"),
        Column("metric_unit", "text", 'unit of the metric (%, days, ...; "" for none)'),
        Column("metric_baseline", "number", "the metric today"),
        Column("metric_target", "number", "the metric when the initiative works"),
        Column("savings", "number", "operating savings a year once live (>= 0); or savings.<period> columns, "
                                    "one per budget period (counted when delivered)", per_key=True, key="period",
               lower=0.0),
        Column("months_to_impact", "dist", "go-live month from the start of the horizon (dist columns)"),
    )),
    Sheet("Effects", "table", "effects", "What each initiative does: one row per initiative and pain point "
          "(share of its churn removed) or delighter (share of the eligible reached).", (
        Column("initiative", "id", "initiative id (Initiatives sheet)", required=True),
        Column("driver", "id", "pain point or delighter id", required=True),
        Column("effect", "dist", "the effect, a share in [0, 1] (dist columns)", required=True),
    )),
    Sheet("Costs", "table", "costs", "Costs per period (when the budget is per period): one row per "
          "initiative and period.", (
        Column("initiative", "id", "initiative id (Initiatives sheet)", required=True),
        Column("period", "id", "budget period (Budget sheet: total.<period>)", required=True),
        Column("amount", "number", "cost in that period (>= 0)", required=True, lower=0.0),
    )),
    Sheet("Budget", "fields", "budget", "The budget and the focus limits.", (
        Column("total", "number", "budget (or total.<period> rows, one per period)", per_key=True, key="period",
               lower=0.0),
        Column("max_initiatives", "integer", "at most this many initiatives (5; raising it is on purpose)", lower=1),
        Column("owner_capacity", "integer", "initiatives one owner may lead", lower=1),
        Column("months", "date", "months.<period> rows: the first month of each budget period, as text YYYY-MM "
                                 "(when its costs are spent; needs the Scenario start)", per_key=True, key="period"),
    )),
    Sheet("Constraints", "table", "constraints", "Rules the portfolio obeys, one per row.", (
        Column("rule", "choice", "exclusive, requires, must or forbid", required=True, choices=RULES),
        Column("initiative", "id", "the initiative the rule is about", required=True),
        Column("with", "ids", "exclusive: the others, requires: what it needs (comma-separated; "
                              "a trailing comma keeps a single name a list)"),
    )),
    Sheet("Correlations", "table", "correlations", "Correlated initiative effects (Gaussian copula).", (
        Column("initiatives", "ids", "two or more initiative ids, comma-separated", required=True),
        Column("rho", "number", "correlation in [-1, 1]", required=True, lower=-1.0, upper=1.0),
    )),
)

SHEET_BY_NAME = {s.name: s for s in SHEETS}

# A small complete scenario: the template's example rows (one per sheet) and the TOML template.
EXAMPLE: dict = {
    "scenario": {"name": "My CX plan", "description": "Replace the example rows with your own.",
                 "currency": "USD", "horizon_months": 12, "start": "2027-01", "trials": 10_000, "seed": 20261122,
                 "margin": 0.6, "sponsor": "Chief Customer Officer"},
    "customers": {"count": 200_000, "revenue": {"dist": "lognormal", "median": 600.0, "sigma": 0.8},
                  "baseline_churn": {"dist": "beta", "mean": 0.07, "sd": 0.03}, "exposure_correlation": 0.2,
                  "segments": [{"id": "consumer", "name": "Consumer", "share": 0.85},
                               {"id": "business", "name": "Small business", "share": 0.15,
                                "revenue_multiplier": 4.0,
                                "baseline_churn": {"dist": "beta", "mean": 0.05, "sd": 0.02}}]},
    "market": {"churn_multiplier": {"dist": "triangular", "low": 0.9, "mode": 1.0, "high": 1.2}},
    "metrics": {"nps": {"name": "NPS", "baseline": 20.0, "unit": "points", "higher_is_better": True},
                "csat": {"name": "CSAT", "baseline": 4.1, "unit": "of 5", "higher_is_better": True},
                "ces": {"name": "Customer effort", "baseline": 3.2, "unit": "of 7", "higher_is_better": False}},
    "pain_points": [{"id": "unreturned_sales_call", "name": "Unreturned sales call", "volume": 0.04,
                     "complaint_rate": 0.25, "nps_impact": -25.0, "impacts": {"csat": -0.4, "ces": 1.1},
                     "severity": {"dist": "pert", "low": 0.3, "mode": 0.5, "high": 0.7}}],
    "delighters": [{"id": "proactive_education", "name": "Proactive education for new customers", "reach": 0.25,
                    "nps_impact": 10.0, "impacts": {"csat": 0.3},
                    "lift": {"dist": "uniform", "low": 0.03, "high": 0.25}}],
    "initiatives": [
        {"id": "callback_sla", "name": "Sales call-back within 24 hours", "owner": "Head of Sales Operations",
         "cost": {"h1": 120_000.0, "h2": 60_000.0}, "success_probability": 0.9, "months_to_impact": 2.0,
         "fixes": {"unreturned_sales_call": {"dist": "beta", "mean": 0.6, "sd": 0.15}},
         "metric": {"name": "sales calls returned within 24h", "unit": "%", "baseline": 55.0, "target": 95.0},
         "review": "weekly", "savings": 80_000.0},
        {"id": "welcome_program", "name": "Welcome programme", "owner": "Head of Customer Onboarding",
         "cost": {"h1": 100_000.0, "h2": 100_000.0}, "success_probability": 0.9,
         "months_to_impact": {"dist": "triangular", "low": 2.0, "mode": 3.0, "high": 5.0},
         "fixes": {"proactive_education": {"dist": "beta", "mean": 0.7, "sd": 0.15}}, "review": "monthly",
         "savings": {"h2": 30_000.0}},
    ],
    "budget": {"total": {"h1": 200_000.0, "h2": 150_000.0}, "max_initiatives": 5, "owner_capacity": 1,
               "months": {"h1": "2027-01", "h2": "2027-07"}},
    "constraints": {"must": ["callback_sla"]},
    "correlations": [{"initiatives": ["callback_sla", "welcome_program"], "rho": 0.3}],
}
