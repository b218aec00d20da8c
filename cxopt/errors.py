"""The errors cxopt raises, and what each means at the boundary (the CLI's exit codes).

==========================  ===========================================  =========
error                       meaning                                      exit code
==========================  ===========================================  =========
:class:`BadInputError`      the user's input is wrong; every problem      2
                            names its source, the field and the reason
 :class:`ScenarioError`     ... in a scenario file or mapping             2
 :class:`DataError`         ... in a customer file, history or actuals    2
 :class:`PlanFileError`     ... in a plan directory                       2
 :class:`ArgumentError`     ... in a parameter of a Python call           2
:class:`OutputExistsError`  an output exists and overwriting was not      2
                            asked for
:class:`InfeasibleError`    no portfolio satisfies the constraints        3
:class:`SolverError`        the solver failed (not infeasibility)         1
==========================  ===========================================  =========

Library messages name Python parameters (``top``, ``max_initiatives``); an
:class:`ArgumentError`'s problems carry the parameter's name as their field, and the CLI
turns it into its flag (``--top``, ``--max-initiatives``). This module imports nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

__all__ = ["Problem", "CxoptError", "BadInputError", "ScenarioError", "DataError", "PlanFileError",
           "ArgumentError", "OutputExistsError", "InfeasibleError", "SolverError"]


class Problem(tuple):
    """One problem with the input: ``(source, field path, reason)``.

    ``source`` is the file (or ``""`` for a Python argument), ``path`` the dotted field, the
    column and row, or the parameter's name.
    """

    __slots__ = ()

    def __new__(cls, source: str, path: str, reason: str) -> "Problem":
        return super().__new__(cls, (source, path, reason))

    def __getnewargs__(self) -> tuple[str, str, str]:  # picklable: errors cross process boundaries (Dask)
        return tuple(self)

    source = property(lambda self: self[0])
    path = property(lambda self: self[1])
    reason = property(lambda self: self[2])

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.path}: {self.reason}" if self.path else f"{where}{self.reason}"


class CxoptError(Exception):
    """Every error cxopt raises on purpose."""


class BadInputError(CxoptError, ValueError):
    """Bad input: one or more :class:`Problem` (each names the source, the field and the reason)."""

    def __init__(self, problems: Sequence[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self):  # picklable with its problems (Dask workers raise them)
        return (type(self), (self.problems,))


class ScenarioError(BadInputError):
    """A scenario (file or mapping) that does not validate."""


class DataError(BadInputError):
    """A customer file, a history or an actuals file with a bad column, row or value."""


class PlanFileError(BadInputError):
    """A plan directory that is missing, from an unknown version, or edited into inconsistency."""


class ArgumentError(BadInputError):
    """A Python parameter out of its range; each problem's field is the parameter's name."""

    def __init__(self, parameter: str | Sequence[Problem] | Problem, reason: str | None = None):
        if isinstance(parameter, str):
            super().__init__(Problem("", parameter, reason or "invalid value"))
        else:
            super().__init__(parameter)


class OutputExistsError(CxoptError, FileExistsError):
    """The destination exists and overwriting (``force=True``) was not asked for."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        super().__init__(f"{path}: already exists; pass force=True to overwrite it")

    def __reduce__(self):
        return (type(self), (self.path,))


class InfeasibleError(CxoptError):
    """No portfolio satisfies the constraints; ``conflicts`` names the ones that clash."""

    def __init__(self, message: str, conflicts: Sequence[str] = ()):
        self.conflicts = list(conflicts)
        super().__init__(message)

    def __reduce__(self):
        return (type(self), (str(self), self.conflicts))


class SolverError(CxoptError, RuntimeError):
    """The solver failed (not infeasibility): the message says what to try."""
