"""Sequential Monte Carlo with resample-move over the plan's uncertain inputs.

The posterior over the uncertain inputs (market multiplier, severities, lifts, effects,
success, go-live) given the actuals is carried by ``n`` particles, each a possible world
(:class:`cxopt.engine.draws.TrialState`: independent uniforms and normals that the draws are
a function of). Month by month (the structure of N. Chopin's ``particles`` library, SMC
samplers with an MCMC rejuvenation step):

1. **Reweight** by the month's likelihood (``tracking.evidence``) — in tempered fractions
   when the whole month would leave fewer than half the particles carrying the weight.
2. **Resample** (systematic) when the effective sample size falls below half the particles.
3. **Move**: a few Metropolis–Hastings steps with a preconditioned Crank–Nicolson proposal
   on the particles' standard normal scores (``z' = sqrt(1 - b^2) z + b xi``; uniforms through
   ``Phi``). The proposal leaves the prior invariant, so the acceptance ratio is the
   likelihood ratio of every observation so far; ``b`` adapts to keep the acceptance rate
   between 15% and 50%. Each move re-evaluates the particles' monthly paths on the plan's
   grouped statistics — no pass over the customer base.

Importance weights alone collapse onto one or two trials within a few months of real
counts; the moves keep the posterior alive. Facts (cancelled, live, delayed) are applied
exactly to every particle's draws (``tracking.facts``). Everything is seeded: the same plan
and actuals give the same numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.special import ndtr, ndtri

from cxopt.engine.draws import Draws, TrialState

__all__ = ["Step", "SmcSettings", "SmcResult", "run_smc", "systematic_resample", "ess"]

# (state) -> (draws with facts, customers lost (n, H), revenue lost (n, H))
Evaluate = Callable[[TrialState], tuple[Draws, np.ndarray, np.ndarray]]
# (step, draws, customers lost, revenue lost) -> log-likelihood per particle
StepLoglik = Callable[["Step", Draws, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Step:
    """The evidence of one month: losses of month ``month``, process-metric readings up to its end
    and the CX levels measured that month (``(metric, level)`` pairs)."""

    month: int
    losses: bool
    readings: tuple = ()
    levels: tuple = ()


@dataclass(frozen=True)
class SmcSettings:
    moves: int = 4  # Metropolis-Hastings sweeps after each resampling
    resample_below: float = 0.5  # resample when ESS < this share of the particles
    initial_scale: float = 0.3  # pCN step b
    max_fractions: int = 12  # tempered fractions of one month at most (the last takes what is left)
    seed: int = 0


@dataclass
class SmcResult:
    state: TrialState
    draws: Draws
    customers_lost: np.ndarray
    revenue_lost: np.ndarray
    log_weights: np.ndarray
    step_ess: list[float] = field(default_factory=list)  # ESS of each month's weights, before resampling
    acceptance: list[float] = field(default_factory=list)  # acceptance rate of each move
    fractions: list[int] = field(default_factory=list)  # tempered fractions each month took
    resampled: int = 0
    moves: int = 0
    # wall seconds: "evaluate" the first evaluation of the particles, "moves" all the moves (proposal,
    # evaluation, likelihood of every month so far, accept), "reweight" tempering and resampling;
    # "moves_cpu" the moves' CPU seconds (this process, all threads)
    seconds: dict = field(default_factory=lambda: {"evaluate": 0.0, "moves": 0.0, "moves_cpu": 0.0,
                                                   "reweight": 0.0})

    @property
    def weights(self) -> np.ndarray:
        w = np.exp(self.log_weights - self.log_weights.max())
        return w / w.sum()


def _logsumexp(x: np.ndarray) -> float:
    top = float(np.max(x))
    if not math.isfinite(top):
        return top
    return top + math.log(float(np.sum(np.exp(x - top))))


def ess(log_weights: np.ndarray) -> float:
    """Effective sample size ``(sum w)^2 / sum w^2`` of log-weights."""
    lw = log_weights - _logsumexp(log_weights)
    return float(math.exp(-_logsumexp(2.0 * lw)))


def systematic_resample(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``len(weights)`` particles drawn by systematic resampling."""
    n = weights.shape[0]
    positions = (rng.random() + np.arange(n)) / n
    cum = np.cumsum(weights)
    cum[-1] = 1.0
    return np.searchsorted(cum, positions, side="right").clip(0, n - 1)


def _propose(state: TrialState, b: float, rng: np.random.Generator) -> TrialState:
    """pCN proposal on every input's normal score (prior-invariant)."""
    a = math.sqrt(1.0 - b * b)
    out = []
    for i, arr in enumerate(state.arrays()):
        xi = rng.standard_normal(arr.shape)
        if i == 2:  # effect normals
            out.append(a * arr + b * xi)
        else:
            z = ndtri(np.clip(arr, 1e-300, 1.0 - 1e-16))
            out.append(np.clip(ndtr(a * z + b * xi), 1e-300, 1.0 - 1e-16))
    return TrialState(*out)


