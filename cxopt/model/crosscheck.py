"""Cross-checks of a scenario that field validation cannot express (DESIGN.md section 6):
unknown drivers in ``fixes``, unknown initiatives in ``[constraints]``, unknown segments and
budget periods, duplicate ids, shares that must sum to one."""

from __future__ import annotations

import warnings

import numpy as np

from cxopt.errors import Problem

MAX_DRIVERS = 62  # bits of the exposure mask (pain points + delighters)
# Revenue enters the grouping kernels' fixed-point int64 sums (whole units + 2**-32 parts), which
# wrap silently above ~9.2e18. A customer's yearly revenue above MAX_REVENUE, or a base whose
# revenue adds up to more than MAX_TOTAL_REVENUE, is bad input (a scenario's synthetic revenue
# and a customer file's column alike), so the sums cannot wrap.
MAX_REVENUE = 1e12
MAX_TOTAL_REVENUE = 1e18


def cross_check(sc) -> list[Problem]:
    """The problems pydantic cannot see: unknown drivers, initiatives, segments and periods, duplicates,
    shares that must sum to one."""
    """The rules pydantic cannot express; all problems, in file order."""
    src = sc.source
    out: list[Problem] = []

    def bad(path: str, reason: str) -> None:
        out.append(Problem(src, path, reason))

    # synthetic revenue within what the kernels' sums hold
    if sc.customers.path is None:
        rev = sc.customers.revenue
        mult = max([s.revenue_multiplier for s in sc.customers.segments] or [1.0])
        high = (rev.support()[1] if rev.is_fixed else float(rev.quantile(1 - 1e-9))) * mult
        if not high <= MAX_REVENUE:
            bad("customers.revenue", f"a customer's revenue reaches {high:g} (times the largest segment "
                                     f"multiplier), above the maximum {MAX_REVENUE:g} a year")
        elif sc.customers.count is not None and rev.mean() * mult * sc.customers.count > MAX_TOTAL_REVENUE:
            bad("customers.revenue", f"the base's revenue would add up to more than {MAX_TOTAL_REVENUE:g}")

    # segments
    segs = sc.customers.segments
    seg_ids = [s.id for s in segs]
    duplicates(seg_ids, "customers.segments", bad)
    if segs:
        shares = [s.share for s in segs]
        if sc.customers.path is None:
            if any(s is None for s in shares):
                for i, s in enumerate(segs):
                    if s.share is None:
                        bad(f"customers.segments[{i}].share", "a synthetic base needs every segment's share")
            elif abs(sum(shares) - 1.0) > 1e-6:
                bad("customers.segments", f"segment shares must sum to 1, got {sum(shares):.6g}")
    known_segments = set(seg_ids) if segs else ({"all"} if sc.customers.path is None else None)

    # CX metrics: a name must not shadow the goal metrics the CLI knows by name
    for name in sc.metrics:
        if name in ("churn", "retained_revenue") or not name.isidentifier():
            bad(f"metrics.{name}", "a metric's name must be an identifier other than 'churn' and 'retained_revenue'")

    # drivers
    driver_ids = sc.driver_ids
    if len(driver_ids) > MAX_DRIVERS:
        bad("pain_points", f"at most {MAX_DRIVERS} pain points and delighters together, got {len(driver_ids)}")
    seen: dict[str, str] = {}
    for i, p in enumerate(sc.pain_points):
        if p.id in seen:
            bad(f"pain_points[{i}].id", f"duplicate id {p.id!r} (also {seen[p.id]})")
        seen.setdefault(p.id, f"pain_points[{i}]")
    for i, d in enumerate(sc.delighters):
        if d.id in seen:
            bad(f"delighters[{i}].id", f"duplicate id {d.id!r} (also {seen[d.id]})")
        seen.setdefault(d.id, f"delighters[{i}]")
    for kind, items, attr in (("pain_points", sc.pain_points, "volume"), ("delighters", sc.delighters, "reach")):
        for i, d in enumerate(items):
            value = getattr(d, attr)
            if isinstance(value, dict):
                check_segment_table(value, known_segments, f"{kind}[{i}].{attr}", bad, complete=True)
    count = sc.customers.count
    for i, p in enumerate(sc.pain_points):
        if p.complaints is not None:
            if count is None:
                continue  # measured from the customer file
            volume = p.complaints / p.complaint_rate / count
            if volume > 1.0:
                bad(
                    f"pain_points[{i}].complaints",
                    f"complaints / complaint_rate = {p.complaints / p.complaint_rate:,.0f} exposed customers "
                    f"exceeds the {count:,} customers",
                )

    # initiatives
    init_ids = sc.initiative_ids
    duplicates(init_ids, "initiatives", bad)
    periods = sc.budget_periods() if isinstance(sc.budget.total, dict) else None
    for i, k in enumerate(sc.initiatives):
        for driver in k.fixes:
            if driver not in seen:
                bad(f"initiatives[{i}].fixes.{driver}", f"unknown pain point or delighter {driver!r}")
        if k.segments is not None:
            if not k.segments:
                bad(f"initiatives[{i}].segments", "an empty list targets nobody; omit it to target every segment")
            for j, s in enumerate(k.segments):
                if known_segments is not None and s not in known_segments:
                    bad(f"initiatives[{i}].segments[{j}]", f"unknown segment {s!r} (known: {', '.join(sorted(known_segments))})")
        if isinstance(k.cost, dict) and periods is not None:
            for name in k.cost:
                if name not in periods:
                    bad(f"initiatives[{i}].cost.{name}", f"the budget has no period {name!r} (periods: {', '.join(periods)})")
        elif periods is not None:
            bad(f"initiatives[{i}].cost", "the budget is per period: give this cost per period too, "
                                          f"e.g. {{ {periods[0]} = {k.cost:g} }}")
        if k.start_month >= sc.horizon_months:
            bad(f"initiatives[{i}].start_month", f"starts after the {sc.horizon_months}-month horizon")
        else:
            earliest = k.start_month + k.months_to_impact.support()[0]
            if earliest >= sc.horizon_months:
                warnings.warn(f"{src}: initiatives[{i}].months_to_impact: {k.id!r} goes live at month "
                              f"{earliest:g} at the earliest, after the {sc.horizon_months}-month horizon: "
                              "it cannot change anything within the plan")

    # correlations between initiative effects
    for i, c in enumerate(sc.correlations):
        for j, name in enumerate(c.initiatives):
            if name not in init_ids:
                bad(f"correlations[{i}].initiatives[{j}]", f"unknown initiative {name!r}")
        n = len(c.initiatives)
        if n < 2:
            bad(f"correlations[{i}].initiatives", "name at least two initiatives")
        elif c.rho < -1.0 / (n - 1):
            bad(f"correlations[{i}].rho", f"an equicorrelation among {n} initiatives must be >= {-1.0 / (n - 1):.4g}")
        elif abs(c.rho) >= 1.0:
            bad(f"correlations[{i}].rho", f"{c.rho:g} makes the initiatives' effects one and the same (a degenerate "
                                          "copula): give a correlation strictly between -1 and 1")
    if sc.correlations:  # blocks that are each fine may still clash where they overlap
        index = {x: j for j, x in enumerate(init_ids)}
        corr = np.eye(len(init_ids))
        for c in sc.correlations:
            ids = [index[x] for x in c.initiatives if x in index]
            for a in ids:
                for b in ids:
                    if a != b:
                        corr[a, b] = c.rho
        if len(init_ids) and np.linalg.eigvalsh(corr).min() <= 1e-9:
            bad("correlations", "the correlations between initiatives are not consistent (the matrix is not "
                                "positive definite): loosen the blocks that share initiatives")

    # constraints
    cons = sc.constraints
    known = set(init_ids)
    for i, group in enumerate(cons.exclusive):
        if len(group) < 2:
            bad(f"constraints.exclusive[{i}]", "an exclusion needs at least two initiatives")
        for j, name in enumerate(group):
            if name not in known:
                bad(f"constraints.exclusive[{i}][{j}]", f"unknown initiative {name!r}")
    for a, bs in cons.requires.items():
        if a not in known:
            bad(f"constraints.requires.{a}", f"unknown initiative {a!r}")
        for b in [bs] if isinstance(bs, str) else bs:
            if b not in known:
                bad(f"constraints.requires.{a}", f"unknown initiative {b!r}")
            elif b == a:
                bad(f"constraints.requires.{a}", "an initiative cannot require itself")
    cycle = _requires_cycle({a: [bs] if isinstance(bs, str) else list(bs) for a, bs in cons.requires.items()})
    if cycle:
        bad(f"constraints.requires.{cycle[0]}", f"circular requirement {' -> '.join(cycle)}: none of them could "
                                                "ever be chosen")
    for name in ("must", "forbid"):
        for j, k in enumerate(getattr(cons, name)):
            if k not in known:
                bad(f"constraints.{name}[{j}]", f"unknown initiative {k!r}")
    both = set(cons.must) & set(cons.forbid)
    for k in sorted(both):
        bad("constraints", f"initiative {k!r} is both in 'must' and in 'forbid'")
    return out


