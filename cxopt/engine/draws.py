"""Trials: every uncertain input drawn once per trial, shared by all customers.

One trial is one possible world (DESIGN.md section 1, "One trial"): market churn
multiplier, pain severities, delighter lifts, each initiative's effectiveness on each
driver it acts on, its delivery success and its go-live month. Every portfolio is
evaluated on the same trials (common random numbers).

Streams: each quantity of each item has its own stream ``SeedSequence(seed,
spawn_key=(STREAM, index))``, so adding a pain point does not change the draws of
another. Draws go through the inverse CDF of uniforms, which lets a Gaussian copula
correlate initiative effects (``[[correlations]]``): an initiative's effects on all its
drivers follow one latent normal (it is well executed or not), and the latent normals of
initiatives in a correlation block are equicorrelated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from scipy.special import ndtr

from cxopt.errors import Problem, ScenarioError
from cxopt.model.distributions import Distribution
from cxopt.model.scenario import Scenario

InverseCDF = Callable[[Distribution, np.ndarray], np.ndarray]

__all__ = ["Draws", "draw_trials", "TrialState", "prior_state", "draws_from_state", "initiative_cholesky"]

_MARKET, _SEVERITY, _LIFT, _EFFECT, _SUCCESS, _GOLIVE = range(6)


@dataclass(frozen=True)
class Draws:
    """Per-trial draws as plain arrays (T trials).

    Attributes
    ----------
    market : (T,) churn multiplier m_t
    strength : (T, D) per driver: severity sigma_jt for pain points, lift lambda_dt for delighters
    fix_initiative, fix_driver : (E,) the (initiative, driver) pairs of all ``fixes`` entries,
        grouped by initiative (CSR pointer ``fix_ptr`` (K+1,))
    effect : (T, E) effectiveness f_kjt
    success : (T, K) delivered at all
    golive : (T, K) int, go-live month (>= horizon: never live within it)
    latent : (T, K) uniform behind each initiative's effects (for sensitivity)
    """

    seed: int
    market: np.ndarray
    strength: np.ndarray
    fix_ptr: np.ndarray
    fix_initiative: np.ndarray
    fix_driver: np.ndarray
    effect: np.ndarray
    success: np.ndarray
    golive: np.ndarray
    latent: np.ndarray
    horizon: int

    @property
    def trials(self) -> int:
        return int(self.market.shape[0])

    def columns(self, sc: Scenario) -> dict[str, np.ndarray]:
        """Every draw as a named per-trial column (the trials.parquet layout)."""
        cols: dict[str, np.ndarray] = {"market_multiplier": self.market}
        for j, p in enumerate(sc.pain_points):
            cols[f"severity.{p.id}"] = self.strength[:, j]
        n_p = len(sc.pain_points)
        for j, x in enumerate(sc.delighters):
            cols[f"lift.{x.id}"] = self.strength[:, n_p + j]
        ids, drivers = sc.initiative_ids, sc.driver_ids
        for e in range(self.fix_driver.shape[0]):
            cols[f"effect.{ids[self.fix_initiative[e]]}.{drivers[self.fix_driver[e]]}"] = self.effect[:, e]
        for k, kid in enumerate(ids):
            cols[f"success.{kid}"] = self.success[:, k]
            cols[f"golive.{kid}"] = self.golive[:, k]
            cols[f"latent.{kid}"] = self.latent[:, k]
        return cols

    def with_facts(self, *, success: np.ndarray | None = None, golive: np.ndarray | None = None) -> "Draws":
        """The same draws with delivery facts replaced (tracking)."""
        from dataclasses import replace

        return replace(
            self,
            success=self.success if success is None else np.ascontiguousarray(success, dtype=np.bool_),
            golive=self.golive if golive is None else np.ascontiguousarray(golive, dtype=np.int32),
        )


def _rng(seed: int, stream: int, index: int) -> np.random.Generator:
    return np.random.Generator(np.random.Philox(np.random.SeedSequence(seed, spawn_key=(stream, index))))


def _initiative_correlation(sc: Scenario) -> np.ndarray:
    k = len(sc.initiatives)
    corr = np.eye(k)
    index = {x: i for i, x in enumerate(sc.initiative_ids)}
    for block in sc.correlations:
        ids = [index[x] for x in block.initiatives]
        for a in ids:
            for b in ids:
                if a != b:
                    corr[a, b] = block.rho
    return corr


@dataclass(frozen=True)
class TrialState:
    """The independent standard inputs behind T trials: what :func:`draws_from_state` maps
    through each input's inverse CDF (and the initiatives' copula) into :class:`Draws`.

    Every column is a priori independent and uniform on (0, 1) — except ``effect_normal``,
    independent standard normals — so a Markov move that leaves this prior invariant
    (tracking's rejuvenation) moves every uncertain input at once, discrete ones included.

    Attributes
    ----------
    market : (T,) uniform behind the market multiplier
    strength : (T, D) uniforms behind severities and lifts
    effect_normal : (T, K) standard normals behind the initiatives' effects (before the copula)
    success : (T, K) uniforms behind delivery (delivered when below the success probability)
    golive : (T, K) uniforms behind the months to impact
    """

    market: np.ndarray
    strength: np.ndarray
    effect_normal: np.ndarray
    success: np.ndarray
    golive: np.ndarray

    @property
    def trials(self) -> int:
        return int(self.market.shape[0])

    def take(self, index: np.ndarray) -> "TrialState":
        """The trials at ``index`` (resampling)."""
        return TrialState(*(np.ascontiguousarray(a[index]) for a in self.arrays()))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return (self.market, self.strength, self.effect_normal, self.success, self.golive)


def prior_state(sc: Scenario, trials: int, seed: int) -> TrialState:
    """The standard inputs of ``trials`` trials drawn with ``seed`` (each item its own stream)."""
    if trials < 1:
        raise ScenarioError(Problem(sc.source, "scenario.trials", f"must be >= 1, got {trials}"))
    T = int(trials)
    n_p, K = len(sc.pain_points), len(sc.initiatives)
    strength = np.empty((T, len(sc.drivers)))
    for j in range(n_p):
        strength[:, j] = _rng(seed, _SEVERITY, j).random(T)
    for d in range(len(sc.delighters)):
        strength[:, n_p + d] = _rng(seed, _LIFT, d).random(T)
    z = np.empty((T, K))
    success = np.empty((T, K))
    golive = np.empty((T, K))
    for k in range(K):
        z[:, k] = _rng(seed, _EFFECT, k).standard_normal(T)
        success[:, k] = _rng(seed, _SUCCESS, k).random(T)
        golive[:, k] = _rng(seed, _GOLIVE, k).random(T)
    return TrialState(market=_rng(seed, _MARKET, 0).random(T), strength=strength, effect_normal=z,
                      success=success, golive=golive)


def draws_from_state(sc: Scenario, state: TrialState, seed: int, initiatives: Sequence[int] | None = None,
                     *, interpolated: bool = False, inverse_cdf: InverseCDF | None = None) -> Draws:
    """The draws of the trials whose standard inputs are ``state`` (``seed`` is recorded).

    With ``initiatives``, only those initiatives' effects, success and go-live are computed
    (the others: no effect, never delivered) — what evaluating one portfolio needs. With
    ``interpolated``, inverse CDFs come from tables (``Distribution.ppf_interpolated``: fast,
    ~1e-6 relative) instead of the exact ones. ``inverse_cdf(dist, u)``, if given, stands for
    ``dist.ppf(u)`` and must return its bits (:meth:`cxopt.engine.store.TableStore.inverse_cdf`
    reads the columns a run before computed).
    """
    if interpolated:
        def ppf(dist, u):
            return dist.ppf_interpolated(u)
    elif inverse_cdf is not None:
        ppf = inverse_cdf
    else:
        def ppf(dist, u):
            return dist.ppf(u)
    T = state.trials
    H = sc.horizon_months
    market = np.asarray(ppf(sc.market.churn_multiplier, state.market), dtype=np.float64)
    strength = np.empty((T, len(sc.drivers)))
    for j, p in enumerate(sc.pain_points):
        strength[:, j] = ppf(p.severity, state.strength[:, j])
    n_p = len(sc.pain_points)
    for d, x in enumerate(sc.delighters):
        strength[:, n_p + d] = ppf(x.lift, state.strength[:, n_p + d])

    K = len(sc.initiatives)
    latent = ndtr(state.effect_normal @ initiative_cholesky(sc).T)  # (T, K) uniforms, correlated within blocks
    wanted = set(range(K)) if initiatives is None else {int(k) for k in initiatives}

    driver_index = {d: j for j, d in enumerate(sc.driver_ids)}
    fix_ptr = np.zeros(K + 1, dtype=np.int64)
    fix_initiative, fix_driver, effect_cols = [], [], []
    for k, init in enumerate(sc.initiatives):
        for driver, dist in init.fixes.items():
            fix_initiative.append(k)
            fix_driver.append(driver_index[driver])
            effect_cols.append(np.asarray(ppf(dist, latent[:, k]), dtype=np.float64) if k in wanted else np.zeros(T))
        fix_ptr[k + 1] = len(fix_driver)
    effect = np.column_stack(effect_cols) if effect_cols else np.zeros((T, 0))

    success = np.empty((T, K), dtype=np.bool_)
    golive = np.empty((T, K), dtype=np.int32)
    for k, init in enumerate(sc.initiatives):
        if k not in wanted:
            success[:, k], golive[:, k] = False, H
            continue
        success[:, k] = state.success[:, k] < init.success_probability
        months = np.asarray(ppf(init.months_to_impact, state.golive[:, k]), dtype=np.float64)
        month = init.start_month + np.ceil(months - 1e-9)
        golive[:, k] = np.minimum(month, H).astype(np.int32)

    return Draws(
        seed=int(seed),
        market=np.ascontiguousarray(market),
        strength=np.ascontiguousarray(strength),
        fix_ptr=fix_ptr,
        fix_initiative=np.asarray(fix_initiative, dtype=np.int32),
        fix_driver=np.asarray(fix_driver, dtype=np.int32),
        effect=np.ascontiguousarray(effect),
        success=success,
        golive=golive,
        latent=latent,
        horizon=H,
    )


def initiative_cholesky(sc: Scenario) -> np.ndarray:
    """Cholesky factor of the initiatives' effect correlation (the scenario's correlation blocks)."""
    try:
        return np.linalg.cholesky(_initiative_correlation(sc))
    except np.linalg.LinAlgError:
        raise ScenarioError(Problem(sc.source, "correlations", "the correlations between initiatives are not "
                                    "consistent (the matrix is not positive definite)")) from None


def draw_trials(sc: Scenario, trials: int, seed: int, inverse_cdf: InverseCDF | None = None) -> Draws:
    """Draw ``trials`` possible worlds for scenario ``sc`` with ``seed`` (``inverse_cdf``: see
    :func:`draws_from_state`)."""
    return draws_from_state(sc, prior_state(sc, trials, seed), seed, inverse_cdf=inverse_cdf)


def check_retention_bounds(sc: Scenario, max_churn: float, where: str) -> None:
    """Reject a market multiplier that would push a retention below 0 (DESIGN.md section 1)."""
    _, high = sc.market.churn_multiplier.support()
    if math.isfinite(high) and high * max_churn > 1.0 + 1e-12:
        raise ScenarioError(Problem(
            sc.source, "market.churn_multiplier",
            f"its upper bound {high:g} times the largest baseline churn {max_churn:g} ({where}) exceeds 1: "
            "a retention would fall below 0",
        ))
    if not math.isfinite(high):
        # an unbounded multiplier (lognormal, normal) is checked at its 1 - 1e-9 quantile
        q = float(sc.market.churn_multiplier.ppf(1 - 1e-9))
        if q * max_churn > 1.0:
            raise ScenarioError(Problem(
                sc.source, "market.churn_multiplier",
                f"its 1-in-a-billion high {q:g} times the largest baseline churn {max_churn:g} exceeds 1; "
                "use a bounded distribution (triangular, pert, uniform)",
            ))
