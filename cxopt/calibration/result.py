"""The result of a calibration (:class:`Calibration`, one :class:`Estimate` per fitted
probability) and the calibrated scenario it writes back (TOML with comments, or validated).

Writing the scenario (:meth:`Calibration.to_toml`, :meth:`Calibration.to_scenario`): the
input scenario with, from the history, every pain point's volume and every delighter's
reach (when the history has its column) measured — per segment when the scenario gave
them per segment or when a segment differs materially (by at least half a point and 10%
from the overall share, and by more than three standard errors), one number otherwise —
segment shares measured (synthetic bases, every segment present), severities and each
segment's baseline churn fitted; numbers rounded to five significant digits; a comment
above each says where it came from. A history is a past market: the scenario's market
multiplier still applies on top of the fitted baseline.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from cxopt.data.chunk import EXPOSED_PREFIX
from cxopt.data.history import HistoryGroups
from cxopt.data.synthetic import driver_volume
from cxopt.model.distributions import Distribution
from cxopt.model.scenario import Scenario, parse_scenario
from cxopt.model.toml_writer import dist_dict, dump_toml, plain, toml_value, wrap

__all__ = ["Calibration", "Estimate", "significant", "CONFOUNDING", "DIGITS"]

DIGITS = 5  # significant digits of the numbers written to the scenario
PHI_SHOWN, PHI_THREAT = 5, 0.1


def significant(x: float) -> float:
    """``x`` rounded to ``DIGITS`` significant digits (the numbers written to the scenario)."""
    return float(f"{x:.{DIGITS}g}")


CONFOUNDING = (
    "A history is not an experiment. Customers who met a pain differ from those who did not in other "
    "ways too (the same old network area, the same contract type), so a fitted severity is the churn "
    "associated with the pain under the model, not proof that fixing it removes that churn. Pains that "
    "travel together are the hardest to tell apart; their estimates trade off against each other.")


@dataclass(frozen=True)
class Estimate:
    """One fitted probability (a severity or a segment's baseline churn)."""

    id: str
    kind: str  # "severity" or "baseline_churn"
    status: str  # "fitted", or the reason it is kept as given
    given: Distribution
    estimate: float | None = None  # maximum likelihood
    sd: float | None = None  # standard error (information or bootstrap)
    fitted: Distribution | None = None  # beta(mean, sd) written to the scenario
    interval: tuple[float, float] | None = None  # 90%: the fitted beta's 5% and 95% quantiles
    bootstrap_interval: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "given": dist_dict(self.given),
                "given_mean": self.given.mean(), "estimate": self.estimate,
                "sd": self.sd, "fitted": None if self.fitted is None else dist_dict(self.fitted),
                "interval90": self.interval, "bootstrap_interval90": self.bootstrap_interval}