def _requires_cycle(graph: dict[str, list[str]]) -> list[str]:
    """A cycle of ``requires`` (longer than a self-loop, reported apart), as [a, b, ..., a], or []."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(a: str) -> list[str]:
        state[a] = 1
        path.append(a)
        for b in graph.get(a, []):
            if b == a:
                continue
            if state.get(b) == 1:
                return path[path.index(b):] + [b]
            if b not in state:
                found = visit(b)
                if found:
                    return found
        path.pop()
        state[a] = 2
        return []

    for a in graph:
        if a not in state:
            found = visit(a)
            if found:
                return found
    return []


def duplicates(ids: list[str], path: str, bad) -> None:
    first: dict[str, int] = {}
    for i, x in enumerate(ids):
        if x in first:
            bad(f"{path}[{i}].id", f"duplicate id {x!r} (also {path}[{first[x]}])")
        first.setdefault(x, i)


def check_segment_table(table: dict[str, float], known: set[str] | None, path: str, bad, *, complete: bool) -> None:
    if known is None:
        return  # segments come from the customer file; checked when it is read
    for key in table:
        if key not in known:
            bad(f"{path}.{key}", f"unknown segment {key!r} (known: {', '.join(sorted(known))})")
    if complete:
        missing = [s for s in sorted(known) if s not in table]
        if missing:
            bad(path, f"no value for segment(s) {', '.join(missing)}")
