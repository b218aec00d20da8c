"""Choosing the portfolio (DESIGN.md section 2); import from the modules:

``constraints`` (the rules), ``risk`` (the objective's exact value), ``model`` (the integer
program from the value tables), ``backends`` (HiGHS, CBC, exhaustive behind one interface,
each with its own status map), ``result`` (status words, outcomes, the result),
``diagnosis`` (why nothing fits), ``search`` (:func:`optimize`, the no-good walk) and
``frontier`` (the budget sweep).
"""