@dataclass(frozen=True)
class Calibration:
    """What a history says about the scenario's severities and baseline churn (build with :func:`calibrate`)."""

    scenario: Scenario
    groups: HistoryGroups
    method: str  # "information" or "bootstrap"
    bootstrap: int
    severities: tuple[Estimate, ...]
    baselines: tuple[Estimate, ...]
    pains: tuple[dict, ...]  # per pain: volume, churn among exposed/unexposed, revenue at risk
    segments: tuple[dict, ...]  # per segment: customers, churned, share
    reach: Mapping[str, dict]  # delighters with an exposed_ column: measured reach, overall and per segment
    noisy_or: dict
    logistic: dict
    correlations: tuple[dict, ...]
    parameters: tuple[str, ...]
    covariance: np.ndarray = field(repr=False)  # of the fitted parameters, probability scale
    notes: tuple[str, ...] = ()

    @property
    def customers(self) -> int:
        return self.groups.n_customers

    @property
    def churned(self) -> int:
        return self.groups.n_churned

    def severity(self, pain_id: str) -> Estimate:
        return next(e for e in self.severities if e.id == pain_id)

    def baseline(self, segment_id: str) -> Estimate:
        return next(e for e in self.baselines if e.id == segment_id)

    def to_dict(self) -> dict:
        sev = {e.id: e for e in self.severities}
        top = [c for c in self.correlations if abs(c["phi"]) >= PHI_THREAT][:PHI_SHOWN]
        return {
            "scenario": self.scenario.name, "history": self.groups.source, "customers": self.customers,
            "churned": self.churned, "churn_rate": self.churned / max(self.customers, 1),
            "window_months": self.groups.window_months, "horizon_months": self.scenario.horizon_months,
            "currency": self.scenario.scenario.currency, "groups": int(self.groups.customers.size),
            "uncertainty": {"method": self.method, "bootstrap": self.bootstrap},
            "pain_points": [{**p, **sev[p["id"]].to_dict()} for p in self.pains],
            "segments": [{**s, **b.to_dict()} for s, b in zip(self.segments, self.baselines)],
            "delighters": [{"id": d, **v} for d, v in self.reach.items()],
            "fit": {"noisy_or": self.noisy_or, "logistic": self.logistic},
            "confounding": {"warning": CONFOUNDING, "correlations": list(self.correlations[:PHI_SHOWN]),
                            "threats": top},
            "parameters": list(self.parameters), "notes": list(self.notes),
            "covariance": [[float(v) if math.isfinite(v) else None for v in row] for row in self.covariance],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def to_scenario(self) -> Scenario:
        """The calibrated scenario, validated."""
        return parse_scenario(self._data(), source=f"{self.scenario.source} (calibrated)")

    def to_toml(self, relative_to: str | os.PathLike | None = None) -> str:
        """The calibrated scenario as TOML text, with comments saying where each number came from.

        ``relative_to``: the directory the file will be written to (a customer file path is
        written relative to it).
        """
        data = self._data()
        path = data.get("customers", {}).get("path")
        if path is not None and relative_to is not None:
            data["customers"]["path"] = os.path.relpath(path, os.path.abspath(relative_to))
        self.to_scenario()  # never write a file that would not load
        return dump_toml(data, self._comments(), self._header())

    # -- the new scenario ---------------------------------------------------------------
    def _data(self) -> dict:
        sc = self.scenario
        data = plain(sc, keep={"scenario", "name", "currency", "horizon_months", "trials", "seed"})
        data["scenario"]["name"] = f"{sc.name} (calibrated)"
        cust = data["customers"]
        shares = {s["id"]: s["share"] for s in self.segments} if self._shares_measured() else {}
        if sc.customers.segments or len(self.baselines) > 1:
            if not sc.customers.segments:  # segments found in the history
                cust["segments"] = [{"id": b.id} for b in self.baselines]
            for row, b in zip(cust["segments"], self.baselines):
                if b.id in shares:
                    row["share"] = shares[b.id]
                if b.fitted is not None:
                    row["baseline_churn"] = b.fitted
            if shares:
                _fix_shares(cust["segments"])
        elif self.baselines[0].fitted is not None:
            cust["baseline_churn"] = self.baselines[0].fitted
        seg_ids = [s["id"] for s in cust.get("segments", [])]
        for j, p in enumerate(sc.pain_points):
            row, info = data["pain_points"][j], self.pains[j]
            row.pop("complaints", None)
            row["volume"] = self._volume(p, info, seg_ids)
            est = self.severities[j]
            if est.fitted is not None:
                row["severity"] = est.fitted
            _reorder(row, ["id", "name", "volume", "severity"])
        for d, row in zip(sc.delighters, data.get("delighters", [])):
            if d.id in self.reach:
                row["reach"] = self._volume(d, self.reach[d.id], seg_ids)
        return data

    def _shares_measured(self) -> bool:
        """Segment shares are written for a synthetic base, when every segment is in the history."""
        return self.scenario.customers.count is not None and all(s["customers"] > 0 for s in self.segments)

    def _volume(self, driver, info: dict, seg_ids: list[str]) -> float | dict[str, float]:
        given = driver.volume if hasattr(driver, "severity") else driver.reach
        per_segment = bool(seg_ids) and (isinstance(given, dict) or info["material"])
        if not per_segment:
            return significant(info["volume"])
        out = {}
        for s in seg_ids:
            v = info["volume_by_segment"].get(s)
            if v is None:  # a declared segment absent from the history keeps its planned volume
                v = driver_volume(self.scenario, driver, s) if self.scenario.customers.count else info["volume"]
            out[s] = significant(v)
        return out

    def _header(self) -> list[str]:
        g, sc = self.groups, self.scenario
        how = (f"bootstrap of {self.bootstrap} resamples" if self.method == "bootstrap"
               else "the observed information matrix (delta method)")
        lines = [
            f"{sc.name} — calibrated from a customer history by `cxopt calibrate` "
            f"on {_dt.date.today().isoformat()}.",
            f"History: {g.source} — {g.n_customers:,} customers, {g.n_churned:,} left within the "
            f"{g.window_months}-month window ({g.n_churned / max(g.n_customers, 1):.2%}).",
            f"Based on {sc.source}; everything not marked 'measured' or 'fitted' is copied unchanged.",
            "Fitted by maximum likelihood: P(churn) = 1 - (1 - p_segment) * prod over pains met (1 - severity);",
            f"uncertainty from {how}, written as beta(mean, sd).",
            f"Fit: log-likelihood {self.noisy_or['log_likelihood']:,.1f} (logistic regression yardstick "
            f"{self.logistic['log_likelihood']:,.1f}); mean calibration error by decile "
            f"{self.noisy_or['calibration_error']:.2%}.",
            "The fitted baseline churn holds last year's market: [market] churn_multiplier applies on top.",
            "", *wrap(CONFOUNDING, 92),
        ]
        threats = [c for c in self.correlations if abs(c["phi"]) >= PHI_THREAT][:PHI_SHOWN]
        if threats:
            lines += wrap("Exposures that travel together (phi): " + ", ".join(
                f"{c['a']} & {c['b']} {c['phi']:+.2f}" for c in threats) + ".", 92)
        lines += self.notes
        return lines

    def _comments(self) -> dict[tuple, list[str]]:
        sc, g, out = self.scenario, self.groups, {}
        seg_rows = {s["id"]: s for s in self.segments}
        if (sc.customers.segments or len(self.baselines) > 1) and all(b.fitted for b in self.baselines):
            out[("customers", "baseline_churn")] = ["as given; every segment below has its own, fitted"]
        for i, b in enumerate(self.baselines):
            if sc.customers.segments:
                path = ("customers", "segments", [s.id for s in sc.customers.segments].index(b.id))
            elif len(self.baselines) > 1:
                path = ("customers", "segments", i)
            else:
                path = ("customers",)
            s = seg_rows.get(b.id)
            if self._shares_measured() and path != ("customers",):
                out[path + ("share",)] = [
                    f"measured: {s['customers']:,} of the history's {g.n_customers:,} customers"]
            out[path + ("baseline_churn",)] = [_estimate_comment(b, s)]
        for j, p in enumerate(sc.pain_points):
            info, est = self.pains[j], self.severities[j]
            was = (f"complaints = {p.complaints:g} / complaint_rate {p.complaint_rate:g}" if p.complaints is not None
                   else toml_value(p.volume))
            by = ", ".join(f"{k} {v:.1%}" for k, v in info["volume_by_segment"].items())
            out[("pain_points", j, "volume")] = [
                f"measured: {info['customers_exposed']:,} of {g.n_customers:,} customers met it ({info['volume']:.2%}"
                + (f"; {by}" if len(info["volume_by_segment"]) > 1 else "") + f"); was {was}"]
            out[("pain_points", j, "severity")] = [
                _estimate_comment(est, None),
                f"churn {info['churn_exposed']:.2%} among those who met it vs {info['churn_unexposed']:.2%} among "
                f"those who did not"]
        for k, d in enumerate(sc.delighters):
            if d.id in self.reach:
                out[("delighters", k, "reach")] = [
                    f"measured: {self.reach[d.id]['volume']:.2%} of the history's customers eligible; "
                    f"was {toml_value(d.reach)}"]
            else:
                out[("delighters", k, "reach")] = [f"kept as given: the history has no {EXPOSED_PREFIX}{d.id} column"]
            out[("delighters", k, "lift")] = ["kept as given: a lift cannot be measured from a history without "
                                              "an intervention"]
        return out


def _estimate_comment(e: Estimate, seg: dict | None) -> str:
    if e.fitted is None:
        return f"kept as given: {e.status}"
    lo, hi = e.interval
    what = (f" from {seg['customers']:,} customers ({seg['churned']:,} left)" if seg else "")
    boot = (f" (bootstrap {e.bootstrap_interval[0]:.2%}–{e.bootstrap_interval[1]:.2%})"
            if e.bootstrap_interval else "")
    return (f"fitted: {e.estimate:.2%} (90% interval {lo:.2%}–{hi:.2%}{boot}){what}; "
            f"was {e.given.describe()}")


def _fix_shares(rows: list[dict]) -> None:
    """Rounded shares that still sum to 1 (the largest takes the rounding)."""
    big = max(range(len(rows)), key=lambda i: rows[i]["share"])
    for i, r in enumerate(rows):
        if i != big:
            r["share"] = round(r["share"], 6)
    rows[big]["share"] = round(1.0 - sum(r["share"] for i, r in enumerate(rows) if i != big), 12)


def _reorder(row: dict, first: list[str]) -> None:
    items = [(k, row[k]) for k in first if k in row] + [(k, v) for k, v in row.items() if k not in first]
    row.clear()
    row.update(items)


