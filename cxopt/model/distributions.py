"""Uncertain inputs: parse a scenario value into a distribution, sample it, summarise it.

Every uncertain quantity of the model (severity, lift, effectiveness, market multiplier,
months to impact, revenue, baseline churn) is a :class:`Distribution`. Sampling goes
through the inverse CDF (:meth:`Distribution.ppf`) of uniforms the engine draws, so that a
Gaussian copula (correlated effects) and common random numbers come for free.

Accepted spellings in a scenario file (DESIGN.md section 6)::

    0.3                                         fixed
    { dist = "fixed", value = 0.3 }
    { dist = "uniform", low = 0.1, high = 0.2 }
    { dist = "triangular", low = 0.9, mode = 1.0, high = 1.15 }
    { dist = "pert", low = 0.01, mode = 0.03, high = 0.06 }
    { dist = "beta", mean = 0.6, sd = 0.15 }    or  { dist = "beta", a = 2, b = 5 }
    { dist = "lognormal", median = 900, sigma = 0.9 }
    { dist = "normal", mean = 0.5, sd = 0.1 }   truncated to the field's valid range
    "pert(0.01, 0.03, 0.06)"                     the same in function form

A distribution whose support leaves the field's valid range is an error (a uniform
severity from 0.5 to 1.5, say); only the normal is truncated, because its support is
unbounded by construction.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

__all__ = ["Distribution", "parse_distribution", "DistributionError", "PARAMETERS"]

_PARAMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "fixed": (("value",),),
    "uniform": (("low", "high"),),
    "triangular": (("low", "mode", "high"),),
    "pert": (("low", "mode", "high"),),
    "beta": (("mean", "sd"), ("a", "b")),
    "lognormal": (("median", "sigma"),),
    "normal": (("mean", "sd"),),
}
PARAMETERS = _PARAMS  # public: the kinds and the parameter sets each accepts (the workbook's columns)


class DistributionError(ValueError):
    """A distribution specification that cannot be used (reason in the message)."""


@dataclass(frozen=True)
class Distribution:
    """One uncertain input.

    Parameters
    ----------
    kind : str
        One of ``fixed, uniform, triangular, pert, beta, lognormal, normal``.
    params : dict
        The parameters as written (e.g. ``{"low": 0.01, "mode": 0.03, "high": 0.06}``).
    lower, upper : float
        The field's valid range; a normal is truncated to it.
    """

    kind: str
    params: Mapping[str, float]
    lower: float = -math.inf
    upper: float = math.inf
    # (scipy.stats name, args, kwargs, support): the frozen scipy distribution is built on first
    # use, so that validating a scenario does not import scipy.stats (about a second)
    _spec: Any = field(default=None, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # -- construction -------------------------------------------------------------
    @classmethod
    def fixed(cls, value: float, lower: float = -math.inf, upper: float = math.inf) -> "Distribution":
        return parse_distribution(float(value), lower=lower, upper=upper)

    @property
    def is_fixed(self) -> bool:
        return self.kind == "fixed"

    @property
    def scipy(self) -> Any:
        """The frozen ``scipy.stats`` distribution (``None`` for a fixed value)."""
        if self._spec is None:
            return None
        if "frozen" not in self._cache:
            from scipy import stats

            name, args, kwargs, _ = self._spec
            self._cache["frozen"] = getattr(stats, name)(*args, **kwargs)
        return self._cache["frozen"]

    @property
    def _frozen(self) -> Any:
        return self.scipy

    # -- summaries ------------------------------------------------------------------
    def mean(self) -> float:
        if self.is_fixed:
            return float(self.params["value"])
        closed = _closed_mean(self._spec)
        return float(self._frozen.mean()) if closed is None else closed

    def std(self) -> float:
        if self.is_fixed:
            return 0.0
        return float(self._frozen.std())

    def quantile(self, q: float | np.ndarray) -> float | np.ndarray:
        """Quantile(s) of the distribution, ``q`` in [0, 1]: :meth:`ppf`'s values, computed without
        importing ``scipy.stats`` where scipy's own formula is a special function (every kind but the
        truncated normal; the same bits, tested), so that a plan's summaries do not wait for it."""
        if self.is_fixed:
            return self.ppf(q)
        out = _closed_ppf(self._spec, np.asarray(q, dtype=np.float64))
        if out is None:
            return self.ppf(q)
        out = np.clip(out, self.lower, self.upper)
        return float(out) if np.ndim(q) == 0 else out

    def support(self) -> tuple[float, float]:
        if self.is_fixed:
            v = float(self.params["value"])
            return v, v
        lo, hi = self._spec[3]
        return float(lo), float(hi)

    # -- sampling -------------------------------------------------------------------
    def ppf(self, u: float | np.ndarray) -> float | np.ndarray:
        """Inverse CDF, vectorised over ``u`` in [0, 1]."""
        if self.is_fixed:
            value = float(self.params["value"])
            if np.ndim(u) == 0:
                return value
            return np.full(np.shape(u), value)
        out = self._frozen.ppf(u)
        # keep the draws inside the field's range despite rounding at the tails
        return np.clip(out, self.lower, self.upper)

    def ppf_interpolated(self, u: np.ndarray) -> np.ndarray:
        """The inverse CDF by interpolation in a table (4,353 points of the normal score from -8.5 to
        8.5), about 100x faster than scipy's for beta and truncated normals, to ~1e-6 relative.

        For Markov moves over many particles (tracking), where the exact bits of :meth:`ppf` are
        not needed; the initial draws and everything a plan stores use :meth:`ppf`.
        """
        if self.is_fixed:
            return np.full(np.shape(u), float(self.params["value"]))
        from scipy.special import ndtr, ndtri

        if "table" not in self._cache:
            grid = np.linspace(-8.5, 8.5, 17 * 256 + 1)
            self._cache["table"] = (grid, np.asarray(self.ppf(ndtr(grid)), dtype=np.float64))
        grid, values = self._cache["table"]
        return np.clip(np.interp(ndtri(np.asarray(u, dtype=np.float64)), grid, values), self.lower, self.upper)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """``size`` independent draws from ``rng`` (through the inverse CDF)."""
        return np.asarray(self.ppf(rng.random(size)), dtype=np.float64)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Fast draws with NumPy's native samplers (for customer attributes, millions of rows).

        Same distribution as :meth:`sample`, a different (faster) stream: use this where
        inverse-CDF coupling is not needed.
        """
        p = self.params
        if self.kind == "fixed":
            return np.full(size, float(p["value"]))
        if self.kind == "uniform":
            return rng.uniform(p["low"], p["high"], size)
        if self.kind == "triangular":
            return rng.triangular(p["low"], p["mode"], p["high"], size)
        if self.kind == "pert":
            a, b = self._spec[1]
            return p["low"] + (p["high"] - p["low"]) * rng.beta(a, b, size)
        if self.kind == "beta":
            a, b = self._spec[1]
            return np.clip(rng.beta(a, b, size), self.lower, self.upper)
        if self.kind == "lognormal":
            return p["median"] * np.exp(p["sigma"] * rng.standard_normal(size))
        return self.sample(rng, size)  # truncated normal: inverse CDF

    def describe(self) -> str:
        """Function-form spelling, e.g. ``pert(0.01, 0.03, 0.06)``."""
        args = ", ".join(f"{v:g}" for v in self.params.values())
        return f"{self.kind}({args})"

    def to_toml(self) -> str:
        """Inline-table spelling for writing a scenario back."""
        if self.is_fixed:
            return repr(float(self.params["value"]))
        inner = ", ".join(f"{k} = {float(v)!r}" for k, v in self.params.items())
        return f'{{ dist = "{self.kind}", {inner} }}'


def _closed_ppf(spec: Any, q: np.ndarray) -> np.ndarray | None:
    """scipy.stats' inverse CDF for ``spec`` by its own formula (``_ppf(q) * scale + loc``), or None
    where there is none outside scipy.stats (the truncated normal) or ``q`` leaves [0, 1]."""
    name, args, kw, _ = spec
    if not np.all((q >= 0.0) & (q <= 1.0)):
        return None
    loc, scale = kw.get("loc", 0.0), kw.get("scale", 1.0)
    if name == "uniform":
        return q * scale + loc
    if name == "triang":
        c = kw["c"]
        with np.errstate(invalid="ignore"):
            return np.where(q < c, np.sqrt(c * q), 1.0 - np.sqrt((1.0 - c) * (1.0 - q))) * scale + loc
    if name == "beta":
        from scipy.special import betaincinv

        return betaincinv(args[0], args[1], q) * scale + loc
    if name == "lognorm":
        from scipy.special import ndtri

        return np.exp(kw["s"] * ndtri(q)) * scale + loc
    return None


def _closed_mean(spec: Any) -> float | None:
    """scipy.stats' mean for ``spec`` by its own formula, or None (the truncated normal)."""
    name, args, kw, _ = spec
    loc, scale = kw.get("loc", 0.0), kw.get("scale", 1.0)
    if name == "uniform":
        mu = 0.5
    elif name == "triang":
        mu = (1.0 + kw["c"]) / 3.0
    elif name == "beta":
        mu = args[0] / (args[0] + args[1])
    elif name == "lognorm":
        mu = np.sqrt(np.exp(np.float64(kw["s"]) * kw["s"]))
    else:
        return None
    return float(mu * scale + loc)


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DistributionError(f"parameter '{name}' must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise DistributionError(f"parameter '{name}' must be finite, got {value!r}")
    return value


_FUNC_FORM = re.compile(r"^\s*([a-z]+)\s*\((.*)\)\s*$")


def _from_string(text: str) -> dict[str, Any]:
    m = _FUNC_FORM.match(text)
    if not m:
        raise DistributionError(
            f"cannot read {text!r} as a distribution; write e.g. 'pert(0.01, 0.03, 0.06)' "
            "or { dist = \"pert\", low = 0.01, mode = 0.03, high = 0.06 }"
        )
    kind = m.group(1)
    if kind not in _PARAMS:
        raise DistributionError(f"unknown distribution {kind!r}; expected one of {', '.join(_PARAMS)}")
    try:
        args = [float(a) for a in m.group(2).split(",") if a.strip()]
    except ValueError:
        raise DistributionError(f"cannot read the arguments of {text!r} as numbers") from None
    names = _PARAMS[kind][0]
    if len(args) != len(names):
        raise DistributionError(f"{kind} takes {len(names)} arguments ({', '.join(names)}), got {len(args)}")
    return {"dist": kind, **dict(zip(names, args))}


def parse_distribution(value: Any, *, lower: float = -math.inf, upper: float = math.inf) -> Distribution:
    """Read a scenario value as a :class:`Distribution` valid on ``[lower, upper]``.

    Raises
    ------
    DistributionError
        With a one-line reason (the caller adds the file and the field path).
    """
    if isinstance(value, Distribution):
        return value
    if isinstance(value, str):
        value = _from_string(value)
    if isinstance(value, bool):
        raise DistributionError(f"expected a number or a distribution, got {value!r}")
    if isinstance(value, (int, float)):
        value = {"dist": "fixed", "value": value}
    if not isinstance(value, Mapping):
        raise DistributionError(f"expected a number or a distribution table, got {type(value).__name__}")
    spec = dict(value)
    kind = spec.pop("dist", None)
    if kind is None:
        raise DistributionError("a distribution table needs 'dist' (fixed, uniform, triangular, pert, beta, lognormal, normal)")
    if not isinstance(kind, str) or kind not in _PARAMS:
        raise DistributionError(f"unknown distribution {kind!r}; expected one of {', '.join(_PARAMS)}")
    for names in _PARAMS[kind]:
        if set(spec) == set(names):
            break
    else:
        options = " or ".join("(" + ", ".join(n) + ")" for n in _PARAMS[kind])
        raise DistributionError(f"{kind} takes parameters {options}, got ({', '.join(spec) or 'none'})")
    params = {n: _finite(n, spec[n]) for n in names}
    spec = _build(kind, params)
    dist = Distribution(kind, params, lower, upper, spec)
    _check_range(dist, lower, upper)
    return dist


def _build(kind: str, p: dict[str, float]) -> Any:
    if kind == "fixed":
        return None
    if kind == "uniform":
        if not p["low"] < p["high"]:
            raise DistributionError(f"uniform needs low < high, got low={p['low']:g}, high={p['high']:g}")
        return ("uniform", (), {"loc": p["low"], "scale": p["high"] - p["low"]}, (p["low"], p["high"]))
    if kind in ("triangular", "pert"):
        low, mode, high = p["low"], p["mode"], p["high"]
        if not low <= mode <= high:
            raise DistributionError(f"{kind} needs low <= mode <= high, got {low:g}, {mode:g}, {high:g}")
        if low == high:
            raise DistributionError(f"{kind} needs low < high (for a single value write the number)")
        width = high - low
        if kind == "triangular":
            return ("triang", (), {"c": (mode - low) / width, "loc": low, "scale": width}, (low, high))
        a = 1.0 + 4.0 * (mode - low) / width
        b = 1.0 + 4.0 * (high - mode) / width
        return ("beta", (a, b), {"loc": low, "scale": width}, (low, high))
    if kind == "beta":
        if "mean" in p:
            mean, sd = p["mean"], p["sd"]
            if not 0.0 < mean < 1.0:
                raise DistributionError(f"beta mean must lie strictly between 0 and 1, got {mean:g}")
            if not sd > 0.0:
                raise DistributionError(f"beta sd must be > 0, got {sd:g}")
            limit = math.sqrt(mean * (1.0 - mean))
            if not sd < limit:
                raise DistributionError(
                    f"beta sd must be < sqrt(mean*(1-mean)) = {limit:.4g} for mean {mean:g}, got {sd:g}"
                )
            k = mean * (1.0 - mean) / sd**2 - 1.0
            return ("beta", (mean * k, (1.0 - mean) * k), {}, (0.0, 1.0))
        if not (p["a"] > 0 and p["b"] > 0):
            raise DistributionError(f"beta needs a > 0 and b > 0, got a={p['a']:g}, b={p['b']:g}")
        return ("beta", (p["a"], p["b"]), {}, (0.0, 1.0))
    if kind == "lognormal":
        if not p["median"] > 0:
            raise DistributionError(f"lognormal median must be > 0, got {p['median']:g}")
        if not p["sigma"] > 0:
            raise DistributionError(f"lognormal sigma must be > 0, got {p['sigma']:g}")
        return ("lognorm", (), {"s": p["sigma"], "scale": p["median"]}, (0.0, math.inf))
    if kind == "normal":
        if not p["sd"] > 0:
            raise DistributionError(f"normal sd must be > 0, got {p['sd']:g}")
        return p  # truncated later, when the field's range is known
    raise AssertionError(kind)


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _check_range(dist: Distribution, lower: float, upper: float) -> None:
    kind, p = dist.kind, dist.params
    if kind == "normal":
        mean, sd = p["mean"], p["sd"]
        a, b = (lower - mean) / sd, (upper - mean) / sd
        if _normal_cdf(b) - _normal_cdf(a) < 1e-9:
            raise DistributionError(
                f"normal(mean={mean:g}, sd={sd:g}) has no mass in the valid range [{lower:g}, {upper:g}]"
            )
        support = (mean + a * sd, mean + b * sd)  # as scipy computes it (loc + a scale)
        object.__setattr__(dist, "_spec", ("truncnorm", (a, b), {"loc": mean, "scale": sd}, support))
        return
    lo, hi = dist.support()
    if lo < lower - 1e-12 or hi > upper + 1e-12:
        if lo == hi:
            raise DistributionError(f"value {lo:g} lies outside the valid range [{lower:g}, {upper:g}]")
        raise DistributionError(
            f"{dist.describe()} ranges over [{lo:g}, {hi:g}], outside the valid range [{lower:g}, {upper:g}]"
        )