def _select(mask: np.ndarray, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    shape = (-1,) + (1,) * (old.ndim - 1)
    return np.where(mask.reshape(shape), new, old)


def _merge_state(mask: np.ndarray, new: TrialState, old: TrialState) -> TrialState:
    return TrialState(*(_select(mask, n, o) for n, o in zip(new.arrays(), old.arrays())))


def _merge_draws(mask: np.ndarray, new, old):
    from dataclasses import replace

    if isinstance(old, TrialState):
        return _merge_state(mask, new, old)
    return replace(old, market=_select(mask, new.market, old.market),
                   strength=_select(mask, new.strength, old.strength),
                   effect=_select(mask, new.effect, old.effect), success=_select(mask, new.success, old.success),
                   golive=_select(mask, new.golive, old.golive), latent=_select(mask, new.latent, old.latent))


def _next_temperature(log_weights: np.ndarray, inc: np.ndarray, phi: float, target: float) -> float:
    """The largest temperature <= 1 above ``phi`` whose reweighting keeps the ESS at ``target``
    (bisection); 1 when the whole remaining likelihood keeps it."""
    if ess(log_weights + (1.0 - phi) * inc) >= target:
        return 1.0
    lo, hi = phi, 1.0
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if ess(log_weights + (mid - phi) * inc) >= target:
            lo = mid
        else:
            hi = mid
    return max(lo, phi + 1e-6)


def run_smc(state: TrialState, steps: list[Step], evaluate: Evaluate, step_loglik: StepLoglik,
            settings: SmcSettings = SmcSettings()) -> SmcResult:
    """Filter the particles ``state`` through the evidence ``steps``, month by month.

    A month whose evidence would leave fewer than half the particles carrying the weight is
    taken in tempered fractions (adaptive tempering: the likelihood raised to 0 < phi <= 1,
    each fraction chosen so the effective sample size stays at half), with a resample-move
    after each fraction: real monthly counts of thousands of customers are that informative.
    """
    rng = np.random.default_rng(np.random.SeedSequence(settings.seed, spawn_key=(0x5AC,)))
    n = state.trials
    target = settings.resample_below * n
    clock = time.perf_counter()
    draws, cust, rev = evaluate(state)
    res = SmcResult(state=state, draws=draws, customers_lost=cust, revenue_lost=rev, log_weights=np.zeros(n))
    res.seconds["evaluate"] = time.perf_counter() - clock
    done = np.zeros(n)  # log-likelihood of the completed months, per particle
    b = settings.initial_scale
    for q, step in enumerate(steps):
        clock = time.perf_counter()
        inc = step_loglik(step, res.draws, res.customers_lost, res.revenue_lost)
        phi = 0.0
        fractions = 0
        while phi < 1.0:
            new_phi = _next_temperature(res.log_weights, inc, phi, target) \
                if fractions < settings.max_fractions - 1 else 1.0
            res.log_weights = res.log_weights + (new_phi - phi) * inc
            phi = new_phi
            fractions += 1
            if phi >= 1.0:
                res.step_ess.append(ess(res.log_weights))
                res.fractions.append(fractions)
                if res.step_ess[-1] >= target:
                    break
            idx = systematic_resample(res.weights, rng)
            res.state = res.state.take(idx)
            res.draws = _take_draws(res.draws, idx)
            res.customers_lost, res.revenue_lost = res.customers_lost[idx], res.revenue_lost[idx]
            done, inc = done[idx], inc[idx]
            res.log_weights = np.zeros(n)
            res.resampled += 1
            now, cpu = time.perf_counter(), time.process_time()
            res.seconds["reweight"] += now - clock
            for _ in range(settings.moves):
                proposal = _propose(res.state, b, rng)
                p_draws, p_cust, p_rev = evaluate(proposal)
                p_done = sum((step_loglik(s, p_draws, p_cust, p_rev) for s in steps[:q]), np.zeros(n))
                p_inc = step_loglik(step, p_draws, p_cust, p_rev)
                accept = np.log(rng.random(n)) < (p_done + phi * p_inc) - (done + phi * inc)
                rate = float(accept.mean())
                res.acceptance.append(rate)
                res.moves += 1
                res.state = _merge_state(accept, proposal, res.state)
                res.draws = _merge_draws(accept, p_draws, res.draws)
                res.customers_lost = _select(accept, p_cust, res.customers_lost)
                res.revenue_lost = _select(accept, p_rev, res.revenue_lost)
                done, inc = np.where(accept, p_done, done), np.where(accept, p_inc, inc)
                if rate < 0.15:
                    b = max(b * 0.5, 1e-3)
                elif rate > 0.5:
                    b = min(b * 1.6, 1.0)
            clock = time.perf_counter()
            res.seconds["moves"] += clock - now
            res.seconds["moves_cpu"] += time.process_time() - cpu
        res.seconds["reweight"] += time.perf_counter() - clock
        done = done + inc
    return res


def _take_draws(d, idx: np.ndarray):
    from dataclasses import replace

    if isinstance(d, TrialState):
        return d.take(idx)
    return replace(d, market=d.market[idx], strength=d.strength[idx], effect=d.effect[idx],
                   success=d.success[idx], golive=d.golive[idx], latent=d.latent[idx])
