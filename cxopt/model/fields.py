"""The field types of the scenario schema: numbers with ranges, shares, amounts per period,
identifiers, text, months and uncertain values (distributions), as pydantic validators."""

from __future__ import annotations

import datetime as _dt
import math
from typing import Annotated, Any, Mapping

from pydantic import BaseModel, BeforeValidator, ConfigDict

from cxopt.model.distributions import Distribution, DistributionError, parse_distribution


def dist_field(lower: float, upper: float):
    def convert(value: Any) -> Distribution:
        try:
            return parse_distribution(value, lower=lower, upper=upper)
        except DistributionError as exc:
            raise ValueError(str(exc)) from None

    return Annotated[Distribution, BeforeValidator(convert)]


ShareDist = dist_field(0.0, 1.0)
NonNegDist = dist_field(0.0, math.inf)


def number_field(lower: float = -math.inf, upper: float = math.inf, *, strict_lower: bool = False):
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {value!r}")
        if value < lower or (strict_lower and value == lower) or value > upper:
            low = f"({lower:g}" if strict_lower else f"[{lower:g}"
            raise ValueError(f"must lie in {low}, {upper:g}], got {value:g}")
        return value

    return Annotated[float, BeforeValidator(convert)]


def whole_number(lower: int | None = None, upper: int | None = None):
    """An integer (``true``/``false`` and ``2.5`` are not), within [lower, upper]."""
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():  # 1e4 written as a float
                value = int(value)
            else:
                raise ValueError(f"expected a whole number, got {value!r}")
        if lower is not None and value < lower:  # pydantic's own wording, as before
            raise ValueError(f"Input should be greater than or equal to {lower}, got {value}")
        if upper is not None and value > upper:
            raise ValueError(f"Input should be less than or equal to {upper}, got {value}")
        return value

    return Annotated[int, BeforeValidator(convert)]


Finite = number_field()  # any finite number (nan and inf are bad input everywhere)
Share = number_field(0.0, 1.0)
NonNeg = number_field(0.0)
Positive = number_field(0.0, strict_lower=True)


def share_or_table(value: Any) -> float | dict[str, float]:
    """A share, or a table ``{segment: share}``."""
    if isinstance(value, Mapping):
        out = {}
        for key, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:  # nan fails too
                raise ValueError(f"share for segment {key!r} must be a number in [0, 1], got {v!r}")
            out[str(key)] = float(v)
        if not out:
            raise ValueError("an empty table: give a share, or one per segment")
        return out
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a share in [0, 1] or a table {{segment = share}}, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"must lie in [0, 1], got {value!r}")
    return float(value)


ShareOrTable = Annotated[float | dict[str, float], BeforeValidator(share_or_table)]


def amount_or_table(value: Any) -> float | dict[str, float]:
    """An amount >= 0, or a table ``{period: amount}``."""
    if isinstance(value, Mapping):
        out = {}
        for key, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"amount for {key!r} must be a number >= 0, got {v!r}")
            out[str(key)] = float(v)
        if not out:
            raise ValueError("an empty table: give an amount, or one per period")
        return out
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"expected an amount or a table {{period = amount}}, got {value!r}")
    if value < 0:
        raise ValueError(f"must be >= 0, got {value:g}")
    return float(value)


AmountOrTable = Annotated[float | dict[str, float], BeforeValidator(amount_or_table)]


def identifier(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty text identifier, got {value!r}")
    if any(c.isspace() for c in value) or "." in value:
        raise ValueError(f"an id may not contain spaces or dots, got {value!r}")
    return value


Identifier = Annotated[str, BeforeValidator(identifier)]


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected non-empty text, got {value!r}")
    return value.strip()


Text = Annotated[str, BeforeValidator(text)]

CURRENCY_MAX_CHARS = 8


def currency(value: Any) -> str:
    """A currency code or symbol (``USD``, ``EUR``, ``€``, ``kr.``): letters, currency symbols and
    dots, at most 8 characters, so that it reads the same in the terminal, Markdown, HTML and
    spreadsheets (no markup characters can hide in it)."""
    import unicodedata

    value = text(value)
    if len(value) > CURRENCY_MAX_CHARS or not all(
            c.isalpha() or c == "." or unicodedata.category(c) == "Sc" for c in value):
        raise ValueError(f"expected a currency code or symbol (letters, currency signs and dots, at most "
                         f"{CURRENCY_MAX_CHARS} characters, e.g. USD or €), got {value!r}")
    return value


Currency = Annotated[str, BeforeValidator(currency)]


def month_start(value: Any) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d", "%Y-%m"):
            try:
                return _dt.datetime.strptime(value, fmt).date()
            except ValueError:
                pass
    raise ValueError(f"expected a date (2027-01-01 or \"2027-01\"), got {value!r}")


StartDate = Annotated[_dt.date, BeforeValidator(month_start)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
