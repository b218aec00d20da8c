"""A TOML writer for scenarios (the standard library reads TOML but has no writer).

:func:`plain` turns a validated scenario model back into plain data; :func:`dump_toml`
writes it with a comment above any field, as :meth:`cxopt.calibrate.Calibration.to_toml` does.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from typing import Any, Mapping

import numpy as np
from pydantic import BaseModel

from cxopt.model.distributions import Distribution

__all__ = ["dist_dict", "dump_toml", "plain", "toml_value", "wrap"]


def plain(model: BaseModel, keep: set[str] = frozenset(), *, as_given: bool = False) -> dict:
    """A validated model back to plain data (distributions kept as objects), defaults left out
    (``keep``: field names always written; ``as_given``: a default the file wrote is kept)."""
    out = {}
    given = model.model_fields_set if as_given else set()
    for name, info in type(model).model_fields.items():
        if info.exclude:
            continue
        value = getattr(model, name)
        if value is None or (name not in keep and name not in given and not info.is_required()
                             and value == info.get_default(call_default_factory=True)):
            continue
        out[name] = _plain_value(value, keep, as_given)
    return out


def _plain_value(value: Any, keep: set[str], as_given: bool) -> Any:
    if isinstance(value, BaseModel):
        return plain(value, keep, as_given=as_given)
    if isinstance(value, (list, tuple)):
        return [_plain_value(v, keep, as_given) for v in value]
    if isinstance(value, dict):
        return {k: _plain_value(v, keep, as_given) for k, v in value.items()}
    return value


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def toml_value(v: Any) -> str:
    """One value as inline TOML (a distribution as an inline table, a fixed one as its number)."""
    if isinstance(v, Distribution):
        if v.is_fixed:
            return toml_value(float(v.params["value"]))
        params = (f"{k} = {toml_value(float(x))}" for k, x in v.params.items())
        return "{ " + ", ".join([f'dist = "{v.kind}"', *params]) + " }"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v!r} to a scenario")
        return repr(float(v))
    if isinstance(v, str):
        # a JSON string is a valid TOML basic string, once DEL (not escaped by JSON) is
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    if isinstance(v, Mapping):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write a {type(v).__name__} to TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


# top-level sections that are tables of named tables: written as [metrics.<name>]
NAMED_TABLES = ("metrics",)


def dump_toml(data: Mapping[str, Any], comments: Mapping[tuple, list[str]] = {}, header: list[str] = ()) -> str:
    """Scenario data as TOML: top-level tables, arrays of tables, inline values; ``comments`` by field path.

    A section in :data:`NAMED_TABLES` (``metrics``) is written as one ``[metrics.<name>]`` table per
    entry; its comments are keyed ``(section,)`` (above the first) and ``(section, name, key)``."""
    lines = [("# " + h).rstrip() for h in header]

    def table(name: str, body: Mapping[str, Any], path: tuple, head: str, blank: bool = True) -> None:
        if blank:
            lines.append("")
        lines.extend("# " + c for c in comments.get(path, []))
        lines.append(head)
        for k, v in body.items():
            if _is_table_array(v):
                continue
            lines.extend("# " + c for c in comments.get(path + (k,), []))
            lines.append(f"{_toml_key(k)} = {toml_value(v)}")
        for k, v in body.items():
            if _is_table_array(v):
                for i, item in enumerate(v):
                    table(f"{name}.{_toml_key(k)}", item, path + (k, i), f"[[{name}.{_toml_key(k)}]]")

    for k, v in data.items():
        if k in NAMED_TABLES and isinstance(v, Mapping) and v and all(isinstance(x, Mapping) for x in v.values()):
            lines.append("")
            lines.extend("# " + c for c in comments.get((k,), []))  # the section's comment, above its first table
            for i, (name, item) in enumerate(v.items()):
                key = f"{_toml_key(k)}.{_toml_key(str(name))}"
                table(key, item, (k, name), f"[{key}]", blank=i > 0)
        elif _is_table_array(v):
            for i, item in enumerate(v):
                table(_toml_key(k), item, (k, i), f"[[{_toml_key(k)}]]")
        elif isinstance(v, Mapping):
            table(_toml_key(k), v, (k,), f"[{_toml_key(k)}]")
        elif isinstance(v, (list, tuple)) and not v:
            continue  # an empty array of tables is the same as none (e.g. correlations = [] from to_data)
        else:
            raise TypeError(f"a scenario's top level holds tables only, got {k!r}")
    return "\n".join(lines).lstrip("\n") + "\n"


def wrap(text: str, width: int) -> list[str]:
    """Words of ``text`` in lines of at most ``width`` characters (for comments)."""
    out, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return out + ([line] if line else [])


def dist_dict(d: Distribution) -> dict:
    """A distribution as plain data: ``dist`` and its parameters."""
    return {"dist": d.kind, **{k: float(v) for k, v in d.params.items()}}
